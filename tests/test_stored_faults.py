"""Every stored file of a version, broken every way we know: a clean error, never a traceback.

One store for the module; each test breaks one file (or tag) and puts it back afterwards.
The CLI runs in-process through click's runner (the same command, real registry), so the
whole matrix stays quick; tests/test_registry.py runs the console script for the policy.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import new_store, register

from modelcards.cli import main

POLICY = "checks:\n  - accuracy_score >= 0.5\n"
SPEC = {"intended_use": {"primary_uses": ["Testing what a broken file does."]}}
SCRIPT = Path(sys.executable).parent / "modelcards"


def _local(uri: str) -> Path:
    return Path(url2pathname(urlparse(uri).path))


@pytest.fixture(scope="module")
def store(tmp_path_factory, fitted, empty_store_db):
    """Three models with every optional file: `m` for the CLI, two for the apps."""
    from modelcards import Registry

    home = new_store(tmp_path_factory.mktemp("faults"), empty_store_db)
    reg = Registry(home=home)
    pipe, train, test = fitted
    for name in ("m", "split-broken", "model-broken"):
        register(reg, pipe, train, test, name=name, policy=POLICY, card_spec=SPEC)
    return reg


@pytest.fixture
def env(store, monkeypatch):
    monkeypatch.setenv("MODELCARDS_HOME", str(store.home))
    monkeypatch.setenv("MODELCARDS_MODEL_CACHE", "0")  # every run reads the files afresh
    return store


def stored(reg, name: str, artifact: str) -> Path:
    """The file behind one stored artifact of version 1 of ``name``, in the store."""
    if artifact.startswith("modelcards/"):
        run = reg.client.get_run(reg.client.get_model_version(name, "1").run_id)
        path = _local(run.info.artifact_uri) / artifact
    else:
        path = _local(reg.client.get_model_version_download_uri(name, "1")) / artifact
    assert path.is_relative_to(reg.home / "artifacts")
    return path


@pytest.fixture
def broken(env):
    """Break a stored file with a fault; every file is put back after the test."""
    saved: list[tuple[Path, bytes]] = []

    def apply(name: str, artifact: str, fault: Callable[[Path], None]) -> Path:
        path = stored(env, name, artifact)
        saved.append((path, path.read_bytes()))
        fault(path)
        return path

    yield apply
    for path, content in saved:
        if path.is_dir():
            shutil.rmtree(path)
        path.write_bytes(content)


# -- the faults --------------------------------------------------------------------------
def missing(path: Path) -> None:
    path.unlink()


def a_folder(path: Path) -> None:  # unreadable even as root, where chmod 000 stops nothing
    path.unlink()
    path.mkdir()


def invalid_bytes(path: Path) -> None:
    path.write_bytes(b"\xff\xfe\x00\x80 not text \xc3\x28")


def garbage(path: Path) -> None:
    path.write_bytes(b"{{{ [[[ this : is : not : anything ]")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def _skops_of(obj: object) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


# What each file holds when it parses but is the wrong kind of thing.
WRONG_TYPE: dict[str, Callable[[Path], None]] = {
    "modelcards/profile.json": lambda p: p.write_text("[1, 2, 3]"),
    "modelcards/card_spec.yaml": lambda p: p.write_text("just a sentence\n"),
    "modelcards/policy.yaml": lambda p: p.write_text("- a list\n"),
    "modelcards/evaluation.parquet": lambda p: pd.DataFrame({"x": [1, 2]}).to_parquet(p),
    "MLmodel": lambda p: p.write_text("flavors: 5\n"),
    "input_example.json": lambda p: p.write_text("[1, 2, 3]"),
    "model.skops": lambda p: p.write_bytes(_zip(**{"readme.txt": b"a zip, not skops"})),
}


def wrong_type(path: Path) -> None:
    key = path.name if path.parent.name != "modelcards" else f"modelcards/{path.name}"
    WRONG_TYPE[key](path)


def a_skops_file_of_no_model(path: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    path.write_bytes(_skops_of(StandardScaler()))


def a_truncated_skops_file(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def a_skops_file_missing_its_arrays(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if not n.endswith(".npy")}
    path.write_bytes(_zip(**members))


def names_a_model_file_outside_its_folder(path: Path) -> None:
    text = path.read_text()
    assert "pickled_model: model.skops" in text
    path.write_text(text.replace("pickled_model: model.skops", "pickled_model: ../../x"))


def has_a_signature_that_is_not_json(path: Path) -> None:
    text = path.read_text()
    assert "  inputs: '[" in text
    path.write_text(text.replace("  inputs: '[", "  inputs: '{{", 1))


FAULTS = [missing, a_folder, invalid_bytes, garbage, empty, wrong_type]
ARTIFACTS = [
    "model.skops",
    "MLmodel",
    "input_example.json",
    "modelcards/profile.json",
    "modelcards/evaluation.parquet",
    "modelcards/card_spec.yaml",
    "modelcards/policy.yaml",
]
CASES = [(a, f) for a in ARTIFACTS for f in FAULTS] + [
    ("model.skops", a_skops_file_of_no_model),
    ("model.skops", a_truncated_skops_file),
    ("model.skops", a_skops_file_missing_its_arrays),
    ("MLmodel", names_a_model_file_outside_its_folder),
    ("MLmodel", has_a_signature_that_is_not_json),
]


def run_card(tmp_path: Path, ref: str = "models:/m/1"):
    out = tmp_path / "card"
    result = CliRunner().invoke(main, ["card", "--model", ref, "--out", str(out)])
    return result, out


def assert_clean_exit(result, out: Path, *named: str) -> None:
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # no exception escaped the command
    assert "Traceback" not in result.output
    for text in named:
        assert text in result.stderr, result.stderr
    # Neither the download folder nor the store's own path: only names a user knows.
    assert tempfile.gettempdir() not in result.output, result.output
    assert not out.exists()


@pytest.mark.parametrize(("artifact", "fault"), CASES, ids=[f"{a}-{f.__name__}" for a, f in CASES])
def test_a_broken_stored_file_exits_2_naming_the_file_and_the_version_and_writes_nothing(
    broken, tmp_path, artifact, fault
):
    broken("m", artifact, fault)
    result, out = run_card(tmp_path)
    assert_clean_exit(result, out, Path(artifact).name, "models:/m/1", "Hint:")


@pytest.mark.parametrize(
    ("tag", "value", "problem"),
    [
        ("classes", '["No", "Yes"', "is not valid JSON"),
        ("classes", '"Yes"', "is not a JSON list of the model's classes"),
        ("positive_label", "Yes", "is not valid JSON"),
        ("positive_label", '"Maybe"', "is not one of the model's classes"),
        ("sensitive_features", "colour,sex", "is not valid JSON"),
        ("sensitive_features", '{"colour": 1}', "is not a JSON list of column names"),
        ("stored_files", "[profile.json", "is not valid JSON"),
    ],
)
def test_a_broken_modelcards_version_tag_exits_2_naming_the_tag_and_the_version(
    env, tmp_path, tag, value, problem
):
    key = f"modelcards.{tag}"
    before = env.client.get_model_version("m", "1").tags[key]
    env.client.set_model_version_tag("m", "1", key, value)
    try:
        result, out = run_card(tmp_path)
    finally:
        env.client.set_model_version_tag("m", "1", key, before)
    assert_clean_exit(result, out, f"version tag {key} of models:/m/1 {problem}")


def test_a_file_never_stored_is_still_none_but_a_recorded_one_that_is_gone_is_an_error(env, broken):
    from modelcards.errors import ArtifactError

    v = env.client.get_model_version("m", "1")
    assert v.tags["modelcards.stored_files"] == (
        '["card_spec.yaml", "evaluation.parquet", "policy.yaml", "profile.json"]'
    )
    broken("m", "modelcards/card_spec.yaml", missing)
    with pytest.raises(ArtifactError, match="card_spec.yaml stored with models:/m/1 is missing"):
        env.load("models:/m/1")
    # A version registered before the record existed keeps the listing's word: absent is none.
    env.client.delete_model_version_tag("m", "1", "modelcards.stored_files")
    try:
        assert env.load("models:/m/1").card_spec is None
    finally:
        env.client.set_model_version_tag("m", "1", "modelcards.stored_files", v.tags[
            "modelcards.stored_files"
        ])  # fmt: skip


# -- the apps ---------------------------------------------------------------------------
def app_page(module: str, **query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(
        f"from apps.demo import run_page\nrun_page({module!r})", default_timeout=90
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def test_the_demo_shows_a_broken_model_file_as_a_plain_message_and_the_sidebar_still_works(
    broken,
):
    broken("model-broken", "model.skops", garbage)
    for module in ("home", "try_it"):
        at = app_page(module, model="model-broken", ref="1")
        assert not at.exception
        errors = [e.value for e in at.error]
        assert any(
            "model.skops" in e and "models:/model-broken/1" in e and "not a zip" in e
            for e in errors
        ), errors
        assert not any("went wrong" in e for e in errors)
        assert tempfile.gettempdir() not in " ".join(errors)
        # The sidebar still lets people pick another model.
        assert at.sidebar.selectbox(key="model").value == "model-broken"
        assert "m" in at.sidebar.selectbox(key="model").options


@pytest.mark.parametrize("fault", [missing, garbage])
def test_a_broken_evaluation_split_stops_the_fairness_page_but_try_it_still_predicts(broken, fault):
    broken("split-broken", "modelcards/evaluation.parquet", fault)
    at = app_page("fairness", model="split-broken", ref="1")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("evaluation.parquet" in e and "models:/split-broken/1" in e for e in errors), errors
    assert not any("went wrong" in e for e in errors)
    at = app_page("try_it", model="split-broken", ref="1")
    assert not at.exception and not at.error
    assert at.metric[0].label == "Prediction" and at.metric[0].value in ("Yes", "No")


def test_the_gradio_command_exits_2_with_the_message_when_the_model_cannot_load(broken, env):
    from test_demo_server import free_port

    broken("model-broken", "model.skops", garbage)
    out = subprocess.run(
        [str(SCRIPT), "demo", "--ui", "gradio", "--port", str(free_port()),
         "--model", "models:/model-broken/1"],
        env={**os.environ, "MODELCARDS_HOME": str(env.home)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Cannot read the model's model.skops stored with models:/model-broken/1" in out.stderr
    assert "not a zip archive" in out.stderr
    assert "Traceback" not in out.stderr and tempfile.gettempdir() not in out.stderr
