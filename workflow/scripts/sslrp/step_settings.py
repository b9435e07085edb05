"""What each step is given from the validated config: one function per step script, returning the keyword
arguments of its `run()` besides its files, threads and log.

Both ways of running a step call the same function: the rule's `params: settings=...` (workflow/rules/) and the
script's command line (`cli()`), so the two cannot drift apart. Each function hands a job only what it uses
(one condition's settings, one model's training settings), so that editing one condition or model re-runs only
its jobs. Light imports only: the Snakemake process loads this module before any job runs.
"""

from . import config as configuration
from . import names, seeding
from .data import recordings
from .localize import srp
from .report import tables


def condition(config, cond):
    """The settings of the condition called `cond`, with a clear error (naming the known ones) if there is none."""
    conditions = configuration.conditions(config)
    if cond not in conditions:
        raise configuration.ConfigError(f"--cond: unknown condition {cond!r}; known: {', '.join(conditions)}")
    return conditions[cond]


def corpus(config):
    return {"corpus_settings": config["corpus"], "fs": config["geometry"]["fs"], "seed": config["seed"],
            "window": config["signals"]["window"]}


def simulate_shard(config, cond, shard):
    return {"condition": condition(config, cond), "geometry_settings": config["geometry"],
            "signals": config["signals"], "shard": int(shard), "n_shards": config["simulation"]["shards"],
            "seed": config["seed"], "corpus_settings": config["corpus"]}


def gather_dataset(config, cond):
    return {"name": cond, "condition": condition(config, cond), "geometry_settings": config["geometry"],
            "signals": config["signals"], "corpus_settings": config["corpus"], "seed": config["seed"]}


def gather_recordings(config, cond):
    return {"name": cond, "manifest": condition(config, cond)["recordings"], "geometry_settings": config["geometry"],
            "signals": config["signals"], "seed": config["seed"]}


def recording_files(config, cond):
    """The manifest of a recorded condition and the files it lists: the gather step's inputs."""
    manifest = condition(config, cond)["recordings"]
    geo = config["geometry"]
    rows = recordings.read_manifest(manifest, geo["array"]["n_mics"], geo["room"], geo["fs"],
                                    config["signals"]["window"])
    return [manifest, *(str(row.file) for row in rows)]


def components(config, cond):
    """The components step's settings (a simulated condition only: recordings have no components): the condition,
    geometry and signals it was simulated with, the seed (replicate 0's: the data's), the size of the test-window
    subset (explanations.windows, seeding.subset) and the early reflections' limit (components.early_ms)."""
    settings = condition(config, cond)
    if names.is_recorded(settings):
        raise configuration.ConfigError(f"--cond: {cond!r} is a recorded condition; only a simulation has sound "
                                        "components (direct, early, late, noise)")
    return {"condition": settings, "geometry_settings": config["geometry"], "signals": config["signals"],
            "seed": config["seed"], "n_windows": config["explanations"]["windows"],
            "early_ms": config["components"]["early_ms"]}


def models_condition(config, cond):
    """The condition whose trained models `cond`'s steps use: its `models_from` (a recorded condition explained
    with another condition's models), else `cond` itself."""
    return condition(config, cond).get("models_from") or cond


def model_entry(config, model):
    """The `models:` entry called `model` (a built-in's name, or a user model's mapping), with a clear error."""
    entries = {names.model_name(entry): entry for entry in config["models"]}
    if model not in entries:
        raise configuration.ConfigError(f"--model: unknown model {model!r}; known: {', '.join(entries)}")
    return entries[model]


def _model(config, model):
    """What every step on a trained model needs to rebuild it: its `models:` entry, the window and the array; and
    the torch device it runs on, `training.device`, for every torch step alike (train, evaluate, relevance,
    manipulation, sanity; the check of a model of your own takes it and runs its one batch on the CPU)."""
    return {"model": model_entry(config, model), "window": config["signals"]["window"],
            "n_mics": config["geometry"]["array"]["n_mics"], "device": config["training"]["device"]}


def replicates(config):
    """The seed replicates' numbers (training.replicates): 0 is the workflow's usual results, the others lie under
    results/replicates/<r>/ (sslrp.names.replicate_prefix)."""
    return range(config["training"]["replicates"])


def replicate_seed(config, replicate):
    """The seed of everything random in one replicate's jobs (training, the random ordering, the sanity subset):
    the config's seed for replicate 0, one derived from it for the others (sslrp.seeding.replicate_seed)."""
    return seeding.replicate_seed(config["seed"], replicate)


def check_model(config, model):
    """The check step's settings: the model's entry, the window and the array, and the seed of its test batch."""
    index = configuration.model_names(config).index(model)
    return {**_model(config, model), "seed": config["seed"], "gate": config["explain"]["gate"], "index": index}


def check_inputs(config, model):
    """The files a user model's check reads (its class file and its canonizer hook's file, where they are files),
    so that editing them re-runs the check and what depends on it."""
    entry = model_entry(config, model)
    if isinstance(entry, str):
        return []
    references = [entry["class_path"], entry.get("canonizers") or ""]
    return [ref.rpartition(":")[0] for ref in references if ":" in ref]


def train(config, model, cond, replicate=0):
    return {**_model(config, model), "settings": config["training"][model], "seed": replicate_seed(config, replicate)}


def pretrained_checkpoint(config, model, cond):
    """The user's checkpoint for (model, cond) from `pretrained:`, or None (train it)."""
    return config["pretrained"].get(model, {}).get(cond)


def warm_start_source(config, cond):
    """The condition whose checkpoint (same model) `training.warm_start` starts `cond`'s models from, or None
    (train from seeded random weights)."""
    return config["training"]["warm_start"].get(cond)


def evaluate(config, model, cond):
    return {**_model(config, model), "cond": cond}


def srp_baseline(config, cond):
    return {"cond": cond, "geometry": config["geometry"], "settings": config["srp"]}


def relevance(config, model):
    explain = config["explain"]
    return {**_model(config, model), "target": explain["target"], "gate": explain["gate"],
            "batch_size": explain["batch_size"]}


def select_sources(config):
    """None: the choice depends on the evaluation only (so the command line reads no config)."""
    return {}


def manipulation(config, model, cond, replicate=0):
    m = config["manipulation"]
    return {**_model(config, model), "cond": cond, "percents": m["percents"], "orderings": m["orderings"],
            "batch_size": config["explain"]["batch_size"], "seed": replicate_seed(config, replicate),
            "gate": config["explain"]["gate"],
            "attribution_settings": m["attribution"], "imputation": m["imputation"],
            "magnitude": m["magnitude_orderings"]}


def sanity(config, model, cond, replicate=0):
    t = config["tdoa"]
    return {**_model(config, model), "cond": cond, "gate": config["explain"]["gate"],
            "batch_size": config["explain"]["batch_size"], "n_windows": config["sanity"]["windows"],
            "seed": replicate_seed(config, replicate), "pair": t["pairs"][0], "max_lag": t["max_lag"],
            "sound_speed": config["geometry"]["sound_speed"]}


def explanations(config, model, cond, replicate=0):
    """The report card's settings: its methods and windows (`explanations`), the manipulation test's percents and
    imputation, the TDoA pairs, SRP-PHAT's settings for the components' causal test; the windows are drawn from the
    config's seed in every replicate (the same windows as the sound components), the model-dependent draws (random
    ordering, randomization, SmoothGrad's noise) from the replicate's."""
    m, t = config["manipulation"], config["tdoa"]
    return {**_model(config, model), "cond": cond, "methods": config["explanations"]["methods"],
            "n_windows": config["explanations"]["windows"], "subset_seed": config["seed"],
            "seed": replicate_seed(config, replicate), "percents": m["percents"], "imputation": m["imputation"],
            "batch_size": config["explain"]["batch_size"], "gate": config["explain"]["gate"],
            "attribution_settings": m["attribution"], "pairs": t["pairs"], "max_lag": t["max_lag"],
            "sound_speed": config["geometry"]["sound_speed"], "srp_settings": config["srp"],
            "geometry_settings": config["geometry"], "max_similarity": config["sanity"]["max_similarity"]}


def components_file(config, cond):
    """The sound components of a simulated condition's card windows (sslrp.data.components); none for a recorded
    condition (or one explained with another condition's models: its data are its own)."""
    return [] if names.is_recorded(condition(config, cond)) else f"results/components/{cond}.h5"


def input_check(config, model, cond):
    """The input check's settings: the model (its entry, window, array, device), the condition, the size of its
    seeded subset of test windows, the variance tolerance and the seed that draws the subset."""
    check = config["input_check"]
    return {**_model(config, model), "cond": cond, "n_windows": check["windows"], "tolerance": check["tolerance"],
            "seed": config["seed"]}


def input_check_checkpoint(config, model, cond, results="results"):
    """The checkpoint the input check of (model, cond) reads: the model trained (or given in `pretrained:`) for
    the condition, or for its `models_from` (a recorded condition explained with a simulation's models)."""
    return f"{results}/models/{model}/{models_condition(config, cond)}.pth"


def input_check_results(config):
    """Every model x condition's input check report (sslrp.names.input_check): the inputs table and page read
    them."""
    conditions = configuration.conditions(config)
    return [names.input_check(m, c) for m in configuration.model_names(config) for c in conditions]


def input_table(config):
    """The inputs table's settings: replicate 0's reports only (a check of one checkpoint has no replicates), so
    one share whatever training.replicates says."""
    from .report import inputs  # light: the table's row function and digits

    return {"kind": names.INPUT_TABLE, "digits": inputs.DIGITS, "replicates": 1}


def tdoa(config, cond):
    return {"cond": cond, "model_names": configuration.model_names(config), "pairs": config["tdoa"]["pairs"],
            "max_lag": config["tdoa"]["max_lag"], "sound_speed": config["geometry"]["sound_speed"]}


def table(config, kind):
    return {"kind": kind, "digits": tables.DIGITS[kind], "replicates": config["training"]["replicates"]}


def manipulation_figure(config, model):
    return {"model_name": model, "orderings": config["manipulation"]["figure_orderings"],
            "replicates": config["training"]["replicates"]}


def randomization_figure(config, model):
    return {"model_name": model, "replicates": config["training"]["replicates"]}


def card_figure(config, model, kind):
    return {"model_name": model, "kind": kind}


def render_source(config, model, cond, extreme):
    return {"model_name": model, "cond": cond, "extreme": extreme, "pair": config["tdoa"]["pairs"][0]}


def page(config):
    return {"conditions": list(configuration.conditions(config)), "models": configuration.model_names(config),
            "config": config,
            "replicates": config["training"]["replicates"]}


def _folder(results, replicate, step):
    """Where `step`'s results of `replicate` lie: results/<step> for replicate 0, results/replicates/<r>/<step>."""
    return f"{results}/{names.replicate_prefix(replicate)}{step}"


def summaries(config, results="results", replicate=0):
    """The evaluation summaries of one replicate that the localization table and the page read: every model x
    condition's, then SRP-PHAT's per condition when `srp.enabled` (it trains nothing, so every replicate reads
    the same SRP-PHAT summaries)."""
    conditions = configuration.conditions(config)
    folder = _folder(results, replicate, "evaluation")
    paths = [f"{folder}/{m}/{c}/summary.json" for m in configuration.model_names(config) for c in conditions]
    if config["srp"]["enabled"]:
        paths += [f"{results}/evaluation/{srp.NAME}/{c}/summary.json" for c in conditions]
    return paths


def _model_results(config, results, replicate, step, models):
    """`step`'s JSON result of one replicate's model x condition (`models`: default all)."""
    folder = _folder(results, replicate, step)
    return [f"{folder}/{m}/{c}.json" for m in models or configuration.model_names(config)
            for c in configuration.conditions(config)]


def sanity_results(config, results="results", replicate=0, models=None):
    """The sanity.py results of one replicate, which the sanity tables, the randomization figures and the page
    read."""
    return _model_results(config, results, replicate, "sanity", models)


def manipulation_results(config, results="results", replicate=0, models=None):
    """The manipulation.py curves of one replicate, which the manipulation tables and figures read."""
    return _model_results(config, results, replicate, "manipulation", models)


def explanation_results(config, results="results", replicate=0, models=None):
    """The report cards (explanations.py) of one replicate's model x condition, which the explanation and components
    tables, their figures and the page read."""
    return _model_results(config, results, replicate, "explanations", models)


def tdoa_results(config, results="results", replicate=0):
    """The tdoa.py results of one replicate, one per condition."""
    return [f"{_folder(results, replicate, 'tdoa')}/{c}.json" for c in configuration.conditions(config)]


def every_replicate(files, config, **kwargs):
    """`files(config, replicate=r, **kwargs)` of every replicate, replicate 0's first: what a table or figure over
    the replicates reads (it splits the list back into training.replicates equal parts)."""
    return [path for r in replicates(config) for path in files(config, replicate=r, **kwargs)]
