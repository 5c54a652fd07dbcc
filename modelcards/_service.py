"""What both demos do, in one place: the Streamlit app and the Gradio app call this.

The password check, the lookup of an input's training profile, the rule for numeric
input bounds, the edge cases of a version (from its card spec and saved by people) and
their outcomes, flag writing, and how a policy verdict is shown. The apps keep only
state, caching, routing and their widgets.

**Numeric inputs, one rule.** A number may be tried anywhere in the training range
widened by the range's span on each side, so a value just outside what the model saw
can be tried (and is warned about); when every training value was zero or more, the
widened range stops at zero. Inside the training range there is no warning.
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._predict import (
    INTEGER_TYPES,
    NUMERIC_TYPES,
    Prediction,
    coerce_inputs,
    coerce_row,
    predict_inputs,
    predict_row,
)
from ._profile import ColumnProfile
from ._store import EdgeCaseRecord, Store, spec_edge_cases
from .errors import DataError, ModelNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from ._card import ModelCard
    from ._dictionary import InputEntry
    from ._explain import Explanation
    from ._registry import LoadedModel, Registry, SignatureColumn
    from ._summary import ReleaseSummary

PASSWORD_ENV = "MODELCARDS_DEMO_PASSWORD"
App = Literal["streamlit", "gradio", "cli"]
DisplayLevel = Literal["success", "error", "warning", "info"]


# -- who may look ----------------------------------------------------------------------
def password_required() -> bool:
    """Whether ``MODELCARDS_DEMO_PASSWORD`` protects the demos."""
    return bool(os.environ.get(PASSWORD_ENV))


def check_password(given: str | None) -> bool:
    """Whether ``given`` is the demo password, compared in constant time.

    Args:
        given: What the visitor typed; None counts as wrong. Always True when no
            password is set.

    >>> import os; os.environ.pop("MODELCARDS_DEMO_PASSWORD", None) and None
    >>> check_password("anything")
    True
    """
    expected = os.environ.get(PASSWORD_ENV)
    if not expected:
        return True
    return hmac.compare_digest((given or "").encode(), expected.encode())


# -- inputs -----------------------------------------------------------------------------
def column_profile(model: LoadedModel, name: str) -> ColumnProfile | None:
    """The training profile of one input, or None when the version has none for it.

    Args:
        model: The loaded version.
        name: The input's name.
    """
    if model.profile is None:
        return None
    try:
        return model.profile.column(name)
    except KeyError:  # the profile does not cover this input: no bounds, no levels
        return None


@dataclass(frozen=True)
class InputBounds:
    """Where a numeric input may go, and where the model has seen values.

    Attributes:
        low: Smallest value accepted (None: unbounded).
        high: Largest value accepted (None: unbounded).
        seen_low: Smallest value in training (outside the seen range: a warning).
        seen_high: Largest value in training.
        integer: Whole numbers only.
        default: The starting value: the training median, or 0.
    """

    low: float | None
    high: float | None
    seen_low: float | None
    seen_high: float | None
    integer: bool
    default: float


def input_bounds(
    col: SignatureColumn, profile: ColumnProfile | None, entry: InputEntry | None = None
) -> InputBounds:
    """The one rule for numeric inputs (see the module docstring).

    Args:
        col: The input's signature column (its type says integer or not).
        profile: Its training profile, or None (then the input is unbounded).
        entry: Its data dictionary entry; a ``range`` there is the allowed range.

    >>> from modelcards import ColumnProfile, SignatureColumn
    >>> age = ColumnProfile(name="age", kind="numeric", dtype="int64", missing_share=0,
    ...                     min=12, max=66, median=22, integer=True)
    >>> b = input_bounds(SignatureColumn("age", "long"), age)
    >>> b.low, b.high, b.default
    (0, 120, 22)
    """
    integer = col.type in INTEGER_TYPES
    default = input_default(col, profile)
    numeric_default = default if isinstance(default, int | float) else 0
    allowed = entry.range if entry is not None else None
    if profile is None or profile.min is None or profile.max is None:
        if allowed is None:
            return InputBounds(None, None, None, None, integer, numeric_default)
        low, high = allowed
        default = min(max(numeric_default, low), high)
        return InputBounds(low, high, None, None, integer, default)
    if allowed is not None:  # people said what is possible: that wins over the widening
        low, high = allowed
    else:
        span = max(profile.max - profile.min, 1.0)
        low, high = profile.min - span, profile.max + span
        if profile.min >= 0:
            low = max(low, 0.0)
    if integer:
        low, high = math.ceil(low), math.floor(high)
    return InputBounds(low, high, profile.min, profile.max, integer, numeric_default)


def input_default(col: SignatureColumn, profile: ColumnProfile | None) -> float | str:
    """A form's starting value: the training median, or the most frequent level.

    Args:
        col: The input's signature column.
        profile: Its training profile, or None.
    """
    value = profile.default() if profile is not None else None
    if value is None:
        return 0 if col.type in NUMERIC_TYPES else ""
    if col.type in INTEGER_TYPES:
        return int(round(float(value)))
    if col.type in NUMERIC_TYPES:
        return float(value)
    return str(value)


@dataclass(frozen=True)
class InputCheck:
    """One input value under the rule Try it, Batch and the Gradio app share.

    Attributes:
        column: The input's name.
        problem: Why the value is refused (not finite, or outside the allowed range), else
            None.
        hint: What to do about a problem.
        warning: Why the value is accepted with a warning (outside the training range, or
            a level never seen in training), else None.
    """

    column: str
    problem: str | None = None
    hint: str | None = None
    warning: str | None = None


def input_checker(model: LoadedModel) -> Callable[[Mapping[str, Any]], list[InputCheck]]:
    """A function that checks a row of inputs; the bounds are worked out once, so a
    batch of rows costs a comparison per value.

    Args:
        model: The loaded version.
    """
    kept: Callable[[Mapping[str, Any]], list[InputCheck]] | None = model._loaded.get(
        "input_checker"
    )
    if kept is None:  # Try it checks every rerun's inputs three times: the rules, once
        kept = model._loaded["input_checker"] = _input_checker(model)
    return kept


def _input_checker(model: LoadedModel) -> Callable[[Mapping[str, Any]], list[InputCheck]]:
    from ._dictionary import data_dictionary

    dictionary = data_dictionary(model)
    rules = []
    for col in model.inputs:
        profile = column_profile(model, col.name)
        entry = dictionary.entry(col.name)
        numeric = col.type in NUMERIC_TYPES
        bounds = input_bounds(col, profile, entry) if numeric else None
        levels = (
            frozenset(profile.levels)
            if profile is not None and profile.levels is not None
            else None
        )
        allowed = frozenset(entry.levels) if entry is not None and entry.levels else None
        rules.append((col.name, bounds, levels, allowed))

    def check(values: Mapping[str, Any]) -> list[InputCheck]:
        out = []
        for name, b, levels, allowed in rules:
            value = values.get(name)
            if value is None:
                continue
            if allowed is not None and str(value) not in allowed:
                out.append(
                    InputCheck(
                        name,
                        f"Input {name!r} {str(value)[:40]!r} is not one of the allowed values: "
                        f"{', '.join(sorted(allowed))}.",
                        hint="The data dictionary in the card spec lists the allowed values.",
                    )
                )
                continue
            if b is not None:
                try:
                    number = float(value)
                except (TypeError, ValueError, OverflowError):
                    continue  # not a number: the signature check names it
                shown = str(value)[:40]
                if not math.isfinite(number):
                    out.append(
                        InputCheck(name, f"Input {name!r} {shown!r} is not a finite number.")
                    )
                elif b.low is not None and b.high is not None and not b.low <= number <= b.high:
                    out.append(
                        InputCheck(
                            name,
                            f"Input {name!r} {shown!r} is outside the allowed range "
                            f"{b.low:g} to {b.high:g}.",
                            hint=f"Seen in training: {b.seen_low:g} to {b.seen_high:g}; values "
                            "a little outside that are accepted with a warning.",
                        )
                    )
                elif (
                    b.seen_low is not None
                    and b.seen_high is not None
                    and not b.seen_low <= number <= b.seen_high
                ):
                    out.append(
                        InputCheck(
                            name,
                            warning=f"{name} = {value} lies outside the training range "
                            f"[{b.seen_low:g}, {b.seen_high:g}].",
                        )
                    )
            elif levels is not None and str(value) not in levels:
                out.append(
                    InputCheck(name, warning=f"{name} = {value!r} was never seen in training.")
                )
        return out

    return check


def input_warnings(model: LoadedModel, values: Mapping[str, Any]) -> list[str]:
    """Plain-language warnings for inputs outside the training range or levels.

    Args:
        model: The loaded version.
        values: The inputs by name.
    """
    return [c.warning for c in input_checker(model)(values) if c.warning]


def check_ranges(model: LoadedModel, values: Mapping[str, Any]) -> None:
    """Refuse a number that is not finite or lies outside its input's allowed range
    (``input_bounds``), naming the input and the range. Values that are not numbers are
    left to the signature check, which names them too.

    Args:
        model: The loaded version.
        values: The inputs by name.
    """
    for c in input_checker(model)(values):
        if c.problem:
            raise DataError(c.problem, hint=c.hint)


# -- verdicts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VerdictDisplay:
    """How a policy verdict is shown.

    Attributes:
        level: ``"success"``, ``"error"``, ``"warning"`` or ``"info"`` (Streamlit's
            ``st.success`` and friends; Gradio's ``gr.Info``/``gr.Warning``).
        text: ``"PASS"``, ``"FAIL"``, ``"INCONCLUSIVE"`` or ``"NONE"``.
    """

    level: DisplayLevel
    text: str


_LEVELS: dict[str, DisplayLevel] = {"pass": "success", "fail": "error", "inconclusive": "warning"}


def verdict_display(verdict: str) -> VerdictDisplay:
    """How to show a verdict.

    Args:
        verdict: ``"pass"``, ``"fail"``, ``"inconclusive"`` or ``"none"``.

    >>> verdict_display("fail")
    VerdictDisplay(level='error', text='FAIL')
    """
    return VerdictDisplay(_LEVELS.get(verdict, "info"), verdict.upper())


# -- edge cases and flags ---------------------------------------------------------------
@dataclass(frozen=True)
class EdgeCaseOutcome:
    """One edge case run against a version.

    Attributes:
        case: The case.
        actual: The predicted label, or None when the case cannot run on this version.
        probability: The positive class's probability, when the model gives one.
        problem: Why the case cannot run (an input missing or of the wrong type).
        as_expected: True or False when the case names an expected outcome it can be
            judged by (a class; a regression's range), else None.
    """

    case: EdgeCaseRecord
    actual: str | None
    probability: float | None
    problem: str | None
    as_expected: bool | None


def run_cases(model: LoadedModel, cases: Sequence[EdgeCaseRecord]) -> list[EdgeCaseOutcome]:
    """Edge cases run against a version, in their order (nothing is recorded).

    A case that cannot run says why in its outcome's ``problem``: an input missing or
    of the wrong type, an input the version no longer takes, or an expected outcome the
    version cannot give.

    Args:
        model: The loaded version.
        cases: The cases (``DemoService.edge_cases``).
    """
    from ._check import parse_expected

    known = {c.name for c in model.inputs}
    out = []
    for case in cases:
        unknown = sorted(set(case.inputs) - known)
        try:
            if unknown:  # an input the version no longer takes: its answer would mislead
                raise DataError(f"the model takes no input {', '.join(repr(u) for u in unknown)}.")
            expectation = parse_expected(case.expected, model)
            check_ranges(model, case.inputs)
            got = predict_row(model, coerce_row(model, dict(case.inputs)))
        except DataError as exc:
            out.append(EdgeCaseOutcome(case, None, None, exc.message, None))
            continue
        verdict = expectation.holds(got.label, got.value) if expectation.judged else None
        out.append(EdgeCaseOutcome(case, got.label, got.positive_probability, None, verdict))
    return out


class DemoService:
    """The registry, the feedback store and the rules both demos share.

    Args:
        registry: Where models are loaded from (default ``Registry()``).
        store: Where edge cases and flags live (default ``Store()``).

    >>> svc = DemoService(store=Store("sqlite://"))                       # doctest: +SKIP
    >>> model = svc.load("models:/arrests-release@champion")             # doctest: +SKIP
    >>> [o.as_expected for o in svc.run_edge_cases(model)]               # doctest: +SKIP
    [True, True]
    """

    def __init__(self, registry: Registry | None = None, store: Store | None = None):
        if registry is None:
            from ._registry import Registry

            registry = Registry()
        self.registry = registry
        self.store = store if store is not None else Store()

    def load(self, ref: str) -> LoadedModel:
        """A registered version, safely loaded (cached by the registry).

        Args:
            ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
        """
        return self.registry.load(ref)

    def predict(self, model: LoadedModel, values: Mapping[str, Any]) -> Prediction:
        """The prediction for one set of inputs, checked against the signature and the
        allowed ranges (``check_ranges``).

        Args:
            model: The loaded version.
            values: The inputs by name, as typed (text from a URL is fine).
        """
        check_ranges(model, values)
        return predict_inputs(model, coerce_inputs(model, values))

    def explain(self, model: LoadedModel, values: Mapping[str, Any]) -> Explanation:
        """Why the model answers what it does for these inputs (``explain``), with the
        same checks as ``predict``.

        Args:
            model: The loaded version.
            values: The inputs by name, as typed (text from a URL is fine).
        """
        from ._explain import explain

        check_ranges(model, values)
        return explain(model, dict(values))

    def edge_cases(self, model: LoadedModel) -> list[EdgeCaseRecord]:
        """The version's edge cases: its card spec's, then those people saved.

        Args:
            model: The loaded version.
        """
        return spec_edge_cases(model.card_spec) + self.store.edge_cases(model.name)

    def run_edge_cases(self, model: LoadedModel) -> list[EdgeCaseOutcome]:
        """Every edge case of the version, run against it (nothing is recorded; see
        ``check_cases``).

        Args:
            model: The loaded version.
        """
        return run_cases(model, self.edge_cases(model))

    def record_outcomes(self, model: LoadedModel, outcomes: Sequence[EdgeCaseOutcome]) -> int:
        """Record in the store which cases ran against the version and their results
        (cases that could not run are left out); returns how many were recorded.

        Args:
            model: The version the cases ran against.
            outcomes: From ``run_edge_cases``.
        """
        from ._check import run_input

        ran = [run_input(o) for o in outcomes if o.problem is None]
        self.store.record_runs(model=model.name, version=model.version, runs=ran)
        return len(ran)

    def save_edge_case(
        self,
        model: LoadedModel,
        inputs: Mapping[str, Any],
        *,
        name: str,
        expected: str | None = None,
        note: str | None = None,
        app: App,
    ) -> int:
        """Save inputs as a named edge case of the model; returns its id.

        Args:
            model: The version the case was saved from.
            inputs: The inputs by name.
            name: A short name.
            expected: The outcome the person expects, if they said.
            note: Why it matters, if they said.
            app: Which app saved it.
        """
        from ._check import parse_expected

        parse_expected(expected, model)  # an outcome the version cannot give is refused
        return self.store.add_edge_case(
            model=model.name,
            name=name,
            inputs=dict(inputs),
            expected=expected,
            note=note,
            version=model.version,
            app=app,
        )

    def flag(
        self,
        model: LoadedModel,
        inputs: Mapping[str, Any],
        *,
        comment: str,
        app: App,
        prediction: str | None = None,
        expected: str | None = None,
    ) -> int:
        """Store a flag on the answer to ``inputs``; returns its id.

        Args:
            model: The version that answered.
            inputs: The inputs by name.
            comment: What is wrong with the answer (required).
            app: Which app the flag came from.
            prediction: The answer shown; predicted again when not given.
            expected: The answer the stakeholder expected, if they said (a class, or a
                regression's range such as ``"120..180"``).
        """
        from ._check import parse_expected

        parse_expected(expected, model)
        if prediction is None:
            prediction = self.predict(model, inputs).label
        flag_id = self.store.add_flag(
            model=model.name,
            version=model.version,
            inputs=dict(inputs),
            prediction=prediction,
            comment=comment,
            app=app,
            expected=expected,
        )
        from ._notify import notify_flag

        # Stored first: the team hears only of a flag that exists (MODELCARDS_NOTIFY).
        notify_flag(model, inputs=inputs, prediction=prediction, comment=comment, app=app)
        return flag_id

    def flag_to_edge_case(
        self, model: LoadedModel, flag_id: int, *, name: str, expected: str | None = None
    ) -> int:
        """Turn a stakeholder's flag into an edge case of the model; returns its id.

        Who may do this is the caller's decision (the demo: anyone past its password).

        Args:
            model: The version shown (the expected outcome is checked against it).
            flag_id: The flag's id.
            name: The new case's short name.
            expected: The expected outcome; default the one the flag gives.
        """
        from ._check import parse_expected

        parse_expected(expected, model)
        flag = next((f for f in self.store.flags(model.name) if f["id"] == flag_id), None)
        if flag is None:
            raise DataError(
                f"There is no flag {flag_id} on {model.name}.",
                hint="Pick one of the flags listed for the model.",
            )
        parse_expected(expected or flag["expected"], model)
        return self.store.flag_to_edge_case(flag_id, name=name, expected=expected)

    def in_use_version(self, name: str, alias: str | None = None) -> int | None:
        """The version the release alias points to, or None when no version has it.

        Args:
            name: The registered model's name.
            alias: The alias of the version in use (default ``release_alias()``).
        """
        from ._summary import release_alias

        try:
            return self.registry.resolve(f"models:/{name}@{alias or release_alias()}")[1]
        except ModelNotFoundError:  # only "no such alias" means there is none in use
            return None

    def release_summary(self, model: LoadedModel, card: ModelCard) -> ReleaseSummary:
        """The printable summary of a version: its card, the version in use, its edge
        cases run against it and the model's stakeholder flags.

        Args:
            model: The loaded version.
            card: Its model card.
        """
        from ._summary import ReleaseSummary, SummaryCase, SummaryFlag, release_alias

        alias = release_alias()
        cases = [
            SummaryCase(
                name=o.case.name,
                inputs=o.case.inputs,
                expected=o.case.expected,
                answer=o.actual,
                problem=o.problem,
                as_expected=o.as_expected,
            )
            for o in self.run_edge_cases(model)
        ]
        flags = [
            SummaryFlag(
                version=int(f["version"]),
                prediction=str(f["prediction"]),
                comment=str(f["comment"]),
                inputs=dict(f["inputs"]),
                created=f["created"],
            )
            for f in self.store.flags(model.name)
        ]
        return ReleaseSummary(
            card=card,
            release_alias=alias,
            in_use_version=self.in_use_version(model.name, alias),
            cases=cases,
            flags=flags,
        )
