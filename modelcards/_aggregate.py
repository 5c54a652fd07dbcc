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
from typing import Any

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

    def combine(self, other: Aggregates) -> Aggregates:
        """The aggregates of both row sets (which must be disjoint).

        Args:
            other: Aggregates of other rows, with the same features.
        """
        if list(other.features) != list(self.features):
            raise DataError(
                f"Cannot combine aggregates by {self.features} with aggregates by {other.features}."
            )
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
    aucs = None
    if scores is not None:
        say("ROC AUC by group")
        aucs = auc_from_counts(
            scores["score"].to_numpy(np.float64),
            scores["label"].to_numpy(bool),
            scores["n"].to_numpy(np.int64),
            fine[k:],
            sets,
        )
        _check_score_totals(tables, scores["n"].to_numpy(np.int64))
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


def _check_score_totals(tables: list[Ints], n: Ints) -> None:
    if int(n.sum()) != int(tables[0].sum()):
        raise DataError(
            f"The score table counts {int(n.sum())} rows but the count table "
            f"{int(tables[0].sum())}.",
            hint="Build both tables from the same rows.",
        )


def auc_from_counts(
    score: NDArray[np.float64],
    label: NDArray[np.bool_],
    n: Ints,
    fine: NDArray[Any],
    sets: Sequence[FeatureSet],
) -> list[AucPart]:
    """ROC AUC and DeLong's standard error for every group of every grouping (overall,
    then ``sets``) from counts per (fine group, score, label): the same exact sums as the
    row path (``_auc_sorted``), hence the same bits.

    Args:
        score: The distinct scores (one per row of the table).
        label: Whether the row counts positives.
        n: How many rows share that fine group, score and label.
        fine: Each table row's fine group.
        sets: The feature sets (their mappings from fine groups).
    """
    order, ranked = sort_scores(np.ascontiguousarray(score, dtype=np.float64))
    lab, cnt, fine_sorted = label[order], n[order], np.asarray(fine)[order]
    out: list[AucPart] = []
    groupings: list[tuple[Ints | None, int]] = [(None, 1)]
    groupings += [(np.asarray(fs.mapping, dtype=np.int64), len(fs.labels)) for fs in sets]
    for mapping, k in groupings:
        if mapping is None:
            codes = np.zeros(len(ranked), dtype=np.int64)
            s, y, c = ranked, lab, cnt
        else:
            g = mapping[fine_sorted]
            by = np.argsort(g, kind="stable")  # keeps score order within a group
            codes, s, y, c = g[by], ranked[by], lab[by], cnt[by]
        out.append(_auc_runs(codes, s, y, c, k))
    return out


def _auc_runs(
    codes: Ints, s: NDArray[np.float64], y: NDArray[np.bool_], c: Ints, k: int
) -> AucPart:
    """One grouping's AUC from rows sorted by (group, score)."""
    m = len(s)
    new = np.ones(m, dtype=bool)
    if m:
        new[1:] = (codes[1:] != codes[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new)
    pos_w = np.where(y, c, 0)
    neg_w = np.where(y, 0, c)
    pos = np.add.reduceat(pos_w, starts) if m else np.zeros(0, dtype=np.int64)
    neg = np.add.reduceat(neg_w, starts) if m else np.zeros(0, dtype=np.int64)
    run_group = codes[starts]
    per_group = np.bincount(run_group, minlength=k)
    gstart = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(per_group, out=gstart[1:])
    P = np.bincount(run_group, weights=pos, minlength=k).astype(np.int64)
    N = np.bincount(run_group, weights=neg, minlength=k).astype(np.int64)
    # Negatives below each run within its group, and positives above it.
    cneg = np.cumsum(neg) - neg
    cpos = np.cumsum(pos)
    neg_before = cneg - (np.cumsum(N) - N)[run_group]
    pos_after = np.cumsum(P)[run_group] - cpos
    b = 2 * neg_before + neg  # twice the negatives below a positive of the run
    a = 2 * pos_after + pos  # twice the positives above a negative of the run
    u2, b4 = exact_sums(b, pos, gstart)
    _, a4 = exact_sums(a, neg, gstart)
    value, se = delong(P, N, DelongSums(u2, b4, a4))
    return AucPart(value, se)
