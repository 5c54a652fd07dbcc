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

from modelcards import _batched, _data, _pipeline
from modelcards._aggregate import ScoreCell, merge_cells
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


def errors(
    tmp_path: Path, frame: pd.DataFrame, suffix: str, *, raw: bytes | None = None, **kwargs: object
) -> list[str]:
    if raw is None:
        path = write(frame, tmp_path / f"bad{suffix}")
    else:
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(raw)
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


@pytest.mark.parametrize(
    ("marker", "where"),
    [
        ("band", "byte 0xe9 on line 1, at position 13"),  # a column's name
        ("race", "byte 0xe9 on line 1,202"),  # a group, in the 25th batch of 50 rows
        ("score", "byte 0xe9 on line 1,402"),  # a number
    ],
    ids=["header", "group", "score"],
)
def test_a_csv_that_is_not_utf8_gets_the_in_memory_message(tmp_path, marker, where):
    # pyarrow said "CSV conversion error to string: invalid UTF8 data" (with a hint to
    # try --engine memory, which said it well) or showed the raw bytes of a parse error.
    frame = tricky(1500)
    if marker == "band":
        frame = frame.rename(columns={"band": "bandé"})
    else:
        row = 1200 if marker == "race" else 1400
        frame[marker] = frame[marker].astype(str)
        frame.loc[row, marker] = frame.loc[row, marker] + "é"
    text = frame.to_csv(index=False).encode("utf-8").replace("é".encode(), b"\xe9")
    kwargs = {
        "target": "outcome",
        "sensitive": ["sex", "race"],
        "scores": "score",
        "threshold": 0.5,
        "options": _pipeline.CardOptions(positive_label="good"),
    }
    memory, batched = errors(tmp_path, pd.DataFrame(), ".csv", raw=text, **kwargs)
    assert batched == memory
    assert f"Cannot read bad.csv as CSV: it is not UTF-8 text ({where}" in memory
    assert "Save it as CSV in UTF-8" in memory


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_the_first_byte_that_is_not_utf8_is_found_across_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(_data, "_CHUNK", chunk)
    texts = [
        b"",
        "a,b\nü,€\n𝄞,x\n".encode(),  # 2, 3 and 4 bytes: cut at every chunk size
        "a,b\nü,€\n".encode() + b"\xe9,x\n",  # Latin-1
        "a,€\n1,".encode() + "€".encode()[:2],  # a character cut by the file's end
        "a\n€".encode() + b"\x80\x80",  # a stray continuation byte after a whole one
        b"\xff",
        b"x,y\n\xed\xa0\x80",  # a surrogate, which UTF-8 excludes
    ]
    for text in texts:
        path = tmp_path / "t.csv"
        path.write_bytes(text)
        try:
            text.decode("utf-8")
            want = None
        except UnicodeDecodeError as exc:
            want = _data.BadByte(text[exc.start], exc.start, text.count(b"\n", 0, exc.start) + 1)
        assert _data.first_bad_byte(path) == want, text
        assert _data.first_bad_byte(text) == want, text


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


# -- scores on a decimal grid: counted densely, the same tables as the sort ---------------
def grid_scores(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Scores of one kind (n rows): on a grid, off it, or leaving it part way."""
    if kind == "integers":  # credit scores, stored as whole numbers
        return rng.integers(300, 851, n)
    if kind == "six-decimals":  # probabilities rounded as the synthetic data's (a narrow
        return np.round(0.495 + 0.01 * rng.random(n), 6)  # range: a small file's grid)
    if kind == "negative":  # below zero, -0.0 beside 0.0, many ties
        score = np.round(rng.normal(0.4, 0.5, n), 3)
        score[::7] = -0.0
        score[3::7] = 0.0
        return score
    if kind == "at-threshold":  # one decimal: a tenth of the rows exactly at 0.5
        return np.round(rng.random(n), 1)
    if kind == "finer-later":  # one decimal, then three: the table moves to a finer grid
        score = np.round(rng.random(n), 3)
        score[: n // 3] = np.round(score[: n // 3], 1)
        return score
    if kind == "leaves-grid":  # two decimals, then any float: the rest go to the sort
        score = rng.random(n)
        score[: n // 2] = np.round(score[: n // 2], 2)
        return score
    if kind == "one-off-grid":  # one score off the grid, after a batch's first rows
        score = np.round(rng.random(n), 2)
        score[89 * 6 + 70] = 0.123456789
        return score
    raise AssertionError(kind)


GRID_KINDS = [
    "integers",
    "six-decimals",
    "negative",
    "at-threshold",
    "finer-later",
    "leaves-grid",
    "one-off-grid",
]


def capture_aggregates(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The Aggregates each batched card is computed from, in order."""
    got: list[object] = []
    real = _batched.assess_aggregates

    def capture(agg, **kwargs):  # type: ignore[no-untyped-def]
        got.append(agg)
        return real(agg, **kwargs)

    monkeypatch.setattr(_batched, "assess_aggregates", capture)
    return got


def tables_of(agg) -> tuple[list[str], dict[str, tuple[bytes, list[int], list[int]]]]:  # type: ignore[no-untyped-def]
    """The count table's rows and each cell's scores (their bits) with positives and
    negatives, scores without rows left out."""
    counts = sorted(map(str, agg.counts.itertuples(index=False)))
    cells = {}
    for key, cell in agg.score_cells.items():
        has = (cell.pos + cell.neg) > 0
        scores = np.ascontiguousarray(cell.scores[has], dtype=np.float64)
        cells[str(key)] = (scores.tobytes(), cell.pos[has].tolist(), cell.neg[has].tolist())
    return counts, cells


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("kind", GRID_KINDS)
def test_scores_on_a_grid_give_the_sorted_tables_and_the_in_memory_card(
    tmp_path, monkeypatch, kind, suffix
):
    rng = np.random.default_rng(7)
    frame = tricky(2400, seed=5)
    frame["score"] = grid_scores(kind, len(frame), rng)
    # A group first seen in the last batches (a CSV's batches find their groups as they
    # go, so the grid's table takes new cells).
    frame.loc[2300:, "race"] = "late"
    path = write(frame, tmp_path / f"grid{suffix}")
    args = {
        "data": path,
        "target": "outcome",
        "sensitive": ["sex", "race"],
        "scores": "score",
        "threshold": 600 if kind == "integers" else 0.5,
        "options": _pipeline.CardOptions(positive_label="good", min_group_size=20),
    }
    memory = card_json("memory", **args)
    monkeypatch.setattr(_batched, "FLUSH_ROWS", 500)  # the grid counts a few times
    got = capture_aggregates(monkeypatch)
    assert card_json("batched", batch_rows=89, **args) == memory
    monkeypatch.setattr(_batched, "GRID_DECIMALS", -1)  # no grid: every batch sorted
    assert card_json("batched", batch_rows=89, **args) == memory
    on_grid, by_sort = got
    assert tables_of(on_grid) == tables_of(by_sort)
    assert by_sort.score_decimals is None  # type: ignore[attr-defined]
    # The grid took the whole file unless the scores left it.
    off = kind in ("leaves-grid", "one-off-grid")
    assert (on_grid.score_decimals is None) == off  # type: ignore[attr-defined]


@pytest.mark.parametrize("at", [30, 750, 2150], ids=["first-rows", "middle", "late"])
def test_a_missing_score_on_a_grid_gives_the_in_memory_message(tmp_path, at):
    # Batches of 200 rows: beyond a batch's first rows, only the full check sees it.
    frame = tricky(2400, seed=5)
    frame.loc[at, "score"] = None
    path = write(frame, tmp_path / "missing.parquet")
    kwargs = {
        "data": path,
        "target": "outcome",
        "sensitive": ["sex", "race"],
        "scores": "score",
        "threshold": 0.5,
        "options": _pipeline.CardOptions(positive_label="good"),
    }
    said = []
    for engine in ("memory", "batched"):
        with pytest.raises(ModelcardsError) as info:
            _pipeline.generate_card(engine=engine, batch_rows=200, **kwargs)  # type: ignore[arg-type]
        said.append(f"{info.value.message} | {info.value.hint}")
    assert said[1] == said[0] and "1 missing value" in said[0]


def test_grid_merges_equal_sorted_merges():
    rng = np.random.default_rng(11)
    cells = []
    for _ in range(5):
        s = np.unique(np.round(rng.normal(0, 2, rng.integers(0, 400)), 3))
        s[s == 0] = -0.0 if rng.random() < 0.5 else 0.0
        cells.append(ScoreCell(s, rng.integers(0, 4, len(s)), rng.integers(0, 4, len(s))))
    by_sort = merge_cells(cells)
    on_grid = merge_cells(cells, decimals=3)
    assert np.array_equal(on_grid.scores, by_sort.scores)
    assert on_grid.pos.tolist() == by_sort.pos.tolist()
    assert on_grid.neg.tolist() == by_sort.neg.tolist()
    # Scores off the grid named are merged by the sort, not wrongly placed.
    off = [c._replace(scores=c.scores + 1e-7) for c in cells]
    assert np.array_equal(merge_cells(off, decimals=3).scores, merge_cells(off).scores)
