"""Evaluate one trained model on its condition's test set: per-window predictions, per-source errors,
a summary (MAE overall and per coordinate, next to the mean-training-position baseline) and a figure. The summary
also scores the validation split with the same checkpoint against the same baseline: the validation sources lie
between the training positions, the test square is a hole in the grid, so the two say whether the model
interpolates and whether it extrapolates."""

import numpy as np

from sslrp import metrics, step_settings, steps
from sslrp.data import dataset
from sslrp.io import rebuild_advice, write_csv, write_json
from sslrp.localize import inference
from sslrp.report import plots


def run(data, checkpoint, windows, sources, summary, positions, model, cond, window, n_mics, device, threads,
        log=None):
    """Evaluate the `checkpoint` of `model` (a `models:` entry) on the test split of `data`: per-window predictions
    (`windows` CSV), per-source errors (`sources` CSV), the `summary` JSON and the `positions` figure."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    model_name = loaded.localizer.name
    test = loaded.test
    log.info(f"{model_name} on {loaded.device}: {len(test.windows)} test windows")  # training.device
    pred = inference.predict(loaded.model, test.windows, device=loaded.device)
    true = test.position[test.source]
    bad = np.flatnonzero(~np.isfinite(pred).all(axis=1))
    if len(bad):
        raise RuntimeError(f"{checkpoint}: predicts non-finite positions for {len(bad)} of the test windows of {data} "
                           f"(first: {bad[:5].tolist()}); {rebuild_advice(checkpoint)}")

    write_csv(windows, ["source", "source_index", "window", "x", "y", "z", "x_pred", "y_pred", "z_pred"],
              [[s, test.source_index[s], w, *t, *p] for s, w, t, p in zip(test.source, test.window, true, pred)])
    errors = metrics.per_source_errors(pred, true, test.source)
    write_csv(sources, ["source", "source_index", "x", "y", "z", "n_windows", "euclidean", "absolute"],
              [[s, test.source_index[s], *test.position[s], n, e, a] for s, n, e, a in
               zip(errors["source"], errors["n_windows"], errors["euclidean"], errors["absolute"])])
    mean_position = dataset.baseline_position(data)
    result = {"model": model_name, "condition": cond, **metrics.localization_summary(pred, true, mean_position)}
    log.info(f"test MAE {result['mae']:.3f} m (x/y/z {np.round(result['mae_xyz'], 3).tolist()}), "
             f"baseline {result['baseline_mae']:.3f} m")
    val = dataset.read_split(data, "val")
    if len(val.windows):
        val_pred = inference.predict(loaded.model, val.windows, device=loaded.device)
        result["val"] = metrics.localization_summary(val_pred, val.position[val.source], mean_position)
        log.info(f"validation MAE {result['val']['mae']:.3f} m, baseline {result['val']['baseline_mae']:.3f} m")
    write_json(summary, result)
    per_source = np.array([pred[test.source == s].mean(axis=0) for s in range(len(test.position))])
    figure = plots.positions_figure(test.position, per_source, f"{model_name} {cond}",
                                    array=np.array(dataset.read_attrs(data)["mics"]))
    plots.save_figure(figure, positions)


def cli():
    p = steps.model_parser(__doc__)
    p.add_argument("--outdir", required=True, help="folder for windows.csv, sources.csv, summary.json, positions.png")
    args = p.parse_args()
    config = steps.load_config(args.config)
    out = args.outdir
    run(args.data, args.checkpoint, f"{out}/windows.csv", f"{out}/sources.csv", f"{out}/summary.json",
        f"{out}/positions.png", **step_settings.evaluate(config, args.model, args.cond), threads=1, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
