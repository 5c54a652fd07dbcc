"""Why this prediction: how much each input moved one answer away from a stated baseline.

The contributions are interventional Shapley values over the model's *inputs* (never
over one-hot columns), against a small seeded sample of the version's stored evaluation
split: the baseline is the model's average answer on that sample, and baseline plus the
contributions is the model's own answer for the row (to rounding).

Two methods, both exact for that background sample:

* ``linear``: a linear classifier (after per-column preprocessing such as a
  ``ColumnTransformer`` of scalers and one-hot encoders) in log-odds space, in closed
  form: input j gets the sum over its transformed columns k of
  ``coef_k * (x_k - mean_k)``, the means taken over the background.
* ``exact_shapley``: any model, by enumerating every coalition of inputs (2^d of them;
  an input outside the coalition takes each background row's value) and weighting the
  differences as Shapley did. One vectorised ``predict_proba`` call on 2^d x rows.

We checked shap 0.51 first: its model-agnostic explainers cannot mask text inputs
(``np.isclose`` on strings fails), its Exact explainer JIT-compiles for over 30 s on
first use in every process, and its TreeExplainer in probability space approximates the
sigmoid for boosted trees. The tests check our values against shap's TreeExplainer
where shap's are exact (a random forest's probabilities).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError, UnsupportedTaskError

if TYPE_CHECKING:  # pragma: no cover
    from numpy.typing import NDArray

    from ._registry import LoadedModel

#: The spaces an answer is explained in.
Output = Literal["probability", "log_odds"]
#: How the contributions were computed.
Method = Literal["linear", "exact_shapley"]
#: Coalitions grow as 2^d: beyond this many inputs an exact explanation is too slow for
#: an interactive page.
MAX_EXACT_INPUTS = 10
#: Background rows sampled from the evaluation split (seeded), by default.
BACKGROUND_ROWS = 100
# Probabilities are clipped this far from 0 and 1 before taking log-odds.
_EPS = 1e-12


@dataclass(frozen=True)
class Contribution:
    """How much one input moved the answer.

    Attributes:
        input: The input's name.
        value: Its value in the explained row.
        contribution: Its push, in the explanation's output space (positive: up).
    """

    input: str
    value: Any
    contribution: float


@dataclass(frozen=True)
class Explanation:
    """One prediction, explained: ``baseline + sum(contributions) == prediction``.

    Attributes:
        baseline: The model's average answer on the background sample.
        prediction: The model's answer for the explained row.
        contributions: One per input, in the signature's order.
        output: ``probability`` (of ``positive_label``) or ``log_odds``.
        method: ``linear`` (closed form) or ``exact_shapley`` (every coalition).
        positive_label: The class whose probability or log-odds is explained.
        background_rows: How many evaluation rows the baseline averages.
        seed: The seed that drew them.
    """

    baseline: float
    prediction: float
    contributions: list[Contribution]
    output: Output
    method: Method
    positive_label: str
    background_rows: int
    seed: int

    def ranked(self) -> list[Contribution]:
        """The contributions, largest push (up or down) first."""
        return sorted(self.contributions, key=lambda c: -abs(c.contribution))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: baseline, prediction, contributions by input, output and method."""
        return {
            "baseline": self.baseline,
            "prediction": self.prediction,
            "contributions": {c.input: c.contribution for c in self.contributions},
            "values": {c.input: _plain_value(c.value) for c in self.contributions},
            "output": self.output,
            "method": self.method,
            "positive_label": self.positive_label,
            "background_rows": self.background_rows,
            "seed": self.seed,
        }

    def sentence(self, *, top: int = 3) -> str:
        """One line in plain words: the baseline, the largest pushes, the answer.

        Args:
            top: How many inputs to name; the rest are summed up in one clause.
        """
        what = "probability" if self.output == "probability" else "log-odds"
        ranked = self.ranked()
        parts = [
            f"{_value_text(c)} pushed it {'up' if c.contribution >= 0 else 'down'} by "
            f"{_num(abs(c.contribution))}"
            for c in ranked[:top]
        ]
        rest = ranked[top:]
        if rest:
            moved = sum(c.contribution for c in rest)
            parts.append(
                f"the other {len(rest)} input{'s' if len(rest) > 1 else ''} moved it by "
                f"{'+' if moved >= 0 else '-'}{_num(abs(moved))} together"
            )
        return (
            f"Starting from the average answer {_num(self.baseline)} (the {what} of "
            f"{self.positive_label} over {self.background_rows} people in the evaluation "
            f"data), " + ", ".join(parts) + f", ending at {_num(self.prediction)}."
        )


def _num(x: float) -> str:
    return f"{x:.3f}" if abs(x) >= 0.001 or x == 0 else f"{x:.1e}"


def _plain_value(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _value_text(c: Contribution) -> str:
    v = _plain_value(c.value)
    return f"{c.input} = {v:g}" if isinstance(v, float) else f"{c.input} = {v}"


def explain(
    model: LoadedModel,
    values: Mapping[str, Any],
    *,
    output: Output = "probability",
    background_rows: int = BACKGROUND_ROWS,
    seed: int = 0,
) -> Explanation:
    """Why the model answers what it does for one set of inputs.

    The contributions are Shapley values per input against ``background_rows`` rows of
    the stored evaluation split (drawn with ``seed``); they add up to the prediction
    minus the baseline, the model's average answer on those rows.

    Args:
        model: The loaded version (a binary classifier with ``predict_proba``).
        values: The inputs by name; text (from a URL) is converted as for predictions.
        output: ``probability`` of the positive class (default) or its ``log_odds``;
            a linear model's log-odds are explained in closed form.
        background_rows: How many evaluation rows form the baseline (default 100).
        seed: Seed for drawing them (default 0): the same seed, the same explanation.

    >>> import modelcards as mc                                           # doctest: +SKIP
    >>> model = mc.Registry().load("models:/arrests-release@champion")    # doctest: +SKIP
    >>> e = mc.explain(model, {"year": 2000, "age": 19, "employed": "No",
    ...                        "citizen": "Yes", "checks": 5})            # doctest: +SKIP
    >>> round(e.baseline + sum(c.contribution for c in e.contributions)
    ...       - e.prediction, 9)                                          # doctest: +SKIP
    0.0
    """
    from ._predict import _frame, coerce_inputs

    if output not in ("probability", "log_odds"):
        raise DataError(
            f"Cannot explain in {output!r}.", hint="Use output='probability' or 'log_odds'."
        )
    if background_rows < 1:
        raise DataError(
            f"background_rows must be at least 1, not {background_rows}.",
            hint="Use the default, 100.",
        )
    if not hasattr(model.model, "predict_proba") or len(model.classes) != 2:
        raise UnsupportedTaskError(
            f"{model.uri} is not a binary classifier with probabilities, so its answers "
            "cannot be explained here.",
            hint="Explanations cover binary classifiers with predict_proba.",
        )
    inputs = coerce_inputs(model, values)
    background = _background(model, background_rows, seed)
    positive = list(model.model.classes_).index(model.positive_label)
    linear = _linear_parts(model)
    if linear is not None and output == "log_odds":
        baseline, contribs, prediction = _linear(
            linear, _frame(model, [inputs]), background, positive
        )
        method: Method = "linear"
    else:
        if len(model.feature_names) > MAX_EXACT_INPUTS:
            raise UnsupportedTaskError(
                f"{model.uri} has {len(model.feature_names)} inputs; exact explanations "
                f"enumerate 2^d coalitions and stop at {MAX_EXACT_INPUTS} inputs.",
                hint="Explain a model with fewer inputs.",
            )
        if linear is not None and _logistic(linear):
            key = f"explain_terms_{background_rows}_{seed}_{positive}"
            baseline, contribs, prediction = _exact_logistic(
                model, linear, inputs, model._loaded, key, background, positive
            )
        else:
            baseline, contribs, prediction = _exact(
                model, _frame(model, [inputs]), background, positive, output
            )
        method = "exact_shapley"
    return Explanation(
        baseline=baseline,
        prediction=prediction,
        contributions=[
            Contribution(name, _plain_value(inputs[name]), float(c))
            for name, c in zip(model.feature_names, contribs, strict=True)
        ],
        output=output,
        method=method,
        positive_label=str(model.positive_label),
        background_rows=len(background),
        seed=seed,
    )


def _background(model: LoadedModel, rows: int, seed: int) -> pd.DataFrame:
    """A seeded sample of the evaluation split's inputs, kept with the loaded version."""
    key = f"explain_background_{rows}_{seed}"
    cached = model._loaded.get(key)
    if cached is None:
        from ._predict import _frame, coerce_value

        split = model.features(model.evaluation_split()).dropna()
        if split.empty:
            raise DataError(
                f"{model.uri} has no complete evaluation rows to explain against.",
                hint="Register the version with an evaluation split without missing inputs.",
            )
        sample = split.sample(min(rows, len(split)), random_state=seed)
        # The same types as an explained row, so both go through the model alike.
        cached = _frame(
            model,
            [
                {c.name: coerce_value(c, r[c.name]) for c in model.inputs}
                for r in sample.to_dict("records")
            ],
        )
        model._loaded[key] = cached
    frame: pd.DataFrame = cached
    return frame


# -- exact Shapley values by enumerating coalitions ------------------------------------


def _exact(
    model: LoadedModel,
    row: pd.DataFrame,
    background: pd.DataFrame,
    positive: int,
    output: Output,
) -> tuple[float, NDArray[np.float64], float]:
    names = model.feature_names
    d, n = len(names), len(background)
    coalitions = 1 << d
    masks = _coalitions(d)
    columns = {}
    for j, name in enumerate(names):
        bg = background[name].to_numpy()
        take = np.repeat(masks[:, j], n)
        col = np.tile(bg, coalitions)
        columns[name] = np.where(take, row[name].iloc[0], col)
    frame = pd.DataFrame(columns).astype(background.dtypes.to_dict())
    proba = np.asarray(model.model.predict_proba(frame), dtype=np.float64)[:, positive]
    answer = _log_odds(proba) if output == "log_odds" else proba
    value = answer.reshape(coalitions, n).mean(axis=1)  # v(S) for every coalition S
    return _shapley(value, masks)


def _coalitions(d: int) -> NDArray[np.bool_]:
    """masks[s, j]: input j takes the explained row's value in coalition s."""
    return ((np.arange(1 << d)[:, None] >> np.arange(d)) & 1).astype(bool)


def _shapley(
    value: NDArray[np.float64], masks: NDArray[np.bool_]
) -> tuple[float, NDArray[np.float64], float]:
    """Shapley values from v(S) of every coalition (``value[s]``, coalitions as masks)."""
    d = masks.shape[1]
    sizes = masks.sum(axis=1)
    weight = np.array(
        [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    )
    contribs = np.empty(d)
    for j in range(d):
        without = np.flatnonzero(~masks[:, j])
        contribs[j] = float(
            np.sum(weight[sizes[without]] * (value[without | (1 << j)] - value[without]))
        )
    return float(value[0]), contribs, float(value[-1])


def _log_odds(p: NDArray[np.float64]) -> NDArray[np.float64]:
    p = np.clip(p, _EPS, 1 - _EPS)
    out: NDArray[np.float64] = np.log(p) - np.log1p(-p)
    return out


# -- linear models in closed form ------------------------------------------------------


@dataclass(frozen=True)
class _LinearParts:
    """A linear classifier and how its columns map back to the inputs."""

    transform: Any  # the preprocessing step, or None
    estimator: Any
    owner: list[int]  # transformed column -> index of its input


def _linear_parts(model: LoadedModel) -> _LinearParts | None:
    """The model as preprocessing + linear classifier, when every transformed column
    comes from exactly one input; None for anything else (explained by enumeration)."""
    from sklearn.pipeline import Pipeline

    est = model.model
    steps = list(est.steps) if isinstance(est, Pipeline) else [("model", est)]
    final = steps[-1][1]
    coef = getattr(final, "coef_", None)
    if coef is None or np.ndim(coef) != 2 or np.shape(coef)[0] != 1:
        return None
    names = model.feature_names
    if len(steps) == 1:
        if getattr(final, "n_features_in_", None) != len(names):
            return None
        return _LinearParts(None, final, list(range(len(names))))
    if len(steps) != 2:
        return None
    owner = _column_owners(steps[0][1], names)
    if owner is None or len(owner) != np.shape(coef)[1]:
        return None
    return _LinearParts(steps[0][1], final, owner)


#: Transformers whose output column k comes from input column k.
_ONE_TO_ONE = {
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "OrdinalEncoder",
}


def _column_owners(transform: Any, names: list[str]) -> list[int] | None:
    """For a fitted ColumnTransformer: the input each output column comes from."""
    from sklearn.compose import ColumnTransformer

    if not isinstance(transform, ColumnTransformer) or transform.sparse_output_:
        return None
    width = sum(s.stop - s.start for s in transform.output_indices_.values())
    owner: list[int | None] = [None] * width
    for name, trans, cols in transform.transformers_:
        out = transform.output_indices_[name]
        if trans == "drop" or out.stop == out.start:
            continue
        inputs = [names[c] if isinstance(c, int | np.integer) else c for c in np.atleast_1d(cols)]
        if any(c not in names for c in inputs):
            return None
        if len(inputs) == 1:
            widths = [out.stop - out.start]
        elif trans == "passthrough" or type(trans).__name__ in _ONE_TO_ONE:
            widths = [1] * len(inputs)
        elif type(trans).__name__ == "OneHotEncoder" and hasattr(trans, "_n_features_outs"):
            # scikit-learn's own count of columns per input (dropped and infrequent
            # categories included); no public attribute says it.
            widths = list(trans._n_features_outs)
        else:
            return None
        if sum(widths) != out.stop - out.start:
            return None
        k = out.start
        for col, w in zip(inputs, widths, strict=True):
            for _ in range(w):
                owner[k] = names.index(col)
                k += 1
    if any(o is None for o in owner):
        return None
    return [o for o in owner if o is not None]


def _logistic(parts: _LinearParts) -> bool:
    """A binary logistic regression: its probability is the logistic function of its
    log-odds, so coalitions can be scored from per-input log-odds terms."""
    from sklearn.linear_model import LogisticRegression

    return isinstance(parts.estimator, LogisticRegression) and len(parts.estimator.classes_) == 2


def _log_odds_terms(
    parts: _LinearParts, frame: pd.DataFrame, positive: int, transformed: Any = None
) -> NDArray[np.float64]:
    """terms[i, j]: input j's share of row i's log-odds of the positive class (the
    intercept not included): the sum of coef * value over input j's transformed columns
    (``transformed``: ``frame`` already through the preprocessing)."""
    t = transformed
    if t is None:
        t = frame if parts.transform is None else parts.transform.transform(frame)
    return _terms(parts, t, positive, len(frame.columns))


def _terms(parts: _LinearParts, t: Any, positive: int, inputs: int) -> NDArray[np.float64]:
    from ._rowpath import _dense

    t = _dense(t)
    coef = np.asarray(parts.estimator.coef_, dtype=np.float64)[0]
    sign = 1.0 if positive == 1 else -1.0  # decision_function is the log-odds of classes_[1]
    per_column = sign * coef * np.asarray(t, dtype=np.float64)
    terms = np.zeros((per_column.shape[0], inputs))
    np.add.at(terms.T, parts.owner, per_column.T)
    return terms


def _exact_logistic(
    model: LoadedModel,
    parts: _LinearParts,
    inputs: dict[str, Any],
    cache: dict[str, Any],
    key: str,
    background: pd.DataFrame,
    positive: int,
) -> tuple[float, NDArray[np.float64], float]:
    """Exact Shapley values of a logistic regression's probability, as ``_exact`` gives
    them, without scoring 2^d x rows through the model: a coalition's log-odds is the
    intercept plus the row's terms for the inputs in it and each background row's terms
    for the others. One transform of the explained row instead of the model's
    predict_proba on 3,200 rows (about 10 ms) on each Try it rerun; the transform is the
    compiled one (``_rowpath``) where the preprocessing compiles."""
    from ._predict import _frame, transformed_row
    from ._rowpath import row_path

    terms = cache.get(key)
    if terms is None:
        terms = cache[key] = _log_odds_terms(parts, background, positive)
    sign = 1.0 if positive == 1 else -1.0
    intercept = sign * float(np.asarray(parts.estimator.intercept_, dtype=np.float64)[0])
    path = row_path(model) if parts.transform is not None else None
    t = path(inputs) if path is not None else None
    if t is not None:
        x = _terms(parts, t, positive, len(inputs))[0]
    else:
        row = _frame(model, [inputs])
        # The prediction shown beside it transformed this row already (``transformed_row``).
        done = transformed_row(model, row)
        x = _log_odds_terms(parts, row, positive, None if done is None else done.values)[0]
    masks = _coalitions(len(x))
    # z[s, i]: the log-odds of coalition s with background row i filling the rest.
    z = intercept + (masks @ x)[:, None] + (~masks).astype(np.float64) @ terms.T
    value = (1.0 / (1.0 + np.exp(-z))).mean(axis=1)
    return _shapley(value, masks)


def _linear(
    parts: _LinearParts, row: pd.DataFrame, background: pd.DataFrame, positive: int
) -> tuple[float, NDArray[np.float64], float]:
    def transformed(frame: pd.DataFrame) -> NDArray[np.float64]:
        t = frame if parts.transform is None else parts.transform.transform(frame)
        return np.asarray(t, dtype=np.float64)

    coef = np.asarray(parts.estimator.coef_, dtype=np.float64)[0]
    intercept = float(np.asarray(parts.estimator.intercept_, dtype=np.float64)[0])
    # decision_function is the log-odds of classes_[1]; flip for classes_[0].
    sign = 1.0 if positive == 1 else -1.0
    mean = transformed(background).mean(axis=0)
    x = transformed(row)[0]
    per_column = sign * coef * (x - mean)
    contribs = np.zeros(len(row.columns))
    np.add.at(contribs, parts.owner, per_column)
    baseline = sign * (intercept + float(coef @ mean))
    prediction = sign * (intercept + float(coef @ x))
    return baseline, contribs, prediction
