"""Regression models: error metrics per group against Fairlearn, intervals, disparities,
policy checks, registration, and the card end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from scipy import stats
from sklearn import metrics as skm
from sklearn.linear_model import Ridge

import modelcards as mc
from modelcards._card import SCHEMA_PATH
from modelcards._example_diabetes import FEATURES, SENSITIVE, TARGET, load_diabetes_frame
from modelcards.errors import DataError, UnsupportedTaskError

SCRIPT = Path(sys.executable).parent / "modelcards"

#: The reference: Fairlearn's MetricFrame over scikit-learn's regression metrics.
REFERENCE = {
    "mean_absolute_error": skm.mean_absolute_error,
    "root_mean_squared_error": skm.root_mean_squared_error,
    "r2_score": skm.r2_score,
    "mean_error": lambda y, p: np.mean(np.asarray(p) - np.asarray(y)),
    "mean_prediction": lambda y, p: np.mean(p),
    "mean_target": lambda y, p: np.mean(y),
}


@pytest.fixture(scope="module")
def diabetes():
    """The diabetes data with a ridge regression's predictions on every row."""
    df = load_diabetes_frame()
    pred = Ridge().fit(df[FEATURES], df[TARGET]).predict(df[FEATURES])
    return df, pred


def test_every_group_s_error_metrics_equal_fairlearn_s_metricframe(diabetes):
    df, pred = diabetes
    a = mc.assess_regression(df[TARGET], pred, sensitive_features=df[SENSITIVE])
    assert a.task == "regression" and a.metrics == mc.REGRESSION_METRICS
    for features in (["sex"], ["age_group"], SENSITIVE):
        mf = MetricFrame(
            metrics=REFERENCE, y_true=df[TARGET], y_pred=pred, sensitive_features=df[features]
        )
        groups = a.groups_for(features)
        assert len(groups) == len(mf.by_group)
        for g in groups:
            key = tuple(g.features[f] for f in features)
            row = mf.by_group.loc[key if len(key) > 1 else key[0]]
            assert g.n == int((df[features].astype(str) == list(key)).all(axis=1).sum())
            for m in REFERENCE:
                assert g.metrics[m].value == pytest.approx(row[m], rel=1e-12, abs=1e-12), m
        for m in REFERENCE:
            assert a.overall.metrics[m].value == pytest.approx(mf.overall[m], rel=1e-12)


def test_disparities_equal_fairlearn_s_difference_and_ratio(diabetes):
    df, pred = diabetes
    a = mc.assess_regression(df[TARGET], pred, sensitive_features=df[["age_group"]])
    mf = MetricFrame(
        metrics=REFERENCE, y_true=df[TARGET], y_pred=pred, sensitive_features=df["age_group"]
    )
    for m in REFERENCE:
        d = a.disparity(m, "difference", ["age_group"])
        assert d.value == pytest.approx(mf.difference()[m], rel=1e-12)
        assert d.ci_low <= d.value <= d.ci_high
    for m in ("mean_absolute_error", "root_mean_squared_error"):
        d = a.disparity(m, "ratio", ["age_group"])
        assert d.value == pytest.approx(mf.ratio()[m], rel=1e-12)
        assert d.ci_low <= d.value <= d.ci_high <= 1
    with pytest.raises(KeyError):  # a ratio of a signed bias means nothing
        a.disparity("mean_error", "ratio", ["age_group"])


def test_mean_intervals_are_student_t_and_rmse_bounds_are_roots_of_the_mse_interval(diabetes):
    df, pred = diabetes
    a = mc.assess_regression(df[TARGET], pred, sensitive_features=df[["sex"]], confidence=0.9)
    for g in a.groups_for(["sex"]):
        rows = (df["sex"] == g.features["sex"]).to_numpy()
        err = pred[rows] - df[TARGET].to_numpy()[rows]
        for m, x in (("mean_error", err), ("mean_absolute_error", np.abs(err))):
            lo, hi = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
            e = g.metrics[m]
            assert (e.ci_low, e.ci_high) == (pytest.approx(lo), pytest.approx(hi))
        lo, hi = stats.t.interval(0.9, len(err) - 1, loc=(err**2).mean(), scale=stats.sem(err**2))
        e = g.metrics["root_mean_squared_error"]
        assert (e.ci_low, e.ci_high) == (pytest.approx(np.sqrt(lo)), pytest.approx(np.sqrt(hi)))
        r2 = g.metrics["r2_score"]
        assert r2.ci_low < r2.value < r2.ci_high <= 1


def test_the_r2_interval_covers_the_truth_at_about_the_nominal_rate():
    # Seeded simulation: y = x + noise, predictions x, so the true R² is 1/(1+1) = 0.5.
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        x = rng.normal(0, 1, 200)
        y = x + rng.normal(0, 1, 200)
        a = mc.assess_regression(y, x, sensitive_features={"g": np.repeat(["a", "b"], 100)})
        e = a.overall.metrics["r2_score"]
        hits += e.ci_low <= 0.5 <= e.ci_high
    assert hits / 400 >= 0.92


def test_small_groups_are_flagged_and_left_out_of_disparities():
    rng = np.random.default_rng(1)
    y = rng.normal(50, 5, 100)
    sf = {"site": ["a"] * 60 + ["b"] * 30 + ["c"] * 10}
    a = mc.assess_regression(y, y + rng.normal(0, 1, 100), sensitive_features=sf)
    c = next(g for g in a.groups if g.features == {"site": "c"})
    assert c.small and "mean_absolute_error" in c.too_small_for
    d = a.disparity("mean_absolute_error", "difference", ["site"])
    assert d.groups_compared == 2 and [x.group for x in d.left_out] == ["site=c"]
    assert "n=10, under 30 rows" in d.left_out[0].reason


@pytest.mark.parametrize(
    ("y", "pred", "message"),
    [
        ([1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], "the target has 1 value(s)"),
        ([1.0, 2.0, 3.0, 4.0], ["1", "x", "3", "4"], "first at row 2: 'x'"),
    ],
)
def test_missing_or_non_numeric_values_are_named_with_their_row(y, pred, message):
    with pytest.raises(DataError, match=None) as err:
        mc.assess_regression(y, pred, sensitive_features={"g": ["a", "a", "b", "b"]})
    assert message in str(err.value)


def test_a_policy_bounds_error_ratios_groups_and_overall_values(diabetes):
    df, pred = diabetes
    a = mc.assess_regression(df[TARGET], pred, sensitive_features=df[["sex"]])
    policy = mc.parse_policy(
        "checks:\n"
        "  - mean_absolute_error_ratio >= 0.5\n"
        "  - mean_absolute_error <= 20 for every group\n"
        "  - r2_score >= 0.2\n"
        "  - mean_error_difference <= 1000\n"
        "  - selection_rate_difference <= 0.1\n"
    )
    verdicts = [c.verdict for c in policy.evaluate(a).checks]
    assert verdicts == ["pass", "fail", "pass", "pass", "inconclusive"]
    assert "not reported for a regression model" in policy.evaluate(a).checks[4].reason
    with pytest.raises(mc.errors.PolicyError, match="unknown metric 'mean_error_ratio'"):
        mc.parse_policy("checks: [mean_error_ratio >= 0.8]")


def test_a_registered_regressor_loads_as_a_regression_and_refuses_a_positive_label(registry):
    df = load_diabetes_frame()
    model = Ridge().fit(df[FEATURES], df[TARGET])
    with pytest.raises(UnsupportedTaskError, match="applies to classifiers only"):
        registry.register(
            model, name="r", X_train=df[FEATURES], evaluation=df, target=TARGET, positive_label=1
        )
    registry.register(
        model,
        name="r",
        X_train=df[FEATURES],
        evaluation=df[[*FEATURES, TARGET, *SENSITIVE]],
        target=TARGET,
        sensitive_features=SENSITIVE,
    )
    loaded = registry.load("models:/r/1")
    assert loaded.task == "regression" and loaded.classes == [] and loaded.positive_label is None
    result = mc.generate_card(model=loaded)
    assert result.assessment.task == "regression"
    assert result.card.model_details.task == "regression"
    assert result.card.evaluation_data.provenance.positives is None


def card(*args, cwd, env=None):
    return subprocess.run(
        [str(SCRIPT), "card", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_example_regression_card_reports_errors_and_validates(tmp_path, examples_home):
    out = card(
        "--model",
        "models:/diabetes-progression@champion",
        cwd=tmp_path,
        env={"MODELCARDS_HOME": str(examples_home)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    folder = tmp_path / "model_card"
    data = json.loads((folder / "model_card.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["model_details"]["task"] == "regression"
    assert data["metrics"]["reported"] == mc.REGRESSION_METRICS
    assert "t-interval" in data["metrics"]["variation_approaches"][-1]
    md = (folder / "model_card.md").read_text()
    assert "| Task | regression: predicts a number |" in md
    assert "| mean_absolute_error_ratio |" in md and "Pos." not in md
    assert "tabular-regression" in md
    html = (folder / "model_card.html").read_text()
    assert "Mean absolute error" in html and "regression: predicts a number" in html


def test_a_numeric_target_with_a_predictions_column_makes_a_regression_card(tmp_path):
    df = load_diabetes_frame()
    df["predicted"] = Ridge().fit(df[FEATURES], df[TARGET]).predict(df[FEATURES])
    df.to_csv(tmp_path / "d.csv", index=False)
    base = ["--data", "d.csv", "--target", TARGET, "--sensitive", "sex"]
    out = card(*base, "--predictions", "predicted", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "model_card" / "model_card.json").read_text())
    mae = data["quantitative_analyses"]["overall"]["metrics"]["mean_absolute_error"]["value"]
    assert mae == pytest.approx(skm.mean_absolute_error(df[TARGET], df["predicted"]))
    # Scores and thresholds belong to classifiers: exit 2, nothing written.
    out = card(*base, "--scores", "predicted", "--threshold", "100", "--out", "o2", cwd=tmp_path)
    assert out.returncode == 2 and "regression card" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "o2").exists()


def test_a_non_numeric_prediction_exits_2_naming_the_row(tmp_path):
    df = pd.DataFrame(
        {"y": np.arange(40.0), "g": ["a", "b"] * 20, "p": [str(v) for v in range(39)] + ["x"]}
    )
    df.to_csv(tmp_path / "d.csv", index=False)
    out = card(
        "--data", "d.csv", "--target", "y", "--sensitive", "g", "--predictions", "p",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2 and "first at row 40: 'x'" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "model_card").exists()
