"""Stage 3, explain: what a trained localization network relies on, and whether that explanation can be
trusted.

`lrp` (the generic zennit composite by layer type, its canonizers and unknown-layer report), `rules` (zennit's
Gamma rule without the passes that compute zeros), `attribution`
(gradient, SmoothGrad, Integrated Gradients, EpsilonPlusFlat, occlusion), `batched` (the batched attribution loop
they share), `manipulation` (removal orderings, imputation, MoRF/LeRF curves, AOPC and SRG), `randomization`
(cascading parameter randomization), `conservation` (how much output relevance reaches the input),
`model_check` (the check of a model of your own before it is trained or explained) and `input_check` (each batch
norm's input statistics on a condition's windows against those its checkpoint stored in training). It imports the
core, data and localize, never report.
"""
