"""A registry that does not answer is said as such, within bounded waits, never as "no
model registered": a real closed port (connection refused) and a real silent server (a
loopback socket that accepts and never answers), over HTTP and as a PostgreSQL URI."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

SCRIPT = Path(sys.executable).parent / "modelcards"


@pytest.fixture
def http_env(monkeypatch):
    """MLflow's HTTP variables, put back as they were after the test: a Registry for an
    http:// URI fills in the ones not set, for the whole process."""
    from modelcards._registry import HTTP_DEFAULTS

    for name in HTTP_DEFAULTS:
        monkeypatch.setenv(name, os.environ.get(name, ""))  # recorded for the undo
        monkeypatch.delenv(name)


@pytest.fixture
def dead_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_server():
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def cli(*args: str, uri: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, **env},
        timeout=120,  # a guard against hanging for minutes, not a speed check
    )


def said_unreachable(out: subprocess.CompletedProcess[str], url: str, reason: str) -> None:
    assert out.returncode == 2, out.stderr
    assert f"Error: Cannot reach the registry at {url}: {reason}" in out.stderr
    assert "Hint: Check that" in out.stderr
    assert "Traceback" not in out.stderr and "No registered models" not in out.stdout


def test_models_on_a_dead_registry_port_says_it_cannot_reach_it(dead_port):
    url = f"http://127.0.0.1:{dead_port}"
    out = cli("models", uri=url)
    said_unreachable(out, url, "connection refused")
    # Our bounds, as the user did not set MLflow's variables.
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT=4 s" in out.stderr
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES=1 time(s)" in out.stderr


def test_a_card_from_a_silent_registry_gives_up_after_the_timeout_and_writes_nothing(tmp_path):
    with silent_server() as port:
        url = f"http://127.0.0.1:{port}"
        out = cli(
            "card",
            "--model",
            "models:/arrests-release@champion",
            "--out",
            str(tmp_path / "card"),
            uri=url,
            MLFLOW_HTTP_REQUEST_TIMEOUT="1",  # the user's setting wins over ours
        )
    said_unreachable(out, url, "no answer within 1 s, tried 2 times")
    assert not (tmp_path / "card").exists()


def test_a_database_registry_that_never_answers_is_bounded_by_connect_timeout():
    with silent_server() as port:
        url = f"postgresql+psycopg://mlflow:secret@127.0.0.1:{port}/mlflow?connect_timeout=2"
        out = cli("models", uri=url)
    shown = url.replace(":secret@", ":***@")
    said_unreachable(out, shown, "no answer within 2 s")
    assert "secret" not in out.stderr


def test_a_database_registry_on_a_dead_port_says_it_cannot_reach_it(dead_port):
    url = f"postgresql+psycopg://mlflow@127.0.0.1:{dead_port}/mlflow"
    said_unreachable(cli("models", uri=url), url, "connection refused")


def test_the_gradio_command_on_a_dead_registry_exits_2_without_announcing_serving(dead_port):
    url = f"http://127.0.0.1:{dead_port}"
    out = cli("demo", "--ui", "gradio", "--port", str(dead_port), uri=url)
    said_unreachable(out, url, "connection refused")
    assert "Serving" not in out.stderr


def test_the_demo_says_it_cannot_reach_the_registry_not_that_no_model_is_registered(
    dead_port, monkeypatch, http_env
):
    url = f"http://127.0.0.1:{dead_port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('try_it')", default_timeout=90
    ).run()
    assert not at.exception
    errors = [e.value.replace("\u200b", "") for e in at.error]
    assert any(f"Cannot reach the registry at {url}" in e for e in errors), errors
    assert not [i for i in at.info if "No model is registered" in i.value]
    assert not [e for e in errors if "went wrong" in e]


def test_the_registry_sets_mlflow_http_bounds_only_where_the_user_set_none(monkeypatch, http_env):
    from modelcards import Registry

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    Registry("http://127.0.0.1:1")
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "1"


def test_a_database_registry_that_answers_with_a_refusal_is_not_called_unreachable(
    postgres_url,
):
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    out = cli("models", uri=url)
    assert out.returncode == 2, out.stderr
    assert f"Error: The registry database at {url} refused the connection" in out.stderr
    assert 'database "no_such_db" does not exist' in out.stderr
    assert "Cannot reach" not in out.stderr and "Traceback" not in out.stderr
