"""Warnings a model raises while predicting reach the viewer in plain words, per session.

The model is a real registered pipeline whose one-hot encoder warns about categories it
never saw (``handle_unknown="warn"``), the way scikit-learn models warn in the field.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from conftest import new_store, register
from streamlit.testing.v1 import AppTest

from modelcards import Registry, Store, coerce_row, predict_row, score_batch

KNOWN = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
UNKNOWN = {**KNOWN, "employed": "Maybe"}
SAID = (
    "The model met a category it never saw in training and scored it as none of the "
    "categories it knows: read this answer with care."
)


@pytest.fixture
def warns_home(tmp_path, fitted, monkeypatch, empty_store_db):
    """A store holding one version of a pipeline that warns on unknown categories."""
    pipe, train, test = fitted
    model = copy.deepcopy(pipe)
    # The fitted encoder itself: it reads this setting each time it transforms.
    model[0].named_transformers_["onehotencoder"].handle_unknown = "warn"
    home = new_store(tmp_path / "store", empty_store_db)
    register(Registry(home=home), model, train, test, name="warns", alias="champion")
    monkeypatch.setenv("MODELCARDS_HOME", str(home))
    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    return home


def load(home):
    return Registry(home=home).load("models:/warns@champion")


def test_an_unknown_category_is_said_in_plain_words_every_time(warns_home):
    model = load(warns_home)
    for _ in range(2):  # Python shows a warning once per place by default: not here
        got = predict_row(model, coerce_row(model, UNKNOWN))
        assert got.warnings == [SAID]
    assert predict_row(model, coerce_row(model, KNOWN)).warnings == []


def test_a_server_process_says_the_same_warning_to_every_prediction(warns_home):
    # Outside pytest (whose warning capture shows every warning), Python shows a warning
    # once per place: the second session to meet it would hear nothing.
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "from modelcards import Registry, coerce_row, predict_row\n"
        f"m = Registry(home={str(warns_home)!r}).load('models:/warns@champion')\n"
        f"for _ in range(3): print(predict_row(m, coerce_row(m, {UNKNOWN!r})).warnings)\n"
    )
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert out.stdout.splitlines() == [repr([SAID])] * 3, out.stderr[-2000:]


def test_the_prediction_is_the_models_own_while_its_warnings_are_collected(warns_home):
    model = load(warns_home)
    got = predict_row(model, coerce_row(model, UNKNOWN))
    with pytest.warns(UserWarning, match="unknown categories"):
        own = model.model.predict_proba(coerce_row(model, UNKNOWN))[0]
    classes = [str(c) for c in model.model.classes_]
    assert got.probabilities == dict(zip(classes, map(float, own), strict=True))


def test_each_session_hears_only_the_warnings_of_its_own_predictions(warns_home):
    model = load(warns_home)
    start = threading.Barrier(8)

    def session(i: int) -> list[list[str]]:
        start.wait()  # all at once, as sessions on a shared server
        inputs = UNKNOWN if i % 2 else KNOWN
        return [predict_row(model, coerce_row(model, inputs)).warnings for _ in range(20)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(session, range(8)))
    for i, said in enumerate(results):
        assert said == [[SAID] if i % 2 else []] * 20, i


def test_batch_scoring_says_what_the_model_warned(warns_home):
    model = load(warns_home)
    frame = pd.DataFrame([KNOWN, UNKNOWN])
    assert score_batch(model, frame).model_warnings == [SAID]
    assert score_batch(model, pd.DataFrame([KNOWN])).model_warnings == []


def test_try_it_shows_the_models_warning(warns_home):
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('try_it')", default_timeout=90
    )
    link = {"model": "warns", "ref": "@champion", **{f"in_{k}": v for k, v in UNKNOWN.items()}}
    for k, v in link.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception
    assert any(SAID in w.value for w in at.warning), [w.value for w in at.warning]


def test_the_gradio_api_returns_the_models_warnings(warns_home, monkeypatch):
    # Importing the app builds it for this model (when no other test imported it first).
    monkeypatch.setenv("MODELCARDS_GRADIO_MODEL", "models:/warns@champion")
    from gradio_client import Client
    from test_demo_server import free_port

    from apps import gradio_app

    app = gradio_app.build(
        "models:/warns@champion", registry=Registry(home=warns_home), store=Store()
    )
    port = free_port()
    gradio_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert client.predict(**UNKNOWN, api_name="/predict")["warnings"] == [SAID]
        assert client.predict(**KNOWN, api_name="/predict")["warnings"] == []
    finally:
        app.close()
