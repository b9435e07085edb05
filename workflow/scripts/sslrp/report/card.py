"""The explanation report card as a reader sees it: the table (results/tables/explanations.{md,csv}), the verdict of
each test per method, and the page's sentences, with the recommendation that follows from the numbers (or none).

The verdicts (sslrp.explain.card says what each test measures):
- faithful: the method's SRG exceeds energy's, the model-free ordering (and, in its own column, random's noise
  floor);
- randomization: the rank correlation of the fully randomized model's map with the trained model's is at most
  `sanity.max_similarity` (model-free orderings: "model-free", no verdict);
- physics: on every pair wider than the first (the first is the narrowest, where every true delay is near 0 and the
  constant guess wins), GCC-PHAT on the map follows the true delay (Pearson r >= `MIN_DELAY_R`) with fewer anomalies
  than the constant estimator.
A method is recommended for a model when it passes all three pooled over the conditions; among several, the one
with the largest SRG. With several seed replicates the page decides each test on the replicates' 95 % confidence
interval of the margin (SRG minus energy's, max_similarity minus the rank correlation, the physics margin) and says
"cannot tell" where the interval holds 0.
"""

import math

import numpy as np

from .. import metrics, names
from ..explain import manipulation
from . import replicates

MIN_DELAY_R = 0.5  # the physics test: a map "carries the delay" on a pair when r >= this (and it beats the constant)
BASELINE_ROWS = {"microphones": "microphones (baseline)", "constant": "constant delay (baseline)"}
YES, NO, UNDECIDED, MODEL_FREE = "yes", "no", "cannot tell", "model-free"


def pooled(results):
    """Per model, its cards of every condition joined into one (condition "pooled"): curves pooled as one test set
    (sslrp.explain.manipulation.pooled), rank correlations and costs averaged over the windows, delay estimates and
    their truth concatenated."""
    return [_pool(cards) for cards in _by_model(results).values()]


def _by_model(results):
    """{model: its cards}, models and cards in the order given."""
    by_model = {}
    for r in results:
        by_model.setdefault(r["model"], []).append(r)
    return by_model


def _pool(cards):
    first = cards[0]
    weights = np.array([c["n_windows"] for c in cards], float)
    truth = {"delays": {p: sum((c["truth"]["delays"][p] for c in cards), []) for p in first["pairs"]},
             "thresholds": sum((c["truth"]["thresholds"] for c in cards), [])}
    methods = {}
    for method, entry in first["methods"].items():
        entries = [c["methods"][method] for c in cards]
        curves = manipulation.pooled([e["curves"] for e in entries])
        methods[method] = {**entry, "curves": curves, **manipulation.gains(curves),
                           "seconds_per_window": _average([e["seconds_per_window"] for e in entries], weights),
                           "spearman_randomized": _average([e["spearman_randomized"] for e in entries], weights),
                           "physics": _pool_physics([e["physics"] for e in entries], truth)}
    baselines = {b: _pool_physics([c["baselines"][b] for c in cards], truth) for b in first["baselines"]}
    return {**first, "condition": "pooled", "n_windows": int(weights.sum()), "truth": truth, "methods": methods,
            "baselines": baselines}


def _average(values, weights):
    return None if any(v is None for v in values) else float(np.average(values, weights=weights))


def _pool_physics(entries, truth):
    if any(e is None for e in entries):
        return None
    return {pair: metrics.tdoa_estimator_record(sum((e[pair]["estimates"] for e in entries), []),
                                                truth["delays"][pair], truth["thresholds"]) for pair in entries[0]}


# --- the three tests' margins (> 0: passed) -------------------------------------------------------------------

def faithfulness_margin(card_result, method, baseline="energy"):
    """SRG of `method` minus the baseline's (m); None where either is missing."""
    methods = card_result["methods"]
    if baseline not in methods or method == baseline:
        return None
    return methods[method]["srg"] - methods[baseline]["srg"]


def randomization_margin(card_result, method):
    """`max_similarity` minus the randomized model's rank correlation; None for a model-free ordering."""
    rho = card_result["methods"][method]["spearman_randomized"]
    return None if rho is None else card_result["max_similarity"] - rho


def wider_pairs(card_result):
    """The pairs the physics verdict reads: all but the first (narrowest) one, or the only one."""
    pairs = card_result["pairs"]
    return pairs[1:] or pairs


def physics_margin(card_result, method):
    """The smallest, over the wider pairs, of r - MIN_DELAY_R and the constant's anomaly fraction minus the map's
    (fractions of 1, so both terms are of one scale); None for an ordering without a map. An undefined r (a map
    whose delay never varies) counts as r = 0."""
    return _physics_margin(card_result, card_result["methods"][method]["physics"])


def _physics_margin(card_result, physics):
    if physics is None:
        return None
    constant = card_result["baselines"]["constant"]
    terms = []
    for pair in wider_pairs(card_result):
        r = physics[pair]["correlation"]
        terms += [(0.0 if r is None else r) - MIN_DELAY_R,
                  (constant[pair]["anomaly_percent"] - physics[pair]["anomaly_percent"]) / 100]
    return min(terms)


MARGINS = {"faithful": faithfulness_margin, "randomization": randomization_margin, "physics": physics_margin}


def judge(margins):
    """A verdict from one margin per replicate: "yes" above 0, "no" at or below; with several replicates "yes" or "no"
    only when the 95 % confidence interval of the margin excludes 0, else "cannot tell". None: no verdict."""
    if not margins or margins[0] is None:
        return None
    if len(margins) == 1:
        return YES if margins[0] > 0 else NO
    low, high = replicates.estimate(margins).interval
    return YES if low > 0 else NO if high <= 0 else UNDECIDED


def verdicts(cards, method):
    """{test: verdict} of `method` from the same model x condition's card of every replicate (replicate 0's first)."""
    return {test: judge([margin(c, method) for c in cards]) for test, margin in MARGINS.items()}


# --- the table ------------------------------------------------------------------------------------------------

def rows(results):
    """One row per model x condition x method, then the pooled rows per model x method, each followed by the
    physics baselines (microphones, constant) of the same windows. Columns: windows, cost, AOPC MoRF / LeRF and SRG
    of the ranking the card judges (and the signed SRG of a signed map), energy's and random's SRG beside them, the
    randomized model's rank correlation, per pair r, anomalies and MAE, and the three verdicts."""
    out = []
    for model_cards in _by_model(results).values():
        for c in [*model_cards, _pool(model_cards)]:
            out += [_row(c, method) for method in methods_in_order(c)]
            out += [_baseline_row(c, name) for name in c["baselines"]]
    return out


def methods_in_order(card_result):
    """The card's methods in the order of `explanations.methods` (the JSON file sorts its keys)."""
    return card_result.get("method_order") or list(card_result["methods"])


def _nan(value):
    return float("nan") if value is None else value


def _head(c, method_label):
    return {"model": names.model_label(c["model"]), "condition": c["condition"], "method": method_label,
            "windows": c["n_windows"]}


def _row(c, method):
    e = c["methods"][method]
    srg_of = {b: c["methods"][b]["srg"] if b in c["methods"] else float("nan") for b in names.MODEL_FREE}
    seconds = e["seconds_per_window"]
    row = {**_head(c, names.method_label(method, c["model"])),
           "ms per window": float("nan") if seconds is None else 1000 * seconds,
           "AOPC MoRF [m]": e["aopc_morf"], "AOPC LeRF [m]": e["aopc_lerf"], "SRG [m]": e["srg"],
           "SRG signed [m]": _nan(e["srg_signed"]), "SRG energy [m]": srg_of["energy"],
           "SRG random [m]": srg_of["random"], "rank corr. randomized": _nan(e["spearman_randomized"])}
    row.update(_physics_columns(c, e["physics"]))
    v = verdicts([c], method)
    row.update({"beats energy": v["faithful"] or "–",
                "passes randomization": MODEL_FREE if e["model_free"] else v["randomization"],
                "carries the delay": v["physics"] or "–"})
    return row


def _physics_columns(c, physics):
    out = {}
    for pair in c["pairs"]:
        s = physics[pair] if physics else {}
        out[f"r {pair}"] = _nan(s.get("correlation"))
        out[f"anomalies {pair} [%]"] = _nan(s.get("anomaly_percent"))
        out[f"MAE {pair} [samples]"] = _nan(s.get("mae"))
    return out


def _baseline_row(c, name):
    nan = float("nan")
    row = {**_head(c, BASELINE_ROWS[name]), "ms per window": nan, "AOPC MoRF [m]": nan, "AOPC LeRF [m]": nan,
           "SRG [m]": nan, "SRG signed [m]": nan, "SRG energy [m]": nan, "SRG random [m]": nan,
           "rank corr. randomized": nan}
    row.update(_physics_columns(c, c["baselines"][name]))
    return row | {"beats energy": "–", "passes randomization": "–", "carries the delay": "–"}


# --- the page -------------------------------------------------------------------------------------------------

INTRO = ("Which explanation can be trusted? Every method below explains the same output of the same network on the "
         "same {n} test windows per condition and is judged by three tests, each beside the baseline that could "
         "explain its result. Faithfulness: removing the samples a method ranks highest first should hurt the "
         "model more than removing those it ranks lowest (SRG, by magnitude), and more than for energy, the "
         "loudest samples first, which knows nothing about the network. Randomization: the map of the network "
         "with every layer re-initialized should differ from the trained one's (rank correlation at most {sim:g}). "
         "Physics: GCC-PHAT on the map's channels should recover the true inter-microphone delay on the wider "
         "pairs ({pairs}), with r >= {r:g} and fewer anomalies than the constant guess.")


def page_blocks(cards_by_replicate, models):
    """The page's report-card section: the intro, then per model one paragraph of verdicts and the recommendation
    (or that none passes all three). `cards_by_replicate`: per replicate (replicate 0's first) its list of cards."""
    pools = [{p["model"]: p for p in pooled(cards)} for cards in cards_by_replicate]
    first = cards_by_replicate[0][0]
    blocks = [("text", INTRO.format(n=first["n_windows"], sim=first["max_similarity"], r=MIN_DELAY_R,
                                    pairs=", ".join(wider_pairs(first))))]
    blocks.append(("list", [recommendation(model, [p[model] for p in pools])
                            for model in models if model in pools[0]]))
    return blocks


def recommendation(model, pools):
    """One model's verdicts in words, pooled over its conditions (`pools`: its pooled card per replicate)."""
    label, card0 = names.model_label(model), pools[0]
    methods = [m for m in methods_in_order(card0) if m not in names.MODEL_FREE]
    table = {m: verdicts(pools, m) for m in methods}
    text = f"{label}, all conditions pooled ({card0['n_windows']} windows): "
    energy = (f" (energy's SRG {card0['methods']['energy']['srg']:+.4f} m)" if "energy" in card0["methods"]
              else " (energy not on the card)")
    text += _tally(f"more faithful than energy{energy}", table, "faithful", model,
                   lambda m: f"SRG {card0['methods'][m]['srg']:+.4f} m")
    text += "; " + _tally("pass the randomization check", table, "randomization", model,
                          lambda m: f"rank correlation {card0['methods'][m]['spearman_randomized']:.2f}")
    text += "; " + _tally("carry the delay on the wider pairs", table, "physics", model,
                          lambda m: _delay_note(card0, card0["methods"][m]["physics"]))
    microphones = card0["baselines"]["microphones"]
    passes = "pass" if _physics_margin(card0, microphones) > 0 else "do not pass either"
    text += f" (the microphone signals themselves {passes}: {_delay_note(card0, microphones)}). "
    passing = [m for m in methods if all(v == YES for v in table[m].values())]
    if passing:
        best = max(passing, key=lambda m: card0["methods"][m]["srg"])
        others = [names.method_label(m, model) for m in passing if m != best]
        text += (f"Recommended for {label}: {names.method_label(best, model)}, which passes all three tests"
                 + (f" with the largest SRG (also passing: {', '.join(others)})." if others else "."))
    else:
        text += f"No method passes all three tests for {label}: the page recommends none."
    return text


def _tally(what, table, test, model, detail):
    """"<what>: A (detail), B (detail)" for the methods whose verdict on `test` is yes ("none" when none is), and those
    the replicates' interval leaves undecided."""
    yes = [m for m in table if table[m][test] == YES]
    undecided = [m for m in table if table[m][test] == UNDECIDED]
    text = f"{what}: {_names(yes, model, detail) if yes else 'none'}"
    if undecided:
        text += f" (cannot tell within the replicates' confidence interval: {_names(undecided, model)})"
    return text


def _names(methods, model, detail=None):
    return ", ".join(names.method_label(m, model) + (f" ({detail(m)})" if detail else "") for m in methods)


def _delay_note(card0, physics):
    """"r 0.12 on 4-11, r 0.30 on 0-15": a map's (or a baseline's) delay correlation on the wider pairs."""
    return ", ".join(f"r {_r(physics[p]['correlation'])} on {p}" for p in wider_pairs(card0))


def _r(value):
    return "undefined" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
