"""The registry on a real SQLite MLflow store: register, resolve, load, list, errors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest
from conftest import register

from modelcards import ModelRef, Registry
from modelcards.errors import ArtifactError, ModelNotFoundError, RegistryError

POLICY = "checks:\n  - accuracy_score >= 0.5\n"
SPEC = {"intended_use": {"primary_uses": ["testing"]}}


@pytest.mark.parametrize("ref", ["models:/m@prod", "models:/m/1"])
def test_loading_by_alias_or_version_predicts_like_the_in_memory_model(registry, fitted, ref):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="prod")
    loaded = registry.load(ref)
    assert loaded.version == 1
    assert loaded.uri == "models:/m/1"
    np.testing.assert_array_equal(loaded.predict(test), pipe.predict(test[train.columns]))
    np.testing.assert_allclose(
        loaded.positive_scores(test), pipe.predict_proba(test[train.columns])[:, 1]
    )


def test_labels_with_scores_are_the_models_own_predictions_ties_included(registry, fitted):
    import copy
    import dataclasses

    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="prod")
    loaded = registry.load("models:/m@prod")
    labels, scores = loaded.predict_with_scores(test)
    np.testing.assert_array_equal(labels, pipe.predict(test[train.columns]))
    # A model that cannot decide (every probability 0.5) predicts its first class.
    undecided = copy.deepcopy(pipe)
    undecided[-1].coef_[:] = 0
    undecided[-1].intercept_[:] = 0
    labels, scores = dataclasses.replace(loaded, model=undecided).predict_with_scores(test)
    assert set(scores) == {0.5}
    np.testing.assert_array_equal(labels, undecided.predict(test[train.columns]))


def test_an_alias_resolves_to_a_fixed_version_and_moving_it_changes_what_loads(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="champion")
    register(registry, pipe, train, test)
    first = registry.load("models:/m@champion")
    assert (first.version, first.alias) == (1, "champion")
    registry.set_alias("m", "champion", 2)
    moved = registry.load("models:/m@champion")
    assert (moved.version, moved.alias) == (2, "champion")


def test_loaded_models_are_cached_by_resolved_version(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="a")
    by_version = registry.load("models:/m/1")
    by_alias = registry.load("models:/m@a")
    assert by_alias.model is by_version.model
    assert by_alias.alias == "a" and by_version.alias is None


def test_a_version_carries_signature_example_profile_task_split_and_spec(registry, fitted):
    pipe, train, test = fitted
    spec = {"intended_use": {"primary_uses": ["testing"]}}
    register(registry, pipe, train, test, card_spec=spec, description="first")
    m = registry.load("models:/m/1")
    assert m.feature_names == list(train.columns)
    assert {c.name: c.type for c in m.inputs}["age"] == "long"
    assert list(m.input_example.columns) == list(train.columns)
    assert m.profile.rows == len(train)
    assert m.task == "binary_classification"
    assert m.classes == ["No", "Yes"] and m.positive_label == "Yes"
    assert m.target == "released" and m.sensitive_features == ["colour", "sex"]
    assert m.card_spec == spec
    assert m.description == "first"
    assert m.evaluation_split().equals(test)


def test_listing_shows_models_versions_aliases_and_descriptions(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, name="a", alias="champion", description="one")
    register(registry, pipe, train, test, name="a", alias="challenger")
    register(registry, pipe, train, test, name="b", model_description="model b")
    listed = {m.name: m for m in registry.list_models()}
    assert list(listed) == ["a", "b"]
    assert listed["a"].aliases == {"champion": 1, "challenger": 2}
    assert [(v.version, v.aliases) for v in listed["a"].versions] == [
        (2, ["challenger"]),
        (1, ["champion"]),
    ]
    assert listed["a"].versions[1].description == "one"
    assert listed["b"].description == "model b"


@pytest.mark.parametrize(
    ("ref", "message", "lists"),
    [
        ("models:/nope@champion", "No registered model named 'nope'", "Registered models: m"),
        ("models:/m@staging", "has no alias 'staging'", "@prod -> version 1"),
        ("models:/m/7", "has no version 7", "Versions of m: 1"),
        ("m@prod", "is not a model reference", "models:/NAME@ALIAS"),
    ],
)
def test_unknown_references_say_what_exists(registry, fitted, ref, message, lists):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="prod")
    with pytest.raises(ModelNotFoundError) as err:
        registry.load(ref)
    assert message in err.value.message
    assert lists in str(err.value)


def test_the_embedded_store_lives_in_modelcards_home_with_absolute_uris(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCARDS_HOME", str(tmp_path / "h"))
    reg = Registry()
    assert reg.tracking_uri == f"sqlite:///{tmp_path / 'h' / 'mlflow.db'}"
    assert reg.artifact_location == (tmp_path / "h" / "artifacts").as_uri()


def test_without_modelcards_home_the_store_is_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELCARDS_HOME")
    monkeypatch.chdir(tmp_path)
    assert Registry().tracking_uri == f"sqlite:///{tmp_path / '.modelcards' / 'mlflow.db'}"


def test_mlflow_tracking_uri_points_the_same_code_at_another_store(tmp_path, monkeypatch, fitted):
    pipe, train, test = fitted
    uri = f"sqlite:///{tmp_path / 'team' / 'mlflow.db'}"
    (tmp_path / "team").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    reg = Registry()
    assert not reg.embedded and reg.tracking_uri == uri
    register(reg, pipe, train, test, name="shared", alias="prod")
    assert Registry(uri).load("models:/shared@prod").version == 1
    # Artifacts land beside the database, not in the working directory's ./mlruns.
    assert (tmp_path / "team" / "artifacts").is_dir()


@pytest.mark.parametrize("uri", ["file:///tmp/mlruns", "./mlruns", "/abs/mlruns"])
def test_mlflows_file_store_is_refused_with_a_hint(uri):
    with pytest.raises(RegistryError, match="file store") as err:
        Registry(uri)
    assert "sqlite:///" in err.value.hint


def test_model_refs_parse_both_forms():
    assert ModelRef.parse("models:/a-b@c") == ModelRef("a-b", alias="c")
    assert ModelRef.parse("models:/a/12") == ModelRef("a", version=12)
    assert str(ModelRef.parse("models:/a/12")) == "models:/a/12"


def test_registering_leaves_the_process_environment_as_it_was(registry, fitted):
    import os

    pipe, train, test = fitted
    before = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    register(registry, pipe, train, test)
    after = {k: os.environ.get(k) for k in before}
    assert after == before
    # A new default Registry still means the embedded store, not the last one used.
    assert Registry().tracking_uri != registry.tracking_uri


# -- stored files that exist but cannot be read ------------------------------------------


def _local(uri: str) -> Path:
    return Path(url2pathname(urlparse(uri).path))


def stored_file(registry, version, name: str) -> Path:
    """The file behind run artifact ``modelcards/NAME`` of a version, in the test's store."""
    path = _local(registry.client.get_run(version.run_id).info.artifact_uri) / "modelcards" / name
    assert path.is_file() and path.is_relative_to(registry.home / "artifacts")
    return path


def model_file(registry, version, name: str) -> Path:
    """A file of the version's model folder (MLmodel, input_example.json), in the store."""
    uri = registry.client.get_model_version_download_uri(version.name, str(version.version))
    path = _local(uri) / name
    assert path.is_file() and path.is_relative_to(registry.home / "artifacts")
    return path


# Faults that stop reading even as root (where chmod 000 stops nothing), each checked.
def not_utf8(path: Path) -> None:
    path.write_bytes(b"checks:\n  - accuracy_score >= 0.5 \xff\xfe\n")
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")


def a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    with pytest.raises(IsADirectoryError):
        path.read_bytes()


def assert_clean(err: ArtifactError, artifact: str, reason: str, uri: str = "models:/m/1"):
    assert isinstance(err, RegistryError)
    assert artifact in err.message and uri in err.message, err.message
    assert reason in err.message, err.message
    assert err.hint and "artifact store" in err.hint
    assert tempfile.gettempdir() not in str(err)  # neither our download folder nor the store
    assert err.__cause__ is not None or "folder" in reason


@pytest.mark.parametrize(
    ("fault", "reason"), [(not_utf8, "not UTF-8 text"), (a_folder, "is a folder, not a file")]
)
def test_an_unreadable_stored_policy_stops_loading_and_the_card_naming_file_and_version(
    registry, fitted, fault, reason
):
    from modelcards import CardOptions, generate_card

    pipe, train, test = fitted
    version = register(registry, pipe, train, test, alias="prod", policy=POLICY)
    fault(stored_file(registry, version, "policy.yaml"))
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/m@prod")
    assert_clean(err.value, "modelcards/policy.yaml", reason)
    with pytest.raises(ArtifactError) as err:
        generate_card(model="models:/m@prod", registry=registry, options=CardOptions())
    assert_clean(err.value, "modelcards/policy.yaml", reason)


def test_a_version_registered_without_a_policy_or_spec_has_none_and_its_card_no_gate(
    registry, fitted
):
    from modelcards import CardOptions, generate_card

    pipe, train, test = fitted
    register(registry, pipe, train, test)
    register(registry, pipe, train, test, policy=POLICY, card_spec=SPEC)
    bare = registry.load("models:/m/1")
    assert bare.policy_text is None and bare.card_spec is None
    assert bare.profile.rows == len(train)
    result = generate_card(model="models:/m/1", registry=registry, options=CardOptions())
    assert result.policy.verdict == "none" and result.exit_code == 0
    full = registry.load("models:/m/2")
    assert full.policy_text == POLICY and full.card_spec == SPEC


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("profile.json", b'{"rows": 3500, "columns": [', "not valid JSON"),
        ("profile.json", b"[]", "wrong shape"),
        ("card_spec.yaml", b"intended_use: [unclosed\n", "not valid YAML"),
        ("card_spec.yaml", b"- a list\n", "not a mapping of card sections"),
    ],
)
def test_a_stored_profile_or_spec_that_does_not_parse_stops_loading(
    registry, fitted, name, content, reason
):
    pipe, train, test = fitted
    version = register(registry, pipe, train, test, card_spec=SPEC)
    stored_file(registry, version, name).write_bytes(content)
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/m/1")
    assert_clean(err.value, f"modelcards/{name}", reason)


def test_a_garbled_evaluation_split_fails_when_read_naming_it(registry, fitted):
    pipe, train, test = fitted
    version = register(registry, pipe, train, test)
    stored_file(registry, version, "evaluation.parquet").write_bytes(b"not parquet at all")
    loaded = registry.load("models:/m/1")  # the split is read on first use
    with pytest.raises(ArtifactError) as err:
        loaded.evaluation_split()
    assert_clean(err.value, "modelcards/evaluation.parquet", "Parquet")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("MLmodel", b"flavors: {sklearn: [unclosed\n", "not valid YAML"),
        ("input_example.json", b'{"columns": ["age"], "data": [[', "not valid JSON"),
    ],
)
def test_an_unreadable_model_file_stops_loading_naming_it(registry, fitted, name, content, reason):
    pipe, train, test = fitted
    version = register(registry, pipe, train, test)
    model_file(registry, version, name).write_bytes(content)
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/m/1")
    assert_clean(err.value, name, reason)


# -- the cache of loaded versions -----------------------------------------------------------


def test_the_model_cache_keeps_the_most_recently_used_versions_up_to_its_limit(
    registry, fitted, monkeypatch
):
    from modelcards import _registry

    monkeypatch.setenv("MODELCARDS_MODEL_CACHE", "2")
    pipe, train, test = fitted
    for _ in range(3):
        register(registry, pipe, train, test)
    one, two = registry.load("models:/m/1"), registry.load("models:/m/2")
    assert registry.load("models:/m/1") is one  # now the most recently used
    three = registry.load("models:/m/3")  # one too many: version 2, least recent, goes
    assert len(_registry._CACHE) == 2
    assert registry.load("models:/m/1") is one
    assert registry.load("models:/m/3") is three
    assert registry.load("models:/m/2") is not two  # loaded afresh
    assert len(_registry._CACHE) == 2


def test_a_model_cache_size_that_is_not_a_number_is_refused_with_a_hint(registry, monkeypatch):
    monkeypatch.setenv("MODELCARDS_MODEL_CACHE", "lots")
    with pytest.raises(RegistryError, match="MODELCARDS_MODEL_CACHE='lots'") as err:
        registry.load("models:/m/1")
    assert "whole number" in err.value.hint


def test_trusted_types_none_means_no_extra_trusted_types(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test)
    loaded = registry.load("models:/m/1", trusted_types=None)
    assert loaded.version == 1
    assert registry.load("models:/m/1", trusted_types=()) is loaded  # the same cache entry


def _deleted(path: Path) -> None:
    path.unlink()


def _emptied(path: Path) -> None:
    path.write_text("")


def _loosened(path: Path) -> None:  # still a valid policy, just not the registered one
    path.write_text(path.read_text().replace("0.", "0.0"))


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (_deleted, "is missing, but the version was registered with one"),
        (_emptied, "was altered after registration"),
        (_loosened, "was altered after registration"),
    ],
)
def test_a_deleted_emptied_or_altered_stored_policy_is_an_error_not_no_policy(
    registry, fitted, tmp_path, fault, reason
):
    import subprocess
    import sys

    pipe, train, test = fitted
    version = register(registry, pipe, train, test, alias="prod", policy=POLICY)
    assert version.tags["modelcards.policy_sha256"] != "none"
    fault(stored_file(registry, version, "policy.yaml"))
    with pytest.raises(ArtifactError) as err:
        registry.load("models:/m@prod")
    assert "modelcards/policy.yaml stored with models:/m/1" in err.value.message
    assert reason in err.value.message and "register the version again" in err.value.hint
    # The CLI's release gate: exit 2, the message, nothing written.
    script = Path(sys.executable).parent / "modelcards"
    out = subprocess.run(
        [str(script), "card", "--model", "models:/m@prod", "--out", str(tmp_path / "card")],
        capture_output=True,
        text=True,
        env={**os.environ, "MODELCARDS_HOME": str(registry.home)},
        timeout=300,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert reason in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "card").exists()


def test_a_policy_file_that_appears_on_a_version_registered_without_one_is_refused(
    registry, fitted
):
    pipe, train, test = fitted
    version = register(registry, pipe, train, test)
    assert version.tags["modelcards.policy_sha256"] == "none"
    folder = _local(registry.client.get_run(version.run_id).info.artifact_uri) / "modelcards"
    (folder / "policy.yaml").write_text("checks:\n  - accuracy_score >= 0.0\n")
    with pytest.raises(ArtifactError, match="appeared after registration"):
        registry.load("models:/m/1")


def test_a_policy_without_checks_is_refused_at_registration_and_on_the_command_line(
    registry, fitted
):
    from modelcards import parse_policy
    from modelcards.errors import PolicyError

    pipe, train, test = fitted
    with pytest.raises(PolicyError, match="no checks"):
        register(registry, pipe, train, test, policy="checks: []\n")
    with pytest.raises(PolicyError, match="no checks"):
        parse_policy("checks: []")


def test_a_broken_registry_is_an_error_with_its_cause_never_no_such_model(registry, fitted):
    import sqlite3

    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="prod")
    registry.load("models:/m@prod")
    # The store loses a table it needs to read a model: not "no model named 'm'".
    with sqlite3.connect(registry.home / "mlflow.db") as db:
        db.execute("DROP TABLE registered_model_tags")
    with pytest.raises(RegistryError) as err:
        registry.resolve("models:/m@prod")
    assert not isinstance(err.value, ModelNotFoundError)
    assert "Cannot read model 'm' from the registry" in err.value.message
    with pytest.raises(RegistryError, match="Cannot read model 'm'"):
        register(registry, pipe, train, test)
