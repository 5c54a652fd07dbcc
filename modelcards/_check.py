"""Release tests from stakeholders: edge cases with an expected outcome, run against a version.

**What "expected" means.** For a classifier, the class label the version should answer
(one of its classes, as text). For a regression, a range the predicted number should fall
in: ``"120..180"`` (both ends included) or ``"150 +- 30"`` (``±`` works too); a bare
number (``"150"``) is shown beside the prediction but not judged, since an exact match of
a predicted number is luck. A case that says nothing is run and shown, never judged.

``modelcards check REF`` runs every edge case of the version (its card spec's, then the
ones saved in the store), records each run in the store and exits 0 when every judged
case passes, 1 when one fails (or more than a policy's ``known_cases`` allows), and 2
when a case cannot run (an input it lacks, one the model no longer takes, an expected
outcome the model cannot give): nothing is recorded then.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._store import CaseRunInput
from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ._card import KnownCase
    from ._registry import LoadedModel, Registry
    from ._service import DemoService, EdgeCaseOutcome
    from ._store import EdgeCaseRecord, Store

CaseResult = Literal["pass", "fail", "not judged", "cannot run"]
#: The order cases are listed in: failing first.
RESULT_ORDER: dict[str, int] = {"fail": 0, "cannot run": 1, "pass": 2, "not judged": 3}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER})\s*$")
_PLUS_MINUS = re.compile(rf"^\s*(?P<mid>{_NUMBER})\s*(?:\+-|±|\+/-)\s*(?P<tol>{_NUMBER})\s*$")
_REGRESSION_HINT = (
    'For a regression, write a range: "120..180" or "150 +- 30" (a bare number is shown, '
    "not judged)."
)


@dataclass(frozen=True)
class Expectation:
    """An expected outcome, read for a model's task.

    Attributes:
        label: The expected class (a classifier); None for a regression.
        low: The lowest number expected (a regression's range), else None.
        high: The highest number expected, else None.
    """

    label: str | None = None
    low: float | None = None
    high: float | None = None

    @property
    def judged(self) -> bool:
        """Whether a prediction can pass or fail against it."""
        return self.label is not None or self.low is not None

    def holds(self, prediction: str, value: float | None) -> bool:
        """Whether a prediction is the expected one.

        Args:
            prediction: The label shown (a class, or a number as text).
            value: A regression's predicted number; None for a classifier.
        """
        if self.label is not None:
            return prediction == self.label
        assert self.low is not None and self.high is not None and value is not None
        return self.low <= value <= self.high


def parse_expected(text: str | None, model: LoadedModel) -> Expectation:
    """What an expected outcome means for a version; a clear error when it cannot hold.

    Args:
        text: The expected outcome as written (None or blank: nothing expected).
        model: The version it is checked against (its task and classes).
    """
    if text is None or not str(text).strip():
        return Expectation()
    raw = str(text).strip()
    if model.task != "regression":
        classes = [str(c) for c in model.classes]
        if raw not in classes:
            raise DataError(
                f"The expected outcome {raw!r} is not one of the classes of {model.uri}: "
                f"{', '.join(repr(c) for c in classes)}.",
                hint="Expect one of the model's classes, written as shown.",
            )
        return Expectation(label=raw)
    if m := _RANGE.match(raw):
        low, high = float(m["low"]), float(m["high"])
    elif m := _PLUS_MINUS.match(raw):
        mid, tol = float(m["mid"]), float(m["tol"])
        low, high = mid - abs(tol), mid + abs(tol)
    else:
        try:
            float(raw)
        except ValueError:
            raise DataError(
                f"The expected outcome {raw!r} is not a number or a range.", hint=_REGRESSION_HINT
            ) from None
        return Expectation()  # a bare number: shown, not judged
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise DataError(
            f"The expected range {raw!r} is empty or not finite.", hint=_REGRESSION_HINT
        )
    return Expectation(low=low, high=high)


def outcome_result(outcome: EdgeCaseOutcome) -> CaseResult:
    """An outcome as one word: pass, fail, not judged or cannot run.

    Args:
        outcome: A case run against a version.
    """
    if outcome.problem is not None:
        return "cannot run"
    return {True: "pass", False: "fail", None: "not judged"}[outcome.as_expected]  # type: ignore[return-value]


def failing_first(outcomes: Sequence[EdgeCaseOutcome]) -> list[EdgeCaseOutcome]:
    """The outcomes with the failing ones first (then those that cannot run, those that
    pass, those not judged), each kind in its saved order.

    Args:
        outcomes: Cases run against a version.
    """
    return sorted(outcomes, key=lambda o: RESULT_ORDER[outcome_result(o)])


def known_cases(outcomes: Sequence[EdgeCaseOutcome]) -> list[KnownCase]:
    """The card's "Known cases" section: every case's result, failing first.

    Args:
        outcomes: Cases run against the card's version (``DemoService.run_edge_cases``).
    """
    from ._card import KnownCase

    return [
        KnownCase(
            name=o.case.name,
            source=o.case.source,
            inputs=o.case.inputs,
            expected=o.case.expected,
            predicted=o.actual,
            result=outcome_result(o),
            problem=o.problem,
        )
        for o in failing_first(outcomes)
    ]


@dataclass(frozen=True)
class CheckReport:
    """The result of ``check_cases``: every case's outcome against a version.

    Attributes:
        uri: The version's reference.
        outcomes: Each case's outcome, failing first.
        max_failures: How many failing cases still let the version pass (0 without a
            policy, or the policy's ``known_cases``).
        source: Where ``max_failures`` came from (the policy's name, or None).
        store: The store the runs were recorded in, as shown in messages.
    """

    uri: str
    outcomes: list[EdgeCaseOutcome]
    max_failures: int = 0
    source: str | None = None
    store: str = ""

    @property
    def failures(self) -> int:
        """How many judged cases gave another answer than expected."""
        return sum(outcome_result(o) == "fail" for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when no more cases fail than allowed, else 1."""
        return 0 if self.failures <= self.max_failures else 1


def check_cases(
    service: DemoService, model: LoadedModel, *, max_failures: int = 0, source: str | None = None
) -> CheckReport:
    """Run every edge case of a version and record the runs in the store.

    A case that cannot run (an input missing or the wrong type, one the model no longer
    takes, an expected outcome it cannot give) is bad input: a ``DataError`` naming the
    case, and nothing is recorded.

    Args:
        service: Where the cases and the store are.
        model: The version to check.
        max_failures: How many failing cases are allowed (default 0).
        source: Where ``max_failures`` came from, for messages.
    """
    outcomes = service.run_edge_cases(model)
    broken = [o for o in outcomes if o.problem is not None]
    if broken:
        first = broken[0]
        more = f" ({len(broken) - 1} more cannot run either)" if len(broken) > 1 else ""
        raise DataError(
            f"The edge case {first.case.name!r} ({first.case.source}) cannot run on "
            f"{model.uri}: {first.problem}{more}",
            hint="Fix or re-save the case with the version's inputs (Edge cases page), or "
            "remove it from the card spec.",
        )
    service.store.record_runs(
        model=model.name,
        version=model.version,
        runs=[run_input(o) for o in outcomes],
    )
    return CheckReport(
        model.uri, failing_first(outcomes), max_failures, source, service.store.shown
    )


def run_input(outcome: EdgeCaseOutcome) -> CaseRunInput:
    """What the store records of one outcome.

    Args:
        outcome: A case that ran (not one that cannot run).
    """
    result = outcome_result(outcome)
    assert result != "cannot run"
    return CaseRunInput(
        case_id=outcome.case.id,
        case_name=outcome.case.name,
        result=result,
        predicted=outcome.actual,
        expected=outcome.case.expected,
    )


def case_key(case: EdgeCaseRecord) -> tuple[int | None, str]:
    """How a case's recorded runs are found: a stored case by id, a spec case by name.

    Args:
        case: The case.
    """
    return (case.id, case.name if case.id is None else "")


def check_version(
    ref: str,
    *,
    policy: str | Path | None = None,
    registry: Registry | None = None,
    store: Store | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
) -> CheckReport:
    """``modelcards check``: load a version, run its edge cases, record the runs.

    How many cases may fail: the policy's ``known_cases`` (``all_pass``, or
    ``{max_failures: N}``), from ``policy`` or else the policy stored with the version;
    without either, none may.

    Args:
        ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
        policy: A policy YAML file; default the one stored with the version.
        registry: Where the version is loaded from (default ``Registry()``).
        store: Where saved cases are read and runs recorded (default ``Store()``).
        allow_pickle: Allow a pickle model file (default False).
        trusted_types: More types to trust in a skops file.
    """
    from ._pipeline import resolve_policy
    from ._service import DemoService
    from ._store import Store

    # A bad policy file or an unreachable store is said before the model loads.
    given = resolve_policy(policy, None) if policy is not None else None
    store = store if store is not None else Store()
    if registry is None:
        from ._registry import Registry

        registry = Registry()
    model = registry.load(ref, allow_pickle=allow_pickle, trusted_types=trusted_types)
    rules = given if given is not None else resolve_policy(None, model)
    allowed = rules.known_cases_max_failures if rules is not None else None
    source = rules.source if rules is not None and allowed is not None else None
    return check_cases(
        DemoService(registry, store), model, max_failures=allowed or 0, source=source
    )


#: The widest a case's name is printed by ``modelcards check``.
NAME_WIDTH = 60


def report_lines(report: CheckReport) -> list[str]:
    """What ``modelcards check`` prints: one line per case, failing first, then a total.

    Args:
        report: From ``check_version``.
    """
    if not report.outcomes:
        return [
            f"{report.uri} has no edge cases, so there is nothing to check.",
            "Save one on the demo's Try it page, or list them under edge_cases in the card spec.",
        ]
    from ._format import terminal_text

    lines = [f"{len(report.outcomes)} edge case(s) run against {report.uri}:"]
    # Names come from the demo's visitors: inert, and cut so one long name cannot widen
    # every line.
    names = [terminal_text(o.case.name, limit=NAME_WIDTH) for o in report.outcomes]
    width = max(map(len, names), default=0)
    for o, name in zip(report.outcomes, names, strict=True):
        result = outcome_result(o)
        answer = f"predicted {terminal_text(o.actual)}"
        if o.case.expected is not None:
            answer = f"expected {terminal_text(o.case.expected)}, {answer}"
        lines.append(
            f"{result.upper():<10}  {name:<{width}}  {answer}  ({terminal_text(o.case.source)})"
        )
    judged = [o for o in report.outcomes if o.as_expected is not None]
    total = f"{len(judged) - report.failures} of {len(judged)} judged case(s) pass"
    if report.failures:
        allowed = f"; {report.max_failures} may fail ({report.source})" if report.source else ""
        total += f", {report.failures} fail{allowed}"
    lines.append(total + f". Recorded in the store ({report.store}).")
    return lines
