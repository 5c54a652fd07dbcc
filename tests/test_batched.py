"""The batched engine: the same card as the in-memory path, from files read in small batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import register

from modelcards import _batched, _pipeline
from modelcards._batched import AUTO_BATCHED_BYTES, choose_engine
from modelcards._render import render_json
from modelcards.errors import ModelcardsError

SCRIPT = Path(sys.executable).parent / "modelcards"


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the card's only run-specific field


def tricky(n: int = 1500, *, seed: int = 0) -> pd.DataFrame:
    """Missing groups, groups of 1 to 5 rows, numbers as groups, scores full of ties."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M", None], n, p=[0.45, 0.45, 0.1]),
            "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "band": rng.integers(1, 12, n),
            "outcome": rng.choice(["good", "bad"], n),
            "score": np.round(rng.random(n), 2),
        }
    )
    frame.loc[:0, "race"] = "tiny1"
    frame.loc[500:501, "race"] = "tiny2"
    frame.loc[1000:1004, "race"] = "tiny5"
    frame["decision"] = np.where(frame["score"] >= 0.5, "good", "bad")
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def card_json(engine: str, **kwargs: object) -> dict[str, object]:
    result = _pipeline.generate_card(engine=engine, **kwargs)  # type: ignore[arg-type]
    return json.loads(render_json(result.card))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize(
    "source",
    [
        {"scores": "score", "threshold": 0.5},
        {"predictions": "decision"},
    ],
    ids=["scores", "predictions"],
)
def test_batched_card_equals_the_in_memory_card(tmp_path, suffix, source):
    path = write(tricky(), tmp_path / f"tricky{suffix}")
    args = {
        "data": path,
        "target": "outcome",
        "sensitive": ["sex", "race", "band"],
        "options": _pipeline.CardOptions(positive_label="good", min_group_size=20),
        **source,
    }
    memory = card_json("memory", **args)
    batched = card_json("batched", batch_rows=97, **args)  # 16 batches
    assert batched == memory
    groups = [g["features"] for g in memory["fairness"]["groups"]]  # type: ignore[index]
    assert {"race": "tiny1"} in groups and {"sex": "(missing)"} in groups


def test_batched_card_of_a_registered_model_predicts_batch_by_batch(tmp_path, registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="prod")
    path = write(test, tmp_path / "arrests.parquet")
    for threshold in (None, 0.3):
        args = {
            "model": "models:/m@prod",
            "registry": registry,
            "data": path,
            "threshold": threshold,
        }
        memory = card_json("memory", **args)
        batched = card_json("batched", batch_rows=101, **args)
        assert batched == memory
        assert "roc_auc_score" in json.dumps(memory["fairness"])


def errors(tmp_path: Path, frame: pd.DataFrame, suffix: str, **kwargs: object) -> list[str]:
    path = write(frame, tmp_path / f"bad{suffix}")
    out = []
    for engine in ("memory", "batched"):
        with pytest.raises(ModelcardsError) as info:
            _pipeline.generate_card(
                data=path,
                engine=engine,
                batch_rows=50,
                **kwargs,  # type: ignore[arg-type]
            )
        out.append(f"{info.value.message} | {info.value.hint}")
    return out


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_batched_engine_gives_the_in_memory_messages_for_bad_data(tmp_path, suffix):
    good = tricky(400)
    cases: list[tuple[pd.DataFrame, dict[str, object]]] = []
    missing_target = good.copy()
    missing_target.loc[[170, 300], "outcome"] = None
    cases.append((missing_target, {}))
    three = good.copy()
    three.loc[390, "outcome"] = "maybe"
    cases.append((three, {}))
    cases.append((good, {"options": _pipeline.CardOptions(positive_label="great")}))
    cases.append((good, {"options": _pipeline.CardOptions()}))  # which one is positive?
    cases.append((good.assign(race="a"), {}))  # a single group
    cases.append((good, {"sensitive": ["sexx"]}))
    missing_scores = good.copy()
    missing_scores.loc[250, "score"] = None
    cases.append((missing_scores, {}))
    if suffix == ".csv":
        words = good.astype({"score": object})
        words.loc[333, "score"] = "high"
        cases.append((words, {}))
    for frame, extra in cases:
        kwargs: dict[str, object] = {
            "target": "outcome",
            "sensitive": ["sex", "race"],
            "scores": "score",
            "threshold": 0.5,
            "options": _pipeline.CardOptions(positive_label="good"),
            **extra,
        }
        memory, batched = errors(tmp_path, frame, suffix, **kwargs)
        assert batched == memory


def test_batched_predictions_column_messages_match(tmp_path):
    frame = tricky(300)
    frame.loc[120, "decision"] = None
    kwargs = {
        "target": "outcome",
        "sensitive": ["sex"],
        "predictions": "decision",
        "options": _pipeline.CardOptions(positive_label="good"),
    }
    memory, batched = errors(tmp_path, frame, ".csv", **kwargs)
    assert batched == memory and "missing value" in memory
    frame.loc[120, "decision"] = "excellent"
    memory, batched = errors(tmp_path, frame, ".parquet", **kwargs)
    assert batched == memory and "excellent" in memory


def test_auto_engine_batches_only_large_files(tmp_path):
    small = write(tricky(100), tmp_path / "small.parquet")
    assert choose_engine("auto", small) == "memory"
    assert choose_engine("auto", None) == "memory"
    assert choose_engine("batched", small) == "batched"
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(AUTO_BATCHED_BYTES + 1)
    assert choose_engine("auto", big) == "batched"


def test_batched_engine_refuses_a_regression_with_a_hint(tmp_path):
    frame = tricky(200).assign(outcome=np.arange(200) * 1.5)
    path = write(frame, tmp_path / "reg.parquet")
    kwargs = {"data": path, "target": "outcome", "sensitive": ["sex"], "predictions": "score"}
    with pytest.raises(ModelcardsError, match="regression") as info:
        _pipeline.generate_card(engine="batched", **kwargs)  # type: ignore[arg-type]
    assert info.value.hint == "Use --engine memory."
    # auto (a small file) makes the regression card in memory
    assert _pipeline.generate_card(engine="auto", **kwargs).assessment.task == "regression"  # type: ignore[arg-type]


def test_card_cli_engine_batched_writes_the_same_json_and_exits_2_on_bad_input(tmp_path):
    path = write(tricky(), tmp_path / "tricky.parquet")
    base = ["card", "--data", path, "--target", "outcome", "--sensitive", "sex,race"]
    base += ["--scores", "score", "--threshold", "0.5", "--positive-label", "good"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    outs = {}
    for engine in ("memory", "batched"):
        out = tmp_path / engine
        run = subprocess.run(
            [str(SCRIPT), *map(str, base), "--engine", engine, "--batch-rows", "200",
             "--out", out],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        outs[engine] = (out / "model_card.json").read_text()
    assert outs["batched"] == outs["memory"]
    bad = tmp_path / "bad"
    wrong = [("sex,rac" if a == "sex,race" else a) for a in base]
    run = subprocess.run(
        [str(SCRIPT), *map(str, wrong), "--engine", "batched", "--out", bad],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2
    assert "The sensitive column 'rac' is not in tricky.parquet. Did you mean 'race'?" in run.stderr
    assert "Traceback" not in run.stderr and not bad.exists()
    run = subprocess.run(
        [str(SCRIPT), "card", "--target", "outcome", "--sensitive", "sex", "--predictions",
         "decision", "--engine", "batched", "--out", bad],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2 and "--engine batched reads a CSV or Parquet file" in run.stderr


@pytest.mark.parametrize("flush_rows", [1, 150, 10**9], ids=["every-batch", "some", "at-end"])
def test_batched_scores_merged_across_batches_give_the_in_memory_card(
    tmp_path, monkeypatch, flush_rows
):
    # Negative scores, -0.0 beside 0.0, ties and many distinct values: the score tables
    # take keys already present and new ones at every merge.
    monkeypatch.setattr(_batched, "FLUSH_ROWS", flush_rows)
    frame = tricky(2000, seed=3)
    rng = np.random.default_rng(3)
    score = np.round(rng.normal(0.4, 0.5, len(frame)), 3)
    score[::7] = -0.0
    score[3::7] = 0.0
    frame["score"] = score
    path = write(frame, tmp_path / "scores.parquet")
    args = {
        "data": path,
        "target": "outcome",
        "sensitive": ["sex", "race"],
        "scores": "score",
        "threshold": 0.5,
        "options": _pipeline.CardOptions(positive_label="good", min_group_size=20),
    }
    memory = card_json("memory", **args)
    assert card_json("batched", batch_rows=89, **args) == memory
