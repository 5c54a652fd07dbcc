"""The regression example in both apps: a number instead of a class, error metrics in
the audit. Streamlit pages through AppTest; Gradio launched on a free loopback port."""

from __future__ import annotations

import pytest
from gradio_client import Client
from streamlit.testing.v1 import AppTest
from test_demo_server import free_port

from modelcards import coerce_row, generate_card, predict_row

REF = "models:/diabetes-progression@champion"
INPUTS = {
    "age": 50.0,
    "bmi": 30.0,
    "bp": 95.0,
    "s1": 190.0,
    "s2": 115.0,
    "s3": 48.0,
    "s4": 4.0,
    "s5": 4.6,
    "s6": 91.0,
}


def page(module: str, **query) -> AppTest:
    at = AppTest.from_string(
        f"from apps.demo import run_page\nrun_page({module!r})", default_timeout=90
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def link() -> dict[str, object]:
    return {
        "model": "diabetes-progression",
        "ref": "@champion",
        **{f"in_{k}": v for k, v in INPUTS.items()},
    }


def no_failure(at: AppTest) -> None:
    assert not at.exception
    assert not [e for e in at.error if "went wrong" in e.value]


def expected_value(registry) -> float:
    model = registry.load(REF)
    p = predict_row(model, coerce_row(model, INPUTS))
    assert p.value is not None and p.probabilities == {}
    return p.value


def test_try_it_shows_the_predicted_number(examples_registry):
    at = page("try_it", **link())
    no_failure(at)
    value = expected_value(examples_registry)
    assert at.metric[0].label == "Prediction" and float(at.metric[0].value) == pytest.approx(
        value, rel=1e-5
    )
    assert not at.get("plotly_chart")  # no class probabilities to draw


def test_what_if_sweeps_the_predicted_number_and_has_no_decision_to_flip(examples_registry):
    at = page("what_if", **link())
    no_failure(at)
    assert len(at.get("plotly_chart")) == 1
    assert not at.dataframe
    assert any("no decision to flip" in c.value for c in at.caption)


def test_the_model_page_shows_the_regression_s_overall_errors(examples_registry):
    at = page("home", model="diabetes-progression", ref="@champion")
    no_failure(at)
    labels = {m.label for m in at.metric}
    assert {"Predicts", "Mean absolute error", "R²"} <= labels
    assert "Positive class" not in labels


def test_the_fairness_audit_shows_error_metrics_equal_to_the_card(examples_registry):
    at = page("fairness", model="diabetes-progression", ref="@champion")
    no_failure(at)
    assert not at.get("slider")  # no threshold to cut a regression's output
    result = generate_card(model=examples_registry.load(REF))
    table = at.dataframe[0].value
    assert "positives" not in table.columns
    g = next(x for x in result.assessment.groups if x.features == {"sex": "1"})
    e = g.metrics["mean_absolute_error"]
    row = table[table["group"] == "sex=1"].iloc[0]
    assert row["n"] == g.n
    assert row["Mean absolute error"] == f"{e.value:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]"


def test_the_gradio_api_returns_the_predicted_number(examples_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    from apps import gradio_app

    app = gradio_app.build(REF)
    port = free_port()
    gradio_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        got = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            **INPUTS, api_name="/predict"
        )
    finally:
        app.close()
    assert got["value"] == pytest.approx(expected_value(examples_registry))
    assert got["probabilities"] == {} and got["reference"] == "models:/diabetes-progression/1"


def test_batch_scoring_keeps_a_regression_s_predictions_as_numbers(examples_registry):
    from modelcards import score_batch
    from modelcards._example_diabetes import load_diabetes_frame

    model = examples_registry.load(REF)
    rows = load_diabetes_frame().head(5)
    scored = score_batch(model, rows).scored
    assert scored["prediction"].dtype == float
    assert scored["prediction"].tolist() == pytest.approx(model.predict(rows).tolist())


@pytest.mark.browser
def test_a_batch_upload_for_a_regression_shows_per_group_errors(page, examples_home, tmp_path):
    from test_demo_server import running_demo

    from modelcards._example_diabetes import FEATURES, SENSITIVE, TARGET, load_diabetes_frame

    rows = load_diabetes_frame().head(80)
    rows[[*FEATURES, TARGET, *SENSITIVE]].to_csv(tmp_path / "batch.csv", index=False)
    db = tmp_path / "demo.db"
    with running_demo(
        MODELCARDS_HOME=str(examples_home), MODELCARDS_DB_URL=f"sqlite:///{db}"
    ) as port:
        page.goto(f"http://127.0.0.1:{port}/batch?model=diabetes-progression&ref=%40champion")
        page.get_by_text("Columns the model needs").wait_for(timeout=90_000)
        page.locator('input[type="file"]').set_input_files(str(tmp_path / "batch.csv"))
        page.get_by_text("Scored 80 of 80 rows").wait_for()
        page.get_by_text("Per-group metrics on this file").wait_for()
        page.get_by_text("By sex").first.wait_for()  # the group tables were drawn
        assert page.get_by_text("went wrong").count() == 0
        assert page.get_by_text("binary classification only").count() == 0


def test_a_regression_s_edge_case_shows_its_number_and_is_not_judged(examples_registry, tmp_path):
    from modelcards import DemoService, Store

    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    store.add_edge_case(
        model="diabetes-progression", name="typical", inputs=INPUTS, expected="150", app="test"
    )
    model = examples_registry.load(REF)
    (outcome,) = DemoService(examples_registry, store).run_edge_cases(model)
    # An exact match of a predicted number is luck: the case shows it, without a verdict.
    assert float(outcome.actual) == pytest.approx(expected_value(examples_registry), rel=1e-5)
    assert outcome.as_expected is None
