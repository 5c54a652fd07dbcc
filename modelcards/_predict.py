"""Single predictions, what-if sweeps, decision flips and batch scoring for a LoadedModel.

Inputs arrive as text from URLs and CSV files; ``coerce_row`` turns them into the types of
the model's signature, and says which input is wrong and why when it cannot.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, TypedDict

import numpy as np
import pandas as pd

from ._model_warnings import collect_model_warnings, plain_model_warnings
from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ._profile import ColumnProfile
    from ._registry import LoadedModel, SignatureColumn

NUMERIC_TYPES = {"long", "integer", "double", "float"}
INTEGER_TYPES = {"long", "integer"}
#: One input in its signature's type, as ``coerce_value`` returns it.
InputValue: TypeAlias = bool | int | float | str
#: Largest upload the demo scores in one go.
MAX_BATCH_ROWS = 100_000
#: Largest file (MB) the demo accepts; the server refuses bigger uploads before reading them.
MAX_UPLOAD_MB = 20


@dataclass
class Prediction:
    """One prediction: a class label with its probabilities, or a regression's number.

    Attributes:
        label: What is shown: the class, or the predicted number as text.
        probabilities: Probability by class; empty for a regression.
        positive_probability: The positive class's probability; None for a regression.
        value: The predicted number of a regression; None for a classifier.
        warnings: What the model warned about while predicting (an unknown category,
            inputs without names), in plain words; empty when it said nothing.
    """

    label: str
    probabilities: dict[str, float]
    positive_probability: float | None
    value: float | None = None
    warnings: list[str] = field(default_factory=list)


def coerce_value(col: SignatureColumn, raw: Any) -> InputValue:
    """One input value in the signature's type, or a ValueError saying why not."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == "":
        raise ValueError("is missing")
    if col.type in NUMERIC_TYPES:
        if isinstance(raw, bool | np.bool_):  # JSON's true is no count: float(True) is 1
            raise ValueError(f"{raw!r} is not a number")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number")
        if col.type in INTEGER_TYPES:
            if not value.is_integer():
                raise ValueError(f"{raw!r} is not a whole number")
            return int(value)
        return value
    if col.type == "boolean":
        text = str(raw).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no"}:
            return False
        raise ValueError(f"{raw!r} is not true or false")
    return str(raw)


def coerce_row(model: LoadedModel, values: Mapping[str, Any]) -> pd.DataFrame:
    """A one-row frame in the model's input types; DataError names the first bad input.

    Args:
        model: The loaded version (its signature gives the types).
        values: The inputs by name; text (from a URL or a CSV) is converted.
    """
    return _frame(model, [coerce_inputs(model, values)])


def coerce_inputs(model: LoadedModel, values: Mapping[str, Any]) -> dict[str, InputValue]:
    """The inputs in the model's types, by name (``coerce_row`` without the frame);
    DataError names the first bad input.

    Args:
        model: The loaded version (its signature gives the types).
        values: The inputs by name; text (from a URL or a CSV) is converted.
    """
    row: dict[str, InputValue] = {}
    for col in model.inputs:
        try:
            row[col.name] = coerce_value(col, values.get(col.name))
        except ValueError as exc:
            raise DataError(
                f"Input {col.name!r} {exc}.", hint=f"Give {col.name} a {col.type} value."
            ) from None
    return row


def _frame(model: LoadedModel, rows: list[dict[str, InputValue]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=model.feature_names)
    for col in model.inputs:
        if col.type in INTEGER_TYPES:
            frame[col.name] = frame[col.name].astype("int64")
        elif col.type in NUMERIC_TYPES:
            frame[col.name] = frame[col.name].astype("float64")
    return frame


#: One-row inputs whose transformed columns each loaded version keeps (most recent last).
_TRANSFORMED_ROWS = 64
_rows_lock = threading.Lock()


class TransformedRow(NamedTuple):
    """A row through a pipeline's preprocessing.

    Attributes:
        values: The final estimator's input.
        warnings: What the preprocessing warned about (raw texts), said again on each
            use: a kept transform must not silence an unknown category's warning.
    """

    values: Any
    warnings: list[str]


def transformed_row(model: LoadedModel, frame: pd.DataFrame) -> TransformedRow | None:
    """The first row of ``frame`` through every step of the model's pipeline but the
    last (its final estimator's input), or None when the model is not a pipeline.

    Args:
        model: The loaded version.
        frame: The inputs (``coerce_row``); only the first row is used.

    Try it predicts and explains the same row in one rerun, and a one-row transform is
    most of each (about 4 ms through a ``ColumnTransformer``): the last few rows'
    transforms are kept with the loaded version, keyed by the row's values.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model.model, Pipeline) or len(model.model.steps) < 2:
        return None
    row = frame.iloc[:1]
    key = tuple(zip(row.columns, row.dtypes.astype(str), row.iloc[0].tolist(), strict=True))
    kept: dict[tuple[Any, ...], TransformedRow] = model._loaded.setdefault("transformed_rows", {})
    found = kept.get(key)
    if found is not None:
        return found
    # What Pipeline.predict_proba does before its final step, step by step.
    xt: Any = row
    with collect_model_warnings() as raised:
        for _, step in model.model.steps[:-1]:
            if step is not None and step != "passthrough":
                xt = step.transform(xt)
    done = TransformedRow(xt, raised)
    with _rows_lock:  # sessions predict at once
        kept[key] = done
        while len(kept) > _TRANSFORMED_ROWS:
            del kept[next(iter(kept))]
    return done


def predict_row(model: LoadedModel, frame: pd.DataFrame) -> Prediction:
    """The label and class probabilities for the first row of ``frame``.

    Args:
        model: The loaded version.
        frame: The inputs (``coerce_row``).
    """
    features = model.features(frame)
    if model.task == "regression" or not hasattr(model.model, "predict_proba"):
        return _answer(model, model.model, features)
    xt = transformed_row(model, features)
    if xt is None:
        return _answer(model, model.model, features)
    return _answer(model, model.model.steps[-1][1], xt.values, xt.warnings)


def predict_inputs(model: LoadedModel, row: Mapping[str, InputValue]) -> Prediction:
    """``predict_row`` for coerced inputs (``coerce_inputs``): a pipeline whose
    preprocessing compiles (``_rowpath``) answers without a DataFrame, which is most of
    a Try it rerun's time; anything else goes through ``predict_row``.

    Args:
        model: The loaded version.
        row: The inputs in the model's types.
    """
    from ._rowpath import row_path

    path = row_path(model)
    xt = path(row) if path is not None else None
    if xt is None:
        return predict_row(model, _frame(model, [dict(row)]))
    return _answer(model, model.model.steps[-1][1], xt)


def _answer(model: LoadedModel, estimator: Any, x: Any, warned: Sequence[str] = ()) -> Prediction:
    """The prediction of ``estimator`` (the model, or its final step) for the first row
    of ``x``; ``warned``: what the preprocessing said about the row already."""
    # Collected for this call only, whatever other sessions predict meanwhile.
    with collect_model_warnings() as raised:
        if model.task == "regression":
            value = float(estimator.predict(x)[0])
        elif not hasattr(estimator, "predict_proba"):
            label = str(estimator.predict(x)[0])
        else:
            proba = estimator.predict_proba(x)[0]
    said = plain_model_warnings([*raised, *warned])
    if model.task == "regression":
        return Prediction(f"{value:.6g}", {}, None, value, warnings=said)
    if not hasattr(estimator, "predict_proba"):
        return Prediction(label, {}, None, warnings=said)
    classes = [str(c) for c in model.model.classes_]
    probabilities = dict(zip(classes, map(float, proba), strict=True))
    return Prediction(
        label=classes[int(np.argmax(proba))],
        probabilities=probabilities,
        # A multiclass model has no positive class: every class's probability is shown.
        positive_probability=probabilities.get(str(model.positive_label))
        if model.positive_label is not None
        else None,
        warnings=said,
    )


def sweep_values(
    profile_col: ColumnProfile, points: int = 41, *, current: InputValue | None = None
) -> list[InputValue]:
    """Values across the training range (numeric) or the levels seen (categorical).

    Args:
        profile_col: The input's training profile.
        points: About how many numeric values (default 41).
        current: The input's current value: included, in order, so the curve passes
            through the current answer (an integer range's step may skip it otherwise).

    >>> from modelcards import ColumnProfile
    >>> age = ColumnProfile(name="age", kind="numeric", dtype="long", missing_share=0.0,
    ...                     min=12, max=66, integer=True)
    >>> 45 in sweep_values(age), 45 in sweep_values(age, current=45)
    (False, True)
    """
    if profile_col.kind == "numeric":
        lo, hi = profile_col.min, profile_col.max
        assert lo is not None and hi is not None, f"{profile_col.name} has no training range"
        values: list[InputValue]
        if profile_col.integer:
            step = max(1, math.ceil((hi - lo) / (points - 1)))
            values = list(range(int(lo), int(hi) + 1, step))
        else:
            values = [float(v) for v in np.linspace(lo, hi, points)]
        if (
            isinstance(current, int | float)
            and not isinstance(current, bool)
            and math.isfinite(current)
            and current not in values
        ):
            values = sorted([*values, current], key=float)
        return values
    levels: list[InputValue] = list(profile_col.levels or {})
    if current is not None and current not in levels:
        levels.append(current)  # an unseen level is swept too, and shown last
    return levels


def sweep(
    model: LoadedModel, frame: pd.DataFrame, feature: str, values: Sequence[InputValue]
) -> pd.DataFrame:
    """Positive-class probability (for a regression, the predicted number, in column
    ``prediction``) as ``feature`` takes each of ``values``, others fixed.

    Args:
        model: The loaded version.
        frame: One row of inputs (``coerce_row``).
        feature: The input to vary.
        values: Its values to try (``sweep_values``).
    """
    rows = pd.concat([frame] * len(values), ignore_index=True)
    rows[feature] = pd.Series(values, dtype=frame[feature].dtype)
    labels, scores = model.predict_with_scores(rows)
    if model.task == "regression":
        return pd.DataFrame(
            {"value": values, "prediction": np.asarray(labels, dtype=float), "label": ""}
        )
    return pd.DataFrame(
        {
            "value": values,
            "probability": scores if scores is not None else np.nan,
            "label": [str(v) for v in labels],
        }
    )


def smallest_flip(
    model: LoadedModel, frame: pd.DataFrame, feature: str, curve: pd.DataFrame
) -> InputValue | None:
    """The value of ``feature`` closest to the current one that changes the decision.

    Searches the sweep; for a numeric feature the crossing is then narrowed by bisection
    between the last unchanged and the first flipped value. None when nothing flips.
    """
    current = frame[feature].iloc[0]
    base = predict_row(model, frame).label
    flipped = curve[curve["label"] != base]
    if flipped.empty:
        return None
    if not pd.api.types.is_numeric_dtype(frame[feature]):
        level: str = flipped["value"].iloc[0]  # a categorical sweep runs over level names
        return level
    distance = (flipped["value"].astype(float) - float(current)).abs()
    target = float(flipped["value"].iloc[int(np.argmin(distance.to_numpy()))])
    lo, hi = float(current), target
    integer = pd.api.types.is_integer_dtype(frame[feature])
    for _ in range(30):
        if integer and abs(hi - lo) <= 1:
            break
        mid = (lo + hi) / 2
        mid = round(mid) if integer else mid
        probe = frame.copy()
        probe[feature] = pd.Series([mid], dtype=frame[feature].dtype)
        if predict_row(model, probe).label == base:
            lo = mid
        else:
            hi = mid
        if not integer and abs(hi - lo) < 1e-6 * max(1.0, abs(hi)):
            break
    return int(hi) if integer else _six_digits_past(hi, float(current))


def _six_digits_past(value: float, current: float) -> float:
    """``value`` in six significant digits, rounded away from ``current``: what a reader
    can copy (not 15.257893562316895), still on the flipped side of the crossing."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 5)
    outward = math.ceil if value > current else math.floor
    return float(f"{outward(value / step) * step:.6g}")


#: A row of ``flip_table``.
FlipRow = TypedDict("FlipRow", {"feature": str, "now": object, "flips at": object, "change": str})


def flip_table(model: LoadedModel, frame: pd.DataFrame) -> list[FlipRow]:
    """For every input: its value now, and the nearest value that flips the decision.

    Args:
        model: The loaded version (needs a training profile for the ranges).
        frame: One row of inputs (``coerce_row``).
    """
    assert model.profile is not None, f"{model.uri} has no training profile"
    rows: list[FlipRow] = []
    for name in model.feature_names:
        col = model.profile.column(name)
        now = frame[name].iloc[0]
        flip = smallest_flip(model, frame, name, sweep(model, frame, name, sweep_values(col)))
        rows.append(
            {
                "feature": name,
                "now": now,
                "flips at": "no value in the training range flips it" if flip is None else flip,
                "change": ""
                if flip is None or col.kind != "numeric"
                else f"{float(flip) - float(now):+g}",
            }
        )
    return rows


@dataclass
class BatchResult:
    """Scored rows, refused rows and warnings from ``score_batch``.

    Attributes:
        scored: The rows that were scored, their inputs as the model read them (numbers
            as numbers), with ``prediction`` and the positive class's probability.
        problems: Refused values: row (1-based, as in the file), column, problem.
        warnings: Scored values outside the training range or never seen in training:
            row, column, warning.
        model_warnings: What the model itself warned about while scoring (e.g. an
            unknown category), in plain words.
    """

    scored: pd.DataFrame
    problems: pd.DataFrame
    warnings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["row", "column", "warning"])
    )
    model_warnings: list[str] = field(default_factory=list)


def score_batch(model: LoadedModel, frame: pd.DataFrame) -> BatchResult:
    """Check every row against the signature; score the good rows, list the bad ones.

    Args:
        model: The loaded version.
        frame: The uploaded rows, at most ``MAX_BATCH_ROWS``.
    """
    if len(frame) > MAX_BATCH_ROWS:
        raise DataError(
            f"The file has {len(frame):,} rows; the demo scores at most {MAX_BATCH_ROWS:,}.",
            hint="Split the file, or use `modelcards card --data FILE` for large evaluations.",
        )
    missing = [c for c in model.feature_names if c not in frame.columns]
    if missing:
        raise DataError(
            f"The file lacks the input column(s) {', '.join(missing)}.",
            hint="Columns the model needs: " + ", ".join(model.feature_names) + ".",
        )
    from ._service import input_checker

    check = input_checker(model)
    problems: list[dict[str, object]] = []
    warnings: list[dict[str, object]] = []
    good_rows: list[dict[str, InputValue]] = []
    good_index: list[int] = []
    for i, record in enumerate(frame[model.feature_names].to_dict("records")):
        row: dict[str, InputValue] = {}
        bad = False
        for col in model.inputs:
            try:
                row[col.name] = coerce_value(col, record[col.name])
            except ValueError as exc:
                problems.append({"row": i + 1, "column": col.name, "problem": str(exc)})
                bad = True
        # The rule Try it uses: refuse what is impossible, warn about what is unseen.
        row_warnings = []
        for c in [] if bad else check(row):
            if c.problem:
                problems.append({"row": i + 1, "column": c.column, "problem": c.problem})
                bad = True
            elif c.warning:
                row_warnings.append({"row": i + 1, "column": c.column, "warning": c.warning})
        if not bad:
            good_rows.append(row)
            good_index.append(i)
            warnings.extend(row_warnings)
    scored = frame.iloc[good_index].copy()
    raised: list[str] = []
    if good_rows:
        inputs = _frame(model, good_rows)
        # The inputs as the model read them: a number stays a number in the download.
        for name in model.feature_names:
            scored[name] = inputs[name].to_numpy()
        multiclass = model.task == "multiclass_classification"
        with collect_model_warnings() as said:
            if multiclass:  # every class's probability, a column each
                labels, proba = model.predict_with_probabilities(inputs)
            else:
                labels, scores = model.predict_with_scores(inputs)
        raised = said
        # A regression's predictions stay numbers: the per-group errors need them.
        regression = model.task == "regression"
        scored["prediction"] = (
            np.asarray(labels, dtype=float) if regression else [str(v) for v in labels]
        )
        if multiclass and proba is not None:
            for k, c in enumerate(model.model.classes_):
                scored[f"probability_{c}"] = proba[:, k]
        elif not multiclass and scores is not None:
            scored[f"probability_{model.positive_label}"] = scores
    scored.insert(0, "row", [i + 1 for i in good_index])
    return BatchResult(
        scored=scored,
        problems=pd.DataFrame(problems, columns=["row", "column", "problem"]),
        warnings=pd.DataFrame(warnings, columns=["row", "column", "warning"]),
        model_warnings=plain_model_warnings(raised),
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _formula(v: object) -> bool:
    # A plain number such as "-5" is data, not a formula: it keeps its sign and its type.
    return isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.fullmatch(v)


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise text cells a spreadsheet would run as formulas (OWASP: prefix with ');
    numbers, and text that is a plain number, are left as they are.

    Args:
        frame: The rows to download; a copy is returned.

    >>> csv_safe(pd.DataFrame({"a": ["=1+2", "-5", "-x"], "b": [-5, 1, 2]})).to_dict("list")
    {'a': ["'=1+2", '-5', "'-x"], 'b': [-5, 1, 2]}
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if _formula(v) else v)
    out.columns = [
        "'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in out.columns
    ]
    return out
