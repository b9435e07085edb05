"""The sound components as a reader sees them (sslrp.explain.components): the table
(results/tables/components.{md,csv}) and the page's sentences on the paper's claim that the networks "denoise and
de-reverberate" the microphone signals, stated from the numbers whichever way they come out.

The table has two kinds of rows per model x condition: one per method of the report card (its share of each
component for the trained and the randomized model, by the measure the map admits, beside the input energy's
shares, and whether the claim holds for it), then one per input variant of the causal test (the model's MAE,
SRP-PHAT's and the mean-position baseline's). Recorded conditions have no components: they get no rows, and the page
says so.
"""

from .. import names
from ..explain import components
from . import card

CLAIM = "denoises and de-reverberates"


def _with_components(results):
    return [r for r in results if r.get("components")]


def share_rows(results):
    """One row per model x condition x method (model-free random excluded): the measure, every component's share in
    the trained and the randomized model's map and in the input energy, and whether the claim holds for each."""
    out = []
    for r in _with_components(results):
        energy = r["components"]["input_energy"]
        for method in card.methods_in_order(r):
            shares = r["methods"][method].get("shares")
            if not shares:
                continue
            trained, randomized = shares["trained"], shares.get("randomized")
            row = {"model": names.model_label(r["model"]), "condition": r["condition"],
                   "method": names.method_label(method, r["model"]), "measure": trained["measure"]}
            for c in names.COMPONENTS:
                row[f"{c}, trained"] = trained[c]
                row[f"{c}, randomized"] = float("nan") if randomized is None else randomized[c]
                row[f"{c}, input energy"] = energy[c]
            row[f"{CLAIM}, trained"] = _word(components.denoises(trained, energy))
            row[f"{CLAIM}, randomized"] = ("model-free" if randomized is None
                                            else _word(components.denoises(randomized, energy)))
            out.append(row)
    return out


def causal_rows(results):
    """One row per model x condition x input variant: the model's, SRP-PHAT's and the mean-position baseline's MAE."""
    out = []
    for r in _with_components(results):
        c = r["components"]
        for variant, maes in c["causal"].items():
            out.append({"model": names.model_label(r["model"]), "condition": r["condition"], "input": variant,
                        "windows": r["n_windows"], "model MAE [m]": maes["model"],
                        "SRP-PHAT MAE [m]": float("nan") if maes["srp_phat"] is None else maes["srp_phat"],
                        "baseline MAE [m]": c["baseline_mae"]})
    return out


def rows(results):
    """The components table: the share rows, then the causal rows (blank columns where a kind has none)."""
    shares, causal = share_rows(results), causal_rows(results)
    header = list(dict.fromkeys([*(shares[0] if shares else {}), "input", "windows", "model MAE [m]",
                                 "SRP-PHAT MAE [m]", "baseline MAE [m]"]))
    if not shares and not causal:
        return [{"model": "–", "condition": "no simulated condition: no sound components"}]
    return [{k: row.get(k, "") for k in header} for row in shares + causal]


def _word(value):
    return "–" if value is None else "yes" if value else "no"


INTRO = ("What the networks listen to, in physical terms. The simulator knows every test window's parts: the direct "
         "sound, the early reflections (within {early:g} ms of the direct path), the late reverberation and the "
         "noise. The paper reads its relevance as the networks \"denoising and de-reverberating\" the microphone "
         "signals. That holds for a map when the direct sound's share of it exceeds the direct sound's share of "
         "the input energy while the noise's and the late reverberation's fall below theirs. The shares are exact "
         "for maps that are the input times a backward signal (gradient x input, Integrated Gradients, LRP with an "
         "input-proportional first rule) and energy-weighted otherwise. A randomized network's maps show what the "
         "signal's structure alone does. The causal test needs no explanation: the model's error with a component "
         "removed.")


def page_blocks(results, models, conditions, early_ms, recorded=()):
    """The page's components section: the intro, one sentence per model x simulated condition, and a note for the
    recorded conditions."""
    by_key = {(r["model"], r["condition"]): r for r in _with_components(results)}
    items = [finding(by_key[m, c]) for m in models for c in conditions if (m, c) in by_key]
    blocks = [("text", INTRO.format(early=early_ms))]
    if items:
        blocks.append(("list", items))
        blocks.append(("text", tally(list(by_key.values()))))
    if recorded:
        blocks.append(("text", f"Recorded conditions ({', '.join(recorded)}) have no components (only a simulation "
                               "knows them): they are left out here."))
    return blocks


def finding(r):
    """One model x condition in words: input energy shares, the methods for which the claim holds in the trained
    and in the randomized model, and the causal test."""
    c = r["components"]
    energy = c["input_energy"]
    label = f"{names.model_label(r['model'])}, {names.condition_label(r['condition'])}"
    text = (f"{label}: the input energy is {_percent(energy['direct'])} direct sound, {_percent(energy['early'])} "
            f"early reflections, {_percent(energy['late'])} late reverberation, {_percent(energy['noise'])} noise. ")
    holds, randomized = claim_holds(r, "trained"), claim_holds(r, "randomized")
    model = r["model"]
    text += (f"The trained model's map {CLAIM} for {_list(holds, model)}" if holds
             else f"No method's map of the trained model {CLAIM}")
    learned = [m for m in holds if m not in randomized]
    both = [m for m in holds if m in randomized]
    if both:
        text += f"; the randomized model's does too for {_list(both, model)} (the signal's structure, not training)"
    if learned and both:
        text += f", only the trained model's for {_list(learned, model)}"
    elif learned:
        text += "; the randomized model's does not for any of them (what the network learned)"
    maes = c["causal"]
    rise = components.rises(maes)
    agrees = "agrees" if c["causal_agrees"] else "does not agree"
    text += (f". Causal test: removing the direct sound changes the MAE by {rise['direct']:+.3f} m, the late "
             f"reverberation by {rise['late']:+.3f} m, the noise by {rise['noise']:+.3f} m (full window "
             f"{maes['full']['model']:.3f} m, direct sound alone {maes['direct']['model']:.3f} m, baseline "
             f"{c['baseline_mae']:.3f} m): it {agrees} that the network relies on the direct sound more than on "
             "what the claim says it suppresses.")
    return text


def claim_holds(r, which):
    """The methods of one model x condition's card whose map of the `which` model ("trained" or "randomized")
    denoises and de-reverberates (sslrp.explain.components.denoises), in the card's order."""
    energy = r["components"]["input_energy"]
    out = []
    for method in card.methods_in_order(r):
        shares = (r["methods"][method].get("shares") or {}).get(which)
        if shares and components.denoises(shares, energy):
            out.append(method)
    return out


def tally(results):
    """How often the claim holds over the model x condition pairs: by some method's trained map and by the causal
    test."""
    holds = [bool(claim_holds(r, "trained")) for r in results]
    agrees = [bool(r["components"]["causal_agrees"]) for r in results]
    by_map, by_cause, both = sum(holds), sum(agrees), sum(h and a for h, a in zip(holds, agrees))
    n = len(results)
    return (f"Over the {n} model x condition pairs with components: some method's map {CLAIM} in {by_map}, the "
            f"causal test agrees in {by_cause}, both in {both}.")


def _percent(value):
    return f"{100 * value:.0f} %"


def _list(methods, model):
    return ", ".join(names.method_label(m, model) for m in methods)
