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


def _modelcards_imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every ``import modelcards...`` / ``from modelcards... import names`` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "modelcards"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "modelcards"
        ):
            found.append((node.module, [a.name for a in node.names]))
    return found


@pytest.mark.parametrize(
    "path", [*_files("apps"), *_files("components")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_apps_and_components_use_only_the_public_api(path):
    import modelcards

    public = set(modelcards.__all__)
    for module, names in _modelcards_imports(path):
        assert module in {"modelcards", "modelcards.errors"}, (
            f"{path.relative_to(ROOT)} imports {module}: use `from modelcards import ...`"
        )
        if module == "modelcards":
            private = [n for n in names if n not in public]
            assert not private, f"{path.relative_to(ROOT)} imports {private}, not in __all__"


def test_the_public_api_lists_every_export_once():
    import modelcards

    assert len(set(modelcards.__all__)) == len(modelcards.__all__)
    assert set(modelcards.__all__) == {*modelcards._EXPORTS, "__version__", "errors"}
    for name in modelcards.__all__:
        assert getattr(modelcards, name) is not None


def _public_callables():
    import inspect

    import modelcards

    for name in modelcards.__all__:
        obj = getattr(modelcards, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj) and obj.__module__.startswith("modelcards"):
            for attr, member in vars(obj).items():
                fn = member.__func__ if isinstance(member, classmethod | staticmethod) else member
                # model_* are pydantic's hooks, documented there
                if inspect.isfunction(fn) and not attr.startswith(("_", "model_")):
                    yield f"{name}.{attr}", fn


# Named by the public name only: a function's repr holds its address, which differs
# between processes, and pytest-xdist needs every worker to collect the same ids.
@pytest.mark.parametrize(
    ("name", "fn"), [pytest.param(name, fn, id=name) for name, fn in _public_callables()]
)
def test_every_public_function_documents_its_arguments(name, fn):
    import inspect

    params = [p for p in inspect.signature(fn).parameters.values() if p.name not in {"self", "cls"}]
    doc = inspect.getdoc(fn) or ""
    assert doc, f"{name} has no docstring"
    if not params:
        return
    assert "Args:" in doc, f"{name} has arguments but no Args section"
    args = doc.split("Args:", 1)[1]
    for p in params:
        shown = {p.name, f"*{p.name}", f"**{p.name}"}
        assert any(f"{s}:" in args for s in shown), f"{name}: argument {p.name!r} not in Args"
