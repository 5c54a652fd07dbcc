"""`modelcards demo` starts a real Streamlit server that answers on the chosen port."""

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
    """`modelcards demo` on a free loopback port, stopped on exit; yields the port."""
    port = free_port()
    environ = {**os.environ, **env}
    environ.pop("MODELCARDS_DEMO_PASSWORD", None)
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


def test_the_demo_serves_the_app_on_the_requested_host_and_port(demo_server):
    with urllib.request.urlopen(f"http://127.0.0.1:{demo_server}/", timeout=10) as r:
        assert r.status == 200
        assert "<title>" in r.read().decode()
