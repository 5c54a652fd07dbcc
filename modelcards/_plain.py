"""The card's plain-language summary: a few sentences a reviewer reads first.

The same words open the HTML and Markdown cards and the demo's Fairness audit page.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._evaluate import Assessment, Disparity, group_label
from ._metrics import DENOMINATOR_NOUNS, METRICS, metric_phrase, metric_specs
from ._policy import PolicyResult

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
