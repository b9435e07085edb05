"""Simulate one shard of a condition's dataset: RIRs, reverberant speech, noise, windows."""

import numpy as np
from tqdm import tqdm

from sslrp import seeding, step_settings, steps
from sslrp.data import acoustics, corpus, dataset, geometry
from sslrp.io import rebuild_advice


def utterance_for(source_index, n_utterances, seed):
    """The corpus utterance a source speaks: drawn from its own seeded stream."""
    return int(seeding.rng(seed, "utterance", source_index).integers(n_utterances))


def run(speech, shard_file, condition, geometry_settings, signals, shard, n_shards, seed, corpus_settings, log=None):
    """Simulate shard `shard` of `n_shards` of the condition's sources, speaking utterances of the corpus file
    `speech` (made with `corpus_settings`), into `shard_file`, which records these settings for the gather."""
    log = steps.logger(log)
    utterances = corpus.read(speech)
    sources = geometry.sources(geometry_settings, seed)
    mics = geometry.mic_positions(geometry_settings)
    max_samples = int(signals["max_seconds"] * geometry_settings["fs"]) if signals["max_seconds"] else None
    indices = geometry.shard_indices(len(sources.positions), shard, n_shards)
    log.info(f"shard {shard + 1}/{n_shards}: {len(indices)} sources, condition {condition}")
    recordings = []
    for index in tqdm(indices, file=steps.TqdmLog(log), mininterval=5, desc="sources"):
        utterance = utterance_for(index, len(utterances), seed)
        signal = utterances[utterance].signal[:max_samples]
        if len(signal) < signals["window"]:  # a corpus built before the corpus step checked this
            raise corpus.CorpusError(
                f"{speech}: utterance {utterance} ({utterances[utterance].label!r}) has {len(signal)} samples, "
                f"fewer than one window ({signals['window']}); {rebuild_advice(speech)}")
        recordings.append(
            acoustics.simulate_source(
                index, sources.positions[index], signal, utterance, mics, condition, geometry_settings,
                signals["window"], seed,
            )
        )
    rt60 = np.array([r.rt60 for r in recordings])
    log.info(f"measured T60 (median over the shard's sources): {np.nanmedian(rt60):.3f} s")
    recipe = dataset.simulation_recipe(condition, geometry_settings, signals, corpus_settings, seed)
    dataset.write_shard(shard_file, recordings, dataset.shard_attrs(recipe, shard, n_shards))


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--corpus", required=True, help="corpus HDF5 from corpus.py")
    p.add_argument("--cond", required=True, help="condition name, e.g. SNR_25_T60_0.15")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.corpus, args.out, **step_settings.simulate_shard(config, args.cond, args.shard), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
