"""sslrp: sound-source localization + layer-wise relevance propagation.

The domain package of the workflow. One concept per module:
`geometry` (room, array, grid, split), `corpus` (speech sources), `acoustics` (RIRs, noise, windows),
`dataset` (HDF5 layout), `models` (LocCNN, SampleCNN), `training`, `lrp` (zennit composites),
`attribution` (gradient, SmoothGrad, Integrated Gradients, EpsilonPlusFlat), `srp` (SRP-PHAT baseline),
`metrics` (MAE, GCC-PHAT, TDoA, manipulation, AOPC), `verdict` (does a model localize?), `plots`, `page`;
`io` and `seeding` are small shared helpers.
"""
