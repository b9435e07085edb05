"""Stage 3, explain: what a trained localization network relies on, and whether that explanation can be
trusted.

`lrp` (the paper's zennit composites and canonizers), `attribution` (gradient, SmoothGrad, Integrated
Gradients, EpsilonPlusFlat, occlusion), `batched` (the batched attribution loop they share), `manipulation`
(removal orderings, imputation, MoRF/LeRF curves, AOPC and SRG), `randomization` (cascading parameter
randomization) and `conservation` (how much output relevance reaches the input). It imports the core, data
and localize, never report.
"""
