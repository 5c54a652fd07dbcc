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
