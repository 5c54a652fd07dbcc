"""Shared fixtures: real SQLite MLflow stores in temporary folders, no mocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    # Never touch a developer's own store or server.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MODELCARDS_TRUSTED_TYPES", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("MODELCARDS_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def examples_home(tmp_path_factory) -> Path:
    """A store with the two example versions, registered once per test session."""
    from modelcards import Registry, register_examples

    home = tmp_path_factory.mktemp("examples")
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        register_examples(Registry(home=home))
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return home


@pytest.fixture
def examples_registry(examples_home, monkeypatch):
    from modelcards import Registry

    monkeypatch.setenv("MODELCARDS_HOME", str(examples_home))
    return Registry(home=examples_home)


@pytest.fixture
def registry(tmp_path):
    """An empty registry of its own."""
    from modelcards import Registry

    return Registry(home=tmp_path / "store")


@pytest.fixture(scope="session")
def arrests():
    from modelcards._examples import load_arrests_frame

    return load_arrests_frame()


@pytest.fixture(scope="session")
def fitted(arrests):
    """A small fitted pipeline on the arrests data, with its train and test frames."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from modelcards._examples import FEATURES, SENSITIVE, TARGET

    train, test = arrests.iloc[:3500], arrests.iloc[3500:]
    pipe = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["year", "age", "checks"]),
            (OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
        ),
        LogisticRegression(max_iter=500),
    ).fit(train[FEATURES], train[TARGET])
    return (
        pipe,
        train[FEATURES].reset_index(drop=True),
        test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True),
    )


def register(registry, model, train, test, *, name="m", alias=None, **kw):
    return registry.register(
        model,
        name=name,
        X_train=train,
        evaluation=test,
        target="released",
        positive_label="Yes",
        sensitive_features=["colour", "sex"],
        alias=alias,
        **kw,
    )


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark failed tests, so browser fixtures can save a screenshot."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        item.failed = True
