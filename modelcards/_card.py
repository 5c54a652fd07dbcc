"""The Model Card as typed data (sections after Mitchell et al. 2019): one declaration.

``ModelCard`` and its section models below are the only place a card's fields are
declared. Each field is either computed (from the registry, the data and the assessment)
or written by people, marked ``Written`` (``REQUIRED`` when the completeness report lists
it while empty, ``OPTIONAL`` otherwise). From that one declaration derive:

* ``CardSpec``: the human-written parts, read from YAML (``spec_model``); unknown keys are
  an error, and a list field also takes a single string;
* the completeness report (``completeness``);
* ``build_card``'s merge of the spec into the computed sections (``merge_sections``);
* the JSON Schema in ``modelcards/schema/model_card.schema.json`` (``json_schema``).

Adding a section therefore means one model here and its lines in the two templates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    create_model,
    field_validator,
    model_serializer,
)
from pydantic.fields import FieldInfo

from ._compare import Change, VersionInfo
from ._dictionary import DataDictionary
from ._evaluate import Assessment, Disparity, GroupResult
from ._policy import PolicyResult
from ._profile import Profile
from .errors import SpecError

SCHEMA_VERSION = "2.0"
#: The methods line of a regression card.
REGRESSION_METHODS = (
    "{confidence} intervals: Student's t-interval for each group's mean prediction, mean "
    "actual value, mean error and mean absolute error; for the root mean squared error, "
    "the t-interval of the mean squared error with both bounds square-rooted; for R², a "
    "delta-method (influence function) standard error with a t quantile. No resampling: "
    "the same data give the same intervals. For disparities, simultaneous intervals over "
    "the groups compared (each group at the Bonferroni-adjusted level); ratios only for "
    "the absolute and squared errors. A group under the minimum group size is left out of "
    "the disparities and checks."
)
#: The methods line of a multiclass card.
MULTICLASS_METHODS = (
    "{confidence} intervals: exact (Clopper-Pearson, 1934) for each group's accuracy; a "
    "macro average of K classes' recall, precision or F1 takes the mean of the classes' "
    "exact bounds, each at the Bonferroni-adjusted level alpha / K (a class's F1 from the "
    "exact interval of TP / (TP + FP + FN)); a class undefined in a group is left out of "
    "its average. Each class is also judged one-vs-rest with the binary metrics and their "
    "exact intervals, ROC AUC of the class's probability by DeLong's method (1988). For "
    "disparities, simultaneous intervals over the groups compared (each group at the "
    "Bonferroni-adjusted level). A group or metric resting on fewer people than the "
    "minimum group size is left out of the disparities and checks."
)
#: The card's methods line (Metrics > Variation approaches).
METHODS = (
    "{confidence} intervals: exact (Clopper-Pearson, 1934) for each group's rates; for "
    "disparities, simultaneous intervals over the groups compared (each group at the "
    "Bonferroni-adjusted level), which hold whichever pair of groups is the extreme one; "
    "ROC AUC by DeLong's method (1988). A metric whose denominator is zero is undefined, "
    "and a group whose denominator for a metric is under the minimum group size is left "
    "out of that metric's disparities and checks."
)


@dataclass(frozen=True)
class Written:
    """Marks a card field that people write in the card spec, rather than one computed.

    Attributes:
        required: Listed in the completeness report while empty.
    """

    required: bool = True


REQUIRED = Written(required=True)
OPTIONAL = Written(required=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A named input people want checked: its inputs, the outcome they expect, a note.
class EdgeCase(_Strict):
    name: str
    inputs: dict[str, Any]
    expected: Any = None
    note: str | None = None


# An edge case run against the card's version when the card was made: "Known cases".
class KnownCase(_Strict):
    name: str
    source: str
    inputs: dict[str, Any]
    expected: str | None = None
    predicted: str | None = None
    result: Literal["pass", "fail", "not judged", "cannot run"]
    problem: str | None = None


# What the card says about the estimator: its class, the pipeline steps before it, and its
# hyperparameters (``get_params(deep=False)``), those that differ from the class's defaults
# first. Class names are fully qualified; values are shown as text.
class PipelineStep(_Strict):
    name: str
    class_name: str


class Hyperparameter(_Strict):
    name: str
    value: str
    default: bool


class Estimator(_Strict):
    class_name: str
    steps: list[PipelineStep] = []
    hyperparameters: list[Hyperparameter] = []


# -- the card: one declaration per section ----------------------------------------------
class ModelDetails(_Strict):
    name: str
    version: int | None = None
    alias: str | None = None
    reference: str | None = None
    # Written; without it, the registered model's description is used.
    description: Annotated[str | None, REQUIRED] = None
    version_description: str | None = None
    owners: Annotated[list[str], REQUIRED] = []
    license: Annotated[str | None, REQUIRED] = None
    references: Annotated[list[str], OPTIONAL] = []
    citation: Annotated[str | None, OPTIONAL] = None
    created: str | None = None
    task: str = "binary_classification"
    positive_label: str | None
    classes: list[str] = []
    input_features: list[str] = []
    framework: str | None = None
    # Distribution -> version recorded at registration, e.g. {"xgboost": "3.2.0"}.
    frameworks: dict[str, str] = {}
    estimator: Estimator | None = None
    params: dict[str, str] = {}
    logged_metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    # How the model was loaded, e.g. from a pickle with --allow-pickle; shown at the top.
    warnings: list[str] = []


class IntendedUse(_Strict):
    primary_uses: Annotated[list[str], REQUIRED] = []
    primary_users: Annotated[list[str], REQUIRED] = []
    out_of_scope_uses: Annotated[list[str], REQUIRED] = []


class Factors(_Strict):
    relevant_factors: Annotated[list[str], REQUIRED] = []
    evaluation_factors: list[str]


class Metrics(_Strict):
    performance_measures: Annotated[list[str], REQUIRED] = []
    decision_threshold: float | None = None
    decision_thresholds: Annotated[list[str], OPTIONAL] = []
    # Written; the card appends its own methods line.
    variation_approaches: Annotated[list[str], OPTIONAL] = []
    reported: list[str]


class DataProvenance(_Strict):
    source: str
    sha256: str
    rows: int
    columns: list[str]
    target: str
    # None for a regression, whose target has no classes.
    positives: int | None
    negatives: int | None
    positive_share: float | None


class EvaluationData(_Strict):
    description: Annotated[str | None, REQUIRED] = None
    preprocessing: Annotated[str | None, OPTIONAL] = None
    provenance: DataProvenance


class TrainingData(_Strict):
    description: Annotated[str | None, REQUIRED] = None
    preprocessing: Annotated[str | None, OPTIONAL] = None
    profile: Profile | None = None


class QuantitativeAnalyses(_Strict):
    overall: GroupResult


# One class of a multiclass model, judged one-vs-rest (the class is the positive outcome):
# the binary metrics overall and per group, and their disparities.
class ClassFairness(_Strict):
    label: str
    metrics: list[str]
    overall: GroupResult
    groups: list[GroupResult]
    disparities: list[Disparity]
    notes: list[str] = []


class Fairness(_Strict):
    sensitive_features: list[str]
    min_group_size: int
    confidence: float
    groups: list[GroupResult]
    disparities: list[Disparity]
    notes: list[str] = []
    # A multiclass model's classes one-vs-rest; absent from the JSON of other cards.
    classes: list[ClassFairness] = []

    @model_serializer(mode="wrap")
    def _without_empty_classes(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not self.classes:
            data.pop("classes", None)
        return data


class ComparedWith(_Strict):
    """This version (B) against another (A, by default the release alias's), on the same
    rows: the groups that got better or worse beyond their paired interval, and by how
    much (``modelcards compare`` holds every change)."""

    against: VersionInfo
    rows: int
    n_boot: int
    seed: int
    confidence: float
    protects: list[str]
    worse: list[Change]
    better: list[Change]


class Provenance(_Strict):
    generated: str
    predictions: str
    versions: dict[str, str]


class Completeness(_Strict):
    complete: bool
    missing: list[str]


# -- the review: findings, the reviewer's decision on each, the sign-off ----------------
class ReviewedFinding(_Strict):
    """A finding on this version and the reviewer's latest decision on it (none yet:
    ``decision`` is None)."""

    id: str
    kind: Literal["policy_check", "release_test", "flag", "disparity"]
    subject: str
    detail: str
    decision: Literal["accept", "block", "accept_with_mitigation"] | None = None
    reason: str | None = None
    reviewer: str | None = None
    date: str | None = None


class SignoffRecord(_Strict):
    """The latest overall sign-off and whether it still counts (``state``)."""

    decision: Literal["approve", "reject"]
    state: Literal["approved", "rejected", "stale"]
    reviewer: str
    date: str
    summary: str
    # What changed since the sign-off, when it is stale.
    changed: list[str] = []


class PromotionOverride(_Strict):
    """An alias moved with ``promote --force``: who, when and why."""

    alias: str
    reviewer: str
    date: str
    reason: str


class Review(_Strict):
    status: Literal["not reviewed", "in review", "approved", "rejected", "stale"] = "not reviewed"
    findings: list[ReviewedFinding] = []
    signoff: SignoffRecord | None = None
    overrides: list[PromotionOverride] = []


class ModelCard(_Strict):
    """A whole Model Card: the JSON form validates against the published schema."""

    schema_version: str = SCHEMA_VERSION
    # Three to five generated sentences a reviewer reads first (``plain_summary``).
    summary: list[str] = []
    model_details: ModelDetails
    intended_use: IntendedUse
    factors: Factors
    metrics: Metrics
    evaluation_data: EvaluationData
    training_data: TrainingData
    quantitative_analyses: QuantitativeAnalyses
    fairness: Fairness
    # Present when the card's version is not the release alias's (or --compare-to).
    comparison: ComparedWith | None = None
    policy: PolicyResult
    ethical_considerations: Annotated[list[str], REQUIRED] = []
    caveats_and_recommendations: Annotated[list[str], REQUIRED] = []
    edge_cases: Annotated[list[EdgeCase], OPTIONAL] = []
    # Every edge case (the spec's and the store's) run against this version, failing first.
    known_cases: list[KnownCase] = []
    # What the outcome and each input mean, in words, units and allowed ranges.
    data_dictionary: Annotated[DataDictionary, OPTIONAL] = DataDictionary()
    # Filled from the review store (``attach_review``); findings alone without one.
    review: Review = Review()
    provenance: Provenance
    completeness: Completeness = Field(
        default_factory=lambda: Completeness(complete=True, missing=[])
    )

    def model_post_init(self, __context: Any) -> None:
        self.completeness = completeness(self)


# -- what derives from the declaration --------------------------------------------------
def _written(info: FieldInfo) -> Written | None:
    return next((m for m in info.metadata if isinstance(m, Written)), None)


def _section(info: FieldInfo) -> type[BaseModel] | None:
    t = info.annotation
    return t if isinstance(t, type) and issubclass(t, BaseModel) else None


def written_fields(card_type: type[BaseModel] = ModelCard) -> Iterator[tuple[str, Written]]:
    """Every written field as ``(dotted path, marker)``, in the card's order.

    Args:
        card_type: The card model to walk (default ``ModelCard``).

    >>> next(written_fields())
    ('model_details.description', Written(required=True))
    """
    for name, info in card_type.model_fields.items():
        mark = _written(info)
        if mark is not None:
            yield name, mark
            continue
        section = _section(info)
        if section is not None:
            for sub, sub_info in section.model_fields.items():
                sub_mark = _written(sub_info)
                if sub_mark is not None:
                    yield f"{name}.{sub}", sub_mark


def completeness(card: ModelCard) -> Completeness:
    """Which required written fields the card leaves empty.

    Args:
        card: The card to check.
    """
    missing = []
    for path, mark in written_fields(type(card)):
        value: Any = card
        for part in path.split("."):
            value = getattr(value, part)
        if mark.required and not value:
            missing.append(path)
    return Completeness(complete=not missing, missing=missing)


class _Lists(_Strict):
    """Spec sections: a list field also accepts a single string."""

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any, info: Any) -> Any:
        field = cls.model_fields[info.field_name]
        if "list" in str(field.annotation) and not isinstance(v, list | tuple):
            return [] if v is None else [v] if isinstance(v, str) else v
        return v


class SpecBase(_Lists):
    """The base of ``CardSpec``; its fields are generated from ``ModelCard``."""


def spec_model(card_type: type[BaseModel] = ModelCard) -> type[SpecBase]:
    """The card spec model: the written fields of ``card_type``, section by section.

    Args:
        card_type: The card model whose ``Written`` fields form the spec.
    """
    top: dict[str, Any] = {}
    for name, info in card_type.model_fields.items():
        if _written(info) is not None:
            top[name] = (info.annotation, info.default)
            continue
        section = _section(info)
        if section is None:
            continue
        sub: dict[str, Any] = {
            n: (i.annotation, i.default)
            for n, i in section.model_fields.items()
            if _written(i) is not None
        }
        if sub:
            spec_section = create_model(f"Spec{section.__name__}", __base__=_Lists, **sub)
            top[name] = (spec_section, spec_section())
    return create_model("CardSpec", __base__=SpecBase, **top)


#: The human-written parts of a card. Every key is optional; unknown keys are errors.
CardSpec = spec_model()


def _spec_hint() -> str:
    sections: dict[str, list[str]] = {}
    for path, _ in written_fields():
        head, _, tail = path.partition(".")
        sections.setdefault(head, [])
        if tail:
            sections[head].append(tail)
    return (
        "Known sections: "
        + ", ".join(f"{k} ({', '.join(v)})" if v else k for k, v in sections.items())
        + "."
    )


_SPEC_HINT = _spec_hint()


def parse_spec(data: Any, *, source: str = "card spec") -> SpecBase:
    """Validate a spec mapping; errors name every unknown or malformed key.

    Args:
        data: The parsed YAML (a mapping of sections), or None for an empty spec.
        source: How to name the spec in messages, e.g. ``"card_spec.yaml"``.

    >>> parse_spec({"intended_use": {"primary_uses": "Triage"}}).intended_use.primary_uses
    ['Triage']
    """
    if data is None:
        return CardSpec()
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a card spec is a mapping of sections, not {type(data).__name__}.",
            hint=_SPEC_HINT,
        )
    try:
        return CardSpec.model_validate(data)
    except ValidationError as exc:
        unknown: list[tuple[str, str]] = []
        other: list[tuple[str, str]] = []
        for e in exc.errors():
            path = ".".join(str(p) for p in e["loc"])
            (unknown if e["type"] == "extra_forbidden" else other).append((path, e["msg"]))
        if unknown:
            raise SpecError(
                f"{source}: unknown key(s) {', '.join(p for p, _ in unknown)}.",
                hint=_SPEC_HINT,
            ) from None
        raise SpecError(
            f"{source}: " + "; ".join(f"{p}: {m}" for p, m in other) + ".", hint=_SPEC_HINT
        ) from None


def load_spec(path: str | Path) -> SpecBase:
    """Read and validate a card spec YAML file.

    Args:
        path: The YAML file, e.g. ``card_spec.yaml``.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"Cannot read the card spec {path}: {exc}.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path.name}{where}: not valid YAML.", hint=_SPEC_HINT) from exc
    return parse_spec(data, source=path.name)


def merge_sections(written: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
    """The card's fields from the spec's and the computed ones, by one rule.

    A written value that is given wins over a computed one; a written list comes first and
    the computed items follow (the methods line after people's variation approaches).

    Args:
        written: ``spec.model_dump()``.
        computed: The computed sections, as nested mappings.

    >>> merge_sections({"m": {"a": None, "b": ["x"]}}, {"m": {"a": 1, "b": ["y"]}})
    {'m': {'a': 1, 'b': ['x', 'y']}}
    """
    out = dict(computed)
    for key, value in written.items():
        have = out.get(key)
        if isinstance(value, dict) and isinstance(have, dict):
            out[key] = merge_sections(value, have)
        elif isinstance(value, list) and isinstance(have, list):
            out[key] = [*value, *have]
        elif value or key not in out:
            out[key] = value
    return out


def build_card(*, spec: SpecBase, computed: dict[str, Any]) -> ModelCard:
    """Merge the human-written spec into the computed sections: a whole card.

    Args:
        spec: The card spec (``parse_spec``), empty when nobody wrote one.
        computed: Computed fields by section, e.g. ``{"fairness": {...}, "policy": ...}``;
            see ``computed_sections`` for every key a card needs.
    """
    return ModelCard.model_validate(merge_sections(spec.model_dump(), computed))


def computed_sections(
    *,
    name: str,
    assessment: Assessment,
    policy: PolicyResult,
    data: DataProvenance,
    positive_label: str | None,
    predictions: str,
    generated: str,
    versions: dict[str, str],
    decision_threshold: float | None = None,
    registered: dict[str, Any] | None = None,
    profile: Profile | None = None,
    comparison: ComparedWith | None = None,
) -> dict[str, Any]:
    """Everything on a card that nobody writes, by section.

    Args:
        name: The model's name on the card.
        assessment: The fairness assessment.
        policy: The policy verdicts.
        data: Where the evaluation data came from, with its hash and label balance.
        positive_label: The positive outcome, as text (None for a regression).
        predictions: Where the predictions came from, e.g. ``"column 'decision'"``.
        generated: The card's date (ISO).
        versions: Library versions, for provenance.
        decision_threshold: The score threshold, when one cut the scores.
        registered: Registry metadata of the version (``registered_metadata``), if any.
        profile: The training-data profile, if any.
        comparison: This version against the release alias's (or another), if compared.
    """
    reg = registered or {}
    a = assessment
    from ._plain import plain_summary

    return {
        "summary": plain_summary(a, policy),
        "model_details": {
            "name": name,
            "version": reg.get("version"),
            "alias": reg.get("alias"),
            "reference": reg.get("reference"),
            "description": reg.get("description") or None,
            "version_description": reg.get("version_description") or None,
            "created": reg.get("created"),
            "task": {"regression": "regression", "multiclass": "multiclass_classification"}.get(
                a.task, "binary_classification"
            ),
            "positive_label": positive_label,
            "classes": [str(c) for c in reg.get("classes", [])] or [c.label for c in a.classes],
            "input_features": reg.get("input_features", []),
            "framework": reg.get("framework"),
            "frameworks": reg.get("frameworks", {}),
            "estimator": reg.get("estimator"),
            "params": reg.get("params", {}),
            "logged_metrics": reg.get("metrics", {}),
            "tags": reg.get("tags", {}),
            "warnings": reg.get("warnings", []),
        },
        "factors": {"evaluation_factors": a.sensitive_features},
        "metrics": {
            "decision_threshold": decision_threshold,
            "variation_approaches": [
                {"regression": REGRESSION_METHODS, "multiclass": MULTICLASS_METHODS}.get(
                    a.task, METHODS
                ).format(confidence=f"{a.confidence:.0%}")
            ],
            "reported": a.metrics,
        },
        "evaluation_data": {"provenance": data},
        "training_data": {"profile": profile},
        "quantitative_analyses": {"overall": a.overall},
        "fairness": {
            "sensitive_features": a.sensitive_features,
            "min_group_size": a.min_group_size,
            "confidence": a.confidence,
            "groups": a.groups,
            "disparities": a.disparities,
            "notes": a.notes,
            "classes": [
                {
                    "label": c.label,
                    "metrics": c.assessment.metrics,
                    "overall": c.assessment.overall,
                    "groups": c.assessment.groups,
                    "disparities": c.assessment.disparities,
                    "notes": c.assessment.notes,
                }
                for c in a.classes
            ],
        },
        "comparison": comparison,
        "policy": policy,
        "provenance": {
            "generated": generated,
            "predictions": predictions,
            "versions": versions,
        },
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``model_card.json`` (``make schema`` writes it to ``SCHEMA_PATH``)."""
    schema = ModelCard.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "model_card.schema.json"
    return schema


SCHEMA_PATH = Path(__file__).parent / "schema" / "model_card.schema.json"
