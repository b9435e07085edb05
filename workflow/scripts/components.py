"""Split a seeded subset of a simulated condition's test windows into direct sound, early reflections, late
reverberation and noise (sslrp.data.components), check that they sum to the stored windows, and store them."""

import time

import numpy as np
from tqdm import tqdm

from sslrp import seeding, step_settings, steps
from sslrp.data import components, corpus, dataset, geometry


def run(data, speech, parts, condition, geometry_settings, signals, seed, n_windows, early_ms, log=None):
    """Re-simulate the test sources of the subset `seeding.subset(n_windows, n_test, seed)` of the dataset `data`'s
    test windows, with the utterances of the corpus file `speech`, and write their components to `parts`."""
    log = steps.logger(log)
    start = time.perf_counter()
    attrs = dataset.read_attrs(data)
    if int(attrs["seed"]) != seed or int(attrs["window"]) != signals["window"]:
        raise dataset.DatasetError(
            f"{data}: simulated with seed {attrs['seed']} and window {attrs['window']}, the config says seed {seed} "
            f"and window {signals['window']}; give the dataset of this config")
    test = dataset.read_split(data, "test", windows=False)
    rows = seeding.subset(n_windows, len(test.source), seed)
    utterances = corpus.read(speech)
    mics = geometry.mic_positions(geometry_settings)
    max_samples = int(signals["max_seconds"] * geometry_settings["fs"]) if signals["max_seconds"] else None
    sources = np.unique(test.source[rows])
    log.info(f"{attrs['condition']}: {len(rows)} of {len(test.source)} test windows, from {len(sources)} sources; "
             f"early reflections up to {early_ms} ms after the direct path")
    split = {name: np.zeros((len(rows), len(mics), signals["window"]), np.float32) for name in components.COMPONENTS}
    for source in tqdm(sources, file=steps.TqdmLog(log), mininterval=5, desc="sources"):
        here = np.flatnonzero(test.source[rows] == source)  # the subset's windows of this source
        signal = utterances[int(test.utterance[source])].signal[:max_samples]
        parts_of_source = components.source_components(
            int(test.source_index[source]), test.position[source], signal, mics, condition, geometry_settings,
            signals["window"], seed, early_ms)
        for name, windows in parts_of_source.items():
            split[name][here] = windows[test.window[rows[here]]]
    error = components.check_sum(data, rows, split, dataset.read_windows(data, "test", rows))
    log.info(f"the components sum to the stored windows within {error:.2g} of each window's scale "
             f"(tolerance {components.TOLERANCE:.2g})")
    components.write_components(parts, attrs["condition"], rows, split, early_ms, seed, n_windows,
                                **components.file_attrs(attrs))
    megabytes = sum(v.nbytes for v in split.values()) / 1e6
    log.info(f"wrote {parts}: {megabytes:.1f} MB of components in {time.perf_counter() - start:.1f} s")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--cond", required=True, help="a simulated condition's name, e.g. SNR_25_T60_0.15")
    p.add_argument("--data", required=True, help="the condition's dataset HDF5")
    p.add_argument("--corpus", required=True, help="corpus HDF5 from corpus.py")
    p.add_argument("--out", required=True, help="components HDF5 to write")
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.data, args.corpus, args.out, **step_settings.components(config, args.cond), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
