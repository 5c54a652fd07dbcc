"""The card's intervals hold their nominal coverage: measured, not assumed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from modelcards.coverage import GAPS, GROUPS, RATES, SIZES, exact_rate_coverage, simulate

NOMINAL, FLOOR = 0.95, 0.93


@pytest.mark.parametrize("n", SIZES)
def test_a_group_rate_interval_covers_at_every_size_and_rate(n):
    # Exact coverage (binomial sums, no simulation noise), on a fine grid of rates.
    for p in (*RATES, 0.03, 0.07, 0.15, 0.35):
        assert exact_rate_coverage(n, p, NOMINAL) >= NOMINAL - 1e-9, (n, p)


def test_disparity_intervals_cover_the_true_gap_and_contain_no_gap_when_groups_are_equal():
    rng = np.random.default_rng(20261128)
    worst = []
    for n, p, d, groups in itertools.product(SIZES, RATES, GAPS, GROUPS):
        cell = simulate(n=n, p=p, d=d, groups=groups, reps=400, rng=rng)
        worst.append((min(cell.difference, cell.ratio), cell))
        assert cell.difference >= FLOOR, cell
        assert cell.ratio >= FLOOR, cell
    # Not vacuous: intervals shrink with the group size.
    widths = {c.n: c.width for _, c in worst if c.p == 0.25 and c.d == 0 and c.groups == 2}
    assert widths[10_000] < widths[100] / 5
