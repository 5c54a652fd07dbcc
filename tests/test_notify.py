"""Team notifications (MODELCARDS_NOTIFY) against a real HTTP receiver on loopback."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import new_store, register

from modelcards import DemoService, Registry, Store

SCRIPT = Path(sys.executable).parent / "modelcards"
PASSING = "checks:\n  - accuracy_score >= 0.5\n"
FAILING = "checks:\n  - accuracy_score >= 0.99\n"


class Receiver:
    """A JSON webhook on a free loopback port that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def titles(self) -> list[str]:
        return [r["title"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"json://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory, fitted, empty_store_db) -> Registry:
    """models:/m/1, whose stored policy passes, and models:/m/2, whose policy fails."""
    registry = Registry(home=new_store(tmp_path_factory.mktemp("notify"), empty_store_db))
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="champion", policy=PASSING)
    register(registry, pipe, train, test, alias="challenger", policy=FAILING)
    return registry


def card(registry: Registry, ref: str, out: Path, notify: str, *extra: str):
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry.tracking_uri, "MODELCARDS_NOTIFY": notify}
    return subprocess.run(
        [str(SCRIPT), "card", "--model", ref, "--out", str(out), *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_the_card_command_tells_the_team_the_verdict_and_a_failed_gate(
    two_versions, receiver, tmp_path
):
    out = card(two_versions, "models:/m/2", tmp_path / "c", receiver.url, "--publish")
    assert out.returncode == 1, out.stderr
    assert receiver.titles() == [
        "[modelcards] card generated: m v2, release gate FAIL",
        "[modelcards] release gate did not pass: m v2 (FAIL)",
        "[modelcards] sign-off requested: m v2",  # a published card awaits its review
    ]
    generated, failed, requested = receiver.received
    assert "Its sign-off is none; the gate is fail." in requested["message"]
    assert "modelcards review models:/m/2" in requested["message"]
    assert "The largest gap is in" in generated["message"]
    assert "Published with models:/m/2: run artifacts modelcards/card/" in generated["message"]
    assert "fail: accuracy_score >= 0.99" in failed["message"]
    assert failed["type"] == "failure"
    out = card(two_versions, "models:/m/1", tmp_path / "c", receiver.url)
    assert out.returncode == 0, out.stderr
    assert receiver.titles()[3:] == ["[modelcards] card generated: m v1, release gate PASS"]
    assert "Not published to the registry." in receiver.received[3]["message"]


@pytest.mark.parametrize(("ref", "code"), [("models:/m/1", 0), ("models:/m/2", 1)])
def test_a_dead_receiver_is_said_once_and_the_exit_code_still_follows_the_gate(
    two_versions, dead_url, tmp_path, ref, code
):
    out = card(two_versions, ref, tmp_path / "c", dead_url)
    assert out.returncode == code, out.stderr
    said = [line for line in out.stderr.splitlines() if "notification" in line]
    assert len(said) == 1, out.stderr
    assert said[0].startswith("Note: a notification (card generated) was not delivered")
    assert "Traceback" not in out.stderr
    assert (tmp_path / "c" / "model_card.json").exists()


def test_a_new_stakeholder_flag_tells_the_team(two_versions, receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_NOTIFY", receiver.url)
    service = DemoService(two_versions, Store(f"sqlite:///{tmp_path / 'demo.db'}"))
    model = service.load("models:/m@champion")
    inputs = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
    service.flag(model, inputs, comment="Five checks should not mean release.", app="gradio")
    (sent,) = receiver.received
    assert sent["title"].startswith("[modelcards] new stakeholder flag: m v1 answered ")
    assert "Five checks should not mean release." in sent["message"]
    assert "checks=5" in sent["message"] and "gradio app" in sent["message"]
    assert service.store.flags("m")  # stored as before


def test_sign_off_and_promotion_reach_the_team(receiver, monkeypatch):
    from modelcards._notify import (
        notify_alias_promoted,
        notify_signoff_given,
        notify_signoff_requested,
    )

    monkeypatch.setenv("MODELCARDS_NOTIFY", f"{receiver.url} , {receiver.url}")  # two services
    notify_signoff_requested(model="m", version=2, requested_by="ana", note="Ready for review.")
    notify_signoff_given(model="m", version=2, decision="approve", reviewer="bo", note="Fine.")
    notify_alias_promoted(model="m", alias="champion", version=2, previous=1, by="ci")
    assert receiver.titles() == [
        "[modelcards] sign-off requested: m v2",
        "[modelcards] sign-off requested: m v2",
        "[modelcards] sign-off given: m v2 approved by bo",
        "[modelcards] sign-off given: m v2 approved by bo",
        "[modelcards] alias promoted: m @champion -> v2",
        "[modelcards] alias promoted: m @champion -> v2",
    ]
    promoted = receiver.received[-1]["message"]
    assert "@champion now points to models:/m/2 (was version 1)." in promoted


def test_a_url_apprise_does_not_know_is_said_once_without_its_secret_and_never_raises():
    code = (
        "from modelcards import notify\n"
        "print(notify('card_generated', title='t', body='b'))\n"
        "print(notify('gate_failed', title='t', body='b'))\n"
    )
    env = {**os.environ, "MODELCARDS_NOTIFY": "nosuchservice://s3cret-token@host/"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["failed", "failed"]
    (said,) = out.stderr.strip().splitlines()
    assert "MODELCARDS_NOTIFY holds 1 URL(s) Apprise does not understand" in said
    assert "nosuchservice://..." in said and "s3cret" not in said


def test_without_the_setting_nothing_is_sent_and_apprise_is_not_loaded():
    code = (
        "import sys\n"
        "from modelcards import notify\n"
        "print(notify('flag_added', title='t', body='b'), 'apprise' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MODELCARDS_NOTIFY"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.split() == ["off", "False"], out.stderr
