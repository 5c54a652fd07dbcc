"""Check the node arrays of every tree in a loaded model before anything predicts with it.

scikit-learn's tree code walks node arrays in compiled loops without bounds checks: a child
index, a feature index or a bitset index taken from a crafted file reads (or, for gradient
boosting, writes) memory outside the arrays, and a child that points back up the tree loops
forever. skops therefore leaves ``sklearn.tree._tree.Tree`` and the histogram boosting
``TreePredictor`` untrusted. We trust them by default instead, and check here what predict
would index, with NumPy on the arrays themselves (nothing is predicted):

* ``Tree`` (decision trees, forests, extra trees, gradient boosting): its
  ``__setstate__`` already refuses a node array of the wrong dtype or dimensions and a value
  array whose shape is not (nodes, n_outputs, max_n_classes); it does not check
  ``node_count`` against the nodes it received, the children, the features, the thresholds
  or ``max_depth`` (``decision_path`` sizes a buffer by it). All of these are checked here.
* ``TreePredictor`` (histogram gradient boosting): its ``__setstate__`` only casts the
  node dtype. Children, ``feature_idx``, categorical ``bitset_idx`` against both bitset
  arrays, the bitsets' width, and the estimator's bin mapper and preprocessor (which decide
  the width of the rows the predictor reads) are checked here.

Every estimator reachable from the loaded object is visited: pipelines, column transformers,
ensembles, calibrated classifiers, anything holding a tree in an attribute, list, dict or
object array.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, NoReturn

import numpy as np
from numpy.typing import NDArray

from .errors import UnsafeModelError

_LEAF = -1  # sklearn.tree._tree.TREE_LEAF
_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), type)


class _Found(NamedTuple):
    """An object met while walking the model, where it was, and the objects holding it."""

    obj: Any
    path: str
    owners: tuple[Any, ...]  # nearest first; containers (lists, dicts) are not owners


def _walk(root: object, name: str) -> Iterator[_Found]:
    """Every object reachable from ``root``, once each, with a readable path to it."""
    seen: set[int] = set()
    stack: list[_Found] = [_Found(root, name, ())]
    while stack:
        obj, path, owners = stack.pop()
        if isinstance(obj, _ATOMS) or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield _Found(obj, path, owners)
        children: list[_Found] = []
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                for idx in np.ndindex(obj.shape):
                    where = ", ".join(map(str, idx))
                    children.append(_Found(obj[idx], f"{path}[{where}]", owners))
        elif isinstance(obj, dict):
            for key, value in obj.items():
                children.append(_Found(key, f"{path} key {key!r}", owners))
                children.append(_Found(value, f"{path}[{key!r}]", owners))
        elif isinstance(obj, list | tuple | set | frozenset):
            for i, value in enumerate(obj):
                children.append(_Found(value, f"{path}[{i}]", owners))
        else:
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                inner = (obj, *owners)
                # Name each estimator on the way, e.g. "Pipeline.steps[1][1] (RandomForest...)".
                label = path if not owners else f"{path} ({type(obj).__name__})"
                for key, value in attrs.items():
                    children.append(_Found(value, f"{label}.{key}", inner))
        stack.extend(reversed(children))  # depth first, in attribute order


def _refuse(source: str, where: str, problem: str) -> UnsafeModelError:
    return UnsafeModelError(
        f"{source}: {where} {problem}; predicting with it would read memory outside the "
        "model, so it is not loaded.",
        hint="The file was damaged or crafted. Register the model again from the code that "
        "trained it.",
    )


def _first(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


_Fail = Callable[[str, str], NoReturn]


def _check_children(
    left: NDArray[Any], right: NDArray[Any], internal: NDArray[np.bool_], fail: _Fail, names: str
) -> None:
    """Children of an internal node come after it and inside the array: predict can only
    move forward, so it stays in bounds and always reaches a leaf."""
    n = left.shape[0]
    index = np.arange(n)
    for arr, label in zip((left, right), names.split(","), strict=True):
        values = arr.astype(np.int64, copy=False)
        bad = _first(internal & ((values <= index) | (values >= n)))
        if bad is not None:
            fail(
                f"{label}",
                f"node {bad} points to node {int(values[bad])}, not to a later node of the {n}",
            )


def _depth(left: NDArray[np.int64], right: NDArray[np.int64], internal: NDArray[np.bool_]) -> int:
    """The longest root-to-leaf path, one level at a time (children come after parents)."""
    depth, level = 0, np.array([0])
    while True:
        inner = level[internal[level]]
        if inner.size == 0:
            return depth
        level = np.concatenate([left[inner], right[inner]])
        depth += 1


def _feature_limit(tree_owner: Any, owners: tuple[Any, ...]) -> int | None:
    """How many columns the rows reaching a tree have at least: the owning estimator's
    inputs, and, for a tree inside a forest or boosting ensemble that predicts without
    re-checking its input, the ensemble's."""
    limits = []
    n_in = getattr(tree_owner, "n_features_in_", None)
    if isinstance(n_in, int | np.integer):
        limits.append(int(n_in))
    ensemble = owners[1] if len(owners) > 1 else None
    members = getattr(ensemble, "estimators_", None)
    if members is None or not any(
        m is tree_owner for m in np.ravel(np.asarray(members, dtype=object))
    ):
        ensemble = None  # e.g. a pipeline: its inputs are not the tree's
    if ensemble is not None and not hasattr(ensemble, "estimators_features_"):
        n_in = getattr(ensemble, "n_features_in_", None)
        if isinstance(n_in, int | np.integer):
            limits.append(int(n_in))
    return min(limits) if limits else None


def _check_tree(tree: Any, path: str, owners: tuple[Any, ...], source: str) -> None:
    def fail(array: str, problem: str) -> NoReturn:
        raise _refuse(source, f"the tree at {path} has {array} that", problem)

    # Before reading any array: node_count sizes every view onto the node memory.
    capacity, count = int(tree.capacity), int(tree.node_count)
    if not 1 <= count <= capacity:
        fail("node_count", f"says {count} nodes, but it holds {capacity}")
    state = tree.__getstate__()
    nodes, values = state["nodes"], state["values"]
    left = nodes["left_child"].astype(np.int64, copy=False)
    right = nodes["right_child"].astype(np.int64, copy=False)
    leaf = left == _LEAF
    internal = ~leaf
    bad = _first(leaf & (right != _LEAF))
    if bad is not None:
        fail("right_child", f"node {bad} is a leaf on the left and not on the right")
    _check_children(left, right, internal, fail, "left_child,right_child")

    n_features = int(tree.n_features)
    owner = owners[0] if owners else None
    limit = _feature_limit(owner, owners)
    if limit is not None and limit != n_features:
        fail("n_features", f"says {n_features} inputs, but its estimator takes {limit}")
    feature = nodes["feature"].astype(np.int64, copy=False)
    bad = _first(internal & ((feature < 0) | (feature >= n_features)))
    if bad is not None:
        fail("feature", f"node {bad} splits on input {int(feature[bad])} of {n_features}")
    # +inf is sklearn's own threshold for "every value left, missing values right".
    threshold = nodes["threshold"]
    bad = _first(internal & (np.isnan(threshold) | (threshold == -np.inf)))
    if bad is not None:
        fail("threshold", f"node {bad} has threshold {threshold[bad]}")
    depth = _depth(left, right, internal)
    if int(tree.max_depth) < depth:
        fail("max_depth", f"says {int(tree.max_depth)}, but its deepest leaf is at {depth}")

    n_outputs, n_classes = int(tree.n_outputs), np.asarray(tree.n_classes)
    expected = (count, n_outputs, int(tree.max_n_classes))
    if values.shape != expected or n_classes.shape != (n_outputs,):
        fail("value", f"has shape {values.shape}, not {expected}")
    if owner is not None and hasattr(owner, "n_outputs_"):
        if int(owner.n_outputs_) != n_outputs:
            fail("n_outputs", f"says {n_outputs}, but its estimator has {owner.n_outputs_}")
        if hasattr(owner, "classes_"):
            owner_classes = np.atleast_1d(np.asarray(owner.n_classes_, dtype=np.int64))
            listed = owner.classes_ if n_outputs > 1 else [owner.classes_]
            if (
                not np.array_equal(owner_classes, n_classes)
                or [len(c) for c in listed] != n_classes.tolist()
            ):
                fail(
                    "n_classes",
                    f"says {n_classes.tolist()}, but its estimator has classes "
                    f"{[len(c) for c in listed]}",
                )


def _check_predictor(pred: Any, path: str, owners: tuple[Any, ...], source: str) -> None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    def fail(array: str, problem: str) -> NoReturn:
        raise _refuse(source, f"the boosting tree at {path} has {array} that", problem)

    nodes = pred.nodes
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE:
        fail("nodes", "is not an array of tree nodes")
    if nodes.ndim != 1 or nodes.shape[0] < 1:
        fail("nodes", f"has shape {nodes.shape}, not one or more nodes")
    bitsets = {}
    for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        arr = getattr(pred, name)
        if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] != 8:
            shape = getattr(arr, "shape", type(arr).__name__)
            fail(name, f"has shape {shape}, not (categorical splits, 8)")
        bitsets[name] = arr.shape[0]
    internal = nodes["is_leaf"] == 0
    _check_children(nodes["left"], nodes["right"], internal, fail, "left,right")

    owner = owners[0] if owners else None
    mapper = getattr(owner, "_bin_mapper", None)
    is_categorical = np.asarray(getattr(mapper, "is_categorical_", None))
    n_features = _hgb_width(owner, fail)
    if is_categorical.shape != (n_features,):
        if getattr(owner, "_preprocessor", None) is not None:
            fail(
                "_preprocessor",
                f"makes rows of {n_features} columns, but its bin mapper has {is_categorical.size}",
            )
        fail("_bin_mapper.is_categorical_", f"has shape {is_categorical.shape}, not {n_features}")
    feature = nodes["feature_idx"].astype(np.int64, copy=False)
    bad = _first(internal & ((feature < 0) | (feature >= n_features)))
    if bad is not None:
        fail("feature_idx", f"node {bad} splits on input {int(feature[bad])} of {n_features}")
    threshold = nodes["num_threshold"]
    numeric = internal & (nodes["is_categorical"] == 0)
    bad = _first(numeric & (np.isnan(threshold) | (threshold == -np.inf)))
    if bad is not None:
        fail("num_threshold", f"node {bad} has threshold {threshold[bad]}")
    categorical = internal & (nodes["is_categorical"] != 0)
    for name, rows in bitsets.items():
        idx = nodes["bitset_idx"].astype(np.int64, copy=False)
        bad = _first(categorical & (idx >= rows))
        if bad is not None:
            fail("bitset_idx", f"node {bad} uses bitset {int(idx[bad])}, but {name} has {rows}")
    # Known categories are looked up per categorical input: the split's input must be one.
    bad = _first(categorical & ~is_categorical.astype(bool)[np.clip(feature, 0, n_features - 1)])
    if bad is not None:
        fail("is_categorical", f"node {bad} splits input {int(feature[bad])} as a category")


def _hgb_width(owner: Any, fail: _Fail) -> int:
    """How many columns the rows reaching a histogram boosting tree have: the estimator's
    inputs, or what its own preprocessor (for categorical inputs) makes of them."""
    n_in = getattr(owner, "n_features_in_", None)
    if not isinstance(n_in, int | np.integer):
        fail("n_features_in_", "is missing")
    pre = getattr(owner, "_preprocessor", None)
    if pre is None:
        return int(n_in)
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    if not isinstance(pre, ColumnTransformer):
        fail("_preprocessor", f"is a {type(pre).__name__}, not a ColumnTransformer")
    width = 0
    for _, step, columns in pre.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        if not (step == "passthrough" or isinstance(step, OrdinalEncoder | FunctionTransformer)):
            fail("_preprocessor", f"holds a {type(step).__name__}, which may change the width")
        cols = np.asarray(columns)
        if cols.dtype == bool:
            width += int(cols.sum())
        elif cols.ndim == 1 and cols.dtype.kind in "iuUO":
            width += int(cols.shape[0])
        else:
            fail("_preprocessor", f"selects columns with {columns!r}")
    return width


def check_trees(model: object, *, source: str) -> None:
    """Refuse a model holding a tree whose arrays predict could index out of bounds.

    Args:
        model: The loaded object (any estimator, pipeline or container).
        source: Where it came from, for the message (e.g. the file name).
    """
    # A class whose module was never imported has no instances: a linear model's load
    # does not pay for importing the tree modules.
    tree = getattr(sys.modules.get("sklearn.tree._tree"), "Tree", None)
    predictor = getattr(
        sys.modules.get("sklearn.ensemble._hist_gradient_boosting.predictor"),
        "TreePredictor",
        None,
    )
    for found in _walk(model, type(model).__name__):
        if tree is not None and isinstance(found.obj, tree):
            _check_tree(found.obj, found.path, found.owners, source)
        elif predictor is not None and isinstance(found.obj, predictor):
            _check_predictor(found.obj, found.path, found.owners, source)
        elif hasattr(found.obj, "estimators_features_"):
            _check_feature_subsets(found.obj, _named(found), source)
        elif type(found.obj).__name__.startswith("GradientBoosting"):
            _check_boosting_stages(found.obj, _named(found), source)


def _named(found: _Found) -> str:
    return found.path if not found.owners else f"{found.path} ({type(found.obj).__name__})"


def _check_feature_subsets(ensemble: Any, path: str, source: str) -> None:
    """Bagging and isolation forests hand each member only its own columns."""
    n_in = int(getattr(ensemble, "n_features_in_", 0))
    members = list(getattr(ensemble, "estimators_", []))
    subsets = list(ensemble.estimators_features_)
    if len(subsets) != len(members):
        raise _refuse(source, f"{path}.estimators_features_", "does not match its members")
    for i, (member, cols) in enumerate(zip(members, subsets, strict=True)):
        cols = np.asarray(cols)
        member_in = getattr(member, "n_features_in_", cols.shape[0])
        if cols.ndim != 1 or cols.shape[0] != member_in or ((cols < 0) | (cols >= n_in)).any():
            raise _refuse(
                source,
                f"{path}.estimators_features_[{i}]",
                f"does not select the {member_in} inputs its member takes out of {n_in}",
            )


def _check_boosting_stages(gb: Any, path: str, source: str) -> None:
    """Gradient boosting adds tree k's output to column k of an array as wide as
    ``n_trees_per_iteration_``, in compiled code."""
    stages = getattr(gb, "estimators_", None)
    if stages is None:
        return
    width = int(getattr(gb, "n_trees_per_iteration_", -1))
    classes = getattr(gb, "classes_", None)
    expected = 1 if classes is None or len(classes) <= 2 else len(classes)
    if not isinstance(stages, np.ndarray) or stages.ndim != 2 or stages.shape[1] != width:
        raise _refuse(
            source,
            f"{path}.estimators_",
            f"has shape {getattr(stages, 'shape', None)}, not (stages, {width})",
        )
    if width != expected:
        raise _refuse(
            source, f"{path}.n_trees_per_iteration_", f"is {width}, not {expected} for its classes"
        )
    for idx in np.ndindex(stages.shape):
        tree = getattr(stages[idx], "tree_", None)
        if tree is not None and (int(tree.n_outputs) != 1 or int(tree.max_n_classes) != 1):
            where = ", ".join(map(str, idx))
            raise _refuse(source, f"{path}.estimators_[{where}]", "is not a one-output tree")
