"""Release tests from stakeholders: expected outcomes, flags turned into edge cases,
``modelcards check``, the recorded runs, the card's Known cases and the Edge cases page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    make_url,
    text,
)
from streamlit.testing.v1 import AppTest

from modelcards import DemoService, Store, coerce_row, generate_card, predict_row
from modelcards.errors import DataError, PolicyError

SCRIPT = Path(sys.executable).parent / "modelcards"
CHAMPION = "models:/arrests-release@champion"
CHALLENGER = "models:/arrests-release@challenger"
INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}
# The card spec's case that version 2 (@challenger) answers otherwise than expected.
SPEC_FAILING_ON_V2 = "Young, unemployed, many prior checks"


def run(*args, env=None):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("MODELCARDS_DB_URL", url)
    return url


def answer(registry, ref, inputs=INPUTS) -> str:
    model = registry.load(ref)
    return predict_row(model, coerce_row(model, inputs)).label


# -- modelcards check -------------------------------------------------------------------
def test_check_passes_and_records_each_run_when_every_case_gets_its_expected_answer(
    examples_registry, db_url
):
    Store(db_url).add_edge_case(
        model="arrests-release",
        name="saved right",
        inputs=INPUTS,
        expected=answer(examples_registry, CHAMPION),
        app="test",
    )
    out = run("check", CHAMPION)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "4 edge case(s) run against models:/arrests-release/1:"
    assert [line.split()[0] for line in lines[1:5]] == ["PASS"] * 4
    assert "4 of 4 judged case(s) pass" in lines[-1]
    runs = Store(db_url).last_runs(model="arrests-release", version=1)
    assert sorted((r.case_name, r.result) for r in runs) == sorted(
        [(n, "pass") for n in ("saved right", SPEC_FAILING_ON_V2)]
        + [("Employed citizen, no prior checks", "pass")]
        + [("Non-citizen, employed, two checks", "pass")]
    )
    saved = next(r for r in runs if r.case_name == "saved right")
    assert saved.case_id is not None and saved.version == 1 and saved.predicted == saved.expected
    assert Store(db_url).last_runs(model="arrests-release", version=2) == []


def test_check_fails_with_the_failing_case_first_when_a_case_gets_another_answer(
    examples_registry, db_url
):
    got = answer(examples_registry, CHALLENGER)
    wrong = next(c for c in examples_registry.load(CHALLENGER).classes if c != got)
    Store(db_url).add_edge_case(
        model="arrests-release", name="saved wrong", inputs=INPUTS, expected=wrong, app="test"
    )
    Store(db_url).add_edge_case(
        model="arrests-release", name="no expectation", inputs=INPUTS, app="test"
    )
    out = run("check", CHALLENGER)
    assert out.returncode == 1, out.stderr
    rows = [line.split("  ")[0].strip() for line in out.stdout.splitlines()[1:-1]]
    assert rows == ["FAIL", "FAIL", "PASS", "PASS", "NOT JUDGED"]
    assert f"expected {wrong}, predicted {got}" in out.stdout
    assert "2 of 4 judged case(s) pass, 2 fail" in out.stdout
    runs = {r.case_name: r for r in Store(db_url).last_runs(model="arrests-release", version=2)}
    assert runs["saved wrong"].result == "fail" and runs["saved wrong"].predicted == got
    assert runs[SPEC_FAILING_ON_V2].result == "fail"
    assert runs["no expectation"].result == "not judged"


def test_a_policy_decides_how_many_cases_may_fail(examples_registry, db_url, tmp_path):
    allow_one = tmp_path / "allow_one.yaml"
    allow_one.write_text("known_cases: {max_failures: 1}\n")
    all_pass = tmp_path / "all_pass.yaml"
    all_pass.write_text("checks: [accuracy_score >= 0.5]\nknown_cases: all_pass\n")
    # Version 2 fails exactly one of the card spec's cases.
    out = run("check", CHALLENGER, "--policy", str(allow_one))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 may fail (allow_one.yaml)" in out.stdout
    assert run("check", CHALLENGER, "--policy", str(all_pass)).returncode == 1


def test_check_bad_input_exits_2_names_the_fault_and_records_nothing(
    examples_registry, db_url, tmp_path
):
    out = run("check", "models:/no-such-model/1")
    assert out.returncode == 2 and "No registered model named 'no-such-model'" in out.stderr
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("known_cases: most\n")
    out = run("check", CHAMPION, "--policy", str(bad_policy))
    assert out.returncode == 2 and "cannot read known_cases" in out.stderr
    # A case saved with an input the version no longer takes.
    Store(db_url).add_edge_case(
        model="arrests-release",
        name="old inputs",
        inputs={**INPUTS, "colour": "Black"},
        expected="Yes",
        app="test",
    )
    out = run("check", CHAMPION)
    assert out.returncode == 2 and out.stdout == ""
    assert "The edge case 'old inputs' (saved in test) cannot run" in out.stderr
    assert "takes no input 'colour'" in out.stderr
    assert Store(db_url).last_runs(model="arrests-release", version=1) == []


def test_check_says_an_unreachable_store_and_exits_2(examples_registry):
    with socket.socket() as s:  # a free loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run(
        "check",
        CHAMPION,
        env={"MODELCARDS_DB_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/db"},
    )
    assert out.returncode == 2
    assert "The feedback store cannot be reached" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_case_missing_an_input_cannot_run_and_names_the_column(examples_registry, db_url):
    store = Store(db_url)
    store.add_edge_case(model="arrests-release", name="no age", inputs={"year": 2000}, app="t")
    model = examples_registry.load(CHAMPION)
    with pytest.raises(DataError, match=r"'no age' \(saved in t\) cannot run.*'age' is missing"):
        from modelcards import check_cases

        check_cases(DemoService(examples_registry, store), model)


# -- expected outcomes --------------------------------------------------------------------
def test_an_expected_outcome_the_model_cannot_give_is_refused_with_its_classes(
    examples_registry, db_url
):
    svc = DemoService(examples_registry, Store(db_url))
    model = svc.load(CHAMPION)
    with pytest.raises(DataError, match=r"'Maybe' is not one of the classes .*'No', 'Yes'"):
        svc.save_edge_case(model, INPUTS, name="odd", expected="Maybe", app="cli")
    with pytest.raises(DataError, match="'Maybe' is not one of the classes"):
        svc.flag(model, INPUTS, comment="wrong", app="cli", expected="Maybe")
    assert Store(db_url).edge_cases("arrests-release") == [] and Store(db_url).flags() == []


def test_a_regression_is_judged_by_a_range_and_a_bare_number_is_only_shown(
    examples_registry, db_url
):
    from modelcards import parse_expected

    model = examples_registry.load("models:/diabetes-progression@champion")
    inputs = {"age": 50.0, "bmi": 30.0, "bp": 95.0, "s1": 190.0, "s2": 115.0, "s3": 48.0}
    inputs |= {"s4": 4.0, "s5": 4.6, "s6": 91.0}
    value = predict_row(model, coerce_row(model, inputs)).value
    assert parse_expected(f"{value - 1:.3f}..{value + 1:.3f}", model).holds("", value)
    assert not parse_expected(f"{value + 5} +- 1", model).holds("", value)
    assert parse_expected("150", model).judged is False
    with pytest.raises(DataError, match="not a number or a range"):
        parse_expected("about 150", model)
    with pytest.raises(DataError, match="empty or not finite"):
        parse_expected("180..120", model)
    store = Store(db_url)
    store.add_edge_case(
        model=model.name, name="in", inputs=inputs, expected=f"{value:.0f} +- 50", app="t"
    )
    store.add_edge_case(model=model.name, name="out", inputs=inputs, expected="0..1", app="t")
    outcomes = DemoService(examples_registry, store).run_edge_cases(model)
    assert {o.case.name: o.as_expected for o in outcomes} == {"in": True, "out": False}


def test_a_policy_s_known_cases_must_be_all_pass_or_a_number_of_failures():
    from modelcards import parse_policy

    assert parse_policy("known_cases: all_pass").known_cases_max_failures == 0
    assert parse_policy("known_cases:\n  max_failures: 3\n").known_cases_max_failures == 3
    assert parse_policy("checks: [accuracy_score >= 0.5]").known_cases_max_failures is None
    with pytest.raises(PolicyError, match="line 1: cannot read known_cases"):
        parse_policy("known_cases: {max_failures: -1}")


# -- flags into edge cases ------------------------------------------------------------------
def test_a_flag_with_its_expected_answer_becomes_an_edge_case_once(examples_registry, db_url):
    svc = DemoService(examples_registry, Store(db_url))
    model = svc.load(CHALLENGER)
    got = answer(examples_registry, CHALLENGER)
    wrong = next(c for c in model.classes if c != got)
    flag_id = svc.flag(model, INPUTS, comment="should be the other", app="cli", expected=wrong)
    bare = svc.flag(model, INPUTS, comment="no idea what is right", app="cli")
    with pytest.raises(DataError, match="does not say which answer was expected"):
        svc.flag_to_edge_case(model, bare, name="vague")
    case_id = svc.flag_to_edge_case(model, flag_id, name="from a flag")
    case = next(c for c in svc.store.edge_cases("arrests-release") if c.id == case_id)
    assert (case.inputs, case.expected, case.note) == (INPUTS, wrong, "should be the other")
    flag = next(f for f in svc.store.flags("arrests-release") if f["id"] == flag_id)
    assert flag["edge_case_id"] == case_id and flag["expected"] == wrong
    with pytest.raises(DataError, match=f"already edge case {case_id}"):
        svc.flag_to_edge_case(model, flag_id, name="again")
    outcome = next(o for o in svc.run_edge_cases(model) if o.case.id == case_id)
    assert outcome.as_expected is False


# -- the store: older stores keep working --------------------------------------------------
def _old_store(url: str) -> None:
    """The tables exactly as the previous release created them."""
    meta = MetaData()
    Table(
        "edge_cases",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("model", String(200), nullable=False, index=True),
        Column("name", String(200), nullable=False),
        Column("inputs", JSON, nullable=False),
        Column("expected", String(200)),
        Column("note", Text),
        Column("saved_from_version", Integer),
        Column("app", String(40), nullable=False),
        Column("created", DateTime(timezone=True), nullable=False),
    )
    Table(
        "flags",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("model", String(200), nullable=False, index=True),
        Column("version", Integer, nullable=False),
        Column("inputs", JSON, nullable=False),
        Column("prediction", String(200), nullable=False),
        Column("comment", Text, nullable=False),
        Column("app", String(40), nullable=False),
        Column("created", DateTime(timezone=True), nullable=False),
    )
    engine = create_engine(url)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO flags (model, version, inputs, prediction, comment, app, created) "
                "VALUES ('m', 1, '{\"age\": 3}', 'Yes', 'old flag', 'streamlit', "
                "'2026-01-01 00:00:00')"
            )
        )
    engine.dispose()


def _opens_and_upgrades(url: str) -> None:
    _old_store(url)
    store = Store(url)
    (old,) = store.flags("m")
    assert old["comment"] == "old flag" and old["expected"] is None
    new = store.add_flag(
        model="m", version=1, inputs={"age": 4}, prediction="Yes", comment="c", app="t",
        expected="No",
    )  # fmt: skip
    assert store.flags("m")[1]["expected"] == "No"
    case_id = store.flag_to_edge_case(new, name="from flag")
    assert store.edge_cases("m")[0].id == case_id
    assert "case_runs" in inspect(store.engine).get_table_names()
    Store(url)  # opening an upgraded store again changes nothing
    assert len(store.flags("m")) == 2


def test_a_store_made_by_the_previous_release_gains_the_new_columns_and_table(tmp_path):
    _opens_and_upgrades(f"sqlite:///{tmp_path / 'old.db'}")


def test_an_old_postgresql_store_gains_the_new_columns_and_table(postgres_url):
    name = f"old_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    _opens_and_upgrades(url)


def test_runs_are_recorded_and_read_back_on_postgresql(postgres_url, examples_registry):
    store = Store(postgres_url)
    model_name = f"pg-{uuid.uuid4().hex[:8]}"
    store.add_edge_case(model=model_name, name="a", inputs=INPUTS, expected="Yes", app="t")
    from modelcards import CaseRunInput

    (case,) = store.edge_cases(model_name)
    store.record_runs(
        model=model_name, version=3, runs=[CaseRunInput(case.id, "a", "fail", "No", "Yes")]
    )
    store.record_runs(
        model=model_name, version=3, runs=[CaseRunInput(case.id, "a", "pass", "Yes", "Yes")]
    )
    (last,) = store.last_runs(model=model_name, version=3)
    assert (last.case_id, last.result, last.predicted) == (case.id, "pass", "Yes")
    assert store.last_runs(model=model_name, version=2) == []


# -- the card --------------------------------------------------------------------------------
def test_the_card_lists_known_cases_failing_first_and_records_nothing(examples_registry, db_url):
    got = answer(examples_registry, CHALLENGER)
    wrong = next(c for c in examples_registry.load(CHALLENGER).classes if c != got)
    store = Store(db_url)
    store.add_edge_case(
        model="arrests-release", name="saved right", inputs=INPUTS, expected=got, app="test"
    )
    store.add_edge_case(
        model="arrests-release", name="saved wrong", inputs=INPUTS, expected=wrong, app="test"
    )
    result = generate_card(model=CHALLENGER, registry=examples_registry)
    cases = result.card.known_cases
    # Failing first, each kind in saved order (the spec's cases, then the store's).
    assert [c.result for c in cases] == ["fail", "fail", "pass", "pass", "pass"]
    assert [c.name for c in cases[:2]] == [SPEC_FAILING_ON_V2, "saved wrong"]
    assert cases[1].predicted == got and cases[1].expected == wrong
    assert cases[-1].name == "saved right" and cases[-1].source == "saved in test"
    from modelcards import render_json, render_markdown

    md = render_markdown(result.card)
    section = md.split("## Known cases", 1)[1].split("\n---", 1)[0].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["FAIL"] * 2 + ["PASS"] * 3
    assert '"known_cases"' in render_json(result.card)
    assert Store(db_url).last_runs(model="arrests-release", version=2) == []


# -- the Edge cases page ---------------------------------------------------------------------
def page(module: str, **query) -> AppTest:
    at = AppTest.from_string(
        f"from apps.demo import run_page\nrun_page({module!r})", default_timeout=90
    )
    for k, v in query.items():
        at.query_params[k] = str(v)
    return at.run()


def test_the_edge_cases_page_shows_the_last_recorded_results_and_run_all_records(
    examples_registry, db_url
):
    got = answer(examples_registry, CHALLENGER)
    wrong = next(c for c in examples_registry.load(CHALLENGER).classes if c != got)
    Store(db_url).add_edge_case(
        model="arrests-release", name="saved wrong", inputs=INPUTS, expected=wrong, app="test"
    )
    at = page("edge_cases", model="arrests-release", ref="@challenger")
    assert not at.exception
    assert any("Not run against version 2 yet" in i.value for i in at.info)
    at.button(key="run_all").click().run()
    assert not at.exception
    runs = Store(db_url).last_runs(model="arrests-release", version=2)
    assert {r.case_name: r.result for r in runs}[SPEC_FAILING_ON_V2] == "fail"
    fresh = page("edge_cases", model="arrests-release", ref="@challenger")
    table = fresh.dataframe[0].value
    # Failing first, each kind in saved order: the spec's cases, then the saved one.
    assert list(table["case"])[:2] == [SPEC_FAILING_ON_V2, "saved wrong"]
    assert list(table["result"]) == ["FAIL", "FAIL", "PASS", "PASS"]
    assert table.iloc[1]["predicted"] == got and table.iloc[1]["expected"] == wrong
    assert any("Last results for version 2" in s.value for s in fresh.subheader)


def test_a_flag_with_an_expected_answer_is_turned_into_an_edge_case_on_the_page(
    examples_registry, db_url
):
    got = answer(examples_registry, CHAMPION)
    wrong = next(c for c in examples_registry.load(CHAMPION).classes if c != got)
    at = page(
        "try_it",
        model="arrests-release",
        ref="@champion",
        **{f"in_{k}": v for k, v in INPUTS.items()},
    )
    at.text_area(key="flag_try_comment").input("this person was released")
    at.selectbox(key="flag_try_expected").select(wrong)
    at.button[1].click().run()  # Flag as wrong
    assert not at.exception
    (flag,) = Store(db_url).flags("arrests-release")
    assert flag["expected"] == wrong
    at = page("edge_cases", model="arrests-release", ref="@champion")
    assert at.dataframe[0].value.iloc[0]["expected"] == wrong
    at.text_input(key="flag_to_case_name").input("released teenager")
    at.button(key="FormSubmitter:flag_to_case-Make edge case").click().run()
    assert not at.exception
    assert any("is now edge case" in s.value for s in at.success), [e.value for e in at.error]
    case = next(c for c in Store(db_url).edge_cases("arrests-release"))
    assert (case.name, case.inputs, case.expected) == ("released teenager", INPUTS, wrong)
    assert at.dataframe[0].value.iloc[0]["edge case"] == f"#{case.id}"


def test_a_known_cases_rule_gates_the_card_and_fails_closed_without_a_version(
    examples_registry, db_url, tmp_path
):
    from modelcards import CardOptions
    from modelcards._plain import rule_sentence

    strict = tmp_path / "strict.yaml"
    strict.write_text("known_cases: all_pass\n")
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("known_cases: {max_failures: 3}\n")
    failing = generate_card(model=CHALLENGER, registry=examples_registry, policy=strict)
    rule = failing.policy.checks[-1]
    assert (rule.check, rule.verdict, failing.policy.verdict) == (
        "known_cases: all_pass",
        "fail",
        "fail",
    )
    assert failing.exit_code == 1
    assert rule_sentence(rule) == "Every saved edge case (Known cases) gives the expected answer."
    passing = generate_card(model=CHALLENGER, registry=examples_registry, policy=lenient)
    assert passing.policy.verdict == "pass" and passing.exit_code == 0
    # A card from data has no version to run the cases on: the rule cannot pass.
    loaded = examples_registry.load(CHALLENGER)
    scored = loaded.evaluation_split().assign(score=0.5)
    data = tmp_path / "scored.csv"
    scored.to_csv(data, index=False)
    from_data = generate_card(
        data=data,
        target=loaded.target,
        sensitive=loaded.sensitive_features,
        scores="score",
        threshold=0.5,
        policy=strict,
        options=CardOptions(positive_label=str(loaded.positive_label)),
    )
    assert from_data.policy.verdict == "inconclusive" and from_data.exit_code == 1


# What a visitor types into the demo or sends to the Gradio API, written to a terminal.
HOSTILE = "\x1b]0;owned\x07\rFAKE\x1b[2K\u202etxt.exe" + "N" * 300


def test_check_prints_stored_names_as_inert_text_of_bounded_width(examples_registry, db_url):
    Store(db_url).add_edge_case(
        model="arrests-release", name=HOSTILE, inputs=INPUTS, expected="Yes", app="test"
    )
    out = run("check", CHAMPION)
    assert out.returncode in (0, 1), out.stderr
    # No control or direction character reaches the terminal: a name cannot retitle it,
    # return to the start of a line and overwrite it, or reverse the text after it.
    assert not {"\x1b", "\x07", "\r", "\u202e"} & set(out.stdout)
    assert "\\x1b]0;owned\\x07\\rFAKE" in out.stdout
    # A long name is cut: the other cases' lines keep their width.
    assert max(len(line) for line in out.stdout.splitlines()) < 200
