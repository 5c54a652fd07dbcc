"""`modelcards demo` starts a real Streamlit server that runs the app on the chosen port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "modelcards"
WAIT = 90_000  # ms; bounded, yet generous for a first run on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            pytest.fail(f"the demo exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the demo did not answer on port {port} within {timeout}s")


@contextlib.contextmanager
def running_demo(**env):
    """`modelcards demo` on a free loopback port, stopped on exit; yields the port. No
    password unless ``env`` sets one."""
    port = free_port()
    environ = {**os.environ}
    environ.pop("MODELCARDS_DEMO_PASSWORD", None)
    environ.update(env)
    proc = subprocess.Popen(
        [str(SCRIPT), "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_healthy(port, proc)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.fixture
def demo_server(examples_home):
    with running_demo(MODELCARDS_HOME=str(examples_home)) as port:
        yield port


@pytest.mark.browser
def test_the_demo_serves_the_app_on_the_requested_host_and_port(demo_server, page):
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{demo_server}/"
    response = page.goto(base)
    assert response.status == 200
    # Streamlit sends the same HTML shell whatever apps/demo.py does: only what the app's run
    # rendered shows that it works. The first run loads the model and computes its card.
    expect(page.get_by_role("heading", name="Model", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Fairness policy:")).to_be_visible(timeout=WAIT)
    finished = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    expect(finished).to_be_attached(timeout=WAIT)  # so a late error is on the page too
    expect(page).to_have_title("modelcards demo")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Model")).to_have_value("arrests-release")
    expect(sidebar.get_by_role("combobox", name="Alias or version")).to_have_value(
        "@champion, in use"
    )
    expect(page.get_by_test_id("stCaptionContainer").first).to_contain_text(
        "models:/arrests-release/1 (via @champion)"
    )
    expect(page).to_have_url(f"{base}?model=arrests-release&ref=%40champion")
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("Something went wrong").count() == 0


def test_a_new_server_loads_the_models_in_use_before_it_answers(examples_home):
    port = free_port()
    proc = subprocess.Popen(
        [str(SCRIPT), "demo", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "MODELCARDS_HOME": str(examples_home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_healthy(port, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # Logged before the server took its first request: the first visitor finds it loaded.
    assert "preloaded models:/arrests-release@champion" in err, err[-2000:]


def test_the_warm_up_fills_every_cache_the_model_page_reads(examples_registry, monkeypatch):
    from apps import state

    for cached in (state._models, state._resolve, state._load_pinned, state._card):
        cached.clear()
    warmed = state.warm_caches()
    assert warmed == [
        "models:/arrests-release@champion",
        "models:/diabetes-progression@champion",
        "models:/penguin-species@champion",
    ]

    # From now on the first page reads only caches: the registry and the card would fail.
    def computed(*_args, **_kwargs):
        raise AssertionError("computed after the warm-up")

    for name in ("list_models", "resolve", "load"):
        monkeypatch.setattr(state.Registry, name, computed)
    monkeypatch.setattr(state, "generate_card", computed)
    uri = state.registry().tracking_uri
    assert [m.name for m in state._models(uri)] == [
        "arrests-release",
        "diabetes-progression",
        "penguin-species",
    ]
    for ref in warmed:
        model = state.load(ref)
        assert state.card_for(model).card.model_details.name == model.name


def _html(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


@pytest.mark.browser
def test_the_first_html_shows_the_page_title_and_the_model_until_streamlit_draws_it(
    demo_server, page
):
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{demo_server}/"
    html = _html(base + "try?model=diabetes-progression&ref=2")
    assert "<h1>Try it</h1><p>diabetes-progression · version 2 · loading" in html
    assert "<title>modelcards demo</title>" in html
    # The default page lives at "/" only (Streamlit says "Page not found" at /model).
    assert "modelcards-shell" not in _html(base + "model").split("</style>")[-1]
    # A model the demo does not know, or a reference it never makes: no shell, no echo.
    for query in ("model=%3Cscript%3Ex", "model=arrests-release&ref=%3Cb%3E"):
        assert "modelcards-shell" not in _html(f"{base}try?{query}").split("</style>")[-1]
    # Without Streamlit's scripts the shell alone is on screen: it needs nothing to load.
    context = page.context
    context.route("**/static/js/**", lambda route: route.abort())
    page.goto(base, wait_until="commit")
    shell = page.locator("#modelcards-shell")
    expect(shell.get_by_role("heading", name="Model", exact=True)).to_be_visible(timeout=WAIT)
    expect(shell).to_contain_text("arrests-release · @champion, in use")
    context.unroute("**/static/js/**")
    # Once Streamlit has drawn the page, the shell is gone and one heading is left.
    page.goto(base)
    expect(page.get_by_text("arrests-release · version 1")).to_be_visible(timeout=WAIT)
    expect(shell).to_be_hidden()
    expect(page.get_by_role("heading", name="Model", exact=True)).to_have_count(1)


def test_behind_a_password_the_first_html_names_no_model(examples_home):
    with running_demo(MODELCARDS_HOME=str(examples_home), MODELCARDS_DEMO_PASSWORD="s3cret") as p:
        html = _html(f"http://127.0.0.1:{p}/?model=arrests-release")
    assert "modelcards-shell" not in html.split("</style>")[-1]
    assert "arrests-release" not in html
