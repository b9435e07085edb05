"""Stage 2, localize: the networks that map microphone windows to a source position, and the classical
baseline they are compared with.

`models` (LocCNN, SampleCNN, the registry every model goes through, checkpoints), `scaling` (input gain and
target standardization folded into the saved weights), `training` (the training loop, schedules, warm starts,
resumable state), `inference` (device choice, batched prediction, a model loaded with its test split) and `srp`
(SRP-PHAT, no training). It imports the core and the data stage, never explain or report.
"""
