"""Per-group and intersectional error metrics of a regression model, with intervals.

The point values are Fairlearn's ``MetricFrame`` over scikit-learn's regression metrics
(``mean_absolute_error``, ``root_mean_squared_error``, ``r2_score``, and the means of the
prediction, the target and the signed error), computed per group from sums (tests show
agreement to float rounding).

Intervals, each on the group's own rows (no bootstrap, so the card is deterministic):

* the mean prediction, mean target, mean error and mean absolute error are means of one
  number per row: Student's t-interval;
* the root mean squared error is the square root of a mean of squared errors: the
  t-interval of that mean, its bounds square-rooted (the root is monotone, so the
  coverage is the mean's);
* R² = 1 - SSE / SST is a ratio of two means: a delta-method (influence function)
  standard error with a t quantile.

Disparities reuse the binary path's simultaneous construction (``_intervals``): every group's
interval at ``alpha / K``, then the extreme-pair bounds. Ratios exist only for the
non-negative errors (see ``MetricSpec.ratio``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._evaluate import (
    Assessment,
    Bools,
    Disparity,
    Estimate,
    FeatureSet,
    Floats,
    GroupResult,
    GroupValue,
    Ints,
    LeftOut,
    PerRow,
    _compared,
    _encode,
    _f,
    _fine_groups,
    _reference,
    _summary,
    check_run,
    group_label,
    sensitive_frame,
)
from ._intervals import against_reference, between_groups
from ._metrics import METRICS, DisparityKind, metric_specs
from .errors import DataError

#: Names reported for every group of a regression model, in table order.
REGRESSION_METRICS = [m.name for m in metric_specs(task="regression")]
_ERRORS = [m for m in REGRESSION_METRICS if m != "count"]


@dataclass
class RegressionGroups:
    """The numeric target and the groups of every row, checked and encoded once.

    Attributes:
        names: The sensitive columns.
        n_rows: How many rows.
        y: The target as floats.
        sets: Every reported grouping: each feature, then the intersection.
        row_codes: Each row's group in each of ``sets``.
    """

    names: list[str]
    n_rows: int
    y: Floats
    sets: list[FeatureSet]
    row_codes: list[Ints]


def _numbers(values: PerRow, *, name: str) -> Floats:
    """The values as floats; a DataError naming the first row that is missing or not a
    number."""
    s = pd.Series(np.asarray(values).ravel() if not isinstance(values, pd.Series) else values)
    as_float = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(as_float)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} has {int(bad.sum())} value(s) that are missing or not finite numbers "
            f"(first at row {first + 1}: {s.iloc[first]!r}).",
            hint=f"A regression card needs a number in every row of {name}.",
        )
    return as_float


def prepare_regression_groups(
    y_true: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    intersection: bool = True,
) -> RegressionGroups:
    """Check a numeric target and encode the sensitive features (the half of
    ``assess_regression`` that needs no predictions).

    Args:
        y_true: The actual values, one per row.
        sensitive_features: One column per sensitive feature (a DataFrame, a mapping of
            name to values, or a named Series).
        intersection: Also group by the intersection of all features (default True).
    """
    sf = sensitive_frame(sensitive_features, n_true=len(y_true))
    n_rows = len(sf)
    y = _numbers(y_true, name="the target")
    names = [str(c) for c in sf.columns]
    codes, levels = _encode(sf)
    fine, fine_levels = _fine_groups(codes, [len(lv) for lv in levels], n_rows)
    sets = [
        FeatureSet([name], fine_levels[:, j], [{name: str(v)} for v in levels[j]])
        for j, name in enumerate(names)
    ]
    if intersection and len(names) > 1:
        labels_fine = [
            {n: str(levels[j][fine_levels[k, j]]) for j, n in enumerate(names)}
            for k in range(len(fine_levels))
        ]
        sets.append(FeatureSet(names, np.arange(len(fine_levels)), labels_fine))
    row_codes: list[Ints] = [np.asarray(fs.mapping, dtype=np.int64)[fine] for fs in sets]
    return RegressionGroups(names, n_rows, y, sets, row_codes)


@dataclass
class _Stats:
    """Per-group point values and standard errors of one grouping (NaN where undefined)."""

    n: Ints
    value: dict[str, Floats]
    se: dict[str, Floats]  # for the t-interval or the delta method


def _group_stats(codes: Ints, k: int, y: Floats, p: Floats) -> _Stats:
    """Every regression metric of every group, and the standard error its interval uses."""
    n = np.bincount(codes, minlength=k)
    nf = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):

        def mean_and_se(x: Floats) -> tuple[Floats, Floats]:
            mean = np.bincount(codes, weights=x, minlength=k) / nf
            # Two passes: squared deviations from the group's own mean, not sum(x**2).
            ss = np.bincount(codes, weights=(x - mean[codes]) ** 2, minlength=k)
            return mean, np.sqrt(ss / (nf - 1) / nf)

        e = p - y
        value: dict[str, Floats] = {"count": nf}
        se: dict[str, Floats] = {"count": np.zeros(k)}
        value["mean_prediction"], se["mean_prediction"] = mean_and_se(p)
        value["mean_target"], se["mean_target"] = mean_and_se(y)
        value["mean_error"], se["mean_error"] = mean_and_se(e)
        value["mean_absolute_error"], se["mean_absolute_error"] = mean_and_se(np.abs(e))
        mse, se_mse = mean_and_se(e * e)
        value["root_mean_squared_error"], se["mse"] = np.sqrt(mse), se_mse
        value["mse"] = mse
        # R² = 1 - A / B with A = mean(e²), B = mean((y - ȳ)²). Influence of row i:
        # -(e_i² - A) / B + A (d_i² - B) / B², whose spread gives the delta-method error.
        d2 = (y - value["mean_target"][codes]) ** 2
        sst_mean = np.bincount(codes, weights=d2, minlength=k) / nf
        r2 = np.where(sst_mean > 0, 1 - mse / sst_mean, np.nan)
        a, b = mse[codes], sst_mean[codes]
        psi = -(e * e - a) / b + a * (d2 - b) / b**2
        ss_psi = np.bincount(codes, weights=psi**2, minlength=k)  # psi has mean 0 per group
        value["r2_score"] = r2
        se["r2_score"] = np.sqrt(ss_psi / (nf - 1) / nf)
    return _Stats(n, value, se)


def _bounds(stats: _Stats, alpha: float | Floats) -> dict[str, tuple[Floats, Floats]]:
    """Each metric's interval per group, at ``alpha`` (per group, an array for the
    simultaneous intervals of disparities)."""
    from scipy.stats import t

    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(stats.n > 1, stats.n - 1, np.nan)
        q = t.ppf(1 - np.asarray(alpha, dtype=float) / 2, df)
        out: dict[str, tuple[Floats, Floats]] = {}
        for m in ("mean_prediction", "mean_target", "mean_error", "r2_score"):
            v, half = stats.value[m], q * stats.se[m]
            out[m] = (v - half, v + half)
        lo, hi = out["r2_score"]
        out["r2_score"] = (lo, np.minimum(hi, 1.0))
        v, half = stats.value["mean_absolute_error"], q * stats.se["mean_absolute_error"]
        out["mean_absolute_error"] = (np.maximum(v - half, 0.0), v + half)
        mse, half = stats.value["mse"], q * stats.se["mse"]
        out["root_mean_squared_error"] = (np.sqrt(np.maximum(mse - half, 0.0)), np.sqrt(mse + half))
    return out


def _estimates(stats: _Stats, alpha: float) -> list[dict[str, Estimate]]:
    bounds = _bounds(stats, alpha)
    out: list[dict[str, Estimate]] = []
    for k, n in enumerate(stats.n.tolist()):
        ests = {"count": Estimate(value=float(n), ci_low=float(n), ci_high=float(n))}
        for m in _ERRORS:
            v = _f(stats.value[m][k])
            lo, hi = (_f(b[k]) for b in bounds[m])
            ests[m] = Estimate(
                value=v,
                ci_low=lo if v is not None else None,
                ci_high=hi if v is not None else None,
                support=n,
            )
        out.append(ests)
    return out


def assess_regression(
    y_true: PerRow,
    y_pred: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    reference_groups: Mapping[str, str] | None = None,
) -> Assessment:
    """Per-group and intersectional error metrics of a regression model, their
    disparities, and intervals (see the module's docstring for the methods).

    Args:
        y_true: The actual values, one number per row.
        y_pred: The predicted values, one number per row.
        sensitive_features: One column per sensitive feature; a missing value forms a
            ``(missing)`` group.
        confidence: Interval level (default 0.95).
        min_group_size: A group with fewer rows is flagged and left out of the
            disparities and checks (default 30).
        intersection: Also assess the intersection of all features (default True).
        reference_groups: Disparities of a feature against one of its groups instead of
            between all groups, e.g. ``{"sex": "1"}``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(100, 10, 400)
    >>> a = assess_regression(y, y + 1, sensitive_features={"sex": rng.choice(["F", "M"], 400)})
    >>> round(a.overall.metrics["mean_error"].value, 6), a.task
    (1.0, 'regression')
    """
    groups = prepare_regression_groups(
        y_true, sensitive_features=sensitive_features, intersection=intersection
    )
    return assess_regression_groups(
        groups,
        y_pred,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=reference_groups,
    )


def assess_regression_groups(
    prepared: RegressionGroups,
    y_pred: PerRow,
    *,
    confidence: float = 0.95,
    min_group_size: int = 30,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """``assess_regression`` for groups already prepared by ``prepare_regression_groups``.

    Args:
        prepared: From ``prepare_regression_groups``.
        y_pred: The predicted values, one number per row.
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups are flagged and left out of disparities (default 30).
        reference_groups: Disparities of a feature against one of its groups.
        progress: Called with a short message per phase.
    """
    check_run(confidence, y_pred, n_rows=prepared.n_rows)
    say = progress or (lambda msg: None)
    g = prepared
    p = _numbers(y_pred, name="the predictions")
    alpha = 1 - confidence
    say("errors overall")
    whole = _group_stats(np.zeros(g.n_rows, dtype=np.int64), 1, g.y, p)
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
    for fs, codes in zip(g.sets, g.row_codes, strict=True):
        say(f"errors by {' & '.join(fs.features)}")
        stats = _group_stats(codes, len(fs.labels), g.y, p)
        ests = _estimates(stats, alpha)
        n = stats.n
        present = n > 0
        big = present & (n >= min_group_size)
        groups += [
            GroupResult(
                features=fs.labels[k],
                n=int(n[k]),
                positives=None,
                negatives=None,
                small=bool(n[k] < min_group_size),
                too_small_for=list(_ERRORS) if n[k] < min_group_size else [],
                metrics=ests[k],
            )
            for k in range(len(fs.labels))
            if present[k]
        ]
        ref = _reference(fs.features, fs.labels, reference_groups, big)
        for m in _ERRORS:
            kinds: tuple[DisparityKind, ...] = (
                ("difference", "ratio") if METRICS[m].ratio else ("difference",)
            )
            for kind in kinds:
                disparities.append(
                    _disparity(fs, stats, ests, m, kind, alpha, big, ref, min_group_size)
                )
        notes += _notes(fs, n, min_group_size)
    if any(r.metrics["r2_score"].value is None for r in groups):
        notes.append("R² is undefined for a group whose actual values are all equal.")
    return Assessment(
        sensitive_features=g.names,
        metrics=REGRESSION_METRICS,
        overall=overall,
        groups=groups,
        disparities=disparities,
        confidence=confidence,
        min_group_size=min_group_size,
        notes=notes,
        task="regression",
    )


def _notes(fs: FeatureSet, n: Ints, minimum: int) -> list[str]:
    return row_count_notes(fs.features, fs.labels, n, minimum)


def row_count_notes(
    features: Sequence[str], labels: Sequence[Mapping[str, str]], n: Ints, minimum: int
) -> list[str]:
    """A feature set's notes on its small groups, for cards whose groups are judged on
    their rows (regression, multiclass)."""
    by = " & ".join(features)
    small = [k for k in range(len(labels)) if 0 < n[k] < minimum]
    notes = []
    if small:
        listed = ", ".join(f"{group_label(labels[k])} (n={int(n[k])})" for k in small)
        notes.append(
            f"By {by}: {len(small)} group(s) under {minimum} rows are flagged and left "
            f"out of the disparities ({listed})."
        )
    if int((n >= minimum).sum()) < 2:
        notes.append(
            f"By {by}: fewer than two groups have {minimum} rows or more, so its "
            "disparities are undefined."
        )
    return notes


def _disparity(
    fs: FeatureSet,
    stats: _Stats,
    ests: list[dict[str, Estimate]],
    m: str,
    kind: DisparityKind,
    alpha: float,
    big: Bools,
    ref: int | None,
    min_size: int,
) -> Disparity:
    """One metric's difference (max - min) or ratio (min / max) over the groups large
    enough, with the simultaneous interval."""
    values = np.array([e[m].value if e[m].value is not None else np.nan for e in ests])
    keep = big & ~np.isnan(values)
    if kind == "ratio":  # a ratio of errors needs positive errors
        keep &= values > 0
    left_out = [
        LeftOut(
            group=group_label(fs.labels[k]), reason=_why(int(stats.n[k]), values[k], kind, min_size)
        )
        for k in range(len(values))
        if stats.n[k] > 0 and not keep[k]
    ]
    value = lo = hi = np.nan
    compared: list[GroupValue] = []
    if int(keep.sum()) >= 2 and (ref is None or keep[ref]):
        value = float(_summary(values[None, :], keep, kind, ref)[0])
        idx = np.flatnonzero(keep)
        k_alpha = np.full(len(idx), alpha / len(idx))
        sub = _Stats(
            stats.n[idx],
            {k: v[idx] for k, v in stats.value.items()},
            {k: v[idx] for k, v in stats.se.items()},
        )
        slo, shi = _bounds(sub, k_alpha)[m]
        if ref is None:
            lo, hi = between_groups(slo, shi, kind)
        else:
            lo, hi = against_reference(slo, shi, int(np.flatnonzero(idx == ref)[0]), kind)
        compared = _compared(fs.labels, values, keep, kind, ref)
    return Disparity(
        metric=m,
        kind=kind,
        features=list(fs.features),
        value=_f(value),
        ci_low=_f(lo) if not np.isnan(value) else None,
        ci_high=_f(hi) if not np.isnan(value) else None,
        reference=group_label(fs.labels[ref]) if ref is not None else None,
        groups_compared=int(keep.sum()),
        compared=compared,
        left_out=left_out,
    )


def _why(n: int, value: float, kind: DisparityKind, minimum: int) -> str:
    if np.isnan(value):
        return "undefined: all actual values equal" if n > 1 else "undefined: one row"
    if kind == "ratio" and value <= 0:
        return "no error to divide by"
    return f"n={n}, under {minimum} rows"
