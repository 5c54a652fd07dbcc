"""The training-data profile, the example models and the synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelcards import profile_frame, register_examples, synthesize
from modelcards._examples import NAME, SENSITIVE
from modelcards._synth import DISADVANTAGED_GROUP

TAG = "modelcards.example"


def test_the_profile_matches_the_data(arrests):
    frame = arrests.copy()
    frame.loc[:9, "age"] = np.nan
    frame.loc[:4, "employed"] = None
    p = profile_frame(frame[["age", "checks", "employed", "year"]])
    age = p.column("age")
    values = frame["age"].dropna().to_numpy()
    assert age.kind == "numeric"
    assert age.missing_share == pytest.approx(10 / len(frame))
    assert (age.min, age.max) == (values.min(), values.max())
    assert [age.q25, age.median, age.q75] == list(np.quantile(values, [0.25, 0.5, 0.75]))
    assert p.column("checks").integer and p.column("checks").default() == int(
        frame["checks"].median()
    )
    employed = p.column("employed")
    assert employed.kind == "categorical"
    assert employed.levels == frame["employed"].value_counts().to_dict()
    assert employed.missing_share == pytest.approx(5 / len(frame))
    assert p.rows == len(frame)


def test_profile_warns_outside_the_training_range_and_on_unseen_levels(arrests):
    p = profile_frame(arrests[["age", "employed"]])
    assert p.out_of_range({"age": 30, "employed": "Yes"}) == []
    warnings = p.out_of_range({"age": 99, "employed": "Maybe"})
    assert "age = 99 lies outside the training range [12, 66]" in warnings[0]
    assert "employed = 'Maybe' was never seen in training" in warnings[1]


def test_the_arrests_data_comes_from_the_installed_package(arrests):
    assert len(arrests) == 5226
    assert set(arrests["released"]) == {"Yes", "No"}
    assert set(arrests["age_group"]) <= {"under 18", "18-24", "25-34", "35-49", "50+"}


def test_the_examples_register_two_versions_with_aliases_and_everything_a_card_needs(
    examples_registry,
):
    models = {m.name: m for m in examples_registry.list_models()}
    assert sorted(models) == [NAME, "diabetes-progression", "penguin-species"]
    model = models[NAME]
    assert model.aliases == {"champion": 1, "challenger": 2}
    for alias in ("champion", "challenger"):
        m = examples_registry.load(f"models:/{NAME}@{alias}")
        split = m.evaluation_split()
        assert set(SENSITIVE) <= set(split.columns) and m.target in split.columns
        assert not set(m.feature_names) & {"colour", "sex"}
        assert m.card_spec["intended_use"]["out_of_scope_uses"]
        assert m.profile is not None and m.metrics["accuracy"] > 0.7


def test_the_examples_compare_two_model_families_and_load_with_no_trust_flag(examples_registry):
    champion = examples_registry.load(f"models:/{NAME}@champion")
    challenger = examples_registry.load(f"models:/{NAME}@challenger")
    assert type(champion.model[-1]).__name__ == "LogisticRegression"
    assert type(challenger.model).__name__ == "HistGradientBoostingClassifier"
    assert challenger.params["estimator"] == "HistGradientBoostingClassifier"
    assert challenger.model.is_categorical_.sum() == 2  # employed and citizen


def test_a_store_with_the_older_examples_gains_the_tree_ensemble_as_challenger(registry, fitted):
    from conftest import register

    pipe, train, test = fitted
    for alias in ("champion", "challenger"):  # what `modelcards examples` registered before
        register(registry, pipe, train, test, name=NAME, alias=alias, tags={TAG: alias})
    added = register_examples(registry)
    assert f"models:/{NAME}/3 (@challenger)" in added
    (model,) = [m for m in registry.list_models() if m.name == NAME]
    assert model.aliases == {"champion": 1, "challenger": 3}
    assert registry.load(f"models:/{NAME}/3").params["estimator"] == (
        "HistGradientBoostingClassifier"
    )


def test_registering_the_examples_twice_registers_nothing_new(examples_registry):
    assert register_examples(examples_registry) == []
    models = {m.name: m for m in examples_registry.list_models()}
    assert [v.version for v in models[NAME].versions] == [2, 1]
    assert [v.version for v in models["diabetes-progression"].versions] == [1]


def test_synthetic_data_is_seeded_and_has_the_documented_shape():
    a, b = synthesize(5000, seed=3), synthesize(5000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(synthesize(5000, seed=4))
    assert a["sex"].nunique() == 2 and a["group"].nunique() == 5
    assert set(a["approved"]) == {0, 1}
    assert a["score"].between(0, 1).all()


def test_synthetic_data_injects_a_higher_false_negative_rate_for_one_group():
    df = synthesize(200_000, seed=0)
    pred = df["score"] >= 0.5
    pos = df["approved"] == 1
    fnr = (~pred & pos).groupby(df["group"]).sum() / pos.groupby(df["group"]).sum()
    fpr = (pred & ~pos).groupby(df["group"]).sum() / (~pos).groupby(df["group"]).sum()
    others = fnr.drop(DISADVANTAGED_GROUP)
    assert fnr[DISADVANTAGED_GROUP] > 1.5 * others.max()
    # Only positives were shifted: group E's false-positive rate is not raised.
    assert fpr[DISADVANTAGED_GROUP] <= fpr.drop(DISADVANTAGED_GROUP).min()
