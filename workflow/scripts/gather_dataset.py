"""Gather a condition's simulation shards into its dataset: one HDF5 file with train/val/test groups."""

from sslrp import step_settings, steps
from sslrp.data import dataset, geometry

VERSIONED = ("numpy", "scipy", "h5py", "pyroomacoustics", "espeakng-loader")


def dataset_attrs(name, condition, geometry_settings, signals, corpus_settings, seed):
    """Attributes that describe how the dataset was made (the shard count is deliberately absent)."""
    recipe = dataset.simulation_recipe(condition, geometry_settings, signals, corpus_settings, seed)
    max_order = -1 if condition["max_order"] is None else condition["max_order"]
    return dataset.dataset_attrs(name, geometry_settings, signals, seed, recipe, VERSIONED, t60=condition["t60"],
                                 snr=condition["snr"], max_order=max_order)


def run(shards, data, name, condition, geometry_settings, signals, corpus_settings, seed, log=None):
    """Gather the `shards` files of condition `name` into the dataset `data`."""
    log = steps.logger(log)
    split_of = geometry.sources(geometry_settings, seed).split_of()
    attrs = dataset_attrs(name, condition, geometry_settings, signals, corpus_settings, seed)
    recipe = dataset.simulation_recipe(condition, geometry_settings, signals, corpus_settings, seed)
    dataset.check_shards(shards, recipe)  # one simulation with these settings, complete
    dataset.gather(shards, data, split_of, attrs)
    info = dataset.read_attrs(data)
    for split in geometry.SPLITS:
        part = dataset.read_split(data, split, windows=False)
        log.info(f"{split}: {len(part.position)} sources, {len(part.source)} windows")
    log.info(f"measured T60 {info['t60_measured']:.3f} s (target {condition['t60']} s)")


def cli():
    p = steps.parser(__doc__)
    p.add_argument("--cond", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("shards", nargs="+", help="shard files from simulate_shard.py")
    args = p.parse_args()
    config = steps.load_config(args.config)
    run(args.shards, args.out, **step_settings.gather_dataset(config, args.cond), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
