"""The README's code snippets run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SNIPPETS = dict(
    re.findall(
        r"<!-- snippet: (\w+)[^>]*-->\s*```python\n(.*?)```\s*<!-- /snippet -->", README, re.S
    )
)


def test_the_readme_has_its_snippets():
    assert "register" in SNIPPETS


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_readme_snippet_runs(name, tmp_path, monkeypatch):
    monkeypatch.delenv("MODELCARDS_HOME")  # the snippet uses the default store in ./.modelcards
    out = subprocess.run(
        [sys.executable, "-c", SNIPPETS[name]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    if name == "register":
        assert out.stdout.startswith("models:/loan-approval/1 "), out.stdout
        assert (tmp_path / ".modelcards" / "mlflow.db").exists()
