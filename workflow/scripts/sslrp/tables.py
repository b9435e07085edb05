"""Result tables: a list of row dicts written as a markdown pipe table and a CSV (both atomically)."""

import math

from . import manipulation, names, verdict
from .io import write_csv, write_text


def _cell(value, digits):
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
    """Write `rows` as markdown and CSV."""
    write_text(md_path, markdown(rows, digits))
    write_csv(csv_path, list(rows[0]), [list(row.values()) for row in rows])


def localization_rows(summaries):
    """One row per model x condition: test MAE overall and per coordinate, next to the mean-position
    baseline, the two ratios the verdict rests on and the verdict itself (sslrp.verdict). A "model" may
    also be a classical method with the same summary (srp_baseline.py's "srp_phat")."""
    out = []
    for s in summaries:
        row = {"model": s["model"], "condition": s["condition"], "windows": s["n_windows"], "MAE [m]": s["mae"]}
        row.update({f"{c} [m]": v for c, v in zip("xyz", s["mae_xyz"])})
        row["baseline MAE [m]"] = s["baseline_mae"]
        row.update({f"baseline {c} [m]": v for c, v in zip("xyz", s["baseline_mae_xyz"])})
        v = verdict.judge(s)
        row.update({"MAE / baseline": v.mae_ratio, "x / baseline x": v.x_ratio, "verdict": v.status})
        out.append(row)
    return out


def manipulation_rows(curves):
    """One row per model x condition x ordering, plus pooled rows per model x ordering (all conditions'
    test windows as one set)."""
    by_model = {}
    for c in curves:
        by_model.setdefault(c["model"], []).append(c)
    out = []
    for model, model_curves in by_model.items():
        for c in [*model_curves, {**manipulation.pooled(model_curves), "condition": "pooled"}]:
            for ordering, values in c["mae"].items():
                out.append({"model": model, "condition": c["condition"], "ordering": ordering,
                            **{f"P={p:g}%": v for p, v in zip(c["percents"], values)}})
    return out


def aopc_rows(curves):
    """One row per model x condition, plus a pooled row per model (all conditions' test windows as one set):
    the AOPC (mean MAE increase over P > 0 relative to P = 0, metres) of each ordering, one column each."""
    by_model = {}
    for c in curves:
        by_model.setdefault(c["model"], []).append(c)
    known = list(names.ORDERINGS)  # columns in this order (the result files sort their keys)
    orderings = sorted({o for c in curves for o in c["mae"]},
                       key=lambda o: (known.index(o) if o in known else len(known), o))
    out = []
    for model, model_curves in by_model.items():
        for c in [*model_curves, {**manipulation.pooled(model_curves), "condition": "pooled"}]:
            row = {"model": model, "condition": c["condition"], "windows": c["n_windows"]}
            for ordering in orderings:
                values = c["mae"].get(ordering)
                row[f"AOPC {ordering} [m]"] = (float("nan") if values is None
                                               else manipulation.aopc(c["percents"], values))
            out.append(row)
    return out


SIGNAL_LABELS = {"microphone": "Mic", **names.MODEL_LABELS}


def tdoa_rows(results):
    """The paper's TDoA table: per condition, anomaly % and MAE (samples, non-anomalous windows) for the
    microphone signals and each model's relevance."""
    out = []
    for r in results:
        row = {"condition": r["condition"]}
        for name, s in r["signals"].items():
            label = SIGNAL_LABELS.get(name, name)
            row[f"{label} anomalies [%]"] = s["anomaly_percent"]
            row[f"{label} MAE [samples]"] = s["mae"]
        out.append(row)
    return out


ROWS = {"localization": localization_rows, "manipulation": manipulation_rows, "aopc": aopc_rows,
        "tdoa": tdoa_rows}
# Decimals of each table's numbers in markdown (metres to the millimetre; TDoA in hundredths of a sample).
DIGITS = {"localization": 3, "manipulation": 3, "aopc": 3, "tdoa": 2}
