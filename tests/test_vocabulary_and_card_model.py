"""The metric vocabulary and the card's one declaration: everything else derives from them."""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
import pandas as pd
import pytest

import modelcards as mc
from modelcards import (
    DISPARITIES,
    ERROR_METRICS,
    HEADLINE,
    MACRO_METRICS,
    METRICS,
    RATE_METRICS,
    SCORE_METRICS,
    CardSpec,
    ModelCard,
    metric_definition,
    metric_label,
    written_fields,
)


def test_every_metric_has_a_label_a_definition_a_denominator_and_a_direction():
    labels = [m.label for m in METRICS.values()]
    assert len(set(labels)) == len(labels)
    for m in METRICS.values():
        assert m.label and m.definition.endswith(".") and m.denominator and m.better
    assert list(METRICS) == ["count", *RATE_METRICS, *SCORE_METRICS, *MACRO_METRICS, *ERROR_METRICS]


def test_each_task_reports_its_own_metrics_and_count_is_shared():
    binary = [m.name for m in mc.metric_specs(task="binary")]
    regression = [m.name for m in mc.metric_specs(task="regression")]
    assert binary == ["count", *RATE_METRICS, *SCORE_METRICS]
    assert regression == ["count", *ERROR_METRICS] == mc.REGRESSION_METRICS
    # A ratio of a signed value, or of one that can be negative, means nothing.
    names = mc.disparity_names()
    assert "mean_absolute_error_ratio" in names and "root_mean_squared_error_ratio" in names
    assert "mean_error_difference" in names and "mean_error_ratio" not in names
    assert "r2_score_difference" in names and "r2_score_ratio" not in names


def test_the_vocabulary_selects_fairness_critical_and_overview_metrics():
    assert [m.name for m in mc.metric_specs(key=True, task="binary")] == [
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "false_negative_rate",
        "true_negative_rate",
    ]
    assert [m.name for m in mc.metric_specs(overview=True, task="binary")] == [
        "accuracy_score",
        "balanced_accuracy_score",
        "roc_auc_score",
    ]
    assert [m.name for m in mc.metric_specs(kind="rate", key=False)] == [
        "accuracy_score",
        "balanced_accuracy_score",
        "precision_score",
    ]


def test_the_count_table_arithmetic_computes_exactly_the_vocabulary_s_rate_metrics():
    from modelcards._evaluate import rates

    computed = rates(np.array([3]), np.array([1]), np.array([2]), np.array([4]))
    assert list(computed) == RATE_METRICS


def test_named_disparities_summarise_metrics_of_the_vocabulary():
    for d in DISPARITIES.values():
        assert set(d.metrics) <= set(RATE_METRICS)
        assert metric_label(d.name) == d.label and metric_definition(d.name) == d.definition
    assert HEADLINE == [
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
    ]


def test_an_assessment_reports_only_metrics_of_the_vocabulary():
    data = mc.synthesize(500, seed=0)
    a = mc.assess(
        data["approved"],
        (data["score"] > 0.5).astype(int),
        sensitive_features=data[["sex"]],
        y_score=data["score"],
    )
    assert a.metrics == [m.name for m in mc.metric_specs(task="binary")]
    assert {d.metric for d in a.disparities} <= {*METRICS, *DISPARITIES}


def test_the_spec_has_exactly_the_written_fields_of_the_card():
    spec_paths = set()
    whole = {path for path, _ in written_fields() if "." not in path}  # written as one
    for name, info in CardSpec.model_fields.items():
        sub = getattr(info.annotation, "model_fields", None)
        if sub and name not in whole:
            spec_paths |= {f"{name}.{s}" for s in sub}
        else:
            spec_paths.add(name)
    assert spec_paths == {path for path, _ in written_fields()}


def test_a_new_written_field_reaches_the_spec_the_completeness_report_and_the_schema():
    from pydantic import create_model

    from modelcards import Written, completeness, json_schema, spec_model
    from modelcards._card import _Strict

    Risks = create_model(  # noqa: N806 - a model class
        "Risks", __base__=_Strict, mitigations=(Annotated[list[str], Written()], [])
    )
    Card = create_model(  # noqa: N806
        "Card", __base__=ModelCard, risks=(Risks, Risks())
    )
    spec = spec_model(Card).model_validate({"risks": {"mitigations": "Human review"}})
    assert spec.risks.mitigations == ["Human review"]
    assert ("risks.mitigations", Written()) in list(written_fields(Card))
    assert "risks" in Card.model_json_schema()["properties"]
    assert json_schema()["properties"].keys() <= Card.model_json_schema()["properties"].keys()
    assert callable(completeness)


def test_a_written_value_wins_and_written_lists_come_before_computed_items():
    from modelcards import merge_sections

    merged = merge_sections(
        {"model_details": {"description": None, "owners": ["a"]}, "metrics": {"v": ["mine"]}},
        {"model_details": {"description": "from the registry"}, "metrics": {"v": ["methods"]}},
    )
    assert merged["model_details"] == {"description": "from the registry", "owners": ["a"]}
    assert merged["metrics"]["v"] == ["mine", "methods"]
    given = merge_sections({"d": "written"}, {"d": "computed"})
    assert given == {"d": "written"}


@pytest.mark.parametrize("unknown", [{"intended_uses": []}, {"model_details": {"owner": "x"}}])
def test_an_unknown_spec_key_is_an_error_that_lists_the_known_sections(unknown):
    with pytest.raises(mc.errors.SpecError, match="unknown key") as err:
        mc.parse_spec(unknown)
    assert "intended_use (primary_uses, primary_users, out_of_scope_uses)" in err.value.hint


@pytest.mark.parametrize(
    ("dictionary", "named"),
    [
        ({"inputs": {"age": {"range": [90, 12]}}}, "data_dictionary.inputs.age.range"),
        ({"inputs": {"age": {"range": [0, 1], "levels": ["a"]}}}, "not both"),
        ({"inputs": {"age": {"rnage": [0, 1]}}}, "data_dictionary.inputs.age.rnage"),
        ({"outcome": {"classes": ["Yes"]}}, "data_dictionary.outcome.classes"),
    ],
)
def test_a_bad_data_dictionary_is_refused_naming_the_entry(dictionary, named):
    from modelcards import parse_spec
    from modelcards.errors import SpecError

    with pytest.raises(SpecError, match=re.escape(named)):
        parse_spec({"data_dictionary": dictionary})


def test_the_data_dictionary_decides_allowed_values_everywhere(examples_registry):
    from modelcards import DemoService, Store, input_checker, score_batch
    from modelcards.errors import DataError

    svc = DemoService(examples_registry, Store("sqlite://"))
    model = svc.load("models:/arrests-release@champion")
    row = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
    check = input_checker(model)
    assert [c.warning for c in check({**row, "age": 80})] == [
        "age = 80 lies outside the training range [12, 66]."
    ]
    (refused,) = check({**row, "age": 95})
    assert refused.problem == "Input 'age' '95' is outside the allowed range 12 to 90."
    (refused,) = check({**row, "employed": "Maybe"})
    assert refused.problem == "Input 'employed' 'Maybe' is not one of the allowed values: No, Yes."
    with pytest.raises(DataError, match="outside the allowed range 12 to 90"):
        svc.predict(model, {**row, "age": 95})
    batch = score_batch(model, pd.DataFrame([row, {**row, "checks": 7}]))
    assert batch.problems["problem"].tolist() == [
        "Input 'checks' '7' is outside the allowed range 0 to 6."
    ]
