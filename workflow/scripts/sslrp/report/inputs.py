"""The input check on the results page and in a table: does each model see, on each condition's test windows, the
kind of data its checkpoint was trained on (sslrp.explain.input_check reports, one per model x condition)?

`rows(results)` gives the `inputs` table (one row per model x condition x batch norm; a model without batch norms
one row saying the check does not apply); `page_blocks(results, models, conditions)` the page's section: a heading,
what the check measures, one line per model and condition, and the table. Blocks as sslrp.report.page's.
"""

import math

from ..names import model_label

DIGITS = 3  # decimals of the table's numbers
HEADING = "Inputs against the training statistics"
INTRO = ("Each batch norm stored, in training, the mean and variance of its input per channel. On a seeded subset of "
         "each condition's test windows, the ratio of the input variance to the stored one (geometric mean over "
         "channels) and the shift of the mean (in stored standard deviations) say whether the network sees the kind "
         "of data it was trained on. A network outside its training distribution from its first layer on is not "
         "evidence of what the paper's networks do, whatever its error.")


def rows(results):
    """One row per model x condition x batch norm, in the reports' order; a report that does not apply: one row
    without numbers."""
    out = []
    for r in results:
        base = {"model": r["model"], "condition": r["condition"]}
        if not r.get("applies", bool(r.get("layers"))):
            out.append({**base, "layer": "–", "index": "–", "variance ratio": math.nan, "lowest": math.nan,
                        "highest": math.nan, "mean shift [std]": math.nan, "outside": "does not apply"})
            continue
        for i, layer in enumerate(r["layers"], start=1):
            out.append({**base, "layer": layer["layer"], "index": i, "variance ratio": layer["variance_ratio"],
                        "lowest": layer["variance_ratio_min"], "highest": layer["variance_ratio_max"],
                        "mean shift [std]": layer["mean_shift"], "outside": "yes" if layer["outside"] else "no"})
    return out


def line(result):
    """The page's line for one report: '<model> on <condition>: <the report's sentence>.'"""
    return f"{model_label(result['model'])} on {result['condition']}: {result['sentence']}."


def page_blocks(results, models, conditions):
    """The page's input-check section, lines in the order of `models` then `conditions` (config order)."""
    by_key = {(r["model"], r["condition"]): r for r in results}
    lines = [line(by_key[m, c]) for m in models for c in conditions if (m, c) in by_key]
    if not lines:
        return []
    from . import tables  # here: sslrp.report.tables lists rows() among its tables (no import cycle at load)

    return [("heading", 2, HEADING, False), ("text", INTRO), ("list", lines),
            ("table", tables.markdown(rows(results), DIGITS))]
