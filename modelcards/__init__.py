"""modelcards: Model Cards, fairness audits and stakeholder demos for registered models.

Concepts
--------
Registry
    The MLflow Model Registry: an embedded SQLite store in ``.modelcards/`` (moved by
    ``MODELCARDS_HOME``), or the store or server that ``MLFLOW_TRACKING_URI`` names.
    Models are referenced as ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; an alias
    is always resolved to the exact version, which everything downstream names.
LoadedModel
    A registered version loaded safely (skops, checked against our allow-list), with
    its signature, training-data profile, evaluation split, card spec and policy.
Assessment
    What ``assess`` computes: per-group and intersectional metrics with intervals, and
    disparities. Every metric it reports is described once, in ``METRICS`` (name,
    label, definition, denominator, which direction is better).
The card pipeline
    ``generate_card`` = ``PredictionSource.choose`` -> ``load_model`` ->
    ``read_evaluation`` -> ``obtain_predictions`` -> ``assess_inputs`` -> ``make_card``;
    ``write_card`` renders HTML, Markdown and JSON and moves them into place together.
ModelCard and CardSpec
    The card is data (one declaration per section in ``ModelCard``) plus templates. The
    fields people write form ``CardSpec``; the completeness report and the JSON Schema
    derive from the same declaration.
Policy
    Release checks in YAML; ``Policy.evaluate`` gives pass, fail or inconclusive per check
    from the intervals, and the card's exit code follows the worst.
Store and DemoService
    Edge cases and flags in SQL (SQLite or ``MODELCARDS_DB_URL``), and the rules both
    demos share (password, input bounds, edge-case outcomes, flags, verdict display).
Explanation
    Why one prediction: ``explain`` gives each input's push away from a stated baseline
    (the average answer on a seeded evaluation sample); the pushes add up to the answer.

Example
-------
>>> import modelcards as mc
>>> data = mc.synthesize(1_000, seed=0)
>>> result = mc.generate_card(
...     data=data, target="approved", sensitive=["sex"], scores="score", threshold=0.5,
...     options=mc.CardOptions(min_group_size=50),
... )
>>> [g.features["sex"] for g in result.assessment.groups]
['female', 'male']
>>> result.policy.verdict
'none'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Heavy dependencies (MLflow, scikit-learn, Fairlearn) load on first use, so the CLI
# and `import modelcards` start fast. Public name -> (module, name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    # the registry and loaded models
    **{
        n: ("._registry", n)
        for n in (
            "Registry",
            "ModelRef",
            "LoadedModel",
            "RegisteredModel",
            "RegisteredVersion",
            "SignatureColumn",
        )
    },
    **{n: ("._safe_load", n) for n in ("load_skops", "TRUSTED_TYPES", "TRUSTED_MODULE_PREFIXES")},
    **{n: ("._profile", n) for n in ("Profile", "ColumnProfile", "profile_frame")},
    **{n: ("._data", n) for n in ("read_table", "read_csv_bytes", "require_columns")},
    "synthesize": ("._synth", "synthesize"),
    "register_examples": ("._examples", "register_examples"),
    # the metric vocabulary and the assessment
    **{
        n: ("._metrics", n)
        for n in (
            "METRICS",
            "DISPARITIES",
            "RATE_METRICS",
            "MACRO_METRICS",
            "SCORE_METRICS",
            "ERROR_METRICS",
            "Task",
            "HEADLINE",
            "MetricSpec",
            "DisparitySpec",
            "metric_specs",
            "metric_label",
            "metric_definition",
            "disparity_names",
        )
    },
    **{
        n: ("._evaluate", n)
        for n in (
            "assess",
            "prepare_groups",
            "assess_groups",
            "Assessment",
            "GroupResult",
            "Estimate",
            "Disparity",
            "Groups",
            "ClassAssessment",
            "group_label",
        )
    },
    **{
        n: ("._multiclass", n)
        for n in (
            "assess_multiclass",
            "prepare_multiclass_groups",
            "assess_multiclass_groups",
            "MulticlassGroups",
            "MULTICLASS_METRICS",
        )
    },
    **{
        n: ("._regression", n)
        for n in (
            "assess_regression",
            "prepare_regression_groups",
            "assess_regression_groups",
            "RegressionGroups",
            "REGRESSION_METRICS",
        )
    },
    # the card pipeline
    **{
        n: ("._pipeline", n)
        for n in (
            "PredictionSource",
            "CardOptions",
            "EvaluationInputs",
            "Predictions",
            "CardResult",
            "load_model",
            "resolve_spec",
            "resolve_policy",
            "read_evaluation",
            "obtain_predictions",
            "assess_inputs",
            "make_card",
            "compare_with",
            "generate_card",
            "write_card",
            "registered_metadata",
        )
    },
    # comparing two versions
    **{
        n: ("._compare", n)
        for n in (
            "Comparison",
            "Change",
            "ComparedCheck",
            "ComparisonPolicy",
            "VersionInfo",
            "compare_predictions",
            "compare_versions",
        )
    },
    **{n: ("._compare_render", n) for n in ("write_comparison", "change_sentence", "notable")},
    **{n: ("._charts", n) for n in ("comparison_spec", "comparison_figure")},
    # the card and spec models
    **{
        n: ("._card", n)
        for n in (
            "ModelCard",
            "CardSpec",
            "SpecBase",
            "EdgeCase",
            "Written",
            "build_card",
            "computed_sections",
            "completeness",
            "written_fields",
            "parse_spec",
            "load_spec",
            "json_schema",
        )
    },
    # the policy
    **{
        n: ("._policy", n)
        for n in ("Policy", "PolicyResult", "CheckResult", "load_policy", "parse_policy")
    },
    # rendering, charts and formatting
    **{n: ("._render", n) for n in ("render_html", "render_markdown", "render_json")},
    **{
        n: ("._charts", n)
        for n in (
            "KEY_METRICS",
            "group_metrics_figure",
            "probability_figure",
            "probability_spec",
            "sweep_figure",
        )
    },
    **{
        n: ("._format", n)
        for n in (
            "NOT_PROVIDED",
            "format_count",
            "format_value",
            "format_rate",
            "format_estimate",
            "format_change",
            "markdown_text",
        )
    },
    # predictions, the feedback store and the demos' shared service
    **{
        n: ("._predict", n)
        for n in (
            "Prediction",
            "BatchResult",
            "coerce_row",
            "predict_row",
            "sweep_values",
            "sweep",
            "flip_table",
            "score_batch",
            "csv_safe",
            "MAX_BATCH_ROWS",
            "MAX_UPLOAD_MB",
            "NUMERIC_TYPES",
            "INTEGER_TYPES",
        )
    },
    **{n: ("._store", n) for n in ("Store", "EdgeCaseRecord", "spec_edge_cases")},
    "default_store_url": ("._store", "default_url"),
    **{
        n: ("._service", n)
        for n in (
            "DemoService",
            "EdgeCaseOutcome",
            "InputBounds",
            "VerdictDisplay",
            "check_password",
            "password_required",
            "column_profile",
            "input_bounds",
            "input_default",
            "input_warnings",
            "input_checker",
            "InputCheck",
            "verdict_display",
        )
    },
    "spec_model": ("._card", "spec_model"),
    "merge_sections": ("._card", "merge_sections"),
    "why_undefined": ("._render", "why_undefined"),
    "plain_summary": ("._plain", "plain_summary"),
    "gate_sentence": ("._plain", "gate_sentence"),
    "rule_sentence": ("._plain", "rule_sentence"),
    # the data dictionary
    **{
        n: ("._dictionary", n)
        for n in ("DataDictionary", "InputEntry", "OutcomeEntry", "data_dictionary")
    },
    "outcome_words": ("._plain", "outcome_words"),
    "imbalance_note": ("._plain", "imbalance_note"),
    "type_words": ("._plain", "type_words"),
    # the release review: findings, decisions, sign-offs, reviewers
    **{
        n: ("._findings", n)
        for n in (
            "ReviewState",
            "Reviewer",
            "Finding",
            "FindingLevels",
            "FailedCase",
            "Binding",
            "Decision",
            "Signoff",
            "card_digest",
            "binding_of",
            "review_section",
        )
    },
    **{
        n: ("._review", n)
        for n in ("ReviewBook", "card_for_review", "attach_review", "after_signoff")
    },
    **{
        n: ("._promote", n)
        for n in ("Promotion", "PromotionCheck", "promote", "promotion_check", "promotable")
    },
    # the printable release summary
    **{
        n: ("._summary", n)
        for n in (
            "ReleaseSummary",
            "SummaryCase",
            "SummaryFlag",
            "release_alias",
            "summary_html",
            "summary_pdf",
        )
    },
    "code_span": ("._format", "code_span"),
    "GroupValue": ("._evaluate", "GroupValue"),
    "LeftOut": ("._evaluate", "LeftOut"),
    "disparity_interval": ("._evaluate", "disparity_interval"),
    "rate_intervals": ("._evaluate", "rate_intervals"),
    "metric_phrase": ("._metrics", "metric_phrase"),
    "MAX_COMMENT_CHARS": ("._store", "MAX_COMMENT_CHARS"),
    "check_ranges": ("._service", "check_ranges"),
    # why this prediction
    **{n: ("._explain", n) for n in ("explain", "Explanation", "Contribution")},
    "explanation_figure": ("._charts", "explanation_figure"),
    "explanation_spec": ("._charts", "explanation_spec"),
    # the card published to the registry
    **{n: ("._publish", n) for n in ("PublishedCard", "publish_card", "card_sha256")},
    # team notifications (MODELCARDS_NOTIFY)
    **{n: ("._notify", n) for n in ("notify", "notification_problem")},
    # release tests from stakeholders: edge cases with expected outcomes, `check`
    "CaseResult": ("._check", "CaseResult"),
    "CaseRun": ("._store", "CaseRun"),
    "CaseRunInput": ("._store", "CaseRunInput"),
    "CheckReport": ("._check", "CheckReport"),
    "Expectation": ("._check", "Expectation"),
    "KnownCase": ("._card", "KnownCase"),
    "check_cases": ("._check", "check_cases"),
    "check_version": ("._check", "check_version"),
    "outcome_result": ("._check", "outcome_result"),
    "parse_expected": ("._check", "parse_expected"),
    "run_cases": ("._service", "run_cases"),
    "version_known_cases": ("._pipeline", "version_known_cases"),
}

__all__ = [
    "Assessment",
    "BatchResult",
    "CardOptions",
    "CardResult",
    "CardSpec",
    "Change",
    "CheckResult",
    "ClassAssessment",
    "ColumnProfile",
    "ComparedCheck",
    "Comparison",
    "ComparisonPolicy",
    "Contribution",
    "DISPARITIES",
    "DataDictionary",
    "DemoService",
    "Disparity",
    "DisparitySpec",
    "ERROR_METRICS",
    "EdgeCase",
    "EdgeCaseOutcome",
    "EdgeCaseRecord",
    "Estimate",
    "EvaluationInputs",
    "Explanation",
    "GroupResult",
    "GroupValue",
    "Groups",
    "HEADLINE",
    "INTEGER_TYPES",
    "InputBounds",
    "InputCheck",
    "InputEntry",
    "KEY_METRICS",
    "LeftOut",
    "LoadedModel",
    "MACRO_METRICS",
    "MAX_BATCH_ROWS",
    "MAX_COMMENT_CHARS",
    "MAX_UPLOAD_MB",
    "METRICS",
    "MULTICLASS_METRICS",
    "MetricSpec",
    "ModelCard",
    "ModelRef",
    "MulticlassGroups",
    "NOT_PROVIDED",
    "NUMERIC_TYPES",
    "OutcomeEntry",
    "Policy",
    "PolicyResult",
    "Prediction",
    "PredictionSource",
    "Predictions",
    "Profile",
    "PublishedCard",
    "RATE_METRICS",
    "REGRESSION_METRICS",
    "RegisteredModel",
    "RegisteredVersion",
    "Registry",
    "RegressionGroups",
    "ReleaseSummary",
    "SCORE_METRICS",
    "SignatureColumn",
    "SpecBase",
    "Store",
    "ReviewBook",
    "ReviewState",
    "Reviewer",
    "Finding",
    "FindingLevels",
    "FailedCase",
    "Binding",
    "Decision",
    "Signoff",
    "card_digest",
    "binding_of",
    "card_for_review",
    "review_section",
    "attach_review",
    "after_signoff",
    "Promotion",
    "PromotionCheck",
    "promote",
    "promotion_check",
    "promotable",
    "SummaryCase",
    "SummaryFlag",
    "TRUSTED_MODULE_PREFIXES",
    "TRUSTED_TYPES",
    "Task",
    "VerdictDisplay",
    "VersionInfo",
    "Written",
    "__version__",
    "assess",
    "assess_groups",
    "assess_inputs",
    "assess_multiclass",
    "assess_multiclass_groups",
    "assess_regression",
    "assess_regression_groups",
    "build_card",
    "card_sha256",
    "change_sentence",
    "check_password",
    "check_ranges",
    "code_span",
    "coerce_row",
    "column_profile",
    "compare_predictions",
    "compare_versions",
    "compare_with",
    "comparison_figure",
    "comparison_spec",
    "completeness",
    "computed_sections",
    "csv_safe",
    "data_dictionary",
    "default_store_url",
    "disparity_interval",
    "disparity_names",
    "errors",
    "explain",
    "explanation_figure",
    "explanation_spec",
    "flip_table",
    "format_change",
    "format_count",
    "format_estimate",
    "format_rate",
    "format_value",
    "gate_sentence",
    "generate_card",
    "group_label",
    "group_metrics_figure",
    "imbalance_note",
    "input_bounds",
    "input_checker",
    "input_default",
    "input_warnings",
    "json_schema",
    "load_model",
    "load_policy",
    "load_skops",
    "load_spec",
    "make_card",
    "markdown_text",
    "merge_sections",
    "metric_definition",
    "metric_label",
    "metric_phrase",
    "metric_specs",
    "notification_problem",
    "notify",
    "notable",
    "obtain_predictions",
    "outcome_words",
    "parse_policy",
    "parse_spec",
    "password_required",
    "plain_summary",
    "predict_row",
    "prepare_groups",
    "prepare_multiclass_groups",
    "prepare_regression_groups",
    "probability_figure",
    "probability_spec",
    "profile_frame",
    "publish_card",
    "rate_intervals",
    "read_csv_bytes",
    "read_evaluation",
    "read_table",
    "register_examples",
    "registered_metadata",
    "release_alias",
    "render_html",
    "render_json",
    "render_markdown",
    "require_columns",
    "resolve_policy",
    "resolve_spec",
    "rule_sentence",
    "score_batch",
    "spec_edge_cases",
    "spec_model",
    "summary_html",
    "summary_pdf",
    "sweep",
    "sweep_figure",
    "sweep_values",
    "synthesize",
    "type_words",
    "verdict_display",
    "why_undefined",
    "write_card",
    "write_comparison",
    "written_fields",
    "CaseResult",
    "CaseRun",
    "CaseRunInput",
    "CheckReport",
    "Expectation",
    "KnownCase",
    "check_cases",
    "check_version",
    "outcome_result",
    "parse_expected",
    "run_cases",
    "version_known_cases",
]

if TYPE_CHECKING:  # pragma: no cover
    from . import errors
    from ._card import (
        CardSpec,
        EdgeCase,
        KnownCase,
        ModelCard,
        SpecBase,
        Written,
        build_card,
        completeness,
        computed_sections,
        json_schema,
        load_spec,
        merge_sections,
        parse_spec,
        spec_model,
        written_fields,
    )
    from ._charts import (
        KEY_METRICS,
        comparison_figure,
        comparison_spec,
        explanation_figure,
        explanation_spec,
        group_metrics_figure,
        probability_figure,
        probability_spec,
        sweep_figure,
    )
    from ._check import (
        CaseResult,
        CheckReport,
        Expectation,
        check_cases,
        check_version,
        outcome_result,
        parse_expected,
    )
    from ._compare import (
        Change,
        ComparedCheck,
        Comparison,
        ComparisonPolicy,
        VersionInfo,
        compare_predictions,
        compare_versions,
    )
    from ._compare_render import change_sentence, notable, write_comparison
    from ._data import read_csv_bytes, read_table, require_columns
    from ._dictionary import DataDictionary, InputEntry, OutcomeEntry, data_dictionary
    from ._evaluate import (
        Assessment,
        ClassAssessment,
        Disparity,
        Estimate,
        GroupResult,
        Groups,
        GroupValue,
        LeftOut,
        assess,
        assess_groups,
        disparity_interval,
        group_label,
        prepare_groups,
        rate_intervals,
    )
    from ._examples import register_examples
    from ._explain import Contribution, Explanation, explain
    from ._findings import (
        Binding,
        Decision,
        FailedCase,
        Finding,
        FindingLevels,
        Reviewer,
        ReviewState,
        Signoff,
        binding_of,
        card_digest,
        review_section,
    )
    from ._format import (
        NOT_PROVIDED,
        code_span,
        format_change,
        format_count,
        format_estimate,
        format_rate,
        format_value,
        markdown_text,
    )
    from ._metrics import (
        DISPARITIES,
        ERROR_METRICS,
        HEADLINE,
        MACRO_METRICS,
        METRICS,
        RATE_METRICS,
        SCORE_METRICS,
        DisparitySpec,
        MetricSpec,
        Task,
        disparity_names,
        metric_definition,
        metric_label,
        metric_phrase,
        metric_specs,
    )
    from ._multiclass import (
        MULTICLASS_METRICS,
        MulticlassGroups,
        assess_multiclass,
        assess_multiclass_groups,
        prepare_multiclass_groups,
    )
    from ._notify import notification_problem, notify
    from ._pipeline import (
        CardOptions,
        CardResult,
        EvaluationInputs,
        Predictions,
        PredictionSource,
        assess_inputs,
        compare_with,
        generate_card,
        load_model,
        make_card,
        obtain_predictions,
        read_evaluation,
        registered_metadata,
        resolve_policy,
        resolve_spec,
        version_known_cases,
        write_card,
    )
    from ._plain import (
        gate_sentence,
        imbalance_note,
        outcome_words,
        plain_summary,
        rule_sentence,
        type_words,
    )
    from ._policy import CheckResult, Policy, PolicyResult, load_policy, parse_policy
    from ._predict import (
        INTEGER_TYPES,
        MAX_BATCH_ROWS,
        MAX_UPLOAD_MB,
        NUMERIC_TYPES,
        BatchResult,
        Prediction,
        coerce_row,
        csv_safe,
        flip_table,
        predict_row,
        score_batch,
        sweep,
        sweep_values,
    )
    from ._profile import ColumnProfile, Profile, profile_frame
    from ._promote import Promotion, PromotionCheck, promotable, promote, promotion_check
    from ._publish import PublishedCard, card_sha256, publish_card
    from ._registry import (
        LoadedModel,
        ModelRef,
        RegisteredModel,
        RegisteredVersion,
        Registry,
        SignatureColumn,
    )
    from ._regression import (
        REGRESSION_METRICS,
        RegressionGroups,
        assess_regression,
        assess_regression_groups,
        prepare_regression_groups,
    )
    from ._render import render_html, render_json, render_markdown, why_undefined
    from ._review import ReviewBook, after_signoff, attach_review, card_for_review
    from ._safe_load import TRUSTED_MODULE_PREFIXES, TRUSTED_TYPES, load_skops
    from ._service import (
        DemoService,
        EdgeCaseOutcome,
        InputBounds,
        InputCheck,
        VerdictDisplay,
        check_password,
        check_ranges,
        column_profile,
        input_bounds,
        input_checker,
        input_default,
        input_warnings,
        password_required,
        run_cases,
        verdict_display,
    )
    from ._store import (
        MAX_COMMENT_CHARS,
        CaseRun,
        CaseRunInput,
        EdgeCaseRecord,
        Store,
        spec_edge_cases,
    )
    from ._store import default_url as default_store_url
    from ._summary import (
        ReleaseSummary,
        SummaryCase,
        SummaryFlag,
        release_alias,
        summary_html,
        summary_pdf,
    )
    from ._synth import synthesize


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module(".errors", __name__)
    found = _EXPORTS.get(name)
    if found is None:
        raise AttributeError(f"module 'modelcards' has no attribute {name!r}")
    value = getattr(importlib.import_module(found[0], __name__), found[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
