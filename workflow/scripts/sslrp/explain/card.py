"""The explanation report card of one model on one condition: which attribution method can a researcher trust?

Every method of `explanations.methods` (LRP composites, gradient-based methods, occlusion: sslrp.explain.attribution;
and the model-free baselines energy and random) is judged on one fixed, seeded subset of the condition's test windows
(sslrp.seeding.subset, shared with the sanity checks and the sound components) by three tests, each beside the
baseline that could explain its result:

- Faithfulness: the input-manipulation test of sslrp.explain.manipulation on these windows, with the manipulation
  step's percents, imputation and batches, so that on the same windows the card's LRP numbers are the manipulation
  tables'. MoRF and LeRF curves, AOPC and the symmetric relevance gain (SRG); an attribution map is ranked by
  magnitude (the SRG that tests a ranking) and by signed value. Baselines: energy (loudest samples first, no model)
  and random. Random has no least relevant end, so its "LeRF" curve is a second, independent random ordering: its
  SRG is the noise floor of the test on these windows (0 in expectation).
- Randomization (Adebayo et al. 2018): the rank correlation of the map of the model with every layer re-initialized
  (the last step of sslrp.explain.randomization's cascade, seeded as the sanity check's) with the trained model's
  map. An explanation of what the network learned must change when the weights are destroyed. Energy and random do
  not depend on the model: they get no number.
- Physics: the inter-microphone delay that any array localizer must use. GCC-PHAT on the map's two channels of every
  pair of `tdoa.pairs` against the true direct-path delay (as the TDoA step does on the relevance): Pearson r,
  anomalies and MAE. Baselines: the microphone signals and the constant estimator (the training positions' mean
  delay). Quantus' localisation metrics assume a class mask on an image; no toolkit has a physical test, so this one
  is written here from the project's own GCC-PHAT (sslrp.metrics).
- Cost: seconds per window of the trained model's map.

Quantus (the reference toolkit for evaluating explanations) is not used: its faithfulness metrics assume a class
output (they perturb towards a drop of the predicted class's score), while these models regress a position whose
error, not score, the manipulation test measures; its randomisation metric has no cascade that re-initializes a
model of one's own with its own grouping and seeding. Both are written here on the workflow's own functions instead.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from .. import metrics
from ..names import MAGNITUDE_MAPS, MODEL_FREE, RANKABLE, pair_label
from ..seeding import rng
from . import manipulation, randomization


@dataclass(frozen=True)
class Windows:
    """The explained windows of one model on one condition and the ground truth the tests compare with.

    windows [N, M, W] float32 and their row in the test split `rows` [N]; targets [N, 3] (the output each map
    explains, as the relevance step chose it); true [N, 3] positions (m); pairs (mic pairs); true_delay {pair label:
    [N] samples}; constant_delay {pair label: the constant estimator's delay}; thresholds [N] (anomaly when |error| >
    threshold: half the source's correlation time); max_lag (samples, None: the whole window).
    """

    windows: np.ndarray
    rows: np.ndarray
    targets: np.ndarray
    true: np.ndarray
    pairs: list
    true_delay: dict
    constant_delay: dict
    thresholds: np.ndarray
    max_lag: int = None


@dataclass(frozen=True)
class Settings:
    """How the card is computed: the manipulation test's `percents`, `imputation` and `batch_size` (those of the
    manipulation step), the `seed` and `purpose` tag of its random draws, LRP's `gate`, the attribution methods'
    `attribution` settings and the torch `device`."""

    percents: tuple
    imputation: str = "zeros"
    batch_size: int = 32
    seed: int = 0
    tag: str = ""
    gate: str = "signal"
    attribution: dict = field(default_factory=dict)
    device: str = "cpu"


def method_map(method, localizer, windows, settings, seed):
    """The map of `method` for `localizer` on `windows` (sslrp.explain.attribution), None for a model-free
    ordering, and the seconds per window it took."""
    if method in MODEL_FREE:
        return None, None
    from . import attribution  # zennit imports torchvision: 3-4 s, paid only where a map is made

    start = time.perf_counter()
    out = attribution.attribute(method, localizer, windows.windows, windows.targets, settings.batch_size,
                                settings.device, settings.gate, seed, settings.attribution)
    return out, (time.perf_counter() - start) / max(len(windows.windows), 1)


def faithfulness(predict, windows, method, attribution_map, settings, rng):
    """MoRF and LeRF curves of `method` on the windows (sslrp.explain.manipulation.manipulation_curve): signed and,
    for a signed attribution map, by magnitude (a map that is a magnitude already, names.MAGNITUDE_MAPS, has one
    ranking); for random two independent random orderings ("mae" and "lerf", see the module docstring). `rng` draws
    random's orderings."""
    common = {"percents": settings.percents, "batch_size": settings.batch_size, "imputation": settings.imputation}
    fill = _fill_rng(settings)
    if method == "random":
        first = manipulation.manipulation_curve(predict, windows.windows, windows.true, None, rng, ["random"],
                                                fill_rng=fill, **common)
        second = manipulation.manipulation_curve(predict, windows.windows, windows.true, None, rng, ["random"],
                                                 fill_rng=_fill_rng(settings), **common)
        return {**first, "lerf": second["mae"]}
    maps = None if attribution_map is None else {method: attribution_map}
    signed = method in RANKABLE and method not in MAGNITUDE_MAPS
    return manipulation.manipulation_curve(predict, windows.windows, windows.true, maps, rng, [method], lerf=True,
                                           fill_rng=fill, magnitude=[method] if signed else (), **common)


def _fill_rng(settings):
    # The manipulation step's imputation stream (noise imputation), so that the card's curves are the step's.
    return rng(settings.seed, f"imputation/{settings.tag}")


def randomized_model(localizer, seed, purpose):
    """`localizer` with every layer group re-initialized: the last step of the randomization cascade, seeded as
    the sanity check's (`purpose` "randomization/<model>")."""
    last = None
    for _, _, last in randomization.randomized(localizer, seed, purpose):
        pass
    return last


def delays(signals, windows):
    """GCC-PHAT delay estimates (samples) of `signals` [N, M, W] on every pair: {pair label: [N]}."""
    return {pair_label(p): metrics.tdoa_gcc_phat(signals[:, p[0]], signals[:, p[1]], windows.max_lag)
            for p in windows.pairs}


def physics(estimates, windows):
    """Per pair the summary of `estimates` ({pair label: [N] delays}) against the true delays: anomaly %, MAE
    (samples, non-anomalous windows) and Pearson r (sslrp.metrics.tdoa_estimator_summary), JSON-ready (None for
    what is undefined), with the per-window estimates kept for pooling over conditions."""
    return {label: metrics.tdoa_estimator_record(estimate, windows.true_delay[label], windows.thresholds)
            for label, estimate in estimates.items()}


def constant_estimates(windows):
    """The constant estimator's delays: the same value for every window, per pair."""
    return {label: np.full(len(windows.windows), value) for label, value in windows.constant_delay.items()}
