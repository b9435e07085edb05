"""The report card's figures: per model, the three tests of every method (`explanations_figure`) and the sound
components' shares and causal MAEs (`components_figure`), both from replicate 0's cards pooled over the conditions
(sslrp.report.card.pooled). Matplotlib Figures, saved by sslrp.report.plots.save_figure."""

import numpy as np

from .. import names
from . import card
from .plots import ORDERING_COLORS, plt

COMPONENT_COLORS = {"direct": "C0", "early": "C1", "late": "C3", "noise": "0.6"}


def explanations_figure(pooled_card, model):
    """Three panels over the methods: SRG (faithfulness), the randomized model's rank correlation (randomization),
    the delay correlation r per pair (physics)."""
    methods = card.methods_in_order(pooled_card)
    labels = [names.method_label(m, model) for m in methods]
    y = np.arange(len(methods))
    fig, (faith, rand, phys) = plt.subplots(1, 3, figsize=(14, 0.45 * len(methods) + 2), layout="constrained",
                                            sharey=True)
    entries = [pooled_card["methods"][m] for m in methods]
    faith.barh(y, [e["srg"] for e in entries], color=[ORDERING_COLORS.get(m, "C0") for m in methods])
    faith.axvline(0, color="k", linewidth=0.8)
    faith.set(yticks=y, yticklabels=labels, xlabel="SRG [m] (larger: more faithful)", title="Faithfulness")
    rho = [np.nan if e["spearman_randomized"] is None else e["spearman_randomized"] for e in entries]
    rand.barh(y, rho, color="C4")
    rand.axvline(pooled_card["max_similarity"], color="k", linestyle="--", linewidth=0.8)
    for i, e in enumerate(entries):
        if e["model_free"]:
            rand.text(0.01, i, "model-free", va="center", fontsize=8)
    rand.set(xlabel="rank correlation, randomized vs trained (smaller: passes)", title="Randomization", xlim=(0, 1))
    pairs = pooled_card["pairs"]
    height = 0.8 / len(pairs)
    for k, pair in enumerate(pairs):
        r = [_r(e["physics"], pair) for e in entries]
        phys.barh(y - 0.4 + (k + 0.5) * height, r, height=height, color=f"C{k}", label=f"pair {pair}")
        mic = _r(pooled_card["baselines"]["microphones"], pair)
        phys.axvline(mic, color=f"C{k}", linestyle=":", linewidth=1)
    phys.axvline(0, color="k", linewidth=0.8)
    phys.set(xlabel="Pearson r, map's delay vs true delay (dotted: microphones)", title="Physics", xlim=(-1, 1))
    phys.legend(fontsize=8, loc="lower right")
    for ax in (faith, rand, phys):
        ax.grid(alpha=0.3, axis="x")
    faith.invert_yaxis()
    fig.suptitle(f"{names.model_label(model)}: explanation report card ({pooled_card['n_windows']} windows)")
    return fig


def _r(physics, pair):
    if physics is None or physics[pair]["correlation"] is None:
        return np.nan
    return physics[pair]["correlation"]


def components_figure(cards, model):
    """Left: per method the shares of each component (trained; hatched: randomized) beside the input energy's;
    right: the causal test's MAE per input variant, model and SRP-PHAT, with the baseline. `cards`: one model's cards
    of the simulated conditions; shares and MAEs are their window-weighted means."""
    weights = np.array([c["n_windows"] for c in cards], float)
    methods = [m for m in card.methods_in_order(cards[0]) if cards[0]["methods"][m].get("shares")]
    rows = [("input energy", "input", _mean([c["components"]["input_energy"] for c in cards], weights))]
    for m in methods:
        rows.append((names.method_label(m, model), "trained",
                     _mean([c["methods"][m]["shares"]["trained"] for c in cards], weights)))
        if cards[0]["methods"][m]["shares"].get("randomized"):
            rows.append(("", "randomized", _mean([c["methods"][m]["shares"]["randomized"] for c in cards], weights)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.35 * len(rows) + 2.5), layout="constrained",
                                      width_ratios=(3, 2))
    for i, (_, kind, shares) in enumerate(rows):
        start = 0.0
        for c in names.COMPONENTS:
            value = shares[c]
            left.barh(i, value, left=start, color=COMPONENT_COLORS[c], hatch="//" if kind == "randomized" else None,
                      edgecolor="w", label=c if i == 0 else None)
            start += value
    left.set(yticks=range(len(rows)), yticklabels=[f"{label} ({kind})" if label else kind for label, kind, _ in rows],
             xlabel="share (exact or energy-weighted: see the table)", title="Shares of the sound components")
    left.invert_yaxis()
    left.legend(ncols=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.05))
    variants = list(cards[0]["components"]["causal"])
    x = np.arange(len(variants))
    model_mae = [np.average([c["components"]["causal"][v]["model"] for c in cards], weights=weights) for v in variants]
    right.bar(x - 0.2, model_mae, width=0.4, label=names.model_label(model))
    srp = [[c["components"]["causal"][v]["srp_phat"] for c in cards] for v in variants]
    if all(s is not None for values in srp for s in values):
        right.bar(x + 0.2, [np.average(values, weights=weights) for values in srp], width=0.4, label="SRP-PHAT")
    right.axhline(np.average([c["components"]["baseline_mae"] for c in cards], weights=weights), color="k",
                  linestyle="--", label="mean-position baseline")
    right.set(xticks=x, ylabel="MAE [m]", title="Causal test: the model on parts of the sound")
    right.set_xticklabels(variants, rotation=45, ha="right")
    right.legend(fontsize=8)
    fig.suptitle(f"{names.model_label(model)}: what the network listens to (mean over simulated conditions)")
    return fig


def _mean(shares, weights):
    return {c: float(np.average([s[c] for s in shares], weights=weights)) for c in names.COMPONENTS}
