"""A card's numbers from small, additive tables instead of rows.

Every confusion-matrix metric and its interval needs only the (group, label, prediction)
count table, and the exact ROC AUC with DeLong's variance needs only, per group, the count
of positives and negatives at each distinct score. Both tables are additive over any split
of the rows, so a batched reader (``_batched``) or a Spark job builds them piece by piece
and only these tables need to fit in memory.

The contract (shared with the Spark engine):

* ``Aggregates.features``: the sensitive columns, in order.
* ``Aggregates.counts``: one column per sensitive feature (the raw values; missing as
  null), then ``label`` (bool: target == positive label), ``pred`` (bool: predicted
  positive) and ``n`` (int64); one row per distinct combination.
* ``Aggregates.score_counts``: None, or the sensitive columns, ``score`` (float64),
  ``label`` (bool) and ``n`` (int64).

Group values keep the type the rows had (numbers sort as numbers, as in memory); text
works for every column and sorts as text. ``assess_aggregates`` gives the same
``Assessment`` as ``assess`` on the rows, to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._evaluate import (
    Assessment,
    AucPart,
    DelongSums,
    FeatureSet,
    Ints,
    _encode,
    _fine_groups,
    assessment_from_tables,
    delong,
    feature_sets,
    sort_scores,
    tables_from_fine,
)
from .errors import DataError


class ScoreCell(NamedTuple):
    """The scores of one group: distinct scores in ascending order, and how many
    positives and negatives have each (a score may have none of either: cells on one
    grid of scores share its points, and such zeros change no sum).

    Attributes:
        scores: Distinct scores, ascending.
        pos: Positives at each score.
        neg: Negatives at each score.
    """

    scores: NDArray[np.float64]
    pos: Ints
    neg: Ints


def merge_cells(cells: Sequence[ScoreCell], *, decimals: int | None = None) -> ScoreCell:
    """One cell of the rows of several (the union of their scores, counts added).

    Args:
        cells: The cells.
        decimals: Every score is a whole number over ``10**decimals`` (scores on a grid,
            as the batched engine finds them): the cells merge by adding counts at each
            grid point, with no sort. None, or scores off that grid: by a sort.
    """
    if len(cells) == 1:
        return cells[0]
    if not cells:
        return ScoreCell(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if all(c.scores is cells[0].scores for c in cells):  # one grid's points: add counts
        pos, neg = sum_of([c.pos for c in cells]), sum_of([c.neg for c in cells])
        return ScoreCell(cells[0].scores, pos, neg)
    if decimals is not None:
        merged = _merge_on_grid(cells, decimals)
        if merged is not None:
            return merged
    s = np.concatenate([c.scores for c in cells])
    order = np.argsort(s, kind="stable")  # sorted runs: timsort merges them
    s = s[order]
    p = np.concatenate([c.pos for c in cells])[order]
    n = np.concatenate([c.neg for c in cells])[order]
    return _dedupe(s, p, n)


def sum_of(arrays: Sequence[Ints]) -> Ints:
    """The element-wise sum of arrays of one length (a new array).

    Args:
        arrays: At least one array.
    """
    total = np.array(arrays[0], dtype=np.int64)
    for a in arrays[1:]:
        total += a
    return total


#: Grid points a merge on the grid may span, per entry of the cells merged (beyond it,
#: sparse cells on a wide grid merge by a sort).
_GRID_SPAN_PER_ENTRY = 8


def _merge_on_grid(cells: Sequence[ScoreCell], decimals: int) -> ScoreCell | None:
    """``merge_cells`` for scores on the grid of ``10**-decimals``: each score's grid index
    places its counts, and the union keeps the cells' own floats. None if a score is off
    the grid (checked, not assumed) or the grid spans too many points."""
    scale = 10.0**decimals
    index = []
    for c in cells:
        i = np.rint(c.scores * scale)
        if not np.array_equal(i / scale, c.scores) or (len(i) and np.abs(i).max() >= 2.0**50):
            return None
        index.append(i.astype(np.int64))
    present = [i for i in index if len(i)]
    if not present:
        return ScoreCell(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    low = min(int(i[0]) for i in present)  # each cell's scores ascend
    span = max(int(i[-1]) for i in present) - low + 1
    if span > _GRID_SPAN_PER_ENTRY * sum(len(i) for i in index) + (1 << 16):
        return None
    seen = np.zeros(span, dtype=bool)
    scores = np.zeros(span, dtype=np.float64)
    pos = np.zeros(span, dtype=np.int64)
    neg = np.zeros(span, dtype=np.int64)
    for i, c in zip(index, cells, strict=True):
        i -= low
        seen[i] = True  # a cell's scores are distinct: no index repeats within one
        scores[i] = c.scores
        pos[i] += c.pos
        neg[i] += c.neg
    at = np.flatnonzero(seen)
    return ScoreCell(scores[at], pos[at], neg[at])


def _dedupe(s: NDArray[np.float64], p: Ints, n: Ints) -> ScoreCell:
    """Sorted scores with repeats: one entry per distinct score, counts added."""
    if not len(s):
        return ScoreCell(s, p, n)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] != s[:-1]
    if new.all():
        return ScoreCell(s, p, n)
    starts = np.flatnonzero(new)
    return ScoreCell(s[starts], np.add.reduceat(p, starts), np.add.reduceat(n, starts))


@dataclass
class Aggregates:
    """The count tables a card is computed from (see the module docstring).

    Attributes:
        features: The sensitive columns, in order.
        counts: Sensitive columns, ``label``, ``pred``, ``n``: one row per combination.
        score_counts: Sensitive columns, ``score``, ``label``, ``n``; None without scores.
    """

    features: list[str]
    counts: pd.DataFrame
    score_counts: pd.DataFrame | None = None
    #: The same as ``score_counts``, already sorted: one cell per combination of the
    #: sensitive values (as in ``counts``, None for missing). Local engines fill it
    #: instead of ``score_counts``, which saves sorting millions of rows again.
    score_cells: dict[tuple[Any, ...], ScoreCell] | None = None
    #: Every score in ``score_cells`` is a whole number over ``10**score_decimals``, so
    #: groups merge without a sort (see ``merge_cells``); None when not known.
    score_decimals: int | None = None

    def combine(self, other: Aggregates) -> Aggregates:
        """The aggregates of both row sets (which must be disjoint).

        Args:
            other: Aggregates of other rows, with the same features.
        """
        if list(other.features) != list(self.features):
            raise DataError(
                f"Cannot combine aggregates by {self.features} with aggregates by {other.features}."
            )
        if self.score_cells is not None or other.score_cells is not None:
            raise DataError("Combine aggregates before their scores are sorted into cells.")
        if (self.score_counts is None) != (other.score_counts is None):
            raise DataError("Cannot combine aggregates with scores and without.")
        counts = _sum_n(
            pd.concat([self.counts, other.counts], ignore_index=True),
            [*self.features, "label", "pred"],
        )
        scores = None
        if self.score_counts is not None and other.score_counts is not None:
            scores = _sum_n(
                pd.concat([self.score_counts, other.score_counts], ignore_index=True),
                [*self.features, "score", "label"],
            )
        return Aggregates(list(self.features), counts, scores)


def _sum_n(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``n`` summed over the other columns (missing values kept as their own key)."""
    out = frame.groupby(keys, dropna=False, observed=True, sort=False)["n"].sum().reset_index()
    out["n"] = out["n"].astype(np.int64)
    return out


def aggregates_from_frame(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    label: str,
    pred: str,
    score: str | None = None,
) -> Aggregates:
    """The aggregates of rows held in a DataFrame (for tests and small data).

    Args:
        frame: The rows.
        features: The sensitive columns.
        label: A boolean column: the target is the positive label.
        pred: A boolean column: predicted positive.
        score: A score column, or None.
    """
    cols = list(features)
    sub = frame[[*cols, label, pred]].rename(columns={label: "label", pred: "pred"})
    counts = sub.assign(n=np.int64(1))
    agg_counts = _sum_n(counts, [*cols, "label", "pred"])
    scores = None
    if score is not None:
        s = frame[[*cols, score, label]].rename(columns={score: "score", label: "label"})
        s = s.assign(score=s["score"].astype(np.float64), n=np.int64(1))
        scores = _sum_n(s, [*cols, "score", "label"])
    return Aggregates(cols, agg_counts, scores)


def assess_aggregates(
    agg: Aggregates,
    *,
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """``assess`` on the rows the aggregates count: the same groups, in the same order,
    and the same numbers to the last bit.

    Args:
        agg: The count tables.
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups, and metrics resting on fewer people, are flagged
            and left out of disparities (default 30).
        intersection: Also assess the intersection of all features (default True).
        reference_groups: Disparities of a feature against one of its groups.
        progress: Called with a short message per phase.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must lie between 0 and 1, got {confidence}.")
    say = progress or (lambda msg: None)
    names = [str(f) for f in agg.features]
    if not names:
        raise DataError("No sensitive feature was given.", hint="Name at least one column.")
    counts = agg.counts[agg.counts["n"] > 0]
    if counts.empty:
        raise DataError("There are no rows to evaluate.", hint="Give a non-empty data set.")
    scores = agg.score_counts
    if scores is not None:
        scores = scores[scores["n"] > 0]
        bad = scores["score"].isna()
        if bad.any():
            raise DataError(
                f"The scores have {int(scores['n'][bad].sum())} missing values.",
                hint="Every row needs a score.",
            )
    # The levels come from the count table's rows, which hold every group; the score
    # table is encoded alongside so its rows get the same codes.
    both = counts[names] if scores is None else pd.concat([counts[names], scores[names]])
    codes, levels = _encode(both.reset_index(drop=True))
    fine, fine_levels = _fine_groups(codes, [len(lv) for lv in levels], len(both))
    n_fine = len(fine_levels)
    sets = feature_sets(names, levels, fine_levels, intersection=intersection)
    k = len(counts)
    cell = fine[:k] * 4 + counts["label"].to_numpy(bool) * 2 + counts["pred"].to_numpy(bool)
    fine_tab = np.zeros(n_fine * 4, dtype=np.int64)
    np.add.at(fine_tab, cell, counts["n"].to_numpy(np.int64))
    say("counting outcomes by group")
    tables = tables_from_fine(sets, fine_tab.reshape(n_fine, 2, 2))
    cells: list[ScoreCell | None] | None = None
    if scores is not None:
        cells = cells_from_counts(
            scores["score"].to_numpy(np.float64),
            scores["label"].to_numpy(bool),
            scores["n"].to_numpy(np.int64),
            fine[k:],
            n_fine,
        )
    elif agg.score_cells is not None:
        cells = _cells_by_fine(
            agg.score_cells, counts[names], fine[:k], n_fine, decimals=agg.score_decimals
        )
    aucs = None
    if cells is not None:
        say("ROC AUC by group")
        total = sum(int(c.pos.sum() + c.neg.sum()) for c in cells if c is not None)
        if total != int(tables[0].sum()):
            raise DataError(
                f"The score table counts {total} rows but the count table {int(tables[0].sum())}.",
                hint="Build both tables from the same rows.",
            )
        aucs = auc_from_cells(cells, sets, decimals=agg.score_decimals)
    return assessment_from_tables(
        names,
        sets,
        tables,
        aucs,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
        progress=say,
    )


def _cells_by_fine(
    score_cells: dict[tuple[Any, ...], ScoreCell],
    sens: pd.DataFrame,
    fine: NDArray[Any],
    n_fine: int,
    *,
    decimals: int | None = None,
) -> list[ScoreCell | None]:
    """Cells keyed by sensitive values, put at their fine group's index (``decimals``: as
    in ``merge_cells``)."""
    index: dict[tuple[Any, ...], int] = {}
    for row, f in zip(sens.itertuples(index=False, name=None), fine.tolist(), strict=True):
        index[tuple(None if pd.isna(v) else v for v in row)] = int(f)
    found: list[list[ScoreCell]] = [[] for _ in range(n_fine)]
    for key, c in score_cells.items():
        at = index.get(tuple(None if pd.isna(v) else v for v in key))
        if at is None:
            raise DataError(
                f"The score table has the group {key}, which the count table has not.",
                hint="Build both tables from the same rows.",
            )
        found[at].append(c)
    return [merge_cells(cs, decimals=decimals) if cs else None for cs in found]


def cells_from_counts(
    score: NDArray[np.float64],
    label: NDArray[np.bool_],
    n: Ints,
    fine: NDArray[Any],
    n_fine: int,
) -> list[ScoreCell | None]:
    """Per fine group, its cell, from rows of (fine group, score, label, count) in any
    order (one sort); None for a group without scores.

    Args:
        score: The scores (one per row of the table).
        label: Whether the row counts positives.
        n: How many rows share that fine group, score and label.
        fine: Each table row's fine group.
        n_fine: How many fine groups.
    """
    order, ranked = sort_scores(np.ascontiguousarray(score, dtype=np.float64))
    f = np.asarray(fine)[order]
    by = np.argsort(f.astype(_small(n_fine)), kind="stable")  # keeps score order
    f, s = f[by], ranked[by]
    cnt, lab = n[order][by], label[order][by]
    pos = np.where(lab, cnt, 0)
    neg = np.where(lab, 0, cnt)
    bounds = np.searchsorted(f, np.arange(n_fine + 1))
    out: list[ScoreCell | None] = []
    for g in range(n_fine):
        a, b = int(bounds[g]), int(bounds[g + 1])
        out.append(_dedupe(s[a:b], pos[a:b], neg[a:b]) if b > a else None)
    return out


def _small(k: int) -> type[np.integer[Any]]:
    return np.uint8 if k <= 2**8 else np.int16 if k <= 2**15 else np.int64


def auc_from_cells(
    cells: Sequence[ScoreCell | None],
    sets: Sequence[FeatureSet],
    *,
    decimals: int | None = None,
) -> list[AucPart]:
    """ROC AUC and DeLong's standard error for every group of every grouping (overall,
    then ``sets``) from each fine group's cell: the same exact sums as the row path
    (``_auc_sorted``), hence the same bits.

    Args:
        cells: Each fine group's cell (None: no rows).
        sets: The feature sets (their mappings from fine groups).
        decimals: As in ``merge_cells``: the cells' scores lie on that grid.
    """
    groupings = [[[c for c in cells if c is not None]]]
    for fs in sets:
        members: list[list[ScoreCell]] = [[] for _ in fs.labels]
        for f, c in zip(np.asarray(fs.mapping).tolist(), cells, strict=True):
            if c is not None:
                members[f].append(c)
        groupings.append(members)

    def sums_of(m: list[ScoreCell]) -> _CellSums:
        return _cell_sums(merge_cells(m, decimals=decimals))

    groups = [m for members in groupings for m in members]
    size = sum(len(c.scores) for m in groups for c in m)
    if size < _PARALLEL_SCORES:
        sums = [sums_of(m) for m in groups]
    else:  # numpy works without the GIL: groups on both cores
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="modelcards-auc") as pool:
            sums = list(pool.map(sums_of, groups))
    out, at = [], 0
    for members in groupings:
        out.append(_auc_of(sums[at : at + len(members)]))
        at += len(members)
    return out


#: Score entries (over every group of every grouping) above which the AUC sums of the
#: groups are computed on two threads.
_PARALLEL_SCORES = 1 << 20


def weighted_sums(values: Ints, weights: Ints) -> tuple[int, int]:
    """The sum of ``w * v`` and of ``w * v**2`` as exact Python integers: ``exact_sums``
    for one segment, with sums and dot products instead of running sums (a third of the
    time on a million scores). Values are split into limbs small enough that every int64
    partial sum is exact, so the result does not depend on how it is computed; the arrays
    are taken ``_BLOCK`` elements at a time, so that a block's limbs and products stay in
    the core's cache (a third of the time again on a million scores).

    Args:
        values: Non-negative integers.
        weights: Non-negative integer weights.
    """
    v = np.asarray(values, dtype=np.int64)
    w = np.asarray(weights, dtype=np.int64)
    total_w = int(w.sum())
    top = int(v.max()) if len(v) else 0
    # Each partial sum is below total_w * 2**(2 * bits) < 2**62, a block's as the whole's.
    bits = max((62 - max(total_w, 1).bit_length()) // 2, 1)
    n_limbs = max(-(-max(top, 1).bit_length() // bits), 1)
    mask = np.int64((1 << bits) - 1)
    firsts = [0] * n_limbs  # sum of w * limb i
    seconds = [[0] * n_limbs for _ in range(n_limbs)]  # sum of w * limb i * limb j
    for start in range(0, len(v), _BLOCK):
        vb, wb = v[start : start + _BLOCK], w[start : start + _BLOCK]
        # The lowest limb needs no shift, the highest no mask.
        limbs = [vb >> np.int64(bits * i) if i else vb for i in range(n_limbs)]
        limbs = [limb & mask if i < n_limbs - 1 else limb for i, limb in enumerate(limbs)]
        weighted = [limb * wb for limb in limbs]
        for i in range(n_limbs):
            firsts[i] += int(weighted[i].sum())
            for j in range(i, n_limbs):
                seconds[i][j] += int(np.dot(weighted[i], limbs[j]))
    s1 = sum(firsts[i] << (bits * i) for i in range(n_limbs))
    s2 = sum(
        ((1 if i == j else 2) * seconds[i][j]) << (bits * (i + j))
        for i in range(n_limbs)
        for j in range(i, n_limbs)
    )
    return s1, s2


#: Elements per block in ``weighted_sums``: a block's few int64 arrays fit a core's cache.
_BLOCK = 1 << 15


class _CellSums(NamedTuple):
    """One group's positives, negatives and exact DeLong sums (see ``DelongSums``)."""

    p: int
    n: int
    u2: int
    b4: int
    a4: int


def _cell_sums(c: ScoreCell) -> _CellSums:
    p, n = int(c.pos.sum()), int(c.neg.sum())
    # Negatives below each score and positives above it, doubled (ties count half);
    # in place: each new array of a million scores costs page faults.
    b = np.cumsum(c.neg)
    b -= c.neg
    b *= 2
    b += c.neg
    a = np.cumsum(c.pos)
    np.subtract(p, a, out=a)
    a *= 2
    a += c.pos
    u2, b4 = weighted_sums(b, c.pos)
    _, a4 = weighted_sums(a, c.neg)
    return _CellSums(p, n, u2, b4, a4)


def _auc_of(groups: list[_CellSums]) -> AucPart:
    P = np.array([g.p for g in groups], dtype=np.int64)
    N = np.array([g.n for g in groups], dtype=np.int64)
    sums = DelongSums([g.u2 for g in groups], [g.b4 for g in groups], [g.a4 for g in groups])
    value, se = delong(P, N, sums)
    return AucPart(value, se)
