"""The multiclass example in both apps: every class's probability on Try it, a class
picker on the Fairness audit, class columns in a batch, and Gradio's /predict. Streamlit
pages through AppTest; Gradio launched on a free loopback port."""

from __future__ import annotations

import pytest
from gradio_client import Client
from streamlit.testing.v1 import AppTest
from test_demo_server import free_port

from modelcards import coerce_row, generate_card, predict_row, score_batch

REF = "models:/penguin-species@champion"
CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
INPUTS = {"bill_depth_mm": 18.0, "flipper_length_mm": 195.0, "body_mass_g": 3700.0}


def page(module: str, **query) -> AppTest:
    at = AppTest.from_string(
        f"from apps.demo import run_page\nrun_page({module!r})", default_timeout=90
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def no_failure(at: AppTest) -> None:
    assert not at.exception
    assert not [e for e in at.error if "went wrong" in e.value]


def expected(registry):
    model = registry.load(REF)
    return predict_row(model, coerce_row(model, INPUTS))


def test_try_it_draws_every_class_s_probability(examples_registry):
    at = page(
        "try_it",
        model="penguin-species",
        ref="@champion",
        **{f"in_{k}": v for k, v in INPUTS.items()},
    )
    no_failure(at)
    p = expected(examples_registry)
    assert set(p.probabilities) == set(CLASSES) and p.positive_probability is None
    assert at.metric[0].label == "Prediction" and at.metric[0].value == p.label
    (chart,) = at.get("plotly_chart")
    assert '"orientation":"h"' in chart.proto.spec.replace(" ", "")
    for c in CLASSES:  # one bar per class
        assert f'"{c}"' in chart.proto.spec


def test_what_if_draws_no_decision_threshold_for_a_multiclass_model(examples_registry):
    at = page("what_if", model="penguin-species", ref="@champion")
    no_failure(at)
    sweep = at.get("plotly_chart")[0].proto.spec
    assert "the predicted class" in sweep
    assert "decision threshold" not in sweep  # the likeliest class wins, at no fixed level
    binary = page("what_if", model="arrests-release", ref="@champion")
    assert "decision threshold" in binary.get("plotly_chart")[0].proto.spec


def test_what_if_names_the_class_predicted_along_a_multiclass_sweep(examples_registry):
    # One unnamed curve of "the predicted class" rose again past the flip, now Gentoo's
    # probability, and read as Adelie's growing.
    import json

    from modelcards import sweep, sweep_values

    at = page("what_if", model="penguin-species", ref="@champion",
              **{f"in_{k}": v for k, v in INPUTS.items()})  # fmt: skip
    no_failure(at)
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    model = examples_registry.load(REF)
    curve = sweep(
        model, coerce_row(model, INPUTS), "bill_depth_mm",
        sweep_values(model.profile.column("bill_depth_mm"), current=INPUTS["bill_depth_mm"]),
    )  # fmt: skip
    predicted = list(dict.fromkeys(curve["label"]))
    assert len(predicted) >= 2  # the sweep crosses a flip
    lines = [t for t in traces if t.get("name") != "current input"]
    assert [t["name"] for t in lines] == [f"{c} predicted" for c in predicted]
    for t, c in zip(lines, predicted, strict=True):  # each class's points, and only those
        mine = (curve["label"] == c).to_numpy()
        assert [y is not None for y in t["y"]] == list(mine)


def test_the_fairness_audit_picks_a_class_from_the_link_and_keeps_it_there(examples_registry):
    result = generate_card(model=examples_registry.load(REF))
    at = page("fairness", model="penguin-species", ref="@champion", features="sex")
    no_failure(at)
    assert not at.get("slider")  # no threshold to cut three classes
    (picker,) = [s for s in at.selectbox if s.label == "Class"]
    assert picker.options[1:] == [f"{c} against the rest" for c in CLASSES]
    table = at.dataframe[0].value  # the model as a whole: accuracy and macro averages
    assert "Macro recall" in table.columns and "positives" not in table.columns
    at = page("fairness", model="penguin-species", ref="@champion", features="sex", **{
        "class": "Chinstrap"
    })  # fmt: skip
    no_failure(at)
    assert at.query_params["class"] == "Chinstrap"
    table = at.dataframe[0].value
    one = result.assessment.class_assessment("Chinstrap")
    g = next(x for x in one.groups if x.features == {"sex": "male"})
    e = g.metrics["false_negative_rate"]
    row = table[table["group"] == "sex=male"].iloc[0]
    assert row["False negative rate"].startswith(f"{e.value:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}]")
    # Back to the whole model: the class leaves the link.
    (picker,) = [s for s in at.selectbox if s.label == "Class"]
    at = picker.set_value("(all classes)").run()
    no_failure(at)
    assert "class" not in at.query_params
    # A class the model does not have: said on the page, the whole model shown.
    at = page("fairness", model="penguin-species", ref="@champion", **{"class": "Emperor"})
    no_failure(at)
    assert any("Emperor" in w.value for w in at.warning)


def test_a_batch_gets_a_probability_column_per_class(examples_registry):
    from modelcards._example_penguins import FEATURES, load_penguins_frame

    model = examples_registry.load(REF)
    rows = load_penguins_frame().head(6)
    scored = score_batch(model, rows).scored
    proba = model.model.predict_proba(rows[FEATURES])
    for k, c in enumerate(CLASSES):
        assert scored[f"probability_{c}"].tolist() == pytest.approx(proba[:, k].tolist())
    assert scored["prediction"].tolist() == [str(v) for v in model.predict(rows)]


def test_the_gradio_api_returns_every_class_s_probability(examples_registry, tmp_path, monkeypatch):
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
    p = expected(examples_registry)
    assert got["label"] == p.label and got["reference"] == "models:/penguin-species/1"
    assert got["probabilities"] == pytest.approx(p.probabilities)
    assert sum(got["probabilities"].values()) == pytest.approx(1.0)


def test_what_if_shows_where_a_decision_flips_in_six_digits_that_do_flip_it(examples_registry):
    # 15.257893562316895 (the bisection's last float) was shown as it came.
    at = page("what_if", model="penguin-species", ref="@champion",
              **{f"in_{k}": v for k, v in INPUTS.items()})  # fmt: skip
    no_failure(at)
    flips = at.dataframe[0].value.set_index("feature")
    model = examples_registry.load(REF)
    base = predict_row(model, coerce_row(model, INPUTS)).label
    shown = [f for f in flips.index if "no value" not in flips.loc[f, "flips at"]]
    assert shown
    for feature in shown:
        text = flips.loc[feature, "flips at"]
        assert len(text.replace(".", "").replace("-", "").lstrip("0")) <= 6, text
        flipped = predict_row(model, coerce_row(model, {**INPUTS, feature: float(text)}))
        assert flipped.label != base, (feature, text)
