"""Multiclass classifiers: accuracy and macro averages per group against Fairlearn, each
class one-vs-rest, Bonferroni-combined intervals, policy checks with ``class:``,
registration, and the card end to end."""

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
from fairlearn.metrics import MetricFrame, false_negative_rate, selection_rate
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier

import modelcards as mc
from modelcards._card import SCHEMA_PATH
from modelcards._intervals import clopper_pearson
from modelcards.errors import PolicyError, UnsupportedTaskError

SCRIPT = Path(sys.executable).parent / "modelcards"
CLASSES = ["approved", "declined", "review"]
FEATURES = ["income", "debt", "tenure"]


def _reference(labels: list[str]) -> dict:
    """Fairlearn's reference: scikit-learn's metrics over every class, macro averaged,
    a class undefined in a group left out of its average (zero_division=np.nan)."""
    return {
        "accuracy_score": skm.accuracy_score,
        "macro_recall_score": lambda y, p: skm.recall_score(
            y, p, labels=labels, average="macro", zero_division=np.nan
        ),
        "macro_precision_score": lambda y, p: skm.precision_score(
            y, p, labels=labels, average="macro", zero_division=np.nan
        ),
        "macro_f1_score": lambda y, p: skm.f1_score(
            y, p, labels=labels, average="macro", zero_division=np.nan
        ),
    }


def loans(n: int = 2400, seed: int = 0) -> pd.DataFrame:
    """Three outcomes from three inputs, with a sex and a region that shift them."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "income": rng.normal(50, 15, n),
            "debt": rng.normal(20, 8, n),
            "tenure": rng.integers(0, 30, n).astype(float),
            "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["north", "south", "west"], n, p=[0.5, 0.4, 0.1]),
        }
    )
    score = (df.income - 2 * df.debt + df.tenure) / 15 + rng.normal(0, 1, n)
    score += np.where(df.sex == "F", -0.3, 0.0)
    df["decision"] = np.select([score > 1.2, score < -0.2], ["approved", "declined"], "review")
    # No one in the west is sent to review: that class's recall is undefined there and
    # left out of the west's macro recall (zero_division=np.nan).
    west = df.region == "west"
    df.loc[west, "decision"] = np.where(score[west] > 0.5, "approved", "declined")
    return df


@pytest.fixture(scope="module")
def data():
    df = loans()
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        df[FEATURES], df["decision"]
    )
    df["predicted"] = model.predict(df[FEATURES])
    return df, model


def test_accuracy_and_macro_averages_per_group_equal_fairlearn_s_metricframe(data):
    df, model = data
    proba = model.predict_proba(df[FEATURES])
    a = mc.assess_multiclass(
        df["decision"],
        df["predicted"],
        sensitive_features=df[["sex", "region"]],
        y_proba=proba,
        classes=list(model.classes_),
    )
    assert a.task == "multiclass" and a.metrics == mc.MULTICLASS_METRICS
    reference = _reference(CLASSES)
    for features in (["sex"], ["region"], ["sex", "region"]):
        mf = MetricFrame(
            metrics=reference,
            y_true=df["decision"],
            y_pred=df["predicted"],
            sensitive_features=df[features],
        )
        groups = a.groups_for(features)
        assert len(groups) == len(mf.by_group)
        for g in groups:
            key = tuple(g.features[f] for f in features)
            row = mf.by_group.loc[key if len(key) > 1 else key[0]]
            for m in reference:
                assert g.metrics[m].value == row[m], (m, key)  # exactly
                assert g.metrics[m].ci_low <= g.metrics[m].value <= g.metrics[m].ci_high
        for m in reference:
            assert a.overall.metrics[m].value == mf.overall[m]
            # Over the groups large enough for the metric (the others are left out).
            d = a.disparity(m, "difference", features)
            out = {x.group for x in d.left_out}
            kept = [g.metrics[m].value for g in groups if mc.group_label(g.features) not in out]
            assert d.value == max(kept) - min(kept)
            assert d.ci_low <= d.value <= d.ci_high
            if not out:
                assert d.value == pytest.approx(mf.difference()[m], abs=1e-15)


def test_each_class_one_vs_rest_equals_fairlearn_with_that_class_as_positive(data):
    df, model = data
    proba = model.predict_proba(df[FEATURES])
    a = mc.assess_multiclass(
        df["decision"],
        df["predicted"],
        sensitive_features=df[["sex"]],
        y_proba=proba,
        classes=list(model.classes_),
    )
    assert [c.label for c in a.classes] == CLASSES
    for k, label in enumerate(CLASSES):
        one = a.class_assessment(label)
        assert one.task == "binary" and "roc_auc_score" in one.metrics
        y, p = df["decision"] == label, df["predicted"] == label
        mf = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "false_negative_rate": false_negative_rate,
                "precision_score": lambda t, q: skm.precision_score(t, q, zero_division=np.nan),
            },
            y_true=y,
            y_pred=p,
            sensitive_features=df["sex"],
        )
        for g in one.groups:
            row = mf.by_group.loc[g.features["sex"]]
            for m in ("selection_rate", "false_negative_rate", "precision_score"):
                assert g.metrics[m].value == row[m], (label, m)
        # The class's ROC AUC ranks by its own probability column.
        auc = MetricFrame(
            metrics=skm.roc_auc_score, y_true=y, y_pred=proba[:, k], sensitive_features=df["sex"]
        )
        for g in one.groups:
            expected = auc.by_group.loc[g.features["sex"]]
            assert g.metrics["roc_auc_score"].value == pytest.approx(expected, abs=1e-12)
        assert one.overall.metrics["roc_auc_score"].value == pytest.approx(
            skm.roc_auc_score(y, proba[:, k]), abs=1e-12
        )
        dp = one.disparity("demographic_parity_difference", "difference", ["sex"])
        assert dp.value == pytest.approx(mf.difference()["selection_rate"], abs=1e-15)


def test_a_macro_interval_is_the_mean_of_the_classes_bounds_at_alpha_over_k():
    y = np.array(["a"] * 40 + ["b"] * 40 + ["c"] * 40)
    p = np.array(["a"] * 30 + ["b"] * 10 + ["b"] * 35 + ["c"] * 5 + ["c"] * 20 + ["a"] * 20)
    a = mc.assess_multiclass(y, p, sensitive_features={"g": ["x", "y"] * 60}, confidence=0.9)
    e = a.overall.metrics["macro_recall_score"]
    lo, hi = clopper_pearson(np.array([30, 35, 20]), np.array([40, 40, 40]), 0.1 / 3)
    assert (e.ci_low, e.ci_high) == (pytest.approx(lo.mean()), pytest.approx(hi.mean()))
    assert e.value == pytest.approx((30 / 40 + 35 / 40 + 20 / 40) / 3)
    assert e.support == 40
    # F1 from the exact interval of J = TP / (TP + FP + FN), mapped by 2J / (1 + J).
    f1 = a.overall.metrics["macro_f1_score"]
    tp, den = np.array([30, 35, 20]), np.array([30 + 20 + 10, 35 + 10 + 5, 20 + 5 + 20])
    jl, jh = clopper_pearson(tp, den, 0.1 / 3)
    assert f1.ci_low == pytest.approx((2 * jl / (1 + jl)).mean())
    assert f1.ci_high == pytest.approx((2 * jh / (1 + jh)).mean())


def test_a_policy_checks_a_class_or_the_averages_and_names_the_classes_when_unclear(data):
    df, _ = data
    a = mc.assess_multiclass(df["decision"], df["predicted"], sensitive_features=df[["sex"]])
    policy = mc.parse_policy(
        "checks:\n"
        "  - accuracy_score >= 0.5\n"
        "  - macro_recall_score_difference <= 0.5\n"
        "  - check: false_negative_rate <= 0.01 for every group\n"
        "    class: approved\n"
        "  - check: selection_rate_difference <= 0.9\n"
        "    class: review\n"
        "    features: [sex]\n"
    )
    result = policy.evaluate(a)
    assert [c.verdict for c in result.checks] == ["pass", "pass", "fail", "pass"]
    assert [c.class_label for c in result.checks] == [None, None, "approved", "review"]
    with pytest.raises(PolicyError, match="no class 'approve'") as err:
        mc.parse_policy("checks:\n  - check: selection_rate <= 1\n    class: approve\n").evaluate(a)
    assert "approved, declined, review" in str(err.value.hint)
    with pytest.raises(PolicyError, match="reported per class on a multiclass model") as err:
        mc.parse_policy("checks: [demographic_parity_ratio >= 0.8]").evaluate(a)
    assert "classes: approved, declined, review" in str(err.value)
    binary = mc.assess([0, 1] * 30, [0, 1] * 30, sensitive_features={"g": ["x"] * 30 + ["y"] * 30})
    with pytest.raises(PolicyError, match="applies to multiclass models"):
        mc.parse_policy("checks:\n  - check: selection_rate <= 1\n    class: 1\n").evaluate(binary)


def test_a_registered_multiclass_model_loads_and_refuses_a_positive_label(registry, data):
    df, model = data
    with pytest.raises(UnsupportedTaskError, match="applies to binary classifiers only"):
        registry.register(
            model,
            name="m",
            X_train=df[FEATURES],
            evaluation=df,
            target="decision",
            positive_label="approved",
        )
    registry.register(
        model,
        name="m",
        X_train=df[FEATURES],
        evaluation=df[[*FEATURES, "decision", "sex", "region"]],
        target="decision",
        sensitive_features=["sex", "region"],
    )
    loaded = registry.load("models:/m/1")
    assert loaded.task == "multiclass_classification" and loaded.positive_label is None
    assert loaded.classes == CLASSES
    labels, proba = loaded.predict_with_probabilities(df)
    assert proba is not None and proba.shape == (len(df), 3)
    assert (labels == model.predict(df[FEATURES])).all()
    result = mc.generate_card(model=loaded)
    assert result.card.model_details.task == "multiclass_classification"
    assert [c.label for c in result.card.fairness.classes] == CLASSES
    assert result.card.evaluation_data.provenance.positives is None


def card(*args, cwd, env=None):
    return subprocess.run(
        [str(SCRIPT), "card", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_example_multiclass_card_has_a_section_per_class_and_validates(tmp_path, examples_home):
    out = card(
        "--model",
        "models:/penguin-species@champion",
        cwd=tmp_path,
        env={"MODELCARDS_HOME": str(examples_home)},
    )
    assert out.returncode == 1, out.stdout + out.stderr  # the example policy fails a class
    folder = tmp_path / "model_card"
    data = json.loads((folder / "model_card.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert data["model_details"]["task"] == "multiclass_classification"
    assert data["metrics"]["reported"] == mc.MULTICLASS_METRICS
    assert [c["label"] for c in data["fairness"]["classes"]] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "alpha / K" in data["metrics"]["variation_approaches"][-1]
    failing = [c for c in data["policy"]["checks"] if c["verdict"] == "fail"]
    assert [(c["metric"], c["class_label"]) for c in failing] == [
        ("false_negative_rate", "Chinstrap")
    ]
    md = (folder / "model_card.md").read_text()
    assert "### Class Chinstrap against the rest" in md
    assert "for class “Gentoo” against the rest." in md and "(class `Gentoo`)" in md
    assert "| Macro recall |" in md and "Multiclass classification" in md
    assert "misses at most 40% of people of the Chinstrap species" in md
    html = (folder / "model_card.html").read_text()
    assert 'id="classes"' in html and "Class Gentoo" in html


def test_a_multiclass_predictions_column_makes_a_card_and_bad_flags_exit_2(tmp_path, data):
    df, _ = data
    df.to_csv(tmp_path / "d.csv", index=False)
    base = ["--data", "d.csv", "--target", "decision", "--sensitive", "sex,region"]
    (tmp_path / "p.yaml").write_text("checks:\n  - check: selection_rate <= 1\n    class: nope\n")
    out = card(*base, "--predictions", "predicted", "--policy", "p.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "no class 'nope'" in out.stderr
    assert "approved, declined, review" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "model_card").exists()
    out = card(*base, "--scores", "income", "--threshold", "1", cwd=tmp_path)
    assert out.returncode == 2 and "3 classes" in out.stderr
    out = card(*base, "--predictions", "predicted", "--positive-label", "review", cwd=tmp_path)
    assert out.returncode == 2 and "Drop --positive-label" in out.stderr
    assert not (tmp_path / "model_card").exists()
    (tmp_path / "p.yaml").write_text(
        "checks:\n  - check: false_negative_rate <= 0.5 for every group\n    class: approved\n"
    )
    out = card(*base, "--predictions", "predicted", "--policy", "p.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "model_card" / "model_card.json").read_text())
    acc = data["quantitative_analyses"]["overall"]["metrics"]["accuracy_score"]["value"]
    assert acc == skm.accuracy_score(df["decision"], df["predicted"])
    assert data["policy"]["checks"][0]["class_label"] == "approved"
