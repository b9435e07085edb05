"""Does a model localize? A verdict on one test summary against the mean-position baseline and SRP-PHAT.

The explanations on the results page are only worth reading if the network they explain has learned to
localize. The mean training position is a strong constant guess on the held-out central test square
(about 0.11-0.125 m per coordinate), and the paper's models beat it only modestly overall (about
0.09-0.11 m), mostly through x: a linear array along x resolves the direction of arrival (x) far better
than the range (y), and height (z) not at all. So the verdict asks for both
  - an overall test MAE below the baseline's (`MAE_RATIO`), and
  - an x-MAE at most `X_RATIO` times the baseline's x-MAE (the coordinate the array can resolve),
and says "localizes" when both hold, "localizes only partly" when one holds and "does not localize"
when neither does. Its sentences are made from the measured numbers, never written by hand.

The test square is a hole in the middle of the training grid, so failing there means a model does not
extrapolate into unseen positions; it may still localize between its training positions. The same rule, with
the same thresholds and the same baseline (the mean training position), is therefore applied to the validation
sources, which lie between the training positions: the sentences say which of the two a model achieves. (The
validation split also chose the checkpoint, the best epoch, so its numbers are slightly optimistic; the
thresholds leave a wide margin for that: the mean position is a weak guess over the whole grid.)

A summary is evaluate.py's (or srp_baseline.py's) summary.json: model, condition, mae, mae_xyz,
baseline_mae, baseline_mae_xyz (metres), and from evaluate.py also `val`, the same numbers on the validation
split.
"""

from dataclasses import dataclass

MAE_RATIO = 1.0  # overall test MAE must be below this fraction of the mean-position baseline's
X_RATIO = 0.6  # x-MAE must be at most this fraction of the baseline's x-MAE (issue 10's bar)

LOCALIZES, PARTLY, NOT = "localizes", "localizes only partly", "does not localize"
PLURAL = {LOCALIZES: "localize", PARTLY: "localize only partly", NOT: "do not localize"}


def criterion():
    """The rule the verdicts follow, in words (from the thresholds above)."""
    return (f"a model localizes when its test MAE is below the mean training position's and its x-MAE at most "
            f"{X_RATIO:g}x the mean position's x-MAE (x: the coordinate the linear array resolves); the same rule on "
            "the validation sources, which lie between the training positions (the test square is a hole in the "
            "training grid), says whether it localizes between its training positions")


@dataclass(frozen=True)
class Verdict:
    """A model's test localization next to the mean-position baseline (and SRP-PHAT when known)."""

    mae: float
    baseline_mae: float
    mae_x: float
    baseline_mae_x: float
    srp_mae: float = None  # SRP-PHAT's test MAE on the same windows, if it was run
    val: "Verdict" = None  # the same rule on the validation split (between the training positions), if scored

    @property
    def mae_ratio(self):
        return self.mae / self.baseline_mae

    @property
    def x_ratio(self):
        return self.mae_x / self.baseline_mae_x

    @property
    def beats_baseline(self):
        return self.mae_ratio < MAE_RATIO

    @property
    def resolves_x(self):
        return self.x_ratio <= X_RATIO

    @property
    def status(self):
        """LOCALIZES when it beats the baseline overall and resolves x, PARTLY for one of the two, else NOT."""
        if self.beats_baseline and self.resolves_x:
            return LOCALIZES
        return PARTLY if self.beats_baseline or self.resolves_x else NOT


def judge(summary, srp_summary=None):
    """The verdict on one model x condition `summary`, with SRP-PHAT's summary of the same condition; with the
    summary's validation numbers (`val`) it carries the validation split's verdict too."""
    val = summary.get("val")
    return Verdict(summary["mae"], summary["baseline_mae"], summary["mae_xyz"][0], summary["baseline_mae_xyz"][0],
                   None if srp_summary is None else srp_summary["mae"], None if val is None else judge(val))


def numbers(v, split="test"):
    """The measured numbers behind a verdict, as a clause (`split`: what the MAE was measured on)."""
    text = (f"{split} MAE {v.mae:.3f} m vs {v.baseline_mae:.3f} m for the mean position ({v.mae_ratio:.2f}x), "
            f"x {v.mae_x:.3f} m vs {v.baseline_mae_x:.3f} m ({v.x_ratio:.2f}x)")
    if v.srp_mae is not None:
        text += f"; SRP-PHAT {v.srp_mae:.3f} m"
    return text


def sentence(label, v):
    """What the page says about model `label` (e.g. "LocCNN") in one condition, from its verdict: between its
    training positions (validation) and in the unseen test square, where both were scored."""
    if v.val is None:
        return _test_sentence(label, v)
    joint = "and" if v.status == v.val.status else "but"
    text = (f"{label} {v.val.status} between its training positions ({numbers(v.val, 'validation')}) {joint} "
            f"{v.status} in the unseen test square ({numbers(v)}).")
    if v.status == LOCALIZES:
        return text
    if v.val.status == LOCALIZES:
        return (f"{text} Read these explanations as those of a network that interpolates between its training "
                "positions but does not extrapolate into the unseen square.")
    learned = "has not learned" if v.val.status == NOT else "has not fully learned"
    return f"{text} These explanations describe a network that {learned} to localize."


def _test_sentence(label, v):
    # A summary without validation numbers (older results): the test square's verdict alone.
    if v.status == LOCALIZES:
        return f"{label} localizes: {numbers(v)}."
    if v.status == NOT:
        return (f"{label} does not beat the mean-position baseline: {numbers(v)}. These explanations "
                "describe a network that has not learned to localize.")
    shortfall = (f"its x-MAE is above {X_RATIO:g}x the baseline's" if v.beats_baseline
                 else "its overall MAE is not below the mean position's")
    return (f"{label} localizes only partly: {numbers(v)}; {shortfall}. Read these explanations as those "
            "of a network that has not fully learned to localize.")
