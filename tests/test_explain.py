"""Why this prediction: contributions per input that add up, against real registered models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import register

import modelcards as mc
from modelcards._explain import _background, _exact, _linear_parts, _logistic
from modelcards.errors import DataError

INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
TREE = "sklearn.tree._tree.Tree"


def _answer(model, frame, output):
    p = model.positive_scores(frame)
    return np.log(p) - np.log1p(-p) if output == "log_odds" else p


def _adds_up(e, model, output):
    own = _answer(model, mc.coerce_row(model, INPUTS), output)[0]
    bg = _answer(model, _background(model, e.background_rows, e.seed), output)
    assert e.prediction == pytest.approx(own, abs=1e-6)
    assert e.baseline == pytest.approx(bg.mean(), abs=1e-6)
    assert e.baseline + sum(c.contribution for c in e.contributions) == pytest.approx(own, abs=1e-6)


@pytest.mark.parametrize("output", ["probability", "log_odds"])
@pytest.mark.parametrize("ref", ["@champion", "@challenger"])
def test_contributions_add_up_to_the_models_own_answer(examples_registry, ref, output):
    model = examples_registry.load(f"models:/arrests-release{ref}")
    e = mc.explain(model, INPUTS, output=output)
    _adds_up(e, model, output)
    assert [c.input for c in e.contributions] == model.feature_names  # per input, not column
    assert {c.input: c.value for c in e.contributions} == INPUTS
    # The champion's log-odds are linear: closed form; everything else enumerates.
    linear = ref == "@champion" and output == "log_odds"
    assert e.method == ("linear" if linear else "exact_shapley")


@pytest.mark.parametrize(
    "inputs",
    [INPUTS, {"year": 1997, "age": 60, "employed": "Yes", "citizen": "No", "checks": 0}],
)
def test_a_logistic_models_probabilities_are_explained_as_every_coalition_would(
    examples_registry, inputs
):
    # Try it explains a logistic regression's probability from per-input log-odds terms
    # instead of scoring every coalition through the model: the values must not change.
    model = examples_registry.load("models:/arrests-release@champion")
    assert _logistic(_linear_parts(model))
    e = mc.explain(model, inputs)
    row, bg = mc.coerce_row(model, inputs), _background(model, e.background_rows, e.seed)
    positive = list(model.model.classes_).index(model.positive_label)
    baseline, contribs, prediction = _exact(model, row, bg, positive, "probability")
    assert e.method == "exact_shapley"
    assert e.baseline == pytest.approx(baseline, abs=1e-12)
    assert e.prediction == pytest.approx(prediction, abs=1e-12)
    assert [c.contribution for c in e.contributions] == pytest.approx(contribs, abs=1e-12)


def test_a_linear_models_log_odds_contributions_are_its_coefficients(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test)
    model = registry.load("models:/m/1")
    # More rows than the split holds: the whole split is the background, no sampling.
    e = mc.explain(model, INPUTS, output="log_odds", background_rows=100_000)
    assert e.method == "linear" and e.background_rows == len(test)

    scaler, onehot = pipe[0].named_transformers_.values()
    coef = dict(zip(pipe[0].get_feature_names_out(), pipe[-1].coef_[0], strict=True))
    expected = {}
    for i, name in enumerate(["year", "age", "checks"]):
        # coef * (scaled x - mean of the scaled background) = coef * (x - mean) / scale
        gap = (INPUTS[name] - test[name].mean()) / scaler.scale_[i]
        expected[name] = coef[f"standardscaler__{name}"] * gap
    for name, levels in zip(["employed", "citizen"], onehot.categories_, strict=True):
        expected[name] = sum(
            coef[f"onehotencoder__{name}_{level}"]
            * ((INPUTS[name] == level) - (test[name] == level).mean())
            for level in levels
        )
    got = {c.input: c.contribution for c in e.contributions}
    assert got == pytest.approx(expected, abs=1e-9)
    assert e.baseline == pytest.approx(
        pipe[-1].intercept_[0] + pipe[0].transform(test).mean(axis=0) @ pipe[-1].coef_[0]
    )
    # Enumerating every coalition gives the same values: the closed form is Shapley's.
    background = _background(model, e.background_rows, e.seed)
    baseline, enumerated, _ = _exact(model, mc.coerce_row(model, INPUTS), background, 1, "log_odds")
    assert list(enumerated) == pytest.approx(list(got.values()), abs=1e-9)
    assert baseline == pytest.approx(e.baseline, abs=1e-9)


def test_a_random_forests_contributions_add_up_and_match_shap(registry, arrests):
    import shap
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from modelcards._examples import FEATURES, SENSITIVE, TARGET

    train, test = arrests.iloc[:3500], arrests.iloc[3500:]
    forest = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["employed", "citizen"]),
            remainder="passthrough",
        ),
        RandomForestClassifier(n_estimators=30, min_samples_leaf=10, random_state=0),
    ).fit(train[FEATURES], train[TARGET])
    evaluation = test[[*FEATURES, TARGET, *SENSITIVE]].reset_index(drop=True)
    register(registry, forest, train[FEATURES], evaluation, trusted_types=[TREE])
    model = registry.load("models:/m/1", trusted_types=[TREE])

    e = mc.explain(model, INPUTS)
    assert e.method == "exact_shapley" and e.output == "probability"
    _adds_up(e, model, "probability")

    # shap's TreeExplainer is exact for a forest's probabilities (an average of leaves):
    # summed back over each input's one-hot columns, it must give the same values.
    background = forest[0].transform(_background(model, e.background_rows, e.seed))
    tree = shap.TreeExplainer(forest[-1], data=background, feature_perturbation="interventional")
    values = tree.shap_values(forest[0].transform(mc.coerce_row(model, INPUTS)))
    yes = list(forest[-1].classes_).index("Yes")
    per_column = np.asarray(values)[0, :, yes]
    owners = [n.split("__")[1].rsplit("_", 1)[0] for n in forest[0].get_feature_names_out()]
    by_input = pd.Series(per_column).groupby(owners).sum()
    got = {c.input: c.contribution for c in e.contributions}
    # shap works in float32 inside its trees: agreement to 1e-6.
    assert got == pytest.approx(by_input.to_dict(), abs=1e-6)


def test_the_same_seed_gives_the_same_explanation(examples_registry):
    model = examples_registry.load("models:/arrests-release@challenger")
    first = mc.explain(model, INPUTS, seed=3)
    assert mc.explain(model, INPUTS, seed=3) == first
    assert mc.explain(model, INPUTS, seed=4).baseline != first.baseline


def test_a_bad_input_is_named(examples_registry):
    model = examples_registry.load("models:/arrests-release@champion")
    with pytest.raises(DataError, match="Input 'age' 'old' is not a number"):
        mc.explain(model, {**INPUTS, "age": "old"})
    with pytest.raises(DataError, match="Input 'age' .* is outside the allowed range 12 to 90"):
        mc.DemoService(examples_registry, mc.Store("sqlite://")).explain(
            model, {**INPUTS, "age": 1e308}
        )


def test_the_chart_draws_each_push_from_the_baseline_largest_first(examples_registry):
    model = examples_registry.load("models:/arrests-release@champion")
    e = mc.explain(model, INPUTS)
    fig = mc.explanation_figure(e)
    bars = fig.data[0]
    assert list(bars.y)[0] == "checks = 5"  # the largest push on top
    assert [abs(x) for x in bars.x] == sorted((abs(x) for x in bars.x), reverse=True)
    assert bars.base == e.baseline and bars.orientation == "h"
    assert fig.layout.height >= 20 * len(bars.y)
    sentence = e.sentence()
    assert sentence.startswith(f"Starting from the average answer {e.baseline:.3f}")
    assert "checks = 5 pushed it down by" in sentence
    assert sentence.endswith(f"ending at {e.prediction:.3f}.")
