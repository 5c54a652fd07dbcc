"""The card's plain-language summary: a few sentences a reviewer reads first.

The same words open the HTML and Markdown cards and the demo's Fairness audit page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._evaluate import Assessment, Disparity, group_label
from ._metrics import (
    DENOMINATOR_NOUNS,
    DISPARITIES,
    METRICS,
    RATE_METRICS,
    RULE_PHRASES,
    metric_phrase,
    metric_specs,
)
from ._policy import CheckResult, PolicyResult

if TYPE_CHECKING:  # pragma: no cover
    from ._card import ModelCard

#: How many of the largest gaps the summary names.
GAPS_NAMED = 2


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _gap_sentence(d: Disparity, first: bool, confidence: float) -> str:
    low, high = d.compared
    by = " & ".join(d.features)
    lead = "The largest gap" if first else "The next largest"
    return (
        f"{lead} is in {metric_phrase(d.metric)} by {by}: {low.group} "
        f"{_num(low.value)} against {high.group} {_num(high.value)}, a difference of "
        f"{_num(d.value)} ({confidence:.0%} CI {_num(d.ci_low)} to {_num(d.ci_high)})."
    )


def largest_gaps(assessment: Assessment, count: int = GAPS_NAMED) -> list[Disparity]:
    """The largest between-group differences of the fairness-critical rates.

    Args:
        assessment: The assessment.
        count: How many, at most (default 2); one per metric and feature set.
    """
    return gaps_among(assessment.disparities, count=count)


def gaps_among(disparities: Iterable[Disparity], *, count: int = GAPS_NAMED) -> list[Disparity]:
    """The largest between-group differences of the fairness-critical rates among these.

    Args:
        disparities: An assessment's or a card's disparities.
        count: How many, at most (default 2); one per metric and feature set.
    """
    key = {m.name for m in metric_specs(key=True)}
    candidates = [
        d
        for d in disparities
        if d.kind == "difference"
        and d.metric in key
        and d.value is not None
        and d.reference is None
        and len(d.compared) == 2
    ]
    chosen: list[Disparity] = []
    for d in sorted(candidates, key=lambda d: -(d.value or 0.0)):
        # A rate and its complement (TPR and FNR) have the same gap: name it once.
        if any(
            c.features == d.features and abs((c.value or 0) - (d.value or 0)) < 1e-9 for c in chosen
        ):
            continue
        chosen.append(d)
    return chosen[:count]


def gate_sentence(policy: PolicyResult) -> str:
    """What the release gate decided and why, in one or two sentences.

    Args:
        policy: The policy verdicts.
    """
    if policy.verdict == "none":
        return "No release policy was applied, so no release checks were run."
    n = len(policy.checks)
    source = f" ({policy.source})" if policy.source else ""
    if policy.verdict == "pass":
        return f"The release policy{source} passes: all {n} check(s) hold with the data at hand."
    bad = [c for c in policy.checks if c.verdict == policy.verdict]
    first = bad[0]
    if policy.verdict == "fail":
        head = f"The release policy{source} fails: {len(bad)} of {n} check(s) fail"
    else:
        head = (
            f"The release policy{source} is inconclusive: {len(bad)} of {n} check(s) cannot "
            "be decided with this data"
        )
    return f"{head}. First, “{first.check}”: {first.reason}"


def _small_sentence(assessment: Assessment) -> str:
    minimum = assessment.min_group_size
    by_rows = [f"{group_label(g.features)} (n={g.n})" for g in assessment.groups if g.small]
    thin = [g for g in assessment.groups if not g.small and g.too_small_for]
    if not by_rows and not thin:
        return (
            f"Every group is large enough to judge: at least {minimum} people behind each metric."
        )
    parts = []
    if by_rows:
        parts.append(
            f"{len(by_rows)} group(s) have fewer than {minimum} rows ({_list(by_rows, 3)})"
        )
    if thin:
        g = thin[0]
        m = g.too_small_for[0]
        example = (
            f"{metric_phrase(m)} of {group_label(g.features)} rests on "
            f"{g.metrics[m].support} {DENOMINATOR_NOUNS[METRICS[m].denominator]}"
        )
        parts.append(f"{len(thin)} more are too thin for some metrics (for example, the {example})")
    return "Too small to judge, and left out of the disparities: " + "; ".join(parts) + "."


def _list(items: list[str], most: int = 4) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def plain_summary(assessment: Assessment, policy: PolicyResult) -> list[str]:
    """Three to five sentences: the largest gaps with their groups, values and
    intervals; what the release gate decided and why; which groups are too small.

    Args:
        assessment: The numbers.
        policy: The policy verdicts.
    """
    gaps = largest_gaps(assessment)
    sentences = [_gap_sentence(d, i == 0, assessment.confidence) for i, d in enumerate(gaps)] or [
        "No gap between groups could be measured: fewer than two groups are large enough."
    ]
    sentences.append(gate_sentence(policy))
    sentences.append(_small_sentence(assessment))
    return sentences


_BOUND_WORDS = {"<=": "at most", ">=": "at least", "<": "less than", ">": "more than"}


def _share(x: float) -> str:
    return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x:.1%}"


def rule_sentence(
    check: CheckResult, *, positive: str | None = None, negative: str | None = None
) -> str:
    """A policy check as a sentence a stakeholder can read.

    Args:
        check: The check and its verdict.
        positive: Who has the positive outcome, in words (default "people whose actual
            outcome is positive"); e.g. "people who were released".
        negative: Who has the other outcome, likewise.

    >>> from modelcards import CheckResult
    >>> c = CheckResult(check="false_negative_rate <= 0.1 for every group",
    ...     metric="false_negative_rate", op="<=", bound=0.1, scope="every_group",
    ...     verdict="pass", items=[], reason="")
    >>> rule_sentence(c, positive="people who were released")
    'For every group, the model misses at most 10% of people who were released.'
    """
    sentence = _rule_sentence(check, positive, negative)
    if check.class_label is not None and check.scope == "disparity":
        # "positive" names the class in the other sentences; a disparity's does not.
        return f"{sentence[:-1]}, for class “{check.class_label}” against the rest."
    return sentence


def _rule_sentence(check: CheckResult, positive: str | None, negative: str | None) -> str:
    pos = positive or "people whose actual outcome is positive"
    neg = negative or "people whose actual outcome is negative"
    words = _BOUND_WORDS.get(check.op, check.op)
    metric = check.metric
    if check.scope == "disparity":
        spec = DISPARITIES.get(metric)
        base, _, kind = metric.rpartition("_")
        names = list(spec.metrics) if spec else [base]
        kind = spec.kind if spec else kind
        what = " and the ".join(metric_phrase(n) for n in names)
        if kind == "ratio":
            noun = "rate" if all(n in RATE_METRICS for n in names) else "value"
            return (
                f"For the {what}, the lowest group's {noun} is {words} "
                f"{_share(check.bound)} of the highest group's."
            )
        each = " each" if len(names) > 1 else ""
        verb = "differ" if len(names) > 1 else "differs"
        # Percentage points only for rates: a regression's error is in the target's units.
        points = (
            f" ({check.bound * 100:g} percentage points)"
            if all(n in METRICS and METRICS[n].kind == "rate" for n in names)
            else ""
        )
        return (
            f"Between any two groups, the {what}{each} {verb} by {words} {check.bound:g}{points}."
        )
    if metric == "known_cases_failing":  # the policy's `known_cases:` rule
        allowed = int(check.bound)
        return (
            "Every saved edge case (Known cases) gives the expected answer."
            if allowed == 0
            else f"At most {allowed} saved edge case(s) (Known cases) give another answer."
        )
    lead = "For every group," if check.scope == "every_group" else "Overall,"
    phrase = RULE_PHRASES.get(metric)
    if phrase is None or metric not in METRICS:
        return f"{lead} the {metric_phrase(metric)} is {words} {check.bound:g}."
    q = f"{words} {_share(check.bound)}"
    return f"{lead} the model {phrase.format(q=q, pos=pos, neg=neg)}."


def outcome_words(card: ModelCard, class_label: str | None = None) -> dict[str, str]:
    """Who has each outcome, in words, for ``rule_sentence``: the card's positive label
    and the other class (or a multiclass model's class, one-vs-rest, and the others).

    Args:
        card: The card.
        class_label: A multiclass model's class that a check judges; None for the
            binary positive label.
    """
    d = card.model_details
    if class_label is not None:
        words = card.data_dictionary.class_phrase(class_label)
        return {
            "positive": f"people {words}"
            if words
            else f"people whose actual class is “{class_label}”",
            "negative": "people of the other classes",
        }
    others = [c for c in d.classes if c != d.positive_label]
    negative = others[0] if len(others) == 1 else None
    # The data dictionary's words for each class win: "people released with a summons".
    pos_words = card.data_dictionary.class_phrase(d.positive_label)
    neg_words = card.data_dictionary.class_phrase(negative) if negative is not None else None
    if pos_words:
        return {
            "positive": f"people {pos_words}",
            "negative": f"people {neg_words}" if neg_words else f"people not {pos_words}",
        }
    return {
        "positive": f"people whose actual outcome is “{d.positive_label}”",
        "negative": (
            f"people whose actual outcome is “{negative}”"
            if negative is not None
            else f"people whose actual outcome is not “{d.positive_label}”"
        ),
    }


#: Above this share of the common outcome, accuracy mostly measures the imbalance.
IMBALANCED = 0.7


def imbalance_note(card: ModelCard) -> str | None:
    """A warning that accuracy flatters the model when one outcome is common, else None.

    Args:
        card: The card (its evaluation data's label balance).
    """
    share = card.evaluation_data.provenance.positive_share
    if share is None:  # a regression: no classes to be imbalanced
        return None
    common = max(share, 1 - share)
    if common < IMBALANCED:
        return None
    pos = card.model_details.positive_label
    return (
        f"{share:.0%} of the people in the evaluation data have the outcome “{pos}”, so "
        f"accuracy flatters the model: always predicting the more common outcome would "
        f"already be right {common:.0%} of the time. Balanced accuracy and the per-group "
        "error rates tell more."
    )


_TYPE_WORDS = {
    "long": "whole number",
    "integer": "whole number",
    "double": "number",
    "float": "number",
    "string": "text",
    "boolean": "yes or no",
    "datetime": "date and time",
}


def type_words(mlflow_type: str) -> str:
    """An input's type as a reader says it.

    Args:
        mlflow_type: The MLflow signature type (``"long"``, ``"double"``, ``"string"``...).

    >>> type_words("long"), type_words("string")
    ('whole number', 'text')
    """
    return _TYPE_WORDS.get(mlflow_type, mlflow_type)
