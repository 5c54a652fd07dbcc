"""Every demo page through Streamlit's AppTest, against a real registry and store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from modelcards import Store, coerce_row, generate_card, predict_row

APP = str(Path(__file__).resolve().parent.parent / "apps" / "demo.py")
INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


def page(module: str, **query) -> AppTest:
    at = AppTest.from_string(
        f"from apps.demo import run_page\nrun_page({module!r})", default_timeout=90
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def key(name: str, version: int, model: str = "arrests-release") -> str:
    """The session-state key of a widget that belongs to one model version."""
    return f"{name}@{model}/v{version}"


def deep_link(ref="@champion", **inputs):
    values = {**INPUTS, **inputs}
    return {"model": "arrests-release", "ref": ref, **{f"in_{k}": v for k, v in values.items()}}


def no_failure(at: AppTest) -> None:
    assert not at.exception
    assert not [e for e in at.error if "went wrong" in e.value]


def test_the_router_shows_the_model_page(examples_registry):
    at = AppTest.from_file(APP, default_timeout=90).run()
    no_failure(at)
    assert at.title[0].value == "Model"


def test_the_model_page_shows_version_use_metrics_and_verdict(examples_registry):
    at = page("home")
    no_failure(at)
    assert at.sidebar.selectbox(key="model").value == "arrests-release"
    assert at.sidebar.selectbox(key="ref").options == [
        "@challenger",
        "@champion",
        "version 2",
        "version 1",
    ]
    assert at.subheader[0].value == "arrests-release · version 2"
    assert "via @challenger" in at.caption[0].value
    verdicts = [e.value for e in [*at.error, *at.success, *at.warning]]
    assert any("Fairness policy" in v and "policy stored with" in v for v in verdicts)
    assert {m.label for m in at.metric} >= {"Accuracy", "ROC AUC"}


def test_choosing_a_version_updates_the_page_and_the_url(examples_registry):
    at = page("home")
    at.sidebar.selectbox(key="ref").select("1").run()
    assert at.subheader[0].value == "arrests-release · version 1"
    assert at.query_params["ref"] == "1"


def test_an_empty_registry_says_how_to_add_models():
    at = page("home")
    no_failure(at)
    assert "modelcards examples" in at.info[0].value


def test_a_deep_link_reproduces_the_prediction(examples_registry):
    at = page("try_it", **deep_link())
    no_failure(at)
    model = examples_registry.load("models:/arrests-release@champion")
    expected = predict_row(model, coerce_row(model, INPUTS)).label
    assert at.metric[0].label == "Prediction" and at.metric[0].value == expected
    assert at.number_input(key=key("in_age", 1)).value == 19
    link = at.code[0].value
    for k, v in INPUTS.items():
        assert f"in_{k}={v}" in link
    assert "v=1" in link and "ref=%40champion" in link


def test_changing_an_input_reruns_the_prediction_and_the_link(examples_registry):
    at = page("try_it", **deep_link())
    at.number_input(key=key("in_checks", 1)).set_value(0).run()
    model = examples_registry.load("models:/arrests-release@champion")
    expected = predict_row(model, coerce_row(model, {**INPUTS, "checks": 0})).label
    assert at.metric[0].value == expected
    assert at.query_params["in_checks"] == "0"


@pytest.mark.parametrize(
    ("inputs", "warning"),
    [
        ({"checks": 9}, "checks = 9 lies outside the training range"),
        ({"employed": "Maybe"}, "employed = 'Maybe' was never seen in training"),
    ],
)
def test_inputs_outside_training_are_warned_about(examples_registry, inputs, warning):
    at = page("try_it", **deep_link(**inputs))
    no_failure(at)
    assert any(warning in w.value for w in at.warning)


def test_an_unusable_value_in_a_link_is_named_and_replaced(examples_registry):
    at = page("try_it", **deep_link(age="old"))
    no_failure(at)
    assert any(
        "in_age = 'old' is not usable here; 21 is used instead" in w.value for w in at.warning
    )
    assert at.number_input(key=key("in_age", 1)).value == 21


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"model": "gone", "ref": "@champion"}, "model = 'gone'"),
        ({"model": "arrests-release", "ref": "@retired"}, "ref = '@retired'"),
    ],
)
def test_a_link_to_a_model_or_alias_that_is_gone_says_what_is_shown_instead(
    examples_registry, query, named
):
    at = page("home", **query)
    no_failure(at)
    warnings = [w.value for w in at.sidebar.warning]
    assert any(named in w and "is used instead" in w for w in warnings)
    assert at.sidebar.selectbox(key="model").value == "arrests-release"


def test_an_edge_case_needs_a_name(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    at = page("try_it", **deep_link())
    at.button[0].click().run()
    assert any("Give the edge case a name" in e.value for e in at.error)
    assert Store(f"sqlite:///{tmp_path / 'demo.db'}").edge_cases("arrests-release") == []


def test_a_link_pinned_to_another_version_shows_both_answers(examples_registry):
    at = page("try_it", **deep_link(ref="@challenger"), v=1)
    no_failure(at)
    assert any(
        "made with version 1; @challenger now points to version 2" in i.value for i in at.info
    )
    assert [m.label for m in at.metric] == ["Prediction", "Prediction"]


def test_saving_an_edge_case_and_flagging_land_in_the_store(
    examples_registry, tmp_path, monkeypatch
):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    at = page("try_it", **deep_link())
    at.text_input(key="case_name").input("teenager, five checks")
    at.button[0].click().run()  # Save edge case
    assert any("Saved the edge case" in s.value for s in at.success)
    at.text_area(key="flag_try_comment").input("should be released")
    at.button[1].click().run()  # Flag as wrong
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    (case,) = store.edge_cases("arrests-release")
    assert case.name == "teenager, five checks" and case.inputs == INPUTS
    (flag,) = store.flags("arrests-release")
    assert flag["comment"] == "should be released" and flag["app"] == "streamlit"
    assert flag["version"] == 1


def test_a_flag_without_a_comment_is_refused(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    at = page("try_it", **deep_link())
    at.button[1].click().run()
    assert any("Say what is wrong" in e.value for e in at.error)
    assert Store(f"sqlite:///{tmp_path / 'demo.db'}").flags() == []


def test_what_if_sweeps_a_feature_and_finds_decision_flips(examples_registry):
    at = page("what_if", **deep_link())
    no_failure(at)
    at.selectbox(key=key("whatif_feature", 1)).select("checks").run()
    assert len(at.get("plotly_chart")) == 1
    flips = at.dataframe[0].value
    assert list(flips["feature"]) == ["year", "age", "employed", "citizen", "checks"]


def test_edge_cases_run_all_compares_expected_and_actual(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    Store().add_edge_case(
        model="arrests-release", name="saved one", inputs=INPUTS, expected="Yes", app="test"
    )
    at = page("edge_cases")
    at.button(key="run_all").click().run()
    no_failure(at)
    table = at.dataframe[0].value
    assert list(table["case"])[-1] == "saved one" and len(table) == 4
    assert set(table["as expected"]) <= {"yes", "NO"}
    assert at.metric[0].label == "As expected"


def test_the_fairness_audit_matches_the_card_generator(examples_registry):
    at = page("fairness")
    no_failure(at)
    at.slider(key="audit_threshold").set_value(0.7).run()
    at.multiselect(key=key("audit_features", 2)).set_value(["colour"]).run()
    no_failure(at)
    model = examples_registry.load("models:/arrests-release@challenger")
    card = generate_card(model=model, sensitive=["colour"], threshold=0.7)
    table = at.dataframe[0].value
    black = next(g for g in card.assessment.groups if g.features == {"colour": "Black"})
    e = black.metrics["selection_rate"]
    row = table[table["group"] == "colour=Black"].iloc[0]
    assert row["n"] == black.n
    assert row["Selection rate"] == f"{e.value:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]"


def test_the_fairness_audit_needs_a_feature(examples_registry):
    at = page("fairness")
    at.multiselect(key=key("audit_features", 2)).set_value([]).run()
    assert "Choose at least one sensitive feature" in at.info[0].value


def test_the_card_page_offers_three_downloads(examples_registry):
    at = page("card")
    no_failure(at)
    assert len(at.get("download_button")) == 3


def test_with_a_password_only_the_prompt_shows_until_it_is_given(examples_registry, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DEMO_PASSWORD", "s3cret")
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert [t.value for t in at.title] == ["modelcards demo"]
    assert not at.sidebar.selectbox
    at.text_input(key="_password").input("wrong")
    at.button[0].click().run()
    assert "not right" in at.error[0].value and not at.sidebar.selectbox
    at.text_input(key="_password").input("s3cret")
    at.button[0].click().run()
    assert at.title[0].value == "Model"
