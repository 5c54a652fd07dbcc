"""The command line, run as a user runs it: the installed console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(sys.executable).parent / "modelcards"


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_models_on_an_empty_store_says_how_to_add_the_examples():
    out = run("models")
    assert out.returncode == 0
    assert "No registered models" in out.stdout and "modelcards examples" in out.stdout


def test_models_lists_versions_and_aliases(examples_home):
    out = run("models", env={"MODELCARDS_HOME": str(examples_home)})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "VERSION", "ALIASES"]
    assert lines[1].split()[:3] == ["arrests-release", "2", "@challenger"]
    assert lines[2].split()[:3] == ["arrests-release", "1", "@champion"]


def test_examples_if_empty_does_nothing_on_a_store_with_models(examples_home):
    out = run("examples", "--if-empty", env={"MODELCARDS_HOME": str(examples_home)})
    assert out.returncode == 0 and "nothing to do" in out.stdout


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_synth_writes_the_requested_rows(tmp_path, suffix):
    out = run("synth", "--rows", "1234", "--out", str(tmp_path / f"d.{suffix}"), "--seed", "5")
    assert out.returncode == 0, out.stderr
    read = pd.read_csv if suffix == "csv" else pd.read_parquet
    assert len(read(tmp_path / f"d.{suffix}")) == 1234


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["synth", "--rows", "10", "--out", "data.xlsx"], "Cannot tell the format of"),
        (["synth", "--rows", "0", "--out", "d.csv"], "0 is not in the range x>=1"),
    ],
)
def test_bad_usage_exits_2_with_a_message_and_no_traceback(tmp_path, args, message):
    out = run(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_store_in_the_environment_is_refused_cleanly(tmp_path):
    out = run("models", env={"MLFLOW_TRACKING_URI": str(tmp_path / "mlruns")})
    assert out.returncode == 2
    assert "file store" in out.stderr and "Hint:" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("module", ["modelcards", "modelcards.cli"])
def test_python_dash_m_runs_the_command_line(module, tmp_path):
    # `python -m modelcards.cli examples` printed nothing and exited 0: no command ran.
    out = subprocess.run(
        [sys.executable, "-m", module, "models"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "MODELCARDS_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "No registered models" in out.stdout
