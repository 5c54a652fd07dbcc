"""The demos' shared service, and the card pipeline's steps called one by one."""

from __future__ import annotations

import pytest

import modelcards as mc
from modelcards import ColumnProfile, SignatureColumn, input_bounds

INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


def numeric(lo: float, hi: float, *, integer: bool = True) -> ColumnProfile:
    return ColumnProfile(
        name="x",
        kind="numeric",
        dtype="int64" if integer else "float64",
        missing_share=0.0,
        min=lo,
        max=hi,
        median=(lo + hi) / 2,
        integer=integer,
    )


@pytest.mark.parametrize(
    ("profile", "kind", "low", "high"),
    [
        (numeric(12, 66), "long", 0, 120),  # ages: widened by the span, not below zero
        (numeric(-5, 5), "double", -15, 15),  # values that may be negative stay so
        (numeric(1997, 2002), "long", 1992, 2007),
        (numeric(3, 3), "long", 2, 4),  # a single training value still leaves room
    ],
)
def test_numeric_inputs_follow_one_rule(profile, kind, low, high):
    b = input_bounds(SignatureColumn("x", kind), profile)
    assert (b.low, b.high) == (low, high)
    assert (b.seen_low, b.seen_high) == (profile.min, profile.max)


def test_an_input_without_a_profile_is_unbounded():
    b = input_bounds(SignatureColumn("x", "double"), None)
    assert (b.low, b.high, b.default) == (None, None, 0)


def test_the_password_is_checked_only_when_one_is_set(monkeypatch):
    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    assert not mc.password_required() and mc.check_password(None)
    monkeypatch.setenv("MODELCARDS_DEMO_PASSWORD", "s3cret")
    assert mc.password_required()
    assert mc.check_password("s3cret")
    assert not mc.check_password("s3cre") and not mc.check_password(None)


@pytest.mark.parametrize(
    ("verdict", "level"),
    [("pass", "success"), ("fail", "error"), ("inconclusive", "warning"), ("none", "info")],
)
def test_each_verdict_has_one_display(verdict, level):
    shown = mc.verdict_display(verdict)
    assert (shown.level, shown.text) == (level, verdict.upper())


def test_edge_cases_come_from_the_spec_then_the_store_and_run_against_the_version(
    examples_registry, tmp_path
):
    svc = mc.DemoService(examples_registry, mc.Store(f"sqlite:///{tmp_path / 'd.db'}"))
    model = svc.load("models:/arrests-release@champion")
    answer = svc.predict(model, INPUTS).label
    svc.save_edge_case(model, INPUTS, name="mine", expected=answer, app="cli")
    svc.save_edge_case(model, {"age": 19}, name="incomplete", app="cli")
    outcomes = svc.run_edge_cases(model)
    spec_names = [c["name"] for c in model.card_spec["edge_cases"]]
    assert [o.case.name for o in outcomes] == [*spec_names, "mine", "incomplete"]
    mine, incomplete = outcomes[-2:]
    assert (mine.actual, mine.as_expected, mine.problem) == (answer, True, None)
    assert incomplete.actual is None and "year" in incomplete.problem
    assert incomplete.as_expected is None


def test_a_flag_stores_the_answer_the_version_gives(examples_registry, tmp_path):
    store = mc.Store(f"sqlite:///{tmp_path / 'd.db'}")
    svc = mc.DemoService(examples_registry, store)
    model = svc.load("models:/arrests-release@champion")
    svc.flag(model, INPUTS, comment="looks wrong", app="gradio")
    (flag,) = store.flags("arrests-release")
    assert flag["prediction"] == svc.predict(model, INPUTS).label
    assert (flag["version"], flag["app"], flag["comment"]) == (1, "gradio", "looks wrong")


def test_the_pipeline_steps_one_by_one_give_generate_card_s_card(examples_registry):
    options = mc.CardOptions(min_group_size=20)
    ref = "models:/arrests-release@challenger"
    source = mc.PredictionSource.choose(model=ref)
    loaded = mc.load_model(source, registry=examples_registry)
    inputs = mc.read_evaluation(None, loaded=loaded, options=options)
    preds = mc.obtain_predictions(source, inputs, loaded=loaded)
    assessment = mc.assess_inputs(inputs, preds, options=options)
    policy = mc.resolve_policy(None, loaded)
    # A candidate's card compares it with the version in use (@champion).
    comparison = mc.compare_with(
        None, loaded, inputs, preds, registry=examples_registry, policy=policy, options=options
    )
    assert comparison is not None
    stepwise = mc.make_card(
        inputs,
        preds,
        assessment,
        policy=policy,
        spec=mc.resolve_spec(None, loaded),
        loaded=loaded,
        comparison=comparison,
    )
    whole = mc.generate_card(model=ref, registry=examples_registry, options=options)
    assert stepwise.card == whole.card
    assert stepwise.policy.verdict == whole.policy.verdict != "none"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Say where the predictions come from"),
        ({"predictions": "p", "scores": "s", "threshold": 0.5}, "cannot be combined"),
        ({"scores": "s"}, "--scores needs --threshold"),
        ({"predictions": "p", "threshold": 0.5}, "--threshold applies to scores"),
        ({"scores": "s", "threshold": float("nan")}, "finite number"),
    ],
)
def test_a_prediction_source_is_exactly_one_of_three(kwargs, message):
    with pytest.raises(mc.errors.DataError, match=message):
        mc.PredictionSource.choose(**kwargs)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"min_group_size": 0}, "--min-group-size"), ({"confidence": 1.0}, "--confidence")],
)
def test_card_options_refuse_impossible_settings(options, message):
    with pytest.raises(mc.errors.DataError, match=message):
        mc.CardOptions(**options)
