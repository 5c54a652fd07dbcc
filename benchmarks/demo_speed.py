"""How fast is the demo? Run: `make bench` (or `.venv/bin/python benchmarks/demo_speed.py`).

Prints, from the same run:

* rerun: the Try it page, through Streamlit's AppTest, after one input changes to a value
  it has not had (the prediction, its explanation, charts, warnings, share link and forms
  included), median of --repeat reruns, in wall-clock time and in this process's CPU time
  (``time.process_time``: the figure a busy machine does not inflate);
* bare: the same rerun of a page that holds one number input and calls ``predict`` on
  the same model, and the ratio of the two;
* first run: the Try it page's first run (loading the model from the registry into the
  cache), what the first visitor after a start waits for on top of the start; this
  process has already imported MLflow, which a fresh server does in about a second;
* start: seconds from `modelcards demo` starting to its first page being served (the
  health check answering, then the page's HTML); the server loads the release alias's
  versions before it answers (apps/serve.py);
* first sight: seconds from chromium opening that new server's first page to the page's
  title and the model's name on screen (the server's first HTML carries both, shown
  until Streamlit draws the page: apps/gate.py ``FirstSight``), and to the page drawn
  by Streamlit itself (the model's name with its version).

It registers the example models in a temporary store first.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

BARE = """
import streamlit as st
from modelcards import Registry
from modelcards._predict import coerce_row

@st.cache_resource
def model():
    return Registry().load("models:/arrests-release@champion")

m = model()
age = st.number_input("age", value=21, key="in_age")
row = coerce_row(m, {"year": 2000, "age": age, "employed": "Yes", "citizen": "Yes",
                     "checks": 1})
st.write(m.predict(row)[0])
"""

TRY_IT = "from apps.demo import run_page\nrun_page('try_it')"


def rerun_times(
    source: str, repeat: int, key: str = "in_checks", cpu: list[float] | None = None
) -> tuple[float, list[float]]:
    """The first run's seconds and each rerun's, after ``key`` changes to a new value
    (ages 25, 26, ...: no cache answers from an earlier rerun); each rerun's CPU seconds
    go to ``cpu``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(source, default_timeout=120)
    at.query_params["model"] = "arrests-release"
    at.query_params["ref"] = "@champion"
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    times = []
    for i in range(repeat):
        box = at.number_input(key=key)
        box.set_value(25 + i % 60)
        t, c = time.perf_counter(), time.process_time()
        at.run()
        times.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.process_time() - c)
        assert not at.exception, at.exception
    return first, times


def first_sight(port: int) -> FirstSight:
    """Seconds from a browser opening a new server's first page to the page title and the
    model's name being on screen (Debian's chromium, as in the browser tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        t = time.perf_counter()
        # Not the load event, which waits for every script: what is on screen counts.
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        page.get_by_role("heading", name="Model", exact=True).wait_for(timeout=60_000)
        page.get_by_text("arrests-release", exact=False).first.wait_for(timeout=60_000)
        seen = time.perf_counter() - t
        page.get_by_text("arrests-release · version 1").wait_for(timeout=60_000)
        drawn = time.perf_counter() - t
        browser.close()
    return FirstSight(seen, drawn)


class FirstSight(NamedTuple):
    """Seconds until the title and the model's name are on screen (the server's first
    HTML carries them), and until Streamlit has drawn the page itself."""

    seen: float
    drawn: float


def start_time() -> tuple[float, FirstSight]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(sys.executable).parent / "modelcards"
    t = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "demo", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                if time.perf_counter() - t > 60:
                    raise RuntimeError("the demo did not start within 60 s") from None
                time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            r.read()
        return time.perf_counter() - t, first_sight(port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelcards-bench-") as home:
        os.environ["MODELCARDS_HOME"] = home
        os.environ["MODELCARDS_DB_URL"] = f"sqlite:///{home}/demo.db"
        from modelcards import Registry, register_examples

        register_examples(Registry())
        # Try it keys each input by model version.
        cpu: list[float] = []
        first, times = rerun_times(TRY_IT, args.repeat, "in_age@arrests-release/v1", cpu)
        page = statistics.median(times)
        bare = statistics.median(rerun_times(BARE, args.repeat, "in_age")[1])
        start, sight = start_time()
    print(
        f"{'Try it rerun':>14} {'rerun CPU':>10} {'bare predict':>13} {'ratio':>6} "
        f"{'first run':>10} {'demo start':>11} {'first sight':>12} {'page drawn':>11}"
    )
    print(
        f"{page * 1000:>11.1f} ms {statistics.median(cpu) * 1000:>7.1f} ms "
        f"{bare * 1000:>10.1f} ms {page / bare:>6.2f} "
        f"{first:>8.2f} s {start:>9.2f} s {sight.seen:>10.2f} s {sight.drawn:>9.2f} s"
    )


if __name__ == "__main__":
    main()
