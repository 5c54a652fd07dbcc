"""From inputs to a card, as named steps that each can be called on its own.

::

    source = PredictionSource.choose(model=..., predictions=..., scores=..., threshold=...)
    loaded = load_model(source)                       # a registered model, or None
    inputs = read_evaluation(data, loaded=loaded, target=..., sensitive=..., options=...)
    preds  = obtain_predictions(source, inputs, loaded=loaded)
    assessment = assess_inputs(inputs, preds, options=options)
    card   = make_card(inputs, preds, assessment, policy=..., spec=..., loaded=loaded)
    write_card(card, "model_card/")                   # all formats, moved into place together

``generate_card`` runs them in that order; the CLI and both apps call it (or the steps).
Every check on the inputs runs before any file is written, so bad input leaves nothing
behind. Work that needs no predictions (hashing the file, encoding the groups) runs on a
second core while the model predicts; those results travel as ``Future`` objects, always.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._background import background, done
from ._batched import BATCH_ROWS, Engine, NotBinaryError, batched_card, choose_engine
from ._card import (
    ComparedWith,
    DataProvenance,
    KnownCase,
    ModelCard,
    SpecBase,
    build_card,
    computed_sections,
)
from ._card import load_spec as _load_spec
from ._card import parse_spec as _parse_spec
from ._data import read_table, require_columns
from ._digest import sha256_future
from ._evaluate import Assessment, Groups, assess_groups, prepare_groups
from ._flavors import DISTRIBUTIONS, describe_estimator, final_framework
from ._metrics import Task
from ._multiclass import (
    MulticlassGroups,
    assess_multiclass_groups,
    prepare_multiclass_groups,
)
from ._policy import (
    Policy,
    PolicyResult,
    judge_known_cases,
    load_policy,
    no_policy,
    parse_policy,
)
from ._regression import RegressionGroups, assess_regression_groups, prepare_regression_groups
from .errors import DataError, ModelcardsError, UnsupportedTaskError

if TYPE_CHECKING:  # pragma: no cover
    from ._compare import Comparison
    from ._registry import LoadedModel, Registry
    from ._store import Store
    from ._summary import ReleaseSummary

FILES = {
    "html": "model_card.html",
    "markdown": "model_card.md",
    "json": "model_card.json",
    "pdf": "model_card_summary.pdf",
}
Progress = Callable[[str], None]


def _quiet(msg: str) -> None:
    """The default progress callback: says nothing."""


# -- settings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PredictionSource:
    """Where a card's predictions come from: exactly one of three ways.

    Attributes:
        kind: ``"model"`` (a registered model predicts; ``threshold`` may cut its
            probabilities), ``"column"`` (a column of predicted labels) or ``"scores"``
            (a column of scores, positive at ``>= threshold``).
        model: A reference such as ``"models:/NAME@ALIAS"``, or a loaded model.
        column: The predictions or scores column.
        threshold: The score threshold.
    """

    kind: Literal["model", "column", "scores"]
    model: str | LoadedModel | None = None
    column: str | None = None
    threshold: float | None = None

    @classmethod
    def choose(
        cls,
        *,
        model: str | LoadedModel | None = None,
        predictions: str | None = None,
        scores: str | None = None,
        threshold: float | None = None,
    ) -> PredictionSource:
        """The one source the arguments name; a DataError when they name none or several.

        Args:
            model: A registered model reference or loaded model (``--model``).
            predictions: A column of predicted labels (``--predictions``).
            scores: A column of scores (``--scores``); needs ``threshold``.
            threshold: Scores at or above it are predicted positive (``--threshold``).

        >>> PredictionSource.choose(scores="score", threshold=0.5).kind
        'scores'
        """
        given = [("--model", model), ("--predictions", predictions), ("--scores", scores)]
        modes = [flag for flag, value in given if value is not None]
        if len(modes) != 1:
            raise DataError(
                "Say where the predictions come from."
                if not modes
                else f"{' and '.join(modes)} cannot be combined.",
                hint="Use one of --model models:/NAME@ALIAS, --predictions COLUMN, or "
                "--scores COLUMN --threshold T.",
            )
        if scores is not None and threshold is None:
            raise DataError(
                "--scores needs --threshold: rows scoring at least T are predicted positive.",
                hint="For example --scores score --threshold 0.5.",
            )
        if predictions is not None and threshold is not None:
            raise DataError(
                "--threshold applies to scores, not to a --predictions column.",
                hint="Drop --threshold, or give --scores COLUMN instead.",
            )
        if threshold is not None and not np.isfinite(threshold):
            raise DataError(f"--threshold must be a finite number, got {threshold}.")
        if model is not None:
            return cls("model", model=model, threshold=threshold)
        if predictions is not None:
            return cls("column", column=predictions)
        return cls("scores", column=scores, threshold=threshold)


@dataclass(frozen=True)
class CardOptions:
    """How the assessment is computed.

    Attributes:
        confidence: Interval level (default 0.95).
        min_group_size: Smaller groups are flagged and left out of disparities (default 30).
        positive_label: The positive outcome, when neither the target nor the model says.
        reference_groups: Measure the disparities of a column against one of its groups,
            e.g. ``{"race": "White"}``.
        intersection: Also assess the intersection of all sensitive columns (default True).
    """

    confidence: float = 0.95
    min_group_size: int = 30
    positive_label: Any = None
    reference_groups: Mapping[str, str] | None = None
    intersection: bool = True

    def __post_init__(self) -> None:
        if self.min_group_size < 1:
            raise DataError(f"--min-group-size must be at least 1, got {self.min_group_size}.")
        if not 0.5 <= self.confidence < 1:
            raise DataError(
                f"--confidence must be at least 0.5 and below 1, got {self.confidence}.",
                hint="For example --confidence 0.95.",
            )


# -- step 1: the model ------------------------------------------------------------------
def load_model(
    source: PredictionSource,
    *,
    registry: Registry | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
) -> LoadedModel | None:
    """The registered model a source names, loaded safely; None for a column source.

    Args:
        source: From ``PredictionSource.choose``.
        registry: Where to load from (default: ``Registry()``).
        allow_pickle: Allow pickle model files, which run code when loaded (default False).
        trusted_types: More types to trust in a skops file (default and None: none).
        progress: Called with a short message as the step starts.
    """
    if source.kind != "model" or source.model is None:
        return None
    if isinstance(source.model, str):
        if registry is None:
            from ._registry import Registry

            registry = Registry()
        progress(f"loading {source.model}")
        loaded = registry.load(
            source.model, allow_pickle=allow_pickle, trusted_types=tuple(trusted_types or ())
        )
    else:
        loaded = source.model
    if loaded.task in ("regression", "multiclass_classification"):
        return loaded
    if loaded.task not in ("binary_classification", "unknown") or len(loaded.classes) != 2:
        raise UnsupportedTaskError(
            f"{loaded.uri} is a {loaded.task} model with classes {loaded.classes}; "
            "modelcards supports binary and multiclass classification and regression only."
        )
    return loaded


def resolve_spec(
    spec: str | Path | dict[str, Any] | SpecBase | None, loaded: LoadedModel | None
) -> SpecBase:
    """The card spec: the one given, else the one stored with the model, else empty.

    Args:
        spec: A YAML path, a mapping, a parsed spec, or None.
        loaded: The registered model, whose stored spec is the default.
    """
    if isinstance(spec, SpecBase):
        return spec
    if isinstance(spec, dict):
        return _parse_spec(spec)
    if spec is not None:
        return _load_spec(spec)
    if loaded is not None and loaded.card_spec is not None:
        return _parse_spec(loaded.card_spec, source=f"the card spec stored with {loaded.uri}")
    return _parse_spec(None)


def resolve_policy(policy: str | Path | Policy | None, loaded: LoadedModel | None) -> Policy | None:
    """The release policy: the one given, else the one stored with the model, else None.

    Args:
        policy: A YAML path, a parsed policy, or None.
        loaded: The registered model, whose stored policy is the default.
    """
    if isinstance(policy, Policy):
        return policy
    if policy is not None:
        return load_policy(policy)
    if loaded is not None and loaded.policy_text:
        return parse_policy(loaded.policy_text, source=f"the policy stored with {loaded.uri}")
    return None


# -- step 2: the evaluation data --------------------------------------------------------
@dataclass
class EvaluationInputs:
    """The evaluation data, checked: target, sensitive columns and the positive outcome.

    Attributes:
        frame: The rows.
        target: The target column.
        sensitive: The sensitive columns.
        positive: The positive outcome, as the target holds it (None for a regression or
            a multiclass model).
        negative: The other outcome (None likewise).
        values: The target's classes: its two values, a multiclass model's classes in the
            model's order (empty for a regression).
        where: How messages name the data (``"eval.csv"``).
        source: How the card names the data.
        sha256: The data's SHA-256 (computed on a second core for files).
        groups: The encoded groups (computed on a second core while the model predicts).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``: from the model, else
            from the target.
    """

    frame: pd.DataFrame
    target: str
    sensitive: list[str]
    positive: Any
    negative: Any
    values: list[Any]
    where: str
    source: str
    sha256: Future[str]
    groups: Future[Groups] | Future[RegressionGroups] | Future[MulticlassGroups] = field(repr=False)
    task: Task = "binary"


def check_target_role(target: str | None, loaded: LoadedModel | None) -> None:
    """Refuse a target that is one of the model's own inputs: its card would measure how
    well the model predicts what it was given (``--target employed`` on a model that
    takes ``employed``), with no error, since such a column often has two values too.

    Args:
        target: The target column asked for (None: the model's own).
        loaded: The registered model, if any.
    """
    if loaded is None or target is None or target not in loaded.feature_names:
        return
    said = f" (registered: {loaded.target!r})" if loaded.target else ""
    raise DataError(
        f"--target {target!r} is one of the model's inputs, not the outcome it predicts{said}.",
        hint="Name the column that holds the true outcome"
        + (f", or leave --target out to use {loaded.target!r}." if loaded.target else "."),
    )


def read_evaluation(
    data: str | Path | pd.DataFrame | None,
    *,
    loaded: LoadedModel | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | None = None,
    options: CardOptions = CardOptions(),
    progress: Progress = _quiet,
) -> EvaluationInputs:
    """Read the evaluation data and check the target and sensitive columns.

    Args:
        data: A CSV or Parquet path, a DataFrame, or None for the split stored with
            ``loaded``.
        loaded: The registered model; its stored target, sensitive columns and split are
            the defaults.
        target: The true outcome column (default: the model's).
        sensitive: Sensitive columns (default: the model's).
        options: Positive label, reference groups and whether to assess the intersection.
        progress: Called with a short message as the step starts.
    """
    check_target_role(target, loaded)
    target = target or (loaded.target if loaded else None)
    if not target:
        raise DataError("Name the target column with --target COLUMN.")
    cols = list(sensitive or (loaded.sensitive_features if loaded else []))
    if not cols:
        raise DataError("Name at least one sensitive column with --sensitive COL[,COL...].")
    frame, where, source, digest = _load_frame(data, loaded, cols, progress)
    require_columns(frame, [target], where=where, role="target")
    require_columns(frame, cols, where=where, role="sensitive")
    for col in options.reference_groups or {}:
        if col not in cols:
            raise DataError(
                f"--reference names {col!r}, which is not a sensitive column.",
                hint="Sensitive columns: " + ", ".join(cols) + ".",
            )
    if target in cols:
        raise DataError(f"{target!r} is both the target and a sensitive column.")
    y_true = frame[target]
    if _task_of(loaded, y_true) == "regression":
        if options.positive_label is not None:
            raise DataError(
                f"--positive-label applies to classifiers; the target {target!r} holds "
                "numbers and the card is a regression card.",
                hint="Drop --positive-label.",
            )
        reg_groups = background(
            prepare_regression_groups,
            y_true.to_numpy(),
            sensitive_features=frame[cols],
            intersection=options.intersection,
        )
        return EvaluationInputs(
            frame, target, cols, None, None, [], where, source, digest, reg_groups, "regression"
        )
    task = _task_of(loaded, y_true)
    values = _check_target(y_true, target, multiclass=task == "multiclass")
    if task == "multiclass":
        if options.positive_label is not None:
            raise positive_label_on_multiclass(target, len(values))
        classes = _multiclass_classes(values, loaded, target)
        mc_groups = background(
            prepare_multiclass_groups,
            y_true.to_numpy(),
            sensitive_features=frame[cols],
            classes=classes,
            intersection=options.intersection,
        )
        return EvaluationInputs(
            frame, target, cols, None, None, classes, where, source, digest, mc_groups, "multiclass"
        )
    model_positive = loaded.positive_label if loaded else None
    pos = _positive_label(values, options.positive_label, model_positive, target)
    neg = next(v for v in values if v != pos)
    # The groups need no predictions: they are checked and encoded on a second core
    # while the model predicts (errors surface, as ever, before anything is written).
    groups = background(
        prepare_groups,
        y_true.to_numpy(),
        sensitive_features=frame[cols],
        pos_label=pos,
        intersection=options.intersection,
    )
    return EvaluationInputs(frame, target, cols, pos, neg, values, where, source, digest, groups)


def positive_label_on_multiclass(target: str, n_classes: int) -> DataError:
    """The error for ``--positive-label`` on a multiclass card, the same from every engine.

    Args:
        target: The target column.
        n_classes: How many classes it holds.
    """
    return DataError(
        f"--positive-label applies to binary classifiers; the target {target!r} has "
        f"{n_classes} classes, and a multiclass card reports each one-vs-rest.",
        hint="Drop --positive-label.",
    )


def _task_of(loaded: LoadedModel | None, y: pd.Series) -> Task:
    """The model's task; without a model, a regression when the target holds numbers
    with more than two distinct values, multiclass when it holds more than two labels
    that are not numbers, else binary."""
    if loaded is not None:
        if loaded.task in ("regression", "multiclass_classification"):
            return "regression" if loaded.task == "regression" else "multiclass"
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if y.nunique() > 2:
        return "regression" if numeric else "multiclass"
    return "binary"


def _multiclass_classes(values: list[Any], loaded: LoadedModel | None, target: str) -> list[Any]:
    """A multiclass card's classes: the model's, in its order, matched to the target's
    values by text; without a model, the target's values sorted as text."""
    if loaded is None:
        return sorted(values, key=str)
    known = {str(c) for c in loaded.classes}
    extra = sorted(str(v) for v in values if str(v) not in known)
    if extra:
        raise DataError(
            f"The target {target!r} holds {extra}, which {loaded.uri} never predicts "
            f"(its classes: {[str(c) for c in loaded.classes]}).",
            hint="Use the target column the model was trained on, with the same labels.",
        )
    by_text = {str(v): v for v in values}
    return [by_text.get(str(c), c) for c in loaded.classes]


def _load_frame(
    data: str | Path | pd.DataFrame | None,
    loaded: LoadedModel | None,
    sensitive: list[str],
    progress: Progress,
) -> tuple[pd.DataFrame, str, str, Future[str]]:
    """The rows, how messages and the card name them, and their hash."""
    if data is None:
        if loaded is None:
            raise DataError(
                "Without --model, --data is required.",
                hint="Give the evaluation data with --data FILE.",
            )
        progress(f"reading the evaluation split stored with {loaded.uri}")
        frame = loaded.evaluation_split()
        where = f"the evaluation split of {loaded.uri}"
        digest = done(loaded.evaluation_sha256 or "")
        return frame, where, f"{loaded.uri} (evaluation split)", digest
    if isinstance(data, pd.DataFrame):
        return data, "the data", "in-memory data frame", done(frame_digest(data))
    progress(f"reading {data}")
    # Sensitive columns that are not model inputs only label groups: read them as
    # categoricals straight from Parquet's dictionaries.
    inputs = set(loaded.feature_names) if loaded else set()
    frame = read_table(data, categorical=[c for c in sensitive if c not in inputs])
    # The reader uses every core; the hash runs on a second one while we predict.
    return frame, Path(data).name, Path(data).name, sha256_future(data)


def _positive_label(values: list[Any], wanted: Any, model_positive: Any, column: str) -> Any:
    if wanted is not None:
        for v in values:
            if str(v) == str(wanted):
                return v
        raise DataError(
            f"--positive-label {wanted!r} is not a value of the target {column!r}.",
            hint="Its values: " + ", ".join(map(repr, map(str, values[:10]))) + ".",
        )
    if model_positive is not None:
        for v in values:
            if str(v) == str(model_positive):
                return v
        return model_positive
    as_text = {str(v).lower() for v in values}
    if as_text <= {"0", "1"} or as_text <= {"false", "true"} or as_text <= {"-1", "1"}:
        return next((v for v in values if str(v).lower() in {"1", "true"}), 1)
    raise DataError(
        f"Cannot tell which value of the target {column!r} is the positive outcome "
        f"({', '.join(map(repr, map(str, values[:10])))}).",
        hint="Name it with --positive-label VALUE.",
    )


def _check_target(y: pd.Series, column: str, *, multiclass: bool = False) -> list[Any]:
    """The target's distinct values, once checked: no missing value, exactly two (or
    at least two for a multiclass model)."""
    missing = y.isna()
    first = int(np.flatnonzero(missing.to_numpy())[0]) if missing.any() else None
    return check_target_values(
        list(pd.unique(y)), int(missing.sum()), first, column, multiclass=multiclass
    )


def check_target_values(
    values: list[Any],
    missing: int,
    first_missing: int | None,
    column: str,
    *,
    multiclass: bool = False,
) -> list[Any]:
    """The checks of ``_check_target`` on what any engine can count: the distinct values
    in order of appearance (missing included), how many are missing and the first one's
    row (0-based). Returns the values.

    Args:
        values: The distinct values, in order of appearance.
        missing: How many rows have no value.
        first_missing: The first such row, or None.
        column: The target column, for messages.
        multiclass: Whether more than two values are allowed (a multiclass model).
    """
    if missing:
        raise DataError(
            f"The target column {column!r} has {missing} missing value(s) "
            f"(first at data row {(first_missing or 0) + 1}).",
            hint="Drop or fill those rows first.",
        )
    if len(values) > 2 and not multiclass:
        shown = ", ".join(repr(str(v)) for v in values[:6])
        raise UnsupportedTaskError(
            f"The target column {column!r} has {len(values)} distinct values ({shown}"
            f"{', ...' if len(values) > 6 else ''}); the model is a binary classifier.",
            hint="Give a target with exactly two values, or a multiclass model.",
        )
    if len(values) < 2:
        raise DataError(
            f"The target column {column!r} has a single value ({str(values[0])!r}); error rates "
            "per group need both outcomes.",
            hint="Evaluate on data that holds both outcomes.",
        )
    return values


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values (for data that never was a file).

    Args:
        frame: The rows.
    """
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


# -- step 3: predictions ----------------------------------------------------------------
@dataclass
class Predictions:
    """Predicted labels (in the target's values) and, where there are any, scores.

    Attributes:
        labels: One predicted label per row.
        scores: The positive class's probability or score per row, or None.
        described: Where they came from, for the card (``"column 'decision'"``).
        threshold: The threshold that cut scores into labels, if one did.
        probabilities: A multiclass model's probability of each class per row (columns
            in the order of ``EvaluationInputs.values``), or None.
    """

    labels: NDArray[Any]  # the target's own values: numbers, strings or booleans
    scores: NDArray[np.float64] | None
    described: str
    threshold: float | None = None
    probabilities: NDArray[np.float64] | None = None


def obtain_predictions(
    source: PredictionSource,
    inputs: EvaluationInputs,
    *,
    loaded: LoadedModel | None = None,
    progress: Progress = _quiet,
) -> Predictions:
    """Predictions for every row: from the model, a labels column, or thresholded scores.

    Args:
        source: From ``PredictionSource.choose``.
        inputs: From ``read_evaluation``.
        loaded: The model, for ``source.kind == "model"`` (from ``load_model``).
        progress: Called with a short message as the step starts.
    """
    if inputs.task == "regression" and source.kind == "scores":
        raise DataError(
            "--scores and --threshold cut scores into classes; the target "
            f"{inputs.target!r} holds numbers, so this is a regression card.",
            hint="Give the predicted values with --predictions COLUMN.",
        )
    if inputs.task == "multiclass" and (source.kind == "scores" or source.threshold is not None):
        raise DataError(
            "--scores and --threshold cut one score into two classes; the target "
            f"{inputs.target!r} has {len(inputs.values)} classes.",
            hint="Give the predicted classes with --predictions COLUMN, or a model.",
        )
    if source.kind == "model":
        if loaded is None:
            raise DataError("A model source needs the loaded model (see load_model).")
        if inputs.task == "regression":
            return _regression_predictions(loaded, inputs, source.threshold, progress)
        if inputs.task == "multiclass":
            return _multiclass_predictions(loaded, inputs, progress)
        return _model_predictions(loaded, inputs, source.threshold, progress)
    assert source.column is not None  # set by PredictionSource.choose
    role = "predictions" if source.kind == "column" else "scores"
    require_columns(inputs.frame, [source.column], where=inputs.where, role=role)
    if source.kind == "column" and inputs.task == "regression":
        return Predictions(
            inputs.frame[source.column].to_numpy(), None, f"column {source.column!r}"
        )
    if source.kind == "column":
        return _column_predictions(inputs, source.column)
    assert source.threshold is not None
    return _score_predictions(inputs, source.column, source.threshold)


def _model_predictions(
    loaded: LoadedModel, inputs: EvaluationInputs, threshold: float | None, progress: Progress
) -> Predictions:
    frame, values = inputs.frame, inputs.values
    require_columns(frame, loaded.feature_names, where=inputs.where, role="model input")
    check_model_classes(loaded, values, inputs.target)
    progress(f"predicting {len(frame):,} rows with {loaded.uri}")
    try:
        raw, scores = loaded.predict_with_scores(frame)
        if threshold is not None and scores is not None:
            labels = np.where(scores >= threshold, inputs.positive, inputs.negative)
        else:
            labels = relabel(raw, values, getattr(loaded.model, "classes_", None))
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(
            f"{loaded.uri} could not predict on {inputs.where}: {str(exc).splitlines()[0]}",
            hint="Check that the input columns have the types of the model's signature.",
        ) from exc
    described = loaded.uri + (f" at threshold {threshold:g}" if threshold is not None else "")
    return Predictions(labels, scores, described, threshold)


def check_model_classes(loaded: LoadedModel, values: list[Any], target: str) -> None:
    """A DataError when the target's values are not the model's classes.

    Args:
        loaded: The model.
        values: The target's two values.
        target: The target column, for messages.
    """
    classes = {str(c) for c in loaded.classes}
    if not {str(v) for v in values} <= classes:
        raise DataError(
            f"The target {target!r} holds {sorted(map(str, values))} but "
            f"{loaded.uri} predicts {sorted(classes)}.",
            hint="Use the target column the model was trained on, with the same labels.",
        )


def _multiclass_predictions(
    loaded: LoadedModel, inputs: EvaluationInputs, progress: Progress
) -> Predictions:
    require_columns(inputs.frame, loaded.feature_names, where=inputs.where, role="model input")
    progress(f"predicting {len(inputs.frame):,} rows with {loaded.uri}")
    try:
        raw, proba = loaded.predict_with_probabilities(inputs.frame)
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(
            f"{loaded.uri} could not predict on {inputs.where}: {str(exc).splitlines()[0]}",
            hint="Check that the input columns have the types of the model's signature.",
        ) from exc
    if proba is not None:  # columns in the order of inputs.values (the model's classes)
        order = [str(c) for c in getattr(loaded.model, "classes_", loaded.classes)]
        proba = proba[:, [order.index(str(v)) for v in inputs.values]]
    return Predictions(raw, None, loaded.uri, probabilities=proba)


def _regression_predictions(
    loaded: LoadedModel, inputs: EvaluationInputs, threshold: float | None, progress: Progress
) -> Predictions:
    if threshold is not None:
        raise DataError(
            f"--threshold cuts a classifier's probabilities; {loaded.uri} is a regression model.",
            hint="Drop --threshold.",
        )
    require_columns(inputs.frame, loaded.feature_names, where=inputs.where, role="model input")
    progress(f"predicting {len(inputs.frame):,} rows with {loaded.uri}")
    try:
        values = np.asarray(loaded.predict(inputs.frame), dtype=float)
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(
            f"{loaded.uri} could not predict on {inputs.where}: {str(exc).splitlines()[0]}",
            hint="Check that the input columns have the types of the model's signature.",
        ) from exc
    return Predictions(values, None, loaded.uri)


def _column_predictions(inputs: EvaluationInputs, column: str) -> Predictions:
    col = inputs.frame[column]
    if col.isna().any():
        raise DataError(
            f"The predictions column {column!r} has {int(col.isna().sum())} missing value(s).",
            hint="Every row needs a prediction.",
        )
    return Predictions(relabel(col.to_numpy(), inputs.values), None, f"column {column!r}")


def _score_predictions(inputs: EvaluationInputs, column: str, threshold: float) -> Predictions:
    raw = inputs.frame[column]
    s = pd.to_numeric(raw, errors="coerce")
    bad = s.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"The scores column {column!r} holds non-numbers, e.g. "
            f"{str(raw.iloc[row])!r} at data row {row + 1}.",
            hint="Scores must be numbers.",
        )
    if s.isna().any():
        raise DataError(
            f"The scores column {column!r} has {int(s.isna().sum())} missing value(s).",
            hint="Every row needs a score.",
        )
    scores = s.to_numpy(dtype=float)
    labels = np.where(scores >= threshold, inputs.positive, inputs.negative)
    return Predictions(labels, scores, f"column {column!r} at threshold {threshold:g}", threshold)


def relabel(pred: Any, target_values: list[Any], labels: Any = None) -> NDArray[Any]:
    """Predictions in the target's own values, matched by text (CSV reads 1 and '1' apart).

    Args:
        pred: The predicted labels.
        target_values: The target's two values.
        labels: Every label the predictions can hold (a model's classes), which saves
            scanning them; None to scan.

    >>> relabel(["1", "0"], [0, 1]).tolist()
    [1, 0]
    """
    by_text = {str(v): v for v in target_values}
    predicted: NDArray[Any] = np.asarray(pred)
    uniq = pd.unique(predicted) if labels is None else np.asarray(labels)
    unknown = sorted(str(u) for u in uniq if str(u) not in by_text)
    if unknown:
        raise UnsupportedTaskError(
            f"The predictions hold {unknown}, which are not values of the target "
            f"({sorted(by_text)}).",
            hint="Predictions must use the target's two labels.",
        )
    mapped = [by_text[str(u)] for u in uniq]
    if all(type(m) is type(u) and m == u for m, u in zip(mapped, uniq, strict=True)):
        return predicted
    lookup = np.empty(len(mapped), dtype=object)
    lookup[:] = mapped
    positions: NDArray[np.intp] = pd.Index(uniq).get_indexer(predicted)
    return lookup[positions]


# -- step 4: the assessment -------------------------------------------------------------
def assess_inputs(
    inputs: EvaluationInputs,
    predictions: Predictions,
    *,
    options: CardOptions = CardOptions(),
    progress: Progress = _quiet,
) -> Assessment:
    """Per-group and intersectional metrics with intervals, for the checked inputs.

    Args:
        inputs: From ``read_evaluation``.
        predictions: From ``obtain_predictions``.
        options: Confidence level, minimum group size and reference groups.
        progress: Called with a short message per phase.
    """
    groups = inputs.groups.result()
    if isinstance(groups, MulticlassGroups):
        return assess_multiclass_groups(
            groups,
            predictions.labels,
            y_proba=predictions.probabilities,
            confidence=options.confidence,
            min_group_size=options.min_group_size,
            reference_groups=options.reference_groups,
            progress=progress,
        )
    if isinstance(groups, RegressionGroups):
        return assess_regression_groups(
            groups,
            predictions.labels,
            confidence=options.confidence,
            min_group_size=options.min_group_size,
            reference_groups=options.reference_groups,
            progress=progress,
        )
    return assess_groups(
        groups,
        predictions.labels,
        y_score=predictions.scores,
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        reference_groups=options.reference_groups,
        progress=progress,
    )


# -- step 5: the card -------------------------------------------------------------------
@dataclass
class CardResult:
    """A card with the assessment and policy verdicts it was made from.

    Attributes:
        card: The whole card.
        assessment: The numbers.
        policy: The verdicts (``verdict == "none"`` without a policy).
    """

    card: ModelCard
    assessment: Assessment
    policy: PolicyResult

    @property
    def exit_code(self) -> int:
        """0 when every check passed (or there is no policy), 1 otherwise."""
        return 0 if self.policy.verdict in ("pass", "none") else 1


def make_card(
    inputs: EvaluationInputs,
    predictions: Predictions,
    assessment: Assessment,
    *,
    policy: Policy | None = None,
    spec: SpecBase | None = None,
    loaded: LoadedModel | None = None,
    name: str | None = None,
    store: Store | None = None,
    comparison: Comparison | None = None,
) -> CardResult:
    """Apply the policy and merge everything into a card.

    Args:
        inputs: From ``read_evaluation``.
        predictions: From ``obtain_predictions``.
        assessment: From ``assess_inputs``.
        policy: From ``resolve_policy``; None for no release checks.
        spec: From ``resolve_spec``; None for an empty spec.
        loaded: The registered model, whose metadata the card reports.
        name: The model's name on the card (default: the registered name, or the data
            file's stem).
        store: Where a registered model's saved edge cases are read from, for the card's
            "Known cases" (``version_known_cases``; default ``Store()``).
        comparison: This version (B) against another on the same rows (``compare_with``):
            the card's "Compared with" section, and what its ``change(...)`` checks judge.
    """
    return card_from_parts(
        DataFacts(
            source=inputs.source,
            sha256=inputs.sha256.result() or "",
            rows=len(inputs.frame),
            columns=[str(c) for c in inputs.frame.columns],
            target=inputs.target,
            positive=inputs.positive,
            task=inputs.task,
        ),
        predictions,
        assessment,
        policy=policy,
        spec=spec,
        loaded=loaded,
        name=name,
        store=store,
        comparison=comparison,
    )


@dataclass(frozen=True)
class DataFacts:
    """What a card says of its evaluation data, however it was read.

    Attributes:
        source: How the card names the data.
        sha256: The data's SHA-256 ("" when unknown).
        rows: How many rows.
        columns: Every column of the data.
        target: The target column.
        positive: The positive outcome (None for a regression).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
    """

    source: str
    sha256: str
    rows: int
    columns: list[str]
    target: str
    positive: Any
    task: Task = "binary"


def card_from_parts(
    data: DataFacts,
    predictions: Predictions,
    assessment: Assessment,
    *,
    policy: Policy | None = None,
    spec: SpecBase | None = None,
    loaded: LoadedModel | None = None,
    name: str | None = None,
    store: Store | None = None,
    comparison: Comparison | None = None,
) -> CardResult:
    """``make_card`` for an engine that never held the rows (batched, Spark).

    Args:
        data: What the card says of the data.
        predictions: Where the predictions came from (``labels`` may be empty).
        assessment: The numbers.
        policy: The release policy, or None.
        spec: The card spec, or None for an empty one.
        loaded: The registered model, whose metadata the card reports.
        name: The model's name on the card (default: the registered name, or the data
            file's stem).
        store: Where a registered model's saved edge cases are read from, for the card's
            "Known cases" (default ``Store()``).
        comparison: This version (B) against another on the same rows (``compare_with``):
            the card's "Compared with" section, and what its ``change(...)`` checks judge.
    """
    changes = comparison.changes if comparison is not None else None
    verdicts = policy.evaluate(assessment, changes=changes) if policy is not None else no_policy()
    known = version_known_cases(loaded, store=store) if loaded is not None else None
    if policy is not None:  # a `known_cases:` rule gates the card too (fails closed)
        verdicts = judge_known_cases(
            verdicts, policy, [c.result for c in known] if known is not None else None
        )
    overall = assessment.overall
    provenance = DataProvenance(
        source=data.source,
        sha256=data.sha256,
        rows=data.rows,
        columns=data.columns,
        target=data.target,
        positives=overall.positives,
        negatives=overall.negatives,
        positive_share=(overall.positives / data.rows if overall.positives is not None else None),
    )
    computed = computed_sections(
        name=name or (loaded.name if loaded else Path(data.source).stem or "model"),
        assessment=assessment,
        policy=verdicts,
        data=provenance,
        positive_label=str(data.positive) if data.task == "binary" else None,
        predictions=predictions.described,
        generated=card_date(),
        versions=library_versions(),
        decision_threshold=predictions.threshold,
        registered=registered_metadata(loaded) if loaded else None,
        profile=loaded.profile if loaded else None,
        comparison=compared_section(comparison) if comparison is not None else None,
    )
    if known is not None:
        computed["known_cases"] = known
    card = build_card(spec=spec if spec is not None else _parse_spec(None), computed=computed)
    from ._findings import overrides_from_tags, review_section

    # The card's own findings, not reviewed; ``attach_review`` adds the store's decisions.
    card.review = review_section(card, overrides=overrides_from_tags(loaded.tags) if loaded else [])
    return CardResult(card=card, assessment=assessment, policy=verdicts)


def card_date() -> str:
    """Today (UTC), or the day SOURCE_DATE_EPOCH names, for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
        except ValueError:
            raise DataError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds.",
                hint="Set it to a Unix timestamp, e.g. $(git log -1 --format=%ct).",
            ) from None
    return dt.datetime.now(dt.UTC).date().isoformat()


def library_versions() -> dict[str, str]:
    """Versions of modelcards, Fairlearn, scikit-learn and MLflow, for provenance."""
    return dict(_versions())


@functools.cache  # installed versions do not change under a running process
def _versions() -> dict[str, str]:
    out = {}
    for label, dists in (
        ("modelcards", ["modelcards"]),
        ("fairlearn", ["fairlearn"]),
        ("scikit-learn", ["scikit-learn"]),
        ("mlflow", ["mlflow", "mlflow-skinny"]),
    ):
        for d in dists:
            try:
                out[label] = metadata.version(d)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            out[label] = "not installed"
    return out


def registered_metadata(m: LoadedModel) -> dict[str, Any]:
    """What the card reports of a registered version: version, alias, framework, ...

    Args:
        m: The loaded model.
    """
    from ._publish import PUBLISH_TAGS

    return {
        "version": m.version,
        "alias": m.alias,
        "reference": m.uri,
        "description": m.model_description,
        "version_description": m.description,
        "created": m.created.date().isoformat(),
        "classes": m.classes,
        "input_features": m.feature_names,
        "framework": _framework(m),
        "frameworks": dict(m.frameworks),
        "estimator": describe_estimator(m.model),
        "params": {k: str(v) for k, v in sorted(m.params.items())},
        "metrics": dict(sorted(m.metrics.items())),
        # A published card's own tags never feed the next card: publishing changes no card.
        "tags": {
            k: v
            for k, v in sorted(m.tags.items())
            if not k.startswith("mlflow.") and k not in PUBLISH_TAGS
        },
        "warnings": m.warnings,
    }


def _framework(m: LoadedModel) -> str:
    """The final estimator's library and version: the one recorded at registration, else
    the installed one."""
    mod = final_framework(m.model)
    dist = DISTRIBUTIONS.get(mod, mod)
    version = m.frameworks.get(dist)
    if version is not None:
        return f"{mod} {version}"
    try:
        return f"{mod} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return mod


# -- all steps --------------------------------------------------------------------------
def generate_card(
    *,
    model: str | LoadedModel | None = None,
    registry: Registry | None = None,
    data: str | Path | pd.DataFrame | None = None,
    target: str | None = None,
    sensitive: Sequence[str] | None = None,
    predictions: str | None = None,
    scores: str | None = None,
    threshold: float | None = None,
    spec: str | Path | dict[str, Any] | SpecBase | None = None,
    policy: str | Path | Policy | None = None,
    name: str | None = None,
    options: CardOptions = CardOptions(),
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
    engine: Engine = "auto",
    batch_rows: int | None = None,
    store: Store | None = None,
    compare_to: str | LoadedModel | Literal[False] | None = None,
    spark_master: str | None = None,
) -> CardResult:
    """Build a card: every step above, in order. Nothing is written (see ``write_card``).

    A registered model's card runs its edge cases (its card spec's and those saved in
    ``store``) into "Known cases"; the card reads the store but records no run (that is
    ``modelcards check``'s job).

    Args:
        model: ``"models:/NAME@ALIAS"`` or a loaded model; predictions come from it.
        registry: Where ``model`` is loaded from (default ``Registry()``).
        data: CSV/Parquet path or DataFrame (default: the split stored with ``model``).
        target: The true outcome column (default: the model's).
        sensitive: Sensitive columns (default: the model's).
        predictions: A column of predicted labels, instead of ``model``.
        scores: A column of scores, instead of ``model``; needs ``threshold``.
        threshold: Scores (or the model's probabilities) at or above it are positive.
        spec: The card spec: YAML path, mapping or parsed (default: the model's).
        policy: The release policy: YAML path or parsed (default: the model's).
        name: The model's name on the card.
        options: Confidence level, minimum group size, positive label, reference groups,
            intersection (``CardOptions(min_group_size=50)``; the defaults otherwise).
        allow_pickle: Allow pickle model files (default False).
        trusted_types: More types to trust in a skops file (None: none).
        progress: Called with a short message as each step starts.
        engine: ``"memory"`` reads the rows whole; ``"batched"`` reads a CSV or Parquet
            file in record batches with nearly flat memory (binary classifiers);
            ``"auto"`` (the default) is batched for files over 100 MB, else memory;
            ``"spark"`` counts on Apache Spark (paths or a catalog table; binary
            classifiers).
        batch_rows: Rows per batch for the batched engine (default 1,000,000).
        store: Where saved edge cases are read from (default ``Store()``:
            ``MODELCARDS_DB_URL``, else ``demo.db`` in the home folder).
        compare_to: The version the card compares its own with (its "Compared with"
            section). None (the default): the release alias's version, when the card's
            version is a registered one and not that version; False: no comparison.
        spark_master: The Spark master URL for ``engine="spark"`` (default:
            ``SPARK_MASTER``, else ``spark.master`` in spark-defaults.conf, else
            ``local[*]``).

    >>> import modelcards as mc                                   # doctest: +SKIP
    >>> r = mc.generate_card(model="models:/arrests-release@champion")  # doctest: +SKIP
    >>> r.policy.verdict, r.exit_code                             # doctest: +SKIP
    ('fail', 1)
    """
    source = PredictionSource.choose(
        model=model, predictions=predictions, scores=scores, threshold=threshold
    )
    if compare_to not in (None, False) and source.kind != "model":
        raise DataError(
            "--compare-to compares two registered versions; this card has no --model.",
            hint="Add --model models:/NAME@ALIAS, or drop --compare-to.",
        )
    # A given spec or policy is read before the model loads, so its errors come first.
    given_spec = resolve_spec(spec, None) if spec is not None else None
    given_policy = resolve_policy(policy, None) if policy is not None else None
    loaded = load_model(
        source,
        registry=registry,
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
        progress=progress,
    )
    check_target_role(target, loaded)  # before any engine reads the data
    policy_of = given_policy if policy is not None else resolve_policy(None, loaded)
    spec_of = given_spec if given_spec is not None else resolve_spec(None, loaded)
    chosen = choose_engine(engine, data)

    def counted(on: Literal["batched", "spark"]) -> Comparison | None:
        """The card's comparison from the engine's paired count table (as in memory)."""
        if loaded is None or compare_to is False:
            return None
        base = comparison_base(
            compare_to,
            loaded,
            registry=registry,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=progress,
        )
        if base is None:
            return None
        from ._compare import N_BOOT, SEED, counted_comparison

        return counted_comparison(
            on,
            data=data,
            base=base,
            loaded=loaded,
            source_b=source,
            target=target,
            sensitive=sensitive,
            options=options,
            n_boot=N_BOOT,
            seed=SEED,
            policy=policy_of,
            registry=registry,
            batch_rows=batch_rows,
            spark_master=spark_master,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=progress,
        )

    if chosen == "spark":
        if data is None or isinstance(data, pd.DataFrame):
            raise DataError(
                "--engine spark reads Parquet or CSV files, or a table in the Spark catalog.",
                hint="Give them with --data PATH_OR_TABLE, or use --engine memory.",
            )
        from ._spark import session_for, spark_card

        # One session for the card and its comparison: Spark starts once.
        with session_for(spark_master, progress):
            parts = spark_card(
                source,
                data=data,
                loaded=loaded,
                registry=registry,
                target=target,
                sensitive=sensitive,
                options=options,
                allow_pickle=allow_pickle,
                trusted_types=trusted_types,
                master=spark_master,
                progress=progress,
            )
            comparison = counted("spark")
        return card_from_parts(
            parts.data,
            parts.predictions,
            parts.assessment,
            policy=policy_of,
            spec=spec_of,
            loaded=loaded,
            name=name,
            store=store,
            comparison=comparison,
        )
    if chosen == "batched":
        if data is None or isinstance(data, pd.DataFrame):
            raise DataError(
                "--engine batched reads a CSV or Parquet file in batches.",
                hint="Give the file with --data FILE, or use --engine memory.",
            )
        try:
            parts = batched_card(
                source,
                data=data,
                loaded=loaded,
                target=target,
                sensitive=sensitive,
                options=options,
                batch_rows=batch_rows or BATCH_ROWS,
                progress=progress,
            )
        except NotBinaryError:
            if engine != "auto":
                raise
        else:
            # A second pass over the file, both versions predicting: the card's own pass
            # keeps no per-row predictions to pair with the other version's.
            return card_from_parts(
                parts.data,
                parts.predictions,
                parts.assessment,
                policy=policy_of,
                spec=spec_of,
                loaded=loaded,
                name=name,
                store=store,
                comparison=counted("batched"),
            )
    inputs = read_evaluation(
        data, loaded=loaded, target=target, sensitive=sensitive, options=options, progress=progress
    )
    preds = obtain_predictions(source, inputs, loaded=loaded, progress=progress)
    assessment = assess_inputs(inputs, preds, options=options, progress=progress)
    comparison = None
    if loaded is not None and compare_to is not False:
        comparison = compare_with(
            compare_to,
            loaded,
            inputs,
            preds,
            registry=registry,
            policy=policy_of,
            options=options,
            allow_pickle=allow_pickle,
            trusted_types=trusted_types,
            progress=progress,
        )
    if loaded is not None:
        progress("running the edge cases")
    return make_card(
        inputs,
        preds,
        assessment,
        policy=policy_of,
        spec=spec_of,
        loaded=loaded,
        name=name,
        store=store,
        comparison=comparison,
    )


def compare_with(
    against: str | LoadedModel | None,
    loaded: LoadedModel,
    inputs: EvaluationInputs,
    predictions: Predictions,
    *,
    registry: Registry | None = None,
    policy: Policy | None = None,
    options: CardOptions = CardOptions(),
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
) -> Comparison | None:
    """The card's version (B) against another (A) on the card's own rows, or None.

    With ``against`` None, A is the release alias's version (``release_alias()``); there
    is no comparison when the model has no such alias, when the card's version is that
    version, or for a regression (not compared yet).

    Args:
        against: A reference (``"models:/NAME@champion"``), a loaded version, or None.
        loaded: The card's version.
        inputs: The card's evaluation inputs (``read_evaluation``).
        predictions: The card's predictions (``obtain_predictions``).
        registry: Where references are resolved (default: the card's version's).
        policy: The card's policy: what the comparison protects, and its change checks.
        options: Confidence level and minimum group size.
        allow_pickle: Allow pickle model files (default False).
        trusted_types: More types to trust in a skops file.
        progress: Called with a short message as each step starts.
    """
    from ._compare import N_BOOT, SEED, VersionInfo, comparison_of

    if inputs.task != "binary" and against is None:  # only binary classifiers compare yet
        return None
    base = comparison_base(
        against,
        loaded,
        registry=registry,
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
        progress=progress,
    )
    if base is None:
        return None
    groups = inputs.groups.result()
    assert isinstance(groups, Groups)  # regression is refused by check_comparable
    theirs = obtain_predictions(PredictionSource.choose(model=base), inputs, loaded=base)
    progress(f"comparing with {base.uri}")
    return comparison_of(
        groups,
        np.asarray(theirs.labels == inputs.positive, dtype=bool),
        np.asarray(predictions.labels == inputs.positive, dtype=bool),
        n_boot=N_BOOT,
        seed=SEED,
        confidence=options.confidence,
        min_group_size=options.min_group_size,
        policy=policy,
        a=VersionInfo(uri=base.uri, version=base.version, alias=base.alias),
        b=VersionInfo(uri=loaded.uri, version=loaded.version, alias=loaded.alias),
        data=inputs.source,
    )


def comparison_base(
    against: str | LoadedModel | None,
    loaded: LoadedModel,
    *,
    registry: Registry | None = None,
    allow_pickle: bool = False,
    trusted_types: Sequence[str] | None = (),
    progress: Progress = _quiet,
) -> LoadedModel | None:
    """The version a card compares its own with (A), loaded and checked comparable, or
    None: with ``against`` None, the release alias's version, unless the model has no
    such alias or the card's version is that version. The same for every engine.

    Args:
        against: A reference (``"models:/NAME@champion"``), a loaded version, or None.
        loaded: The card's version (B).
        registry: Where references are resolved (default: the card's version's).
        allow_pickle: Allow pickle model files (default False).
        trusted_types: More types to trust in a skops file.
        progress: Called with a short message as each step starts.
    """
    from ._compare import check_comparable
    from ._summary import release_alias
    from .errors import ModelNotFoundError

    registry = registry or loaded._registry
    if against is None:
        alias = release_alias()
        if registry is None:
            return None
        try:
            _, version, _ = registry.resolve(f"models:/{loaded.name}@{alias}")
        except ModelNotFoundError:  # no release alias: nothing to compare with
            return None
        if version == loaded.version:
            return None
        against = f"models:/{loaded.name}@{alias}"
    base = load_model(
        PredictionSource.choose(model=against),
        registry=registry,
        allow_pickle=allow_pickle,
        trusted_types=trusted_types,
        progress=progress,
    )
    assert base is not None  # a model source always loads one
    check_comparable(base, loaded)
    return base


def compared_section(comparison: Comparison) -> ComparedWith:
    """The card's "Compared with" section: the groups better or worse, largest first.

    Args:
        comparison: This version (B) against another (A).
    """
    from ._compare_render import notable

    return ComparedWith(
        against=comparison.a,
        rows=comparison.rows,
        n_boot=comparison.n_boot,
        seed=comparison.seed,
        confidence=comparison.confidence,
        protects=comparison.policy.protects,
        worse=notable(comparison, "worse"),
        better=notable(comparison, "better"),
    )


def version_known_cases(loaded: LoadedModel, *, store: Store | None = None) -> list[KnownCase]:
    """A version's edge cases (its card spec's, then the store's) run against it, failing
    first: the card's "Known cases". Nothing is recorded in the store.

    Args:
        loaded: The registered version.
        store: Where saved edge cases are read from (default ``Store()``).
    """
    from ._check import known_cases
    from ._service import run_cases
    from ._store import Store, spec_edge_cases

    store = store if store is not None else Store()
    cases = spec_edge_cases(loaded.card_spec) + store.edge_cases(loaded.name)
    return known_cases(run_cases(loaded, cases))


# -- writing ----------------------------------------------------------------------------
def write_card(
    result: CardResult | ModelCard,
    out_dir: str | Path,
    *,
    summary: ReleaseSummary | None = None,
) -> dict[str, Path]:
    """Render every format in memory, then move the files into ``out_dir`` together.

    Args:
        result: A card, or ``generate_card``'s result.
        out_dir: The folder; created when missing. Its card files are replaced.
        summary: Also write the printable release summary (``model_card_summary.pdf``)
            of this card; None (the default) for none.

    Returns:
        The written paths by format: ``{"html": ..., "markdown": ..., "json": ...}``, and
        ``"pdf"`` with a summary.
    """
    from ._render import plotlyjs_bytes, render_html_parts, render_json, render_markdown

    card = result.card if isinstance(result, CardResult) else result
    before, after = render_html_parts(card)
    # plotly.js (4.6 MB) goes to the file as ready-made bytes, never through a template.
    parts = {
        "html": [before.encode(), plotlyjs_bytes(), after.encode()],
        "markdown": [render_markdown(card).encode()],
        "json": [render_json(card).encode()],
    }
    if summary is not None:
        from ._summary import SUMMARY_FILE, summary_pdf

        assert FILES["pdf"] == SUMMARY_FILE
        parts["pdf"] = [summary_pdf(summary)]
    return _move_into_place(_out_dir(out_dir), parts)


def place_card_files(files: Mapping[str, Path], out_dir: str | Path) -> dict[str, Path]:
    """Move a card written elsewhere (``write_card``'s paths) into ``out_dir`` together,
    as ``write_card`` does: `card --publish` writes the card locally only once it is
    published, so a failed publish leaves no files behind.

    Args:
        files: ``write_card``'s result for another folder.
        out_dir: The folder; created when missing. Its card files are replaced.
    """
    return _move_into_place(
        _out_dir(out_dir), {kind: [Path(p).read_bytes()] for kind, p in files.items()}
    )


def _out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelcardsError(
            f"Cannot create the output folder {out}: {exc.strerror}.",
            hint="Choose another folder with --out.",
        ) from exc
    return out


def _move_into_place(out: Path, parts: dict[str, list[bytes]]) -> dict[str, Path]:
    staged: dict[str, Path] = {}
    try:
        for kind, chunks in parts.items():
            fd, tmp = tempfile.mkstemp(prefix=".model_card-", dir=out)
            staged[kind] = Path(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.writelines(chunks)
        paths = {}
        for kind, tmp_path in staged.items():
            final = out / FILES[kind]
            os.replace(tmp_path, final)
            os.chmod(final, 0o644)
            paths[kind] = final
        return paths
    except OSError as exc:
        raise ModelcardsError(
            f"Cannot write the card into {out}: {exc.strerror}.",
            hint="Check the folder's permissions and free space.",
        ) from exc
    finally:
        for tmp_path in staged.values():
            if tmp_path.exists():
                tmp_path.unlink()
