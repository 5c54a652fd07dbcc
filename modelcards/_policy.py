"""Release policy: YAML checks on disparities and per-group metrics, with verdicts.

A policy file::

    checks:
      - demographic_parity_ratio >= 0.8            # every feature set
      - equalized_odds_difference <= 0.1
      - false_negative_rate <= 0.3 for every group # each group large enough
      - accuracy_score >= 0.7                      # overall
      - check: true_positive_rate_difference <= 0.1
        features: [colour]                         # only this feature set
      - check: false_negative_rate <= 0.3 for every group
        class: approved                            # a multiclass model's class

On a multiclass model, a check without ``class`` may bound the accuracy and the macro
averages (``macro_recall_score >= 0.7``) and their disparities; a per-class metric
(``false_negative_rate``, ``demographic_parity_ratio``, ...) needs ``class``, which
judges that class one-vs-rest (the class is the positive outcome).

      - change(false_negative_rate) <= 0.02 for every group  # candidate vs version in use
      - change(accuracy_score) >= -0.01            # overall

A ``change(METRIC)`` check bounds the change from the version in use to the candidate
(B - A), judged on the paired interval of ``modelcards compare``. A card alone has no
change to judge: there such a check is inconclusive ("needs a comparison"), unless the
card compares its version with the release alias's (then it is judged on that).

A check passes when its whole confidence interval lies on the right side of the bound,
fails when the whole interval lies on the wrong side, and is inconclusive when the
interval straddles the bound (or the value is undefined). A check over several items
(feature sets, groups) takes the worst of them.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, cast

import yaml
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from ._evaluate import Assessment, Disparity, Estimate, GroupResult, group_label
from ._metrics import (
    DENOMINATOR_NOUNS,
    DISPARITIES,
    ERROR_METRICS,
    MACRO_METRICS,
    METRICS,
    RATE_METRICS,
    SCORE_METRICS,
    DisparityKind,
    disparity_names,
    metric_phrase,
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
    r"^\s*(?:(?P<change>change)\s*\(\s*)?(?P<metric>[a-z_][a-z0-9_]*)(?(change)\s*\))"
    r"\s*(?P<op><=|>=|<|>)\s*(?P<bound>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)"
    r"\s*(?P<every>for every group)?\s*$"
)
GROUP_METRICS = [*RATE_METRICS, *MACRO_METRICS, *SCORE_METRICS, *ERROR_METRICS]


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    metric: str
    op: Op
    bound: float
    scope: Scope
    features: list[str] | None = None
    line: int
    # A multiclass model's class the check judges one-vs-rest; None for the model overall.
    class_label: str | None = None
    change: bool = False


class Item(BaseModel):
    """One number a check was applied to: a group's metric, a disparity, or overall.
    ``detail`` says which groups a disparity compares, or why a value is undefined."""

    model_config = ConfigDict(extra="forbid")

    subject: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: Verdict
    detail: str | None = None


class CheckResult(BaseModel):
    """One check's verdict. ``decisive`` is the item that decides it (for an upper
    bound, the highest lower interval end among the items with the verdict; for a lower
    bound, the lowest upper end); ``failing`` lists every failing or inconclusive item;
    ``left_out`` the groups too small for the metric."""

    model_config = ConfigDict(extra="forbid")

    check: str
    metric: str
    op: str
    bound: float
    scope: str
    verdict: Verdict
    items: list[Item]
    decisive: Item | None = None
    failing: list[Item] = []
    left_out: list[str] = []
    reason: str
    # The class a multiclass check judged one-vs-rest; absent from the JSON otherwise.
    class_label: str | None = None

    @model_serializer(mode="wrap")
    def _without_class(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and self.class_label is None:
            data.pop("class_label", None)
        return data


class PolicyResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail", "inconclusive", "none"]
    source: str | None
    checks: list[CheckResult]
    # The policy text's SHA-256 (as the registry records a stored policy's): a sign-off
    # is bound to it. None without a policy.
    sha256: str | None = None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    checks: list[Check]
    sha256: str | None = None
    # ``known_cases:`` how many edge cases may fail ``modelcards check`` (None: not said,
    # so none may).
    known_cases_max_failures: int | None = None

    def evaluate(
        self, assessment: Assessment, *, changes: Sequence[ChangeLike] | None = None
    ) -> PolicyResult:
        """Every check's verdict on an assessment, and the overall verdict (the worst).

        Args:
            assessment: From ``assess`` or a card's pipeline.
            changes: A comparison's changes (``Comparison.changes``), for ``change(...)``
                checks; without them those checks are inconclusive (they need one).
        """
        judged = self.evaluate_changes(changes) if changes is not None else None
        results: list[CheckResult] = []
        for i, c in enumerate(self.checks):
            if not c.change:
                results.append(_evaluate(c, assessment, self.source))
                continue
            on_change = judged[i] if judged is not None else None
            results.append(on_change if on_change is not None else _needs_comparison(c))
        return PolicyResult(
            verdict=_worst([r.verdict for r in results]) if results else "pass",
            source=self.source,
            checks=results,
            sha256=self.sha256,
        )

    def evaluate_changes(self, changes: Sequence[ChangeLike]) -> list[CheckResult | None]:
        """Each ``change(...)`` check's verdict on a comparison (None for other checks).

        Args:
            changes: ``Comparison.changes``: every metric's change in every group.
        """
        return [_evaluate_change(c, changes) if c.change else None for c in self.checks]


def judge_known_cases(
    result: PolicyResult, policy: Policy, outcomes: Sequence[str] | None
) -> PolicyResult:
    """Add the policy's ``known_cases`` rule to a card's verdicts, so a card gates on its
    Known cases as ``modelcards check`` does; unchanged when the policy has no such rule.

    Args:
        result: The policy's verdicts on the card's numbers.
        policy: The policy; its ``known_cases_max_failures`` is the rule.
        outcomes: Each Known case's result (``pass``, ``fail``, ``not judged``, ``cannot
            run``), or None for a card without a registered version (no case can run, so
            the rule is inconclusive: the gate fails closed).
    """
    allowed = policy.known_cases_max_failures
    if allowed is None:
        return result
    text = "known_cases: all_pass" if allowed == 0 else f"known_cases: max_failures {allowed}"
    if outcomes is None:
        verdict: Verdict = "inconclusive"
        items: list[Item] = []
        reason = "Needs a registered version: the edge cases run against a model."
    else:
        failing = sum(o in ("fail", "cannot run") for o in outcomes)
        verdict = "pass" if failing <= allowed else "fail"
        items = [
            Item(
                subject="known cases",
                value=float(failing),
                ci_low=float(failing),
                ci_high=float(failing),
                verdict=verdict,
                detail=f"{failing} of {len(outcomes)} failing or unable to run",
            )
        ]
        reason = f"{failing} known case(s) fail or cannot run; the policy allows {allowed}."
    check = CheckResult(
        check=text,
        metric="known_cases_failing",
        op="<=",
        bound=float(allowed),
        scope="overall",
        verdict=verdict,
        items=items,
        decisive=items[0] if items else None,
        failing=[i for i in items if i.verdict != "pass"],
        reason=reason,
    )
    checks = [*result.checks, check]
    return result.model_copy(
        update={"checks": checks, "verdict": _worst([c.verdict for c in checks])}
    )


class ChangeLike(Protocol):
    """What a change check reads of a comparison's change (``_compare.Change``)."""

    @property
    def features(self) -> dict[str, str]: ...
    @property
    def metric(self) -> str: ...
    @property
    def small(self) -> bool: ...
    @property
    def change(self) -> ChangeInterval: ...


class ChangeInterval(Protocol):
    """A change's value and paired interval."""

    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...


def _needs_comparison(check: Check) -> CheckResult:
    return _result(
        check,
        "inconclusive",
        [],
        [],
        "Needs a comparison: a change is judged by `modelcards compare`, or on a card that "
        "compares its version with the release alias's.",
    )


def _evaluate_change(check: Check, changes: Sequence[ChangeLike]) -> CheckResult:
    """A change check on the paired intervals: overall, or every group large enough."""
    items: list[Item] = []
    left_out: list[str] = []
    for c in changes:
        if c.metric != check.metric:
            continue
        if check.scope == "overall" and c.features:
            continue
        if check.scope == "every_group" and not c.features:
            continue
        if check.features is not None and list(c.features) != list(check.features):
            continue
        subject = group_label(c.features) if c.features else "overall"
        if c.features and (c.small or c.change.value is None):
            left_out.append(f"{subject}: too small or undefined")
            continue
        e = c.change
        items.append(
            Item(
                subject=subject,
                value=e.value,
                ci_low=e.ci_low,
                ci_high=e.ci_high,
                verdict=_verdict(check.op, check.bound, e.ci_low, e.ci_high, e.value),
                detail="change from the version in use to the candidate",
            )
        )
    verdict = _worst([i.verdict for i in items]) if items else "inconclusive"
    return _result(check, verdict, items, left_out, _reason(check, verdict, items, left_out))


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
    unknown = sorted(set(keys) - {"checks", "known_cases"})
    if unknown:
        k = keys[unknown[0]][0]
        raise PolicyError(
            f"{source} line {k.start_mark.line + 1}: unknown key {unknown[0]!r}.",
            hint="The top-level keys are 'checks' and 'known_cases'. " + _EXAMPLE,
        )
    max_failures = _known_cases(keys["known_cases"][1], source) if "known_cases" in keys else None
    if "checks" not in keys and max_failures is not None:  # a policy for `check` alone
        return Policy(source=source, checks=[], known_cases_max_failures=max_failures)
    if "checks" not in keys or not isinstance(keys["checks"][1], yaml.SequenceNode):
        raise PolicyError(f"{source}: 'checks' must be a list of checks.", hint=_EXAMPLE)
    checks = [_check(node, source) for node in keys["checks"][1].value]
    if not checks:
        raise PolicyError(
            f"{source}: the policy has no checks, so it could never fail a release.",
            hint="Add at least one check, or give no policy at all. " + _EXAMPLE,
        )
    return Policy(
        source=source,
        checks=checks,
        known_cases_max_failures=max_failures,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def _known_cases(node: yaml.Node, source: str) -> int:
    """``known_cases: all_pass`` (no case may fail) or ``known_cases: {max_failures: N}``."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.value == "all_pass":
        return 0
    if isinstance(node, yaml.MappingNode):
        entries = {k.value: v for k, v in node.value}
        value = entries.get("max_failures")
        if (
            set(entries) == {"max_failures"}
            and isinstance(value, yaml.ScalarNode)
            and value.value.isdigit()
        ):
            return int(value.value)
    raise PolicyError(
        f"{source} line {line}: cannot read known_cases.",
        hint="Write 'known_cases: all_pass' (every edge case must pass modelcards check) or "
        "'known_cases: {max_failures: 2}' (at most 2 may fail).",
    )


_EXAMPLE = (
    "Write for example:\nchecks:\n  - demographic_parity_ratio >= 0.8\n"
    "  - false_negative_rate <= 0.3 for every group"
)


def _check(node: yaml.Node, source: str) -> Check:
    line = node.start_mark.line + 1
    text, features, class_label = _check_fields(node, source, line)
    m = _CHECK.match(str(text))
    if not m:
        raise PolicyError(
            f"{source} line {line}: cannot read the check {text!r}.",
            hint="A check is METRIC OP NUMBER, optionally followed by 'for every group', "
            "with OP one of >=, <=, >, <.",
        )
    change = bool(m["change"])
    scope = (
        _change_scope(m["metric"], bool(m["every"]), source, line)
        if change
        else _scope(m["metric"], bool(m["every"]), source, line)
    )
    _check_reachable(m, str(text).strip(), change, f"{source} line {line}")
    return Check(
        text=str(text).strip(),
        metric=m["metric"],
        op=cast(Op, m["op"]),  # _CHECK matches these four operators only
        bound=float(m["bound"]),
        scope=scope,
        features=features,
        line=line,
        class_label=class_label,
        change=change,
    )


def _check_reachable(m: re.Match[str], text: str, change: bool, where: str) -> None:
    """Refuse a bound a rate can never reach: ``demographic_parity_ratio >= 80`` (80%
    meant) would fail every card as if the model had failed. Bounds in a target's units
    (a regression's errors) are left alone."""
    metric, op, bound = m["metric"], m["op"], float(m["bound"])
    spec = DISPARITIES.get(metric)
    base, _, kind = metric.rpartition("_")
    names = list(spec.metrics) if spec else [base] if kind in ("ratio", "difference") else []
    if not all(n in METRICS and METRICS[n].kind == "rate" for n in names or [metric]):
        return
    low = -1.0 if change else 0.0
    if low <= bound <= 1:
        return
    if change:
        what = "a change of a rate"
    else:
        what = f"a {spec.kind if spec else kind} of rates" if names else "a rate"
    always = "pass" if (op in (">=", ">")) == (bound < low) else "fail"
    raise PolicyError(
        f"{where}: {what} lies between {low:g} and 1, so '{text}' would always {always}.",
        hint=f"Write {bound / 100:g} for {bound:g}%."
        if 1 < abs(bound) <= 100
        else f"Give a bound between {low:g} and 1.",
    )


def _change_scope(metric: str, every: bool, source: str, line: int) -> Scope:
    """A change check's scope: every group, or overall. Only rates are compared."""
    if metric not in RATE_METRICS:
        raise PolicyError(
            f"{source} line {line}: change({metric}) cannot be checked; changes are "
            "compared for a classifier's rates only.",
            hint="For example change(false_negative_rate) <= 0.02 for every group; rates: "
            + ", ".join(RATE_METRICS)
            + ".",
        )
    return "every_group" if every else "overall"


class _Fields(NamedTuple):
    text: str
    features: list[str] | None
    class_label: str | None


def _check_fields(node: yaml.Node, source: str, line: int) -> _Fields:
    """A check's text, its optional feature set and class, from a string or a mapping."""
    if isinstance(node, yaml.ScalarNode):
        return _Fields(str(node.value), None, None)
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(
            f"{source} line {line}: a check is a string like 'demographic_parity_ratio >= 0.8'.",
            hint=_EXAMPLE,
        )
    fields = {k.value: v for k, v in node.value}
    extra = sorted(set(fields) - {"check", "features", "class"})
    if extra or "check" not in fields:
        raise PolicyError(
            f"{source} line {line}: a check mapping takes 'check' and optional 'features' "
            "and 'class'" + (f", not {extra}" if extra else "") + ".",
            hint=_EXAMPLE,
        )
    class_label = None
    if "class" in fields:
        cnode = fields["class"]
        if not isinstance(cnode, yaml.ScalarNode) or cnode.value == "":
            raise PolicyError(
                f"{source} line {cnode.start_mark.line + 1}: 'class' must be one class label, "
                "e.g. class: approved."
            )
        class_label = str(cnode.value)
    if "features" not in fields:
        return _Fields(str(fields["check"].value), None, class_label)
    fnode = fields["features"]
    if not isinstance(fnode, yaml.SequenceNode):
        raise PolicyError(
            f"{source} line {fnode.start_mark.line + 1}: 'features' must be a list of column names."
        )
    return _Fields(str(fields["check"].value), [str(x.value) for x in fnode.value], class_label)


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
    if a.task != "multiclass" and check.class_label is None:
        return _evaluate_one(check, a, source)
    classes = [c.label for c in a.classes]
    listed = ", ".join(classes)
    if check.class_label is None:
        if check.metric in MACRO_METRICS or _base_metric(check) in a.metrics:
            return _evaluate_one(check, a, source)
        raise PolicyError(
            f"{source} line {check.line}: {check.metric!r} is reported per class on a "
            f"multiclass model; say which class the check is for (classes: {listed}).",
            hint=f"Write it as a mapping:\n  - check: {check.text}\n    class: {classes[0]}\n"
            "or bound the accuracy or a macro average (macro_recall_score, "
            "macro_precision_score, macro_f1_score) for the model as a whole.",
        )
    if a.task != "multiclass":
        raise PolicyError(
            f"{source} line {check.line}: 'class: {check.class_label}' applies to multiclass "
            f"models; this is a {a.task} model.",
            hint="Drop 'class' from the check.",
        )
    if check.class_label not in classes:
        raise PolicyError(
            f"{source} line {check.line}: no class {check.class_label!r} was assessed.",
            hint=f"Classes: {listed}.",
        )
    result = _evaluate_one(check, a.class_assessment(check.class_label), source)
    return result.model_copy(update={"class_label": check.class_label})


def _evaluate_one(check: Check, a: Assessment, source: str) -> CheckResult:
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
    metric = _base_metric(check)
    if metric not in a.metrics:
        why = (
            "ROC AUC needs scores; none were given."
            if a.task == "binary" and metric == "roc_auc_score"
            else f"The {metric_phrase(metric)} is not reported for a {a.task} model."
        )
        return _result(check, "inconclusive", [], [], why)
    items: list[Item] = []
    left_out: list[str] = []

    def judge(subject: str, e: Estimate | Disparity, detail: str | None = None) -> None:
        """One number (an Estimate or a Disparity) against the bound."""
        verdict = _verdict(check.op, check.bound, e.ci_low, e.ci_high, e.value)
        items.append(
            Item(
                subject=subject,
                value=e.value,
                ci_low=e.ci_low,
                ci_high=e.ci_high,
                verdict=verdict,
                detail=detail,
            )
        )

    if check.scope == "disparity":
        kind = _kind(check)
        for fs in sets:
            d = a.disparity(metric if check.metric not in DISPARITIES else check.metric, kind, fs)
            judge(" & ".join(fs), d, _disparity_detail(d))
    elif check.scope == "every_group":
        for fs in sets:
            for g in a.groups_for(fs):
                e = g.metrics[check.metric]
                if g.small or check.metric in g.too_small_for or e.value is None:
                    left_out.append(_left_out(g, check.metric, e, a.min_group_size))
                else:
                    judge(group_label(g.features), e)
    else:
        judge("overall", a.overall.metrics[check.metric])
    verdict = _worst([i.verdict for i in items]) if items else "inconclusive"
    return _result(check, verdict, items, left_out, _reason(check, verdict, items, left_out))


def _base_metric(check: Check) -> str:
    """The per-group metric a check rests on (a summary's first metric)."""
    if check.scope != "disparity":
        return check.metric
    if check.metric in DISPARITIES:
        return DISPARITIES[check.metric].metrics[0]
    return check.metric.rpartition("_")[0]


def _kind(check: Check) -> DisparityKind:
    if check.metric in DISPARITIES:
        return DISPARITIES[check.metric].kind
    return "ratio" if check.metric.endswith("_ratio") else "difference"


def _disparity_detail(d: Disparity) -> str:
    if d.value is None:
        return "undefined: fewer than two groups are large enough for this metric"
    pair = " vs ".join(f"{c.group} ({_fmt(c.value)})" for c in d.compared)
    via = f", by {metric_phrase(d.via)}" if d.via else ""
    return pair + via


def _left_out(g: GroupResult, metric: str, e: Estimate, minimum: int) -> str:
    label = group_label(g.features)
    if e.value is None:
        return f"{label}: undefined (no {DENOMINATOR_NOUNS[METRICS[metric].denominator]})"
    if g.small:
        return f"{label}: n={g.n}, under {minimum}"
    return f"{label}: rests on {e.support} people, under {minimum}"


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _decisive(check: Check, verdict: Verdict, items: list[Item]) -> Item | None:
    """Among the items with the check's verdict: for an upper bound, the highest lower
    interval end; for a lower bound, the lowest upper end (undefined items first)."""
    worst = [i for i in items if i.verdict == verdict]
    if not worst:
        return None
    upper = check.op in ("<=", "<")
    undefined = [i for i in worst if i.ci_low is None or i.ci_high is None]
    if undefined:
        return undefined[0]
    if upper:
        return max(worst, key=lambda i: (i.ci_low or 0.0, i.ci_high or 0.0))
    return min(worst, key=lambda i: (i.ci_high or 0.0, i.ci_low or 0.0))


def _reason(check: Check, verdict: Verdict, items: list[Item], left_out: list[str]) -> str:
    skipped = f" {len(left_out)} group(s) too small or undefined were left out." if left_out else ""
    if not items:
        return "Not enough data to tell: no group is large enough for this metric." + skipped
    d = _decisive(check, verdict, items)
    assert d is not None
    where = f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]"
    who = d.subject
    if check.scope == "disparity":
        who = f"the {metric_phrase(check.metric)} by {d.subject}"
        if d.detail and d.value is not None:
            where += f" ({d.detail})"
    side = "above" if check.op in ("<=", "<") else "below"
    if verdict == "pass":
        text = (
            f"The interval of {who} {where} lies within the bound."
            if len(items) == 1
            else f"All {len(items)} intervals lie within the bound; the closest is {who} {where}."
        )
    elif verdict == "fail":
        text = f"For {who}, the whole interval {where} lies {side} {check.bound:g}."
    elif d.value is None:
        text = f"Not enough data to tell for {who}: {d.detail or 'the value is undefined'}."
    else:
        text = (
            f"Not enough data to tell whether the rule holds for {who}: its interval "
            f"{where} straddles {check.bound:g}."
        )
    return text + skipped


def _result(
    check: Check, verdict: Verdict, items: list[Item], left_out: list[str], reason: str
) -> CheckResult:
    return CheckResult(
        check=check.text,
        metric=check.metric,
        op=check.op,
        bound=check.bound,
        scope=check.scope,
        verdict=verdict,
        items=items,
        decisive=_decisive(check, verdict, items),
        failing=[i for i in items if i.verdict != "pass"],
        left_out=left_out,
        reason=reason,
    )
