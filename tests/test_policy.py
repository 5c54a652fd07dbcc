"""The release policy: parsing, errors that name the line, and verdicts from intervals."""

from __future__ import annotations

import pytest

from modelcards._evaluate import assess
from modelcards._policy import _verdict, parse_policy
from modelcards._synth import synthesize
from modelcards.errors import PolicyError


@pytest.fixture(scope="module")
def assessment():
    df = synthesize(20_000, seed=2)
    return assess(
        df["approved"],
        (df["score"] >= 0.5).astype(int),
        sensitive_features=df[["sex", "group"]],
        y_score=df["score"],
    )


@pytest.mark.parametrize(
    ("op", "bound", "lo", "hi", "verdict"),
    [
        (">=", 0.8, 0.82, 0.9, "pass"),
        (">=", 0.8, 0.7, 0.79, "fail"),
        (">=", 0.8, 0.75, 0.85, "inconclusive"),
        ("<=", 0.1, 0.02, 0.08, "pass"),
        ("<=", 0.1, 0.12, 0.2, "fail"),
        ("<=", 0.1, 0.05, 0.15, "inconclusive"),
        ("<", 0.1, 0.05, 0.1, "inconclusive"),
    ],
)
def test_a_check_passes_fails_or_is_inconclusive_by_its_interval(op, bound, lo, hi, verdict):
    assert _verdict(op, bound, lo, hi, (lo + hi) / 2) == verdict


def test_the_injected_disparity_fails_and_a_loose_bound_passes(assessment):
    policy = parse_policy(
        "checks:\n"
        "  - false_negative_rate <= 0.5 for every group\n"
        "  - equalized_odds_difference <= 0.9\n"
        "  - check: selection_rate_difference <= 0.9\n"
        "    features: [sex]\n"
        "  - accuracy_score >= 0.5\n"
    )
    result = policy.evaluate(assessment)
    by_check = {c.check: c for c in result.checks}
    fnr = by_check["false_negative_rate <= 0.5 for every group"]
    assert fnr.verdict == "fail"
    failing = [i.subject for i in fnr.items if i.verdict == "fail"]
    assert failing and all("group=E" in s for s in failing)
    assert by_check["equalized_odds_difference <= 0.9"].verdict == "pass"
    assert [i.subject for i in by_check["selection_rate_difference <= 0.9"].items] == ["sex"]
    assert by_check["accuracy_score >= 0.5"].items[0].subject == "overall"
    assert result.verdict == "fail"


def test_a_check_covers_every_feature_set_including_the_intersection(assessment):
    result = parse_policy("checks: [demographic_parity_ratio >= 0.1]").evaluate(assessment)
    assert [i.subject for i in result.checks[0].items] == ["sex", "group", "sex & group"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("checks:\n  - demographic_parity_ration >= 0.8\n", "line 2: unknown metric"),
        ("checks:\n  - ok_metric >= 0.8\n", "line 2: unknown metric 'ok_metric'"),
        ("checks:\n  - demographic_parity_ratio => 0.8\n", "line 2: cannot read the check"),
        ("checks:\n  - demographic_parity_ratio >= high\n", "line 2: cannot read the check"),
        ("checks:\n  - x\n  - count <= 3 for every group\n", "line 2"),
        (
            "checks:\n  - selection_rate <= 0.3\n  - demographic_parity_ratio for every group\n",
            "line 3",
        ),
        ("check:\n  - demographic_parity_ratio >= 0.8\n", "line 1: unknown key 'check'"),
        ("checks: demographic_parity_ratio >= 0.8\n", "'checks' must be a list"),
        ("checks:\n  - [unclosed\n", "not valid YAML"),
        ("checks:\n  - check: demographic_parity_ratio >= 0.8\n    feature: [a]\n", "line 2"),
        ("", "a policy is a mapping"),
    ],
)
def test_a_malformed_policy_is_an_error_naming_the_line(text, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, source="policy.yaml")


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "demographic_parity_ratio >= 80",
            "a ratio of rates lies between 0 and 1.*always fail.*Write 0.8 for 80%",
        ),
        (
            "false_negative_rate <= 10 for every group",
            "a rate lies between 0 and 1.*always pass.*Write 0.1 for 10%",
        ),
        ("equalized_odds_difference <= 5", "a difference of rates lies between 0 and 1"),
        ("accuracy_score >= -0.1", "a rate lies between 0 and 1"),
        ("change(false_negative_rate) <= 2", "a change of a rate lies between -1 and 1"),
    ],
)
def test_a_bound_a_rate_can_never_reach_is_an_error_naming_the_line(check, message):
    # `>= 80` for 80% made every card fail ("lies below 80"), exit code 1, not 2.
    with pytest.raises(PolicyError, match="(?s)policy.yaml line 2: .*" + message):
        parse_policy(f"checks:\n  - {check}\n", source="policy.yaml")


@pytest.mark.parametrize(
    "check",
    [
        "demographic_parity_ratio >= 1",
        "false_negative_rate <= 0 for every group",
        "mean_error_difference <= 60",
        "mean_absolute_error <= 60 for every group",
        "change(false_negative_rate) <= -0.2",
    ],
)
def test_bounds_at_the_ends_and_in_a_target_s_units_are_kept(check):
    assert parse_policy(f"checks: [{check}]").checks[0].text == check


def test_a_feature_set_that_was_not_assessed_is_named(assessment):
    policy = parse_policy(
        "checks:\n  - check: demographic_parity_ratio >= 0.8\n    features: [race]\n",
        source="p.yaml",
    )
    with pytest.raises(PolicyError, match=r"p.yaml line 2: no feature set \['race'\]"):
        policy.evaluate(assessment)
