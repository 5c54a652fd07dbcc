"""Tree models load with no trust flag, and a crafted tree never reaches predict.

Each crafted file starts from a real fitted model's skops file and breaks one invariant
that scikit-learn's compiled predict relies on without checking it.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile

import numpy as np
import pytest
import skops.io as sio
from conftest import register
from sklearn.compose import make_column_transformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from modelcards._examples import FEATURES, TARGET
from modelcards._safe_load import check_registrable, load_skops
from modelcards.errors import UnsafeModelError


def _one_hot(model):
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
            remainder="passthrough",
        ),
        model,
    )


MODELS = {
    "decision tree": lambda: _one_hot(DecisionTreeClassifier(max_depth=6, random_state=0)),
    "random forest": lambda: _one_hot(RandomForestClassifier(20, max_depth=6, random_state=0)),
    "extra trees": lambda: _one_hot(ExtraTreesClassifier(20, max_depth=6, random_state=0)),
    "gradient boosting": lambda: _one_hot(GradientBoostingClassifier(n_estimators=20)),
    "histogram boosting with categories": lambda: HistGradientBoostingClassifier(
        categorical_features=["employed", "citizen"], max_iter=20, random_state=0
    ),
}


@pytest.fixture(scope="module")
def trained(arrests):
    train = arrests.iloc[:3500]
    models = {k: make().fit(train[FEATURES], train[TARGET]) for k, make in MODELS.items()}
    return {**models, "X": arrests.iloc[3500:][FEATURES]}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_tree_models_pass_the_registration_check_and_load_with_no_trust_flag(
    trained, tmp_path, kind
):
    model = trained[kind]
    check_registrable(model)  # what register() runs before storing anything
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps(model))
    loaded = load_skops(path)
    X = trained["X"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("kind", ["random forest", "histogram boosting with categories"])
def test_tree_models_register_and_load_from_the_registry_with_no_trust_flag(
    registry, fitted, trained, kind
):
    _, train, test = fitted
    model = trained[kind]
    register(registry, model, train, test)
    loaded = registry.load("models:/m/1")
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test[FEATURES]))
    np.testing.assert_allclose(
        loaded.positive_scores(test), model.predict_proba(test[FEATURES])[:, 1]
    )


# -- crafted files ------------------------------------------------------------------------
def _tree(model, index=0):
    """The first Tree of a fitted pipeline's last step (a tree or a forest member)."""
    est = model[-1]
    if hasattr(est, "tree_"):
        return est.tree_
    members = np.ravel(np.asarray(est.estimators_, dtype=object))
    return members[index].tree_


def _internal(tree):
    return int(np.flatnonzero(tree.children_left != -1)[1])


def _set(array_name, value, *, leaf=False):
    def change(model):
        tree = _tree(model)
        node = int(np.flatnonzero(tree.children_left == -1)[0]) if leaf else _internal(tree)
        getattr(tree, array_name)[node] = value(tree, node) if callable(value) else value

    return change


def _attr(name, value):
    def change(model):
        setattr(_tree(model), name, value)

    return change


def _estimator_attr(name, value):
    def change(model):
        setattr(model[-1], name, value(model[-1]))

    return change


# (model, what to break, words the refusal must contain). The tree's own path is named.
TREE_CASES = {
    "a left child past the last node": (
        "random forest",
        _set("children_left", 10**6),
        "(RandomForestClassifier).estimators_[0] (DecisionTreeClassifier).tree_ has left_child",
    ),
    "a negative right child": (
        "decision tree",
        _set("children_right", -7),
        "(DecisionTreeClassifier).tree_ has right_child",
    ),
    "a child pointing back to the root (a loop)": (
        "extra trees",
        _set("children_left", 0),
        "left_child that node",
    ),
    "a leaf with a right child": (
        "decision tree",
        _set("children_right", 1, leaf=True),
        "has right_child that node",
    ),
    "a feature past the inputs": (
        "gradient boosting",
        _set("feature", 99),
        "(GradientBoostingClassifier).estimators_[0, 0] (DecisionTreeRegressor).tree_ has feature",
    ),
    "a NaN threshold": ("decision tree", _set("threshold", np.nan), "has threshold"),
    "max_depth below the real depth": ("decision tree", _attr("max_depth", 1), "has max_depth"),
    "more inputs than the estimator takes": (
        "random forest",
        _attr("n_features", 50),
        "has n_features",
    ),
    "classes that do not match the values": (
        "decision tree",
        _estimator_attr("classes_", lambda e: np.array(["No", "Yes", "Maybe"])),
        "has n_classes",
    ),
    "boosting stages wider than its outputs": (
        "gradient boosting",
        _estimator_attr("estimators_", lambda e: np.concatenate([e.estimators_] * 2, axis=1)),
        "(GradientBoostingClassifier).estimators_ has shape",
    ),
}


def _predictor(model):
    return model._predictors[0][0]


def _hgb_node(model, *, categorical=None):
    nodes = _predictor(model).nodes
    internal = nodes["is_leaf"] == 0
    if categorical is not None:
        internal &= nodes["is_categorical"] == int(categorical)
    return int(np.flatnonzero(internal)[0])


def _hgb_set(field, value, *, categorical=None):
    def change(model):
        nodes = _predictor(model).nodes
        node = _hgb_node(model, categorical=categorical)
        nodes[field][node] = value(model, node) if callable(value) else value

    return change


def _narrow_bitsets(model):
    pred = _predictor(model)
    pred.raw_left_cat_bitsets = np.ascontiguousarray(pred.raw_left_cat_bitsets[:, :4])


def _narrow_preprocessor(model):
    pre = model._preprocessor
    name, step, cols = pre.transformers_[0]
    pre.transformers_[0] = (name, step, np.zeros_like(cols))


HGB = "histogram boosting with categories"
PREDICTOR_CASES = {
    "a right child past the last node": (_hgb_set("right", 10**6), "has right that node"),
    "a child pointing back to the root": (_hgb_set("left", 0), "has left that node"),
    "a feature past the inputs": (_hgb_set("feature_idx", 40), "has feature_idx"),
    "a NaN threshold": (_hgb_set("num_threshold", np.nan, categorical=False), "num_threshold"),
    "a bitset index past the bitsets": (
        _hgb_set("bitset_idx", 10**4, categorical=True),
        "has bitset_idx",
    ),
    "bitsets too narrow for a category": (_narrow_bitsets, "raw_left_cat_bitsets"),
    "a numeric input split as a category": (
        _hgb_set("is_categorical", 1, categorical=False),
        "has is_categorical",
    ),
    "a preprocessor that drops inputs": (_narrow_preprocessor, "_preprocessor"),
}


def _save(model, tmp_path, name="crafted.skops"):
    path = tmp_path / name
    path.write_bytes(sio.dumps(model))
    return path


def _assert_refused(path, *words):
    with pytest.raises(UnsafeModelError) as err:
        load_skops(path)  # refused while loading: nothing is returned that could predict
    for w in words:
        assert w in err.value.message, err.value.message
    assert "Register the model again" in err.value.hint


@pytest.mark.parametrize("case", sorted(TREE_CASES))
def test_a_crafted_tree_is_refused_naming_the_estimator_and_the_array(trained, tmp_path, case):
    kind, change, words = TREE_CASES[case]
    assert load_skops(_save(trained[kind], tmp_path, "real.skops")) is not None
    crafted = copy.deepcopy(trained[kind])
    change(crafted)
    _assert_refused(_save(crafted, tmp_path), "crafted.skops", words)


@pytest.mark.parametrize("case", sorted(PREDICTOR_CASES))
def test_a_crafted_boosting_tree_is_refused_naming_the_estimator_and_the_array(
    trained, tmp_path, case
):
    change, words = PREDICTOR_CASES[case]
    assert load_skops(_save(trained[HGB], tmp_path, "real.skops")) is not None
    crafted = copy.deepcopy(trained[HGB])
    change(crafted)
    _assert_refused(
        _save(crafted, tmp_path), "HistGradientBoostingClassifier._predictors[0][0]", words
    )


def _replace_tree_arrays(data: bytes, **arrays) -> bytes:
    """The skops file with the first Tree's stored arrays (``nodes``, ``values``) replaced."""
    src = zipfile.ZipFile(io.BytesIO(data))
    state = next(_tree_states(json.loads(src.read("schema.json"))))
    files = {state[name]["file"]: array for name, array in arrays.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename in files:
                buf = io.BytesIO()
                np.save(buf, files[item.filename], allow_pickle=False)
                body = buf.getvalue()
            dst.writestr(item, body)
    return out.getvalue()


def _tree_states(node):
    if isinstance(node, dict):
        if node.get("__class__") == "Tree":
            yield node["content"]["content"]
        for v in node.values():
            yield from _tree_states(v)
    elif isinstance(node, list):
        for v in node:
            yield from _tree_states(v)


def test_a_tree_with_no_nodes_is_refused(trained, tmp_path):
    # sklearn's __setstate__ accepts an empty node array; predict reads node 0 regardless.
    tree = _tree(trained["decision tree"])
    nodes = tree.__getstate__()["nodes"][:0]
    values = np.zeros((0, tree.n_outputs, tree.max_n_classes))
    path = tmp_path / "crafted.skops"
    data = sio.dumps(trained["decision tree"])
    path.write_bytes(_replace_tree_arrays(data, nodes=nodes, values=values))
    _assert_refused(path, "(DecisionTreeClassifier).tree_ has node_count", "says 0 nodes")


def test_a_crafted_tree_in_the_registry_is_refused_at_load(registry, fitted, trained):
    _, train, test = fitted
    register(registry, trained["random forest"], train, test)
    (stored,) = registry.home.rglob("model.skops")
    crafted = copy.deepcopy(trained["random forest"])
    _set("feature", 1234)(crafted)
    stored.write_bytes(sio.dumps(crafted))
    with pytest.raises(
        UnsafeModelError, match=r"estimators_\[0\] \(DecisionTreeClassifier\)\.tree_ has feature"
    ):
        registry.load("models:/m/1")
