"""The input-manipulation test (the paper's "manipulation of relevant input features") and its summaries.

Zero the top P % of each test window's samples, ordered by an attribution map (LRP relevance, or another
method of explain.attribution), by energy or at random, and measure the localization MAE per P; AOPC sums a
curve up, `pooled` joins the curves of several conditions. Beyond the paper: the least relevant samples can
be removed first (LeRF, against the paper's most relevant first, MoRF), which gives the symmetric relevance
gain (Blücher et al. 2024, `srg`); and removed samples can be imputed otherwise than by zeros
(`sslrp.names.IMPUTATIONS`: the window mean, or Gaussian noise at the window's level), since a zeroed
stretch is itself a pattern a network may react to. Pure functions on numpy arrays: windows and
attribution maps are [N, M, W], positions [N, 3] in metres.

Definitions. MoRF (most relevant first) removes the top P % of an ordering's ranking, LeRF (least relevant
first) the bottom P %. An attribution map ranks the samples by its signed value (the paper's `relevance`
ordering: highest first) or by its magnitude |value| (`magnitude` orderings). The signed LeRF order removes the
most *negative* values first; on a raw waveform the relevance changes sign with the waveform, and for a regression
output the strongest negative contributions move the prediction as much as the strongest positive ones, so signed
LeRF removes important samples too, and a signed SRG near 0 says nothing about the ranking. Ranked by magnitude,
LeRF removes the samples the map calls unimportant, and SRG tests whether the ranking is right at both ends.
"""

from collections.abc import Mapping

import numpy as np

from ..names import IMPUTATIONS, ORDERINGS, PAPER_ORDERINGS, RANKABLE

PERCENTS = (0, 10, 20, 30, 40, 50, 60, 70)


def n_removed(percent, size):
    """Number of samples zeroed in a window of `size` values at `percent` %: round(P/100 * size)."""
    return int(round(percent / 100 * size))


def curve_key(least_first=False, magnitude=False):
    """Where a curve JSON keeps the curves of one direction and ranking: "mae" (MoRF, signed: the paper's), "lerf"
    (LeRF, signed), "mae_magnitude" and "lerf_magnitude" (the same ranked by |map|)."""
    return ("lerf" if least_first else "mae") + ("_magnitude" if magnitude else "")


CURVE_KEYS = tuple(curve_key(least, magnitude) for magnitude in (False, True) for least in (False, True))


def removal_order(windows, relevance, ordering, rng=None, least_first=False, magnitude=False):
    """Flat sample indices of each window, most important first (`least_first`: least important first):
    [N, M*W] int.

    ordering "energy": highest |x| first; "random": a random permutation per window from `rng`; an
    attribution ordering ("relevance", "gradient", ...: see `sslrp.names.ORDERINGS`): highest signed value of
    its map first, or with `magnitude` highest |value| first (see `attribution_map` for how `relevance` gives
    the maps). Ties keep index order, as a stable sort would.
    """
    return _argsort_rows(removal_keys(windows, relevance, ordering, rng, least_first, magnitude))


def attribution_map(relevance, ordering):
    """The map an attribution ordering sorts by. `relevance` is either one array (the paper's LRP
    relevance: the map of "relevance" only) or a dict ordering -> array."""
    maps = relevance if isinstance(relevance, Mapping) else {"relevance": relevance}
    if maps.get(ordering) is None:
        given = sorted(o for o, m in maps.items() if m is not None)
        raise ValueError(f"ordering {ordering!r} needs an attribution map; given: {given}")
    return maps[ordering]


def removal_keys(windows, relevance, ordering, rng=None, least_first=False, magnitude=False):
    """Per-window sort keys [N, M*W], float32, ascending = removed first.

    Keys are compared at float32, the precision of the model input. Random keys are one uniform
    draw per sample, so consecutive calls draw the same keys as one call over all windows.
    `relevance` gives the attribution maps as in `attribution_map` (unused by "energy" and "random").
    `least_first` reverses the order of an attribution or energy ordering (LeRF); a random order has no
    least relevant end, so it is refused there. `magnitude` ranks an attribution map by |value| (energy already
    ranks by |x|, random by nothing: refused for both).
    """
    if magnitude and ordering not in RANKABLE:
        raise ValueError(f"ordering {ordering!r} has no magnitude ranking; only attribution maps have: {RANKABLE}")
    if least_first:
        if ordering == "random":
            raise ValueError("the random ordering has no least relevant first (LeRF) order")
        return removal_keys(windows, relevance, ordering, magnitude=magnitude) * np.float32(-1) + np.float32(0)
    n = len(windows)
    if magnitude:
        keys = -np.abs(np.asarray(attribution_map(relevance, ordering), np.float32).reshape(n, -1))
    elif ordering == "energy":
        keys = -np.abs(np.asarray(windows, np.float32).reshape(n, -1))
    elif ordering == "random":
        keys = rng.random((n, np.asarray(windows[0]).size), dtype=np.float32)
    elif ordering in ORDERINGS:
        keys = -np.asarray(attribution_map(relevance, ordering), np.float32).reshape(n, -1)
    else:
        raise ValueError(f"unknown ordering {ordering!r}; expected one of {ORDERINGS}")
    return np.ascontiguousarray(keys) + np.float32(0)  # -0.0 + 0 = +0.0: signed zeros tie


def _argsort_rows(keys):
    """Stable argsort of each row of float32 keys (no NaN), about 10x faster than numpy's.

    Each float's bits map to an order-preserving integer in the high 32 bits of an int64 and the
    column index fills the low 32 bits: the int64 keys are unique, so a plain (SIMD) sort orders
    ties by index exactly like a stable argsort; the low bits then are the indices.
    """
    bits = keys.view(np.int32).astype(np.int64)
    ordered = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    packed = (ordered << 32) | np.arange(keys.shape[1], dtype=np.int64)
    packed.sort(axis=1)
    return packed & 0xFFFFFFFF


def perturb(windows, order, percent, fill=None):
    """Copy of `windows` with the first round(P% of M*W) indices of `order` imputed: set to zero, or to the
    values of `fill` ([N, M*W], see `fill_values`) at those indices."""
    flat = np.array(windows).reshape(len(windows), -1)
    k = n_removed(percent, flat.shape[1])
    _impute(flat, order[:, :k], fill)
    return flat.reshape(np.shape(windows))


def _impute(flat, indices, fill):
    values = 0 if fill is None else np.take_along_axis(fill, indices, axis=1)
    np.put_along_axis(flat, indices, values, axis=1)


def fill_values(windows, imputation, rng=None):
    """What removed samples become, [N, M*W] float32 (None for "zeros", the paper's choice).

    "mean": each microphone's mean over the window; "noise": Gaussian noise with each microphone's standard
    deviation over the window (about its level: the windows are near zero-mean), drawn from `rng`.
    """
    windows = np.asarray(windows, np.float32)
    if imputation == "zeros":
        return None
    if imputation == "mean":
        values = np.broadcast_to(windows.mean(axis=2, keepdims=True), windows.shape)
    elif imputation == "noise":
        values = rng.standard_normal(windows.shape, dtype=np.float32) * windows.std(axis=2, keepdims=True)
    else:
        raise ValueError(f"unknown imputation {imputation!r}; expected one of {IMPUTATIONS}")
    return np.ascontiguousarray(values, np.float32).reshape(len(windows), -1)


def manipulation_curve(predict_fn, windows, positions_true, relevance, rng,
                       orderings=PAPER_ORDERINGS, percents=PERCENTS, batch_size=32, lerf=False,
                       imputation="zeros", fill_rng=None, magnitude=()):
    """Localization MAE after removing the top P % of each window's samples, per ordering and P.

    `relevance` gives the attribution maps the orderings sort by: one array shaped like `windows` (the
    key of "relevance", as in the paper) or a dict ordering -> array for several attribution methods
    ("relevance", "gradient", ...); "energy" and "random" are built in and need none.
    `predict_fn` maps float32 windows [B, M, W] to positions [B, 3] (numpy) and must not keep its
    input. Per batch each ordering is sorted once; the removed sets grow with P, so one working copy
    per ordering is zeroed incrementally; unperturbed inputs (k = 0) are predicted once per batch.
    With `lerf`, the same pass also removes the bottom P % first (LeRF) for every ordering but random.
    Removed samples become zeros or are imputed as `fill_values` says (`imputation`; noise is drawn from
    `fill_rng`, batch by batch, the same for every ordering and direction). `magnitude` names attribution
    orderings (of `orderings`) to rank by |map| too, in the same pass (after the signed runs, so the signed
    curves and the random stream are the same with or without them). Returns a JSON-ready dict: `percents`,
    `n_windows`, `mae` {ordering: [MAE per percent]}, with `lerf` also `lerf` (the same for the least relevant
    first), and with `magnitude` also `mae_magnitude` (and `lerf_magnitude`): see `curve_key`.
    """
    windows = np.asarray(windows, np.float32)
    size = windows[0].size
    ks = [n_removed(p, size) for p in percents]
    unknown = [o for o in magnitude if o not in orderings]
    if unknown:
        raise ValueError(f"magnitude rankings of {unknown}, which are not among the orderings {list(orderings)}")
    lerf_orderings = [o for o in orderings if o != "random"] if lerf else []
    runs = ([(o, False, False) for o in orderings] + [(o, True, False) for o in lerf_orderings]
            + [(o, least, True) for least in ((False, True) if lerf else (False,)) for o in magnitude])
    abs_sum = np.zeros((len(runs), len(percents)))
    for lo in range(0, len(windows), batch_size):
        batch, true = windows[lo:lo + batch_size], positions_true[lo:lo + batch_size]
        rel = _batch_of(relevance, slice(lo, lo + batch_size))
        baseline = _abs_error_sum(predict_fn(batch), true)
        fill = fill_values(batch, imputation, fill_rng)
        for i, (ordering, least_first, by_magnitude) in enumerate(runs):
            order = removal_order(batch, rel, ordering, rng, least_first, by_magnitude)
            abs_sum[i] += _incremental_errors(predict_fn, batch, true, order, ks, baseline, fill)
    mae_table = abs_sum / (3 * len(windows))
    curve = {"percents": [int(p) for p in percents], "n_windows": int(len(windows))}
    for i, (ordering, least_first, by_magnitude) in enumerate(runs):
        curve.setdefault(curve_key(least_first, by_magnitude), {})[ordering] = mae_table[i].tolist()
    return curve


def _batch_of(relevance, rows):
    # The rows of one batch of an attribution map, or of each map of a dict of them.
    if relevance is None:
        return None
    if isinstance(relevance, Mapping):
        return {o: m[rows] for o, m in relevance.items()}
    return relevance[rows]


def _incremental_errors(predict_fn, batch, true, order, ks, baseline, fill=None):
    # Absolute-error sums for each k of `ks` (any order), imputing only the new indices at each step.
    work = batch.reshape(len(batch), -1).copy()
    sums, done = np.empty(len(ks)), 0
    for j in np.argsort(ks, kind="stable"):
        if ks[j] == 0:
            sums[j] = baseline
            continue
        _impute(work, order[:, done:ks[j]], fill)
        done = ks[j]
        sums[j] = _abs_error_sum(predict_fn(work.reshape(batch.shape)), true)
    return sums


def _abs_error_sum(pred, true):
    return float(np.sum(np.abs(np.asarray(pred, float) - np.asarray(true, float))))


def aopc(percents, mae_values):
    """Area over the perturbation curve: the mean MAE increase over the P > 0 points relative to P = 0.

    Larger means removing the ordering's top samples hurts the model more, i.e. the ordering found
    what the model relies on. Needs a P = 0 point and at least one P > 0 (metres, like the MAE).
    """
    percents, values = np.asarray(percents, float), np.asarray(mae_values, float)
    if percents.shape != values.shape:
        raise ValueError(f"{percents.size} percents but {values.size} MAE values")
    zero, positive = percents == 0, percents > 0
    if not zero.any() or not positive.any():
        raise ValueError(f"AOPC needs P = 0 and some P > 0; got percents {percents.tolist()}")
    return float(np.mean(values[positive] - values[zero][0]))


def srg(percents, morf_values, lerf_values):
    """Symmetric relevance gain (Blücher et al. 2024) of one ordering, in metres: AOPC(MoRF) - AOPC(LeRF).

    Blücher et al. take the area between the LeRF and the MoRF curve of a model's score; here the curves are
    of an error, so the sign turns: positive when removing the most relevant samples first hurts more than
    removing the least relevant first, i.e. the ordering ranks the samples the model relies on at both ends.
    Taking the difference also cancels what removing samples as such (the imputation) does to the model.
    """
    return aopc(percents, morf_values) - aopc(percents, lerf_values)


def pooled(curves):
    """Pool manipulation curves of several conditions as if all their windows were one test set.

    The MAE of the union is the window-count-weighted mean of the per-condition MAEs; LeRF and magnitude-ranked
    curves (`CURVE_KEYS`) are pooled too when every condition has them.
    """
    weights = np.array([c["n_windows"] for c in curves], float)
    out = {"percents": list(curves[0]["percents"]), "n_windows": int(weights.sum())}
    for key in CURVE_KEYS:
        if all(key in c for c in curves):
            out[key] = {o: np.average([c[key][o] for c in curves], axis=0, weights=weights).tolist()
                        for o in curves[0][key]}
    return out


def gains(curves):
    """AOPC MoRF and LeRF (m) and SRG = AOPC MoRF - AOPC LeRF of one ordering's curves (a curve dict of
    `manipulation_curve` with one ordering): of the magnitude ranking where there is one (the ranking the report
    card judges), else of the only one (|x| for energy; for random, two random orderings), and for a signed map also
    `srg_signed`."""
    percents = curves["percents"]
    key = "mae_magnitude" if "mae_magnitude" in curves else "mae"
    lerf_key = "lerf_magnitude" if key == "mae_magnitude" else "lerf"
    (method,) = curves[key]
    morf, lerf = curves[key][method], curves[lerf_key][method]
    out = {"aopc_morf": aopc(percents, morf), "aopc_lerf": aopc(percents, lerf),
           "srg": srg(percents, morf, lerf), "srg_signed": None}
    if key == "mae_magnitude":
        out["srg_signed"] = srg(percents, curves["mae"][method], curves["lerf"][method])
    return out
