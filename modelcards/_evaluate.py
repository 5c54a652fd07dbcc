"""Per-group and intersectional fairness metrics with exact and simultaneous intervals.

Fairlearn's ``MetricFrame`` is the reference: every confusion-matrix metric here is the
same arithmetic on the same counts (tests show equality to the last digit). ROC AUC is
the exact U / (P * N), which scikit-learn's trapezoid (what ``MetricFrame`` calls)
matches to about 1e-15.

Why it is fast: every confusion-matrix metric of every group, and its interval (see
``_intervals``), is a function of the (group, label, prediction) count table, counted once;
single-feature tables are margins of the intersectional one. ROC AUC is not a function of
the counts: it is the exact Mann-Whitney U with DeLong's interval, from one sort of the
scores and, per grouping, a radix sort of small group codes (``auc_by_group``).

A card splits the work in two: ``prepare_groups`` (target and groups, no predictions) runs
while the model predicts, then ``assess_groups`` takes the predictions; ``assess`` is both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, SupportsFloat, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from ._background import background
from ._intervals import against_reference, between_groups, clopper_pearson, mean_of_two
from ._metrics import (
    DENOMINATOR_NOUNS,
    DISPARITIES,
    METRICS,
    RATE_METRICS,
    Denominator,
    DisparityKind,
    Task,
    metric_phrase,
    metric_specs,
)
from .errors import DataError, UnsupportedTaskError

MISSING = "(missing)"

#: Names reported for every group of a binary classifier, in table order (see ``_metrics``
#: for what each means).
METRIC_NAMES = [m.name for m in metric_specs(task="binary")]

#: One value (a label or a score) per row: a Series, an array or a list.
PerRow: TypeAlias = "pd.Series[Any] | NDArray[Any] | Sequence[Any]"
Bools: TypeAlias = NDArray[np.bool_]
Ints: TypeAlias = NDArray[np.integer[Any]]  # codes, counts and positions, of any width
Floats: TypeAlias = NDArray[np.float64]


class Estimate(BaseModel):
    """A point value with its confidence interval; all ``None`` where undefined (the
    metric's denominator is zero). ``support`` is the count the value divides by (for
    ROC AUC, the smaller of the actual positives and negatives)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci_low: float | None
    ci_high: float | None
    support: int | None = None


class GroupResult(BaseModel):
    """One group: its size, label balance and metrics. ``small`` flags a group with
    fewer rows than the minimum group size; ``too_small_for`` names the metrics whose own
    denominator is under it (left out of those metrics' disparities and checks).
    A regression has no label balance: ``positives`` and ``negatives`` are None."""

    model_config = ConfigDict(extra="forbid")

    features: dict[str, str]
    n: int
    positives: int | None
    negatives: int | None
    small: bool
    too_small_for: list[str] = []
    metrics: dict[str, Estimate]


class GroupValue(BaseModel):
    """A group a disparity compares, and its value of the metric."""

    model_config = ConfigDict(extra="forbid")

    group: str
    value: float | None


class LeftOut(BaseModel):
    """A group a disparity could not use, and why."""

    model_config = ConfigDict(extra="forbid")

    group: str
    reason: str


class Disparity(BaseModel):
    """A metric's largest difference or smallest ratio between groups (or to the
    reference group), with a simultaneous interval. ``compared`` names the two groups
    that give the value: the lower and the higher (or the reference and the farthest);
    ``via`` names the metric that decides a summary of two metrics (equalized odds)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["difference", "ratio"]
    features: list[str]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    reference: str | None = None
    groups_compared: int
    compared: list[GroupValue] = []
    via: str | None = None
    left_out: list[LeftOut] = []


class Assessment(BaseModel):
    """Everything ``assess`` computed: overall, per group, disparities, and how."""

    model_config = ConfigDict(extra="forbid")

    sensitive_features: list[str]
    metrics: list[str]
    overall: GroupResult
    groups: list[GroupResult]
    disparities: list[Disparity]
    confidence: float
    min_group_size: int
    notes: list[str]
    task: Task = "binary"
    #: A multiclass model's one-vs-rest assessment of each class (empty otherwise).
    classes: list[ClassAssessment] = []

    def class_assessment(self, label: str) -> Assessment:
        """One class's one-vs-rest assessment (a multiclass model); KeyError when the
        class was not assessed.

        Args:
            label: The class, as text (``"approved"``).
        """
        for c in self.classes:
            if c.label == str(label):
                return c.assessment
        raise KeyError(f"no class {label!r}")

    def feature_sets(self) -> list[list[str]]:
        """The feature sets assessed, in order: each sensitive feature, then their intersection."""
        seen: list[list[str]] = []
        for g in self.groups:
            keys = list(g.features)
            if keys not in seen:
                seen.append(keys)
        return seen

    def groups_for(self, features: Sequence[str]) -> list[GroupResult]:
        """The groups of one feature set.

        Args:
            features: The feature set, e.g. ``["sex"]`` or ``["sex", "race"]``.
        """
        return [g for g in self.groups if list(g.features) == list(features)]

    def disparity(self, metric: str, kind: DisparityKind, features: Sequence[str]) -> Disparity:
        """One metric's disparity within a feature set; KeyError when it was not computed.

        Args:
            metric: A metric (``"selection_rate"``) or a named summary
                (``"equalized_odds_difference"``).
            kind: ``"difference"`` or ``"ratio"``.
            features: The feature set, e.g. ``["sex"]``.
        """
        for d in self.disparities:
            if d.metric == metric and d.kind == kind and d.features == list(features):
                return d
        raise KeyError(f"no {kind} of {metric} for {list(features)}")


class ClassAssessment(BaseModel):
    """One class of a multiclass model, judged one-vs-rest: the class is the positive
    outcome and every other class the negative, so every binary metric, disparity and
    interval applies (``assessment.task == "binary"``)."""

    model_config = ConfigDict(extra="forbid")

    label: str
    assessment: Assessment


Assessment.model_rebuild()


def group_label(features: Mapping[str, str]) -> str:
    """A group as text: ``sex=F & race=Black``.

    Args:
        features: The group's value of each feature.

    >>> group_label({"sex": "F", "race": "Black"})
    'sex=F & race=Black'
    """
    return " & ".join(f"{k}={v}" for k, v in features.items())


# -- inputs -----------------------------------------------------------------------------
def _binary(
    y: PerRow, *, name: str, pos_label: object, labels: set[object] | None = None
) -> tuple[Bools, set[object]]:
    """``y == pos_label`` as booleans, and the set of values seen; errors on missing or
    non-binary values."""
    s = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy())
    # Integers and booleans cannot be missing; skip the scan.
    missing = None if s.dtype.kind in "biu" else s.isna()
    if missing is not None and missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{name} has {int(missing.sum())} missing value(s) (first at row {first}).",
            hint=f"Drop or fill the rows with no {name} before making a card.",
        )
    values = set(pd.unique(s))
    if labels is not None and not values <= labels:
        extra = sorted(map(str, values - labels))
        raise UnsupportedTaskError(
            f"{name} has values {extra} that are not among the target's labels "
            f"{sorted(map(str, labels))}.",
            hint="Predictions must use the same two labels as the target.",
        )
    if len(values) > 2:
        shown = ", ".join(map(repr, sorted(values, key=str)[:6]))
        raise UnsupportedTaskError(
            f"{name} has {len(values)} distinct values ({shown}...); modelcards supports "
            "binary classification only.",
            hint="Give a target with exactly two values, or binarise it first "
            "(for example with --positive-label).",
        )
    return (s == pos_label).to_numpy(), values


def _encode(sensitive: pd.DataFrame) -> tuple[list[Ints], list[NDArray[np.object_]]]:
    """Each sensitive column's group codes per row (0..k-1), and its k group names."""
    codes: list[Ints] = []
    levels: list[NDArray[np.object_]] = []
    for name in sensitive.columns:
        s = sensitive[name]
        c: Ints
        lv: NDArray[np.object_]
        if isinstance(s.dtype, pd.CategoricalDtype) and not s.isna().any():
            c, lv = s.cat.codes.to_numpy(), np.asarray(s.cat.categories.astype(str))
            used = np.flatnonzero(np.bincount(c, minlength=len(lv)))
            if len(used) < len(lv):  # drop categories no row has
                remap = np.full(len(lv), -1)
                remap[used] = np.arange(len(used))
                c, lv = remap[c], lv[used]
        else:
            c, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
            lv = np.asarray([str(v) for v in uniques], dtype=object)
            if (c < 0).any():
                c = np.where(c < 0, len(lv), c)
                lv = np.append(lv, MISSING)
        if len(lv) < 2:
            only = lv[0] if len(lv) else "nothing"
            raise DataError(
                f"Sensitive column {name!r} has a single value ({only!r}): there are no "
                "groups to compare.",
                hint="Choose a sensitive column with at least two groups.",
            )
        codes.append(np.asarray(c, dtype=np.int64))
        levels.append(lv)
    return codes, levels


# -- metrics on count tables ----------------------------------------------------------
def _div(a: Ints, b: Ints) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def rates(tn: Ints, fp: Ints, fn: Ints, tp: Ints) -> dict[str, Floats]:
    """Confusion-matrix metrics for arrays of counts, as scikit-learn and Fairlearn define
    them, in the vocabulary's order; NaN where the denominator is zero (where they return
    0 with a warning, we say "undefined").

    Args:
        tn: True negatives per group.
        fp: False positives per group.
        fn: False negatives per group.
        tp: True positives per group.
    """
    tn, fp, fn, tp = (np.asarray(x, dtype=np.int64) for x in (tn, fp, fn, tp))
    n, pos, neg = tn + fp + fn + tp, tp + fn, tn + fp
    tpr, tnr = _div(tp, pos), _div(tn, neg)
    # balanced accuracy averages recall over the classes present in y_true.
    balanced = np.where((pos > 0) & (neg > 0), (tnr + tpr) / 2, np.where(pos > 0, tpr, tnr))
    return {
        "selection_rate": _div(tp + fp, n),
        "true_positive_rate": tpr,
        "false_positive_rate": _div(fp, neg),
        "false_negative_rate": _div(fn, pos),
        "true_negative_rate": tnr,
        "accuracy_score": _div(tp + tn, n),
        "balanced_accuracy_score": balanced,
        "precision_score": _div(tp, tp + fp),
    }


def _counts(tab: Ints) -> dict[str, Ints]:
    tn, fp, fn, tp = tab[:, 0, 0], tab[:, 0, 1], tab[:, 1, 0], tab[:, 1, 1]
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, "n": tn + fp + fn + tp}


#: Each rate's numerator, from the counts; its denominator comes from the vocabulary.
_NUMERATOR: dict[str, Callable[[dict[str, Ints]], Ints]] = {
    "selection_rate": lambda c: c["tp"] + c["fp"],
    "true_positive_rate": lambda c: c["tp"],
    "false_positive_rate": lambda c: c["fp"],
    "false_negative_rate": lambda c: c["fn"],
    "true_negative_rate": lambda c: c["tn"],
    "accuracy_score": lambda c: c["tp"] + c["tn"],
    "precision_score": lambda c: c["tp"],
}


def support(metric: str, tab: Ints) -> Ints:
    """The count each group's value of ``metric`` divides by, from the vocabulary's
    denominator (for balanced accuracy: the smaller of the classes present).

    Args:
        metric: A rate metric's name.
        tab: Count tables, one (actual, predicted) 2x2 table per group.
    """
    c = _counts(tab)
    pos, neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
    by: dict[Denominator, Ints] = {
        "rows": c["n"],
        "actual_positives": pos,
        "actual_negatives": neg,
        "predicted_positives": c["tp"] + c["fp"],
        "both_classes": np.where((pos > 0) & (neg > 0), np.minimum(pos, neg), pos + neg),
        "positive_negative_pairs": np.minimum(pos, neg),
    }
    return by[METRICS[metric].denominator]


def rate_intervals(
    tab: Ints, alpha: float | Floats, metrics: Sequence[str] = RATE_METRICS
) -> dict[str, tuple[Floats, Floats]]:
    """Clopper-Pearson bounds of rate metrics per group (NaN where undefined).

    Args:
        tab: Count tables, one per group.
        alpha: One minus the confidence level, per group (an array for simultaneous
            intervals).
        metrics: Which rate metrics (default: all).
    """
    c = _counts(tab)
    out = {
        m: clopper_pearson(_NUMERATOR[m](c), support(m, tab), alpha)
        for m in metrics
        if m in _NUMERATOR
    }
    if "balanced_accuracy_score" in metrics:
        # The mean of the two recalls' bounds, each at alpha / 2; with one class absent,
        # that class's recall.
        pos, neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
        half = np.asarray(alpha, dtype=float) / 2
        tl, th = clopper_pearson(c["tp"], pos, half)
        nl, nh = clopper_pearson(c["tn"], neg, half)
        pl, ph = clopper_pearson(c["tp"], pos, alpha)
        ql, qh = clopper_pearson(c["tn"], neg, alpha)
        both = (pos > 0) & (neg > 0)
        ml, mh = mean_of_two(tl, th, nl, nh)
        out["balanced_accuracy_score"] = (
            np.where(both, ml, np.where(pos > 0, pl, ql)),
            np.where(both, mh, np.where(pos > 0, ph, qh)),
        )
    return {m: out[m] for m in metrics}


# -- ROC AUC: exact Mann-Whitney U and DeLong intervals, every grouping from one sort ----
def sort_scores(score: Floats) -> tuple[NDArray[np.intp], Floats]:
    """``order = np.argsort(score)`` and ``score[order]``, equal scores in any order.

    Sorts 64-bit keys that hold a score's leading bits above its row number, which
    numpy's vectorised sort handles in a third of the time of an argsort; scores that
    agree in those leading bits but differ after them (rare: about 2**-(44 - log2 n)
    apart) are then put in order one small run at a time.
    """
    n = len(score)
    bits = max(int(n - 1).bit_length(), 1)
    if n < 1 << 16 or bits > 24:
        order = np.argsort(score)
        return order, score[order]
    u = np.ascontiguousarray(score, dtype=np.float64).view(np.uint64)
    # An unsigned key in float order: flip the sign bit of positives, every bit of negatives.
    key = u ^ ((u >> np.uint64(63)) * np.uint64(0xFFFFFFFFFFFFFFFF) | np.uint64(1 << 63))
    key >>= np.uint64(bits)
    key <<= np.uint64(bits)
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << bits) - 1)).astype(np.intp)
    ranked = score[order]
    wrong = np.flatnonzero(ranked[1:] < ranked[:-1])
    if wrong.size > 4096:  # not worth mending (never seen with real scores)
        order = np.argsort(score)
        return order, score[order]
    top = key >> np.uint64(bits)
    for j in wrong.tolist():
        a, b = j, j + 2  # the run of equal leading bits around rows j and j + 1
        while a > 0 and top[a - 1] == top[j]:
            a -= 1
        while b < n and top[b] == top[j]:
            b += 1
        run = order[a:b]
        order[a:b] = run[np.argsort(score[run], kind="stable")]
        ranked[a:b] = score[order[a:b]]
    return order, ranked


class Grouping(NamedTuple):
    """Every row's group in one grouping, for ``auc_by_group``.

    Attributes:
        codes: Each row's group, 0..k-1; None puts every row in one group.
        k: How many groups.
        sizes: Rows per group, when they are known already.
    """

    codes: Ints | None
    k: int
    sizes: Ints | None = None


class _TiedRuns(NamedTuple):
    """Rows in runs of equal scores within a group, for ``_correct_ties``."""

    where: Ints  # their positions in (group, score) order
    key: Ints  # the same for the rows of one run


def auc_by_group(score: Floats, y: Bools, groupings: Sequence[Grouping]) -> tuple[Floats, Floats]:
    """ROC AUC and its DeLong standard error for every group of several groupings.

    Each ``Grouping(codes, k)`` in ``groupings`` gives every row's group (0..k-1) in one
    grouping (overall: ``Grouping(None, 1)``, one feature, the intersection); its third
    item may give the groups' sizes when they are known already. Scores are sorted once; each
    grouping then needs only a stable (radix) sort of small group codes, which keeps the
    score order inside every group. There, the negatives below a positive follow from its
    position and how many positives precede it, so U (ties count one half) is a sum of
    integers and halves, exact in float64; the AUC is U / (P * N), correctly rounded
    (scikit-learn's trapezoid agrees to ~1e-15). NaN for a group without both classes.
    Returns the groupings' values concatenated in order.
    """
    n = len(score)
    order, ranked = sort_scores(np.ascontiguousarray(score))
    y_sorted = y[order]
    # Equal scores sit side by side in score order. When they are few (as with a model's
    # probabilities), find them here once; each grouping then locates those rows by
    # binary search instead of comparing a million scores again.
    tied = np.flatnonzero(ranked[1:] == ranked[:-1])
    few_ties = 0 < tied.size <= 128
    if few_ties:
        tie_rows = np.union1d(tied, tied + 1)  # positions in score order, every tied run
        tie_run = np.cumsum(~np.isin(tie_rows - 1, tied)) - 1  # which run each belongs to

    def one(grouping: Grouping) -> tuple[Floats, Floats]:
        row_codes, k, counts = Grouping(*grouping)  # a plain (codes, k) tuple works too
        sizes: Ints
        codes: Ints
        by_group: NDArray[np.intp] | None
        if row_codes is None:
            sizes = np.array([n])
            ys, codes, by_group = y_sorted, np.zeros(n, dtype=np.int16), None
        else:
            sizes = np.bincount(row_codes, minlength=k) if counts is None else counts
            # small codes take numpy's radix sort, which keeps score order within a group
            codes = row_codes[order]
            by_group = np.argsort(codes, kind="stable")
            ys = y_sorted[by_group]
        gstart = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(sizes, out=gstart[1:])
        ties: _TiedRuns | None = None
        if few_ties:
            c = codes[tie_rows]
            where: Ints
            if by_group is None:
                where = tie_rows
            else:  # a group's rows keep their score order: binary search its segment
                where = np.array(
                    [
                        gstart[g] + np.searchsorted(by_group[gstart[g] : gstart[g + 1]], r)
                        for g, r in zip(c.tolist(), tie_rows.tolist(), strict=True)
                    ],
                    dtype=np.int64,
                )
            ties = _TiedRuns(where, tie_run * k + c)
        elif tied.size:
            ss = ranked if by_group is None else ranked[by_group]
            ties = _tied_runs(ss, gstart)
        return _auc_sorted(ys, sizes, gstart, ties)

    # One after another: these passes are bound by memory, and threads gained nothing.
    aucs, ses = zip(*map(one, groupings), strict=True)
    return np.concatenate(aucs), np.concatenate(ses)


def _tied_runs(ss: Floats, gstart: Ints) -> _TiedRuns:
    """Positions of rows whose score equals a neighbour's in the same group, and a key
    that is the same for the rows of one run of equal scores."""
    same = ss[1:] == ss[:-1]  # same[j]: rows j and j + 1 tie
    same[gstart[1:-1] - 1] = False  # never across groups
    t = np.flatnonzero(same)
    rows = np.union1d(t, t + 1)
    cont = np.zeros(len(rows), dtype=bool)
    cont[rows > 0] = same[rows[rows > 0] - 1]
    return _TiedRuns(rows, np.cumsum(~cont) - 1)


def _auc_sorted(
    ys: Bools, sizes: Ints, gstart: Ints, ties: _TiedRuns | None
) -> tuple[Floats, Floats]:
    """AUC and DeLong SE per group for labels ``ys`` sorted by (group, score).

    ``ties`` is None when no two scores in a group are equal, else the positions of the
    rows in tied runs and a key naming each run."""
    ppos, npos = np.flatnonzero(ys), np.flatnonzero(~ys)
    pos_at = np.searchsorted(ppos, gstart)  # positives before each group boundary
    P = np.diff(pos_at)
    N = sizes - P
    neg_at = gstart - pos_at  # negatives before each group boundary
    # The m-th positive has m positives before it, hence x = position - m negatives, of
    # which neg_at[group] belong to earlier groups: below = x - neg_at[group]. A negative
    # has w positives before it and pos_at[group + 1] - w above it. Exact when no two
    # scores in a group are equal; tied runs are corrected below.
    count = np.arange(max(len(ppos), len(npos)), dtype=float)
    x = np.subtract(ppos, count[: len(ppos)], dtype=float)
    w = np.subtract(npos, count[: len(npos)], dtype=float)
    if ties is not None:
        _correct_ties(ys, ppos, *ties, x, w)
    # Per-group sums of below, below**2 and above**2 from sums of x and w (no per-row
    # group offsets needed), in exact integers (doubled: x and w hold halves), so that the
    # same statistics from aggregated counts (``auc_from_cells``) give the same bits.
    seg_p = np.zeros(len(P) + 1, dtype=np.int64)
    np.cumsum(P, out=seg_p[1:])
    seg_n = np.zeros(len(N) + 1, dtype=np.int64)
    np.cumsum(N, out=seg_n[1:])
    sx, sxx = exact_sums(np.asarray(2 * x, dtype=np.int64), None, seg_p)
    sw, sww = exact_sums(np.asarray(2 * w, dtype=np.int64), None, seg_n)
    u2, b4, a4 = [], [], []
    for g in range(len(P)):
        p, m = int(P[g]), int(N[g])
        c2, d2 = 2 * int(neg_at[g]), 2 * int(pos_at[g + 1])
        u2.append(sx[g] - p * c2)
        b4.append(sxx[g] - 2 * c2 * sx[g] + p * c2 * c2)
        a4.append(m * d2 * d2 - 2 * d2 * sw[g] + sww[g])
    return delong(P, N, DelongSums(u2, b4, a4))


class DelongSums(NamedTuple):
    """Exact per-group sums behind ROC AUC and DeLong's variance, in Python integers.

    Attributes:
        u2: Twice U: per positive, the negatives scored below it (ties count one half).
        b4: Four times the sum over positives of (negatives below) squared.
        a4: Four times the sum over negatives of (positives above) squared.
    """

    u2: list[int]
    b4: list[int]
    a4: list[int]


def delong(P: Ints, N: Ints, sums: DelongSums) -> tuple[Floats, Floats]:
    """ROC AUC and DeLong's standard error per group from exact sums: the one place both
    the row path and the aggregate path turn them into floats.

    Args:
        P: Positives per group.
        N: Negatives per group.
        sums: The exact sums (see ``DelongSums``).
    """
    U = np.array([float(v) for v in sums.u2], dtype=float) / 2
    below2 = np.array([float(v) for v in sums.b4], dtype=float) / 4
    above2 = np.array([float(v) for v in sums.a4], dtype=float) / 4
    Pf, Nf = np.asarray(P, dtype=float), np.asarray(N, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = U / (Pf * Nf)
        var10 = (below2 / Nf**2 - Pf * auc**2) / (Pf - 1)
        var01 = (above2 / Pf**2 - Nf * auc**2) / (Nf - 1)
        se = np.sqrt(np.maximum(var10 / Pf + var01 / Nf, 0))
    return (
        np.where((Pf > 0) & (Nf > 0), auc, np.nan),
        np.where((Pf > 1) & (Nf > 1), se, np.nan),
    )


def exact_sums(values: Ints, weights: Ints | None, starts: Ints) -> tuple[list[int], list[int]]:
    """Per segment ``[starts[g], starts[g + 1])``: the sum of ``w * v`` and of ``w * v**2``
    as exact Python integers (``w`` is 1 without weights).

    Float sums of squares round in an order that depends on how rows are split; these do
    not. Values are split into limbs small enough that every int64 partial sum is exact.

    Args:
        values: Non-negative integers.
        weights: Non-negative integer weights, or None for 1 each.
        starts: Segment boundaries (length: segments + 1).
    """
    v = np.asarray(values, dtype=np.int64)
    w = None if weights is None else np.asarray(weights, dtype=np.int64)
    total_w = len(v) if w is None else int(w.sum())
    top = int(v.max()) if len(v) else 0
    # total_w * 2**(2 * bits) < 2**63: no int64 partial sum can overflow.
    bits = max((62 - max(total_w, 1).bit_length()) // 2, 1)
    n_limbs = max(-(-max(top, 1).bit_length() // bits), 1)
    mask = np.int64((1 << bits) - 1)
    limbs = [(v >> np.int64(bits * i)) & mask for i in range(n_limbs)]
    weighted = limbs if w is None else [limb * w for limb in limbs]
    lo, hi = starts[:-1], starts[1:]

    def seg(arr: Ints) -> list[int]:
        c = np.zeros(len(arr) + 1, dtype=np.int64)
        np.cumsum(arr, out=c[1:])
        return [int(a) - int(b) for a, b in zip(c[hi].tolist(), c[lo].tolist(), strict=True)]

    k = len(starts) - 1
    s1 = [0] * k
    s2 = [0] * k
    for i in range(n_limbs):
        part = seg(weighted[i])
        for g in range(k):
            s1[g] += part[g] << (bits * i)
        for j in range(i, n_limbs):
            prod = seg(weighted[i] * limbs[j])
            factor = (1 if i == j else 2) << (bits * (i + j))
            for g in range(k):
                s2[g] += factor * prod[g]
    return s1, s2


def _correct_ties(
    ys: Bools, ppos: NDArray[np.intp], where: Ints, key: Ints, x: Floats, w: Floats
) -> None:
    """Count the other class tied with a row as one half, for the rows in tied runs.

    A positive in a run [a, b) of equal scores has every negative before the run below
    it, plus half of those inside; the position formula counted those before itself.
    Likewise a negative has the positives after the run above it, plus half of those
    inside (``w`` counts the positives not above it). Corrects ``x`` and ``w`` in place.
    """
    if not where.size:
        return
    o = np.argsort(where, kind="stable")
    where, key = where[o], key[o]
    first = np.ones(len(where), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    run = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(where)) - 1
    a, b = where[starts][run], where[ends][run] + 1
    if len(where) > 256:  # many: one cumulative count beats binary searches
        cum = np.zeros(len(ys) + 1, dtype=np.int64)
        np.cumsum(ys, out=cum[1:])

        def cpos(q: Ints) -> Ints:
            return cum[q]
    else:

        def cpos(q: Ints) -> Ints:
            return np.searchsorted(ppos, q)  # positives before position q

    p = ys[where]
    q, qa, qb = where[p], a[p], b[p]
    cq, ca, cb = cpos(q), cpos(qa), cpos(qb)
    negs_a, negs_b = qa - ca, qb - cb
    x[cq] += negs_a - (q - cq) + 0.5 * (negs_b - negs_a)
    q, qa, qb = where[~p], a[~p], b[~p]
    cq, ca, cb = cpos(q), cpos(qa), cpos(qb)
    w[q - cq] -= cq - cb + 0.5 * (cb - ca)


# -- the assessment ---------------------------------------------------------------------
class FeatureSet(NamedTuple):
    """One reported grouping: a feature (or the intersection of several) and its groups.

    Attributes:
        features: The sensitive columns it groups by.
        mapping: Each fine group's group index in this grouping.
        labels: Each group's level by column, e.g. ``{"sex": "F"}``.
    """

    features: list[str]
    mapping: Ints
    labels: list[dict[str, str]]


@dataclass
class Groups:
    """The target and the groups of every row, checked and encoded once.

    Needs no predictions, so a card prepares it while the model predicts.
    """

    names: list[str]
    n_rows: int
    yt: Bools  # target == positive label
    labels: set[object]  # the target's values
    pos_label: object
    n_fine: int  # groups in the intersection of all features (the finest grouping)
    sets: list[FeatureSet]  # every reported grouping
    cell: Ints  # fine * 4 + target * 2: the count-table cell, less the prediction
    row_codes: list[Ints]  # each row's group in each of ``sets`` (small integers)
    sizes: list[Ints]  # rows per group in each of ``sets``


def _small_int(k: int) -> type[np.integer[Any]]:
    """The narrowest integer type for codes 0..k-1: less memory to move, and numpy sorts
    8- and 16-bit integers by radix."""
    return np.uint8 if k <= 2**8 else np.int16 if k <= 2**15 else np.int64


def _fine_groups(codes: list[Ints], sizes: list[int], n_rows: int) -> tuple[Ints, Ints]:
    """The finest grouping, the intersection of all features: every row's group
    (0..n_fine-1, only combinations that occur) and each group's level per feature."""
    combos = int(np.prod(sizes, dtype=float))
    if combos >= 2**62:  # the mixed-radix code would overflow
        raise DataError(
            f"The sensitive columns have {' x '.join(map(str, sizes))} distinct values: too "
            "many combinations to compare groups.",
            hint="Choose columns that name groups (a few to a few hundred values each).",
        )
    fine = np.zeros(n_rows, dtype=np.int64)
    for c, k in zip(codes, sizes, strict=True):
        fine = fine * k + c
    # Renumber the combinations that occur as 0..n_fine-1: a bincount when there are few
    # possible combinations, a sort otherwise.
    if combos <= max(n_rows, 1 << 16):
        used = np.flatnonzero(np.bincount(fine, minlength=combos))
        renumber = np.zeros(combos, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        fine = renumber[fine]
    else:
        used, fine = np.unique(fine, return_inverse=True)
    return fine, np.stack(np.unravel_index(used, sizes), axis=1)  # (n_fine, n_features)


def sensitive_frame(
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any], *, n_true: int
) -> pd.DataFrame:
    """The sensitive features as a frame with a fresh index, checked against the target:
    at least one column, at least one row, as many rows as the target.

    Args:
        sensitive_features: A DataFrame, a mapping of name to values, or a named Series.
        n_true: How many target values there are.
    """
    if isinstance(sensitive_features, pd.Series):
        sensitive_features = sensitive_features.to_frame()
    sf = pd.DataFrame(sensitive_features).reset_index(drop=True)
    if sf.shape[1] == 0:
        raise DataError("No sensitive feature was given.", hint="Name at least one column.")
    if len(sf) == 0:
        raise DataError("There are no rows to evaluate.", hint="Give a non-empty data set.")
    if n_true != len(sf):
        raise DataError(f"y_true has {n_true} rows but the sensitive features have {len(sf)}.")
    return sf


def feature_sets(
    names: list[str],
    levels: list[NDArray[np.object_]],
    fine_levels: Ints,
    *,
    intersection: bool,
) -> list[FeatureSet]:
    """Every reported grouping: each feature alone, then the intersection of all of them.

    Args:
        names: The sensitive columns.
        levels: Each column's group names (from ``_encode``).
        fine_levels: Each fine group's level per column (from ``_fine_groups``).
        intersection: Also report the intersection (when there are several columns).
    """
    sets: list[FeatureSet] = []
    for j, name in enumerate(names):
        sets.append(FeatureSet([name], fine_levels[:, j], [{name: str(v)} for v in levels[j]]))
    if intersection and len(names) > 1:
        labels_fine = [
            {n: str(levels[j][fine_levels[k, j]]) for j, n in enumerate(names)}
            for k in range(len(fine_levels))
        ]
        sets.append(FeatureSet(names, np.arange(len(fine_levels)), labels_fine))
    return sets


def prepare_groups(
    y_true: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    pos_label: object = 1,
    intersection: bool = True,
) -> Groups:
    """Check the target and encode the sensitive features (the half of ``assess`` that
    does not need predictions).

    Args:
        y_true: The true outcomes, one per row.
        sensitive_features: One column per sensitive feature (a DataFrame, a mapping of
            name to values, or a named Series).
        pos_label: The positive outcome (default 1).
        intersection: Also group by the intersection of all features (default True).
    """
    sf = sensitive_frame(sensitive_features, n_true=len(y_true))
    n_rows = len(sf)
    yt, labels = _binary(y_true, name="the target", pos_label=pos_label)
    names = [str(c) for c in sf.columns]
    codes, levels = _encode(sf)

    fine, fine_levels = _fine_groups(codes, [len(lv) for lv in levels], n_rows)
    n_fine = len(fine_levels)

    sets = feature_sets(names, levels, fine_levels, intersection=intersection)
    # Small integers keep the per-prediction work on the count table light.
    cell_type = _small_int(n_fine * 4)
    cell = fine.astype(cell_type) * cell_type(4) + yt.astype(cell_type) * cell_type(2)
    row_codes = [mapping.astype(_small_int(len(labs)))[fine] for _, mapping, labs in sets]
    per_fine = np.bincount(fine, minlength=n_fine).astype(float)
    sizes: list[Ints] = [
        np.bincount(mapping, weights=per_fine, minlength=len(labs)).astype(np.int64)
        for _, mapping, labs in sets
    ]
    return Groups(names, n_rows, yt, labels, pos_label, n_fine, sets, cell, row_codes, sizes)


def assess(
    y_true: PerRow,
    y_pred: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    y_score: PerRow | None = None,
    pos_label: object = 1,
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """Per-group and intersectional metrics, disparities and their intervals.

    Per-group rates get exact (Clopper-Pearson) intervals; disparities get simultaneous
    intervals across the groups compared; ROC AUC gets DeLong's (see ``_intervals``).

    Args:
        y_true: The true outcomes, one per row (two distinct values).
        y_pred: The predicted labels, in the target's values.
        sensitive_features: One column per sensitive feature (a DataFrame, a mapping of
            name to values, or a named Series); a missing value forms a ``(missing)`` group.
        y_score: Scores or probabilities of the positive class, for ROC AUC (optional).
        pos_label: The positive outcome (default 1).
        confidence: Interval level (default 0.95).
        min_group_size: A group with fewer rows, or a metric resting on fewer people (its
            denominator), is flagged and left out of disparities (default 30).
        intersection: Also assess the intersection of all features (default True).
        reference_groups: Disparities of a feature against one of its groups instead of
            between all groups, e.g. ``{"race": "White"}``.
        progress: Called with a short message per phase.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> sf = pd.DataFrame({"sex": rng.choice(["F", "M"], 400)})
    >>> y, p = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    >>> a = assess(y, p, sensitive_features=sf)
    >>> [g.features for g in a.groups]
    [{'sex': 'F'}, {'sex': 'M'}]
    >>> d = a.disparity("demographic_parity_difference", "difference", ["sex"])
    >>> d.ci_low <= d.value <= d.ci_high, [c.group for c in d.compared]
    (True, ['sex=M', 'sex=F'])
    """
    groups = prepare_groups(
        y_true,
        sensitive_features=sensitive_features,
        pos_label=pos_label,
        intersection=intersection,
    )
    return assess_groups(
        groups,
        y_pred,
        y_score=y_score,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
        progress=progress,
    )


def assess_groups(
    prepared: Groups,
    y_pred: PerRow,
    *,
    y_score: PerRow | None = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """``assess`` for groups already prepared by ``prepare_groups``.

    Args:
        prepared: From ``prepare_groups``.
        y_pred: The predicted labels, in the target's values.
        y_score: Scores or probabilities of the positive class, for ROC AUC (optional).
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups, and metrics resting on fewer people, are flagged
            and left out of disparities (default 30).
        reference_groups: Disparities of a feature against one of its groups.
        progress: Called with a short message per phase.
    """
    check_run(confidence, y_pred, n_rows=prepared.n_rows)
    say = progress or (lambda msg: None)
    g = prepared
    score = _checked_scores(y_score, g.n_rows)
    # The AUC's sorts and passes release the GIL: they run on a second core while this
    # one checks the predictions and does the count-table work.
    auc_job = (
        background(auc_by_group, score, g.yt, _auc_groupings(g)) if score is not None else None
    )
    yp, _ = _binary(
        y_pred, name="the predictions", pos_label=g.pos_label, labels=g.labels | {g.pos_label}
    )
    say("counting outcomes by group")
    tables = _count_tables(g, yp)
    aucs = _split_auc(auc_job.result(), tables) if auc_job is not None else None
    return assessment_from_tables(
        g.names,
        g.sets,
        tables,
        aucs,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
        progress=say,
    )


def assessment_from_tables(
    names: list[str],
    sets: Sequence[FeatureSet],
    tables: list[Ints],
    aucs: list[AucPart] | None,
    *,
    confidence: float,
    min_group_size: int,
    reference_groups: Mapping[str, str] | None,
    progress: Callable[[str], None],
) -> Assessment:
    """The assessment from every grouping's count tables (and AUC): what rows and
    aggregates share.

    Args:
        names: The sensitive columns.
        sets: The feature sets, in ``tables`` order after the overall one.
        tables: Count tables: overall, then one array per feature set.
        aucs: ROC AUC and DeLong errors per grouping in the same order, or None.
        confidence: Interval level.
        min_group_size: Smaller groups are flagged and left out of disparities.
        reference_groups: Disparities of a feature against one of its groups.
        progress: Called with a short message per phase.
    """
    say = progress
    n_rows = int(tables[0].sum())
    positives = int(tables[0][0, 1].sum())
    alpha = 1 - confidence
    say("metrics overall")
    overall_metrics = _estimates(tables[0], alpha, aucs[0] if aucs else None)[0]
    overall = GroupResult(
        features={},
        n=n_rows,
        positives=positives,
        negatives=n_rows - positives,
        small=False,
        metrics=overall_metrics,
    )
    groups: list[GroupResult] = []
    disparities: list[Disparity] = []
    notes: list[str] = []
    for i, fs in enumerate(sets):
        say(f"metrics by {' & '.join(fs.features)}")
        auc = aucs[i + 1] if aucs else None
        part = _feature_set(fs, tables[i + 1], auc, alpha, min_group_size, reference_groups)
        groups += part.groups
        disparities += part.disparities
        notes += part.notes
    if aucs is not None and any(r.metrics["roc_auc_score"].value is None for r in groups):
        notes.append("ROC AUC is undefined for groups with only one class in the target.")
    return Assessment(
        sensitive_features=list(names),
        metrics=METRIC_NAMES if aucs is not None else ["count", *RATE_METRICS],
        overall=overall,
        groups=groups,
        disparities=disparities,
        confidence=confidence,
        min_group_size=min_group_size,
        notes=notes,
    )


def check_run(confidence: float, y_pred: PerRow, *, n_rows: int) -> None:
    """The checks every assessment makes before it starts: a confidence level between 0
    and 1, and one prediction per row.

    Args:
        confidence: The interval level.
        y_pred: The predictions.
        n_rows: How many rows the prepared groups have.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must lie between 0 and 1, got {confidence}.")
    if len(y_pred) != n_rows:
        raise DataError(f"y_pred has {len(y_pred)} rows but the sensitive features have {n_rows}.")


def _checked_scores(y_score: PerRow | None, n_rows: int) -> Floats | None:
    """The scores as a contiguous float array; a DataError when any is missing."""
    if y_score is None:
        return None
    score = np.ascontiguousarray(np.asarray(y_score, dtype=float).ravel())
    if len(score) != n_rows or np.isnan(score).any():
        bad = int(np.isnan(score).sum()) if len(score) == n_rows else "a different number of"
        raise DataError(f"The scores have {bad} missing values.", hint="Every row needs a score.")
    return score


def _auc_groupings(g: Groups) -> list[Grouping]:
    """Every reported grouping for ``auc_by_group``: overall, each feature's levels, and
    the intersection, with the groups' sizes."""
    groupings = [Grouping(None, 1)]
    groupings += [
        Grouping(codes, len(s.labels), size)
        for codes, s, size in zip(g.row_codes, g.sets, g.sizes, strict=True)
    ]
    return groupings


def _count_tables(g: Groups, yp: Bools) -> list[Ints]:
    """The (actual, predicted) count table of every group: overall, then every feature
    set. Coarser groupings are sums of the finest one's groups."""
    cells = np.add(g.cell, yp, dtype=g.cell.dtype)
    counts = np.bincount(cells, minlength=g.n_fine * 4).reshape(g.n_fine, 2, 2)
    return tables_from_fine(g.sets, counts)


def tables_from_fine(sets: Sequence[FeatureSet], counts: Ints) -> list[Ints]:
    """The count tables of every grouping (overall, then ``sets``) from the finest one's.

    Args:
        sets: The feature sets.
        counts: One (actual, predicted) 2x2 count table per fine group.
    """
    counts = np.asarray(counts, dtype=np.int64)
    tables: list[Ints] = [counts.sum(axis=0)[None]]
    for _, mapping, group_labels in sets:
        tab: Ints = np.zeros((len(group_labels), 2, 2), dtype=np.int64)
        np.add.at(tab, mapping, counts)
        tables.append(tab)
    return tables


class AucPart(NamedTuple):
    """ROC AUC of one grouping's groups.

    Attributes:
        value: The AUC per group (NaN without both classes).
        se: DeLong's standard error per group.
    """

    value: Floats
    se: Floats


def _split_auc(auc: tuple[Floats, Floats], tables: list[Ints]) -> list[AucPart]:
    """``auc_by_group``'s concatenated result, one grouping at a time."""
    offsets = np.cumsum([0] + [len(t) for t in tables])
    return [
        AucPart(auc[0][offsets[i] : offsets[i + 1]], auc[1][offsets[i] : offsets[i + 1]])
        for i in range(len(tables))
    ]


def _auc_bounds(auc: AucPart, alpha: float | Floats) -> tuple[Floats, Floats]:
    # The normal quantile from scipy.special (what scipy.stats.norm.ppf computes, to the
    # bit), which imports in a third of the time of scipy.stats.
    from scipy.special import ndtri

    z = ndtri(1 - np.asarray(alpha, dtype=float) / 2)
    return np.clip(auc.value - z * auc.se, 0, 1), np.clip(auc.value + z * auc.se, 0, 1)


def _estimates(tab: Ints, alpha: float, auc: AucPart | None) -> list[dict[str, Estimate]]:
    """Every metric of every group of one grouping, with its interval and support."""
    n = tab.sum(axis=(1, 2))
    point = rates(tab[:, 0, 0], tab[:, 0, 1], tab[:, 1, 0], tab[:, 1, 1])
    bounds = rate_intervals(tab, alpha)
    counts = {m: support(m, tab) for m in RATE_METRICS}  # once per metric, not per group
    out: list[dict[str, Estimate]] = []
    for k in range(len(tab)):
        ests = {"count": Estimate(value=float(n[k]), ci_low=float(n[k]), ci_high=float(n[k]))}
        for m in RATE_METRICS:
            ests[m] = _est(point[m][k], bounds[m][0][k], bounds[m][1][k], counts[m][k])
        out.append(ests)
    if auc is not None:
        lo, hi = _auc_bounds(auc, alpha)
        pairs = support("roc_auc_score", tab)
        for k, ests in enumerate(out):
            ests["roc_auc_score"] = _est(auc.value[k], lo[k], hi[k], pairs[k])
    return out


@dataclass
class _FeatureSetPart:
    groups: list[GroupResult]
    disparities: list[Disparity]
    notes: list[str]


def _feature_set(
    fs: FeatureSet,
    tab: Ints,
    auc: AucPart | None,
    alpha: float,
    min_group_size: int,
    reference_groups: Mapping[str, str] | None,
) -> _FeatureSetPart:
    """One feature set's groups (those with rows), its disparities and its notes."""
    features, labels = fs.features, fs.labels
    n = tab.sum(axis=(1, 2))
    present = n > 0
    ests = _estimates(tab, alpha, auc)
    metrics = [*RATE_METRICS, *(["roc_auc_score"] if auc is not None else [])]
    sup = {
        m: (support(m, tab) if m in RATE_METRICS else support("roc_auc_score", tab))
        for m in metrics
    }
    too_small = {m: present & (sup[m] < min_group_size) for m in metrics}
    groups = [
        GroupResult(
            features=labels[k],
            n=int(n[k]),
            positives=int(tab[k, 1].sum()),
            negatives=int(tab[k, 0].sum()),
            small=bool(n[k] < min_group_size),
            too_small_for=[m for m in metrics if too_small[m][k]],
            metrics=ests[k],
        )
        for k in range(len(labels))
        if present[k]
    ]
    ref_index = _reference(features, labels, reference_groups, present & (n >= min_group_size))
    ctx = _DisparityContext(features, labels, tab, auc, alpha, min_group_size, ref_index, ests)
    disparities = _disparities(ctx, metrics)
    return _FeatureSetPart(groups, disparities, _notes(features, labels, n, sup, min_group_size))


def _notes(
    features: list[str],
    labels: list[dict[str, str]],
    n: Ints,
    sup: dict[str, Ints],
    min_group_size: int,
) -> list[str]:
    """Which groups are too small to judge, by rows and by each metric's denominator."""
    by = " & ".join(features)
    notes: list[str] = []
    small = [k for k in range(len(labels)) if 0 < n[k] < min_group_size]
    if small:
        listed = ", ".join(f"{group_label(labels[k])} (n={int(n[k])})" for k in small)
        notes.append(
            f"By {by}: {len(small)} group(s) under {min_group_size} rows are flagged and left "
            f"out of the disparities ({listed})."
        )
    if sum(1 for k in range(len(labels)) if n[k] >= min_group_size) < 2:
        notes.append(
            f"By {by}: fewer than two groups have {min_group_size} rows or more, so its "
            "disparities are undefined."
        )
    by_denominator: dict[Denominator, list[str]] = {}
    for m, counts in sup.items():
        den = METRICS[m].denominator
        for k in range(len(labels)):
            if n[k] >= min_group_size and counts[k] < min_group_size:
                by_denominator.setdefault(den, [])
                entry = f"{group_label(labels[k])} ({int(counts[k])})"
                if entry not in by_denominator[den]:
                    by_denominator[den].append(entry)
    for den, entries in by_denominator.items():
        names = [metric_phrase(x) for x in sup if METRICS[x].denominator == den]
        notes.append(
            f"By {by}: too few {DENOMINATOR_NOUNS[den]} (under {min_group_size}) for "
            f"{', '.join(names)} in {', '.join(entries)}; left out of those metrics' "
            "disparities and policy checks."
        )
    return notes


@dataclass
class _DisparityContext:
    features: list[str]
    labels: list[dict[str, str]]
    tab: Ints
    auc: AucPart | None
    alpha: float
    min_group_size: int
    ref: int | None
    estimates: list[dict[str, Estimate]]


class _OneDisparity(NamedTuple):
    value: float
    lo: float
    hi: float
    keep: Bools
    compared: list[GroupValue]
    left_out: list[LeftOut]


_KINDS: tuple[DisparityKind, ...] = ("difference", "ratio")


def _disparities(ctx: _DisparityContext, metrics: list[str]) -> list[Disparity]:
    """Every metric's difference and ratio, then the named summaries, with intervals."""
    out: list[Disparity] = []
    cache: dict[tuple[str, DisparityKind, float], _OneDisparity] = {}

    def one(m: str, kind: DisparityKind, alpha: float) -> _OneDisparity:
        if (m, kind, alpha) not in cache:
            cache[(m, kind, alpha)] = _disparity(ctx, m, kind, alpha)
        return cache[(m, kind, alpha)]

    for m in metrics:
        for kind in _KINDS:
            out.append(_as_disparity(ctx, m, kind, one(m, kind, ctx.alpha), None))
    for d in DISPARITIES.values():
        if len(d.metrics) == 1:
            out.append(
                _as_disparity(ctx, d.name, d.kind, one(d.metrics[0], d.kind, ctx.alpha), None)
            )
            continue
        # Equalized odds: the worse of two metrics, each family at alpha / 2.
        a, b = (one(m, d.kind, ctx.alpha / 2) for m in d.metrics)
        pick = np.fmax if d.kind == "difference" else np.fmin
        if np.isnan(a.value) or np.isnan(b.value):
            value = lo = hi = np.nan
            via, chosen = None, a if np.isnan(b.value) else b
        else:
            value, lo, hi = (
                float(pick(x, y)) for x, y in ((a.value, b.value), (a.lo, b.lo), (a.hi, b.hi))
            )
            first = a.value >= b.value if d.kind == "difference" else a.value <= b.value
            via, chosen = (d.metrics[0], a) if first else (d.metrics[1], b)
        merged = chosen._replace(value=value, lo=lo, hi=hi, left_out=_merge_left_out(a, b))
        out.append(_as_disparity(ctx, d.name, d.kind, merged, via))
    return out


def _merge_left_out(a: _OneDisparity, b: _OneDisparity) -> list[LeftOut]:
    seen = {(x.group, x.reason) for x in a.left_out}
    return [*a.left_out, *(x for x in b.left_out if (x.group, x.reason) not in seen)]


def _disparity(ctx: _DisparityContext, m: str, kind: DisparityKind, alpha: float) -> _OneDisparity:
    """One metric's disparity over the groups large enough for it, with a simultaneous
    interval (every kept group's interval at ``alpha / K``)."""
    values = np.array(
        [e[m].value if e[m].value is not None else np.nan for e in ctx.estimates], dtype=float
    )
    sup = support(m, ctx.tab) if m in RATE_METRICS else support("roc_auc_score", ctx.tab)
    n = ctx.tab.sum(axis=(1, 2))
    keep = (n > 0) & (sup >= ctx.min_group_size) & ~np.isnan(values)
    left_out = [
        LeftOut(
            group=group_label(ctx.labels[k]),
            reason=_why_left_out(m, int(n[k]), int(sup[k]), ctx.min_group_size),
        )
        for k in range(len(values))
        if n[k] > 0 and not keep[k]
    ]
    ref = ctx.ref
    if int(keep.sum()) < 2 or (ref is not None and not keep[ref]):
        return _OneDisparity(np.nan, np.nan, np.nan, keep, [], left_out)
    value = float(_summary(values[None, :], keep, kind, ref)[0])
    ref_kept = None if ref is None else int(np.flatnonzero(np.flatnonzero(keep) == ref)[0])
    auc = None if ctx.auc is None else AucPart(ctx.auc.value[keep], ctx.auc.se[keep])
    lo, hi = disparity_interval(ctx.tab[keep], m, kind, alpha, reference=ref_kept, auc=auc)
    compared = _compared(ctx.labels, values, keep, kind, ref)
    return _OneDisparity(value, lo, hi, keep, compared, left_out)


def disparity_interval(
    tab: Ints,
    metric: str,
    kind: DisparityKind,
    alpha: float,
    *,
    reference: int | None = None,
    auc: AucPart | None = None,
) -> tuple[float, float]:
    """The simultaneous interval of a metric's disparity among the groups of ``tab``:
    every group's interval at ``alpha / K``, then the extreme-pair bounds (see
    ``_intervals``). The coverage simulation calls this too.

    Args:
        tab: Count tables of the groups compared (all of them large enough).
        metric: The metric's name.
        kind: ``"difference"`` or ``"ratio"``.
        alpha: One minus the confidence level of the whole family.
        reference: The reference group's position in ``tab``, or None for between groups.
        auc: ROC AUC and DeLong errors of the same groups, for ``"roc_auc_score"``.
    """
    k_alpha = alpha / len(tab)
    if metric in RATE_METRICS:
        slo, shi = rate_intervals(tab, k_alpha, [metric])[metric]
    else:
        assert auc is not None, "ROC AUC disparities need the groups' AUC"
        slo, shi = _auc_bounds(auc, k_alpha)
    if reference is None:
        return between_groups(slo, shi, kind)
    return against_reference(slo, shi, reference, kind)


def _why_left_out(metric: str, n: int, sup: int, minimum: int) -> str:
    noun = DENOMINATOR_NOUNS[METRICS[metric].denominator]
    if sup == 0:
        return f"undefined: no {noun}"
    if n < minimum:
        return f"n={n}, under {minimum} rows"
    return f"rests on {sup} {noun}, under {minimum}"


def _compared(
    labels: list[dict[str, str]], values: Floats, keep: Bools, kind: DisparityKind, ref: int | None
) -> list[GroupValue]:
    """The two groups that give a disparity its value: lowest and highest, or the
    reference and the group farthest from it."""
    idx = np.flatnonzero(keep)
    v = values[idx]
    if ref is None:
        pair = [int(idx[np.argmin(v)]), int(idx[np.argmax(v)])]
    else:
        r = values[ref]
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.abs(v - r) if kind == "difference" else np.minimum(v / r, r / v)
        gap = np.where(idx == ref, -np.inf if kind == "difference" else np.inf, gap)
        far = int(idx[np.nanargmax(gap) if kind == "difference" else np.nanargmin(gap)])
        pair = [ref, far]
    return [GroupValue(group=group_label(labels[k]), value=_f(values[k])) for k in pair]


def _as_disparity(
    ctx: _DisparityContext, metric: str, kind: DisparityKind, d: _OneDisparity, via: str | None
) -> Disparity:
    return Disparity(
        metric=metric,
        kind=kind,
        features=list(ctx.features),
        value=_f(d.value),
        ci_low=_f(d.lo) if not np.isnan(d.value) else None,
        ci_high=_f(d.hi) if not np.isnan(d.value) else None,
        reference=group_label(ctx.labels[ctx.ref]) if ctx.ref is not None else None,
        groups_compared=int(d.keep.sum()),
        compared=d.compared,
        via=via,
        left_out=d.left_out,
    )


def _reference(
    features: list[str],
    group_labels: list[dict[str, str]],
    reference_groups: Mapping[str, str] | None,
    keep: Bools,
) -> int | None:
    if not reference_groups or len(features) != 1 or features[0] not in reference_groups:
        return None
    wanted = str(reference_groups[features[0]])
    for k, lab in enumerate(group_labels):
        if lab[features[0]] == wanted:
            if not keep[k]:
                raise DataError(
                    f"The reference group {features[0]}={wanted} is absent or smaller than "
                    "the minimum group size.",
                    hint="Choose a larger reference group or lower --min-group-size.",
                )
            return k
    known = ", ".join(lab[features[0]] for lab in group_labels)
    raise DataError(
        f"The reference group {features[0]}={wanted!r} does not exist.",
        hint=f"Groups of {features[0]}: {known}.",
    )


def _summary(values: Floats, keep: Bools, kind: DisparityKind, ref: int | None) -> Floats:
    """Between-groups difference (max - min) or ratio (min / max), as Fairlearn's
    ``MetricFrame.difference()`` and ``.ratio()``; or relative to a reference group:
    the largest absolute gap to it, and the smallest of g/ref and ref/g."""
    v = values[:, keep]
    if v.shape[1] < 2:
        return np.full(values.shape[0], np.nan)
    with np.errstate(all="ignore"):
        if ref is None:
            hi: Floats = np.max(v, axis=1)
            lo: Floats = np.min(v, axis=1)
            return hi - lo if kind == "difference" else np.where(hi > 0, lo / hi, np.nan)
        r = values[:, [ref]]
        if kind == "difference":
            gap: Floats = np.max(np.abs(v - r), axis=1)
            return gap
        ratio = np.minimum(v / r, r / v)
        return np.where(np.all(np.isfinite(ratio), axis=1), np.min(ratio, axis=1), np.nan)


def _f(x: SupportsFloat) -> float | None:
    v = float(x)
    return None if np.isnan(v) else v


def _est(value: SupportsFloat, lo: SupportsFloat, hi: SupportsFloat, n: SupportsFloat) -> Estimate:
    """An estimate; undefined (all None) where the value is."""
    v = _f(value)
    if v is None:
        return Estimate(value=None, ci_low=None, ci_high=None, support=int(float(n)))
    return Estimate(value=v, ci_low=_f(lo), ci_high=_f(hi), support=int(float(n)))
