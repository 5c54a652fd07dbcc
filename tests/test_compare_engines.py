"""Comparisons at scale: the batched engine's paired count table gives the in-memory
comparison exactly (point values, paired intervals, verdicts, exit code), and so does a
card's "Compared with" section on every engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import new_store, register_pair, tricky_pair_frame

from modelcards import Registry, _batched
from modelcards._compare import compare_versions
from modelcards._pipeline import generate_card
from modelcards._render import render_json
from modelcards.errors import ModelcardsError

SCRIPT = Path(sys.executable).parent / "modelcards"
CHAMPION, CHALLENGER = "models:/m@champion", "models:/m@challenger"
# Checks on levels (judged on each version's own table) and on changes (on the pair).
POLICY = (
    "checks:\n"
    "  - false_negative_rate <= 0.3 for every group\n"
    "  - change(false_positive_rate) <= 0.0 for every group\n"
    "  - change(accuracy_score) >= -0.05\n"
)


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the card's only run-specific field


@pytest.fixture(scope="module")
def home(tmp_path_factory, fitted, arrests, empty_store_db):
    """A store with m@champion and m@challenger, and the tricky rows as CSV and Parquet."""
    home = tmp_path_factory.mktemp("pair")
    register_pair(Registry(home=new_store(home / "store", empty_store_db)), fitted, arrests)
    frame = tricky_pair_frame(fitted[2])
    frame.to_parquet(home / "rows.parquet", index=False)
    frame.to_csv(home / "rows.csv", index=False)
    (home / "policy.yaml").write_text(POLICY)
    return home


@pytest.fixture
def registry(home, monkeypatch):
    monkeypatch.setenv("MODELCARDS_HOME", str(home / "store"))
    return Registry(home=home / "store")


def card_json(**kwargs: object) -> dict:
    return json.loads(render_json(generate_card(**kwargs).card))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["rows.parquet", "rows.csv"])
def test_the_batched_comparison_equals_the_in_memory_comparison(home, registry, name):
    args = {
        "registry": registry,
        "data": home / name,
        "policy": home / "policy.yaml",
        "n_boot": 300,
        "seed": 4,
    }
    memory = compare_versions(CHAMPION, CHALLENGER, engine="memory", **args)
    batched = compare_versions(CHAMPION, CHALLENGER, engine="batched", batch_rows=97, **args)
    assert batched.model_dump_json() == memory.model_dump_json()  # the whole comparison
    assert batched.exit_code == memory.exit_code
    groups = [c.features for c in memory.changes]
    assert {"sex": "(missing)"} in groups and {"colour": "Other"} in groups
    assert {"colour": "Other", "sex": "Male"} in groups  # the intersection
    assert any(c.small for c in memory.changes) and not all(c.small for c in memory.changes)
    assert {c.verdict for c in memory.changes} >= {"worse", "unclear"}  # something to match
    levels = [c for c in memory.policy.checks if c.a is not None]
    assert levels and all(c.a and c.b for c in levels)  # judged on each version's table
    assert any(c.change == "fail" for c in memory.policy.checks)


@pytest.mark.parametrize(
    ("name", "extra"),
    [("rows.parquet", {}), ("rows.csv", {"threshold": 0.7})],
    ids=["parquet", "csv-threshold"],
)
def test_a_candidates_batched_card_compares_it_as_the_in_memory_card_does(
    home, registry, name, extra
):
    # No --compare-to: the candidate is compared with @champion, on every engine.
    args = {"model": CHALLENGER, "registry": registry, "data": home / name, **extra}
    memory = card_json(engine="memory", **args)
    batched = card_json(engine="batched", batch_rows=113, **args)
    assert memory["comparison"] is not None and memory["comparison"]["worse"]
    assert batched == memory


def test_compare_to_on_the_batched_engine_judges_change_checks_as_in_memory(home, registry):
    args = {
        "model": CHAMPION,
        "compare_to": CHALLENGER,
        "registry": registry,
        "data": home / "rows.parquet",
        "policy": home / "policy.yaml",
    }
    memory = generate_card(engine="memory", **args)
    batched = generate_card(engine="batched", batch_rows=200, **args)
    assert json.loads(render_json(batched.card)) == json.loads(render_json(memory.card))
    assert [c.verdict for c in batched.policy.checks] == [c.verdict for c in memory.policy.checks]
    assert memory.card.comparison.against.alias == "challenger"


def test_auto_keeps_the_comparison_when_it_picks_the_batched_engine(home, registry, monkeypatch):
    # A "big" file: auto reads it in batches, and the candidate's section must not vanish.
    monkeypatch.setattr(_batched, "AUTO_BATCHED_BYTES", 1)
    steps: list[str] = []
    args = {"model": CHALLENGER, "registry": registry, "data": home / "rows.parquet"}
    auto = card_json(engine="auto", progress=steps.append, **args)
    assert any("in batches" in s for s in steps), steps
    assert auto["comparison"] is not None
    assert auto == card_json(engine="memory", **args)


def _cli(*args: object, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELCARDS_HOME": str(home / "store"), "SOURCE_DATE_EPOCH": "1767225600"}
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env, timeout=600
    )


def test_compare_and_card_commands_take_an_engine(home, tmp_path):
    base = ["compare", CHAMPION, CHALLENGER, "--data", home / "rows.csv", "--bootstrap", "200"]
    outs = {}
    for engine in ("memory", "batched"):
        run = _cli(*base, "--engine", engine, "--batch-rows", "150", "--out", tmp_path / engine,
                   home=home)  # fmt: skip
        assert run.returncode == 1, run.stderr  # the challenger is worse somewhere
        outs[engine] = (tmp_path / engine / "comparison.json").read_bytes()
    assert outs["batched"] == outs["memory"]
    # Without --data there is no file to read in batches: bad input, nothing written.
    run = _cli("compare", CHAMPION, CHALLENGER, "--engine", "batched", "--out", tmp_path / "x",
               home=home)  # fmt: skip
    assert run.returncode == 2 and "--engine batched reads a CSV or Parquet file" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "x").exists()
    # The card's --compare-to works on the batched engine (it used to exit 2).
    run = _cli("card", "--model", CHAMPION, "--compare-to", CHALLENGER, "--data",
               home / "rows.parquet", "--engine", "batched", "--out", tmp_path / "card",
               home=home)  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    card = json.loads((tmp_path / "card" / "model_card.json").read_text())
    assert card["comparison"]["against"]["alias"] == "challenger"


@pytest.mark.parametrize(
    ("change", "kwargs"),
    [
        (lambda f: f, {"sensitive": ["colour", "sexx"]}),
        (lambda f: f.assign(released=f["released"].where(f.index != 7)), {}),
        (lambda f: f.assign(colour="White"), {}),  # a single group
        (lambda f: f.assign(released=f["released"].where(f.index != 9, "Maybe")), {}),
    ],
    ids=["unknown-column", "missing-target", "single-group", "third-label"],
)
def test_bad_data_gets_the_in_memory_message_from_the_batched_comparison(
    home, registry, tmp_path, change, kwargs
):
    path = tmp_path / "bad.csv"
    change(pd.read_parquet(home / "rows.parquet")).to_csv(path, index=False)
    messages = []
    for engine in ("memory", "batched"):
        with pytest.raises(ModelcardsError) as info:
            compare_versions(
                CHAMPION, CHALLENGER, registry=registry, data=path, engine=engine, **kwargs
            )
        messages.append(f"{info.value.message} | {info.value.hint}")
    assert messages[0] == messages[1]


@pytest.mark.parametrize("engine", ["memory", "batched"])
def test_compare_says_a_csv_is_not_utf8_exits_2_and_writes_nothing(home, tmp_path, engine):
    # On the batched engine pyarrow's "CSV conversion error to string: invalid UTF8 data"
    # was shown, with a hint to try --engine memory.
    frame = pd.read_parquet(home / "rows.parquet").astype({"colour": str})
    frame.loc[150, "colour"] = "Blanché"
    (tmp_path / "latin.csv").write_bytes(frame.to_csv(index=False).encode("latin-1"))
    run = _cli("compare", CHAMPION, CHALLENGER, "--data", tmp_path / "latin.csv",
               "--engine", engine, "--batch-rows", "50", "--out", tmp_path / "out",
               home=home)  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Cannot read latin.csv as CSV: it is not UTF-8 text (byte 0xe9 on line 152" in run.stderr
    assert "Save it as CSV in UTF-8" in run.stderr and "--engine memory" not in run.stderr
    assert "UTF8 data" not in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()
