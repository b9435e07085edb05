"""Build the speech corpus (espeak / wav_dir / cmu_arctic) into one HDF5 file of clean utterances."""

import numpy as np

from sslrp import step_settings, steps
from sslrp.data import corpus


def run(speech, corpus_settings, fs, seed, window=None, log=None):
    """Build the corpus; with `window`, refuse utterances shorter than one window here, naming them, rather
    than in the simulation jobs."""
    log = steps.logger(log)
    utterances = corpus.load(corpus_settings, fs, seed)
    if window:
        corpus.check_lengths(utterances, corpus_settings, window)
    seconds = np.array([len(u.signal) for u in utterances]) / fs
    log.info(f"{len(utterances)} utterances, {seconds.min():.2f}-{seconds.max():.2f} s (mean {seconds.mean():.2f})")
    corpus.write(speech, utterances, {"fs": fs, "kind": corpus_settings["kind"]})


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.out, **step_settings.corpus(config), log=args.log)


if "snakemake" in globals():  # under Snakemake __name__ is "__main__" too
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
