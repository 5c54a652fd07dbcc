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
    exact_sums,
    feature_sets,
    sort_scores,
    tables_from_fine,
)
from .errors import DataError


class ScoreCell(NamedTuple):
    """The scores of one group: distinct scores in ascending order, and how many
    positives and negatives have each.

    Attributes:
        scores: Distinct scores, ascending.
        pos: Positives at each score.
        neg: Negatives at each score.
    """

    scores: NDArray[np.float64]
    pos: Ints
    neg: Ints


def merge_cells(cells: Sequence[ScoreCell]) -> ScoreCell:
    """One cell of the rows of several (the union of their scores, counts added).

    Args:
        cells: The cells.
    """
    if len(cells) == 1:
        return cells[0]
    if not cells:
        return ScoreCell(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    s = np.concatenate([c.scores for c in cells])
    order = np.argsort(s, kind="stable")  # sorted runs: timsort merges them
    s = s[order]
    p = np.concatenate([c.pos for c in cells])[order]
    n = np.concatenate([c.neg for c in cells])[order]
    return _dedupe(s, p, n)


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
        cells = _cells_by_fine(agg.score_cells, counts[names], fine[:k], n_fine)
    aucs = None
    if cells is not None:
        say("ROC AUC by group")
        total = sum(int(c.pos.sum() + c.neg.sum()) for c in cells if c is not None)
        if total != int(tables[0].sum()):
            raise DataError(
                f"The score table counts {total} rows but the count table {int(tables[0].sum())}.",
                hint="Build both tables from the same rows.",
            )
        aucs = auc_from_cells(cells, sets)
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
) -> list[ScoreCell | None]:
    """Cells keyed by sensitive values, put at their fine group's index."""
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
    return [merge_cells(cs) if cs else None for cs in found]


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


def auc_from_cells(cells: Sequence[ScoreCell | None], sets: Sequence[FeatureSet]) -> list[AucPart]:
    """ROC AUC and DeLong's standard error for every group of every grouping (overall,
    then ``sets``) from each fine group's cell: the same exact sums as the row path
    (``_auc_sorted``), hence the same bits.

    Args:
        cells: Each fine group's cell (None: no rows).
        sets: The feature sets (their mappings from fine groups).
    """
    present = [c for c in cells if c is not None]
    out = [_auc_of([merge_cells(present)])]
    for fs in sets:
        members: list[list[ScoreCell]] = [[] for _ in fs.labels]
        for f, c in zip(np.asarray(fs.mapping).tolist(), cells, strict=True):
            if c is not None:
                members[f].append(c)
        out.append(_auc_of([merge_cells(m) for m in members]))
    return out


def _auc_of(groups: list[ScoreCell]) -> AucPart:
    P, N = [], []
    sums = DelongSums([], [], [])
    for c in groups:
        p, n = int(c.pos.sum()), int(c.neg.sum())
        # Negatives below each score and positives above it, doubled (ties count half).
        b = 2 * (np.cumsum(c.neg) - c.neg) + c.neg
        a = 2 * (p - np.cumsum(c.pos)) + c.pos
        one = np.array([0, len(c.scores)], dtype=np.int64)
        u2, b4 = exact_sums(b, c.pos, one)
        _, a4 = exact_sums(a, c.neg, one)
        P.append(p)
        N.append(n)
        sums.u2.append(u2[0])
        sums.b4.append(b4[0])
        sums.a4.append(a4[0])
    value, se = delong(np.array(P, dtype=np.int64), np.array(N, dtype=np.int64), sums)
    return AucPart(value, se)
