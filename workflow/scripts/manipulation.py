"""Input manipulation of one model x condition: remove (zero, or impute) the top P % of each test window's samples
by relevance, energy, at random or by another attribution method (gradient, SmoothGrad, Integrated Gradients,
...; computed here for the test windows) and measure the localization MAE per P; then the bottom P % (least
relevant first, LeRF) for every ordering but random, for the symmetric relevance gain; the attribution orderings of
`magnitude` are also ranked by |map| (MoRF and LeRF), the ranking whose SRG tests a signed map."""

import functools
import time

import numpy as np
import torch

from sslrp import names, seeding, step_settings, steps
from sslrp.data import dataset
from sslrp.explain import manipulation
from sslrp.io import write_json
from sslrp.localize import inference


def run(data, checkpoint, relevance, curve, model, cond, window, n_mics, percents, orderings, batch_size, seed,
        device, threads, gate="signal", attribution_settings=None, imputation="zeros", magnitude=(), log=None):
    """Write the manipulation `curve` (JSON) of the `checkpoint` of `model` (a `models:` entry) on the test windows
    of `data`, with the LRP `relevance` file for the "relevance" ordering."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    model, test, device, model_name = loaded.model, loaded.test, loaded.device, loaded.localizer.name
    log.info(f"{model_name} on {device}: {len(test.windows)} test windows")  # training.device
    maps, targets = dataset.read_relevance(relevance, test, targets=True)
    true = test.position[test.source]
    predict = functools.partial(inference.predict, model, batch_size=batch_size, device=device)

    def curve_of(maps, rng, orderings):
        """MoRF curves of `orderings` and LeRF curves of those but random, with the same imputed values, signed
        and (for those of `magnitude`) ranked by magnitude."""
        with torch.no_grad():
            return manipulation.manipulation_curve(
                predict, test.windows, true, maps, rng, orderings=orderings, percents=percents, batch_size=batch_size,
                lerf=True, imputation=imputation, fill_rng=seeding.rng(seed, f"imputation/{model_name}/{cond}"),
                magnitude=[o for o in orderings if o in magnitude])

    def collect(c):
        for key in manipulation.CURVE_KEYS:
            curves.setdefault(key, {}).update(c.get(key, {}))

    paper = [o for o in orderings if o not in names.ATTRIBUTIONS]
    curves, seconds = {}, {}
    if paper:  # the paper's orderings in one pass; the random stream is theirs alone
        collect(curve_of({"relevance": maps}, seeding.rng(seed, f"manipulation/{model_name}/{cond}"), paper))
    del maps
    if any(o in names.ATTRIBUTIONS for o in orderings):
        # imported only for these orderings: zennit imports torchvision, 3-6 s of every job's start otherwise
        from sslrp.explain import attribution
    for method in (o for o in orderings if o in names.ATTRIBUTIONS):  # one map in memory at a time
        start = time.perf_counter()
        method_seed = int(seeding.rng(seed, f"attribution/{method}/{model_name}/{cond}").integers(2 ** 31))
        attribution_map = attribution.attribute(method, loaded.localizer, test.windows,
                                                np.asarray(targets, np.float32), batch_size, device, gate,
                                                method_seed, attribution_settings)
        seconds[method] = (time.perf_counter() - start) / max(len(test.windows), 1)
        log.info(f"{method}: {1000 * seconds[method]:.1f} ms per window")
        collect(curve_of({method: attribution_map}, None, [method]))
        del attribution_map
    result = {"percents": [int(p) for p in percents], "n_windows": len(test.windows), "imputation": imputation,
              **{key: {o: curves[key][o] for o in orderings if o in curves[key]}
                 for key in manipulation.CURVE_KEYS if curves.get(key)}}
    for morf, lerf, label in (("mae", "lerf", ""), ("mae_magnitude", "lerf_magnitude", " |.|")):
        for ordering, values in result.get(morf, {}).items():
            gain = (f"  SRG={manipulation.srg(percents, values, result[lerf][ordering]):.3f}"
                    if ordering in result.get(lerf, {}) else "")
            log.info(f"{ordering + label:>20}: " + " ".join(f"{p:g}%={v:.3f}" for p, v in zip(percents, values))
                     + f"  AOPC={manipulation.aopc(percents, values):.3f}{gain}")
    write_json(curve, {"model": model_name, "condition": cond, **result, "attribution_seconds_per_window": seconds})


def cli():
    p = steps.model_parser(__doc__, replicate=True)
    p.add_argument("--relevance", required=True)
    p.add_argument("--out", required=True, help="curve (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    settings = step_settings.manipulation(config, args.model, args.cond, args.replicate)
    run(args.data, args.checkpoint, args.relevance, args.out, **settings,
        threads=config["explain"]["threads"], log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
