"""Try it's one-row path: compiled preprocessing gives scikit-learn's numbers exactly.

Each pipeline is fitted on the arrests data and registered for real; the compiled path
must be used where it covers the steps, give bit-for-bit the transformed row and the
prediction of scikit-learn's own path, and step aside (scikit-learn answers) where it
does not cover them or a row holds something the model never saw.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from conftest import new_store, register
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
)

from modelcards import DemoService, coerce_row, predict_row
from modelcards._examples import TARGET
from modelcards._predict import coerce_inputs, predict_inputs
from modelcards._rowpath import RowPath, _agrees, check_rows, row_path

ROWS = [
    dict(zip(["year", "age", "employed", "citizen", "checks"], v, strict=True))
    for v in itertools.product(
        (1997, 2000, 2002), (12, 17, 33, 90), ("Yes", "No"), ("Yes", "No"), (0, 3, 6)
    )
]


def _dense_scaled():
    return make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), ["year", "age", "checks"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
            ]
        ),
        LogisticRegression(max_iter=500),
    )


def _sparse_one_hot():
    # sparse_threshold=1.0 keeps the one-hot block sparse: the estimator sees a CSR row.
    return make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["employed", "citizen"]),
                ("num", MaxAbsScaler(), [0, 1]),  # year and age, by position
            ],
            remainder="passthrough",
            sparse_threshold=1.0,
        ),
        LogisticRegression(max_iter=500),
    )


def _nested_steps():
    return Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "num",
                            make_pipeline(SimpleImputer(), MinMaxScaler()),
                            ["age", "checks"],
                        ),
                        ("cat", OneHotEncoder(), ["citizen", "employed"]),
                        ("skip", "drop", ["year"]),
                    ]
                ),
            ),
            ("again", StandardScaler()),
            ("model", LogisticRegression(max_iter=500)),
        ]
    )


def _dropped_level():
    # An encoder that drops a level is not compiled: scikit-learn answers.
    return make_pipeline(
        ColumnTransformer(
            [
                ("num", FunctionTransformer(np.log1p), ["age", "checks"]),
                ("cat", OneHotEncoder(drop="first"), ["employed", "citizen"]),
            ]
        ),
        LogisticRegression(max_iter=500),
    )


@pytest.fixture(scope="module")
def versions(tmp_path_factory, fitted, arrests, empty_store_db):
    from modelcards import Registry

    _, train, test = fitted
    y = arrests[TARGET].iloc[: len(train)]
    reg = Registry(home=new_store(tmp_path_factory.mktemp("rowpath"), empty_store_db))
    out = {}
    for name, build in {
        "dense": _dense_scaled,
        "sparse": _sparse_one_hot,
        "nested": _nested_steps,
        "dropped": _dropped_level,
    }.items():
        pipe = build().fit(train, y)
        out[name] = register(reg, pipe, train, test, name=name)
    return reg, out


def _load(reg, name):
    """A loaded version of its own: the registry shares loaded versions, and with them
    their compiled paths."""
    return dataclasses.replace(reg.load(f"models:/{name}/1"), _loaded={})


def _dense(x):
    return x.toarray() if sparse.issparse(x) else np.asarray(x)


def _sklearn_row(model, row):
    xt = coerce_row(model, row)
    for _, step in model.model.steps[:-1]:
        xt = step.transform(xt)
    return xt


@pytest.mark.parametrize("name", ["dense", "sparse", "nested"])
def test_the_compiled_row_equals_scikit_learns_transform_bit_for_bit(versions, name):
    reg, _ = versions
    model = _load(reg, name)
    path = row_path(model)
    assert path is not None, "these steps are covered: the compiled path must be used"
    for row in ROWS:
        fast, slow = path(coerce_inputs(model, row)), _sklearn_row(model, row)
        assert sparse.issparse(fast) == sparse.issparse(slow)
        assert np.array_equal(_dense(fast), _dense(slow)), row


@pytest.mark.parametrize("name", ["dense", "sparse", "nested"])
def test_predictions_and_explanations_are_the_same_with_and_without_it(versions, name):
    reg, _ = versions
    svc = DemoService()
    fast_model, slow_model = _load(reg, name), _load(reg, name)
    slow_model._loaded["row_path"] = False  # scikit-learn's path only
    for row in ROWS[::5]:
        fast = predict_inputs(fast_model, coerce_inputs(fast_model, row))
        slow = predict_row(slow_model, coerce_row(slow_model, row))
        assert fast == slow
    if name == "dense":  # a logistic regression explained in closed form
        for row in ROWS[::11]:
            a, b = svc.explain(fast_model, row), svc.explain(slow_model, row)
            assert a == b


def test_steps_it_does_not_cover_are_left_to_scikit_learn(versions):
    reg, _ = versions
    model = _load(reg, "dropped")
    assert row_path(model) is None
    row = ROWS[7]
    assert predict_inputs(model, coerce_inputs(model, row)) == predict_row(
        model, coerce_row(model, row)
    )


def test_a_level_the_model_never_saw_goes_through_scikit_learn(versions):
    reg, _ = versions
    model = _load(reg, "dense")
    path = row_path(model)
    assert path is not None
    row = {**ROWS[0], "employed": "Maybe"}
    assert path(coerce_inputs(model, row)) is None  # not answered by the compiled path
    got = predict_inputs(model, coerce_inputs(model, row))
    assert got == predict_row(model, coerce_row(model, row))


def test_a_path_that_differs_from_scikit_learn_in_the_last_bit_is_refused(versions):
    reg, _ = versions
    model = _load(reg, "dense")
    good = row_path(model)
    assert good is not None and check_rows(model)
    assert _agrees(model, good, False)
    off = RowPath(lambda row: np.nextafter(good(row)[0], np.inf), sparse=False)
    assert not _agrees(model, off, False)


def test_check_rows_cover_every_level_and_the_numeric_range(versions):
    reg, _ = versions
    model = _load(reg, "dense")
    rows = check_rows(model)
    assert {r["employed"] for r in rows} == {"Yes", "No"}
    ages = [r["age"] for r in rows]
    profile = model.profile.column("age")
    assert min(ages) == profile.min and max(ages) == profile.max
