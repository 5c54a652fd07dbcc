"""Release policy: YAML checks on disparities and per-group metrics, with verdicts.

A policy file::

    checks:
      - demographic_parity_ratio >= 0.8            # every feature set
      - equalized_odds_difference <= 0.1
      - false_negative_rate <= 0.3 for every group # each group large enough
      - accuracy_score >= 0.7                      # overall
      - check: true_positive_rate_difference <= 0.1
        features: [colour]                         # only this feature set

A check passes when its whole confidence interval lies on the right side of the bound,
fails when the whole interval lies on the wrong side, and is inconclusive when the
interval straddles the bound (or the value is undefined). A check over several items
(feature sets, groups) takes the worst of them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict

from ._evaluate import Assessment, Disparity, Estimate, group_label
from ._metrics import (
    DISPARITIES,
    METRICS,
    RATE_METRICS,
    SCORE_METRICS,
    DisparityKind,
    disparity_names,
)
from .errors import PolicyError

Verdict = Literal["pass", "fail", "inconclusive"]
Scope = Literal["disparity", "every_group", "overall"]
Op = Literal[">=", "<=", ">", "<"]
_OPS: dict[Op, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_CHECK = re.compile(
    r"^\s*(?P<metric>[a-z_]+)\s*(?P<op><=|>=|<|>)\s*(?P<bound>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)"
    r"\s*(?P<every>for every group)?\s*$"
)
GROUP_METRICS = [*RATE_METRICS, *SCORE_METRICS]


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    metric: str
    op: Op
    bound: float
    scope: Scope
    features: list[str] | None = None
    line: int


class Item(BaseModel):
    """One number a check was applied to."""

    model_config = ConfigDict(extra="forbid")

    subject: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: Verdict


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str
    metric: str
    op: str
    bound: float
    scope: str
    verdict: Verdict
    items: list[Item]
    reason: str


class PolicyResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail", "inconclusive", "none"]
    source: str | None
    checks: list[CheckResult]


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    checks: list[Check]

    def evaluate(self, assessment: Assessment) -> PolicyResult:
        """Every check's verdict on an assessment, and the overall verdict (the worst).

        Args:
            assessment: From ``assess`` or a card's pipeline.
        """
        results = [_evaluate(c, assessment, self.source) for c in self.checks]
        return PolicyResult(
            verdict=_worst([r.verdict for r in results]) if results else "pass",
            source=self.source,
            checks=results,
        )


def no_policy() -> PolicyResult:
    return PolicyResult(verdict="none", source=None, checks=[])


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file.

    Args:
        path: The file, e.g. ``policy.yaml``.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"Cannot read the policy file {path}: {exc}.") from exc
    return parse_policy(text, source=path.name)


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    """Validate policy YAML text; errors name the line at fault.

    Args:
        text: The YAML, a mapping with a ``checks`` list.
        source: How messages name it (default ``"policy"``).

    >>> parse_policy("checks: [demographic_parity_ratio >= 0.8]").checks[0].scope
    'disparity'
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(
            f"{source}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).", hint=_EXAMPLE
        ) from exc
    if root is None or not isinstance(root, yaml.MappingNode):
        raise PolicyError(f"{source}: a policy is a mapping with a 'checks' list.", hint=_EXAMPLE)
    keys = {k.value: (k, v) for k, v in root.value}
    unknown = sorted(set(keys) - {"checks"})
    if unknown:
        k = keys[unknown[0]][0]
        raise PolicyError(
            f"{source} line {k.start_mark.line + 1}: unknown key {unknown[0]!r}.",
            hint="The only top-level key is 'checks'. " + _EXAMPLE,
        )
    if "checks" not in keys or not isinstance(keys["checks"][1], yaml.SequenceNode):
        raise PolicyError(f"{source}: 'checks' must be a list of checks.", hint=_EXAMPLE)
    checks = [_check(node, source) for node in keys["checks"][1].value]
    return Policy(source=source, checks=checks)


_EXAMPLE = (
    "Write for example:\nchecks:\n  - demographic_parity_ratio >= 0.8\n"
    "  - false_negative_rate <= 0.3 for every group"
)


def _check(node: yaml.Node, source: str) -> Check:
    line = node.start_mark.line + 1
    text, features = _check_fields(node, source, line)
    m = _CHECK.match(str(text))
    if not m:
        raise PolicyError(
            f"{source} line {line}: cannot read the check {text!r}.",
            hint="A check is METRIC OP NUMBER, optionally followed by 'for every group', "
            "with OP one of >=, <=, >, <.",
        )
    return Check(
        text=str(text).strip(),
        metric=m["metric"],
        op=cast(Op, m["op"]),  # _CHECK matches these four operators only
        bound=float(m["bound"]),
        scope=_scope(m["metric"], bool(m["every"]), source, line),
        features=features,
        line=line,
    )


def _check_fields(node: yaml.Node, source: str, line: int) -> tuple[str, list[str] | None]:
    """A check's text and its optional feature set, from a string or a mapping."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value), None
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(
            f"{source} line {line}: a check is a string like 'demographic_parity_ratio >= 0.8'.",
            hint=_EXAMPLE,
        )
    fields = {k.value: v for k, v in node.value}
    extra = sorted(set(fields) - {"check", "features"})
    if extra or "check" not in fields:
        raise PolicyError(
            f"{source} line {line}: a check mapping takes 'check' and optional 'features'"
            + (f", not {extra}" if extra else "")
            + ".",
            hint=_EXAMPLE,
        )
    if "features" not in fields:
        return str(fields["check"].value), None
    fnode = fields["features"]
    if not isinstance(fnode, yaml.SequenceNode):
        raise PolicyError(
            f"{source} line {fnode.start_mark.line + 1}: 'features' must be a list of column names."
        )
    return str(fields["check"].value), [str(x.value) for x in fnode.value]


def _scope(metric: str, every: bool, source: str, line: int) -> Scope:
    """What a check's metric is applied to: every group, each disparity, or overall."""
    if every:
        if metric not in GROUP_METRICS:
            raise PolicyError(
                f"{source} line {line}: {metric!r} is not a per-group metric.",
                hint="Per-group metrics: " + ", ".join(GROUP_METRICS) + ".",
            )
        return "every_group"
    if metric in disparity_names():
        return "disparity"
    if metric in METRICS and metric != "count":
        return "overall"
    raise PolicyError(
        f"{source} line {line}: unknown metric {metric!r}.",
        hint="Disparities: " + ", ".join(DISPARITIES) + ", or METRIC_difference / METRIC_ratio; "
        "per-group or overall metrics: " + ", ".join(GROUP_METRICS) + ".",
    )


def _verdict(
    op: Op, bound: float, lo: float | None, hi: float | None, value: float | None
) -> Verdict:
    if value is None or lo is None or hi is None:
        return "inconclusive"
    holds = _OPS[op]
    if holds(lo, bound) and holds(hi, bound):
        return "pass"
    if not holds(lo, bound) and not holds(hi, bound):
        return "fail"
    return "inconclusive"


def _worst(verdicts: Collection[Verdict]) -> Verdict:
    worst_first: tuple[Verdict, ...] = ("fail", "inconclusive")
    for v in worst_first:
        if v in verdicts:
            return v
    return "pass"


def _evaluate(check: Check, a: Assessment, source: str) -> CheckResult:
    sets = a.feature_sets()
    if check.features is not None:
        wanted = list(check.features)
        if wanted not in sets:
            known = "; ".join(", ".join(s) for s in sets)
            raise PolicyError(
                f"{source} line {check.line}: no feature set {wanted} was assessed.",
                hint=f"Assessed feature sets: {known}.",
            )
        sets = [wanted]
    items: list[Item] = []

    def judge(subject: str, e: Estimate | Disparity) -> None:
        """One number (an Estimate or a Disparity) against the bound."""
        verdict = _verdict(check.op, check.bound, e.ci_low, e.ci_high, e.value)
        items.append(
            Item(
                subject=subject, value=e.value, ci_low=e.ci_low, ci_high=e.ci_high, verdict=verdict
            )
        )

    if check.scope == "disparity":
        kind: DisparityKind
        if check.metric in DISPARITIES:
            metric, kind = check.metric, DISPARITIES[check.metric].kind
        else:  # METRIC_difference or METRIC_ratio (see disparity_names)
            metric, _, suffix = check.metric.rpartition("_")
            kind = "ratio" if suffix == "ratio" else "difference"
        if metric == "roc_auc_score" and "roc_auc_score" not in a.metrics:
            return _no_scores(check)
        for fs in sets:
            judge(" & ".join(fs), a.disparity(metric, kind, fs))
    elif check.scope == "every_group":
        if check.metric not in a.metrics:
            return _no_scores(check)
        for fs in sets:
            for g in a.groups_for(fs):
                if not g.small:
                    judge(group_label(g.features), g.metrics[check.metric])
    else:
        if check.metric not in a.overall.metrics:
            return _no_scores(check)
        judge("overall", a.overall.metrics[check.metric])
    verdict = _worst([i.verdict for i in items]) if items else "inconclusive"
    worst = [i for i in items if i.verdict == verdict]
    reason = (
        f"{len(items)} item(s) checked; "
        + {
            "pass": "every interval lies within the bound",
            "fail": f"the whole interval is past the bound for {worst[0].subject}" if worst else "",
            "inconclusive": f"the interval straddles the bound or is undefined for "
            f"{worst[0].subject}"
            if worst
            else "no group was large enough",
        }[verdict]
    )
    return _result(check, verdict, items, reason)


def _result(check: Check, verdict: Verdict, items: list[Item], reason: str) -> CheckResult:
    return CheckResult(
        check=check.text,
        metric=check.metric,
        op=check.op,
        bound=check.bound,
        scope=check.scope,
        verdict=verdict,
        items=items,
        reason=reason,
    )


def _no_scores(check: Check) -> CheckResult:
    return _result(check, "inconclusive", [], "ROC AUC needs scores; none were given.")
