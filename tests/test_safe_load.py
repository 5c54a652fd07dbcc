"""Loading a model never runs code a stranger wrote."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import register
from custom_transformers import AddOne
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from modelcards._safe_load import is_trusted
from modelcards.errors import UnsafeModelError


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
    register(registry, evil, train[["age", "checks"]], test, serialization_format=fmt)
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


def test_tree_models_need_explicit_trust_because_their_nodes_are_unchecked(registry, fitted):
    _, train, test = fitted
    tree = DecisionTreeClassifier(max_depth=3).fit(train[["age", "checks"]], _labels(train))
    register(
        registry, tree, train[["age", "checks"]], test, trusted_types=["sklearn.tree._tree.Tree"]
    )
    with pytest.raises(UnsafeModelError, match=r"sklearn\.tree\._tree\.Tree"):
        registry.load("models:/m/1")
    assert registry.load("models:/m/1", trusted_types=["sklearn.tree._tree.Tree"]).version == 1


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
        ("sklearn.tree._tree.Tree", False, False),
    ],
)
def test_the_allow_list(name, function, trusted):
    assert is_trusted(name, function=function) is trusted
