"""Confidence intervals that hold their coverage at every group size.

**Per-group rates** use the Clopper-Pearson interval (Clopper and Pearson, 1934): the
exact binomial interval, computed from the beta distribution. Its coverage is at least
the nominal level for every group size and every true rate, where Wald and percentile
bootstrap intervals fall far below it in small groups or near 0 and 1 (Brown, Cai and
DasGupta, 2001). A finite sample never gives it zero width: 0 of 20 is [0, 0.168].

**Disparities** between groups (the largest difference, the smallest ratio) use
simultaneous intervals: every group's interval at level ``1 - alpha / K`` for ``K``
groups (Bonferroni), so that all ``K`` cover together with probability at least
``1 - alpha``. Whenever they do, the true largest difference lies in
``[max(0, max L - min U), max U - min L]`` and the true smallest ratio in
``[min L / max U, min(1, min U / max L)]``, whichever pair of groups is the extreme one:
the interval accounts for picking the extreme pair. When the groups are truly equal it
contains "no disparity" (0, or 1 for a ratio) with at least the nominal probability.
Against a reference group, the same bounds are taken pair by pair with the reference.

A balanced accuracy (the mean of two rates with separate denominators) takes the mean of
the two rates' bounds, each at ``alpha / 2``. ROC AUC keeps DeLong's normal interval; its
disparities use the same simultaneous construction on DeLong intervals.

``modelcards.coverage`` measures all of this by simulation.

>>> lo, hi = clopper_pearson(np.array([0]), np.array([20]), 0.05)
>>> round(float(lo[0]), 3), round(float(hi[0]), 3)
(0.0, 0.168)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


def clopper_pearson(
    k: NDArray[np.integer] | NDArray[np.floating],
    n: NDArray[np.integer] | NDArray[np.floating],
    alpha: float | Floats,
) -> tuple[Floats, Floats]:
    """The exact binomial interval for ``k`` successes in ``n`` trials, element-wise.

    Args:
        k: Successes (counts).
        n: Trials (counts); where 0, both bounds are NaN (the rate is undefined).
        alpha: One minus the confidence level (0.05 for 95%), a number or an array.

    >>> lo, hi = clopper_pearson(np.array([8]), np.array([8]), 0.05)
    >>> round(float(lo[0]), 3), float(hi[0])
    (0.631, 1.0)
    """
    from scipy.special import betaincinv

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = np.broadcast_to(np.asarray(alpha, dtype=float), np.broadcast(k, n).shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, betaincinv(k, n - k + 1, a / 2), 0.0)
        hi = np.where(k < n, betaincinv(k + 1, n - k, 1 - a / 2), 1.0)
    undefined = n <= 0
    return np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)


def mean_of_two(lo1: Floats, hi1: Floats, lo2: Floats, hi2: Floats) -> tuple[Floats, Floats]:
    """Bounds of the mean of two quantities from their bounds (each at half the alpha).

    Args:
        lo1: Lower bounds of the first.
        hi1: Upper bounds of the first.
        lo2: Lower bounds of the second.
        hi2: Upper bounds of the second.
    """
    return (lo1 + lo2) / 2, (hi1 + hi2) / 2


DisparityKind = Literal["difference", "ratio"]


def between_groups(lo: Floats, hi: Floats, kind: DisparityKind) -> tuple[float, float]:
    """Interval of the largest difference (max - min) or smallest ratio (min / max)
    among groups, from simultaneous intervals of the groups' values.

    Args:
        lo: Lower bounds, one per group (simultaneous: at ``alpha / K`` each).
        hi: Upper bounds, likewise.
        kind: ``"difference"`` or ``"ratio"``.

    >>> between_groups(np.array([0.1, 0.3]), np.array([0.2, 0.5]), "difference")
    (0.09999999999999998, 0.4)
    """
    if len(lo) < 2 or np.isnan(lo).any() or np.isnan(hi).any():
        return np.nan, np.nan
    if kind == "difference":
        return max(0.0, float(lo.max() - hi.min())), float(hi.max() - lo.min())
    top = float(hi.max())
    low = float(lo.min()) / top if top > 0 else np.nan
    floor = float(lo.max())
    high = min(1.0, float(hi.min()) / floor) if floor > 0 else 1.0
    return low, high


def against_reference(lo: Floats, hi: Floats, ref: int, kind: DisparityKind) -> tuple[float, float]:
    """Interval of the largest absolute difference to a reference group, or of the
    smallest ratio (the smaller of g/ref and ref/g), from simultaneous intervals.

    Args:
        lo: Lower bounds, one per group, the reference included.
        hi: Upper bounds, likewise.
        ref: The reference group's position.
        kind: ``"difference"`` or ``"ratio"``.
    """
    if len(lo) < 2 or np.isnan(lo).any() or np.isnan(hi).any():
        return np.nan, np.nan
    others = [k for k in range(len(lo)) if k != ref]
    rl, rh = lo[ref], hi[ref]
    lows, highs = [], []
    for k in others:
        if kind == "difference":
            lows.append(max(0.0, lo[k] - rh, rl - hi[k]))
            highs.append(max(abs(hi[k] - rl), abs(rh - lo[k])))
        else:
            top = max(hi[k], rh)
            lows.append(min(lo[k], rl) / top if top > 0 else np.nan)
            floor = max(lo[k], rl)
            highs.append(min(1.0, min(hi[k], rh) / floor) if floor > 0 else 1.0)
    if kind == "difference":  # the largest over groups
        return float(max(lows)), float(max(highs))
    return float(min(lows)), float(min(highs))  # the smallest over groups
