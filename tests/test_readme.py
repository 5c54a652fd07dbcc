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
    assert {"register", "client"} <= set(SNIPPETS)


def test_the_api_client_snippet_runs_against_the_gradio_app(
    examples_registry, tmp_path, monkeypatch
):
    from test_demo_server import free_port

    monkeypatch.setenv("MODELCARDS_DB_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.delenv("MODELCARDS_DEMO_PASSWORD", raising=False)
    from apps import gradio_app

    app = gradio_app.build()
    port = free_port()
    gradio_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        code = SNIPPETS["client"].replace("http://127.0.0.1:7860/", f"http://127.0.0.1:{port}/")
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    finally:
        app.close()
    assert out.returncode == 0, out.stderr
    answer = out.stdout.strip().splitlines()[-1]  # gradio_client first says where it loaded
    assert answer.split()[0] in {"Yes", "No"}
    assert answer.endswith("models:/arrests-release/1")


@pytest.mark.parametrize("name", sorted(set(SNIPPETS) - {"client"}))
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
    if name == "pipeline":
        verdict, files = out.stdout.strip().splitlines()[-1].split(" ", 1)
        assert verdict in {"pass", "fail", "inconclusive"}
        assert files == "['model_card.html', 'model_card.json', 'model_card.md']"
