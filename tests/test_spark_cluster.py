"""A card on a real standalone Spark cluster on loopback: a master and two workers started
from the pyspark package's own scripts, each worker with one core."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pyspark
import pytest
from conftest import register

from modelcards import generate_card
from modelcards._render import render_json

SCRIPT = Path(sys.executable).parent / "modelcards"
SPARK_HOME = Path(pyspark.__file__).resolve().parent
SPARK_CLASS = SPARK_HOME / "bin" / "spark-class"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def master_state(webui: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=5) as r:
        return json.load(r)


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    # Its own process group, so stopping it stops the JVM spark-class launches.
    return subprocess.Popen(
        [str(SPARK_CLASS), *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    """``spark://127.0.0.1:PORT`` with two alive workers; every JVM stopped afterwards."""
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(tmp_path / "logs"),
        "SPARK_NO_DAEMONIZE": "1",
    }
    port, webui = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    procs = [
        start(
            ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
            + ["--port", str(port), "--webui-port", str(webui)],
            tmp_path / "master.log",
            env,
        )
    ]
    work = []
    try:
        for i in (1, 2):
            work.append(tmp_path / f"worker{i}")
            work[-1].mkdir()
            procs.append(
                start(
                    ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1"]
                    + ["--cores", "1", "--memory", "1g", "--work-dir", str(work[-1])]
                    + ["--webui-port", str(free_port())],
                    tmp_path / f"worker{i}.log",
                    env,
                )
            )
        deadline = time.monotonic() + 120
        alive = 0
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), (tmp_path / "master.log").read_text()
            try:
                alive = master_state(webui).get("aliveworkers", 0)
            except OSError:
                alive = 0
            if alive == 2:
                break
            time.sleep(0.5)
        assert alive == 2, "the two workers never registered with the master"
        yield url, work
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_a_card_on_a_standalone_cluster_runs_on_both_workers(cluster, tmp_path, registry, fitted):
    url, work_dirs = cluster
    model, train, test = fitted
    register(registry, model, train, test, name="arrests", alias="champion")
    # Four files, so the scan alone has four tasks to share between the two workers.
    data = tmp_path / "evaluation"
    data.mkdir()
    size = -(-len(test) // 4)
    for i in range(4):
        test.iloc[i * size : (i + 1) * size].to_parquet(data / f"part-{i}.parquet")
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": "1767225600",
        "MODELCARDS_HOME": str(tmp_path / "store"),
    }
    common = ["--model", "models:/arrests@champion", "--data", data]
    spark = subprocess.run(
        [str(SCRIPT), "card", *map(str, common), "--engine", "spark", "--spark-master", url]
        + ["--out", str(tmp_path / "spark")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert spark.returncode in (0, 1), spark.stderr
    assert "Traceback" not in spark.stderr
    # The same card as in memory, from the same rows in one file.
    rows = pd.concat(pd.read_parquet(p) for p in sorted(data.iterdir()))
    rows.to_parquet(tmp_path / "all.parquet")
    memory = generate_card(
        model="models:/arrests@champion", registry=registry, data=tmp_path / "all.parquet"
    )
    on_spark = json.loads((tmp_path / "spark" / "model_card.json").read_text())
    in_memory = json.loads(render_json(memory.card))
    assert spark.returncode == memory.exit_code
    assert on_spark["fairness"] == in_memory["fairness"]
    assert on_spark["policy"] == in_memory["policy"]
    assert on_spark["evaluation_data"]["provenance"]["rows"] == len(test)
    # Each worker launched an executor for the card, and each executor ran tasks.
    for work in work_dirs:
        logs = list(work.glob("app-*/*/stderr"))
        assert logs, f"no executor ran on {work.name}"
        ran = sum(len(re.findall(r"Running task", log.read_text())) for log in logs)
        assert ran > 0, f"the executor on {work.name} ran no task"
