"""How often the card's intervals contain the truth: a seeded simulation.

Run ``python -m modelcards.coverage`` (``make coverage``) for the full table; the test
suite runs a smaller grid and asserts at least 93% coverage for nominal 95% in every
cell. Each cell draws, ``reps`` times, ``groups`` binomial groups of ``n`` people whose
true rates are ``p`` (and ``p + d`` for the last group), computes the card's intervals
from the counts, and counts how often they contain the true per-group rate, the true
largest difference ``d`` and the true smallest ratio ``p / (p + d)``; with ``d = 0``
that is how often they contain "no disparity".
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._evaluate import disparity_interval, rate_intervals
from ._intervals import clopper_pearson

SIZES = (20, 30, 60, 100, 300, 1_000, 3_000, 10_000)
RATES = (0.02, 0.05, 0.1, 0.25, 0.5)
GAPS = (0.0, 0.05, 0.1)
GROUPS = (2, 5, 10)  # ten: an intersection of two features


@dataclass(frozen=True)
class Cell:
    """Coverage in one cell of the grid.

    Attributes:
        n: People per group.
        p: True rate of every group but the last.
        d: How much higher the last group's rate is.
        groups: How many groups.
        rate: Share of per-group intervals containing the group's true rate.
        difference: Share of difference intervals containing the true largest difference.
        ratio: Share of ratio intervals containing the true smallest ratio.
        width: Mean width of the difference interval.
    """

    n: int
    p: float
    d: float
    groups: int
    rate: float
    difference: float
    ratio: float
    width: float


def simulate(
    *,
    n: int,
    p: float,
    d: float,
    groups: int,
    reps: int,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> Cell:
    """Coverage of one cell (see the module docstring).

    Args:
        n: People per group.
        p: True rate of every group but the last.
        d: How much higher the last group's rate is (0: truly equal groups).
        groups: How many groups (at least 2).
        reps: Simulated data sets.
        confidence: The nominal level (default 0.95).
        rng: The random generator.
    """
    alpha = 1 - confidence
    truth = np.full(groups, p)
    truth[-1] = p + d
    k = rng.binomial(n, truth, size=(reps, groups))
    # Each data set as the card sees it: count tables whose selection rate is k / n.
    tabs = np.zeros((reps, groups, 2, 2), dtype=np.int64)
    tabs[..., 1, 1] = k
    tabs[..., 1, 0] = n - k
    lo, hi = rate_intervals(tabs.reshape(-1, 2, 2), alpha, ["selection_rate"])["selection_rate"]
    lo, hi = lo.reshape(reps, groups), hi.reshape(reps, groups)
    rate = float(np.mean((lo <= truth) & (truth <= hi)))
    true_diff, true_ratio = d, p / (p + d)
    diff_hit = ratio_hit = 0
    widths = []
    for r in range(reps):
        dl, dh = disparity_interval(tabs[r], "selection_rate", "difference", alpha)
        rl, rh = disparity_interval(tabs[r], "selection_rate", "ratio", alpha)
        diff_hit += dl - 1e-12 <= true_diff <= dh + 1e-12
        ratio_hit += rl - 1e-12 <= true_ratio <= rh + 1e-12
        widths.append(dh - dl)
    return Cell(n, p, d, groups, rate, diff_hit / reps, ratio_hit / reps, float(np.mean(widths)))


def exact_rate_coverage(n: int, p: float, confidence: float = 0.95) -> float:
    """The exact probability that a group's rate interval contains its true rate.

    Sums the binomial probabilities of the counts whose interval contains ``p``: no
    simulation noise.

    Args:
        n: The rate's denominator (people in the group, or its actual positives, ...).
        p: The true rate.
        confidence: The nominal level (default 0.95).

    >>> exact_rate_coverage(20, 0.02) >= 0.95
    True
    """
    from scipy.stats import binom

    k = np.arange(n + 1)
    lo, hi = clopper_pearson(k, np.full(n + 1, n), 1 - confidence)
    covered = (lo <= p) & (p <= hi)
    return float(binom.pmf(k, n, p)[covered].sum())


def coverage_table(
    *,
    sizes: Sequence[int] = SIZES,
    rates: Sequence[float] = RATES,
    gaps: Sequence[float] = GAPS,
    groups: Sequence[int] = GROUPS,
    reps: int = 2_000,
    seed: int = 0,
) -> list[Cell]:
    """Every cell of the grid.

    Args:
        sizes: People per group.
        rates: True base rates.
        gaps: True disparities (0 included: truly equal groups).
        groups: Numbers of groups.
        reps: Simulated data sets per cell (default 2,000).
        seed: The seed (default 0); the same seed gives the same table.
    """
    rng = np.random.default_rng(seed)
    return [
        simulate(n=n, p=p, d=d, groups=g, reps=reps, rng=rng)
        for n, p, d, g in itertools.product(sizes, rates, gaps, groups)
    ]


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2_000, help="data sets per cell")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cells = coverage_table(reps=args.reps, seed=args.seed)
    print(
        "| n | rate | gap | groups | rate covered | difference covered | ratio covered "
        "| difference width |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in cells:
        print(
            f"| {c.n:,} | {c.p:g} | {c.d:g} | {c.groups} | {c.rate:.3f} | {c.difference:.3f} "
            f"| {c.ratio:.3f} | {c.width:.3f} |"
        )
    worst = min(min(c.rate, c.difference, c.ratio) for c in cells)
    print(f"\n{len(cells)} cells, {args.reps:,} data sets each; lowest coverage {worst:.3f}")


if __name__ == "__main__":
    _main()
