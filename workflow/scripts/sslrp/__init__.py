"""sslrp: sound-source localization + layer-wise relevance propagation.

The domain package of the workflow. One concept per module:
`geometry` (room, array, grid, split), `corpus` (speech sources), `acoustics` (RIRs, noise, windows),
`dataset` (HDF5 layout), `models` (LocCNN, SampleCNN), `training`, `lrp` (zennit composites),
`metrics` (MAE, GCC-PHAT, TDoA, manipulation), `plots`, `page`; `io` and `seeding` are small shared helpers.
"""
