"""Stage 3, explain: what a trained localization network relies on, and whether that explanation can be
trusted.

`lrp` (the generic zennit composite by layer type, its canonizers and unknown-layer report), `rules` (zennit's
Gamma rule without the passes that compute zeros), `attribution`
(gradient, SmoothGrad, Integrated Gradients, EpsilonPlusFlat, occlusion), `batched` (the batched attribution loop
they share), `manipulation` (removal orderings, imputation, MoRF/LeRF curves, AOPC and SRG), `randomization`
(cascading parameter randomization), `conservation` (how much output relevance reaches the input),
`model_check` (the check of a model of your own before it is trained or explained), `input_check` (each batch
norm's input statistics on a condition's windows against those its checkpoint stored in training), `card` (the
explanation report card: every method's faithfulness, randomization and physics) and `components` (what a map and
the model itself make of the direct sound, the reflections and the noise). It imports the
core, data and localize, never report.
"""
