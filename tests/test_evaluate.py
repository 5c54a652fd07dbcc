"""assess() agrees with Fairlearn on every point value; its intervals are the exact and
simultaneous ones it documents; undefined values and thin groups are said so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_score,
    roc_auc_score,
)

from modelcards import synthesize
from modelcards._evaluate import (
    MISSING,
    RATE_METRICS,
    assess,
    auc_by_group,
    group_label,
    sort_scores,
)
from modelcards.errors import DataError, UnsupportedTaskError

FAIRLEARN = {
    "count": count,
    "selection_rate": selection_rate,
    "accuracy_score": accuracy_score,
    "balanced_accuracy_score": balanced_accuracy_score,
    "precision_score": precision_score,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "true_negative_rate": true_negative_rate,
}


@pytest.fixture(scope="module")
def data():
    df = synthesize(6000, seed=11)
    df["pred"] = (df["score"] >= 0.5).astype(int)
    return df


def _by_group(result, features):
    return {tuple(g.features.values()): g for g in result.groups_for(features)}


def _encode(df, kind):
    """The same outcomes as int, str, or bool labels."""
    y, p = df["approved"].to_numpy(), df["pred"].to_numpy()
    if kind == "int":
        return y, p, 1
    if kind == "str":
        lab = np.array(["deny", "approve"])
        return lab[y], lab[p], "approve"
    return y.astype(bool), p.astype(bool), True


@pytest.mark.parametrize("kind", ["int", "str", "bool"])
@pytest.mark.parametrize("features", [["sex"], ["group"], ["sex", "group"]])
def test_per_group_values_equal_fairlearn_metricframe_exactly(data, kind, features):
    y, p, pos = _encode(data, kind)
    result = assess(y, p, sensitive_features=data[features], y_score=data["score"], pos_label=pos)
    yb, pb = (y == pos).astype(int), (p == pos).astype(int)
    mf = MetricFrame(metrics=FAIRLEARN, y_true=yb, y_pred=pb, sensitive_features=data[features])
    auc = MetricFrame(
        metrics=roc_auc_score, y_true=yb, y_pred=data["score"], sensitive_features=data[features]
    )
    ours = _by_group(result, features)
    assert len(ours) == len(mf.by_group)
    for key, row in mf.by_group.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        g = ours[key]
        for metric in FAIRLEARN:
            e = g.metrics[metric]
            if metric != "count" and e.support == 0:  # Fairlearn says 0 with a warning
                assert e.value is None and row[metric] == 0, (key, metric)
            else:
                assert e.value == row[metric], (key, metric)
        # Our AUC is U / (P * N) correctly rounded; scikit-learn's trapezoid sum can
        # differ in the last bit, never more.
        assert g.metrics["roc_auc_score"].value == pytest.approx(
            auc.by_group.loc[key if len(key) > 1 else key[0]], rel=1e-14, abs=0
        )
        assert g.n == row["count"] == g.positives + g.negatives
    for metric in FAIRLEARN:
        assert result.overall.metrics[metric].value == mf.overall[metric]


def test_disparities_equal_fairlearn_difference_ratio_and_named_metrics(data):
    y, p = data["approved"], data["pred"]
    result = assess(y, p, sensitive_features=data[["group"]], min_group_size=1)
    mf = MetricFrame(
        metrics={k: v for k, v in FAIRLEARN.items() if k != "count"},
        y_true=y,
        y_pred=p,
        sensitive_features=data["group"],
    )
    for metric in RATE_METRICS:
        assert result.disparity(metric, "difference", ["group"]).value == pytest.approx(
            mf.difference()[metric], abs=0, rel=1e-15
        )
        assert result.disparity(metric, "ratio", ["group"]).value == pytest.approx(
            mf.ratio()[metric], abs=0, rel=1e-15
        )
    sf = data["group"]
    named = {
        "demographic_parity_difference": demographic_parity_difference,
        "demographic_parity_ratio": demographic_parity_ratio,
        "equalized_odds_difference": equalized_odds_difference,
        "equalized_odds_ratio": equalized_odds_ratio,
    }
    for name, fn in named.items():
        kind = "difference" if name.endswith("difference") else "ratio"
        assert result.disparity(name, kind, ["group"]).value == pytest.approx(
            fn(y, p, sensitive_features=sf), rel=1e-15
        )


def test_group_rate_intervals_are_clopper_pearson_on_the_metric_s_own_denominator(data):
    from scipy.stats import binomtest

    a = assess(data["approved"], data["pred"], sensitive_features=data[["group"]])
    y, p = data["approved"].to_numpy(), data["pred"].to_numpy()
    for g in a.groups_for(["group"]):
        rows = (data["group"] == g.features["group"]).to_numpy()
        for metric, k, n in [
            ("selection_rate", p[rows].sum(), rows.sum()),
            ("false_positive_rate", (p[rows] & ~y[rows].astype(bool)).sum(), (y[rows] == 0).sum()),
            ("precision_score", (p[rows] & y[rows].astype(bool)).sum(), p[rows].sum()),
        ]:
            e = g.metrics[metric]
            ci = binomtest(int(k), int(n)).proportion_ci(0.95, method="exact")
            assert e.support == n
            assert e.ci_low == pytest.approx(ci.low, abs=1e-12), (g.features, metric)
            assert e.ci_high == pytest.approx(ci.high, abs=1e-12), (g.features, metric)


def test_every_interval_contains_its_point_value_and_nothing_is_random(data):
    kwargs = dict(sensitive_features=data[["sex", "group"]], y_score=data["score"])
    a = assess(data["approved"], data["pred"], **kwargs)
    assert a == assess(data["approved"], data["pred"], **kwargs)
    for g in [a.overall, *a.groups]:
        for m, e in g.metrics.items():
            assert e.ci_low <= e.value + 1e-12 and e.value <= e.ci_high + 1e-12, (g.features, m)
            if m != "count":
                assert e.ci_high > e.ci_low, (g.features, m)  # never zero width
    for d in a.disparities:
        if d.value is not None:
            assert d.ci_low - 1e-12 <= d.value <= d.ci_high + 1e-12, (d.metric, d.features)


def test_a_disparity_names_the_groups_it_compares_and_its_interval_is_simultaneous(data):
    from modelcards._evaluate import rate_intervals
    from modelcards._intervals import between_groups

    a = assess(data["approved"], data["pred"], sensitive_features=data[["group"]])
    groups = a.groups_for(["group"])
    rates = {g.features["group"]: g.metrics["false_negative_rate"].value for g in groups}
    d = a.disparity("false_negative_rate", "difference", ["group"])
    low, high = min(rates, key=rates.get), max(rates, key=rates.get)
    assert [c.group for c in d.compared] == [f"group={low}", f"group={high}"]
    assert [c.value for c in d.compared] == [rates[low], rates[high]]
    assert d.value == rates[high] - rates[low]
    # Each group's interval at alpha / K, then the extreme-pair bounds.
    tabs = np.zeros((len(groups), 2, 2), dtype=np.int64)
    for k, g in enumerate(groups):
        rows = data["group"] == g.features["group"]
        for t in (0, 1):
            for q in (0, 1):
                tabs[k, t, q] = ((data["approved"] == t) & (data["pred"] == q) & rows).sum()
    lo, hi = rate_intervals(tabs, 0.05 / len(groups))["false_negative_rate"]
    assert (d.ci_low, d.ci_high) == pytest.approx(between_groups(lo, hi, "difference"))
    eo = a.disparity("equalized_odds_difference", "difference", ["group"])
    assert eo.via in {"true_positive_rate", "false_positive_rate"} and len(eo.compared) == 2


def test_a_rate_with_no_denominator_is_undefined_and_left_out_of_its_disparities():
    # Group b has no actual positives: its TPR and FNR are undefined, not 0.
    y = pd.Series([1, 0] * 40 + [0] * 40)
    p = pd.Series([1, 0] * 40 + [1, 0] * 20)
    sf = pd.DataFrame({"s": ["a"] * 80 + ["b"] * 40})
    a = assess(y, p, sensitive_features=sf, min_group_size=10)
    b = next(g for g in a.groups if g.features == {"s": "b"})
    for metric in ("true_positive_rate", "false_negative_rate"):
        e = b.metrics[metric]
        assert (e.value, e.ci_low, e.ci_high, e.support) == (None, None, None, 0)
    assert b.metrics["false_positive_rate"].value == 0.5
    d = a.disparity("true_positive_rate", "difference", ["s"])
    assert d.value is None and d.groups_compared == 1
    assert [(x.group, x.reason) for x in d.left_out] == [("s=b", "undefined: no actual positives")]


def test_a_group_thin_for_one_metric_is_flagged_for_that_metric_only(data):
    # 60 rows but only 3 actual positives: fine for the selection rate, not for TPR.
    sf = data[["group"]].copy()
    y, p = data["approved"].copy(), data["pred"].copy()
    idx = data.index[:60]
    sf.loc[idx, "group"] = "Z"
    y.loc[idx] = [1, 1, 1] + [0] * 57
    a = assess(y, p, sensitive_features=sf)
    z = next(g for g in a.groups if g.features == {"group": "Z"})
    assert not z.small and z.metrics["true_positive_rate"].support == 3
    assert {"true_positive_rate", "false_negative_rate", "balanced_accuracy_score"} <= set(
        z.too_small_for
    )
    assert "selection_rate" not in z.too_small_for
    tpr = a.disparity("true_positive_rate", "difference", ["group"])
    assert "group=Z" in [x.group for x in tpr.left_out] and tpr.groups_compared == 5
    sr = a.disparity("selection_rate", "difference", ["group"])
    assert sr.groups_compared == 6 and not sr.left_out
    assert any("group=Z (3)" in n and "actual positive" in n for n in a.notes)


def test_delong_auc_interval_matches_the_row_bootstrap(data):
    y, s = data["approved"].to_numpy(), data["score"].to_numpy()
    a = assess(y, data["pred"], sensitive_features=data[["sex"]], y_score=s)
    e = a.overall.metrics["roc_auc_score"]
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(400):
        idx = rng.integers(0, len(y), len(y))
        boots.append(roc_auc_score(y[idx], s[idx]))
    lo, hi = np.quantile(boots, [0.025, 0.975])
    assert e.ci_low == pytest.approx(lo, abs=0.006) and e.ci_high == pytest.approx(hi, abs=0.006)


@pytest.mark.parametrize(
    "kind", ["probabilities", "near twins", "negative and zero", "rounded", "many near twins"]
)
def test_sort_scores_orders_a_large_array_exactly_like_argsort(kind):
    rng = np.random.default_rng(3)
    n = 200_000  # large enough for the packed-key sort
    s = rng.random(n)
    if kind == "near twins":  # 1,000 pairs that differ in the last bit only: mended
        s[1:2000:2] = np.nextafter(s[0:2000:2], 2)
    elif kind == "negative and zero":
        s = rng.normal(size=n)
        s[:100] = 0.0
        s[100:200] = -0.0
    elif kind == "rounded":
        s = np.round(s, 3)
    elif kind == "many near twins":  # more than the mending allows: the argsort fallback
        s = 0.5 + rng.integers(0, 2**20, n) * 2.0**-52
    s = rng.permutation(s)
    order, ranked = sort_scores(s)
    assert np.array_equal(np.sort(order), np.arange(n))  # a permutation
    assert np.array_equal(ranked, s[order])
    assert np.array_equal(ranked, np.sort(s))


def _delong_by_pairs(y, s):
    """AUC and DeLong's standard error from the full positive x negative comparison."""
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    if len(pos) < 2 or len(neg) < 2:  # no variance from a single row
        return psi.mean(), np.nan
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    return psi.mean(), se


@pytest.mark.parametrize(
    "scores", ["continuous", "a few ties", "two decimals", "one decimal", "hard 0/1"]
)
def test_roc_auc_and_delong_error_equal_the_pairwise_definition_for_every_grouping(scores):
    rng = np.random.default_rng(5)
    n = 900
    s = rng.random(n)
    s = {
        "continuous": s,
        "a few ties": np.where(np.arange(n) % 15 == 0, s[::-1], s),  # 60 equal pairs
        "two decimals": np.round(s, 2),
        "one decimal": np.round(s, 1),
        "hard 0/1": (s > 0.5).astype(float),
    }[scores]
    y = rng.random(n) < 0.2 + 0.6 * s
    sex, grp = rng.integers(0, 2, n), rng.integers(0, 3, n)
    fine = sex * 3 + grp
    groupings = [(None, 1), (sex, 2), (grp, 3), (fine, 6)]
    auc, se = auc_by_group(s, y, groupings)
    masks = [np.ones(n, bool)] + [sex == v for v in (0, 1)] + [grp == v for v in (0, 1, 2)]
    masks += [fine == v for v in range(6)]
    assert len(auc) == len(masks)
    for k, m in enumerate(masks):
        want_auc, want_se = _delong_by_pairs(y[m], s[m])
        assert auc[k] == pytest.approx(roc_auc_score(y[m], s[m]), rel=1e-14, abs=0)
        assert auc[k] == pytest.approx(want_auc, rel=1e-14, abs=0)
        assert se[k] == pytest.approx(want_se, rel=1e-9)


@pytest.mark.parametrize("tied_pairs", [0, 200])  # a few ties, and many (other code path)
def test_a_score_tie_across_groups_counts_only_in_the_groups_both_rows_share(tied_pairs):
    # Group A's positive and group B's negative share the score 0.5: a half in the overall
    # AUC, nothing within A or B.
    s = np.array([0.1, 0.5, 0.9, 0.5, 0.2, 0.8])
    y = np.array([False, True, True, False, False, True])
    fine = np.array([0, 0, 0, 1, 1, 1])
    rng = np.random.default_rng(0)
    extra = np.repeat(rng.random(tied_pairs) + 2, 2)  # more ties, far above, one class
    s, y = np.r_[s, extra], np.r_[y, np.zeros(2 * tied_pairs, bool)]
    fine = np.r_[fine, np.tile([0, 1], tied_pairs)]
    auc, se = auc_by_group(s, y, [(None, 1), (fine, 2)])
    for k, m in enumerate([np.ones(len(s), bool), fine == 0, fine == 1]):
        want_auc, want_se = _delong_by_pairs(y[m], s[m])
        assert auc[k] == want_auc and se[k] == pytest.approx(want_se, rel=1e-9, nan_ok=True)


def test_a_run_of_equal_scores_ends_where_its_group_ends():
    # Group 0's highest score equals group 1's lowest (every score of group 1 is 1.0):
    # sorted by (group, score) the two runs touch, but are not one run.
    rng = np.random.default_rng(1)
    s = np.r_[(rng.random(150) < 0.5).astype(float), np.ones(150)]
    y = rng.random(300) < 0.5
    fine = np.repeat([0, 1], 150)
    auc, se = auc_by_group(s, y, [(None, 1), (fine, 2)])
    for k, m in enumerate([np.ones(300, bool), fine == 0, fine == 1]):
        want_auc, want_se = _delong_by_pairs(y[m], s[m])
        assert auc[k] == pytest.approx(want_auc, rel=1e-14, abs=0)
        assert se[k] == pytest.approx(want_se, rel=1e-9)


def test_roc_auc_is_undefined_for_a_group_with_one_class():
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    y = np.array([False, True, False, True, True, True])
    fine = np.array([0, 0, 0, 0, 1, 1])  # group 1 has positives only
    auc, se = auc_by_group(s, y, [(fine, 2)])
    assert auc[0] == roc_auc_score(y[:4], s[:4]) and np.isnan(auc[1]) and np.isnan(se[1])


def test_missing_sensitive_values_form_an_explicit_group(data):
    sf = data[["group"]].copy()
    sf.loc[sf.index[:40], "group"] = None
    a = assess(data["approved"], data["pred"], sensitive_features=sf)
    groups = _by_group(a, ["group"])
    assert groups[(MISSING,)].n == 40
    assert sum(g.n for g in groups.values()) == len(data)


def test_small_groups_are_flagged_and_left_out_of_headline_disparities(data):
    sf = data[["group"]].copy()
    sf.loc[sf.index[:12], "group"] = "Z"
    a = assess(data["approved"], data["pred"], sensitive_features=sf)
    z = _by_group(a, ["group"])[("Z",)]
    assert z.small and z.n == 12
    d = a.disparity("demographic_parity_difference", "difference", ["group"])
    assert [x.group for x in d.left_out] == ["group=Z"] and d.groups_compared == 5
    assert d.left_out[0].reason == "n=12, under 30 rows"
    big = [g.metrics["selection_rate"].value for g in a.groups_for(["group"]) if not g.small]
    assert d.value == max(big) - min(big)
    assert any("group=Z" in n for n in a.notes)


def test_a_reference_group_measures_gaps_to_that_group(data):
    a = assess(
        data["approved"],
        data["pred"],
        sensitive_features=data[["group"]],
        reference_groups={"group": "A"},
    )
    rates = {k[0]: g.metrics["selection_rate"].value for k, g in _by_group(a, ["group"]).items()}
    d = a.disparity("selection_rate", "difference", ["group"])
    assert d.reference == "group=A"
    assert d.value == pytest.approx(max(abs(v - rates["A"]) for v in rates.values()))
    r = a.disparity("selection_rate", "ratio", ["group"])
    assert r.value == pytest.approx(
        min(min(v / rates["A"], rates["A"] / v) for v in rates.values())
    )
    with pytest.raises(DataError, match="does not exist"):
        assess(
            data["approved"],
            data["pred"],
            sensitive_features=data[["group"]],
            reference_groups={"group": "Q"},
        )


@pytest.mark.parametrize(
    ("y", "p", "sf", "error", "message"),
    [
        (
            [0, 1, 2, 1],
            [0, 1, 1, 1],
            ["a", "b", "a", "b"],
            UnsupportedTaskError,
            "binary classification only",
        ),
        ([0, 1, None, 1], [0, 1, 1, 1], ["a", "b", "a", "b"], DataError, "missing value"),
        ([0, 1, 0, 1], [0, 1, None, 1], ["a", "b", "a", "b"], DataError, "missing value"),
        ([0, 1, 0, 1], [0, 1, 0, 1], ["a", "a", "a", "a"], DataError, "single value"),
        (
            [0, 1, 0, 1],
            [0, 5, 0, 1],
            ["a", "b", "a", "b"],
            UnsupportedTaskError,
            "not among the target's labels",
        ),
    ],
)
def test_bad_inputs_get_clear_errors(y, p, sf, error, message):
    with pytest.raises(error, match=message):
        assess(pd.Series(y), pd.Series(p), sensitive_features=pd.DataFrame({"s": sf}))


def test_group_labels_name_every_feature():
    assert group_label({"sex": "F", "group": "E"}) == "sex=F & group=E"
