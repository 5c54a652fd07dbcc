"""The Gradio app: launched on a free local port and driven with gradio_client."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError
from test_demo_server import free_port

from modelcards import explain
from modelcards._predict import coerce_row, predict_row
from modelcards._store import Store

INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
SCRIPT = Path(sys.executable).parent / "modelcards"


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("MODELCARDS_DB_URL", url)
    return url


@pytest.fixture
def served(examples_registry, db_url, monkeypatch):
    """The module's own app, imported as `modelcards demo --ui gradio` imports it."""
    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    from apps import gradio_app

    module = importlib.reload(gradio_app)
    port = free_port()
    module.launch(module.demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield module, Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        module.demo.close()


def test_importing_builds_the_app_without_launching(examples_registry, db_url):
    from apps import gradio_app

    module = importlib.reload(gradio_app)
    assert isinstance(module.demo, gr.Blocks)
    assert not module.demo.is_running
    assert module.demo.model.uri == "models:/arrests-release/1"
    labels = {c.label for c in module.demo.blocks.values() if hasattr(c, "label")}
    # Labels carry the data dictionary's units; sliders stop at its allowed range.
    assert {"year", "age (years)", "employed", "citizen", "checks", "Prediction"} <= labels
    (age,) = [c for c in module.demo.blocks.values() if getattr(c, "label", "") == "age (years)"]
    assert (age.minimum, age.maximum) == (12, 90)
    assert age.info.startswith("Age at arrest.")


def test_a_prediction_equals_the_librarys(served, examples_registry):
    _, client = served
    got = client.predict(**INPUTS, api_name="/predict")
    model = examples_registry.load("models:/arrests-release@champion")
    expected = predict_row(model, coerce_row(model, INPUTS))
    assert got["label"] == expected.label
    meaning = {"Yes": "released with a summons", "No": "held for a bail hearing"}
    assert got["meaning"] == meaning[expected.label]
    assert got["probabilities"] == pytest.approx(expected.probabilities)
    assert (got["version"], got["alias"]) == (1, "champion")


def test_explain_returns_contributions_that_add_up_to_the_prediction(served, examples_registry):
    _, client = served
    got = client.predict(**INPUTS, api_name="/explain")
    model = examples_registry.load("models:/arrests-release@champion")
    expected = explain(model, INPUTS)
    assert got["method"] == "exact_shapley" and got["output"] == "probability"
    assert got["contributions"] == pytest.approx(
        {c.input: c.contribution for c in expected.contributions}
    )
    assert got["baseline"] + sum(got["contributions"].values()) == pytest.approx(
        got["prediction"], abs=1e-9
    )
    assert got["prediction"] == pytest.approx(
        predict_row(model, coerce_row(model, INPUTS)).positive_probability
    )
    assert got["sentence"] == expected.sentence()
    with pytest.raises(AppError, match="Input 'age' 'old' is not a number"):
        client.predict(**{**INPUTS, "age": "old"}, api_name="/explain")


def test_the_edge_cases_are_examples_and_each_runs(served, examples_registry):
    module, client = served
    names = [c.name for c in module.demo.edge_cases]
    assert names[0] == "Young, unemployed, many prior checks" and len(names) == 3
    model = examples_registry.load("models:/arrests-release@champion")
    for case in module.demo.edge_cases:
        got = client.predict(**case.inputs, api_name="/predict")
        assert got["label"] == predict_row(model, coerce_row(model, case.inputs)).label


def test_a_flag_lands_in_the_store_the_streamlit_demo_uses(served, db_url):
    _, client = served
    Store(db_url).add_flag(
        model="arrests-release",
        version=1,
        inputs=INPUTS,
        prediction="No",
        comment="from streamlit",
        app="streamlit",
    )
    got = client.predict(**INPUTS, comment="should be released", api_name="/flag")
    flags = Store(db_url).flags("arrests-release")
    assert [(f["app"], f["comment"]) for f in flags] == [
        ("streamlit", "from streamlit"),
        ("gradio", "should be released"),
    ]
    assert flags[1]["id"] == got["flag"] and flags[1]["inputs"] == INPUTS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"age": "old"}, "Input 'age' 'old' is not a number."),
        ({"age": 19.5}, "Input 'age' 19.5 is not a whole number."),
        # JSON's true was read as 1 prior check.
        ({"checks": True}, "Input 'checks' True is not a number."),
    ],
)
def test_a_mistyped_input_gets_its_message(served, change, message):
    _, client = served
    # AppError carries the app's gr.Error message; a connection failure is another type.
    with pytest.raises(AppError, match=re.escape(message)) as err:
        client.predict(**{**INPUTS, **change}, api_name="/predict")
    assert "Traceback" not in str(err.value)


def test_an_input_left_out_takes_its_documented_default(served, examples_registry):
    _, client = served
    args = {k: v for k, v in INPUTS.items() if k != "age"}
    got = client.predict(**args, api_name="/predict")
    model = examples_registry.load("models:/arrests-release@champion")
    default = model.profile.column("age").default()
    expected = predict_row(model, coerce_row(model, {**INPUTS, "age": default}))
    assert got["probabilities"] == pytest.approx(expected.probabilities)


def test_a_flag_carries_the_answer_expected_and_an_impossible_one_is_refused(served, db_url):
    _, client = served
    with pytest.raises(AppError, match="'Maybe' is not one of the classes"):
        client.predict(**INPUTS, comment="wrong", expected="Maybe", api_name="/flag")
    got = client.predict(**INPUTS, comment="should be released", expected="Yes", api_name="/flag")
    (flag,) = Store(db_url).flags("arrests-release")
    assert flag["id"] == got["flag"] and flag["expected"] == "Yes"


def test_a_flag_without_a_comment_is_refused(served, db_url):
    _, client = served
    with pytest.raises(AppError, match="Say what is wrong"):
        client.predict(**INPUTS, comment=" ", api_name="/flag")
    assert Store(db_url).flags() == []


def test_the_password_is_enforced(examples_registry, db_url, monkeypatch):
    monkeypatch.setenv("MODELCARDS_DEMO_PASSWORD", "s3cret")
    from apps import gradio_app

    app = gradio_app.build()
    port = free_port()
    gradio_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        # Without a password the app answers 401 to the client's first request.
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(f"http://127.0.0.1:{port}/", verbose=False)
        # Gradio refuses a wrong password with a 400, which the client reports as a plain
        # ValueError (an AuthenticationError only for a 401); a connection failure is not one.
        with pytest.raises(
            ValueError, match=re.escape(f"Could not login to http://127.0.0.1:{port}/")
        ):
            Client(f"http://127.0.0.1:{port}/", auth=("anyone", "wrong"), verbose=False)
        client = Client(f"http://127.0.0.1:{port}/", auth=("anyone", "s3cret"), verbose=False)
        assert client.predict(**INPUTS, api_name="/predict")["version"] == 1
    finally:
        app.close()


def test_the_cli_serves_the_chosen_model(examples_home, db_url):
    port = free_port()
    env = {**os.environ, "MODELCARDS_HOME": str(examples_home)}
    env.pop("MODELCARDS_DEMO_PASSWORD", None)
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            "demo",
            "--ui",
            "gradio",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            "models:/arrests-release@challenger",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        client = None
        deadline = time.monotonic() + 90
        while client is None:
            assert proc.poll() is None, proc.stderr.read()
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        got = client.predict(**INPUTS, api_name="/predict")
        assert (got["version"], got["alias"]) == (2, "challenger")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


def test_the_cli_refuses_an_unknown_model_cleanly(examples_home):
    out = subprocess.run(
        [
            str(SCRIPT),
            "demo",
            "--ui",
            "gradio",
            "--port",
            str(free_port()),
            "--model",
            "models:/arrests-release@nope",
        ],
        env={**os.environ, "MODELCARDS_HOME": str(examples_home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "has no alias 'nope'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (1e308, "Input 'age' '1e+308' is outside the allowed range 12 to 90."),
        (2**63, "Input 'age' '9223372036854775808' is outside the allowed range 12 to 90."),
        (-42, "Input 'age' '-42' is outside the allowed range 12 to 90."),
        (95, "Input 'age' '95' is outside the allowed range 12 to 90."),
    ],
)
def test_a_number_outside_its_allowed_range_is_refused_with_the_range(served, age, message):
    _, client = served
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(**{**INPUTS, "age": age}, api_name="/predict")


def test_a_flag_comment_past_the_limit_is_refused_and_not_stored(served, db_url):
    _, client = served
    with pytest.raises(AppError, match="a flag keeps at most 2,000"):
        client.predict(**INPUTS, comment="x" * 10_000_000, api_name="/flag")
    assert Store(db_url).flags() == []


def test_internal_exception_text_never_reaches_a_caller(examples_registry, db_url, monkeypatch):
    import modelcards

    def broken(self, model, values):
        raise RuntimeError("secret internal detail /srv/models")

    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    monkeypatch.setattr(modelcards.DemoService, "predict", broken)
    from apps import gradio_app

    module = importlib.reload(gradio_app)
    port = free_port()
    module.launch(module.demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with pytest.raises(AppError) as err:
            client.predict(**INPUTS, api_name="/predict")
        assert "secret" not in str(err.value) and "/srv/models" not in str(err.value)
    finally:
        module.demo.close()


@pytest.fixture
def short_store_wait(monkeypatch):
    monkeypatch.setenv("MODELCARDS_DB_TIMEOUT", "0.5")  # read when the app opens its store


def test_a_flag_on_a_busy_store_says_busy_and_saves_nothing(short_store_wait, served, db_url):
    import sqlite3

    _, client = served
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holding the write lock
    try:
        with pytest.raises(AppError, match="The feedback store is busy") as err:
            client.predict(**INPUTS, comment="should be released", api_name="/flag")
        assert "Try again in a moment" in str(err.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert Store(db_url).flags() == []


def test_concurrent_predict_calls_run_at_once_and_each_gets_its_own_answer(
    served, examples_registry
):
    module, client = served
    # Gradio runs one call of an event at a time unless told otherwise.
    (predict,) = [f for f in module.demo.fns.values() if f.api_name == "predict"]
    assert predict.concurrency_limit is None
    model = examples_registry.load("models:/arrests-release@champion")
    asked = [{**INPUTS, "age": 15 + i, "checks": i % 7} for i in range(20)]
    jobs = [client.submit(**inputs, api_name="/predict") for inputs in asked]
    for inputs, job in zip(asked, jobs, strict=True):
        got = job.result(timeout=120)
        expected = predict_row(model, coerce_row(model, inputs))
        assert got["label"] == expected.label
        assert got["probabilities"] == pytest.approx(expected.probabilities)


def test_the_api_describes_itself_and_its_own_examples_work(served, examples_registry):
    _, client = served
    info = client.view_api(print_info=False, return_format="dict")
    params = {p["parameter_name"]: p for p in info["named_endpoints"]["/predict"]["parameters"]}
    assert list(params) == ["year", "age", "employed", "citizen", "checks"]
    assert all(p["parameter_has_default"] and p["example_input"] != "..." for p in params.values())
    assert params["employed"]["python_type"]["type"] == "Literal['Yes', 'No']"
    assert params["age"]["type"]["description"] == "Age at arrest; in years; allowed 12 to 90"
    examples = {name: p["example_input"] for name, p in params.items()}
    got = client.predict(**examples, api_name="/predict")
    model = examples_registry.load("models:/arrests-release@champion")
    assert got["label"] == predict_row(model, coerce_row(model, examples)).label


def _raw_call(client: Client, api: str, data: list[object]) -> tuple[str, object]:
    """Gradio's HTTP API without gradio_client, as curl calls it: post the values, then
    read the event stream; its event (``complete`` or ``error``) and data."""
    import json
    from urllib.request import Request, urlopen

    url = f"{client.src.rstrip('/')}/gradio_api/call/{api}"
    body = json.dumps({"data": data}).encode()
    post = Request(url, data=body, headers={"Content-Type": "application/json"})
    with urlopen(post, timeout=60) as resp:
        event_id = json.load(resp)["event_id"]
    with urlopen(f"{url}/{event_id}", timeout=120) as resp:
        stream = resp.read().decode()
    event = re.search(r"^event: (\w+)$", stream, re.M)
    payload = re.search(r"^data: (.*)$", stream, re.M)
    assert event and payload, stream
    return event.group(1), json.loads(payload.group(1))


@pytest.mark.parametrize(
    ("api", "values", "message"),
    [
        ("predict", [2000, 19], "/predict takes 5 values, in this order: year, age, employed, "
         "citizen, checks; 2 were given; missing: employed, citizen, checks."),
        ("predict", [], "0 were given; missing: year, age, employed, citizen, checks."),
        # Gradio dropped the extra value and answered, as if the call were right.
        ("predict", [*INPUTS.values(), 7], "5 values, in this order: year, age, employed, "
         "citizen, checks; 6 were given, 1 too many."),
        ("explain", [2000], "/explain takes 5 values"),
        ("flag", list(INPUTS.values()), "/flag takes 7 values, in this order: year, age, "
         "employed, citizen, checks, comment, expected; 5 were given; missing: comment, expected."),
    ],
    ids=["too-few", "none", "too-many", "explain", "flag-without-comment"],
)  # fmt: skip
def test_a_raw_api_call_with_the_wrong_number_of_values_is_told_which(
    served, db_url, api, values, message
):
    # Gradio's own check answered {"error": null}: nothing to say what was wrong.
    _, client = served
    event, data = _raw_call(client, api, values)
    assert event == "error" and isinstance(data, dict), data
    assert data["error"] == message or message in data["error"], data
    assert Store(db_url).flags("arrests-release") == []  # nothing flagged
    # The same route with the right values answers.
    event, data = _raw_call(client, "predict", list(INPUTS.values()))
    assert event == "complete" and data[0]["label"] in ("Yes", "No"), data
