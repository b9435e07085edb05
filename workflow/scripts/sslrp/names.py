"""The workflow's shared vocabulary: model, ordering and extreme names, their labels, the condition name and the
results page's file names.

Each of these facts is written here once and imported by the rules (workflow/rules/common.smk), the step
scripts, the plots, the tables and the page, so that renaming or adding one cannot leave a copy behind.
`config/schema.yaml` repeats some of these lists (it is plain YAML); tests/test_names.py asserts they agree.
This module imports nothing heavy (no torch), because the Snakemake process loads it before any job runs.
"""

import re

# The two localization CNNs of the paper, in the paper's order, and their labels on figures, tables and the page.
MODELS = ("loc_cnn", "sample_cnn")
MODEL_LABELS = {"loc_cnn": "LocCNN", "sample_cnn": "SampleCNN"}
# Shortest window each model's pooling stack accepts: LocCNN pools by 7 * 5 * 5, SampleCNN by 3 ** 6. The config
# check reports it before any job runs; the models refuse shorter windows when they are built.
MIN_WINDOW = {"loc_cnn": 7 * 5 * 5, "sample_cnn": 3**6}
# A user model (config `models:` entry with `class_path`) is named like a Python identifier (it becomes file and
# folder names and a `training.<name>` key); its label is its name unless the entry gives `label`.
MODEL_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def model_name(entry):
    """The name of a `models:` entry: a built-in's name as written, a user model's `name`."""
    return entry if isinstance(entry, str) else entry["name"]


def model_label(model):
    """A model's label on figures, tables and the page: the built-ins' from MODEL_LABELS, else its name."""
    return MODEL_LABELS.get(model, model)


# LRP rules a `models:` entry's `lrp:` may choose for its first layer, convolutions and dense layers (sslrp.explain.lrp
# maps them to zennit's rules), and the defaults: the paper's WSquare / Gamma / Epsilon.
LRP_RULES = ("wsquare", "flat", "gamma", "epsilon", "zplus", "alpha2beta1")
LRP_DEFAULTS = {"first": "wsquare", "conv": "gamma", "linear": "epsilon"}


def model_check(model):
    """`results/checks/<model>.json`: the check step's report on a user model (sslrp.explain.model_check)."""
    return f"results/checks/{model}.json"


def input_check(model, cond):
    """`results/checks/<model>/<cond>_inputs.json`: the input check of a model on a condition's test windows
    (sslrp.explain.input_check)."""
    return f"results/checks/{model}/{cond}_inputs.json"


INPUT_TABLE = "inputs"  # results/tables/inputs.{md,csv}: one row per model x condition and batch norm

# Orderings of the input-manipulation test: the paper's three, then the attribution methods beyond the paper
# (maps from sslrp.explain.attribution); like "relevance", each of those removes the highest values first.
# "relevance" is the model's own LRP composite (the paper's for the built-ins); "lrp_<rule>" is the same composite
# with <rule> (of LRP_RULES) on the first layer instead, for the built-ins and models of your own alike.
PAPER_ORDERINGS = ("relevance", "energy", "random")
LRP_VARIANTS = tuple(f"lrp_{rule}" for rule in LRP_RULES)
ATTRIBUTIONS = ("gradient", "gradient_x_input", "smoothgrad", "integrated_gradients", "epsilon_plus_flat", "occlusion",
                *LRP_VARIANTS)
ORDERINGS = (*PAPER_ORDERINGS, *ATTRIBUTIONS)
# The orderings that need no model: they rank a window's samples by the signal alone (loudest first) or by chance.
# The report card gives them no randomization number (a model's weights cannot change them) and calls them baselines.
MODEL_FREE = ("energy", "random")
# The attribution maps that are magnitudes (sslrp.explain.attribution: the saliency |gradient| and SmoothGrad's
# |mean gradient|): they have no signed ranking apart from their magnitude ranking.
MAGNITUDE_MAPS = ("gradient", "smoothgrad")
METHOD_LABELS = {
    "relevance": "LRP (the model's composite)", "energy": "energy (loudest first)", "random": "random",
    "gradient": "gradient (saliency)", "gradient_x_input": "gradient × input", "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients", "epsilon_plus_flat": "LRP EpsilonPlusFlat",
    "occlusion": "occlusion", **{variant: f"LRP ({rule} first)" for variant, rule in zip(LRP_VARIANTS, LRP_RULES)},
}

# How an attribution map ranks the samples: by signed value (the paper's: highest first, so least relevant first
# means most negative first) or by magnitude |value| (what matters to a regression output whatever its sign). The
# attribution orderings can be ranked either way (manipulation.magnitude_orderings); energy ranks by |x| and random
# by chance, whatever the setting.
RANKINGS = ("signed", "magnitude")
RANKABLE = ("relevance", *ATTRIBUTIONS)  # the orderings that sort an attribution map


def method_label(method, model=None):
    """A method's label on the report card, its figures and the page; "relevance" names the composite it is for a
    built-in (the paper's: WSquare first)."""
    if method == "relevance" and model in MODELS:
        return "LRP (the paper's composite)"
    return METHOD_LABELS.get(method, method)


# What removed samples become in the manipulation test: the paper's zeros, each microphone's mean over the window,
# or Gaussian noise at each microphone's level in the window (sslrp.explain.manipulation.fill_values).
IMPUTATIONS = ("zeros", "mean", "noise")

# What a simulated microphone window is made of (sslrp.data.components): the direct-path sound (the order-0 image),
# the early reflections (images arriving within `components.early_ms` of the direct path), the late reverberation
# (every later image) and the sensor noise. They sum to the window.
COMPONENTS = ("direct", "early", "late", "noise")

# The best and the worst localized test source of a model x condition (smallest / largest mean error).
EXTREMES = ("min", "max")
EXTREME_LABELS = {"min": "best", "max": "worst"}

CONDITION_RE = re.compile(r"^SNR_(?P<snr>-?[0-9.]+)_T60_(?P<t60>[0-9.]+)$")  # what condition_name writes


def condition_name(condition):
    """`SNR_25_T60_0.15` for {"snr": 25, "t60": 0.15}: the seed page's naming, numbers in their shortest form; a
    recorded condition ({"name": "lab_a", "recordings": ...}) is called by its `name`."""
    if "name" in condition:
        return condition["name"]
    return f"SNR_{condition['snr']:g}_T60_{condition['t60']:g}"


def pair_label(pair):
    """A mic pair as the tables, the report card and the page write it: "7-8"."""
    return f"{pair[0]}-{pair[1]}"


def is_recorded(condition):
    """Whether a condition (its config entry or settings) is a set of recordings rather than a simulation."""
    return "recordings" in condition


def parse_condition(name):
    """The (snr, t60) of a condition name as written in it (strings, no float formatting): the inverse of
    `condition_name`."""
    match = CONDITION_RE.match(name)
    if match is None:
        raise ValueError(f"condition name {name!r} is not of the form SNR_<snr>_T60_<t60>")
    return match["snr"], match["t60"]


def condition_label(name, sep=", "):
    """Human-readable label of a condition name: "SNR_25_T60_0.15" -> "T60 0.15 s, SNR 25 dB".

    The numbers are copied as written in the name (no float formatting), so the label matches the
    seed page's headings ("T60 0.3 s SNR 20 dB" with sep=" "). A recorded condition's name ("lab_a") is its label.
    """
    if not CONDITION_RE.match(name):
        return name
    snr, t60 = parse_condition(name)
    return f"T60 {t60} s{sep}SNR {snr} dB"


# --- seed replicates (training.replicates) ---------------------------------------------------------------------
# Replicate 0 is the workflow's results as they always were (results/models/..., results/relevance/...); replicate
# r >= 1 mirrors them under results/replicates/<r>/. The rules' `{rep}` wildcard is that prefix, "" for replicate 0,
# so one rule serves every replicate and replicate 0's paths do not change with training.replicates.
REPLICATE_PREFIX_RE = r"(replicates/[1-9][0-9]*/)?"


def replicate_prefix(replicate):
    """The folder prefix of `replicate`'s results below results/: "" for 0, "replicates/2/" for 2."""
    replicate = int(replicate)
    if replicate < 0:
        raise ValueError(f"replicate {replicate}: replicates are numbered from 0")
    return "" if replicate == 0 else f"replicates/{replicate}/"


def parse_replicate(prefix):
    """The replicate number of a `{rep}` wildcard value: the inverse of `replicate_prefix`."""
    match = re.fullmatch(REPLICATE_PREFIX_RE, prefix)
    if match is None:
        raise ValueError(f"{prefix!r} is not a replicate prefix (\"\" or \"replicates/<r>/\")")
    return int(prefix.split("/")[1]) if prefix else 0


# --- the results page's file names (the seed page's), relative to results/page/ ------------------------------
# Called with wildcard patterns ("{model}", ...) they give the rules' output patterns.

def manipulation_figure(model):
    """`figures/manipulation__loc_cnn_.png`: one model's manipulation figure."""
    return f"figures/manipulation__{model}_.png"


def randomization_figure(model):
    """`figures/randomization_loc_cnn.png`: one model's cascading parameter randomization figure (sanity check)."""
    return f"figures/randomization_{model}.png"


def explanations_figure(model):
    """`figures/explanations_loc_cnn.png`: one model's explanation report card figure."""
    return f"figures/explanations_{model}.png"


def components_figure(model):
    """`figures/components_loc_cnn.png`: one model's sound components figure (shares and causal test)."""
    return f"figures/components_{model}.png"


def source_stem(model, cond, extreme):
    """`loc_cnn_SNR_25_T60_0.15_error_min`: what names the files of one selected source."""
    return f"{model}_{cond}_error_{extreme}"


def source_figure(model, cond, extreme):
    """`figures/ex_gcc_relevance_<stem>.png`: one selected source's signal / STFT / GCC-PHAT figure."""
    return f"figures/ex_gcc_relevance_{source_stem(model, cond, extreme)}.png"


AUDIO_KINDS = ("microphone", "relevance")


def source_audio(kind, model, cond, extreme):
    """`figures/audio_<kind>_<stem>.wav`: one selected source's microphone or relevance signal as audio."""
    if kind not in AUDIO_KINDS:
        raise ValueError(f"unknown audio kind {kind!r}; valid: {', '.join(AUDIO_KINDS)}")
    return f"figures/audio_{kind}_{source_stem(model, cond, extreme)}.wav"


def page_files(models, conditions, components=True):
    """Every figure and audio file the results page links, relative to results/page/, in no particular order
    (`components`: whether some condition is simulated, so that the sound components figures exist)."""
    files = [manipulation_figure(m) for m in models] + [randomization_figure(m) for m in models]
    files += [explanations_figure(m) for m in models] + ([components_figure(m) for m in models] if components else [])
    for model in models:
        for cond in conditions:
            for extreme in EXTREMES:
                files.append(source_figure(model, cond, extreme))
                files += [source_audio(kind, model, cond, extreme) for kind in AUDIO_KINDS]
    return files
