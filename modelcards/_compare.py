"""Compare two versions (or two prediction columns) on the same rows, group by group.

Why paired: both versions answer the same people, so their errors are correlated and
the change in a rate is far more precise than two separate intervals suggest. Every
confusion-matrix metric of both versions, in every group, is a function of one count
table: (intersection cell, label, prediction A, prediction B), 8 counts per cell. A row
bootstrap resamples rows with replacement; the counts of such a resample are exactly a
multinomial draw over that table's cells with the total row count, so the resamples are
drawn from the table (vectorised over resamples) and never touch the rows again.

The table is additive over any split of the rows, so the batched engine and Spark build it
without holding the rows (``counted_comparison``), in the in-memory order of its cells:
the same table and seed give the same draws, hence the same comparison to the last bit.

The values of each version carry the card's exact Clopper-Pearson intervals; the change
carries the paired bootstrap's percentile interval. Regression and multiclass models are
not compared yet, and neither is ROC AUC (a function of the scores, not of the counts).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from ._evaluate import (
    Assessment,
    FeatureSet,
    Groups,
    PerRow,
    _binary,
    _encode,
    _fine_groups,
    assessment_from_tables,
    feature_sets,
    group_label,
    prepare_groups,
    rate_intervals,
    rates,
    support,
    tables_from_fine,
)
from ._metrics import METRICS, MIRRORS, RATE_METRICS
from ._policy import Policy, PolicyResult, Verdict
from .errors import DataError, UnsupportedTaskError

if TYPE_CHECKING:  # pragma: no cover
    from ._batched import Engine
    from ._pipeline import CardOptions, PredictionSource
    from ._registry import LoadedModel, Registry

ChangeVerdict = Literal["better", "worse", "unclear"]
#: Resamples and seed of a card's comparison, and ``modelcards compare``'s defaults.
N_BOOT, SEED = 1000, 0
Progress = Callable[[str], None]


def _quiet(msg: str) -> None:
    """The default progress callback: says nothing."""


class VersionInfo(BaseModel):
    """Which version (or column) a side of the comparison is.

    Attributes:
        uri: ``models:/NAME/VERSION``, or how the predictions were named.
        version: The registered version, or None for a column.
        alias: The alias it was reached through, if any.
    """

    model_config = ConfigDict(extra="forbid")

    uri: str
    version: int | None = None
    alias: str | None = None


class Interval(BaseModel):
    """A value and its interval; all None where undefined."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci_low: float | None
    ci_high: float | None


class Change(BaseModel):
    """One metric in one group: both versions' values and the change B - A.

    ``verdict`` is ``better`` or ``worse`` (by the metric's direction) when the paired
    interval of the change excludes 0, else ``unclear`` (always for a metric with no
    better direction, such as the selection rate). ``small`` marks a group whose rows or
    the metric's denominator are under the minimum group size: shown, never gating.
    """

    model_config = ConfigDict(extra="forbid")

    features: dict[str, str]
    metric: str
    a: Interval
    b: Interval
    change: Interval
    verdict: ChangeVerdict
    n: int
    small: bool


class ComparedCheck(BaseModel):
    """One policy check in a comparison: its verdict on A, on B, and on the change.

    A check on levels (``false_negative_rate <= 0.3 for every group``) has ``a`` and
    ``b``; a check on the change (``change(false_negative_rate) <= 0.02``) has ``change``.
    """

    model_config = ConfigDict(extra="forbid")

    check: str
    line: int
    a: Verdict | None = None
    b: Verdict | None = None
    change: Verdict | None = None
    reason: str


class ComparisonPolicy(BaseModel):
    """The policy's verdicts in a comparison, and the metrics it protects."""

    model_config = ConfigDict(extra="forbid")

    source: str | None
    protects: list[str]
    checks: list[ComparedCheck]


class Comparison(BaseModel):
    """Two versions scored on the same rows: every metric's change in every group.

    ``changes`` holds the overall population first (empty ``features``), then each
    sensitive feature's groups, then their intersection's.
    """

    model_config = ConfigDict(extra="forbid")

    a: VersionInfo
    b: VersionInfo
    data: str
    rows: int
    sensitive_features: list[str]
    metrics: list[str]
    confidence: float
    n_boot: int
    seed: int
    min_group_size: int
    changes: list[Change]
    policy: ComparisonPolicy

    def change(self, metric: str, features: Mapping[str, str] | None = None) -> Change:
        """One metric's change in one group (default: overall); KeyError when absent.

        Args:
            metric: The metric's name, e.g. ``"false_negative_rate"``.
            features: The group, e.g. ``{"sex": "F"}``; None or ``{}`` for overall.
        """
        wanted = dict(features or {})
        for c in self.changes:
            if c.metric == metric and c.features == wanted:
                return c
        raise KeyError(f"no change of {metric} for {wanted or 'overall'}")

    def worse(self) -> list[Change]:
        """The changes that gate a release: worse beyond the interval, on a metric the
        policy protects (or its mirror), in a group large enough to judge; each change of
        decisions once (``once_per_decision``)."""
        protected = set(self.policy.protects)
        return [
            c
            for c in once_per_decision(self.changes)
            if c.verdict == "worse"
            and (c.metric in protected or MIRRORS.get(c.metric) in protected)
            and not c.small
        ]

    @property
    def exit_code(self) -> int:
        """0 when no group got worse on a protected metric and no change check failed."""
        failed = any(c.change == "fail" for c in self.policy.checks)
        return 1 if failed or self.worse() else 0


def once_per_decision(changes: Sequence[Change]) -> list[Change]:
    """``changes`` less each true positive (negative) rate's change whose mirror, the false
    negative (positive) rate's in the same group, is there too: the same decisions seen
    from the other side (``MIRRORS``), which a list for a reader holds once.

    Args:
        changes: Changes, in the order to keep.
    """
    errors = {(_key(c.features), c.metric) for c in changes if c.metric in MIRRORS}
    mirrored = {(key, MIRRORS[metric]) for key, metric in errors}
    return [c for c in changes if (_key(c.features), c.metric) not in mirrored]


# -- the paired count table -------------------------------------------------------------
#: Index of (label, prediction A, prediction B) in a group's 8 counts: y * 4 + a * 2 + b.
_A_CELLS = {"tn": (0, 1), "fp": (2, 3), "fn": (4, 5), "tp": (6, 7)}
_B_CELLS = {"tn": (0, 2), "fp": (1, 3), "fn": (4, 6), "tp": (5, 7)}


def paired_table(groups: Groups, pred_a: NDArray[np.bool_], pred_b: NDArray[np.bool_]) -> Any:
    """Counts per (intersection cell, label, prediction A, prediction B): (n_fine, 8).

    Args:
        groups: From ``prepare_groups``.
        pred_a: Version A predicts positive, per row.
        pred_b: Version B predicts positive, per row.
    """
    # groups.cell is fine * 4 + label * 2: doubled, it leaves room for the two predictions.
    cells = groups.cell.astype(np.int64) * 2
    cells += pred_a.astype(np.int64) * 2
    cells += pred_b
    return np.bincount(cells, minlength=groups.n_fine * 8).reshape(groups.n_fine, 8)


@dataclass(frozen=True)
class PairedTable:
    """Everything a comparison is computed from, however the rows were read.

    The rows themselves are never needed: the table is additive over any split of them,
    so the batched and Spark engines build it piece by piece. Its cells must be in the
    in-memory order (fine groups as ``prepare_groups`` numbers them), because the paired
    bootstrap draws over the cells in that order: the same order, the same draws.

    Attributes:
        names: The sensitive columns.
        sets: Every reported grouping (each feature, then the intersection).
        table: Counts per (fine group, label, prediction A, prediction B): (n_fine, 8),
            the last axis indexed by ``label * 4 + A * 2 + B``.
    """

    names: list[str]
    sets: list[FeatureSet]
    table: NDArray[np.int64]

    @classmethod
    def of_rows(
        cls, groups: Groups, pred_a: NDArray[np.bool_], pred_b: NDArray[np.bool_]
    ) -> PairedTable:
        """The table of rows held in memory.

        Args:
            groups: From ``prepare_groups``.
            pred_a: Version A predicts positive, per row.
            pred_b: Version B predicts positive, per row.
        """
        return cls(list(groups.names), list(groups.sets), paired_table(groups, pred_a, pred_b))

    @classmethod
    def of_counts(
        cls, counts: pd.DataFrame, *, features: Sequence[str], intersection: bool = True
    ) -> PairedTable:
        """The table of a paired count frame (what the batched and Spark engines return).

        Args:
            counts: One column per sensitive feature (the values as the rows hold them,
                missing as null), then ``label``, ``pred_a``, ``pred_b`` (bools: the
                target is positive, A and B predict positive) and ``n``.
            features: The sensitive columns, in order.
            intersection: Also compare the intersection of all features.
        """
        names = [str(f) for f in features]
        counts = counts[counts["n"] > 0].reset_index(drop=True)
        if counts.empty:
            raise DataError("There are no rows to evaluate.", hint="Give a non-empty data set.")
        # The encoding of the in-memory path (and of assess_aggregates): the same groups,
        # numbered in the same order.
        codes, levels = _encode(counts[names])
        fine, fine_levels = _fine_groups(codes, [len(lv) for lv in levels], len(counts))
        sets = feature_sets(names, levels, fine_levels, intersection=intersection)
        cell = fine * 8 + (
            counts["label"].to_numpy(bool).astype(np.int64) * 4
            + counts["pred_a"].to_numpy(bool).astype(np.int64) * 2
            + counts["pred_b"].to_numpy(bool).astype(np.int64)
        )
        table = np.zeros(len(fine_levels) * 8, dtype=np.int64)
        np.add.at(table, cell, counts["n"].to_numpy(np.int64))
        return cls(names, sets, table.reshape(len(fine_levels), 8))

    @property
    def rows(self) -> int:
        """How many rows the table counts."""
        return int(self.table.sum())


def _membership(paired: PairedTable) -> tuple[NDArray[np.float64], list[dict[str, str]]]:
    """Which groups each intersection cell belongs to (overall first), as a 0/1 matrix."""
    labels: list[dict[str, str]] = [{}]
    cols = [np.ones(len(paired.table))]
    for fs in paired.sets:
        for k, lab in enumerate(fs.labels):
            cols.append((fs.mapping == k).astype(float))
            labels.append(lab)
    return np.stack(cols, axis=1), labels


def _two_by_two(tab: Any, cells: dict[str, tuple[int, int]]) -> Any:
    """A version's (actual, predicted) 2x2 tables from the 8 paired counts (last axis)."""
    tn, fp, fn, tp = (tab[..., i] + tab[..., j] for i, j in cells.values())
    return np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], -2)


def _rates(tab2: Any) -> dict[str, Any]:
    return rates(tab2[..., 0, 0], tab2[..., 0, 1], tab2[..., 1, 0], tab2[..., 1, 1])


def _none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _verdict(metric: str, lo: float | None, hi: float | None) -> ChangeVerdict:
    better = METRICS[metric].better
    if lo is None or hi is None or better == "neither" or lo <= 0 <= hi:
        return "unclear"
    up = lo > 0
    return "better" if up == (better == "higher") else "worse"


def _bootstrap(
    table: Any, member: NDArray[np.float64], *, n_boot: int, seed: int
) -> dict[str, NDArray[np.float64]]:
    """The change B - A of every metric in every group, per resample: (n_boot, groups)."""
    flat = table.reshape(-1)
    n = int(flat.sum())
    rng = np.random.default_rng(seed)
    # A row bootstrap's counts are one multinomial draw over the cells (exactly).
    draws = rng.multinomial(n, flat / n, size=n_boot).reshape(n_boot, *table.shape)
    # (n_boot, n_fine, 8) -> (n_boot, groups, 8): sum the cells of each group.
    grouped = np.einsum("bfc,fg->bgc", draws, member).round().astype(np.int64)
    ra, rb = _rates(_two_by_two(grouped, _A_CELLS)), _rates(_two_by_two(grouped, _B_CELLS))
    return {m: rb[m] - ra[m] for m in RATE_METRICS}


def compare_groups(
    groups: Groups,
    pred_a: NDArray[np.bool_],
    pred_b: NDArray[np.bool_],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
) -> list[Change]:
    """Every metric's change in every group, from prepared groups and two predictions.

    Args:
        groups: From ``prepare_groups``.
        pred_a: Version A predicts positive, per row.
        pred_b: Version B predicts positive, per row.
        n_boot: Bootstrap resamples for the change's interval (default 1000).
        seed: The resampling seed: the same seed gives the same intervals.
        confidence: Interval level (default 0.95).
        min_group_size: Groups (or denominators) under it are marked ``small``.
    """
    return compare_table(
        PairedTable.of_rows(groups, pred_a, pred_b),
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
    )


def compare_table(
    paired: PairedTable,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
) -> list[Change]:
    """Every metric's change in every group, from the paired count table alone.

    Args:
        paired: The table (``PairedTable.of_rows`` or ``PairedTable.of_counts``).
        n_boot: Bootstrap resamples for the change's interval (default 1000).
        seed: The resampling seed: the same seed gives the same intervals.
        confidence: Interval level (default 0.95).
        min_group_size: Groups (or denominators) under it are marked ``small``.
    """
    if n_boot < 2:
        raise DataError(f"--bootstrap must be at least 2, got {n_boot}.", hint="Use 1000.")
    table = paired.table
    member, labels = _membership(paired)
    tab = np.einsum("fc,fg->gc", table, member).round().astype(np.int64)  # (groups, 8)
    tab_a, tab_b = _two_by_two(tab, _A_CELLS), _two_by_two(tab, _B_CELLS)
    alpha = 1 - confidence
    va, vb = _rates(tab_a), _rates(tab_b)
    ia, ib = rate_intervals(tab_a, alpha), rate_intervals(tab_b, alpha)
    boot = _bootstrap(table, member, n_boot=n_boot, seed=seed)
    n = tab.sum(axis=1)
    out: list[Change] = []
    for m in RATE_METRICS:
        draws = boot[m]
        ok = np.isfinite(draws)
        # nanpercentile warns on a column of NaN (a group no resample could measure).
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanpercentile(draws, 100 * alpha / 2, axis=0)
            hi = np.nanpercentile(draws, 100 * (1 - alpha / 2), axis=0)
        # An interval rests on the resamples where the metric exists; most must.
        defined = ok.mean(axis=0) >= 0.5
        sup = np.minimum(support(m, tab_a), support(m, tab_b))
        for k, lab in enumerate(labels):
            delta = _none(vb[m][k] - va[m][k])
            c_lo = _none(lo[k]) if delta is not None and defined[k] else None
            c_hi = _none(hi[k]) if delta is not None and defined[k] else None
            out.append(
                Change(
                    features=lab,
                    metric=m,
                    a=_interval(va[m][k], ia[m][0][k], ia[m][1][k]),
                    b=_interval(vb[m][k], ib[m][0][k], ib[m][1][k]),
                    change=Interval(
                        value=delta,
                        ci_low=c_lo if c_hi is not None else None,
                        ci_high=c_hi if c_lo is not None else None,
                    ),
                    verdict=_verdict(m, c_lo, c_hi),
                    n=int(n[k]),
                    small=bool(n[k] < min_group_size or sup[k] < min_group_size),
                )
            )
    # Overall first, then groups in the assessment's order; metrics in vocabulary order.
    return _ordered(out, labels)


def _ordered(changes: list[Change], labels: list[dict[str, str]]) -> list[Change]:
    by_group: dict[str, list[Change]] = {}
    for c in changes:
        by_group.setdefault(_key(c.features), []).append(c)
    return [c for lab in labels for c in by_group[_key(lab)]]


def _key(features: Mapping[str, str]) -> str:
    return group_label(features) + "|" + ",".join(features)


def _interval(value: float, lo: float, hi: float) -> Interval:
    v = _none(value)
    if v is None:
        return Interval(value=None, ci_low=None, ci_high=None)
    return Interval(value=v, ci_low=_none(lo), ci_high=_none(hi))


# -- the policy -------------------------------------------------------------------------
def protected_metrics(policy: Policy | None) -> list[str]:
    """The metrics a policy protects: every metric its checks rest on; without a policy,
    every metric with a better direction.

    Args:
        policy: The release policy, or None.
    """
    if policy is None:
        return [m for m in RATE_METRICS if METRICS[m].better != "neither"]
    named = {policy_metric(c.metric) for c in policy.checks}
    return [m for m in RATE_METRICS if m in named]


def policy_metric(name: str) -> str:
    """The per-group metric a check's metric name rests on (a disparity's first metric).

    Args:
        name: A metric or disparity name as a policy writes it.
    """
    from ._metrics import DISPARITIES

    if name in DISPARITIES:
        return DISPARITIES[name].metrics[0]
    for suffix in ("_difference", "_ratio"):
        if name.endswith(suffix) and name.removesuffix(suffix) in METRICS:
            return name.removesuffix(suffix)
    return name


def _judge_policy(
    policy: Policy | None, changes: list[Change], a: PolicyResult | None, b: PolicyResult | None
) -> ComparisonPolicy:
    if policy is None:
        return ComparisonPolicy(source=None, protects=protected_metrics(None), checks=[])
    on_change = policy.evaluate_changes(changes)
    checks: list[ComparedCheck] = []
    for i, c in enumerate(policy.checks):
        if c.change:
            r = on_change[i]
            assert r is not None
            checks.append(
                ComparedCheck(check=c.text, line=c.line, change=r.verdict, reason=r.reason)
            )
        else:
            assert a is not None and b is not None
            ra, rb = a.checks[i], b.checks[i]
            checks.append(
                ComparedCheck(
                    check=c.text,
                    line=c.line,
                    a=ra.verdict,
                    b=rb.verdict,
                    reason=f"A: {ra.reason} B: {rb.reason}",
                )
            )
    return ComparisonPolicy(source=policy.source, protects=protected_metrics(policy), checks=checks)


# -- the public entry points ------------------------------------------------------------
def compare_predictions(
    y_true: PerRow,
    pred_a: PerRow,
    pred_b: PerRow,
    *,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]] | pd.Series[Any],
    pos_label: object = 1,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 30,
    intersection: bool = True,
    policy: Policy | None = None,
    a: VersionInfo | None = None,
    b: VersionInfo | None = None,
    data: str = "the data",
) -> Comparison:
    """Compare two sets of predicted labels on the same rows, with paired intervals.

    Args:
        y_true: The true outcomes, one per row.
        pred_a: Version A's predicted labels (the version in use).
        pred_b: Version B's predicted labels (the candidate).
        sensitive_features: One column per sensitive feature.
        pos_label: The positive outcome (default 1).
        n_boot: Paired bootstrap resamples (default 1000).
        seed: The resampling seed (default 0): the same seed, the same intervals.
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups are shown but never gate (default 30).
        intersection: Also compare the intersection of all features (default True).
        policy: Release checks, on levels and on changes; None for none.
        a: What version A is (default: ``"A"``).
        b: What version B is (default: ``"B"``).
        data: How the comparison names the rows.

    >>> c = compare_predictions([0, 1, 1, 0], [0, 1, 0, 0], [0, 1, 0, 0],
    ...                         sensitive_features={"g": ["x", "x", "y", "y"]}, n_boot=50)
    >>> c.change("accuracy_score").change.value
    0.0
    """
    groups = prepare_groups(
        y_true,
        sensitive_features=sensitive_features,
        pos_label=pos_label,
        intersection=intersection,
    )
    pa, _ = _binary(
        pred_a, name="version A's predictions", pos_label=pos_label, labels=groups.labels
    )
    pb, _ = _binary(
        pred_b, name="version B's predictions", pos_label=pos_label, labels=groups.labels
    )
    for name, p in (("A", pa), ("B", pb)):
        if len(p) != groups.n_rows:
            raise DataError(
                f"Version {name} has {len(p)} predictions for {groups.n_rows} rows.",
                hint="Give one prediction per row, for the same rows.",
            )
    return comparison_of(
        groups,
        pa,
        pb,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
        policy=policy,
        a=a or VersionInfo(uri="A"),
        b=b or VersionInfo(uri="B"),
        data=data,
    )


def comparison_of(
    groups: Groups,
    pa: NDArray[np.bool_],
    pb: NDArray[np.bool_],
    *,
    n_boot: int,
    seed: int,
    confidence: float,
    min_group_size: int,
    policy: Policy | None,
    a: VersionInfo,
    b: VersionInfo,
    data: str,
) -> Comparison:
    """The comparison of two predictions on prepared groups, with the policy's verdicts.

    Args:
        groups: From ``prepare_groups``.
        pa: Version A predicts positive, per row.
        pb: Version B predicts positive, per row.
        n_boot: Paired bootstrap resamples.
        seed: The resampling seed.
        confidence: Interval level.
        min_group_size: Smaller groups are shown but never gate.
        policy: Release checks, or None.
        a: What version A is.
        b: What version B is.
        data: How the comparison names the rows.
    """
    return comparison_from_table(
        PairedTable.of_rows(groups, pa, pb),
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
        policy=policy,
        a=a,
        b=b,
        data=data,
    )


def comparison_from_table(
    paired: PairedTable,
    *,
    n_boot: int,
    seed: int,
    confidence: float,
    min_group_size: int,
    policy: Policy | None,
    a: VersionInfo,
    b: VersionInfo,
    data: str,
) -> Comparison:
    """The comparison from the paired count table, with the policy's verdicts: what every
    engine shares, so that the same table gives the same comparison to the last bit.

    Args:
        paired: The table (``PairedTable.of_rows`` or ``PairedTable.of_counts``).
        n_boot: Paired bootstrap resamples.
        seed: The resampling seed.
        confidence: Interval level.
        min_group_size: Smaller groups are shown but never gate.
        policy: Release checks, or None.
        a: What version A is.
        b: What version B is.
        data: How the comparison names the rows.
    """
    changes = compare_table(
        paired,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
    )
    level_a = level_b = None
    if policy is not None and any(not c.change for c in policy.checks):
        # Checks on levels: each version's own assessment, with the card's exact intervals
        # (its count tables are the paired table summed over the other version).
        level_a = policy.evaluate(_assessment(paired, _A_CELLS, confidence, min_group_size))
        level_b = policy.evaluate(_assessment(paired, _B_CELLS, confidence, min_group_size))
    return Comparison(
        a=a,
        b=b,
        data=data,
        rows=paired.rows,
        sensitive_features=list(paired.names),
        metrics=list(RATE_METRICS),
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        min_group_size=min_group_size,
        changes=changes,
        policy=_judge_policy(policy, changes, level_a, level_b),
    )


def _assessment(
    paired: PairedTable,
    cells: dict[str, tuple[int, int]],
    confidence: float,
    min_group_size: int,
) -> Assessment:
    """One version's assessment (no AUC) from the paired table: ``assess_groups`` on its
    predictions, without the rows."""
    if not 0 < confidence < 1:
        raise DataError(f"confidence must lie between 0 and 1, got {confidence}.")
    return assessment_from_tables(
        paired.names,
        paired.sets,
        tables_from_fine(paired.sets, _two_by_two(paired.table, cells)),
        None,
        confidence=confidence,
        min_group_size=min_group_size,
        reference_groups=None,
        progress=_quiet,
    )


def check_comparable(a: LoadedModel, b: LoadedModel) -> None:
    """A DataError unless both versions do the same task on the same inputs.

    Args:
        a: Version A, loaded.
        b: Version B, loaded.
    """
    if a.task != b.task:
        raise DataError(
            f"{a.uri} is a {a.task} model and {b.uri} a {b.task} model: their answers "
            "cannot be compared.",
            hint="Compare two versions that do the same task.",
        )
    if a.task == "regression" or len(a.classes) != 2 or len(b.classes) != 2:
        raise UnsupportedTaskError(
            f"{b.uri} is a {b.task} model; comparing versions supports binary "
            "classifiers only (not yet regression or multiclass).",
            hint="Compare their cards side by side for now.",
        )
    if {str(c) for c in a.classes} != {str(c) for c in b.classes}:
        raise DataError(
            f"{a.uri} predicts {a.classes} and {b.uri} predicts {b.classes}.",
            hint="Compare two versions that predict the same labels.",
        )
    if sorted(a.feature_names) != sorted(b.feature_names):
        only_a = sorted(set(a.feature_names) - set(b.feature_names))
        only_b = sorted(set(b.feature_names) - set(a.feature_names))
        raise DataError(
            f"{a.uri} and {b.uri} take different inputs (only {a.uri}: "
            f"{', '.join(only_a) or '-'}; only {b.uri}: {', '.join(only_b) or '-'}).",
            hint="Compare versions of the same model, which answer the same form.",
        )


def compare_versions(
    ref_a: str | LoadedModel,
    ref_b: str | LoadedModel,
    *,
    registry: Registry | None = None,
    data: str | Path | pd.DataFrame | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | None = None,
    policy: str | Path | Policy | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    options: CardOptions | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
    engine: Engine = "auto",
    batch_rows: int | None = None,
    spark_master: str | None = None,
) -> Comparison:
    """Score two registered versions on the same rows and compare them group by group.

    Every engine gives the same comparison, to the last bit: the paired count table is
    additive over any split of the rows, and the bootstrap draws from it alone.

    Args:
        ref_a: The version in use, ``"models:/NAME@champion"`` or loaded.
        ref_b: The candidate, ``"models:/NAME@challenger"`` or loaded.
        registry: Where the references are loaded from (default ``Registry()``).
        data: CSV/Parquet path or DataFrame (default: the split stored with ``ref_b``).
        target: The true outcome column (default: B's).
        sensitive: Sensitive columns (default: B's).
        policy: A policy YAML path or parsed policy (default: the one stored with B).
        n_boot: Paired bootstrap resamples (default 1000).
        seed: The resampling seed (default 0).
        options: Confidence level, minimum group size, positive label.
        allow_pickle: Allow pickle model files (default False).
        trusted_types: More types to trust in a skops file.
        progress: Called with a short message as each step starts.
        engine: ``"memory"`` reads the rows whole; ``"batched"`` reads a CSV or Parquet
            file in record batches, both versions predicting batch by batch (memory
            nearly flat); ``"spark"`` predicts and counts on Apache Spark (paths or a
            catalog table); ``"auto"`` (the default) is batched for files over 100 MB.
        batch_rows: Rows per batch for the batched engine (default 1,000,000).
        spark_master: The Spark master URL for ``engine="spark"``.
    """
    from ._batched import choose_engine
    from ._pipeline import (
        CardOptions,
        PredictionSource,
        check_target_role,
        load_model,
        obtain_predictions,
        read_evaluation,
        resolve_policy,
    )

    options = options or CardOptions()
    given_policy = resolve_policy(policy, None) if policy is not None else None
    loaded: list[LoadedModel] = []
    for ref in (ref_a, ref_b):
        src = PredictionSource.choose(model=ref)
        m = load_model(
            src,
            registry=registry,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=progress,
        )
        assert m is not None  # a model source always loads one
        loaded.append(m)
    la, lb = loaded
    check_comparable(la, lb)
    check_target_role(target, lb)  # before any engine reads the data, as a card does
    the_policy = given_policy if given_policy is not None else resolve_policy(None, lb)
    chosen = choose_engine(engine, data)
    if chosen != "memory":
        return counted_comparison(
            chosen,
            data=data,
            base=la,
            loaded=lb,
            source_b=PredictionSource.choose(model=lb),
            target=target,
            sensitive=sensitive,
            options=options,
            n_boot=n_boot,
            seed=seed,
            policy=the_policy,
            registry=registry,
            batch_rows=batch_rows,
            spark_master=spark_master,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=progress,
        )
    inputs = read_evaluation(
        data, loaded=lb, target=target, sensitive=sensitive, options=options, progress=progress
    )
    groups = inputs.groups.result()
    assert isinstance(groups, Groups)  # a binary classifier's inputs
    preds = [
        obtain_predictions(PredictionSource.choose(model=m), inputs, loaded=m, progress=progress)
        for m in loaded
    ]
    pa, pb = (np.asarray(p.labels == inputs.positive, dtype=bool) for p in preds)
    progress(f"comparing {len(inputs.frame):,} rows, {n_boot:,} paired resamples")
    return comparison_of(
        groups,
        pa,
        pb,
        n_boot=n_boot,
        seed=seed,
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        policy=the_policy,
        a=VersionInfo(uri=la.uri, version=la.version, alias=la.alias),
        b=VersionInfo(uri=lb.uri, version=lb.version, alias=lb.alias),
        data=inputs.source,
    )


def counted_comparison(
    engine: Literal["batched", "spark"],
    *,
    data: str | Path | pd.DataFrame | None,
    base: LoadedModel,
    loaded: LoadedModel,
    source_b: PredictionSource,
    target: str | None,
    sensitive: Sequence[str] | None,
    options: CardOptions,
    n_boot: int,
    seed: int,
    policy: Policy | None,
    registry: Registry | None = None,
    batch_rows: int | None = None,
    spark_master: str | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
) -> Comparison:
    """A comparison whose rows never sit in memory: the batched engine or Spark counts
    the paired table, and the comparison is computed from it as in memory.

    Args:
        engine: ``"batched"`` (a CSV or Parquet file) or ``"spark"`` (paths or a table).
        data: The evaluation data (a file for batched; a path or table name for Spark).
        base: Version A (the version in use), checked comparable with ``loaded``.
        loaded: Version B (the candidate).
        source_b: How B predicts (a card's threshold cuts its probabilities).
        target: The target column (default: B's).
        sensitive: The sensitive columns (default: B's).
        options: Confidence, minimum group size, positive label, intersection.
        n_boot: Paired bootstrap resamples.
        seed: The resampling seed.
        policy: Release checks, or None.
        registry: Where both versions are stored (Spark ships their files).
        batch_rows: Rows per batch for the batched engine (default 1,000,000).
        spark_master: The Spark master URL.
        allow_pickle: Allow pickle model files (Spark's executors load them again).
        trusted_types: More types to trust in a skops file.
        progress: Called with a short message as each step starts.
    """
    if n_boot < 2:  # before any pass over the data
        raise DataError(f"--bootstrap must be at least 2, got {n_boot}.", hint="Use 1000.")
    if data is None or isinstance(data, pd.DataFrame):  # the card's messages
        if engine == "batched":
            raise DataError(
                "--engine batched reads a CSV or Parquet file in batches.",
                hint="Give the file with --data FILE, or use --engine memory.",
            )
        raise DataError(
            "--engine spark reads Parquet or CSV files, or a table in the Spark catalog.",
            hint="Give them with --data PATH_OR_TABLE, or use --engine memory.",
        )
    if engine == "batched":
        from ._batched import BATCH_ROWS, batched_paired_counts

        counted = batched_paired_counts(
            source_b,
            data=data,
            loaded_a=base,
            loaded_b=loaded,
            target=target,
            sensitive=sensitive,
            options=options,
            batch_rows=batch_rows or BATCH_ROWS,
            progress=progress,
        )
    else:
        from ._spark import read_spark_data, session_for, spark_paired_counts

        target = target or loaded.target
        if not target:
            raise DataError("Name the target column with --target COLUMN.")
        cols = list(sensitive or loaded.sensitive_features)
        if not cols:
            raise DataError("Name at least one sensitive column with --sensitive COL[,COL...].")
        registry = registry or loaded._registry
        assert registry is not None  # a loaded version knows its registry
        with session_for(spark_master, progress) as spark:
            progress("predicting with both versions and counting on Spark")
            counted = spark_paired_counts(
                read_spark_data(spark, data),
                target=target,
                sensitive=cols,
                loaded_a=base,
                loaded_b=loaded,
                threshold_b=source_b.threshold,
                options=options,
                registry=registry,
                allow_pickle=allow_pickle,
                trusted_types=trusted_types,
            )
    paired = PairedTable.of_counts(
        counted.counts, features=counted.features, intersection=options.intersection
    )
    progress(f"comparing {paired.rows:,} rows, {n_boot:,} paired resamples")
    return comparison_from_table(
        paired,
        n_boot=n_boot,
        seed=seed,
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        policy=policy,
        a=VersionInfo(uri=base.uri, version=base.version, alias=base.alias),
        b=VersionInfo(uri=loaded.uri, version=loaded.version, alias=loaded.alias),
        data=counted.source,
    )
