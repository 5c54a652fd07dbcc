"""One row through a scikit-learn pipeline's preprocessing without pandas.

Try it answers one row per rerun, and scikit-learn's ``ColumnTransformer.transform`` on
a one-row DataFrame costs about 5 ms of checks, indexing and validation for a few
additions and one-hot lookups; with twenty people at once, that is most of the demo's
server time. ``row_path`` compiles the common preprocessing steps (``ColumnTransformer``,
``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, numeric ``SimpleImputer``,
``OneHotEncoder`` of text columns, ``passthrough``, nested ``Pipeline``) into plain
numpy arithmetic on the fitted attributes, in scikit-learn's own order of operations.

It is an optimisation, never a second opinion: a compiled path is used only after it
gave bit-for-bit the same transformed rows as scikit-learn on rows built from the
version's training profile (every level of every text input, each numeric input's
quantiles). Anything else (another transformer, an infrequent-category or ``drop``
encoder, a step with pandas output) is not compiled, and a row the path cannot answer
exactly (an unknown category, which scikit-learn warns about) goes through scikit-learn.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    from ._predict import InputValue
    from ._registry import LoadedModel

#: A compiled step on the numeric block it receives; None means "ask scikit-learn".
ArrayOp = Callable[[NDArray[np.float64]], NDArray[np.float64]]
#: A compiled first step: the row's inputs to one transformed row, or None.
RowOp = Callable[[Mapping[str, Any]], NDArray[np.float64] | None]

_compiling = threading.Lock()


class RowPath:
    """A compiled preprocessing for one row; call it with the coerced inputs.

    Returns the final estimator's input (a 1 x k float array, or a CSR matrix when
    scikit-learn would give a sparse one), or None when this row must go through
    scikit-learn (an unknown category).
    """

    def __init__(self, first: RowOp, sparse: bool) -> None:
        self._first = first
        self._sparse = sparse

    def __call__(self, row: Mapping[str, Any]) -> Any:
        out = self._first(row)
        if out is None:
            return None
        x = out.reshape(1, -1)
        if self._sparse:
            from scipy import sparse

            return sparse.csr_matrix(x)
        return x


def row_path(model: LoadedModel) -> RowPath | None:
    """The version's compiled one-row preprocessing, or None when it has none (not a
    pipeline, a step not covered, or a disagreement with scikit-learn on the check rows).
    Compiled and checked once per loaded version.

    Args:
        model: The loaded version.
    """
    kept = model._loaded.get("row_path")
    if kept is None:
        with _compiling:  # twenty sessions opening one version compile it once
            kept = model._loaded.get("row_path")
            if kept is None:
                try:
                    kept = _compile(model) or False
                except (AttributeError, TypeError, ValueError, KeyError, IndexError):
                    kept = False  # an unexpected fitted layout: scikit-learn answers
                model._loaded["row_path"] = kept
    return kept if isinstance(kept, RowPath) else None


def _compile(model: LoadedModel) -> RowPath | None:
    from sklearn.pipeline import Pipeline

    pipe = model.model
    if not isinstance(pipe, Pipeline) or len(pipe.steps) < 2:
        return None
    steps = [s for _, s in pipe.steps[:-1] if s is not None and s != "passthrough"]
    if not steps or hasattr(pipe.steps[-1][1], "feature_names_in_"):
        return None  # the estimator expects named columns: a DataFrame path
    names = list(model.feature_names)
    types = {c.name: c.type for c in model.inputs}
    first = _row_step(steps[0], names, types)
    if first is None:
        return None
    rest = [_array_step(s) for s in steps[1:]]
    if any(op is None for op in rest):
        return None
    ops = [op for op in rest if op is not None]

    def run(row: Mapping[str, Any]) -> NDArray[np.float64] | None:
        x = first(row)
        for op in ops:
            if x is None:
                return None
            x = op(x)
        return x

    sparse = _sparse_output(steps)
    path = RowPath(run, sparse)
    return path if _agrees(model, path, sparse) else None


def _sparse_output(steps: Sequence[Any]) -> bool:
    last = steps[-1]
    if type(last).__name__ == "ColumnTransformer":
        return bool(getattr(last, "sparse_output_", False))
    if type(last).__name__ == "OneHotEncoder":
        return bool(getattr(last, "sparse_output", False))
    return False


# -- steps on the row's inputs (the pipeline's first step) ----------------------------
def _row_step(step: Any, names: list[str], types: Mapping[str, str]) -> RowOp | None:
    kind = type(step).__name__
    seen = getattr(step, "feature_names_in_", None)
    if seen is not None and list(seen) != names:
        return None
    if kind == "ColumnTransformer":
        return _column_transformer(step, names, types)
    return _block(step, names, types)


def _column_transformer(ct: Any, names: list[str], types: Mapping[str, str]) -> RowOp | None:
    if getattr(ct, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        return None
    blocks: list[RowOp] = []
    for _name, trans, columns in ct.transformers_:
        cols = _column_names(columns, names)
        if cols is None:
            return None
        if trans == "drop" or not cols:
            continue
        op = _block(trans, cols, types)
        if op is None:
            return None
        blocks.append(op)

    def run(row: Mapping[str, Any]) -> NDArray[np.float64] | None:
        parts = []
        for op in blocks:
            part = op(row)
            if part is None:
                return None
            parts.append(part)
        return np.concatenate(parts) if parts else np.empty(0)

    return run


def _column_names(columns: Any, names: list[str]) -> list[str] | None:
    """A ColumnTransformer's column selection as input names; None when it is a form
    not covered (a single name selects a 1-d column, a mask, a slice or a callable)."""
    if isinstance(columns, str) or callable(columns) or isinstance(columns, slice):
        return None
    picked = list(np.asarray(columns).tolist()) if not isinstance(columns, list) else columns
    out = []
    for c in picked:
        if isinstance(c, bool):
            return None
        if isinstance(c, str) and c in names:
            out.append(c)
        elif isinstance(c, int) and 0 <= c < len(names):
            out.append(names[c])
        else:
            return None
    return out


def _block(step: Any, cols: list[str], types: Mapping[str, str]) -> RowOp | None:
    """A transformer (or ``passthrough``) on the inputs ``cols``."""
    from ._predict import NUMERIC_TYPES

    numeric = all(types.get(c) in NUMERIC_TYPES for c in cols)
    text = all(types.get(c) == "string" for c in cols)
    if _identity(step):  # a fitted ColumnTransformer's "passthrough" remainder
        step = "passthrough"
    if isinstance(step, str):
        if step != "passthrough" or not numeric:
            return None
        return lambda row: _numbers(row, cols)
    kind = type(step).__name__
    if kind == "OneHotEncoder":
        return _one_hot(step, cols) if text else None
    if kind == "Pipeline":
        inner = [s for _, s in step.steps if s is not None and s != "passthrough"]
        if not inner:
            return None
        head = _block(inner[0], cols, types)
        tail = [_array_step(s) for s in inner[1:]]
        if head is None or any(op is None for op in tail):
            return None
        ops = [op for op in tail if op is not None]

        def chain(row: Mapping[str, Any]) -> NDArray[np.float64] | None:
            x = head(row)
            for op in ops:
                if x is None:
                    return None
                x = op(x)
            return x

        return chain
    if not numeric:
        return None
    op = _array_step(step)
    if op is None:
        return None
    return lambda row: op(_numbers(row, cols))


def _numbers(row: Mapping[str, Any], cols: list[str]) -> NDArray[np.float64]:
    return np.array([float(row[c]) for c in cols], dtype=np.float64)


def _one_hot(enc: Any, cols: list[str]) -> RowOp | None:
    if getattr(enc, "drop_idx_", None) is not None or getattr(enc, "_infrequent_enabled", False):
        return None
    cats = enc.categories_
    if len(cats) != len(cols) or any(not all(isinstance(v, str) for v in c.tolist()) for c in cats):
        return None
    index = [{v: i for i, v in enumerate(c.tolist())} for c in cats]
    widths = [len(c) for c in cats]
    width = sum(widths)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(int).tolist()

    def run(row: Mapping[str, Any]) -> NDArray[np.float64] | None:
        out = np.zeros(width, dtype=np.float64)
        for col, lookup, start in zip(cols, index, starts, strict=True):
            at = lookup.get(row[col])
            if at is None:  # unknown: scikit-learn decides (it warns, or raises)
                return None
            out[start + at] = 1.0
        return out

    return run


# -- steps on numbers (inside a block, or after the first step) ------------------------
def _identity(step: Any) -> bool:
    return (
        type(step).__name__ == "FunctionTransformer"
        and step.func is None
        and getattr(step, "_sklearn_output_config", {}).get("transform") in (None, "default")
    )


def _array_step(step: Any) -> ArrayOp | None:
    kind = type(step).__name__
    if _identity(step):
        return lambda x: x
    if getattr(step, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        return None
    if kind == "StandardScaler":
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None

        def standard(x: NDArray[np.float64]) -> NDArray[np.float64]:
            if mean is not None:
                x = x - mean
            if scale is not None:
                x = x / scale
            return x

        return standard
    if kind == "MinMaxScaler":
        if step.clip:
            return None
        scale_, min_ = step.scale_, step.min_
        return lambda x: x * scale_ + min_
    if kind == "MaxAbsScaler":
        scale = step.scale_
        return lambda x: x / scale
    if kind == "SimpleImputer":
        stats = np.asarray(step.statistics_, dtype=np.float64)
        missing = step.missing_values
        if (
            step.add_indicator
            or not (isinstance(missing, float) and math.isnan(missing))
            or np.isnan(stats).any()
        ):
            return None
        return lambda x: np.where(np.isnan(x), stats, x)
    return None


# -- the check against scikit-learn ------------------------------------------------------
def check_rows(model: LoadedModel) -> list[dict[str, InputValue]]:
    """Rows built from the training profile: each text input's levels in turn, each
    numeric input's minimum, quartiles, median, mean and maximum; empty without a
    profile that covers every input."""
    from ._predict import INTEGER_TYPES, NUMERIC_TYPES, coerce_value
    from ._service import column_profile

    choices: dict[str, list[Any]] = {}
    for col in model.inputs:
        prof = column_profile(model, col.name)
        if prof is None:
            return []
        vals: list[Any]
        if col.type in NUMERIC_TYPES:
            raw = [prof.min, prof.q25, prof.median, prof.q75, prof.max, prof.mean]
            vals = [v for v in raw if v is not None and math.isfinite(v)]
            if col.type in INTEGER_TYPES:
                vals = [round(v) for v in vals]
        elif col.type == "boolean":
            vals = [True, False]
        else:
            vals = list(prof.levels or {})
        if not vals:
            return []
        choices[col.name] = [coerce_value(col, v) for v in vals]
    longest = max(len(v) for v in choices.values())
    return [{k: v[i % len(v)] for k, v in choices.items()} for i in range(longest)]


def _dense(x: Any) -> NDArray[Any]:
    """A transformed row as a dense array (scikit-learn's or ours, sparse or not)."""
    from scipy import sparse as sp

    # scipy ships no types for its matrices' methods.
    return np.asarray(x.toarray() if sp.issparse(x) else x)  # type: ignore[attr-defined]


def _agrees(model: LoadedModel, path: RowPath, sparse: bool) -> bool:
    """Whether the compiled path gives exactly scikit-learn's transformed row, and the
    same answer from the final estimator, on every check row scikit-learn answers
    without a warning."""
    from scipy import sparse as sp

    from ._model_warnings import collect_model_warnings
    from ._predict import _frame

    rows = check_rows(model)
    if not rows:
        return False
    final = model.model.steps[-1][1]
    answer = getattr(final, "predict_proba", None) or final.predict
    compared = 0
    for row in rows:
        fast = path(row)
        # This thread's warnings only: other sessions predict meanwhile.
        with collect_model_warnings() as raised:
            xt: Any = _frame(model, [row])
            for _, step in model.model.steps[:-1]:
                if step is not None and step != "passthrough":
                    xt = step.transform(xt)
        if raised:
            continue  # e.g. a level the encoder never saw: scikit-learn's to answer
        if fast is None or sp.issparse(xt) != sparse:
            return False
        slow, got = _dense(xt), _dense(fast)
        if slow.dtype.kind not in "fiub" or not np.array_equal(
            got, slow.astype(np.float64, copy=False), equal_nan=True
        ):
            return False
        if not np.array_equal(answer(fast), answer(xt)):
            return False
        compared += 1
    return compared > 0
