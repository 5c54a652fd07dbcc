"""Chart functions: a result in, a Plotly figure out, readable at any number of groups."""

from __future__ import annotations

import modelcards as mc
from modelcards._charts import BAR_PX, group_metrics_spec


def _assessment():
    data = mc.synthesize(3000, seed=0)
    return mc.assess(
        data["approved"],
        (data["score"] >= 0.5).astype(int),
        sensitive_features=data[["sex", "group"]],
        y_score=data["score"],
    )


def test_rates_and_roc_auc_never_share_an_axis():
    spec = group_metrics_spec(_assessment(), ["sex", "group"])
    axes = {t["name"]: t["xaxis"] for t in spec["data"]}
    assert axes.pop("ROC AUC") == "x2"
    assert set(axes.values()) == {"x"}
    rates, auc = spec["layout"]["xaxis"]["domain"], spec["layout"]["xaxis2"]["domain"]
    assert rates[1] < auc[0]  # side by side, not overlaid


def test_group_bars_are_horizontal_and_the_chart_grows_with_the_groups():
    a = _assessment()
    by_sex = group_metrics_spec(a, ["sex"])
    by_both = group_metrics_spec(a, ["sex", "group"])
    assert all(t["orientation"] == "h" for t in by_both["data"])
    assert by_both["data"][0]["y"][0] == "sex=female &amp; group=A"  # Plotly reads HTML
    rates = [t for t in by_both["data"] if t["xaxis"] == "x"]
    assert by_both["layout"]["height"] >= 10 * len(rates) * BAR_PX
    assert by_both["layout"]["height"] > by_sex["layout"]["height"]
    assert by_both["layout"]["yaxis"]["automargin"] is True  # labels get the room they need


def test_the_try_it_charts_are_valid_plotly_figures(examples_registry):
    # Try it sends these specs without Plotly's validation (components/predictions.py):
    # Plotly's own schema must accept them.
    import plotly.graph_objects as go

    model = examples_registry.load("models:/arrests-release@champion")
    why = mc.explain(
        model, {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
    )
    for spec in (mc.probability_spec({"No": 0.25, "Yes": 0.75}, "Yes"), mc.explanation_spec(why)):
        assert go.Figure(spec).to_dict()["data"][0]["type"] == "bar"
