"""The Apache Spark engine on a real local Spark (one session shared by the file)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import register, register_pair, tricky_pair_frame

from modelcards import _spark, synthesize
from modelcards._compare import compare_versions
from modelcards._pipeline import CardOptions, PredictionSource, generate_card
from modelcards._render import render_json
from modelcards._spark import read_spark_data, spark_session, spark_tables
from modelcards.errors import DataError, UnsupportedTaskError


@pytest.fixture(scope="module")
def spark():
    # Starting Spark costs 10-20 s on a busy machine: once for every test here.
    session = spark_session("local[2]")
    yield session
    session.stop()


def tricky_frame(rows: int = 3000) -> pd.DataFrame:
    """Missing groups, ties in scores, small groups and an intersection with empty cells."""
    frame = synthesize(rows, seed=7)
    frame["score"] = frame["score"].round(2)  # many ties
    frame.loc[frame.index[:25], "sex"] = None  # a (missing) group
    frame.loc[frame.index[25:29], "group"] = "F"  # a group of 4
    frame.loc[frame.index[29], "group"] = "G"  # a group of 1
    frame.loc[frame.index[30:33], "group"] = None
    frame.loc[frame.index[33:40], "credit_lines"] = 11  # numbers as groups: 11 after 2
    frame["decision"] = np.where(frame["score"] >= 0.45, 1, 0)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-data")
    frame = tricky_frame()
    frame.to_parquet(folder / "d.parquet", index=False)
    frame.to_csv(folder / "d.csv", index=False)
    return frame, folder


def as_text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)


def table(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, int]:
    """A count table as {key tuple: n}, None standing for a missing group."""
    return {
        tuple(None if pd.isna(v) else v for v in row[:-1]): int(row[-1])
        for row in frame[[*keys, "n"]].itertuples(index=False)
    }


def pandas_counts(frame, sensitive, label, pred, score=None):
    """The reference: a pandas groupby over every row."""
    groups = {c: as_text(frame[c]) for c in sensitive}
    rows = pd.DataFrame({**groups, "label": label, "pred": pred})
    counts = rows.groupby([*sensitive, "label", "pred"], dropna=False).size().rename("n")
    scored = None
    if score is not None:
        rows = pd.DataFrame({**groups, "score": score, "label": label})
        scored = rows.groupby([*sensitive, "score", "label"], dropna=False).size().rename("n")
        scored = table(scored.reset_index(), [*sensitive, "score", "label"])
    return table(counts.reset_index(), [*sensitive, "label", "pred"]), scored


SENSITIVE = ["sex", "group"]
POLICY = Path(__file__).resolve().parent / "data" / "policy.yaml"


def card_json(engine: str, **kwargs) -> dict:
    return json.loads(render_json(generate_card(engine=engine, **kwargs).card))


@pytest.fixture
def _fixed_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the card's only run-specific field


@pytest.mark.usefixtures("_fixed_date")
@pytest.mark.parametrize("name", ["d.parquet", "d.csv"])
@pytest.mark.parametrize(
    "source",
    [{"scores": "score", "threshold": 0.5}, {"predictions": "decision"}],
    ids=["scores", "predictions"],
)
def test_the_spark_card_equals_the_in_memory_and_batched_cards(spark, files, name, source):
    # Missing groups, groups of 1 and 4, ties in scores, numbers as groups (sorted as
    # numbers), an intersection with empty cells, and a policy with verdicts to match.
    _, folder = files
    args = {
        "data": folder / name,
        "target": "approved",
        "sensitive": [*SENSITIVE, "credit_lines"],
        "policy": POLICY,
        "options": CardOptions(min_group_size=20),
        **source,
    }
    on_spark = card_json("spark", **args)
    assert on_spark == card_json("memory", **args)
    assert on_spark == card_json("batched", batch_rows=500, **args)
    groups = [g["features"] for g in on_spark["fairness"]["groups"]]
    assert {"sex": "(missing)"} in groups and {"group": "G"} in groups
    assert [g["credit_lines"] for g in groups if list(g) == ["credit_lines"]][:3] == ["0", "1", "2"]
    assert on_spark["policy"]["verdict"] == "fail"


@pytest.mark.parametrize("name", ["d.parquet", "d.csv"])
def test_spark_count_tables_equal_a_pandas_groupby_of_the_rows(spark, files, name):
    frame, folder = files
    got = spark_tables(
        read_spark_data(spark, folder / name),
        target="approved",
        sensitive=SENSITIVE,
        source=PredictionSource.choose(scores="score", threshold=0.5),
        options=CardOptions(),
    )
    label = (frame["approved"] == 1).to_numpy()
    pred = (frame["score"] >= 0.5).to_numpy()
    counts, scored = pandas_counts(frame, SENSITIVE, label, pred, frame["score"].to_numpy())
    assert table(got.counts, [*SENSITIVE, "label", "pred"]) == counts
    assert table(got.score_counts, [*SENSITIVE, "score", "label"]) == scored
    assert got.rows == len(frame) and got.positive == 1 and got.negative == 0
    assert got.counts["n"].dtype == np.int64 and got.score_counts["score"].dtype == np.float64
    assert got.columns == list(frame.columns)
    # The (missing) groups, a group of one and empty intersection cells all come through.
    assert {k[1] for k in counts} >= {"F", "G", None} and None in {k[0] for k in counts}


def test_a_predictions_column_is_matched_to_the_target_by_text(spark, files, tmp_path):
    frame, _ = files
    frame = frame.assign(
        approved=np.where(frame["approved"] == 1, "yes", "no"),
        decision=np.where(frame["score"] >= 0.4, "yes", "no"),
    )
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    got = spark_tables(
        read_spark_data(spark, tmp_path / "p.parquet"),
        target="approved",
        sensitive=SENSITIVE,
        source=PredictionSource.choose(predictions="decision"),
        options=CardOptions(positive_label="yes"),
    )
    counts, _ = pandas_counts(
        frame, SENSITIVE, frame["approved"] == "yes", frame["decision"] == "yes"
    )
    assert table(got.counts, [*SENSITIVE, "label", "pred"]) == counts
    assert got.score_counts is None and got.positive == "yes"


def test_a_table_in_the_spark_catalog_is_read_by_name(spark, files):
    frame, folder = files
    spark.read.parquet(str(folder / "d.parquet")).createOrReplaceTempView("evaluation")
    data = read_spark_data(spark, "evaluation")
    got = spark_tables(
        data,
        target="approved",
        sensitive=["group"],
        source=PredictionSource.choose(scores="score", threshold=0.7),
        options=CardOptions(),
    )
    counts, _ = pandas_counts(
        frame, ["group"], (frame["approved"] == 1).to_numpy(), (frame["score"] >= 0.7).to_numpy()
    )
    assert data.kind == "table"
    assert table(got.counts, ["group", "label", "pred"]) == counts


def test_a_registered_model_predicts_on_the_executors_as_it_does_in_memory(
    spark, registry, fitted, tmp_path
):
    model, train, test = fitted
    register(registry, model, train, test, name="arrests", alias="champion")
    loaded = registry.load("models:/arrests@champion")
    test.to_parquet(tmp_path / "test.parquet", index=False)
    sensitive = ["colour", "sex"]
    for threshold in (None, 0.3):
        got = spark_tables(
            read_spark_data(spark, tmp_path / "test.parquet"),
            target="released",
            sensitive=sensitive,
            source=PredictionSource.choose(model=loaded, threshold=threshold),
            options=CardOptions(),
            loaded=loaded,
            registry=registry,
        )
        labels, scores = loaded.predict_with_scores(test)
        pred = labels == "Yes" if threshold is None else scores >= threshold
        counts, scored = pandas_counts(test, sensitive, test["released"] == "Yes", pred, scores)
        assert table(got.counts, [*sensitive, "label", "pred"]) == counts
        assert table(got.score_counts, [*sensitive, "score", "label"]) == scored
        assert got.described.startswith(loaded.uri)


@pytest.mark.usefixtures("_fixed_date")
def test_a_comparison_and_a_candidates_card_on_spark_equal_the_in_memory_ones(
    spark, registry, fitted, arrests, tmp_path
):
    # Both versions predict on the executors; one groupBy gives the paired count table.
    register_pair(registry, fitted, arrests)
    frame = tricky_pair_frame(fitted[2])  # a (missing) group, a group of 3, an intersection
    frame.to_parquet(tmp_path / "rows.parquet", index=False)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text("checks:\n  - change(false_positive_rate) <= 0 for every group\n")
    refs = ("models:/m@champion", "models:/m@challenger")
    args = {"registry": registry, "data": tmp_path / "rows.parquet", "policy": policy}
    memory = compare_versions(*refs, engine="memory", n_boot=200, seed=2, **args)
    assert compare_versions(*refs, engine="spark", n_boot=200, seed=2, **args) == memory
    assert {"sex": "(missing)"} in [c.features for c in memory.changes]
    # The candidate's card compares it with @champion on Spark too (B cut at a threshold).
    card = {"model": refs[1], "registry": registry, "data": tmp_path / "rows.csv"}
    on_spark = card_json("spark", threshold=0.7, **card)
    assert on_spark["comparison"] is not None and on_spark["comparison"]["worse"]
    assert on_spark == card_json("memory", threshold=0.7, **card)


def _write(tmp_path, frame, name="bad.csv"):
    frame.to_csv(tmp_path / name, index=False)
    return tmp_path / name


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "message"),
    [
        (lambda f: f, {"target": "approve"}, DataError, "Did you mean 'approved'?"),
        (lambda f: f, {"sensitive": ["sex", "rase"]}, DataError, "sensitive column 'rase'"),
        (
            lambda f: f.assign(approved=f["approved"].astype(object).where(f.index > 2)),
            {},
            DataError,
            "has 3 missing value(s)",
        ),
        (lambda f: f.assign(approved=f.index % 3), {}, UnsupportedTaskError, "3 distinct values"),
        (lambda f: f.assign(approved=1), {}, DataError, "has a single value"),
        (
            lambda f: f.assign(score=f["score"].astype(object).where(f.index != 5, "high")),
            {},
            DataError,
            "holds 1 non-number(s), e.g. 'high'",
        ),
        (
            lambda f: f.assign(score=f["score"].where(f.index > 1)),
            {},
            DataError,
            "has 2 missing value(s)",
        ),
    ],
)
def test_bad_input_gets_the_in_memory_paths_message(
    spark, tmp_path, change, kwargs, error, message
):
    path = _write(tmp_path, change(synthesize(200, seed=3)))
    args = {"target": "approved", "sensitive": SENSITIVE, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        spark_tables(
            read_spark_data(spark, path),
            source=PredictionSource.choose(scores="score", threshold=0.5),
            options=CardOptions(),
            **args,
        )


def test_unknown_tables_and_files_are_named_in_the_error(spark, tmp_path):
    with pytest.raises(DataError, match="neither a file nor a table"):
        read_spark_data(spark, "no_such_table")
    with pytest.raises(DataError, match="No file at"):
        read_spark_data(spark, tmp_path / "gone.parquet")


def test_without_pyspark_the_engine_says_how_to_install_it():
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import modelcards\n"
        "from modelcards._spark import spark_session\n"
        "try:\n    spark_session()\n"
        "except modelcards.errors.ModelcardsError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "needs pyspark" in out.stdout and "pip install 'modelcards[spark]'" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "approved", "--sensitive", "sex"], "--engine spark reads Parquet or CSV"),
        (
            ["--data", "no_such_table", "--target", "approved", "--sensitive", "sex"],
            "neither a file nor a table in the Spark catalog",
        ),
    ],
)
def test_the_card_command_on_spark_exits_2_on_bad_input_and_writes_nothing(tmp_path, args, message):
    script = Path(sys.executable).parent / "modelcards"
    out = subprocess.run(
        [str(script), "card", "--engine", "spark", "--spark-master", "local[1]", *args]
        + ["--scores", "score", "--threshold", "0.5", "--out", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Hint:" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "c").exists()


def test_a_spark_card_s_stderr_holds_our_progress_only(registry, fitted, tmp_path):
    # Spark's banner ("Using Spark's default log4j profile", "Setting default log level"),
    # its INFO/WARN lines, the JVM's incubator-module warning, pyspark's FutureWarning
    # about pandas 3 (twice: starting and mapInPandas) and MLflow's download bars for
    # the model shipped to the executors all came before and between our steps.
    model, train, test = fitted
    register(registry, model, train, test, name="arrests", alias="champion")
    test.head(200).to_csv(tmp_path / "rows.csv", index=False)
    script = Path(sys.executable).parent / "modelcards"
    out = subprocess.run(
        [str(script), "card", "--model", "models:/arrests@champion", "--data", "rows.csv",
         "--engine", "spark", "--spark-master", "local[1]", "--out", "c"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "MODELCARDS_HOME": str(tmp_path / "store")},
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    assert (tmp_path / "c" / "model_card.json").exists()
    for noise in ("log4j", "Setting default log level", " INFO ", " WARN ", "incubator",
                  "FutureWarning", "pandas", "Downloading artifacts"):  # fmt: skip
        assert noise not in out.stderr, (noise, out.stderr)
    steps = out.stderr.splitlines()
    assert any("starting Spark (local[1])" in s for s in steps), out.stderr
    assert all(s.startswith("... ") for s in steps), out.stderr  # our progress, nothing else


def test_the_jvm_s_stderr_is_passed_on_but_for_the_incubator_line(capfd):
    # Java's and Spark's errors, and the executors' Python tracebacks, come this way.
    read, write = os.pipe()
    lines = [
        b"WARNING: Using incubator modules: jdk.incubator.vector\n",
        b"26/12/07 03:22:19 ERROR StandaloneSchedulerBackend: All masters are unresponsive!\n",
        b"Traceback (most recent call last):\n",
        b"WARNING: Using incubator modules: jdk.incubator.vector, jdk.other\n",
        b"no newline at the end",
    ]
    os.write(write, b"".join(lines))
    os.close(write)
    _spark._pass_on(read)
    assert capfd.readouterr().err.encode() == b"".join(lines[1:])


def test_a_csv_in_another_encoding_is_refused_not_read_into_broken_group_names(spark, tmp_path):
    from modelcards._spark import spark_card

    def card(path):
        source = PredictionSource.choose(scores="score", threshold=0.5)
        return spark_card(
            source,
            data=path,
            loaded=None,
            registry=None,
            target="approved",
            sensitive=SENSITIVE,
            options=CardOptions(),
        )

    frame = synthesize(200, seed=3)
    frame["group"] = frame["group"].map({"A": "Françoise"}).fillna("Zoë")
    path = tmp_path / "latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(DataError, match=r"latin1\.csv.*not UTF-8.*'group'"):
        card(path)
    utf8 = tmp_path / "utf8.csv"
    frame.to_csv(utf8, index=False)  # the same groups in UTF-8 make a card
    assert card(utf8).data.rows == 200
