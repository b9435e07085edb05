"""Evaluate one trained model on its condition's test set: per-window predictions, per-source errors,
a summary (MAE overall and per coordinate, next to the mean-training-position baseline) and a figure."""

import numpy as np
import torch

from sslrp import dataset, inference, metrics, models, plots, steps
from sslrp.io import rebuild_advice, write_csv, write_json


def run(data, checkpoint, windows_csv, sources_csv, summary_json, positions_png, model_name, cond,
        window, n_mics, device, threads, log=None):
    log = steps.logger(log)
    torch.set_num_threads(threads)
    model = models.load(model_name, checkpoint, window, n_mics)
    test = dataset.read_split(data, "test")
    train = dataset.read_split(data, "train", windows=False)
    pred = inference.predict(model, test.windows, device=inference.pick_device(device))
    true = test.position[test.source]
    bad = np.flatnonzero(~np.isfinite(pred).all(axis=1))
    if len(bad):
        raise RuntimeError(f"{checkpoint}: predicts non-finite positions for {len(bad)} of the test windows of {data} "
                           f"(first: {bad[:5].tolist()}); {rebuild_advice(checkpoint)}")

    write_csv(windows_csv, ["source", "source_index", "window", "x", "y", "z", "x_pred", "y_pred", "z_pred"],
              [[s, test.source_index[s], w, *t, *p] for s, w, t, p in zip(test.source, test.window, true, pred)])
    errors = metrics.per_source_errors(pred, true, test.source)
    write_csv(sources_csv, ["source", "source_index", "x", "y", "z", "n_windows", "euclidean", "absolute"],
              [[s, test.source_index[s], *test.position[s], n, e, a] for s, n, e, a in
               zip(errors["source"], errors["n_windows"], errors["euclidean"], errors["absolute"])])
    result = {"model": model_name, "condition": cond,
              **metrics.localization_summary(pred, true, train.position.mean(axis=0))}
    write_json(summary_json, result)
    log.info(f"test MAE {result['mae']:.3f} m (x/y/z {np.round(result['mae_xyz'], 3).tolist()}), "
             f"baseline {result['baseline_mae']:.3f} m")
    per_source = np.array([pred[test.source == s].mean(axis=0) for s in range(len(test.position))])
    figure = plots.positions_figure(test.position, per_source, f"{model_name} {cond}",
                                    array=np.array(dataset.read_attrs(data)["mics"]))
    plots.save_figure(figure, positions_png)


def cli():
    p = steps.model_parser(__doc__)
    p.add_argument("--outdir", required=True, help="folder for windows.csv, sources.csv, summary.json, positions.png")
    args = p.parse_args()
    config = steps.load_config(args.config)
    out = args.outdir
    run(args.data, args.checkpoint, f"{out}/windows.csv", f"{out}/sources.csv", f"{out}/summary.json",
        f"{out}/positions.png", args.model, args.cond, config["signals"]["window"],
        config["geometry"]["array"]["n_mics"], config["training"]["device"], 2, args.log)


if "snakemake" in globals():
    run(snakemake.input.data, snakemake.input.checkpoint, *snakemake.output, **snakemake.params, threads=snakemake.threads,
        log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
