"""Every demo page through Streamlit's AppTest, against a real registry and store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from modelcards import Store, coerce_row, explain, generate_card, predict_row

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


def shown(markdown: str) -> str:
    """What a reader sees of escaped Markdown text: the backslashes gone."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def no_failure(at: AppTest) -> None:
    assert not at.exception
    assert not [e for e in at.error if "went wrong" in e.value]


def test_the_router_shows_the_model_page(examples_registry):
    at = AppTest.from_file(APP, default_timeout=90).run()
    no_failure(at)
    assert at.title[0].value == "Model"


def test_the_model_page_opens_on_the_version_in_use_and_labels_aliases_by_role(
    examples_registry,
):
    at = page("home")
    no_failure(at)
    assert at.sidebar.selectbox(key="model").value == "arrests-release"
    picker = at.sidebar.selectbox(key="ref")
    assert picker.options == [
        "@champion, in use",
        "@challenger, candidate",
        "version 2",
        "version 1",
    ]
    assert picker.value == "@champion"
    assert at.subheader[0].value == "arrests-release · version 1"
    assert "via @champion" in at.caption[0].value
    verdicts = [e.value for e in [*at.error, *at.success, *at.warning]]
    assert any("Fairness policy" in v and "policy stored with" in v for v in verdicts)
    assert {m.label for m in at.metric} >= {"Accuracy", "ROC AUC"}


def test_the_model_page_puts_plain_words_next_to_its_numbers(examples_registry):
    from modelcards import METRICS

    at = page("home")
    no_failure(at)
    helps = {m.label: m.proto.help for m in at.metric}
    assert helps["Accuracy"].startswith(METRICS["accuracy_score"].definition)
    # About 83% were released: accuracy flatters the model, and the page says so.
    assert any("accuracy flatters the model" in i.value for i in at.info)
    types = dict(at.dataframe[0].value[["input", "type"]].itertuples(index=False))
    assert types["age"] == "whole number" and types["employed"] == "text"
    rules = [shown(c.value) for c in at.caption if "for every group" in c.value]
    assert any("For every group, the model misses at most" in r for r in rules)


def test_the_release_alias_can_be_named_by_the_environment(examples_registry, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DEFAULT_ALIAS", "challenger")
    at = page("home")
    no_failure(at)
    picker = at.sidebar.selectbox(key="ref")
    assert picker.options[:2] == ["@challenger, in use", "@champion, candidate"]
    assert at.subheader[0].value == "arrests-release · version 2"


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


def test_try_it_explains_the_prediction_with_a_chart_and_a_sentence(examples_registry):
    at = page("try_it", **deep_link())
    no_failure(at)
    model = examples_registry.load("models:/arrests-release@champion")
    why = explain(model, INPUTS)
    markdown = [shown(m.value) for m in at.markdown]
    assert f"**Why this prediction**\n\n{why.sentence()}" in markdown
    assert "checks = 5 pushed it down by" in why.sentence()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = [c for c in charts if c["data"][0].get("base") is not None]
    assert len(bars) == 1 and bars[0]["data"][0]["y"][0] == "checks = 5"
    assert any("add up to this answer" in c.value for c in at.caption)
    # A new input, a new explanation.
    at.number_input(key=key("in_checks", 1)).set_value(0).run()
    sentence = explain(model, {**INPUTS, "checks": 0}).sentence()
    assert any(shown(m.value).endswith(sentence) for m in at.markdown)


def test_inputs_allowed_but_outside_training_are_warned_about(examples_registry):
    # The data dictionary allows ages 12 to 90; training saw 12 to 66.
    at = page("try_it", **deep_link(age=80))
    no_failure(at)
    assert any(
        "age = 80 lies outside the training range [12, 66]" in shown(w.value) for w in at.warning
    )
    assert at.number_input(key=key("in_age", 1)).value == 80


def test_an_unusable_value_in_a_link_is_named_and_replaced(examples_registry):
    at = page("try_it", **deep_link(age="old"))
    no_failure(at)
    assert any(
        "in_age = 'old' is not usable here; 21 is used instead" in shown(w.value)
        for w in at.warning
    )
    assert at.number_input(key=key("in_age", 1)).value == 21


def test_a_fraction_for_a_whole_number_in_a_link_is_named_not_cut(examples_registry):
    # age 33.7 was read as 33 without a word: the link's answer was not its inputs'.
    at = page("try_it", **deep_link(age="33.7"))
    no_failure(at)
    assert any(
        "in_age = '33.7' is not usable here; 21 is used instead" in shown(w.value)
        for w in at.warning
    )
    assert at.number_input(key=key("in_age", 1)).value == 21
    assert page("try_it", **deep_link(age="33.0")).number_input(key=key("in_age", 1)).value == 33


def test_an_unusable_version_pin_in_a_link_says_it_is_ignored(examples_registry):
    at = page("try_it", **deep_link(), v="abc")
    no_failure(at)
    said = [shown(w.value) for w in at.warning]
    assert "The link's v = 'abc' is not usable here; it is ignored." in said
    assert not any("None" in w for w in said)


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


def test_choosing_another_alias_drops_a_links_version_pin(examples_registry):
    at = page("try_it", **deep_link(ref="@challenger"), v=1)
    assert any("made with version 1" in i.value for i in at.info)
    at.sidebar.selectbox(key="ref").select("@champion").run()
    no_failure(at)
    assert not any("made with version" in i.value for i in at.info)
    assert [m.label for m in at.metric] == ["Prediction"]
    assert at.query_params["v"] == "1" and at.query_params["ref"] == "@champion"
    # Back to the candidate: the link now pins the version it shows, not the old one.
    at.sidebar.selectbox(key="ref").select("@challenger").run()
    assert not any("made with version" in i.value for i in at.info)
    assert at.query_params["v"] == "2"


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
    flips = at.dataframe[0].value.set_index("feature")
    assert list(flips.index) == ["year", "age", "employed", "citizen", "checks"]
    model = examples_registry.load("models:/arrests-release@champion")
    base = predict_row(model, coerce_row(model, INPUTS)).label
    flipping = [f for f in flips.index if "no value" not in flips.loc[f, "flips at"]]
    assert flipping, "some input flips this decision"
    for feature in flipping:
        at_value = flips.loc[feature, "flips at"]
        # The value shown really changes the decision...
        assert predict_row(model, coerce_row(model, {**INPUTS, feature: at_value})).label != base
        if feature in ("year", "age", "checks"):  # ...and is the nearest whole number that does
            step = 1 if int(at_value) > INPUTS[feature] else -1
            before = {**INPUTS, feature: int(at_value) - step}
            assert predict_row(model, coerce_row(model, before)).label == base
            assert flips.loc[feature, "change"] == f"{int(at_value) - INPUTS[feature]:+d}"


def test_edge_cases_run_all_compares_expected_and_actual(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    model = examples_registry.load("models:/arrests-release@challenger")
    answer = predict_row(model, coerce_row(model, INPUTS)).label
    wrong = next(c for c in model.classes if c != answer)
    store = Store()
    store.add_edge_case(
        model="arrests-release", name="saved right", inputs=INPUTS, expected=answer, app="test"
    )
    store.add_edge_case(
        model="arrests-release", name="saved wrong", inputs=INPUTS, expected=wrong, app="test"
    )
    at = page("edge_cases", model="arrests-release", ref="@challenger")
    at.button(key="run_all").click().run()
    no_failure(at)
    table = at.dataframe[0].value.set_index("case")
    assert list(table.index)[-2:] == ["saved right", "saved wrong"] and len(table) == 5
    # Every row's verdict is the comparison of its own expected and actual answers.
    for case, row in table.iterrows():
        spec_case = next((c for c in model.card_spec["edge_cases"] if c["name"] == case), None)
        inputs = INPUTS if spec_case is None else spec_case["inputs"]
        actual = predict_row(model, coerce_row(model, inputs)).label
        assert row["actual"] == actual, case
        if row["expected"]:
            assert row["as expected"] == ("yes" if row["expected"] == actual else "NO"), case
    assert table.loc["saved right", "as expected"] == "yes"
    assert table.loc["saved wrong", "as expected"] == "NO"
    judged = (table["as expected"] != "").sum()
    passed = (table["as expected"] == "yes").sum()
    assert at.metric[0].label == "As expected"
    assert at.metric[0].value == f"{passed} of {judged}"


def test_the_fairness_audit_matches_the_card_generator(examples_registry):
    at = page("fairness", model="arrests-release", ref="@challenger")
    no_failure(at)
    at.slider(key=key("audit_threshold", 2)).set_value(0.7).run()
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
    at = page("fairness", model="arrests-release", ref="@challenger")
    at.multiselect(key=key("audit_features", 2)).set_value([]).run()
    assert "Choose at least one sensitive feature" in at.info[0].value


def test_the_card_page_shows_the_chosen_versions_card_and_offers_four_downloads(
    examples_registry,
):
    at = page("card", model="arrests-release", ref="1")
    no_failure(at)
    labels = sorted(b.proto.label for b in at.get("download_button"))
    assert labels == [
        "Download HTML",
        "Download JSON",
        "Download Markdown",
        "Download PDF summary",
    ]
    (frame,) = at.get("iframe")
    html = frame.proto.srcdoc
    assert "<title>Model Card: arrests-release v1</title>" in html
    assert "<code>models:/arrests-release/1</code>" in html
    at.sidebar.selectbox(key="ref").select("2").run()
    (frame,) = at.get("iframe")
    assert "<title>Model Card: arrests-release v2</title>" in frame.proto.srcdoc


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


# -- state belongs to one model version ---------------------------------------------------
SWITCHABLE = (
    "import streamlit as st\n"
    "from apps.demo import run_page\n"
    "run_page(st.session_state.get('test_page', 'try_it'))\n"
)


@pytest.fixture(scope="module")
def two_models_home(tmp_path_factory, fitted, empty_store_db):
    """The example models and a loan model whose inputs share no name with theirs."""
    import os

    from conftest import new_store
    from sklearn.linear_model import LogisticRegression

    from modelcards import Registry, register_examples, synthesize

    home = new_store(tmp_path_factory.mktemp("two-models"), empty_store_db)
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        reg = Registry(home=home)
        register_examples(reg)
        data = synthesize(1_000, seed=0)
        features = ["income", "tenure_years", "credit_lines"]
        reg.register(
            LogisticRegression(max_iter=1000).fit(data[features], data["approved"]),
            name="loan-approval",
            X_train=data[features],
            evaluation=data[[*features, "approved", "sex"]],
            target="approved",
            positive_label=1,
            sensitive_features=["sex"],
            alias="champion",
        )
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return home


def test_what_if_on_another_model_uses_that_models_inputs(two_models_home, monkeypatch):
    monkeypatch.setenv("MODELCARDS_HOME", str(two_models_home))
    at = AppTest.from_string(SWITCHABLE, default_timeout=90)
    for k, v in deep_link().items():
        at.query_params[k] = str(v)
    at.run()
    no_failure(at)
    assert at.metric[0].label == "Prediction"  # Try it on arrests-release
    at.sidebar.selectbox(key="model").select("loan-approval")
    at.session_state["test_page"] = "what_if"
    at.run()
    no_failure(at)
    assert not at.error, [e.value for e in at.error]
    assert at.caption[1].value.startswith("Starting from the inputs on Try it: income = ")
    assert at.selectbox(key=key("whatif_feature", 1, "loan-approval")).options == [
        "income",
        "tenure_years",
        "credit_lines",
    ]


def test_edge_cases_run_for_one_version_do_not_run_by_themselves_for_another(examples_registry):
    at = page("edge_cases", model="arrests-release", ref="@challenger")
    at.button(key="run_all").click().run()
    no_failure(at)
    assert len(at.dataframe) >= 1 and at.metric[0].label == "As expected"
    at.sidebar.selectbox(key="ref").select("1").run()
    no_failure(at)
    # Version 1 has not been run: no results until its own "Run all".
    assert not at.metric and not at.dataframe
    at.button(key="run_all").click().run()
    assert at.metric[0].label == "As expected"


def test_the_fairness_audit_opens_with_the_card_s_plain_summary_and_names_groups(
    examples_registry,
):
    at = page("fairness", model="arrests-release", ref="@challenger")
    no_failure(at)
    model = examples_registry.load("models:/arrests-release@challenger")
    result = generate_card(model=model, threshold=0.5)
    shown = [t.value for t in at.text]
    assert result.card.summary and shown[: len(result.card.summary)] == result.card.summary
    disparities = at.dataframe[1].value
    compared = disparities.loc[
        disparities["disparity"] == "demographic_parity_difference", "groups compared"
    ].iloc[0]
    d = result.assessment.disparity("demographic_parity_difference", "difference", ["colour"])
    assert compared == " vs ".join(f"{c.group} ({c.value:.3f})" for c in d.compared)


def test_a_missing_stored_policy_is_shown_as_the_error_not_as_no_policy(
    tmp_path, monkeypatch, fitted, empty_store_db
):
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from conftest import new_store, register

    from modelcards import Registry

    home = new_store(tmp_path / "store", empty_store_db)
    reg = Registry(home=home)
    pipe, train, test = fitted
    version = register(reg, pipe, train, test, name="gated", alias="champion",
                       policy="checks:\n  - accuracy_score >= 0.5\n")  # fmt: skip
    run_dir = Path(
        url2pathname(urlparse(reg.client.get_run(version.run_id).info.artifact_uri).path)
    )
    (run_dir / "modelcards" / "policy.yaml").unlink()
    monkeypatch.setenv("MODELCARDS_HOME", str(home))
    at = page("home")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("modelcards/policy.yaml" in e and "is missing" in e for e in errors), errors
    assert not any(
        "NONE" in v for v in [*[s.value for s in at.success], *[i.value for i in at.info]]
    )


@pytest.mark.parametrize(
    ("age", "named"),
    [
        ("1e300", "'1e300'"),
        ("inf", "'inf'"),
        ("-42", "'-42'"),
        ("9" * 100_000, "(100,000 characters, cut)"),
    ],
)
def test_a_link_number_that_is_not_finite_or_out_of_range_gives_a_notice_and_a_usable_page(
    examples_registry, age, named
):
    at = page("try_it", **deep_link(age=age))
    no_failure(at)
    notes = [shown(w.value) for w in at.warning]
    assert any("in_age = " in n and named in n and "21 is used instead" in n for n in notes)
    assert at.number_input(key=key("in_age", 1)).value == 21
    assert at.metric[0].label == "Prediction"
    at.run()  # and on every rerun after
    no_failure(at)


def test_hostile_text_in_a_link_is_shown_as_text_never_as_a_link(examples_registry):
    at = page("home", model="[Sign in](http://evil.example)", ref="![x](http://evil.example/p.png)")
    no_failure(at)
    notes = [w.value for w in at.sidebar.warning]
    assert any(
        shown(n).startswith("The link's model = '[Sign in](http://evil.example)'") for n in notes
    )
    for n in notes:  # brackets escaped, addresses broken: no link, image or autolink
        assert "[Sign in](" not in n and "![x](" not in n and "http://" not in n


def test_a_fairness_audit_link_opens_the_same_choices(examples_registry):
    link = {
        "model": "arrests-release",
        "ref": "@challenger",
        "features": "colour",
        "intersection": "0",
        "metrics": "selection_rate,false_negative_rate",
        "threshold": "0.7",
    }
    at = page("fairness", **link)
    no_failure(at)
    assert at.multiselect(key=key("audit_features", 2)).value == ["colour"]
    assert at.multiselect(key=key("audit_metrics", 2)).value == [
        "selection_rate",
        "false_negative_rate",
    ]
    assert at.slider(key=key("audit_threshold", 2)).value == 0.7
    assert any("The model card uses the threshold 0.50" in c.value for c in at.caption)
    assert {k: at.query_params[k] for k in link} == link
    at.slider(key=key("audit_threshold", 2)).set_value(0.5).run()
    assert at.query_params["threshold"] == "0.5"
    assert not any("model card uses the threshold" in c.value for c in at.caption)


def test_a_fairness_link_with_unknown_choices_names_them_and_uses_the_defaults(
    examples_registry,
):
    at = page("fairness", model="arrests-release", ref="@challenger", features="colour,shoe")
    no_failure(at)
    assert any("features" in w.value and "shoe" in w.value for w in at.warning)
    assert at.multiselect(key=key("audit_features", 2)).value == ["colour", "sex", "age_group"]
    # What replaced the link's value reads as words, not as a Python list or True.
    said = [shown(w.value) for w in at.warning]
    assert "The link's features = 'colour,shoe' is not usable here; colour, sex, age_group is " \
        "used instead." in said  # fmt: skip
    at = page("fairness", model="arrests-release", ref="@challenger", intersection="no")
    assert "The link's intersection = 'no' is not usable here; yes is used instead." in [
        shown(w.value) for w in at.warning
    ]


def test_a_what_if_link_opens_the_same_sweep_and_inputs(examples_registry):
    at = page("what_if", **deep_link(age=45), sweep="checks")
    no_failure(at)
    assert at.selectbox(key=key("whatif_feature", 1)).value == "checks"
    assert at.query_params["sweep"] == "checks" and at.query_params["in_age"] == "45"
    assert any("age = 45" in c.value for c in at.caption)


def test_the_data_dictionary_explains_the_inputs_and_the_answer(examples_registry):
    at = page("try_it", **deep_link())
    no_failure(at)
    age = at.number_input(key=key("in_age", 1))
    assert age.label == "age (years)" and age.max == 90 and age.min == 12
    assert age.help.startswith("Age at arrest. (years)")
    label = at.metric[0].value
    meaning = {"Yes": "released with a summons", "No": "held for a bail hearing"}[label]
    assert any(shown(c.value) == f"{label}: {meaning}" for c in at.caption)
    home = page("home")
    table = home.dataframe[0].value.set_index("input")
    assert table.loc["checks", "allowed"] == "0 to 6"
    assert table.loc["employed", "meaning"].startswith("Whether the person had a job")
    rules = [shown(c.value) for c in home.caption if "for every group" in c.value]
    assert any("misses at most" in r and "people released with a summons" in r for r in rules)


@pytest.mark.parametrize(("param", "value"), [("in_age", "95"), ("in_employed", "Maybe")])
def test_a_link_value_outside_the_data_dictionary_is_named_and_replaced(
    examples_registry, param, value
):
    at = page("try_it", **{**deep_link(), param: value})
    no_failure(at)
    assert any(f"{param} = {value!r} is not usable here" in shown(w.value) for w in at.warning)
