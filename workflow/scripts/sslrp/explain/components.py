"""What a network listens to, in physical terms: the direct sound, the early reflections, the late reverberation and
the noise of each simulated test window (sslrp.data.components), tested two ways.

- Causal (the model alone, no attribution method): the localization MAE with the input replaced by a sum of
  components (`VARIANTS`: the direct part only; direct + early; direct + early + late, i.e. no noise; the full
  window; the full window without each component in turn), beside the mean-position baseline and SRP-PHAT on the
  same inputs. The full window is the stored window itself, so its MAE is the evaluation step's on these windows.
- Attribution shares: how much of a map falls on each component, next to that component's share of the input
  energy, for the trained model and for the fully randomized one (structure of the signal shows in both; what the
  network learned only in the trained one). Two measures, reported under their own names and never mixed:
  * "exact" (`exact_shares`), for maps that are the input times a backward signal, map = x * G sample by sample
    (gradient x input, Integrated Gradients, LRP with an input-proportional first-layer rule:
    sslrp.explain.attribution.input_proportional): since x = sum_c x_c, the map splits exactly as
    map = sum_c x_c * G, and component c's share is sum x_c * G / sum x * G (over every sample of every window);
    G = map / x where x != 0 (a sample with x exactly 0 contributes nothing to any component).
  * "energy-weighted" (`energy_weighted_shares`), for every other map (WSquare- or Flat-first LRP, gradient,
    SmoothGrad, occlusion): each sample's |map| is split over the components in proportion to their energy at that
    sample, x_c^2 / sum_c' x_c'^2; share_c = sum |map| x_c^2 / sum_c' x_c'^2 / sum |map|. It says where a map's
    weight lies, not what each component contributes.
  The input's own share (`energy_shares`) is each component's energy over the window, sum x_c^2 / sum_c' sum x_c'^2
  (cross terms left out: the components are nearly uncorrelated, and this keeps every share in 0..1).

"Denoises and de-reverberates" (the paper's reading of its relevance) holds for a map when the direct sound's share
exceeds its share of the input energy while the noise's and the late reverberation's fall below theirs
(`denoises`). The causal test agrees when removing the direct sound raises the MAE more than removing the late
reverberation or the noise does (`causal_agrees`): the network relies on the direct sound more than on what the
claim says it suppresses.
"""

import numpy as np

from ..metrics import mae
from ..names import COMPONENTS

# The inputs of the causal test, in the order the tables show them: the sums of components, then the full window
# without one component.
VARIANTS = ("direct", "direct+early", "direct+early+late", "full", "full-direct", "full-early", "full-late",
            "full-noise")


def variants(window, parts):
    """The causal test's inputs: {variant: [N, M, W] float32} from the stored `window` and its `parts` {component:
    [N, M, W]}; "full" is `window` itself."""
    direct, early, late, noise = (np.asarray(parts[c], np.float64) for c in COMPONENTS)
    full = np.asarray(window, np.float64)
    sums = {"direct": direct, "direct+early": direct + early, "direct+early+late": direct + early + late}
    removed = {f"full-{c}": full - np.asarray(parts[c], np.float64) for c in COMPONENTS}
    out = {name: value.astype(np.float32) for name, value in {**sums, **removed}.items()}
    out["full"] = np.asarray(window, np.float32)
    return {name: out[name] for name in VARIANTS}


def causal(localize, window, parts, true, baseline_position, srp=None):
    """MAE (m) per input variant of the model (`localize`: windows -> positions [N, 3]) and of SRP-PHAT (`srp`, the
    same signature; None: not run), and the mean-position baseline's MAE (the same for every variant): {variant:
    {"model": mae, "srp_phat": mae or None}}, baseline."""
    out = {}
    for name, inputs in variants(window, parts).items():
        out[name] = {"model": mae(localize(inputs), true), "srp_phat": None if srp is None else mae(srp(inputs), true)}
    return out, mae(np.broadcast_to(baseline_position, np.shape(true)), true)


def energy_shares(parts):
    """Each component's share of the input energy: sum x_c^2 / sum_c' sum x_c'^2 (module docstring)."""
    energy = {c: float(np.sum(np.asarray(parts[c], np.float64) ** 2)) for c in COMPONENTS}
    total = sum(energy.values())
    return {c: energy[c] / total if total > 0 else float("nan") for c in COMPONENTS}


def exact_shares(attribution_map, window, parts):
    """Component shares of a map that is x * G: sum x_c * G / sum x * G, G = map / x (module docstring); NaN where
    the map sums to 0."""
    x = np.asarray(window, np.float64)
    attribution_map = np.asarray(attribution_map, np.float64)
    backward = np.divide(attribution_map, x, out=np.zeros_like(x), where=x != 0)
    total = float(np.sum(backward * x))
    return {c: float(np.sum(backward * np.asarray(parts[c], np.float64))) / total if total != 0 else float("nan")
            for c in COMPONENTS}


def energy_weighted_shares(attribution_map, parts):
    """Component shares of any map: its |value| at each sample split by the components' energy there (module
    docstring); NaN for a map that is 0 everywhere."""
    energy = np.stack([np.asarray(parts[c], np.float64) ** 2 for c in COMPONENTS])
    total_energy = energy.sum(axis=0)
    weights = np.divide(energy, total_energy, out=np.full_like(energy, 1 / len(COMPONENTS)),
                        where=total_energy > 0)
    magnitude = np.abs(np.asarray(attribution_map, np.float64))
    total = float(magnitude.sum())
    return {c: float(np.sum(magnitude * weights[i])) / total if total > 0 else float("nan")
            for i, c in enumerate(COMPONENTS)}


def shares(attribution_map, window, parts, exact):
    """The shares of one map by the measure it admits: {"measure": "exact" | "energy-weighted", component: share}."""
    if exact:
        return {"measure": "exact", **exact_shares(attribution_map, window, parts)}
    return {"measure": "energy-weighted", **energy_weighted_shares(attribution_map, parts)}


def denoises(shares_of_map, input_shares):
    """Whether a map "denoises and de-reverberates" (module docstring): direct above its energy share, noise and
    late reverberation below theirs. None where a share is undefined."""
    values = [shares_of_map.get(c) for c in ("direct", "noise", "late")]
    if any(v is None or np.isnan(v) for v in values):
        return None
    direct, noise, late = values
    return bool(direct > input_shares["direct"] and noise < input_shares["noise"] and late < input_shares["late"])


def rises(maes):
    """How much removing the direct sound, the late reverberation and the noise raises the model's MAE (m) over the
    full window's: {component: MAE without it - MAE of the full window}."""
    return {c: maes[f"full-{c}"]["model"] - maes["full"]["model"] for c in ("direct", "late", "noise")}


def causal_agrees(maes):
    """Whether the causal test supports the claim (module docstring): removing the direct sound raises the model's
    MAE more than removing the late reverberation or the noise."""
    rise = rises(maes)
    return bool(rise["direct"] > rise["late"] and rise["direct"] > rise["noise"])
