"""Comparing two versions: paired intervals, identical versions, policy on change, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelcards._compare import compare_predictions
from modelcards._evaluate import rates
from modelcards._policy import parse_policy
from modelcards.errors import PolicyError


def _two_versions(n: int = 4000, seed: int = 3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    grp = rng.choice(["x", "y", "z"], n)
    pa = np.where(rng.random(n) < 0.8, y, 1 - y)
    # B mends some of A's errors and makes a few of its own: correlated, as versions are.
    pb = np.where(rng.random(n) < 0.08, 1 - pa, pa)
    return y, pd.DataFrame({"sex": sex, "grp": grp}), pa, pb


def _row_bootstrap(y, sf, pa, pb, metric, mask_of, n_boot, seed):
    """The reference: resample rows (both versions together), recompute, percentiles."""
    rng = np.random.default_rng(seed)
    n = len(y)
    out = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        yy, aa, bb = y[i], pa[i], pb[i]
        m = mask_of(sf.iloc[i].reset_index(drop=True))
        vals = []
        for p in (aa, bb):
            t = [np.sum(m & (yy == u) & (p == v)) for u, v in ((0, 0), (0, 1), (1, 0), (1, 1))]
            vals.append(rates(*(np.array([c]) for c in t))[metric][0])
        out.append(vals[1] - vals[0])
    return np.percentile(out, [2.5, 97.5])


@pytest.mark.parametrize(
    ("metric", "group"),
    [
        ("accuracy_score", {}),
        ("false_negative_rate", {"sex": "F"}),
        ("precision_score", {"sex": "M", "grp": "z"}),
    ],
)
def test_paired_intervals_agree_with_a_paired_row_bootstrap(metric, group):
    y, sf, pa, pb = _two_versions()
    c = compare_predictions(y, pa, pb, sensitive_features=sf, n_boot=2000, seed=1)
    got = c.change(metric, group).change

    def mask_of(frame):
        m = np.ones(len(frame), dtype=bool)
        for k, v in group.items():
            m &= frame[k].to_numpy() == v
        return m

    lo, hi = _row_bootstrap(y, sf, pa, pb, metric, mask_of, n_boot=2000, seed=2)
    width = hi - lo
    # Two independent Monte Carlo estimates of the same percentiles: a few % of the width.
    assert got.ci_low == pytest.approx(lo, abs=0.08 * width)
    assert got.ci_high == pytest.approx(hi, abs=0.08 * width)
    # Paired: far narrower than combining two separate intervals would be.
    a, b = c.change(metric, group).a, c.change(metric, group).b
    assert width < (a.ci_high - a.ci_low) + (b.ci_high - b.ci_low)


def test_identical_versions_change_by_exactly_zero_with_intervals_holding_zero():
    y, sf, pa, _ = _two_versions(n=1500)
    c = compare_predictions(y, pa, pa.copy(), sensitive_features=sf, n_boot=300, seed=0)
    assert len(c.changes) == len(c.metrics) * (1 + 2 + 3 + 6)
    for ch in c.changes:
        if ch.change.value is None:
            continue
        assert ch.change.value == 0.0
        assert ch.change.ci_low <= 0.0 <= ch.change.ci_high
        assert ch.a == ch.b
        assert ch.verdict == "unclear"
    assert c.worse() == [] and c.exit_code == 0


def test_the_same_seed_gives_the_same_comparison_and_another_seed_other_intervals():
    y, sf, pa, pb = _two_versions(n=1000)
    one = compare_predictions(y, pa, pb, sensitive_features=sf, n_boot=200, seed=5)
    two = compare_predictions(y, pa, pb, sensitive_features=sf, n_boot=200, seed=5)
    other = compare_predictions(y, pa, pb, sensitive_features=sf, n_boot=200, seed=6)
    assert one.model_dump_json() == two.model_dump_json()
    intervals = [(c.change.ci_low, c.change.ci_high) for c in one.changes]
    assert intervals != [(c.change.ci_low, c.change.ci_high) for c in other.changes]


def test_verdicts_follow_the_metrics_direction():
    y, sf, pa, _ = _two_versions(n=3000)
    perfect = y.copy()  # B is right everywhere: every error rate falls, accuracy rises
    c = compare_predictions(y, pa, perfect, sensitive_features=sf, n_boot=300)
    assert c.change("accuracy_score").verdict == "better"
    assert c.change("false_negative_rate").verdict == "better"
    assert c.change("selection_rate").verdict == "unclear"  # no better direction
    back = compare_predictions(y, perfect, pa, sensitive_features=sf, n_boot=300)
    assert back.change("accuracy_score").verdict == "worse"
    assert back.exit_code == 1  # no policy: every metric with a direction is protected


MIRRORED = {
    "true_positive_rate": "false_negative_rate",
    "true_negative_rate": "false_positive_rate",
}


def _once(changes):
    """The reference: the changes less each TPR (TNR) change whose FNR (FPR) change in
    the same group is among them."""
    have = {(tuple(c.features.items()), c.metric) for c in changes}
    return [c for c in changes if (tuple(c.features.items()), MIRRORED.get(c.metric)) not in have]


def test_a_changed_decision_is_listed_once_naming_both_sides():
    from modelcards._compare_render import (
        notable,
        render_comparison_html,
        render_comparison_json,
        render_comparison_markdown,
    )
    from modelcards._pipeline import compared_section

    # B errs where A was right: true positives became false negatives and true negatives
    # false positives, each listed twice (as a fall in one rate and a rise in its mirror).
    y, sf, pa, _ = _two_versions(n=3000)
    c = compare_predictions(y, y.copy(), pa, sensitive_features=sf, n_boot=300, seed=0)
    everything = [ch for ch in c.changes if ch.verdict == "worse" and not ch.small]
    expected = _once(everything)
    assert len(everything) - len(expected) >= 2 * 12  # both pairs in every group
    worse = notable(c, "worse")
    assert sorted(ch.model_dump_json() for ch in worse) == sorted(
        ch.model_dump_json() for ch in expected
    )
    assert not {ch.metric for ch in worse} & set(MIRRORED)
    assert len(c.worse()) == len(expected)  # no policy: every rate with a direction gates
    md = render_comparison_markdown(c)
    listed = md.split("## Worse")[1].split("## Better")[0]
    bullets = [line for line in listed.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(expected)
    assert f"in {len(expected)} place(s)" in md
    assert "- overall: false negative rate (1 - true positive rate) worse (+" in listed
    assert "true positive rate worse" not in listed and "true negative rate worse" not in listed
    html = "".join(render_comparison_html(c))
    assert html.count('<li class="worse">') == len(expected)
    assert "false positive rate (1 - true negative rate) worse" in html
    # The full table keeps every rate, for policies and scripts that name either.
    doc = json.loads(render_comparison_json(c))
    assert len(doc["changes"]) == len(c.metrics) * (1 + 2 + 3 + 6)
    assert {ch["metric"] for ch in doc["changes"]} >= set(MIRRORED)
    # A card's "Compared with" section lists the same.
    assert compared_section(c).worse == worse


def test_a_policy_on_a_mirrored_rate_gates_its_change_once():
    y, sf, pa, _ = _two_versions(n=3000)
    policy = parse_policy("checks:\n  - true_positive_rate >= 0.5 for every group\n")
    c = compare_predictions(y, y.copy(), pa, sensitive_features=sf, n_boot=300, policy=policy)
    assert c.policy.protects == ["true_positive_rate"]
    gating = c.worse()
    # Every group whose true positive rate fell, once, as its false negative rate's rise.
    fell = [
        ch for ch in c.changes
        if ch.metric == "true_positive_rate" and ch.verdict == "worse" and not ch.small
    ]  # fmt: skip
    assert fell and len(gating) == len(fell) and c.exit_code == 1
    assert {ch.metric for ch in gating} == {"false_negative_rate"}


def test_policy_bounds_changes_with_pass_fail_and_inconclusive():
    y, sf, pa, pb = _two_versions()
    policy = parse_policy(
        "checks:\n"
        "  - change(accuracy_score) >= -0.5\n"  # far from the change: pass
        "  - change(false_negative_rate) <= 0.0 for every group\n"
        "  - change(true_positive_rate) <= -0.5 for every group\n"  # impossible: fail
        "  - false_negative_rate <= 0.4 for every group\n"
    )
    c = compare_predictions(y, pa, pb, sensitive_features=sf, n_boot=400, policy=policy)
    verdicts = [ch.change for ch in c.policy.checks]
    assert verdicts[0] == "pass"
    assert verdicts[1] in ("inconclusive", "fail")
    assert verdicts[2] == "fail"
    level = c.policy.checks[3]
    assert level.change is None and level.a in ("pass", "fail", "inconclusive") and level.b
    assert c.policy.protects == ["true_positive_rate", "false_negative_rate", "accuracy_score"]
    assert c.exit_code == 1
    # An identical pair passes the same change checks that could pass.
    same = compare_predictions(y, pa, pa, sensitive_features=sf, n_boot=100, policy=policy)
    assert [ch.change for ch in same.policy.checks[:2]] == ["pass", "pass"]


def test_a_card_alone_cannot_judge_a_change_check():
    from modelcards import assess

    y, sf, pa, _ = _two_versions(n=500)
    policy = parse_policy("checks: ['change(accuracy_score) >= -0.01']")
    r = policy.evaluate(assess(y, pa, sensitive_features=sf))
    assert r.verdict == "inconclusive"
    assert "Needs a comparison" in r.checks[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("change(equalized_odds_difference) <= 0.1", "line 2: change(equalized_odds_difference)"),
        ("change(roc_auc_score) >= 0", "line 2: change(roc_auc_score)"),
        ("change(accuracy_score >= 0", "line 2: cannot read the check"),
    ],
)
def test_a_bad_change_check_names_its_line(text, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(f"checks:\n  - {text}\n")


# -- the command line, run as a user runs it ---------------------------------------------
CHAMPION = "models:/arrests-release@champion"
CHALLENGER = "models:/arrests-release@challenger"


def _cli(*args, home, cwd=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "modelcards"
    return subprocess.run(
        [str(script), "compare", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MODELCARDS_HOME": str(home)},
        timeout=600,
    )


def test_compare_writes_three_files_with_the_json_contract_and_gates_on_protected_metrics(
    examples_home, tmp_path
):
    policy = tmp_path / "policy.yaml"
    policy.write_text("checks:\n  - change(false_negative_rate) <= -0.2 for every group\n")
    out = tmp_path / "cmp"
    run = _cli(CHAMPION, CHALLENGER, "--policy", str(policy), "--out", str(out),
               "--bootstrap", "300", home=examples_home)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Gate:" in run.stdout and "Worse:" in run.stdout
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["a"] == {"uri": "models:/arrests-release/1", "version": 1, "alias": "champion"}
    assert doc["b"]["alias"] == "challenger"
    first = doc["changes"][0]
    assert first["features"] == {} and set(first) >= {"metric", "a", "b", "change", "verdict"}
    assert set(first["change"]) == {"value", "ci_low", "ci_high"}
    assert {c["verdict"] for c in doc["changes"]} <= {"better", "worse", "unclear"}
    assert doc["policy"]["protects"] == ["false_negative_rate"]
    assert doc["policy"]["checks"][0]["change"] == "fail"
    worse = [
        c for c in doc["changes"]
        if c["metric"] == "false_negative_rate" and c["verdict"] == "worse" and not c["small"]
    ]  # fmt: skip
    assert worse, "exit 1 means a protected group is worse beyond its interval"
    # Each changed decision once: a true positive rate's fall only where its mirror, the
    # false negative rate's rise, is not listed.
    found = [c for c in doc["changes"] if c["verdict"] == "worse" and not c["small"]]
    have = {(json.dumps(c["features"]), c["metric"]) for c in found}
    once = [
        c for c in found
        if (json.dumps(c["features"]), MIRRORED.get(c["metric"])) not in have
    ]  # fmt: skip
    assert len(once) < len(found) and f"Worse: {len(once)}\n" in run.stdout
    assert "false_negative_rate (1 - true_positive_rate)" in run.stdout
    html = (out / "comparison.html").read_text()
    assert "Plotly.newPlot" in html and "<script src" not in html  # self-contained
    md = (out / "comparison.md").read_text()
    assert "| Group | Metric |" in md and "change(false\\_negative\\_rate)" not in md
    # Deterministic: the same seed writes the same bytes.
    again = tmp_path / "again"
    _cli(CHAMPION, CHALLENGER, "--policy", str(policy), "--out", str(again),
         "--bootstrap", "300", home=examples_home)  # fmt: skip
    for name in ("comparison.json", "comparison.md", "comparison.html"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_compare_exits_0_when_no_protected_group_got_worse(examples_home, tmp_path):
    # The same version on both sides: nothing changed, nothing can be worse.
    run = _cli(CHAMPION, "models:/arrests-release/1", "--out", str(tmp_path / "o"),
               "--bootstrap", "100", home=examples_home)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Worse: 0" in run.stdout and "no protected metric worse" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((CHAMPION, "models:/diabetes-progression@champion"), "cannot be compared"),
        ((CHAMPION, "models:/no-such-model@champion"), "no-such-model"),
        ((CHAMPION, CHALLENGER, "--sensitive", "nope"), "nope"),
        ((CHAMPION, CHALLENGER, "--bootstrap", "1"), "--bootstrap"),
    ],
)
def test_compare_refuses_bad_input_with_exit_2_and_writes_nothing(
    examples_home, tmp_path, args, message
):
    out = tmp_path / "o"
    run = _cli(*args, "--out", str(out), home=examples_home)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


def test_compare_refuses_a_policy_with_a_bad_change_check_naming_its_line(examples_home, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("checks:\n  - accuracy_score >= 0.5\n  - change(roc_auc_score) >= 0\n")
    run = _cli(CHAMPION, CHALLENGER, "--policy", str(policy), "--out", str(tmp_path / "o"),
               home=examples_home)  # fmt: skip
    assert run.returncode == 2
    assert "p.yaml line 3: change(roc_auc_score)" in run.stderr
    assert not (tmp_path / "o").exists()


def test_two_models_with_different_inputs_are_not_compared(registry, fitted, arrests):
    from sklearn.linear_model import LogisticRegression

    from modelcards import compare_versions
    from modelcards.errors import DataError
    from tests.conftest import register

    pipe, train, test = fitted
    register(registry, pipe, train, test, name="full", alias="champion")
    few = ["age", "checks"]
    m = LogisticRegression(max_iter=200).fit(train[few], arrests["released"].iloc[:3500])
    register(registry, m, train[few], test, name="few", alias="champion")
    with pytest.raises(DataError, match="take different inputs") as err:
        compare_versions("models:/full@champion", "models:/few@champion", registry=registry)
    assert "only models:/full/1: citizen, employed, year" in str(err.value)


# -- the card's "Compared with" section -------------------------------------------------
def test_a_candidates_card_compares_it_with_the_release_alias(examples_registry):
    from modelcards import compare_versions, generate_card, render_markdown

    card = generate_card(model=CHALLENGER, registry=examples_registry).card
    cw = card.comparison
    assert cw is not None and cw.against.alias == "champion" and cw.against.version == 1
    # The same numbers as `modelcards compare` on the same rows with the same seed.
    full = compare_versions(CHAMPION, CHALLENGER, registry=examples_registry)
    expected = _once([c for c in full.changes if c.verdict == "worse" and not c.small])
    assert sorted(c.model_dump_json() for c in cw.worse) == sorted(
        c.model_dump_json() for c in expected
    )
    sizes = [abs(c.change.value) for c in cw.worse]
    assert sizes == sorted(sizes, reverse=True)  # the largest change first
    md = render_markdown(card)
    assert "## Compared with @champion" in md
    assert "| Group | Metric | A | This version |" in md
    compared = md.split("## Compared with")[1]
    assert "| False negative rate (1 - true positive rate) |" in compared  # both sides, once
    assert "| True positive rate |" not in compared
    # The version in use has nothing to compare with.
    assert generate_card(model=CHAMPION, registry=examples_registry).card.comparison is None


def test_compare_to_names_the_version_a_card_compares_with_and_judges_change_checks(
    examples_registry, tmp_path
):
    from modelcards import generate_card, render_html

    policy = tmp_path / "p.yaml"
    policy.write_text("checks:\n  - change(accuracy_score) >= -0.5\n")
    plain = generate_card(model=CHAMPION, registry=examples_registry, policy=policy)
    assert plain.policy.checks[0].verdict == "inconclusive"  # nothing to compare with
    compared = generate_card(
        model=CHAMPION, registry=examples_registry, policy=policy, compare_to=CHALLENGER
    )
    assert compared.card.comparison.against.alias == "challenger"
    assert compared.policy.checks[0].verdict == "pass"
    assert 'id="compared-with">Compared with @challenger</h2>' in render_html(
        compared.card, plotlyjs=""
    )
    none = generate_card(model=CHALLENGER, registry=examples_registry, compare_to=False)
    assert none.card.comparison is None


def test_compare_to_without_a_model_is_bad_input(tmp_path):
    from modelcards import generate_card, synthesize
    from modelcards.errors import DataError

    with pytest.raises(DataError, match="--compare-to compares two registered versions"):
        generate_card(
            data=synthesize(200),
            target="approved",
            sensitive=["sex"],
            scores="score",
            threshold=0.5,
            compare_to=CHAMPION,
        )


@pytest.mark.parametrize("engine", ["memory", "batched"])
def test_compare_refuses_a_target_that_is_one_of_the_model_s_inputs(
    examples_home, examples_registry, tmp_path, engine
):
    out = tmp_path / "cmp"
    data = tmp_path / "eval.csv"
    examples_registry.load(CHAMPION).evaluation_split().to_csv(data, index=False)
    run = _cli(CHAMPION, CHALLENGER, "--data", str(data), "--target", "employed",
               "--engine", engine, "--out", str(out), home=examples_home)  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "'employed' is one of the model's inputs, not the outcome it predicts" in run.stderr
    assert not out.exists()
