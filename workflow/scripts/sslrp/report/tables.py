"""Result tables: a list of row dicts written as a markdown pipe table and a CSV (both atomically)."""

import math

from .. import names
from ..explain import manipulation
from ..io import write_csv, write_text
from . import card, components, inputs, replicates, verdict


def _cell(value, digits):
    if isinstance(value, replicates.Estimate):
        return value.format(digits)
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown(rows, digits=3):
    """A markdown pipe table with the keys of the first row as header."""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(row[k], digits) for k in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write(rows, md_path, csv_path, digits=3):
    """Write `rows` as markdown and CSV. A column of replicates.Estimate (tables over seed replicates) is one
    `mean ± half-width` column in markdown and two in the CSV: the mean, and the confidence interval's
    half-width beside it."""
    write_text(md_path, markdown(rows, digits))
    header = list(rows[0])
    ranged = {k for row in rows for k, v in row.items() if isinstance(v, replicates.Estimate)}
    csv_header = [name for k in header for name in ([k, f"{k} ±{replicates.CI_LABEL}"] if k in ranged else [k])]
    write_csv(csv_path, csv_header, [[v for k in header for v in _csv_values(row[k], k in ranged)] for row in rows])


def _csv_values(value, ranged):
    if isinstance(value, replicates.Estimate):
        return [value.mean, value.half_width]
    return [value, ""] if ranged else [value]


def localization_rows(summaries):
    """One row per model x condition: test MAE overall and per coordinate, next to the mean-position
    baseline, the two ratios the verdict rests on and the verdict itself (sslrp.report.verdict); then the
    same on the validation split (between the training positions, same baseline), where it was scored. A
    "model" may also be a classical method with the same summary (srp_baseline.py's "srp_phat"; no
    validation: "–")."""
    out = []
    for s in summaries:
        row = {"model": s["model"], "condition": s["condition"], "windows": s["n_windows"], "MAE [m]": s["mae"]}
        row.update({f"{c} [m]": v for c, v in zip("xyz", s["mae_xyz"])})
        row["baseline MAE [m]"] = s["baseline_mae"]
        row.update({f"baseline {c} [m]": v for c, v in zip("xyz", s["baseline_mae_xyz"])})
        v = verdict.judge(s)
        row.update({"MAE / baseline": v.mae_ratio, "x / baseline x": v.x_ratio, "verdict": v.status})
        val, nan = v.val, float("nan")
        row.update({"val MAE [m]": nan if val is None else val.mae,
                    "val baseline MAE [m]": nan if val is None else val.baseline_mae,
                    "val MAE / baseline": nan if val is None else val.mae_ratio,
                    "val x / baseline x": nan if val is None else val.x_ratio,
                    "val verdict": "–" if val is None else val.status})
        out.append(row)
    return out


def _by_model_with_pooled(curves):
    """Per model: its curves of every condition, then their pool (condition "pooled": all conditions' test
    windows as one set). Every curve keeps the imputation it was made with (zeros in older results)."""
    by_model = {}
    for c in curves:
        by_model.setdefault(c["model"], []).append(c)
    return {model: [*(dict(c, imputation=c.get("imputation", "zeros")) for c in model_curves),
                    {**manipulation.pooled(model_curves), "condition": "pooled",
                     "imputation": "/".join(sorted({c.get("imputation", "zeros") for c in model_curves}))}]
            for model, model_curves in by_model.items()}


def _ordered_orderings(curves, key="mae"):
    known = list(names.ORDERINGS)  # columns in this order (the result files sort their keys)
    return sorted({o for c in curves for o in c.get(key, {})},
                  key=lambda o: (known.index(o) if o in known else len(known), o))


def ranked_by(ordering, magnitude=False):
    """What a curve's removal order ranks by, as the tables say it: an attribution map's "signed" value or its
    "magnitude"; energy ranks by the magnitude |x|, random by nothing ("–")."""
    if ordering == "random":
        return "–"
    return "magnitude" if magnitude or ordering == "energy" else "signed"


def _rankings(curve, ordering):
    """The rankings (magnitude flags) `curve` has MoRF curves of `ordering` for: signed first."""
    return [m for m in (False, True) if ordering in curve.get(manipulation.curve_key(magnitude=m), {})]


def manipulation_rows(curves):
    """One row per model x condition x ordering x ranking, plus pooled rows per model (all conditions' test
    windows as one set): the MAE after removing the most relevant P % (MoRF), how the ordering ranked the
    samples (`ranked_by`) and what removed samples became (imputation)."""
    out = []
    for model, model_curves in _by_model_with_pooled(curves).items():
        for c in model_curves:
            for ordering in c["mae"]:
                for magnitude in _rankings(c, ordering):
                    values = c[manipulation.curve_key(magnitude=magnitude)][ordering]
                    out.append({"model": model, "condition": c["condition"], "ordering": ordering,
                                "ranked by": ranked_by(ordering, magnitude), "imputation": c["imputation"],
                                **{f"P={p:g}%": v for p, v in zip(c["percents"], values)}})
    return out


def aopc_rows(curves):
    """One row per model x condition, plus a pooled row per model (all conditions' test windows as one set):
    the AOPC (mean MAE increase over P > 0 relative to P = 0, metres) of each ordering, one column each, and
    beside an attribution ordering's column that of its magnitude ranking where it was computed."""
    columns = [(o, m) for o in _ordered_orderings(curves) for m in (False, True)
               if not m or any(o in c.get(manipulation.curve_key(magnitude=True), {}) for c in curves)]
    out = []
    for model, model_curves in _by_model_with_pooled(curves).items():
        for c in model_curves:
            row = {"model": model, "condition": c["condition"], "windows": c["n_windows"],
                   "imputation": c["imputation"]}
            for ordering, magnitude in columns:
                values = c.get(manipulation.curve_key(magnitude=magnitude), {}).get(ordering)
                label = f"AOPC {ordering}, magnitude [m]" if magnitude else f"AOPC {ordering} [m]"
                row[label] = float("nan") if values is None else manipulation.aopc(c["percents"], values)
            out.append(row)
    return out


def srg_rows(curves):
    """One row per model x condition x ordering x ranking with a least-relevant-first curve, plus pooled rows:
    AOPC of removing the most (MoRF) and the least relevant samples first (LeRF) and the symmetric relevance
    gain SRG = AOPC(MoRF) - AOPC(LeRF) (metres; explain.manipulation.srg), with the imputation used. An
    attribution ordering's signed and magnitude rankings stand in adjacent rows: only the magnitude SRG tests
    a signed map's ranking (explain.manipulation explains why)."""
    orderings = _ordered_orderings(curves, "lerf")
    out = []
    for model, model_curves in _by_model_with_pooled(curves).items():
        for c in model_curves:
            for ordering in orderings:
                for magnitude in (False, True):
                    morf = c.get(manipulation.curve_key(magnitude=magnitude), {}).get(ordering)
                    lerf = c.get(manipulation.curve_key(True, magnitude), {}).get(ordering)
                    if morf is None or lerf is None:
                        continue
                    out.append({"model": model, "condition": c["condition"], "ordering": ordering,
                                "ranked by": ranked_by(ordering, magnitude), "imputation": c["imputation"],
                                "AOPC MoRF [m]": manipulation.aopc(c["percents"], morf),
                                "AOPC LeRF [m]": manipulation.aopc(c["percents"], lerf),
                                "SRG [m]": manipulation.srg(c["percents"], morf, lerf)})
    return out


SIGNAL_LABELS = {"microphone": "Mic", "constant": "Constant"}  # the TDoA estimators that are not a model's relevance


def _signal_order(name):
    # TDoA columns: the microphones, the models' relevance (built-ins in the paper's order), the constant.
    builtin = names.MODELS.index(name) if name in names.MODELS else len(names.MODELS)
    return {"microphone": 0, "constant": 2}.get(name, 1), builtin, name


def tdoa_rows(results):
    """The paper's TDoA table, one row per condition x mic pair: anomaly % and MAE (samples, non-anomalous
    windows) of GCC-PHAT on the microphone signals and on each model's relevance, beside the constant
    estimator that always answers the training sources' mean delay (tdoa.py), and every estimator's correlation
    r with the true delay (none for the constant: it follows nothing). The largest true delay on the pair says
    how far a constant guess can be off at most."""
    out = []
    for r in results:
        for entry in r["pairs"]:
            row = {"condition": r["condition"], "pair": names.pair_label(entry["pair"]),
                   "largest true delay [samples]": entry["largest_true_delay"]}
            for name in sorted(entry["signals"], key=_signal_order):
                s, label = entry["signals"][name], SIGNAL_LABELS.get(name) or names.model_label(name)
                row[f"{label} anomalies [%]"] = s["anomaly_percent"]
                row[f"{label} MAE [samples]"] = _nan_if_none(s["mae"])
                if name != "constant":
                    row[f"{label} r"] = _nan_if_none(s["correlation"])
            out.append(row)
    return out


def _nan_if_none(value):
    return float("nan") if value is None else value


def randomization_rows(results):
    """Every step of the cascading parameter randomization (sanity.py), per model x condition: the layer
    group re-initialized last, the rank correlation of |relevance| with the trained model's, the randomized
    model's MAE on the explained windows and GCC-PHAT's TDoA anomalies and MAE on its relevance."""
    out = []
    for r in results:
        for step in r["randomization"]:
            out.append({"model": r["model"], "condition": r["condition"], "windows": r["n_windows"],
                        "depth": step["depth"], "re-initialized up to": step["layer"],
                        "Spearman with trained": step["spearman"], "model MAE [m]": step["model_mae"],
                        "TDoA anomalies [%]": step["tdoa_anomaly_percent"],
                        "TDoA MAE [samples]": _nan_if_none(step["tdoa_mae"])})
    return out


def sanity_rows(results):
    """One row per model x condition, the page's summary of the sanity checks: the rank correlation of the fully
    randomized model's relevance with the trained model's; TDoA anomalies on the trained and the fully
    randomized model's relevance and on the microphones (same windows); the median conservation ratio."""
    out = []
    for r in results:
        trained, randomized = r["randomization"][0], r["randomization"][-1]
        out.append({"model": names.model_label(r["model"]), "condition": r["condition"],
                    "Spearman, all layers randomized": randomized["spearman"],
                    "TDoA anomalies, trained [%]": trained["tdoa_anomaly_percent"],
                    "TDoA anomalies, randomized [%]": randomized["tdoa_anomaly_percent"],
                    "TDoA anomalies, microphones [%]": r["microphone_tdoa"]["anomaly_percent"],
                    "conservation (median)": r["conservation"]["median"]})
    return out


def conservation_rows(results):
    """One row per model x condition: the distribution over the test windows of the input relevance's sum
    divided by the output relevance LRP started from (sslrp.explain.conservation; 1 = conserved)."""
    out = []
    for r in results:
        c = r["conservation"]
        out.append({"model": r["model"], "condition": r["condition"], "windows": c["n_windows"],
                    "mean": c["mean"], "5 %": c["q05"], "median": c["median"], "95 %": c["q95"],
                    "min": c["min"], "max": c["max"]})
    return out


ROWS = {"explanations": card.rows, "components": components.rows, names.INPUT_TABLE: inputs.rows,
        "localization": localization_rows, "manipulation": manipulation_rows, "aopc": aopc_rows,
        "tdoa": tdoa_rows, "randomization": randomization_rows, "sanity": sanity_rows,
        "conservation": conservation_rows, "srg": srg_rows}
# Decimals of each table's numbers in markdown (metres to the millimetre; TDoA in hundredths of a sample).
DIGITS = {"explanations": 4, "components": 3, names.INPUT_TABLE: inputs.DIGITS,
          "localization": 3, "manipulation": 3, "aopc": 3, "tdoa": 2, "randomization": 3, "sanity": 3,
          "conservation": 3, "srg": 3}
