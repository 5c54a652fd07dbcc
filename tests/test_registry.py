"""The registry on a real SQLite MLflow store: register, resolve, load, list, errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import register

from modelcards import ModelRef, Registry
from modelcards.errors import ModelNotFoundError, RegistryError


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
