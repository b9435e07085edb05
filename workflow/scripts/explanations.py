"""The explanation report card of one model x condition (sslrp.explain.card): every method of
`explanations.methods` on a fixed, seeded subset of the test windows, judged by faithfulness (MoRF/LeRF, SRG),
randomization (the fully re-initialized model's map) and physics (GCC-PHAT delay on the map), with its cost; and,
for a simulated condition, what the model listens to of the sound's components (sslrp.explain.components): the
causal MAE on component sums and every map's share of each component, trained and randomized."""

import functools

import numpy as np
import torch

from sslrp import seeding, step_settings, steps
from sslrp.data import dataset, geometry
from sslrp.explain import attribution, card, components, manipulation, randomization
from sslrp.io import write_json
from sslrp.localize import inference, srp
from sslrp.names import MODEL_FREE, pair_label


def run(data, checkpoint, relevance, result, model, cond, window, n_mics, device, methods, n_windows, subset_seed,
        seed, percents, imputation, batch_size, gate, attribution_settings, pairs, max_lag, sound_speed,
        srp_settings, geometry_settings, max_similarity, components_file=None, threads=None, log=None):
    """Write the card `result` (JSON) of the `checkpoint` of `model` (a `models:` entry) on `n_windows` test windows
    of `data` (drawn from `subset_seed`), with the LRP `relevance` file for the "relevance" method and, for a
    simulated condition, the sound components file `components_file` (sslrp.data.components)."""
    log = steps.logger(log)
    loaded = inference.load_for_test(model, checkpoint, data, window, n_mics, device, threads)
    localizer, test, device = loaded.localizer, loaded.test, loaded.device
    name = localizer.name
    maps, targets = dataset.read_relevance(relevance, test, targets=True)
    rows = seeding.subset(n_windows, len(test.windows), subset_seed)
    windows = _windows(data, test, rows, targets, pairs, max_lag, sound_speed)
    maps = maps[rows]
    parts = _parts(components_file, rows, test, log)
    settings = card.Settings(tuple(percents), imputation, batch_size, seed, f"{name}/{cond}", gate,
                             attribution_settings, device)
    predict = functools.partial(inference.predict, loaded.model, batch_size=batch_size, device=device)
    randomized = card.randomized_model(localizer, seed, f"randomization/{name}")
    log.info(f"{name} on {device}: {len(rows)} of {len(test.windows)} test windows, methods {', '.join(methods)}")
    random_rng = seeding.rng(seed, f"manipulation/{name}/{cond}")  # the manipulation step's random stream
    out = {}
    for method in methods:
        out[method] = _method(method, localizer, randomized, windows, maps, parts, settings, predict, random_rng, log)
    baselines = {"microphones": card.physics(card.delays(windows.windows, windows), windows),
                 "constant": card.physics(card.constant_estimates(windows), windows)}
    truth = {"delays": {k: v.tolist() for k, v in windows.true_delay.items()},
             "thresholds": windows.thresholds.tolist()}
    write_json(result, {"model": name, "condition": cond, "n_windows": len(rows), "test_rows": rows.tolist(),
                        "percents": [int(p) for p in percents], "imputation": imputation,
                        "max_similarity": max_similarity, "pairs": [pair_label(p) for p in pairs],
                        "method_order": list(methods),
                        "truth": truth, "methods": out, "baselines": baselines,
                        "components": None if parts is None else _causal(loaded, windows, parts, data, srp_settings,
                                                                         geometry_settings, sound_speed, log)})


def _windows(data, test, rows, targets, pairs, max_lag, sound_speed):
    """The card's windows and their ground truth (sslrp.explain.card.Windows)."""
    attrs = dataset.read_attrs(data)
    mics, fs = np.asarray(attrs["mics"]), attrs["fs"]
    true = test.position[test.source[rows]]
    trained_on = dataset.trained_positions(data)  # the TDoA step's constant estimator
    delay = {pair_label(p): geometry.direct_path_tdoa(true, mics, p, fs, sound_speed) for p in pairs}
    constant = {pair_label(p): float(np.mean(geometry.direct_path_tdoa(trained_on, mics, p, fs, sound_speed)))
                for p in pairs}
    return card.Windows(test.windows[rows], rows, np.asarray(targets[rows], np.float32), true, [list(p) for p in pairs],
                        delay, constant, test.correlation_time[test.source[rows]] / 2, max_lag)


def _parts(components_file, rows, test, log):
    """The sound components of the card's windows, or None for a recorded condition (it has none)."""
    if not components_file:  # None from the command line, [] from the rule
        log.info("recorded condition: no sound components (only a simulation knows them)")
        return None
    from sslrp.data import components as sound

    found = sound.read_components(components_file)
    if not np.array_equal(found.test_row, rows):
        raise dataset.DatasetError(f"{components_file}: its test rows are not the card's {len(rows)} windows "
                                   "(explanations.windows or the seed changed since it was made); rebuild it with "
                                   f"`snakemake --cores 2 --forcerun {components_file}`")
    sound.check_sum(components_file, found.test_row, found.parts, test.windows[rows])
    return found.parts


def _method(method, localizer, randomized, windows, relevance, parts, settings, predict, random_rng, log):
    """One method's row of the card: maps of the trained and the randomized model, faithfulness, randomization,
    physics and cost, and its shares of the sound components."""
    method_seed = int(seeding.rng(settings.seed, f"attribution/{method}/{settings.tag}").integers(2**31))
    if method == "relevance":  # the relevance step's maps of these windows; the randomized model's costs the same
        trained = relevance
        random_map, seconds = card.method_map(method, randomized, windows, settings, method_seed)
    else:
        trained, seconds = card.method_map(method, localizer, windows, settings, method_seed)
        random_map, _ = card.method_map(method, randomized, windows, settings, method_seed)
    with torch.no_grad():
        curves = card.faithfulness(predict, windows, method, trained, settings, random_rng)
    entry = {"model_free": method in MODEL_FREE, "seconds_per_window": seconds, "curves": curves,
             **manipulation.gains(curves), "spearman_randomized": None, "physics": None, "shares": None}
    if trained is not None:
        entry["spearman_randomized"] = randomization.rank_similarity(trained, random_map)
        entry["physics"] = card.physics(card.delays(trained, windows), windows)
    if parts is not None and method != "random":
        exact = method == "energy" or attribution.input_proportional(method, localizer)
        shared = windows.windows.astype(np.float64) ** 2 if trained is None else trained  # energy's map: x * x
        entry["shares"] = {"trained": components.shares(shared, windows.windows, parts, exact)}
        if random_map is not None:
            entry["shares"]["randomized"] = components.shares(random_map, windows.windows, parts, exact)
    cost = "no model" if seconds is None else f"{1000 * seconds:.1f} ms per window"
    log.info(f"{method:>22}: SRG {entry['srg']:+.4f} m, randomized rank correlation "
             f"{_fmt(entry['spearman_randomized'])}, {cost}")
    return entry


def _fmt(value):
    return "–" if value is None else f"{value:.3f}"


def _causal(loaded, windows, parts, data, srp_settings, geometry_settings, sound_speed, log):
    """The causal test on the card's windows (sslrp.explain.components.causal), with SRP-PHAT where it is enabled."""
    def localize(inputs):
        return inference.predict(loaded.model, inputs, device=loaded.device)

    locate = None
    if srp_settings["enabled"]:
        mics = np.asarray(dataset.read_attrs(data)["mics"], float)
        candidates, srp_pairs = srp.configured(geometry_settings, srp_settings, len(mics))

        def locate(inputs):
            return srp.srp_phat_localize(inputs, mics, float(geometry_settings["fs"]), sound_speed, candidates,
                                         srp_pairs)

    maes, baseline = components.causal(localize, windows.windows, parts, windows.true,
                                       dataset.baseline_position(data), locate)
    for variant, m in maes.items():
        log.info(f"causal: {variant:>18}: model {m['model']:.3f} m, SRP-PHAT {_fmt(m['srp_phat'])} m")
    return {"input_energy": components.energy_shares(parts), "causal": maes, "baseline_mae": baseline,
            "causal_agrees": components.causal_agrees(maes)}


def cli():
    p = steps.model_parser(__doc__, replicate=True)
    p.add_argument("--relevance", required=True)
    p.add_argument("--components", default=None, help="sound components HDF5 (simulated conditions)")
    p.add_argument("--out", required=True, help="card (JSON)")
    args = p.parse_args()
    config = steps.load_config(args.config)
    settings = step_settings.explanations(config, args.model, args.cond, args.replicate)
    run(args.data, args.checkpoint, args.relevance, args.out, **settings, components_file=args.components,
        threads=config["explain"]["threads"], log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()
