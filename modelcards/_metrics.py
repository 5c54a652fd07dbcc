"""The metric vocabulary: one table that names, labels and defines every number we report.

Evaluation, charts, templates, the policy and both apps read this table; no other list of
metric names or labels exists. Names are Fairlearn's (and scikit-learn's) function names,
so a card's numbers can be traced to the reference implementation.

>>> METRICS["false_negative_rate"].denominator
'actual_positives'
>>> [m.name for m in metric_specs(kind="score")]
['roc_auc_score']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Denominator = Literal[
    "rows",
    "actual_positives",
    "actual_negatives",
    "predicted_positives",
    "both_classes",
    "positive_negative_pairs",
    "smallest_actual_class",
    "smallest_predicted_class",
    "smallest_actual_or_predicted_class",
]
Better = Literal["higher", "lower", "neither"]
MetricKind = Literal["count", "rate", "score", "error"]
#: What a model predicts: one of two classes, one of several, or a number.
Task = Literal["binary", "multiclass", "regression"]
DisparityKind = Literal["difference", "ratio"]

#: What each denominator counts, in two or three words (``"3 actual positives"``).
DENOMINATOR_NOUNS: dict[Denominator, str] = {
    "rows": "rows",
    "actual_positives": "actual positives",
    "actual_negatives": "actual negatives",
    "predicted_positives": "predicted positives",
    "both_classes": "people in the smaller class",
    "positive_negative_pairs": "people in the smaller class",
    "smallest_actual_class": "people in the smallest class",
    "smallest_predicted_class": "people in the smallest predicted class",
    "smallest_actual_or_predicted_class": "people in the smallest class (actual or predicted)",
}


@dataclass(frozen=True)
class MetricSpec:
    """One per-group metric.

    Attributes:
        name: Fairlearn's / scikit-learn's function name, e.g. ``"false_negative_rate"``.
        label: What a reader sees, e.g. ``"False negative rate"``.
        definition: One plain-language sentence.
        denominator: What the metric divides by; a group with none of it has no value.
        better: Which direction is better for the people scored (``"neither"`` for the
            selection rate, whose right level depends on the use).
        kind: ``"count"``, ``"rate"`` (a function of the confusion-matrix counts),
            ``"score"`` (needs the model's scores) or ``"error"`` (a regression metric, in
            the target's units except R²).
        key: Fairness-critical (the selection rate and the four error rates; for
            regression the absolute, squared and signed errors): charted by default and
            shown first.
        overview: One of the few overall figures a model's summary page shows.
        tasks: The tasks it is reported for (``count`` for every task).
        ratio: Whether a ratio between groups means something: not for a signed value
            (mean error) or one that can be negative (R²).
    """

    name: str
    label: str
    definition: str
    denominator: Denominator
    better: Better
    kind: MetricKind
    key: bool = False
    overview: bool = False
    tasks: tuple[Task, ...] = ("binary",)
    ratio: bool = True


@dataclass(frozen=True)
class DisparitySpec:
    """A named disparity summary, as Fairlearn names it.

    Attributes:
        name: e.g. ``"equalized_odds_difference"``.
        label: What a reader sees.
        definition: One plain-language sentence.
        metrics: The per-group metric(s) it summarises; with two, the worse of the two.
        kind: ``"difference"`` (largest minus smallest) or ``"ratio"`` (smallest over
            largest).
        headline: Position in the card's headline table, or None when not shown there.
    """

    name: str
    label: str
    definition: str
    metrics: tuple[str, ...]
    kind: DisparityKind
    headline: int | None = None


_TABLE = [
    MetricSpec(
        "count",
        "Count",
        "How many rows the group has.",
        "rows",
        "neither",
        "count",
        tasks=("binary", "multiclass", "regression"),
    ),
    MetricSpec(
        "selection_rate",
        "Selection rate",
        "Share of the group that the model predicts positive.",
        "rows",
        "neither",
        "rate",
        key=True,
    ),
    MetricSpec(
        "true_positive_rate",
        "True positive rate",
        "Of the people who actually are positive, the share the model predicts positive.",
        "actual_positives",
        "higher",
        "rate",
        key=True,
    ),
    MetricSpec(
        "false_positive_rate",
        "False positive rate",
        "Of the people who actually are negative, the share the model wrongly predicts positive.",
        "actual_negatives",
        "lower",
        "rate",
        key=True,
    ),
    MetricSpec(
        "false_negative_rate",
        "False negative rate",
        "Of the people who actually are positive, the share the model misses.",
        "actual_positives",
        "lower",
        "rate",
        key=True,
    ),
    MetricSpec(
        "true_negative_rate",
        "True negative rate",
        "Of the people who actually are negative, the share the model predicts negative.",
        "actual_negatives",
        "higher",
        "rate",
        key=True,
    ),
    MetricSpec(
        "accuracy_score",
        "Accuracy",
        "Share of the group whose prediction matches the actual outcome.",
        "rows",
        "higher",
        "rate",
        overview=True,
        tasks=("binary", "multiclass"),
    ),
    MetricSpec(
        "balanced_accuracy_score",
        "Balanced accuracy",
        "Average of the true positive and true negative rates, so both outcomes count "
        "equally however rare one of them is.",
        "both_classes",
        "higher",
        "rate",
        overview=True,
    ),
    MetricSpec(
        "precision_score",
        "Precision",
        "Of the people the model predicts positive, the share who actually are.",
        "predicted_positives",
        "higher",
        "rate",
    ),
    MetricSpec(
        "roc_auc_score",
        "ROC AUC",
        "Chance that the model scores a random actual positive above a random actual "
        "negative (0.5 is guessing, 1 is perfect ranking).",
        "positive_negative_pairs",
        "higher",
        "score",
        overview=True,
    ),
    # Multiclass: averages over the classes of one-vs-rest rates (scikit-learn's
    # average="macro"); a class whose rate is undefined in a group is left out of that
    # group's average (zero_division=np.nan). Each class's own rates are the binary ones.
    MetricSpec(
        "macro_recall_score",
        "Macro recall",
        "Average over the classes present of the share of each class the model recognises, "
        "so every class counts equally however rare it is.",
        "smallest_actual_class",
        "higher",
        "rate",
        key=True,
        overview=True,
        tasks=("multiclass",),
    ),
    MetricSpec(
        "macro_precision_score",
        "Macro precision",
        "Average over the classes predicted of the share of each class's predictions that "
        "are right.",
        "smallest_predicted_class",
        "higher",
        "rate",
        key=True,
        tasks=("multiclass",),
    ),
    MetricSpec(
        "macro_f1_score",
        "Macro F1",
        "Average over the classes of the F1 score, the harmonic mean of a class's precision "
        "and recall.",
        "smallest_actual_or_predicted_class",
        "higher",
        "rate",
        key=True,
        overview=True,
        tasks=("multiclass",),
    ),
    # Regression: Fairlearn's MetricFrame over scikit-learn's regression metrics.
    MetricSpec(
        "mean_absolute_error",
        "Mean absolute error",
        "Average distance between the prediction and the actual value, in the target's units.",
        "rows",
        "lower",
        "error",
        key=True,
        overview=True,
        tasks=("regression",),
    ),
    MetricSpec(
        "root_mean_squared_error",
        "Root mean squared error",
        "Square root of the average squared distance between prediction and actual value; "
        "large misses weigh more.",
        "rows",
        "lower",
        "error",
        key=True,
        overview=True,
        tasks=("regression",),
    ),
    MetricSpec(
        "mean_error",
        "Mean error (bias)",
        "Average of prediction minus actual value: above 0 the model overestimates the "
        "group, below 0 it underestimates it.",
        "rows",
        "neither",
        "error",
        key=True,
        tasks=("regression",),
        ratio=False,
    ),
    MetricSpec(
        "mean_prediction",
        "Mean prediction",
        "Average predicted value for the group.",
        "rows",
        "neither",
        "error",
        tasks=("regression",),
        ratio=False,
    ),
    MetricSpec(
        "mean_target",
        "Mean actual value",
        "Average actual value of the target for the group.",
        "rows",
        "neither",
        "error",
        tasks=("regression",),
        ratio=False,
    ),
    MetricSpec(
        "r2_score",
        "R²",
        "Share of the variance of the actual values within the group that the predictions "
        "explain (1 is perfect, 0 is no better than the group's mean, it can be negative).",
        "rows",
        "higher",
        "error",
        overview=True,
        tasks=("regression",),
        ratio=False,
    ),
]

_SUMMARIES = [
    DisparitySpec(
        "demographic_parity_difference",
        "Demographic parity difference",
        "Largest gap in selection rate between two groups.",
        ("selection_rate",),
        "difference",
        headline=0,
    ),
    DisparitySpec(
        "demographic_parity_ratio",
        "Demographic parity ratio",
        "Smallest group selection rate divided by the largest.",
        ("selection_rate",),
        "ratio",
        headline=1,
    ),
    DisparitySpec(
        "equal_opportunity_difference",
        "Equal opportunity difference",
        "Largest gap in true positive rate between two groups.",
        ("true_positive_rate",),
        "difference",
        headline=4,
    ),
    DisparitySpec(
        "equal_opportunity_ratio",
        "Equal opportunity ratio",
        "Smallest group true positive rate divided by the largest.",
        ("true_positive_rate",),
        "ratio",
    ),
    DisparitySpec(
        "equalized_odds_difference",
        "Equalized odds difference",
        "The larger of the true positive rate gap and the false positive rate gap between groups.",
        ("true_positive_rate", "false_positive_rate"),
        "difference",
        headline=2,
    ),
    DisparitySpec(
        "equalized_odds_ratio",
        "Equalized odds ratio",
        "The smaller of the true positive rate ratio and the false positive rate ratio "
        "between groups.",
        ("true_positive_rate", "false_positive_rate"),
        "ratio",
        headline=3,
    ),
]

#: Every per-group metric by name, in the order cards and tables show them.
METRICS: dict[str, MetricSpec] = {m.name: m for m in _TABLE}
#: Every named disparity summary by name.
DISPARITIES: dict[str, DisparitySpec] = {d.name: d for d in _SUMMARIES}
#: Metric names of each kind, in table order.
RATE_METRICS: list[str] = [m.name for m in _TABLE if m.kind == "rate" and "binary" in m.tasks]
#: The multiclass averages over classes (each class's own rates are ``RATE_METRICS``).
MACRO_METRICS: list[str] = [m.name for m in _TABLE if m.kind == "rate" and "binary" not in m.tasks]

#: How a policy rule on a metric reads in words: "the model {phrase}", where ``{q}`` is
#: the bound ("at most 10%"), ``{pos}`` the people with the positive outcome and
#: ``{neg}`` the others. A metric without a phrase reads as "the <label> is {q}".
RULE_PHRASES: dict[str, str] = {
    "selection_rate": "predicts the positive outcome for {q} of people",
    "true_positive_rate": "recognises {q} of {pos}",
    "false_positive_rate": "wrongly predicts the positive outcome for {q} of {neg}",
    "false_negative_rate": "misses {q} of {pos}",
    "true_negative_rate": "recognises {q} of {neg}",
    "accuracy_score": "is right for {q} of people",
    "precision_score": "is right for {q} of the people it predicts positive",
    "roc_auc_score": "scores a random person among {pos} above a random person among {neg} "
    "{q} of the time",
}
SCORE_METRICS: list[str] = [m.name for m in _TABLE if m.kind == "score"]
ERROR_METRICS: list[str] = [m.name for m in _TABLE if m.kind == "error"]


def _rank(d: DisparitySpec) -> int:
    return d.headline if d.headline is not None else len(_SUMMARIES)


#: The disparity summaries of a card's headline table, in its order.
HEADLINE = [d.name for d in sorted(_SUMMARIES, key=_rank) if d.headline is not None]


def metric_specs(
    *,
    kind: MetricKind | None = None,
    key: bool | None = None,
    overview: bool | None = None,
    task: Task | None = None,
) -> list[MetricSpec]:
    """The metrics of the table, optionally of one kind or only the fairness-critical ones.

    Args:
        kind: ``"count"``, ``"rate"``, ``"score"`` or ``"error"``; None (the default) for
            all.
        key: True for the fairness-critical metrics only, False for the others, None
            (the default) for both.
        overview: True for the metrics of a model's summary, likewise.
        task: Only the metrics reported for this task; None (the default) for all.

    >>> [m.name for m in metric_specs(key=True)][:2]
    ['selection_rate', 'true_positive_rate']
    """
    return [
        m
        for m in _TABLE
        if (kind is None or m.kind == kind)
        and (key is None or m.key == key)
        and (overview is None or m.overview == overview)
        and (task is None or task in m.tasks)
    ]


def _entry(name: str) -> tuple[str, str]:
    """(label, definition) of a metric, a named disparity or ``METRIC_difference`` /
    ``METRIC_ratio``; the name itself and no definition when unknown."""
    if name in METRICS:
        return METRICS[name].label, METRICS[name].definition
    if name in DISPARITIES:
        return DISPARITIES[name].label, DISPARITIES[name].definition
    base, _, kind = name.rpartition("_")
    if base in METRICS and kind in ("difference", "ratio"):
        what = METRICS[base].label
        if kind == "difference":
            return f"{what} {kind}", f"Largest gap in {what.lower()} between two groups."
        return f"{what} {kind}", f"Smallest group {what.lower()} divided by the largest."
    return name, ""


def metric_label(name: str) -> str:
    """What a reader sees for a metric or disparity name; the name itself when unknown.

    Args:
        name: A metric (``"false_negative_rate"``), a named disparity
            (``"equalized_odds_difference"``) or ``METRIC_difference`` / ``METRIC_ratio``.

    >>> metric_label("false_negative_rate")
    'False negative rate'
    >>> metric_label("selection_rate_ratio")
    'Selection rate ratio'
    """
    return _entry(name)[0]


#: Each error rate and the rate it is one minus, on the same people: a true positive in one
#: version that is a false negative in the other moves both rates by as much, one up and one
#: down. Lists of changes for a reader (worse, better, the gate's count) hold such a change
#: once, as its error rate's, named by ``decision_label``.
MIRRORS: dict[str, str] = {
    "false_negative_rate": "true_positive_rate",
    "false_positive_rate": "true_negative_rate",
}


def decision_label(name: str) -> str:
    """A metric's label in a list of changes, naming both sides of an error rate.

    Args:
        name: A metric name.

    >>> decision_label("false_negative_rate")
    'False negative rate (1 - true positive rate)'
    >>> decision_label("accuracy_score")
    'Accuracy'
    """
    if name in MIRRORS:
        return f"{metric_label(name)} (1 - {metric_label(MIRRORS[name]).lower()})"
    return metric_label(name)


def metric_phrase(name: str) -> str:
    """The label as it reads mid-sentence: lower case, acronyms kept.

    Args:
        name: As for ``metric_label``.

    >>> metric_phrase("false_negative_rate"), metric_phrase("roc_auc_score")
    ('false negative rate', 'ROC AUC')
    """
    label = metric_label(name)
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def metric_definition(name: str) -> str:
    """The one-sentence plain-language definition of a metric or disparity name.

    Args:
        name: As for ``metric_label``.

    >>> metric_definition("selection_rate")
    'Share of the group that the model predicts positive.'
    """
    return _entry(name)[1]


def disparity_names() -> list[str]:
    """Every name a policy may bound as a disparity: the named summaries, then
    ``METRIC_difference`` and ``METRIC_ratio`` for each rate, score and error metric
    (no ratio where it means nothing, see ``MetricSpec.ratio``).

    >>> disparity_names()[:2]
    ['demographic_parity_difference', 'demographic_parity_ratio']
    """
    names = list(DISPARITIES)
    for m in (*RATE_METRICS, *MACRO_METRICS, *SCORE_METRICS, *ERROR_METRICS):
        names += [f"{m}_difference"] + ([f"{m}_ratio"] if METRICS[m].ratio else [])
    return names
