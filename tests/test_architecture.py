"""Dependencies point one way: apps -> components -> modelcards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _files("modelcards"), ids=lambda p: p.name)
def test_the_library_never_imports_ui_frameworks_or_the_apps(path):
    bad = {
        n
        for n in _imports(path)
        if n.split(".")[0] in {"streamlit", "gradio", "apps", "components"}
    }
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", _files("components"), ids=lambda p: p.name)
def test_components_never_touch_the_registry_the_apps_or_session_state(path):
    bad = {
        n
        for n in _imports(path)
        if n.split(".")[0] in {"mlflow", "apps"} or n.startswith("modelcards._registry")
    }
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    source = path.read_text()
    for forbidden in ("session_state", "query_params", "Registry(", "cache_resource"):
        assert forbidden not in source, f"{path.relative_to(ROOT)} uses {forbidden}"


def test_importing_every_library_module_loads_neither_streamlit_nor_gradio():
    modules = sorted("modelcards." + p.stem for p in _files("modelcards") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in ('streamlit', 'gradio') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
