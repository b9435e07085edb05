"""sslrp: sound-source localization + layer-wise relevance propagation.

The domain package of the workflow. One concept per module:
`names` (the shared vocabulary: models, orderings, extremes, condition and page file names),
`config` (schema validation, per-condition settings), `step_settings` (what each step gets from the config),
`geometry` (room, array, grid, split), `corpus` (speech sources), `acoustics` (RIRs, noise, windows),
`dataset` (HDF5 layout), `models` (LocCNN, SampleCNN), `training` (fitting), `scaling` (input/target scaling
folded into the weights), `inference` (device, batched prediction, a model with its test split),
`lrp` (zennit composites), `attribution` (gradient, SmoothGrad, Integrated Gradients, EpsilonPlusFlat),
`batched` (the batched attribution loop both share), `srp` (SRP-PHAT baseline), `metrics` (MAE, GCC-PHAT,
TDoA, correlation time), `manipulation` (the input-manipulation test, AOPC), `verdict` (does a model
localize?), `tables`, `plots`, `page`; `io`, `seeding` and `steps` (the step scripts' plumbing) are small
shared helpers.
"""
