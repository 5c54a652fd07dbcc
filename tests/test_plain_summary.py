"""The card's plain-language summary names gaps, the gate's decision and thin groups."""

from __future__ import annotations

import pytest

import modelcards as mc


def _assess(rows: int = 4000, **kwargs):
    data = mc.synthesize(rows, seed=3)
    return mc.assess(
        data["approved"],
        (data["score"] >= 0.5).astype(int),
        sensitive_features=data[["group"]],
        **kwargs,
    )


def test_the_summary_names_the_largest_gap_with_its_groups_values_and_interval():
    a = _assess()
    sentences = mc.plain_summary(
        a, mc.parse_policy("checks: [false_negative_rate <= 0.9]").evaluate(a)
    )
    assert 3 <= len(sentences) <= 5
    gap = max(
        (d for d in a.disparities if d.kind == "difference" and d.metric in mc.KEY_METRICS),
        key=lambda d: d.value,
    )
    low, high = gap.compared
    assert sentences[0] == (
        f"The largest gap is in {mc.metric_phrase(gap.metric)} by group: {low.group} "
        f"{low.value:.3f} against {high.group} {high.value:.3f}, a difference of "
        f"{gap.value:.3f} (95% CI {gap.ci_low:.3f} to {gap.ci_high:.3f})."
    )
    assert "passes" in sentences[-2]


def test_the_summary_says_what_the_gate_decided_and_which_groups_are_too_small():
    data = mc.synthesize(2000, seed=3)
    sf = data[["group"]].copy()
    sf.loc[sf.index[:12], "group"] = "Z"
    a = mc.assess(data["approved"], (data["score"] >= 0.5).astype(int), sensitive_features=sf)
    failing = mc.parse_policy("checks: [false_negative_rate <= 0.05 for every group]")
    sentences = mc.plain_summary(a, failing.evaluate(a))
    assert sentences[-2].startswith("The release policy (policy) fails: 1 of 1 check(s) fail.")
    assert "group=Z (n=12)" in sentences[-1] and "fewer than 30 rows" in sentences[-1]
    none = mc.plain_summary(a, mc.PolicyResult(verdict="none", source=None, checks=[]))
    assert none[-2] == "No release policy was applied, so no release checks were run."


def test_a_rate_and_its_complement_are_named_once():
    a = _assess()
    gaps = [
        s
        for s in mc.plain_summary(a, mc.parse_policy("checks: [accuracy_score >= 0]").evaluate(a))
        if "gap" in s or "next largest" in s
    ]
    metrics = [s.split(" is in ")[1].split(" by ")[0] for s in gaps]
    assert not {"true positive rate", "false negative rate"} <= set(metrics)


@pytest.mark.parametrize(
    ("check", "sentence"),
    [
        (
            "false_negative_rate <= 0.1 for every group",
            "For every group, the model misses at most 10% of people who were released.",
        ),
        (
            "demographic_parity_ratio >= 0.8",
            "For the selection rate, the lowest group's rate is at least 80% of the highest "
            "group's.",
        ),
        (
            "equalized_odds_difference <= 0.1",
            "Between any two groups, the true positive rate and the false positive rate each "
            "differ by at most 0.1 (10 percentage points).",
        ),
        ("accuracy_score >= 0.7", "Overall, the model is right for at least 70% of people."),
        ("balanced_accuracy_score > 0.55", "Overall, the balanced accuracy is more than 0.55."),
    ],
)
def test_each_policy_rule_reads_as_a_sentence(check, sentence):
    from modelcards import parse_policy, rule_sentence

    data = mc.synthesize(2000, seed=1)
    a = mc.assess(
        data["approved"], data["approved"], sensitive_features=data[["sex"]], y_score=None
    )
    (result,) = parse_policy(f"checks: [{check}]").evaluate(a).checks
    words = {"positive": "people who were released", "negative": "people who were not"}
    assert rule_sentence(result, **words) == sentence


@pytest.mark.parametrize(
    ("check", "sentence"),
    [
        (
            "mean_error_difference <= 60",
            "Between any two groups, the mean error (bias) differs by at most 60.",
        ),
        (
            "roc_auc_score_difference <= 0.1",
            "Between any two groups, the ROC AUC differs by at most 0.1.",
        ),
    ],
)
def test_a_difference_in_units_is_not_said_in_percentage_points(check, sentence):
    # A regression's error is in the target's units: 60 is not "6000 percentage points".
    from modelcards import CheckResult, rule_sentence

    metric, op, bound = check.split()
    c = CheckResult(
        check=check, metric=metric, op=op, bound=float(bound), scope="disparity",
        verdict="pass", items=[], reason="",
    )  # fmt: skip
    assert rule_sentence(c) == sentence
