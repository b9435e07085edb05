"""Gather a recorded condition's WAV files (its manifest) into its dataset: the HDF5 layout of gather_dataset.py,
so that every later step reads the recordings as it reads a simulation."""

import json
import tempfile
from pathlib import Path

from sslrp import step_settings, steps
from sslrp.data import dataset, geometry, recordings

VERSIONED = ("numpy", "scipy", "h5py", "soundfile")


def dataset_attrs(name, manifest, rows, rates, geometry_settings, signals, seed):
    """gather_dataset.py's attributes, with NaN for what a recording does not know (target T60, SNR) and where the
    recordings came from: the manifest, its number of files and their sample rates (resampled to `fs`)."""
    recipe = {"manifest": [[str(r.file), *r.position, r.split] for r in rows], "geometry": geometry_settings,
              "signals": signals, "seed": seed}
    return dataset.dataset_attrs(name, geometry_settings, signals, seed, recipe, VERSIONED, t60=float("nan"),
                                 snr=float("nan"), max_order=-1, recordings=str(manifest), n_recordings=len(rows),
                                 recorded_rates=json.dumps(sorted(set(rates))))


def run(files, data, name, manifest, geometry_settings, signals, seed, log=None):
    """Check and read every recording of `manifest` (before anything is written), then write the dataset `data`.

    `files` (the manifest and its files) are the rule's inputs; the manifest itself says what to read.
    """
    log = steps.logger(log)
    fs, window = geometry_settings["fs"], signals["window"]
    n_mics = geometry_settings["array"]["n_mics"]
    rows = recordings.read_manifest(manifest, n_mics, geometry_settings["room"], fs, window)
    sources, rates = [], []
    for index, row in enumerate(rows):
        samples, rate = recordings.load(manifest, row, n_mics, fs, window)
        sources.append(recordings.source_recording(manifest, index, row, samples, window))
        rates.append(rate)
    resampled = sorted({r for r in rates if r != fs})
    log.info(f"{len(rows)} recordings of {n_mics} channels" +
             (f"; resampled from {resampled} Hz to {fs} Hz" if resampled else f" at {fs} Hz"))
    attrs = dataset_attrs(name, manifest, rows, rates, geometry_settings, signals, seed)
    split_of = {index: row.split for index, row in enumerate(rows)}
    if "train" not in split_of.values():  # explained with a simulated condition's models: their training mean
        simulated = geometry.sources(geometry_settings, seed)
        attrs["baseline_position"] = json.dumps(simulated.positions[simulated.train].mean(axis=0).tolist())
    Path(data).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(data).parent) as folder:
        shard = Path(folder) / "recordings.h5"  # one shard: the same writer, gather and checks as a simulation
        dataset.write_shard(shard, sources, {"shard": 0, "condition": name})
        dataset.gather([shard], data, split_of, attrs)
    for split in geometry.SPLITS:
        part = dataset.read_split(data, split, windows=False)
        log.info(f"{split}: {len(part.position)} sources, {len(part.source)} windows")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--cond", required=True, help="a recorded condition's name")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    run([], args.out, **step_settings.gather_recordings(config, args.cond), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
