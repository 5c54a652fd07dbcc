"""Check a LightGBM text model before LightGBM's own loader sees it.

LightGBM parses trees in parallel native threads; a tree it cannot parse there (a
truncated or edited file) aborts the whole process ("terminate called without an active
exception") instead of raising. And its prediction walks ``left_child``/``right_child``
and ``split_feature`` without bounds checks. So every tree's arrays are checked here
first: the lengths that ``num_leaves`` and ``num_cat`` imply, child indices inside the
tree, features inside ``max_feature_idx``, and the ``tree_sizes`` the loader jumps by.
A file that passes is what LightGBM itself writes, as far as the loader relies on it.
"""

from __future__ import annotations

import re
from typing import Any

_INTERNAL = ("split_feature", "threshold", "decision_type", "left_child", "right_child")
_INTERNAL_OPTIONAL = ("split_gain", "internal_value", "internal_weight", "internal_count")
_LEAF_OPTIONAL = ("leaf_weight", "leaf_count")
_CATEGORICAL = 1  # decision_type bit: the split is categorical


def _ints(values: list[str], key: str, where: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValueError(f"{where}: {key} holds a value that is not a whole number") from None


def _floats(values: list[str], key: str, where: str) -> None:
    try:
        for v in values:
            float(v)
    except ValueError:
        raise ValueError(f"{where}: {key} holds a value that is not a number") from None


def _one_int(fields: dict[str, list[str]], key: str, where: str) -> int:
    values = fields.get(key)
    if values is None or len(values) != 1:
        raise ValueError(f"{where} has no single {key}")
    return _ints(values, key, where)[0]


def _check_tree(index: int, block: str, max_feature: int) -> None:
    where = f"tree {index}"
    fields: dict[str, list[str]] = {}
    for line in block.splitlines()[1:]:
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{where} has a line that is not key=value")
        fields[key] = value.split(" ") if value else []
    leaves = _one_int(fields, "num_leaves", where)
    cats = _one_int(fields, "num_cat", where)
    if leaves < 1 or cats < 0:
        raise ValueError(f"{where}: num_leaves or num_cat is out of range")
    if _one_int(fields, "is_linear", where) if "is_linear" in fields else 0:
        raise ValueError(f"{where} is a linear tree, which modelcards does not load")
    if "shrinkage" not in fields:
        raise ValueError(f"{where} has no shrinkage")
    _floats(fields["shrinkage"], "shrinkage", where)

    def need(key: str, length: int, optional: bool = False) -> list[str]:
        values = fields.get(key)
        if values is None:
            if optional:
                return []
            raise ValueError(f"{where} has no {key}")
        if len(values) != length:
            raise ValueError(f"{where}: {key} has {len(values)} values, not {length}")
        return values

    _floats(need("leaf_value", leaves), "leaf_value", where)
    for key in _LEAF_OPTIONAL:
        _floats(need(key, leaves, optional=True), key, where)
    if leaves == 1:
        return
    nodes = leaves - 1
    for key in _INTERNAL_OPTIONAL:
        _floats(need(key, nodes, optional=True), key, where)
    _floats(need("threshold", nodes), "threshold", where)
    features = _ints(need("split_feature", nodes), "split_feature", where)
    if any(not 0 <= f <= max_feature for f in features):
        raise ValueError(f"{where}: split_feature names a feature beyond max_feature_idx")
    for side in ("left_child", "right_child"):
        for node, child in enumerate(_ints(need(side, nodes), side, where)):
            # A child >= 0 is an internal node, created after its parent (so every walk
            # ends); ~child (i.e. -child - 1) is a leaf.
            if not (node < child < nodes or 0 <= ~child < leaves):
                raise ValueError(f"{where}: node {node} has a child outside the tree")
    decisions = _ints(need("decision_type", nodes), "decision_type", where)
    categorical = [d & _CATEGORICAL for d in decisions]
    if cats == 0:
        if any(categorical):
            raise ValueError(f"{where}: a categorical split, but num_cat is 0")
        return
    bounds = _ints(need("cat_boundaries", cats + 1), "cat_boundaries", where)
    if bounds[0] != 0 or any(b > a for b, a in zip(bounds, bounds[1:], strict=False)):
        raise ValueError(f"{where}: cat_boundaries do not rise from 0")
    words = _ints(need("cat_threshold", bounds[-1]), "cat_threshold", where)
    if any(not 0 <= w < 2**32 for w in words):
        raise ValueError(f"{where}: cat_threshold holds a value out of range")
    thresholds = fields["threshold"]
    for is_cat, t in zip(categorical, thresholds, strict=True):
        if is_cat and not (t.isdigit() and int(t) < cats):
            raise ValueError(f"{where}: a categorical split names a category set beyond num_cat")


def _check_tail(tail: bytes) -> None:
    """After the trees: LightGBM reads the parameters up to "end of parameters" and runs
    off the end of a file cut short inside them (a segmentation fault)."""
    start = tail.find(b"\nparameters:\n")
    if start < 0:
        return
    start += len(b"\nparameters:\n")
    stop = tail.find(b"\nend of parameters", start - 1)
    if stop < 0:
        raise ValueError('its parameters are cut short (no "end of parameters")')
    for line in tail[start:stop].splitlines():
        if line and not (line.startswith(b"[") and line.endswith(b"]") and b": " in line):
            raise ValueError("its parameters hold a line that is not [name: value]")


def check_lightgbm_model(data: bytes) -> int:
    """Check a LightGBM text model's header and every tree; the number of classes.

    Raises ValueError saying what is wrong (in a few words) when the file is not one
    LightGBM's loader can take safely.

    Args:
        data: The model file's bytes.

    >>> check_lightgbm_model(b"tree\\nversion=v4\\n")
    Traceback (most recent call last):
    ...
    ValueError: it has no trees (no "end of trees")
    """
    end = data.find(b"\nend of trees")
    if end < 0:
        raise ValueError('it has no trees (no "end of trees")')
    end += 1
    if not data.startswith(b"tree\n"):
        raise ValueError('it does not start with "tree"')
    starts = [m.start() for m in re.finditer(rb"^Tree=", data[:end], re.MULTILINE)]
    if not starts:
        raise ValueError("it has no trees")
    try:
        head = data[: starts[0]].decode("utf-8")
        blocks = [
            data[a:b].decode("ascii") for a, b in zip(starts, [*starts[1:], end], strict=True)
        ]
    except UnicodeDecodeError:
        raise ValueError("its trees are not plain text") from None
    fields = {k: v.split(" ") for k, _, v in (line.partition("=") for line in head.splitlines())}
    where = "its header"
    classes = _one_int(fields, "num_class", where)
    per_iteration = _one_int(fields, "num_tree_per_iteration", where)
    max_feature = _one_int(fields, "max_feature_idx", where)
    if classes < 1 or per_iteration < 1 or max_feature < 0:
        raise ValueError(
            "its header has num_class, num_tree_per_iteration or max_feature_idx out of range"
        )
    if len(blocks) % per_iteration:
        raise ValueError(f"it has {len(blocks)} trees, not a multiple of num_tree_per_iteration")
    _check_tail(data[end:])
    if "tree_sizes" in fields:
        # The loader jumps from tree to tree by these byte counts.
        declared = _ints(fields["tree_sizes"], "tree_sizes", where)
        if declared != [len(b) for b in blocks]:
            raise ValueError("its tree_sizes do not match its trees")
    for i, block in enumerate(blocks):
        if not block.startswith(f"Tree={i}\n"):
            raise ValueError(f"tree {i} is missing or out of order")
        _check_tree(i, block, max_feature)
    return classes if classes > 1 else 2


def _int_list(value: Any, key: str, where: str, length: int | None = None) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"{where}: {key} is not a list of whole numbers")
    if length is not None and len(value) != length:
        raise ValueError(f"{where}: {key} has {len(value)} values, not {length}")
    return value


def _param(mapping: Any, key: str, where: str) -> int:
    try:
        return int(str(mapping[key]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where} has no whole-number {key}") from None


_NO_PARENT = 2**31 - 1  # XGBoost's parent of the root


def _check_xgb_tree(index: int, tree: Any, features: int) -> None:
    where = f"tree {index}"
    if not isinstance(tree, dict):
        raise ValueError(f"{where} is not an object")
    params = tree.get("tree_param")
    nodes = _param(params, "num_nodes", where)
    if nodes < 1 or _param(params, "size_leaf_vector", where) > 1:
        raise ValueError(f"{where}: num_nodes or size_leaf_vector is out of range")
    lefts = _int_list(tree.get("left_children"), "left_children", where, nodes)
    rights = _int_list(tree.get("right_children"), "right_children", where, nodes)
    splits = _int_list(tree.get("split_indices"), "split_indices", where, nodes)
    kinds = _int_list(tree.get("split_type", [0] * nodes), "split_type", where, nodes)
    if _param(params, "num_deleted", where) != 0:
        raise ValueError(f"{where} has deleted nodes")
    parents = _int_list(tree.get("parents"), "parents", where, nodes)
    if parents[0] != _NO_PARENT or any(not 0 <= p < n for n, p in enumerate(parents[1:], 1)):
        raise ValueError(f"{where}: a node's parent lies outside the tree or after it")
    if any(k not in (0, 1) for k in kinds):
        raise ValueError(f"{where}: split_type holds a kind other than 0 and 1")
    for node, (left, right) in enumerate(zip(lefts, rights, strict=True)):
        if left == -1 and right == -1:
            continue  # a leaf
        # Children come after their parent: every walk ends at a leaf, inside the tree.
        if not (node < left < nodes and node < right < nodes) or left == right:
            raise ValueError(f"{where}: node {node} has a child outside the tree")
        if parents[left] != node or parents[right] != node:
            raise ValueError(f"{where}: node {node}'s children do not name it as parent")
        if not 0 <= splits[node] < features:
            raise ValueError(f"{where}: node {node} splits on a feature beyond num_feature")
    categories = _int_list(tree.get("categories", []), "categories", where)
    cat_nodes = _int_list(tree.get("categories_nodes", []), "categories_nodes", where)
    count = len(cat_nodes)
    offsets = _int_list(tree.get("categories_segments", []), "categories_segments", where, count)
    sizes = _int_list(tree.get("categories_sizes", []), "categories_sizes", where, count)
    if sorted(cat_nodes) != [n for n, k in enumerate(kinds) if k == 1]:
        raise ValueError(f"{where}: its categorical splits and categories_nodes disagree")
    for start, size in zip(offsets, sizes, strict=True):
        if start < 0 or size < 0 or start + size > len(categories):
            raise ValueError(f"{where}: a category set lies outside categories")
    if any(c < 0 for c in categories):
        raise ValueError(f"{where}: a category is negative")


def check_xgboost_model(model: Any) -> int:
    """Check an XGBoost model's trees (its JSON form) before XGBoost sees it; the number
    of classes.

    XGBoost's loader follows parent indices and its prediction child and feature indices
    unchecked: a crafted file crashes the process (segmentation fault) while loading or
    at the first predict. Raises ValueError saying what is wrong.

    Args:
        model: The model file, parsed as JSON.
    """
    learner = model.get("learner") if isinstance(model, dict) else None
    if not isinstance(learner, dict):
        raise ValueError("it has no learner")
    params = learner.get("learner_model_param")
    features = _param(params, "num_feature", "its learner")
    classes = _param(params, "num_class", "its learner")
    if _param(params, "num_target", "its learner") != 1 or features < 1 or classes < 0:
        raise ValueError("its learner has num_feature, num_class or num_target out of range")
    booster = learner.get("gradient_booster")
    if isinstance(booster, dict) and booster.get("name") == "dart":
        booster = booster.get("gbtree")
    if not isinstance(booster, dict) or booster.get("name") != "gbtree":
        raise ValueError("its booster is not a tree booster (gbtree or dart)")
    trees = booster.get("model", {}).get("trees")
    if not isinstance(trees, list) or not trees:
        raise ValueError("it has no trees")
    groups = max(classes, 1)
    info = _int_list(booster["model"].get("tree_info"), "tree_info", "its model", len(trees))
    if any(not 0 <= g < groups for g in info):
        raise ValueError("its tree_info names a class beyond num_class")
    indptr = booster["model"].get("iteration_indptr")
    if indptr is not None:
        steps = _int_list(indptr, "iteration_indptr", "its model")
        if not steps or steps[0] != 0 or steps[-1] != len(trees) or steps != sorted(steps):
            raise ValueError("its iteration_indptr does not divide its trees")
    for i, tree in enumerate(trees):
        _check_xgb_tree(i, tree, features)
    return classes if classes > 1 else 2
