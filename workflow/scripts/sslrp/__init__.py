"""sslrp: sound-source localization + layer-wise relevance propagation.

The domain package of the workflow, laid out as the pipeline's stages, in the order of `workflow/rules/`:
`data` (room, array, speech, the HDF5 datasets), `localize` (the CNNs, their training and inference, the
SRP-PHAT baseline), `explain` (LRP and the other attributions, the manipulation test, the sanity checks) and
`report` (verdicts, tables over seed replicates, figures, the page). Each stage's `__init__` says what it
holds.

The core at this root is shared by every stage and imports none of them: `names` (the one vocabulary:
models, orderings, extremes, condition and file names), `io` (atomic writes, rebuild advice), `seeding`
(seeded generators) and `metrics` (errors, GCC-PHAT and TDoA, correlation time). Beside it, the workflow's
glue, which no stage imports: `config` (schema validation, per-condition settings), `step_settings` (what
each step gets from the config, for the rules and the step scripts alike) and `steps` (the step scripts'
plumbing). A stage imports only the core and the stages before it (data < localize < explain < report);
`tests/test_layout.py` checks it.
"""
