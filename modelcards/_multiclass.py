"""Per-group and intersectional metrics of a multiclass classifier, with intervals.

Two views, both from count tables:

* **Each class one-vs-rest**: the class is the positive outcome, every other class the
  negative, and the binary path (``assess_groups``) runs unchanged: every rate, ROC AUC
  of the class's probability, disparity and exact interval (``Assessment.classes``).
* **Overall figures per group**: accuracy (Clopper-Pearson) and the macro averages of
  the classes' recall, precision and F1 (scikit-learn's ``average="macro"``). A class
  whose rate is undefined in a group (no actual rows of it, no predictions of it, or
  neither) is left out of that group's average, as ``zero_division=np.nan`` does.

A macro average combines the K' classes it averages, so its interval is the mean of the
classes' bounds, each at ``alpha / K'`` (Bonferroni: all K' cover together with
probability at least 1 - alpha, and then so does their mean). A class's F1 is
``2J / (1 + J)`` for the share ``J = TP / (TP + FP + FN)``, a binomial proportion of the
rows that are the class or predicted as it: its bounds are Clopper-Pearson's on J,
mapped through that increasing function. Disparities between groups use the binary
path's simultaneous construction: each group's interval at ``alpha / G`` (so each class
in a macro average at ``alpha / (G K')``), then the extreme-pair bounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._evaluate import (
    Assessment,
    Bools,
    ClassAssessment,
    Disparity,
    Estimate,
    Floats,
    GroupResult,
    Groups,
    Ints,
    LeftOut,
    PerRow,
    _compared,
    _est,
    _f,
    _reference,
    _summary,
    assess_groups,
    check_run,
    group_label,
    prepare_groups,
)
from ._intervals import against_reference, between_groups, clopper_pearson
from ._metrics import DENOMINATOR_NOUNS, METRICS, DisparityKind, metric_specs
from ._regression import row_count_notes
from .errors import DataError, UnsupportedTaskError

#: Names reported for every group of a multiclass classifier, in table order.
MULTICLASS_METRICS = [m.name for m in metric_specs(task="multiclass")]
_RATES = [m for m in MULTICLASS_METRICS if m != "count"]  # accuracy, then the averages
_KINDS: tuple[DisparityKind, ...] = ("difference", "ratio")


@dataclass
class MulticlassGroups:
    """The target's classes and the groups of every row, checked and encoded once.

    Attributes:
        names: The sensitive columns.
        n_rows: How many rows.
        classes: The classes, in the model's order (else sorted as text).
        y: Each row's class, as a position in ``classes``.
        base: The encoded groups (one-vs-rest for the first class).
        fine: Each row's group in the finest grouping (the intersection).
    """

    names: list[str]
    n_rows: int
    classes: list[Any]
    y: Ints
    base: Groups
    fine: Ints


def class_codes(values: PerRow, classes: Sequence[Any], *, name: str) -> Ints:
    """Each value's position in ``classes``, matched as text (CSV reads 1 and '1' apart);
    an error naming the values that are no class.

    Args:
        values: Labels, one per row.
        classes: The classes.
        name: How messages name the values (``"the target"``).
    """
    s = pd.Series(np.asarray(values).ravel() if not isinstance(values, pd.Series) else values)
    missing = s.isna()
    if missing.any():
        first = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{name} has {int(missing.sum())} missing value(s) (first at row {first + 1}).",
            hint=f"Drop or fill the rows with no {name} before making a card.",
        )
    codes: Ints = pd.Index([str(c) for c in classes]).get_indexer(pd.Index(s.astype(str)))
    if (codes < 0).any():
        unknown = sorted({str(v) for v in s[codes < 0]})
        raise UnsupportedTaskError(
            f"{name} holds {unknown[:6]}, which are not among the classes "
            f"{[str(c) for c in classes]}.",
            hint="Predictions and target must use the model's class labels.",
        )
    return codes.astype(np.int64)


def prepare_multiclass_groups(
    y_true: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    classes: Sequence[Any] | None = None,
    intersection: bool = True,
) -> MulticlassGroups:
    """Check a target with three or more classes and encode the sensitive features (the
    half of ``assess_multiclass`` that needs no predictions).

    Args:
        y_true: The actual classes, one per row.
        sensitive_features: One column per sensitive feature (a DataFrame, a mapping of
            name to values, or a named Series).
        classes: Every class the model can predict, in its order; None for the target's
            values sorted as text.
        intersection: Also group by the intersection of all features (default True).
    """
    if classes is None:
        classes = sorted(pd.unique(pd.Series(np.asarray(y_true).ravel()).dropna()), key=str)
    classes = list(classes)
    y = class_codes(y_true, classes, name="the target")
    base = prepare_groups(
        y == 0, sensitive_features=sensitive_features, pos_label=True, intersection=intersection
    )
    fine = (base.cell // 4).astype(np.int64)
    return MulticlassGroups(base.names, base.n_rows, classes, y, base, fine)


def _one_vs_rest(g: MulticlassGroups, k: int) -> Groups:
    """The binary groups of class ``k`` against the rest: the same encoding, another target."""
    yt = g.y == k
    dtype = g.base.cell.dtype
    cell = (g.fine.astype(dtype) * dtype.type(4) + yt.astype(dtype) * dtype.type(2)).astype(dtype)
    return dataclasses.replace(g.base, yt=yt, labels={False, True}, cell=cell)


def assess_multiclass(
    y_true: PerRow,
    y_pred: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    y_proba: NDArray[np.float64] | None = None,
    classes: Sequence[Any] | None = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    reference_groups: Mapping[str, str] | None = None,
) -> Assessment:
    """Per-group accuracy and macro averages of a multiclass classifier, and every class
    one-vs-rest with the binary metrics (see the module's docstring for the methods).

    Args:
        y_true: The actual classes, one per row.
        y_pred: The predicted classes, one per row.
        sensitive_features: One column per sensitive feature; a missing value forms a
            ``(missing)`` group.
        y_proba: Each class's probability per row (columns in ``classes`` order), for
            each class's ROC AUC; None for none.
        classes: Every class, in the order of ``y_proba``'s columns; None for the target's
            values sorted as text.
        confidence: Interval level (default 0.95).
        min_group_size: A group with fewer rows, or a metric resting on fewer people, is
            flagged and left out of disparities and checks (default 30).
        intersection: Also assess the intersection of all features (default True).
        reference_groups: Disparities of a feature against one of its groups.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.choice(["a", "b", "c"], 600)
    >>> a = assess_multiclass(y, y, sensitive_features={"sex": rng.choice(["F", "M"], 600)})
    >>> a.overall.metrics["macro_f1_score"].value, [c.label for c in a.classes]
    (1.0, ['a', 'b', 'c'])
    """
    groups = prepare_multiclass_groups(
        y_true, sensitive_features=sensitive_features, classes=classes, intersection=intersection
    )
    return assess_multiclass_groups(
        groups,
        y_pred,
        y_proba=y_proba,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
    )


def assess_multiclass_groups(
    prepared: MulticlassGroups,
    y_pred: PerRow,
    *,
    y_proba: NDArray[np.float64] | None = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """``assess_multiclass`` for groups already prepared by ``prepare_multiclass_groups``.

    Args:
        prepared: From ``prepare_multiclass_groups``.
        y_pred: The predicted classes, one per row.
        y_proba: Each class's probability per row, columns in ``prepared.classes`` order.
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups are flagged and left out of disparities (default 30).
        reference_groups: Disparities of a feature against one of its groups.
        progress: Called with a short message per phase.
    """
    check_run(confidence, y_pred, n_rows=prepared.n_rows)
    say = progress or (lambda msg: None)
    g = prepared
    n_classes = len(g.classes)
    p = class_codes(y_pred, g.classes, name="the predictions")
    if y_proba is not None:
        y_proba = np.asarray(y_proba, dtype=float)
        if y_proba.shape != (g.n_rows, n_classes) or np.isnan(y_proba).any():
            raise DataError(
                f"The class probabilities must be {g.n_rows} rows by {n_classes} classes "
                f"with no missing value; got shape {y_proba.shape}.",
                hint="Give one probability per class, in the order of the classes.",
            )
    alpha = 1 - confidence
    say("counting classes by group")
    cells = g.fine * n_classes * n_classes + g.y * n_classes + p
    counts = np.bincount(cells, minlength=g.base.n_fine * n_classes * n_classes).reshape(
        g.base.n_fine, n_classes, n_classes
    )
    whole = counts.sum(axis=0)[None]
    overall = GroupResult(
        features={},
        n=g.n_rows,
        positives=None,
        negatives=None,
        small=False,
        metrics=_estimates(whole, alpha)[0],
    )
    groups: list[GroupResult] = []
    disparities: list[Disparity] = []
    notes: list[str] = []
    for fs in g.base.sets:
        say(f"accuracy by {' & '.join(fs.features)}")
        tab: Ints = np.zeros((len(fs.labels), n_classes, n_classes), dtype=np.int64)
        np.add.at(tab, fs.mapping, counts)
        ests = _estimates(tab, alpha)
        n = tab.sum(axis=(1, 2))
        sup = {m: _table(tab, alpha)[m].support for m in _RATES}
        groups += [
            GroupResult(
                features=fs.labels[k],
                n=int(n[k]),
                positives=None,
                negatives=None,
                small=bool(n[k] < min_group_size),
                too_small_for=[m for m in _RATES if sup[m][k] < min_group_size],
                metrics=ests[k],
            )
            for k in range(len(fs.labels))
            if n[k] > 0
        ]
        ref = _reference(fs.features, fs.labels, reference_groups, n >= min_group_size)
        for m in _RATES:
            for kind in _KINDS:
                disparities.append(
                    _disparity(
                        fs.features,
                        fs.labels,
                        tab,
                        ests,
                        sup[m],
                        m,
                        kind,
                        alpha,
                        ref,
                        min_group_size,
                    )
                )
        notes += row_count_notes(fs.features, fs.labels, n, min_group_size)
    per_class: list[ClassAssessment] = []
    for k, label in enumerate(g.classes):
        say(f"class {label} against the rest")
        one = assess_groups(
            _one_vs_rest(g, k),
            p == k,
            y_score=y_proba[:, k] if y_proba is not None else None,
            confidence=confidence,
            min_group_size=min_group_size,
            reference_groups=reference_groups,
        )
        per_class.append(ClassAssessment(label=str(label), assessment=one))
    return Assessment(
        sensitive_features=g.names,
        metrics=MULTICLASS_METRICS,
        overall=overall,
        groups=groups,
        disparities=disparities,
        confidence=confidence,
        min_group_size=min_group_size,
        notes=notes,
        task="multiclass",
        classes=per_class,
    )


@dataclass
class _Metric:
    """One metric for every group of a table: value, bounds, and the count it rests on."""

    value: Floats
    lo: Floats
    hi: Floats
    support: Ints


def _table(tab: Ints, alpha: float | Floats) -> dict[str, _Metric]:
    """Accuracy and the macro averages of every group of ``tab`` (groups x actual x
    predicted), with intervals at ``alpha`` per group (an array for simultaneous ones)."""
    n_groups = len(tab)
    a = np.broadcast_to(np.asarray(alpha, dtype=float), (n_groups,))
    n = tab.sum(axis=(1, 2))
    tp = np.einsum("gkk->gk", tab)
    actual, predicted = tab.sum(axis=2), tab.sum(axis=1)
    correct = tp.sum(axis=1)
    out: dict[str, _Metric] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = clopper_pearson(correct, n, a)
        out["accuracy_score"] = _Metric(np.where(n > 0, correct / n, np.nan), lo, hi, n)
        for m, den in (
            ("macro_recall_score", actual),
            ("macro_precision_score", predicted),
            ("macro_f1_score", actual + predicted - tp),  # TP + FP + FN
        ):
            present = den > 0
            k_present = present.sum(axis=1)
            each = a / np.maximum(k_present, 1)  # Bonferroni over the classes averaged
            clo, chi = clopper_pearson(tp, den, each[:, None])
            rate = tp / den
            if m == "macro_f1_score":  # F1 = 2J / (1 + J) with J = TP / (TP + FP + FN)
                rate = 2 * tp / (actual + predicted)
                clo, chi = 2 * clo / (1 + clo), 2 * chi / (1 + chi)

            def mean(x: Floats, present: Bools = present, k: Ints = k_present) -> Floats:
                return np.where(k > 0, np.where(present, x, 0.0).sum(axis=1) / k, np.nan)

            smallest = np.where(present, den, np.iinfo(np.int64).max).min(axis=1)
            out[m] = _Metric(mean(rate), mean(clo), mean(chi), np.where(k_present > 0, smallest, 0))
    return out


def _estimates(tab: Ints, alpha: float) -> list[dict[str, Estimate]]:
    """Every metric of every group of one grouping, with its interval and support."""
    n = tab.sum(axis=(1, 2))
    table = _table(tab, alpha)
    out: list[dict[str, Estimate]] = []
    for k in range(len(tab)):
        ests = {"count": Estimate(value=float(n[k]), ci_low=float(n[k]), ci_high=float(n[k]))}
        for m in _RATES:
            t = table[m]
            ests[m] = _est(t.value[k], t.lo[k], t.hi[k], t.support[k])
        out.append(ests)
    return out


def _disparity(
    features: list[str],
    labels: list[dict[str, str]],
    tab: Ints,
    ests: list[dict[str, Estimate]],
    sup: Ints,
    m: str,
    kind: DisparityKind,
    alpha: float,
    ref: int | None,
    minimum: int,
) -> Disparity:
    """One metric's difference (max - min) or ratio (min / max) over the groups large
    enough for it, with the simultaneous interval (each group at ``alpha / G``)."""
    values = np.array([e[m].value if e[m].value is not None else np.nan for e in ests])
    n = tab.sum(axis=(1, 2))
    keep = (n > 0) & (sup >= minimum) & ~np.isnan(values)
    left_out = [
        LeftOut(group=group_label(labels[k]), reason=_why(m, int(n[k]), int(sup[k]), minimum))
        for k in range(len(values))
        if n[k] > 0 and not keep[k]
    ]
    value = lo = hi = np.nan
    compared = []
    if int(keep.sum()) >= 2 and (ref is None or keep[ref]):
        value = float(_summary(values[None, :], keep, kind, ref)[0])
        idx = np.flatnonzero(keep)
        t = _table(tab[idx], alpha / len(idx))[m]
        if ref is None:
            lo, hi = between_groups(t.lo, t.hi, kind)
        else:
            lo, hi = against_reference(t.lo, t.hi, int(np.flatnonzero(idx == ref)[0]), kind)
        compared = _compared(labels, values, keep, kind, ref)
    return Disparity(
        metric=m,
        kind=kind,
        features=list(features),
        value=_f(value),
        ci_low=_f(lo) if not np.isnan(value) else None,
        ci_high=_f(hi) if not np.isnan(value) else None,
        reference=group_label(labels[ref]) if ref is not None else None,
        groups_compared=int(keep.sum()),
        compared=compared,
        left_out=left_out,
    )


def _why(metric: str, n: int, sup: int, minimum: int) -> str:
    noun = DENOMINATOR_NOUNS[METRICS[metric].denominator]
    if sup == 0:
        return f"undefined: no {noun}"
    if n < minimum:
        return f"n={n}, under {minimum} rows"
    return f"rests on {sup} {noun}, under {minimum}"
