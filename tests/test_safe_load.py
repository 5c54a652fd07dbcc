"""Loading a model never runs code a stranger wrote."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import register
from custom_transformers import AddOne, TimesTwo
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from modelcards import generate_card
from modelcards._examples import FEATURES
from modelcards._render import render_html, render_json, render_markdown
from modelcards._safe_load import is_trusted
from modelcards.errors import PolicyError, UnsafeModelError


class Booby(LogisticRegression):
    """A fitted classifier whose unpickling writes a file: the classic pickle payload."""

    marker = ""

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_a_pickled_model_is_refused_and_its_payload_never_runs(registry, fitted, tmp_path, fmt):
    _, train, test = fitted
    marker = tmp_path / "pwned.txt"
    evil = Booby(max_iter=500).fit(train[["age", "checks"]], _labels(train))
    evil.marker = str(marker)
    register(
        registry, evil, train[["age", "checks"]], test, serialization_format=fmt, allow_pickle=True
    )
    marker.unlink(missing_ok=True)  # MLflow copies the object while saving, which runs it

    with pytest.raises(UnsafeModelError) as err:
        registry.load("models:/m/1")
    assert f"is a {fmt} file" in err.value.message
    assert "allow_pickle=True" in err.value.hint
    assert not marker.exists()

    # The flag is the only thing that stood in the way.
    registry.load("models:/m/1", allow_pickle=True)
    assert marker.read_text() == "pwned"


def _labels(train):
    return np.where(train["checks"] > 1, "No", "Yes")


def _custom(train):
    X = train[["age", "checks"]]
    return make_pipeline(AddOne(), LogisticRegression()).fit(X, _labels(train)), X


def test_a_type_outside_the_allow_list_is_refused_by_name(registry, fitted):
    _, train, test = fitted
    custom, X = _custom(train)
    register(registry, custom, X, test, trusted_types=["custom_transformers.AddOne"])
    with pytest.raises(UnsafeModelError) as err:
        registry.load("models:/m/1")
    assert "custom_transformers.AddOne" in err.value.message
    assert "trusted_types" in err.value.hint and "--trust-type" in err.value.hint

    loaded = registry.load("models:/m/1", trusted_types=["custom_transformers.AddOne"])
    np.testing.assert_array_equal(loaded.predict(test), custom.predict(test[X.columns]))


def test_the_environment_variable_extends_the_allow_list(registry, fitted, monkeypatch):
    _, train, test = fitted
    custom, X = _custom(train)
    register(registry, custom, X, test, trusted_types=["custom_transformers.AddOne"])
    monkeypatch.setenv("MODELCARDS_TRUSTED_TYPES", "custom_transformers.AddOne")
    assert registry.load("models:/m/1").version == 1


def _store_contents(registry):
    """Everything a registration could leave in the store, deleted runs included."""
    from mlflow.entities import ViewType

    client = registry.client
    experiments = [e.experiment_id for e in client.search_experiments(ViewType.ALL)]
    return {
        "runs": client.search_runs(experiments, run_view_type=ViewType.ALL) if experiments else [],
        "logged models": client.search_logged_models(experiments) if experiments else [],
        "versions": client.search_model_versions(),
        "models": client.search_registered_models(),
    }


def _crafted_forest(train):
    forest = RandomForestClassifier(3, max_depth=3, random_state=0)
    forest.fit(train[["age", "checks"]], _labels(train))
    crafted = copy.deepcopy(forest)
    crafted.estimators_[1].tree_.feature[0] = 7  # two inputs, not eight
    return crafted


REFUSALS = {
    "a pickle without allow_pickle": (
        lambda train: Booby(max_iter=500).fit(train[["age", "checks"]], _labels(train)),
        {"serialization_format": "cloudpickle"},
        "runs any code it contains",
    ),
    "types outside the allow-list": (lambda train: _custom(train)[0], {}, "AddOne"),
    "a damaged tree": (_crafted_forest, {}, "estimators_[1] (DecisionTreeClassifier).tree_"),
    "a broken policy": (
        lambda train: _custom(train)[0],
        {"trusted_types": ["custom_transformers.AddOne"], "policy": "checks: [nonsense]\n"},
        "nonsense",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_registration_leaves_nothing_in_the_store(registry, fitted, case):
    _, train, test = fitted
    make, kw, words = REFUSALS[case]
    with pytest.raises((UnsafeModelError, PolicyError)) as err:
        register(registry, make(train), train[["age", "checks"]], test, **kw)
    assert words in str(err.value)
    assert {k: list(v) for k, v in _store_contents(registry).items()} == {
        "runs": [],
        "logged models": [],
        "versions": [],
        "models": [],
    }


def test_a_registration_failing_part_way_removes_what_it_wrote(registry, fitted):
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    pipe, train, test = fitted
    # MLflow refuses the reserved alias only after the run, model and version exist.
    with pytest.raises(MlflowException, match="latest"):
        register(registry, pipe, train, test, alias="latest")
    left = _store_contents(registry)
    assert [r.info.lifecycle_stage for r in left["runs"]] == ["deleted"]
    assert left["logged models"] == [] and left["versions"] == [] and left["models"] == []
    experiments = [e.experiment_id for e in registry.client.search_experiments(ViewType.ALL)]
    assert registry.client.search_runs(experiments) == []  # what users see


def test_every_type_outside_the_allow_list_is_named_at_once(registry, fitted, monkeypatch):
    _, train, test = fitted
    X = train[["age", "checks"]]
    model = make_pipeline(AddOne(), TimesTwo(), LogisticRegression()).fit(X, _labels(train))
    both = ["custom_transformers.AddOne", "custom_transformers.TimesTwo"]
    with pytest.raises(UnsafeModelError) as err:
        register(registry, model, X, test)
    assert "2 types outside the allow-list: " + ", ".join(both) in err.value.message
    assert "trusted_types=[...]" in err.value.hint and ",".join(both) in err.value.hint

    register(registry, model, X, test, trusted_types=both)
    with pytest.raises(UnsafeModelError) as err:
        registry.load("models:/m/1")
    assert ", ".join(both) in err.value.message
    assert "--trust-type" in err.value.hint
    assert f"MODELCARDS_TRUSTED_TYPES={','.join(both)}" in err.value.hint
    monkeypatch.setenv("MODELCARDS_TRUSTED_TYPES", ",".join(both))
    assert registry.load("models:/m/1").version == 1


def test_a_common_preprocessing_pipeline_registers_and_loads_with_no_trust_flag(registry, fitted):
    _, train, test = fitted
    X = train.copy()
    X.loc[::7, "employed"] = None  # text with gaps
    X.loc[::5, "age"] = np.nan  # numbers with gaps
    pipe = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
                ["employed"],
            ),
            (
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="unknown"), OrdinalEncoder()
                ),
                ["citizen"],
            ),
            (
                make_pipeline(SimpleImputer(), FunctionTransformer(np.log1p), StandardScaler()),
                ["year", "age", "checks"],
            ),
        ),
        LogisticRegression(max_iter=1000),
    ).fit(X, _labels(train))
    register(registry, pipe, X, test)
    loaded = registry.load("models:/m/1")
    np.testing.assert_array_equal(loaded.predict(test), pipe.predict(test[FEATURES]))


def test_pickle_registers_only_when_allowed_and_every_card_says_so(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, serialization_format="pickle", allow_pickle=True)
    with pytest.raises(UnsafeModelError, match="is a pickle file"):
        registry.load("models:/m/1")
    loaded = registry.load("models:/m/1", allow_pickle=True)
    assert loaded.tags["modelcards.serialization"] == "pickle"
    card = generate_card(model=loaded).card
    warning = "models:/m/1 was loaded from a pickle file with --allow-pickle"
    assert card.model_details.warnings[0].startswith(warning)
    assert warning in render_markdown(card)
    assert warning in render_html(card, plotlyjs="")
    assert warning in render_json(card)
    # A skops version's card has no such warning.
    register(registry, pipe, train, test)
    assert generate_card(model="models:/m/2", registry=registry).card.model_details.warnings == []


def test_trusted_types_none_means_none_when_a_card_loads_the_model(examples_registry):
    from modelcards import PredictionSource, load_model

    source = PredictionSource.choose(model="models:/arrests-release@challenger")
    loaded = load_model(source, registry=examples_registry, trusted_types=None)
    assert (loaded.version, type(loaded.model).__name__) == (2, "HistGradientBoostingClassifier")


@pytest.mark.parametrize(
    ("name", "function", "trusted"),
    [
        ("sklearn.linear_model._logistic.LogisticRegression", False, True),
        ("numpy.ndarray", False, True),
        ("builtins.dict", False, True),
        ("numpy.log1p", True, True),
        ("builtins.eval", True, False),
        ("os.system", True, False),
        ("numpy.load", True, False),
        ("subprocess.Popen", False, False),
        ("sklearn.tree._tree.Tree", False, True),
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", False, True),
        ("functools.partial", False, True),
        ("sklearn.utils.validation.check_array", True, True),
        ("sklearn.datasets.fetch_openml", True, False),
    ],
)
def test_the_allow_list(name, function, trusted):
    assert is_trusted(name, function=function) is trusted
