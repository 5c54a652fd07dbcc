"""The Model Card as typed data (sections after Mitchell et al. 2019).

Two models live here:

* ``CardSpec``: what people write (intended use, ethical considerations, ...), read from
  YAML stored with the model or given on the command line. Unknown keys are an error.
* ``ModelCard``: the whole card. It merges the registry's metadata, the spec, the
  assessment, the policy verdicts and the provenance of the evaluation data. The JSON
  Schema in ``modelcards/schema/model_card.schema.json`` is generated from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._evaluate import Assessment, Disparity, GroupResult
from ._policy import PolicyResult
from ._profile import Profile
from .errors import SpecError

SCHEMA_VERSION = "1.0"
NOT_PROVIDED = "Not provided"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _listify(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return v


class _Lists(_Strict):
    """Sections whose list fields also accept a single string."""

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, v, info):
        field = cls.model_fields[info.field_name]
        if "list" in str(field.annotation) and not isinstance(v, list | tuple):
            return _listify(v)
        return v


# -- the spec: human-written sections --------------------------------------------------
class SpecModelDetails(_Lists):
    description: str | None = None
    owners: list[str] = []
    license: str | None = None
    references: list[str] = []
    citation: str | None = None


class SpecIntendedUse(_Lists):
    primary_uses: list[str] = []
    primary_users: list[str] = []
    out_of_scope_uses: list[str] = []


class SpecFactors(_Lists):
    relevant_factors: list[str] = []


class SpecMetrics(_Lists):
    performance_measures: list[str] = []
    decision_thresholds: list[str] = []
    variation_approaches: list[str] = []


class SpecData(_Strict):
    description: str | None = None
    preprocessing: str | None = None


class EdgeCase(_Strict):
    name: str
    inputs: dict[str, Any]
    expected: Any = None
    note: str | None = None


class CardSpec(_Lists):
    """The human-written parts of a card. Every key is optional; unknown keys are errors."""

    model_details: SpecModelDetails = SpecModelDetails()
    intended_use: SpecIntendedUse = SpecIntendedUse()
    factors: SpecFactors = SpecFactors()
    metrics: SpecMetrics = SpecMetrics()
    evaluation_data: SpecData = SpecData()
    training_data: SpecData = SpecData()
    ethical_considerations: list[str] = []
    caveats_and_recommendations: list[str] = []
    edge_cases: list[EdgeCase] = []


def parse_spec(data: Any, *, source: str = "card spec") -> CardSpec:
    """Validate a spec mapping; errors name every unknown or malformed key."""
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
        unknown, other = [], []
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


def load_spec(path: str | Path) -> CardSpec:
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


_SPEC_HINT = (
    "Known sections: model_details (description, owners, license, references, citation), "
    "intended_use (primary_uses, primary_users, out_of_scope_uses), factors "
    "(relevant_factors), metrics (performance_measures, decision_thresholds, "
    "variation_approaches), evaluation_data and training_data (description, preprocessing), "
    "ethical_considerations, caveats_and_recommendations, edge_cases."
)


# -- the card ---------------------------------------------------------------------------
class ModelDetails(_Strict):
    name: str
    version: int | None = None
    alias: str | None = None
    reference: str | None = None
    description: str | None = None
    version_description: str | None = None
    owners: list[str] = []
    license: str | None = None
    references: list[str] = []
    citation: str | None = None
    created: str | None = None
    task: str = "binary_classification"
    positive_label: str
    classes: list[str] = []
    input_features: list[str] = []
    framework: str | None = None
    params: dict[str, str] = {}
    logged_metrics: dict[str, float] = {}
    tags: dict[str, str] = {}


class IntendedUse(_Strict):
    primary_uses: list[str] = []
    primary_users: list[str] = []
    out_of_scope_uses: list[str] = []


class Factors(_Strict):
    relevant_factors: list[str] = []
    evaluation_factors: list[str]


class Metrics(_Strict):
    performance_measures: list[str] = []
    decision_threshold: float | None = None
    decision_thresholds: list[str] = []
    variation_approaches: list[str] = []
    reported: list[str]


class DataProvenance(_Strict):
    source: str
    sha256: str
    rows: int
    columns: list[str]
    target: str
    positives: int
    negatives: int
    positive_share: float


class EvaluationData(_Strict):
    description: str | None = None
    preprocessing: str | None = None
    provenance: DataProvenance


class TrainingData(_Strict):
    description: str | None = None
    preprocessing: str | None = None
    profile: Profile | None = None


class QuantitativeAnalyses(_Strict):
    overall: GroupResult


class Fairness(_Strict):
    sensitive_features: list[str]
    min_group_size: int
    n_boot: int
    confidence: float
    groups: list[GroupResult]
    disparities: list[Disparity]
    notes: list[str] = []


class Provenance(_Strict):
    generated: str
    seed: int
    predictions: str
    versions: dict[str, str]


class Completeness(_Strict):
    complete: bool
    missing: list[str]


class ModelCard(_Strict):
    """A whole Model Card: the JSON form validates against the published schema."""

    schema_version: str = SCHEMA_VERSION
    model_details: ModelDetails
    intended_use: IntendedUse
    factors: Factors
    metrics: Metrics
    evaluation_data: EvaluationData
    training_data: TrainingData
    quantitative_analyses: QuantitativeAnalyses
    fairness: Fairness
    policy: PolicyResult
    ethical_considerations: list[str] = []
    caveats_and_recommendations: list[str] = []
    edge_cases: list[EdgeCase] = []
    provenance: Provenance
    completeness: Completeness = Field(
        default_factory=lambda: Completeness(complete=True, missing=[])
    )

    def model_post_init(self, __context) -> None:
        missing = [path for path, value in _HUMAN_FIELDS(self) if not value]
        self.completeness = Completeness(complete=not missing, missing=missing)


def _HUMAN_FIELDS(card: ModelCard):  # noqa: N802 - a table, read like a constant
    return [
        ("model_details.description", card.model_details.description),
        ("model_details.owners", card.model_details.owners),
        ("model_details.license", card.model_details.license),
        ("intended_use.primary_uses", card.intended_use.primary_uses),
        ("intended_use.primary_users", card.intended_use.primary_users),
        ("intended_use.out_of_scope_uses", card.intended_use.out_of_scope_uses),
        ("factors.relevant_factors", card.factors.relevant_factors),
        ("metrics.performance_measures", card.metrics.performance_measures),
        ("evaluation_data.description", card.evaluation_data.description),
        ("training_data.description", card.training_data.description),
        ("ethical_considerations", card.ethical_considerations),
        ("caveats_and_recommendations", card.caveats_and_recommendations),
    ]


def build_card(
    *,
    name: str,
    assessment: Assessment,
    policy: PolicyResult,
    data: DataProvenance,
    spec: CardSpec,
    positive_label: str,
    predictions: str,
    generated: str,
    versions: dict[str, str],
    decision_threshold: float | None = None,
    registered: dict | None = None,
    profile: Profile | None = None,
) -> ModelCard:
    """Merge registry metadata, the spec, the assessment and the policy into a card."""
    reg = registered or {}
    sd = spec.model_details
    return ModelCard(
        model_details=ModelDetails(
            name=name,
            version=reg.get("version"),
            alias=reg.get("alias"),
            reference=reg.get("reference"),
            description=sd.description or reg.get("description") or None,
            version_description=reg.get("version_description") or None,
            owners=sd.owners,
            license=sd.license,
            references=sd.references,
            citation=sd.citation,
            created=reg.get("created"),
            positive_label=positive_label,
            classes=[str(c) for c in reg.get("classes", [])],
            input_features=reg.get("input_features", []),
            framework=reg.get("framework"),
            params=reg.get("params", {}),
            logged_metrics=reg.get("metrics", {}),
            tags=reg.get("tags", {}),
        ),
        intended_use=IntendedUse(**spec.intended_use.model_dump()),
        factors=Factors(
            relevant_factors=spec.factors.relevant_factors,
            evaluation_factors=assessment.sensitive_features,
        ),
        metrics=Metrics(
            performance_measures=spec.metrics.performance_measures,
            decision_threshold=decision_threshold,
            decision_thresholds=spec.metrics.decision_thresholds,
            variation_approaches=[
                *spec.metrics.variation_approaches,
                f"{assessment.confidence:.0%} bootstrap intervals from {assessment.n_boot:,} "
                f"resamples (seed {assessment.seed}); ROC AUC intervals by DeLong's method.",
            ],
            reported=assessment.metrics,
        ),
        evaluation_data=EvaluationData(
            description=spec.evaluation_data.description,
            preprocessing=spec.evaluation_data.preprocessing,
            provenance=data,
        ),
        training_data=TrainingData(
            description=spec.training_data.description,
            preprocessing=spec.training_data.preprocessing,
            profile=profile,
        ),
        quantitative_analyses=QuantitativeAnalyses(overall=assessment.overall),
        fairness=Fairness(
            sensitive_features=assessment.sensitive_features,
            min_group_size=assessment.min_group_size,
            n_boot=assessment.n_boot,
            confidence=assessment.confidence,
            groups=assessment.groups,
            disparities=assessment.disparities,
            notes=assessment.notes,
        ),
        policy=policy,
        ethical_considerations=spec.ethical_considerations,
        caveats_and_recommendations=spec.caveats_and_recommendations,
        edge_cases=spec.edge_cases,
        provenance=Provenance(
            generated=generated, seed=assessment.seed, predictions=predictions, versions=versions
        ),
    )


def json_schema() -> dict:
    schema = ModelCard.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "model_card.schema.json"
    return schema


SCHEMA_PATH = Path(__file__).parent / "schema" / "model_card.schema.json"
