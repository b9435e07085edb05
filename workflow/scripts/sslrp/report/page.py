"""The results page (results/page/index.md + index.html): the seed page's structure, plus the tables.

The page is described once as a list of blocks (`page_blocks`); `build_markdown` and `build_html`
render the same blocks, so the two files always link the same figures and audio in the same order.
Order follows the seed page: manipulation figures (LocCNN, SampleCNN), then per condition SampleCNN
before LocCNN, each with the best then the worst localized source. After the seed's sections come
those it lacks: localization MAE, TDoA, measured T60 and the configuration used.

Beyond the seed, the page says for every model x condition whether the model localizes (sslrp.report.verdict:
its test MAE against the mean-position baseline and SRP-PHAT), next to its best/worst sources and in the
localization section, so explanations of a network that has not learned to localize are never mistaken
for the paper's.

Audio is tagged type="audio/wav": the seed tags its relevance WAVs "audio/mpeg", a wrong MIME type.
Chromium sniffs the content and plays them anyway, but a browser may choose (or refuse) a source
by its declared type, so the page declares the true one.
"""

import html
import re
from dataclasses import dataclass
from pathlib import Path

from .. import io, names
from ..explain import conservation, manipulation
from ..localize import srp
from ..names import condition_label, model_label, pair_label
from . import card, components, inputs, verdict

TITLE = ("Interpreting end-to-end deep learning models for speech source localization using "
         "layer-wise relevance propagation")
MANIPULATION_ORDER = names.MODELS  # the seed's order of the manipulation figures
INSPECTION_ORDER = names.MODELS[::-1]  # the seed's order within each condition: SampleCNN first
INTRO = ("In the following, for each environmental condition considered we will report feature results "
         "related to the best and worst performing sources for both LocCNN and SampleCNN")


@dataclass(frozen=True)
class PageSpec:
    """Everything the page shows besides the files it links.

    conditions: condition names ("SNR_25_T60_0.15", ...) in config order, one section each.
    models: model names from the config; the page orders the built-ins as the seed, then the others in config order.
    localization_table, tdoa_table: markdown pipe tables ("| a | b |\\n|---|---|\\n| 1 | 2 |").
    t60_rows: (condition name, target T60 [s], measured T60 [s]) per condition.
    config_yaml: the configuration the results were made with, as YAML text.
    summaries: evaluation summaries (evaluate.py's summary.json) of every model x condition, plus
        SRP-PHAT's per condition (model `srp.NAME`, srp_baseline.py) where it was run.
    sanity_table: the sanity checks' summary table (markdown; tables.sanity_rows), or "" (no such section).
    sanity_results: sanity.py results of every model x condition (randomization cascade, conservation).
    max_similarity: the rank correlation above which the fully randomized model's relevance fails the check.
    replicate_summaries: per seed replicate after the first (training.replicates > 1), its evaluation summaries
        like `summaries`; the tables then give means over the replicates, while `summaries` (replicate 0's) give
        the verdicts and the per-source figures are replicate 0's.
    manipulation_results: replicate 0's manipulation.py curves (every model x condition), or () (no sentences).
    tdoa_results: replicate 0's tdoa.py results (one per condition), or () (no sentences).
    title: the page title (default: the paper's).
    recordings: per recorded condition (README "Your own array and recordings"), a dict: name, manifest,
        n_recordings, rates (the files' sample rates, Hz), fs (the workflow's), models_from (or None). Its
        section and tables name it by its name; the configuration section says where it came from.
    explanation_results: per seed replicate (replicate 0's first) its report cards (explanations.py, every model x
        condition), or () (no report-card and components sections).
    explanations_table, components_table: the report card's and the components' tables (markdown).
    early_ms: where the early reflections end (components.early_ms), for the components section's words.
    input_results: the input check's reports (sslrp.explain.input_check, every model x condition), or () (no such
        section).
    """

    conditions: list
    models: list
    localization_table: str
    tdoa_table: str
    t60_rows: list
    config_yaml: str
    summaries: list
    sanity_table: str = ""
    sanity_results: tuple = ()
    max_similarity: float = 0.5
    replicate_summaries: tuple = ()
    manipulation_results: tuple = ()
    tdoa_results: tuple = ()
    title: str = TITLE
    recordings: tuple = ()
    explanation_results: tuple = ()
    explanations_table: str = ""
    components_table: str = ""
    early_ms: float = 50.0
    input_results: tuple = ()

    def __post_init__(self):
        have = {(s["model"], s["condition"]) for s in self.summaries}
        missing = [(m, c) for m in self.models for c in self.conditions if (m, c) not in have]
        if missing:
            raise ValueError(f"no evaluation summary for (model, condition) {missing}")

    def verdict(self, model, condition, replicate=0):
        """Whether `model` (of seed `replicate`) localizes in `condition` (sslrp.report.verdict), next to SRP-PHAT
        where it was run."""
        summaries = self.summaries if replicate == 0 else self.replicate_summaries[replicate - 1]
        by_key = {(s["model"], s["condition"]): s for s in summaries}
        return verdict.judge(by_key[model, condition], by_key.get((srp.NAME, condition)))


# Blocks: (kind, *payload). Kinds: heading (level, text, bullet), text (text), list (items), image (src),
# audio (caption, src), table (markdown), code (language, text).

def page_blocks(spec):
    """The page as an ordered list of blocks (see the comment above for the kinds)."""
    blocks = [("heading", 2, "Manipulation of relevant input features", False)]
    for model in _ordered(spec.models, MANIPULATION_ORDER):
        blocks += [("heading", 3, model_label(model), True),
                   ("image", names.manipulation_figure(model))]
    blocks += _manipulation_blocks(spec)
    blocks += [("heading", 2, "Feature Inspection", False), ("text", INTRO), ("text", verdict_tally(spec))]
    if spec.replicate_summaries:
        blocks.append(("text", replicate_note(spec)))
    for condition in spec.conditions:
        blocks += _condition_blocks(spec, condition)
    return blocks + _card_blocks(spec) + _table_blocks(spec)


def _card_blocks(spec):
    """The sections after the paper's: the explanation report card (which method to trust) and the sound
    components (what the networks listen to), each with its figures, sentences and table."""
    if not spec.explanation_results:
        return []
    models = _ordered(spec.models, MANIPULATION_ORDER)
    blocks = [("heading", 2, "Which explanation to trust: the report card", False),
              *card.page_blocks(spec.explanation_results, models)]
    blocks += [("image", names.explanations_figure(m)) for m in models]
    blocks += [("table", spec.explanations_table)]
    recorded = [r["name"] for r in spec.recordings]
    simulated = [c for c in spec.conditions if c not in recorded]
    blocks.append(("heading", 2, "What the networks listen to: direct sound, reflections, noise", False))
    blocks += components.page_blocks(spec.explanation_results[0], models, simulated, spec.early_ms, recorded)
    if simulated:
        blocks += [("image", names.components_figure(m)) for m in models] + [("table", spec.components_table)]
    return blocks


def _ordered(models, order):
    """`models` in the seed's `order` (the built-ins), then the others (models of your own) in their order."""
    return [m for m in order if m in models] + [m for m in models if m not in order]


def verdict_tally(spec):
    """How many model x condition pairs localize, partly or not, in the unseen test square and between their
    training positions: a warning before the explanations."""
    verdicts = [spec.verdict(m, c) for m in spec.models for c in spec.conditions]
    tally = _tally([v.status for v in verdicts])
    scored = [v.val.status for v in verdicts if v.val is not None]
    between = f"; between their training positions (validation), {_tally(scored)}" if scored else ""
    return (f"Of the {len(verdicts)} trained models (model x condition), in the unseen test square {tally}"
            f"{between}: {verdict.criterion()}. Each model's verdict stands under its name below; explanations of "
            "a model that does not localize show what an untrained network attends to, not what the paper's "
            "models learned.")


def _tally(statuses):
    return ", ".join(f"{n} {status if n == 1 else plural}" for status, plural in verdict.PLURAL.items()
                     for n in [statuses.count(status)])


SIGNED_LERF = ("Least relevant first by signed value is no test of the ranking: on a raw waveform the relevance "
               "changes sign with the signal, and for a regression output the most negative contributions, which "
               "signed LeRF removes first, move the prediction as much as the most positive ones. Ranked by "
               "magnitude |relevance|, LeRF removes the samples the relevance calls unimportant, so its symmetric "
               "relevance gain (SRG = AOPC MoRF - AOPC LeRF) tests the ranking at both ends.")


def manipulation_finding(label, curves):
    """What the manipulation test found for one model, pooled over its conditions' `curves` (manipulation.py
    results), in sentences from the numbers: the paper's test (signed relevance, most relevant first) against
    random removal, then the magnitude ranking's SRG next to the signed one."""
    pool = manipulation.pooled(curves)
    percents = pool["percents"]
    aopc = {o: manipulation.aopc(percents, v) for o, v in pool["mae"].items()}
    text = f"{label}, all conditions pooled:"
    if "relevance" in aopc and "random" in aopc:
        beats = "more than" if aopc["relevance"] > aopc["random"] else "no more than"
        text += (f" removing the most relevant samples first (signed relevance, the paper's test) changes the MAE by "
                 f"{aopc['relevance']:+.3f} m on average over P > 0, {beats} random removal ({aopc['random']:+.3f} m)")
        if "energy" in aopc:
            louder = "more than" if aopc["relevance"] > aopc["energy"] else "no more than"
            text += (f" and {louder} removing the loudest samples first (energy, which knows nothing of the network: "
                     f"{aopc['energy']:+.3f} m)")
        text += "."
    morf, lerf = pool.get("mae_magnitude", {}).get("relevance"), pool.get("lerf_magnitude", {}).get("relevance")
    if morf is None or lerf is None:
        return text
    morf_aopc, lerf_aopc = manipulation.aopc(percents, morf), manipulation.aopc(percents, lerf)
    gain = morf_aopc - lerf_aopc  # manipulation.srg, from the two areas already computed
    by_condition = [manipulation.srg(c["percents"], c["mae_magnitude"]["relevance"], c["lerf_magnitude"]["relevance"])
                    for c in curves]
    ranks = ("ranks the samples the model relies on above those it ignores" if gain > 0 else
             "does not separate the samples the model relies on from those it ignores")
    text += (f" Ranked by |relevance|, removing the most relevant first changes it by "
             f"{morf_aopc:+.3f} m and the least relevant first by {lerf_aopc:+.3f} m: SRG {gain:+.3f} m, positive in "
             f"{sum(g > 0 for g in by_condition)} of {len(by_condition)} conditions, so the relevance {ranks}")
    if "random" in aopc:
        lower = "less" if lerf_aopc < aopc["random"] else "no less"
        text += f"; removing the least relevant first hurts {lower} than random removal"
    text += energy_comparison(pool, curves, gain)
    signed = pool.get("lerf", {}).get("relevance")
    if signed is not None and "relevance" in pool["mae"]:
        text += f". Ranked by signed value, SRG is {manipulation.srg(percents, pool['mae']['relevance'], signed):+.3f}"
        text += " m"
    return text + "."


def energy_comparison(pool, curves, gain):
    """The |relevance| ranking's SRG against energy's (loudest samples first: the model-free ordering that could
    explain a positive SRG), pooled and per condition, or "" where energy has no LeRF curve."""
    energy = pool.get("lerf", {}).get("energy")
    if energy is None or "energy" not in pool["mae"]:
        return ""
    energy_gain = manipulation.srg(pool["percents"], pool["mae"]["energy"], energy)
    per = [(c["condition"], manipulation.srg(c["percents"], c["mae_magnitude"]["relevance"],
                                             c["lerf_magnitude"]["relevance"]),
            manipulation.srg(c["percents"], c["mae"]["energy"], c["lerf"]["energy"])) for c in curves]
    wins = sum(g > e for _, g, e in per)
    verdict_words = ("more faithful than energy" if gain > energy_gain else
                     "no more faithful than energy, which knows nothing of the network")
    detail = "; ".join(f"{condition_label(cond)}: {g:+.3f} vs {e:+.3f} m" for cond, g, e in per)
    return (f". Against energy (the loudest samples first, SRG {energy_gain:+.3f} m pooled) the |relevance| ranking is "
            f"{verdict_words}, pooled, and beats it in {wins} of {len(per)} conditions ({detail})")


def _manipulation_blocks(spec):
    """Sentences from the manipulation curves, one per model, and why signed LeRF tests nothing."""
    if not spec.manipulation_results:
        return []
    by_model = {}
    for c in spec.manipulation_results:
        by_model.setdefault(c["model"], []).append(c)
    findings = [manipulation_finding(model_label(m), by_model[m])
                for m in _ordered(spec.models, MANIPULATION_ORDER) if m in by_model]
    has_lerf = any("lerf" in c for c in spec.manipulation_results)
    return [("list", findings)] + ([("text", SIGNED_LERF)] if has_lerf else [])


def replicate_note(spec):
    """With several seed replicates: what the page shows of which replicate, and whether replicate 0's verdicts
    (the ones written on the page) hold for the models trained from the other seeds."""
    n = 1 + len(spec.replicate_summaries)
    pairs = [(m, c) for m in _ordered(spec.models, MANIPULATION_ORDER) for c in spec.conditions]
    differing = []
    for m, c in pairs:
        statuses = [spec.verdict(m, c, r).status for r in range(n)]
        if len(set(statuses)) > 1:
            tally = ", ".join(f"{s} in {statuses.count(s)}" for s in dict.fromkeys(statuses))
            differing.append(f"{model_label(m)} ({condition_label(c)}): {tally}")
    agreement = (f"Replicate 0's verdict holds for every replicate in all {len(pairs)} model x condition pairs."
                 if not differing else
                 f"Replicate 0's verdict holds for every replicate in {len(pairs) - len(differing)} of {len(pairs)} "
                 f"model x condition pairs; it differs between seeds for {'; '.join(differing)}.")
    return (f"Every model was trained from {n} seeds (training.replicates). The tables give the mean over the "
            f"{n} replicates with a 95 % confidence interval (mean ± half-width); the manipulation and "
            "randomization figures draw the mean with the replicates' range shaded. The verdicts, the sentences "
            f"and the best and worst sources are replicate 0's. {agreement}")


def _condition_blocks(spec, condition):
    """One condition: per model its verdict, then the best and worst source, each a figure and two audio
    files."""
    blocks = [("heading", 2, condition_label(condition, sep=" "), False)]
    for model in _ordered(spec.models, INSPECTION_ORDER):
        name = model_label(model)
        blocks += [("heading", 4, name, False), ("text", verdict.sentence(name, spec.verdict(model, condition)))]
        for extreme in names.EXTREMES:
            blocks += [
                ("heading", 4, f"{names.EXTREME_LABELS[extreme].capitalize()} performing", True),
                ("image", names.source_figure(model, condition, extreme)),
                ("audio", "Microphone audio signal", names.source_audio("microphone", model, condition, extreme)),
                ("audio", "Relevance audio signal", names.source_audio("relevance", model, condition, extreme)),
            ]
    return blocks


def _table_blocks(spec):
    """The sections the seed lacks: result tables, measured reverberation and the configuration."""
    t60 = ["| Condition | Target T60 [s] | Measured T60 [s] |", "|---|---|---|"]
    recorded = {r["name"] for r in spec.recordings}
    t60 += [f"| {condition_label(c)} | {target:g} | {measured:.3f} |"
            for c, target, measured in spec.t60_rows if c not in recorded]
    and_srp = " and SRP-PHAT" if any(s["model"] == srp.NAME for s in spec.summaries) else ""
    verdicts = [f"{condition_label(c)}: {verdict.sentence(model_label(m), spec.verdict(m, c))}"
                for c in spec.conditions for m in _ordered(spec.models, MANIPULATION_ORDER)]
    return [
        ("heading", 2, "Localization error", False),
        ("text", f"Test MAE against the mean training position{and_srp}, and the same on the validation sources "
                 f"(val: between the training positions); {verdict.criterion()}."),
        ("list", verdicts), ("table", spec.localization_table),
        ("heading", 2, "Time difference of arrival (TDoA)", False), *_tdoa_blocks(spec), ("table", spec.tdoa_table),
        *_sanity_blocks(spec),
        *inputs.page_blocks(spec.input_results, _ordered(spec.models, MANIPULATION_ORDER), spec.conditions),
        ("heading", 2, "Measured reverberation time", False), ("table", "\n".join(t60)),
        ("heading", 2, "Configuration", False), *[("text", recording_note(r)) for r in spec.recordings],
        ("code", "yaml", spec.config_yaml),
    ]


TDOA_INTRO = ("GCC-PHAT on a microphone pair, computed on the microphone signals and on each model's relevance, next "
              "to a constant estimator that always answers the training sources' mean delay, which uses no signal. "
              "An anomaly is an error above half the source's correlation time; r is the correlation of an "
              "estimate with the true delay.")


def tdoa_finding(result, models):
    """One sentence per mic pair of one condition's tdoa.py `result`: each estimator's anomalies and correlation,
    and whether each model's relevance does better than the constant guess (and why a pair cannot tell)."""
    out = []
    for entry in result["pairs"]:
        signals = entry["signals"]
        constant = signals["constant"]["anomaly_percent"]

        def said(name):
            s = signals[name]
            r = s.get("correlation")
            r = "" if name == "constant" else " (r –)" if r is None else f" (r {r:.2f})"
            what = {"microphone": "microphones", "constant": "constant"}.get(
                name, f"{model_label(name)} relevance")
            return f"{what} {s['anomaly_percent']:.1f} %{r}"

        text = (f"{condition_label(result['condition'])}, mics {pair_label(entry['pair'])} (true delays within "
                f"±{entry['largest_true_delay']:.1f} samples): anomalies of "
                + ", ".join(said(n) for n in ("microphone", *models, "constant") if n in signals) + ".")
        verdicts = [f"{model_label(m)}'s relevance "
                    + ("beats the constant" if signals[m]["anomaly_percent"] < constant else
                       "does no better than the constant") for m in models if m in signals]
        if verdicts:
            text += " " + "; ".join(verdicts) + "."
        if constant == 0:
            text += (" On this pair every true delay lies within the anomaly threshold of the constant guess, so the "
                     "anomaly count cannot tell an estimate that follows the delay from one that does not; r can.")
        out.append(text)
    return out


def tdoa_tally(results, model):
    """The paper's TDoA finding for one model next to its baseline, counted over `results` (tdoa.py): on the
    paper's pair (the first), in how many conditions its relevance has fewer anomalies than the microphones; on
    every pair, in how many cases fewer than the constant guess; and the range of its correlation with the true
    delay beside the microphones'."""
    paper = [r["pairs"][0]["signals"] for r in results]
    cases = [e["signals"] for r in results for e in r["pairs"]]
    fewer_than_mics = sum(s[model]["anomaly_percent"] < s["microphone"]["anomaly_percent"] for s in paper)
    fewer_than_constant = sum(s[model]["anomaly_percent"] < s["constant"]["anomaly_percent"] for s in cases)

    def span(name):
        rs = [s[name]["correlation"] for s in cases if s[name]["correlation"] is not None]
        return f"{min(rs):.2f} to {max(rs):.2f}" if rs else "undefined (constant estimates)"

    first = pair_label(results[0]["pairs"][0]["pair"])
    return (f"{model_label(model)}: its relevance gives fewer anomalies than the microphones on the "
            f"paper's pair ({first}) in {fewer_than_mics} of {len(paper)} conditions (the paper's finding), but fewer "
            f"than the constant guess in {fewer_than_constant} of {len(cases)} condition x pair cases; its estimates "
            f"correlate {span(model)} with the true delay (microphones {span('microphone')}).")


def _tdoa_blocks(spec):
    """The TDoA section's sentences, from replicate 0's results; nothing without them."""
    if not spec.tdoa_results:
        return []
    models = [m for m in _ordered(spec.models, MANIPULATION_ORDER) if m in spec.tdoa_results[0]["pairs"][0]["signals"]]
    return [("text", TDOA_INTRO), ("list", [tdoa_tally(spec.tdoa_results, m) for m in models]),
            ("list", [t for r in spec.tdoa_results for t in tdoa_finding(r, models)])]


def recording_note(recorded):
    """One sentence on a recorded condition: its manifest, its files' sample rates and the resampling, and whose
    models explain it."""
    rates = ", ".join(f"{r:g}" for r in recorded["rates"])
    fs = recorded["fs"]
    how = (f"resampled to {fs:g} Hz with scipy.signal.resample_poly" if set(recorded["rates"]) - {fs}
           else "used as recorded (no resampling)")
    models = (f"explained with the models trained on {recorded['models_from']}" if recorded.get("models_from")
              else "its models trained on its own train split")
    return (f"Recorded condition {recorded['name']}: {recorded['n_recordings']} recordings listed in "
            f"{recorded['manifest']}, recorded at {rates} Hz and {how}; {models}. Its T60 and SNR are not known "
            "(no row in the reverberation table).")


SANITY_INTRO = ("Two checks of whether the explanations above say something about the trained networks. "
                "Cascading model-parameter randomization (Adebayo et al. 2018): the layers of each model are "
                "re-initialized from the output towards the input, and the relevance of a fixed subset of test "
                "windows is compared with the trained model's. An explanation that reflects what the network "
                "learned must change; a TDoA finding that also holds for a randomized network is not a property "
                "of the trained model. Conservation: how much of the output the input relevance accounts for.")


def randomization_finding(result, max_similarity):
    """One sentence, from the numbers, on what the check found for one model x condition.

    `result` is a sanity.py result (the rows of explain.randomization.check, microphone_tdoa). The relevance passes
    the similarity check when the fully randomized model's relevance rank-correlates at most `max_similarity`
    with the trained model's; the TDoA finding depends on the trained weights only when GCC-PHAT on the
    fully randomized model's relevance has more anomalies than on the trained model's.
    """
    trained, randomized_all = result["randomization"][0], result["randomization"][-1]
    rho = randomized_all["spearman"]
    similarity = (f"with every layer re-initialized, the relevance still rank-correlates {rho:.2f} with the "
                  f"trained model's, above {max_similarity:g}: it reflects the input more than what the "
                  f"network learned" if rho > max_similarity else
                  f"with every layer re-initialized, the rank correlation with the trained model's relevance "
                  f"falls to {rho:.2f} (at most {max_similarity:g}): the relevance depends on the learned weights")
    a_trained, a_random = trained["tdoa_anomaly_percent"], randomized_all["tdoa_anomaly_percent"]
    a_mic = result["microphone_tdoa"]["anomaly_percent"]
    depends = "does not depend" if a_random <= a_trained else "depends"
    tdoa = (f"GCC-PHAT finds {a_random:.1f} % TDoA anomalies on the randomized model's relevance, "
            f"{a_trained:.1f} % on the trained model's and {a_mic:.1f} % on the microphone signals, so the "
            f"relevance's TDoA result {depends} on what the network learned")
    return f"{similarity}; {tdoa}."


def _sanity_blocks(spec):
    """The sanity checks' section: what each check found (sentences from the numbers), the randomization
    figures and the summary table; nothing when the page was built without them."""
    if not spec.sanity_results:
        return []
    by_key = {(r["model"], r["condition"]): r for r in spec.sanity_results}
    findings = [f"{model_label(m)}, {condition_label(c)}: "
                f"{randomization_finding(by_key[m, c], spec.max_similarity)}"
                for m in _ordered(spec.models, MANIPULATION_ORDER) for c in spec.conditions]
    medians = [r["conservation"]["median"] for r in spec.sanity_results]
    blocks = [("heading", 2, "Sanity checks of the explanations", False), ("text", SANITY_INTRO),
              ("list", findings)]
    for model in _ordered(spec.models, MANIPULATION_ORDER):
        blocks += [("heading", 3, model_label(model), True), ("image", names.randomization_figure(model))]
    return blocks + [("table", spec.sanity_table), ("text", conservation.sentence(medians))]


def build_markdown(spec):
    """index.md: a front-matter title block, then the blocks as markdown."""
    parts = [f"---\ntitle: {spec.title}\n---"] + [_markdown_block(b) for b in page_blocks(spec)]
    return "\n\n".join(parts) + "\n"


def _markdown_block(block):
    """One block as markdown (audio as the seed's inline HTML element)."""
    kind, *payload = block
    if kind == "heading":
        level, text, bullet = payload
        return ("* " if bullet else "") + "#" * level + " " + text
    if kind == "image":
        return f"![Image]({payload[0]})"
    if kind == "audio":
        caption, src = payload
        return f"{caption}\n{_audio_html(src)}"
    if kind == "list":
        return "\n".join(f"- {item}" for item in payload[0])
    if kind == "code":
        language, text = payload
        return f"```{language}\n{text.rstrip()}\n```"
    return payload[0].strip()  # text, table


def _audio_html(src):
    """An audio player for a WAV file (correct MIME type; metadata preloaded so duration shows)."""
    return (f'<audio controls preload="metadata">\n<source src="{html.escape(src)}" type="audio/wav">\n'
            "Your browser does not support the audio element.\n</audio>")


STYLE = """body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
img { max-width: 100%; }
table { border-collapse: collapse; } th, td { border: 1px solid #999; padding: 0.2em 0.6em; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; }"""


def build_html(spec):
    """index.html: a standalone page (inline style, no scripts, relative links) readable offline."""
    body = "\n".join(_html_block(b) for b in page_blocks(spec))
    title = html.escape(spec.title)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n")


def _html_block(block):
    """One block as HTML."""
    kind, *payload = block
    if kind == "heading":
        level, text, _bullet = payload
        return f"<h{level}>{html.escape(text)}</h{level}>"
    if kind == "image":
        src = payload[0]
        return f'<p><img src="{html.escape(src)}" alt="{html.escape(Path(src).stem)}"></p>'
    if kind == "audio":
        caption, src = payload
        return f"<p>{html.escape(caption)}</p>\n{_audio_html(src)}"
    if kind == "table":
        return markdown_table_to_html(payload[0])
    if kind == "list":
        return "<ul>\n" + "\n".join(f"<li>{html.escape(item)}</li>" for item in payload[0]) + "\n</ul>"
    if kind == "code":
        language, text = payload
        return f'<pre><code class="language-{language}">{html.escape(text.rstrip())}</code></pre>'
    return f"<p>{html.escape(payload[0].strip())}</p>"


def markdown_table_to_html(text):
    """Convert a markdown pipe table (header row, separator row, body rows) to an HTML table."""
    rows = [_cells(line) for line in text.strip().splitlines() if line.strip()]
    if len(rows) < 2 or not all(re.fullmatch(r":?-+:?", c) for c in rows[1]):
        raise ValueError(f"not a markdown table (header + separator rows expected):\n{text}")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                     for row in rows[2:])
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _cells(line):
    """The cells of one pipe-table row, outer pipes optional."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


LINK_RE = re.compile(r'!\[[^\]]*\]\(([^)\s]+)\)|\bsrc="([^"]+)"')


def linked_files(text):
    """Relative paths of the images and audio a markdown or HTML page references, in page order."""
    return [html.unescape(m.group(1) or m.group(2)) for m in LINK_RE.finditer(text)]


def write_page(out_dir, spec):
    """Write index.md and index.html into `out_dir` atomically; return their paths.

    Refuses (FileNotFoundError) when the page would link a file missing under `out_dir`, so a broken
    page never replaces a good one.
    """
    out_dir = Path(out_dir)
    markdown, page = build_markdown(spec), build_html(spec)
    missing = [p for p in linked_files(markdown) if not (out_dir / p).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} linked files missing under {out_dir}: {missing[:5]}")
    paths = out_dir / "index.md", out_dir / "index.html"
    for path, text in zip(paths, (markdown, page)):
        io.write_text(path, text)
    return paths
