"""Per-group and intersectional fairness metrics with bootstrap confidence intervals.

Fairlearn's ``MetricFrame`` is the reference: every confusion-matrix metric here is the
same arithmetic on the same counts (tests show equality to the last digit). ROC AUC is
the exact U / (P * N), which scikit-learn's trapezoid (what ``MetricFrame`` calls)
matches to about 1e-15.

Why it is fast: every confusion-matrix metric of every group is a function of the
(group, label, prediction) count table. A row bootstrap of the whole data set draws that
table from a multinomial with the observed cell shares, so we draw the table directly
(one ``multinomial`` call for all resamples) instead of resampling millions of rows;
single-feature tables are margins of the intersectional one. ROC AUC is not a function of
the counts: it is the exact Mann-Whitney U from one (score, group, label) histogram, with
DeLong's interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from .errors import DataError, UnsupportedTaskError

MISSING = "(missing)"

#: Confusion-matrix metrics, by their Fairlearn / scikit-learn function names.
RATE_METRICS = [
    "selection_rate",
    "accuracy_score",
    "balanced_accuracy_score",
    "precision_score",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
]
SCORE_METRICS = ["roc_auc_score"]
METRICS = ["count", *RATE_METRICS, *SCORE_METRICS]

#: Disparity summaries named as Fairlearn names them, built from per-metric disparities.
DERIVED = {
    "demographic_parity_difference": ("selection_rate", "difference"),
    "demographic_parity_ratio": ("selection_rate", "ratio"),
    "equal_opportunity_difference": ("true_positive_rate", "difference"),
    "equal_opportunity_ratio": ("true_positive_rate", "ratio"),
    "equalized_odds_difference": (("true_positive_rate", "false_positive_rate"), "difference"),
    "equalized_odds_ratio": (("true_positive_rate", "false_positive_rate"), "ratio"),
}


class Estimate(BaseModel):
    """A point value with its confidence interval; ``None`` where undefined."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci_low: float | None
    ci_high: float | None


class GroupResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: dict[str, str]
    n: int
    positives: int
    negatives: int
    small: bool
    metrics: dict[str, Estimate]


class Disparity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["difference", "ratio"]
    features: list[str]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    reference: str | None = None
    groups_compared: int
    small_groups_left_out: list[str] = []


class Assessment(BaseModel):
    """Everything ``assess`` computed: overall, per group, disparities, and how."""

    model_config = ConfigDict(extra="forbid")

    sensitive_features: list[str]
    metrics: list[str]
    overall: GroupResult
    groups: list[GroupResult]
    disparities: list[Disparity]
    n_boot: int
    seed: int
    confidence: float
    min_group_size: int
    notes: list[str]

    def feature_sets(self) -> list[list[str]]:
        seen: list[list[str]] = []
        for g in self.groups:
            keys = list(g.features)
            if keys not in seen:
                seen.append(keys)
        return seen

    def groups_for(self, features: Sequence[str]) -> list[GroupResult]:
        return [g for g in self.groups if list(g.features) == list(features)]

    def disparity(self, metric: str, kind: str, features: Sequence[str]) -> Disparity:
        for d in self.disparities:
            if d.metric == metric and d.kind == kind and d.features == list(features):
                return d
        raise KeyError(f"no {kind} of {metric} for {list(features)}")


def group_label(features: Mapping[str, str]) -> str:
    return " & ".join(f"{k}={v}" for k, v in features.items())


# -- inputs -----------------------------------------------------------------------------
def _binary(y, *, name: str, pos_label, labels: set | None = None) -> tuple[np.ndarray, set]:
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


def _encode(sensitive: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
    codes, levels = [], []
    for name in sensitive.columns:
        s = sensitive[name]
        if isinstance(s.dtype, pd.CategoricalDtype) and not s.isna().any():
            c, lv = s.cat.codes.to_numpy(), np.asarray(s.cat.categories.astype(str))
            used = np.unique(c)
            remap = np.full(len(lv), -1)
            remap[used] = np.arange(len(used))
            c, lv = remap[c], lv[used]
        else:
            c, lv = pd.factorize(s, sort=True, use_na_sentinel=True)
            lv = np.asarray([str(v) for v in lv], dtype=object)
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
def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def rates(tn, fp, fn, tp) -> dict[str, np.ndarray]:
    """Confusion-matrix metrics for arrays of counts, as scikit-learn and Fairlearn define
    them (a rate whose denominator is zero is 0, their ``zero_division`` default)."""
    tn, fp, fn, tp = (np.asarray(x, dtype=np.int64) for x in (tn, fp, fn, tp))
    n, pos, neg = tn + fp + fn + tp, tp + fn, tn + fp
    tpr, tnr = _div(tp, pos), _div(tn, neg)
    # balanced accuracy averages recall over the classes present in y_true.
    balanced = np.where((pos > 0) & (neg > 0), (tnr + tpr) / 2, np.where(pos > 0, tpr, tnr))
    out = {
        "selection_rate": _div(tp + fp, n),
        "accuracy_score": _div(tp + tn, n),
        "balanced_accuracy_score": balanced,
        "precision_score": _div(tp, tp + fp),
        "true_positive_rate": tpr,
        "false_positive_rate": _div(fp, neg),
        "false_negative_rate": _div(fn, pos),
        "true_negative_rate": tnr,
    }
    empty = n == 0
    if np.any(empty):  # a group absent from a resample has no rates at all
        out = {k: np.where(empty, np.nan, v) for k, v in out.items()}
    return out


# -- ROC AUC: exact Mann-Whitney U and DeLong intervals from one score histogram -------
def auc_by_group(score: np.ndarray, y: np.ndarray, fine: np.ndarray, members: np.ndarray):
    """ROC AUC and its DeLong standard error for many groups at once.

    ``fine`` gives each row's finest group; ``members`` (groups x fine groups, 0/1) says
    which fine groups make up each reported group. Rows are counted per (distinct
    score, fine group, label), so one histogram serves every grouping. U counts ties as
    one half and is a sum of integers and halves, exact in float64; the AUC is then
    U / (P * N), correctly rounded (scikit-learn's trapezoid agrees to ~1e-15).
    Undefined (NaN) for a group without both classes.
    """
    n_fine = members.shape[1]
    # Rank the distinct scores: one unstable sort, then a new bin wherever the score changes.
    order = np.argsort(score)
    ranked = score[order]
    new = np.empty(len(ranked), dtype=bool)
    new[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
    bins = np.cumsum(new) - 1
    nb = int(bins[-1]) + 1
    key = bins * n_fine + fine[order]
    tot = np.bincount(key, minlength=nb * n_fine).reshape(nb, n_fine)
    pos = np.bincount(key[y[order]], minlength=nb * n_fine).reshape(nb, n_fine)
    neg = tot - pos
    m = members.T.astype(float)
    # cumsum is linear: accumulate the fine columns, then combine them into groups.
    P, Q = pos @ m, neg @ m
    cum_p, cum_q = np.cumsum(pos, axis=0) @ m, np.cumsum(neg, axis=0) @ m
    Pt, Nt = P.sum(axis=0), Q.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = cum_q - 0.5 * Q  # negatives below a positive, ties halved
        auc = np.einsum("bg,bg->g", P, below) / (Pt * Nt)
        above = Pt - cum_p + 0.5 * P  # positives above a negative
        var10 = (np.einsum("bg,bg,bg->g", P, below, below) / Nt**2 - Pt * auc**2) / (Pt - 1)
        var01 = (np.einsum("bg,bg,bg->g", Q, above, above) / Pt**2 - Nt * auc**2) / (Nt - 1)
        se = np.sqrt(np.maximum(var10 / Pt + var01 / Nt, 0))
    defined = (Pt > 0) & (Nt > 0)
    return np.where(defined, auc, np.nan), np.where((Pt > 1) & (Nt > 1), se, np.nan)


# -- the assessment ---------------------------------------------------------------------
def assess(
    y_true,
    y_pred,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence] | pd.Series,
    y_score=None,
    pos_label=1,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    reference_groups: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """Per-group and intersectional metrics, disparities and bootstrap intervals.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> sf = pd.DataFrame({"sex": rng.choice(["F", "M"], 400)})
    >>> y, p = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    >>> a = assess(y, p, sensitive_features=sf, n_boot=200)
    >>> [g.features for g in a.groups]
    [{'sex': 'F'}, {'sex': 'M'}]
    >>> d = a.disparity("demographic_parity_difference", "difference", ["sex"])
    >>> d.ci_low <= d.value <= d.ci_high
    True
    """
    if isinstance(sensitive_features, pd.Series):
        sensitive_features = sensitive_features.to_frame()
    sf = pd.DataFrame(sensitive_features).reset_index(drop=True)
    if sf.shape[1] == 0:
        raise DataError("No sensitive feature was given.", hint="Name at least one column.")
    n_rows = len(sf)
    if n_rows == 0:
        raise DataError("There are no rows to evaluate.", hint="Give a non-empty data set.")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if len(arr) != n_rows:
            raise DataError(f"{name} has {len(arr)} rows but the sensitive features have {n_rows}.")
    if n_boot < 1:
        raise DataError(f"n_boot must be at least 1, got {n_boot}.")
    yt, labels = _binary(y_true, name="the target", pos_label=pos_label)
    yp, _ = _binary(
        y_pred, name="the predictions", pos_label=pos_label, labels=labels | {pos_label}
    )
    score = None
    if y_score is not None:
        score = np.asarray(y_score, dtype=float).ravel()
        if len(score) != n_rows or np.isnan(score).any():
            bad = int(np.isnan(score).sum()) if len(score) == n_rows else "a different number of"
            raise DataError(
                f"The scores have {bad} missing values.", hint="Every row needs a score."
            )
    notes: list[str] = []
    names = [str(c) for c in sf.columns]
    codes, levels = _encode(sf)

    # Finest grouping: the intersection of all features, as one mixed-radix code.
    sizes = [len(lv) for lv in levels]
    fine = np.zeros(n_rows, dtype=np.int64)
    for c, k in zip(codes, sizes, strict=True):
        fine = fine * k + c
    used, fine = np.unique(fine, return_inverse=True)
    n_fine = len(used)
    fine_levels = np.stack(np.unravel_index(used, sizes), axis=1)  # (n_fine, n_features)

    counts = np.bincount(fine * 4 + yt * 2 + yp, minlength=n_fine * 4).reshape(n_fine, 2, 2)

    # Feature sets: each feature alone, then the intersection of all of them.
    sets: list[tuple[list[str], np.ndarray, list[dict[str, str]]]] = []
    for j, name in enumerate(names):
        sets.append(([name], fine_levels[:, j], [{name: str(v)} for v in levels[j]]))
    if intersection and len(names) > 1:
        labels_fine = [
            {n: str(levels[j][fine_levels[k, j]]) for j, n in enumerate(names)}
            for k in range(n_fine)
        ]
        sets.append((names, np.arange(n_fine), labels_fine))

    if progress:
        progress(f"bootstrapping {n_boot} resamples of the count table")
    rng = np.random.default_rng(seed)
    share = counts.reshape(-1) / n_rows
    draws = rng.multinomial(n_rows, share, size=n_boot).reshape(n_boot, n_fine, 2, 2)
    q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]

    def interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            lo, hi = (
                np.nanquantile(samples, q, axis=0)
                if np.isnan(samples).any()
                else (np.quantile(samples, q, axis=0))
            )
        return lo, hi

    z = _z(confidence)
    # Every reported group as a set of fine groups: overall, each feature's levels, and
    # the intersection. One AUC computation then serves them all.
    memberships = [np.ones((1, n_fine))] + [
        (mapping[None, :] == np.arange(len(labs))[:, None]).astype(float)
        for _, mapping, labs in sets
    ]
    auc_all = se_all = None
    if score is not None:
        if progress:
            progress("ROC AUC by group")
        auc_all, se_all = auc_by_group(score, yt, fine, np.vstack(memberships))
    offsets = np.cumsum([0] + [len(m) for m in memberships])

    def describe(salt, n_groups, tab, boot):
        point = rates(tab[:, 0, 0], tab[:, 0, 1], tab[:, 1, 0], tab[:, 1, 1])
        sampled = rates(boot[..., 0, 0], boot[..., 0, 1], boot[..., 1, 0], boot[..., 1, 1])
        n = tab.sum(axis=(1, 2))
        ests: dict[str, dict[str, Estimate]] = {}
        per_metric_samples = {}
        for m in RATE_METRICS:
            lo, hi = interval(sampled[m])
            per_metric_samples[m] = sampled[m]
            for k in range(n_groups):
                ests.setdefault(k, {})[m] = _est(point[m][k], lo[k], hi[k])
        if score is not None:
            auc = auc_all[offsets[salt] : offsets[salt + 1]]
            se = se_all[offsets[salt] : offsets[salt + 1]]
            # AUC is not a function of the count table: its resamples for disparities are
            # drawn from the DeLong normal approximation, independently per group.
            noise = np.random.default_rng([seed, salt]).standard_normal((n_boot, n_groups))
            per_metric_samples["roc_auc_score"] = np.clip(auc + noise * se, 0, 1)
            for k in range(n_groups):
                lo, hi = (auc[k] - z * se[k], auc[k] + z * se[k])
                ests[k]["roc_auc_score"] = _est(auc[k], max(lo, 0.0), min(hi, 1.0))
        for k in range(n_groups):
            ests[k] = {"count": _est(n[k], n[k], n[k]), **ests[k]}
        return point, ests, per_metric_samples, n

    # Overall: one group holding every row.
    all_tab = counts.sum(axis=0)[None]
    all_boot = draws.sum(axis=1)[:, None]
    _, overall_est, _, _ = describe(0, 1, all_tab, all_boot)
    overall = GroupResult(
        features={},
        n=n_rows,
        positives=int(yt.sum()),
        negatives=int(n_rows - yt.sum()),
        small=False,
        metrics=overall_est[0],
    )

    groups: list[GroupResult] = []
    disparities: list[Disparity] = []
    for salt, (features, mapping, group_labels) in enumerate(sets, start=1):
        if progress:
            progress(f"metrics by {' & '.join(features)}")
        n_groups = len(group_labels)
        tab = np.zeros((n_groups, 2, 2), dtype=np.int64)
        np.add.at(tab, mapping, counts)
        boot = np.zeros((n_boot, n_groups, 2, 2), dtype=np.int64)
        for k in range(n_groups):
            boot[:, k] = draws[:, mapping == k].sum(axis=1)
        point, ests, samples, n = describe(salt, n_groups, tab, boot)
        small = n < min_group_size
        present = n > 0
        for k in range(n_groups):
            if not present[k]:
                continue
            groups.append(
                GroupResult(
                    features=group_labels[k],
                    n=int(n[k]),
                    positives=int(tab[k, 1].sum()),
                    negatives=int(tab[k, 0].sum()),
                    small=bool(small[k]),
                    metrics=ests[k],
                )
            )
        keep = present & ~small
        left_out = [
            group_label(group_labels[k]) for k in range(n_groups) if present[k] and small[k]
        ]
        ref_index = _reference(features, group_labels, reference_groups, keep)
        pt = {
            m: np.array(
                [ests[k][m].value if k in ests else np.nan for k in range(n_groups)], dtype=float
            )
            for m in samples
        }
        reference = group_label(group_labels[ref_index]) if ref_index is not None else None
        disparities += _disparities(
            features, pt, samples, keep, ref_index, reference, left_out, interval
        )
        if left_out:
            notes.append(
                f"By {' & '.join(features)}: {len(left_out)} group(s) under {min_group_size} "
                f"rows are flagged and left out of the disparities ({', '.join(left_out)})."
            )
        if keep.sum() < 2:
            notes.append(
                f"By {' & '.join(features)}: fewer than two groups have {min_group_size} rows "
                "or more, so its disparities are undefined."
            )
    if score is not None and any(g.metrics["roc_auc_score"].value is None for g in groups):
        notes.append("ROC AUC is undefined for groups with only one class in the target.")
    return Assessment(
        sensitive_features=names,
        metrics=METRICS if score is not None else ["count", *RATE_METRICS],
        overall=overall,
        groups=groups,
        disparities=disparities,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
        notes=notes,
    )


def _disparities(features, pt, samples, keep, ref_index, reference, left_out, interval):
    """Every metric's difference and ratio, and the named summaries, with intervals.

    ``pt`` holds each metric's point values per group, ``samples`` its resampled values.
    """
    out: list[Disparity] = []

    def add(metric, kind, value, sampled):
        lo, hi = interval(sampled)
        out.append(
            Disparity(
                metric=metric,
                kind=kind,
                features=list(features),
                value=_f(value),
                ci_low=_f(lo),
                ci_high=_f(hi),
                reference=reference,
                groups_compared=int(keep.sum()),
                small_groups_left_out=left_out,
            )
        )

    def summary(m, kind):
        """(point value, resampled values) of one metric's difference or ratio."""
        point = _summary(pt[m][None, :], keep, kind, ref_index)[0]
        return point, _summary(samples[m], keep, kind, ref_index)

    for m in samples:
        for kind in ("difference", "ratio"):
            add(m, kind, *summary(m, kind))
    for derived, (base, kind) in DERIVED.items():
        if isinstance(base, tuple):  # equalized odds: the worse of TPR and FPR
            (a, sa), (b, sb) = summary(base[0], kind), summary(base[1], kind)
            combine = np.fmax if kind == "difference" else np.fmin
            add(derived, kind, combine(a, b), combine(sa, sb))
        else:
            add(derived, kind, *summary(base, kind))
    return out


def _reference(features, group_labels, reference_groups, keep) -> int | None:
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


def _summary(values: np.ndarray, keep: np.ndarray, kind: str, ref: int | None) -> np.ndarray:
    """Between-groups difference (max - min) or ratio (min / max), as Fairlearn's
    ``MetricFrame.difference()`` and ``.ratio()``; or relative to a reference group:
    the largest absolute gap to it, and the smallest of g/ref and ref/g."""
    v = values[:, keep]
    if v.shape[1] < 2:
        return np.full(values.shape[0], np.nan)
    with np.errstate(all="ignore"):
        if ref is None:
            hi, lo = np.max(v, axis=1), np.min(v, axis=1)
            return hi - lo if kind == "difference" else np.where(hi > 0, lo / hi, np.nan)
        r = values[:, [ref]]
        if kind == "difference":
            return np.max(np.abs(v - r), axis=1)
        ratio = np.minimum(v / r, r / v)
        return np.where(np.all(np.isfinite(ratio), axis=1), np.min(ratio, axis=1), np.nan)


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - confidence) / 2))


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


def _est(value, lo, hi) -> Estimate:
    return Estimate(value=_f(value), ci_low=_f(lo), ci_high=_f(hi))
