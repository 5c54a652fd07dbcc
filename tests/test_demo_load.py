"""The load benchmark's client (benchmarks/demo_load.py) against a real demo server:
a behaviour check that the harness works, with no timing asserts (speed is for the
benchmark itself)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "demo_load.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("demo_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_load_client_loads_try_it_and_times_each_rerun_of_a_changed_input(
    examples_home, tmp_path
):
    bench = load_bench()
    env = {k: v for k, v in os.environ.items() if k not in bench.ISOLATE}
    env |= {
        "MODELCARDS_HOME": str(examples_home),
        "MODELCARDS_DB_URL": f"sqlite:///{tmp_path}/d.db",
    }
    with bench.serving(health="/_stcore/health", env=env) as (pid, port):
        level = asyncio.run(bench.streamlit_level(port, pid, sessions=1, reruns=2, timeout=90))
    # Each rerun was answered, and its page's link carries the value the client set.
    assert level.errors == []
    assert len(level.times) == 2 and all(t > 0 for t in level.times)
    assert len(level.first_pages) == 1
    assert level.rss_mb > 0
