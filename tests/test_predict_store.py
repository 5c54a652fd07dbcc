"""Prediction helpers, batch scoring, CSV safety, and the SQL store under concurrency."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest
from store_writer import write

from apps.views.batch import grouping_columns, metric_rows, read_upload
from modelcards._predict import (
    coerce_row,
    csv_safe,
    predict_row,
    score_batch,
    smallest_flip,
    sweep,
    sweep_values,
)
from modelcards._store import Store
from modelcards.errors import DataError

INPUTS = {"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5}


@pytest.fixture
def champion(examples_registry):
    return examples_registry.load("models:/arrests-release@champion")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"age": "old"}, "Input 'age' 'old' is not a number"),
        ({"age": 19.5}, "is not a whole number"),
        ({"checks": None}, "Input 'checks' is missing"),
    ],
)
def test_bad_inputs_name_the_input(champion, change, message):
    with pytest.raises(DataError, match=message):
        coerce_row(champion, {**INPUTS, **change})


def test_text_inputs_from_a_url_become_the_signature_types(champion):
    row = coerce_row(champion, {k: str(v) for k, v in INPUTS.items()})
    assert row.dtypes["age"] == "int64" and row["employed"].iloc[0] == "No"
    p = predict_row(champion, row)
    assert sum(p.probabilities.values()) == pytest.approx(1.0)
    assert p.positive_probability == p.probabilities["Yes"]


@pytest.mark.parametrize("feature", ["checks", "age", "employed"])
def test_the_smallest_flip_changes_the_decision_and_nothing_closer_does(champion, feature):
    frame = coerce_row(champion, INPUTS)
    base = predict_row(champion, frame).label
    col = champion.profile.column(feature)
    curve = sweep(champion, frame, feature, sweep_values(col))
    flip = smallest_flip(champion, frame, feature, curve)
    if flip is None:
        assert (curve["label"] == base).all()
        return
    probe = frame.copy()
    probe[feature] = pd.Series([flip], dtype=frame[feature].dtype)
    assert predict_row(champion, probe).label != base
    if col.kind == "numeric":
        step = 1 if flip > INPUTS[feature] else -1
        closer = frame.copy()
        closer[feature] = pd.Series([flip - step], dtype=frame[feature].dtype)
        assert predict_row(champion, closer).label == base


def test_a_batch_lists_bad_rows_and_scores_the_good_ones(champion):
    frame = pd.DataFrame(
        [INPUTS, {**INPUTS, "age": "old"}, {**INPUTS, "checks": None}, {**INPUTS, "age": 40}]
    )
    result = score_batch(champion, frame)
    assert list(result.scored["row"]) == [1, 4]
    assert result.problems.to_dict("records") == [
        {"row": 2, "column": "age", "problem": "'old' is not a number"},
        {"row": 3, "column": "checks", "problem": "is missing"},
    ]
    assert set(result.scored["prediction"]) <= {"Yes", "No"}


def test_a_batch_is_as_strict_as_try_it_refusing_the_impossible_and_warning_the_unseen(
    champion,
):
    frame = pd.DataFrame(
        [
            {**INPUTS, "employed": "Maybe"},  # not a level the data dictionary allows
            {**INPUTS, "year": 1890},  # outside the allowed range: refused, as on Try it
            {**INPUTS, "checks": -5},  # below zero for a count: refused
            {**INPUTS, "age": 70},  # past the training range, inside the allowed one
            {**INPUTS, "age": "old"},
        ]
    )
    result = score_batch(champion, frame)
    assert list(result.scored["row"]) == [4]
    assert [(p["row"], p["column"]) for p in result.problems.to_dict("records")] == [
        (1, "employed"),
        (2, "year"),
        (3, "checks"),
        (5, "age"),
    ]
    assert "is not one of the allowed values" in result.problems["problem"].iloc[0]
    assert "outside the allowed range" in result.problems["problem"].iloc[1]
    assert result.warnings.to_dict("records") == [
        {
            "row": 4,
            "column": "age",
            "warning": "age = 70 lies outside the training range [12, 66].",
        },
    ]


def test_a_batch_download_keeps_numbers_as_numbers(champion):
    # "old" makes the age column text; the scored rows carry the numbers the model read.
    frame = pd.DataFrame([INPUTS, {**INPUTS, "age": "old"}, {**INPUTS, "age": "-5"}])
    frame.loc[0, "citizen"] = "Yes"
    out = csv_safe(score_batch(champion, frame).scored)
    assert out["age"].tolist() == [19]
    assert pd.api.types.is_integer_dtype(out["age"])
    text = csv_safe(pd.DataFrame({"note": ["-5", "-1.5e3", "+2", "-x"]}))
    assert text["note"].tolist() == ["-5", "-1.5e3", "+2", "'-x"]


def test_a_batch_without_the_input_columns_says_which(champion):
    with pytest.raises(DataError, match="lacks the input column"):
        score_batch(champion, pd.DataFrame({"age": [1]}))


@pytest.mark.parametrize("cell", ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_cells_that_spreadsheets_would_run_are_neutralised(cell):
    out = csv_safe(pd.DataFrame({"note": [cell, "plain"], "n": [1, 2]}))
    assert out["note"].tolist() == ["'" + cell, "plain"]
    assert out["n"].tolist() == [1, 2]


def test_a_batch_s_unusable_outcomes_are_left_out_of_its_metrics_by_row(champion):
    # A file's own outcome column: 0/1 where the model says No/Yes, or empty in places.
    # It was a card's error ("the target has 1 missing value(s) (first at row 1)... before
    # making a card"), and the metrics were lost.
    released = ["Yes", "Maybe", None, "No", "1"]
    frame = pd.DataFrame([INPUTS] * 5).assign(released=released, sex="Male")
    rows, note = metric_rows(champion, score_batch(champion, frame).scored)
    assert rows["row"].tolist() == [1, 4]
    assert note == (
        "3 row(s) left out of the per-group metrics: their released is not one of the "
        "model's classes (No, Yes) (row 2: 'Maybe'; row 3: empty; row 5: '1')."
    )
    every = metric_rows(champion, score_batch(champion, frame.iloc[[0, 3]]).scored)
    assert every.note is None and len(every.rows) == 2


def test_a_sensitive_column_with_one_value_in_a_batch_is_left_out_with_a_note():
    # A batch of one group ended the per-group metrics with "has a single value".
    scored = pd.DataFrame({"sex": ["Male", "Female"], "colour": [None, None], "g": ["A", None]})
    columns, note = grouping_columns(scored, ["colour", "sex", "g"])
    assert columns == ["sex", "g"]
    assert note == "Every row has the same colour (colour: empty): no groups there."
    assert grouping_columns(scored.iloc[:1], ["sex"]) == (
        [],
        "Every row has the same sex (sex: 'Male'): no groups there.",
    )
    assert grouping_columns(scored, ["sex"]) == (["sex"], None)


class Upload:
    """The part of Streamlit's UploadedFile that read_upload uses."""

    def __init__(self, name, data):
        self.name, self._data, self.size = name, data, len(data)

    def getvalue(self):
        return self._data


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.xlsx", b"a,b\n1,2\n", "is not a CSV file"),
        ("x.csv", b"", "x.csv is empty"),
        ("x.csv", b"\xff\xfe\x00binary", "Cannot read x.csv as CSV"),
        # Python's codec error ("'utf-8' codec can't decode byte 0x89 in position 0:
        # invalid start byte") said nothing a person could act on.
        (
            "x.csv",
            b"\x89PNG\r\n\x1a\n",
            r"Cannot read x.csv as CSV: it is not UTF-8 text "
            r"\(byte 0x89 on line 1, at position 0\)",
        ),
        # Latin-1 in a later row: the codec error said 'position 3', from the field's start.
        ("x.csv", b"a,b\n1,x\n2,caf\xe9\n", r"\(byte 0xe9 on line 3, at position 13\)"),
        ("x.csv", b"a,b\n", "has no rows"),
        ("x.csv", b"a\n" + b"1\n" * (21 * 1024 * 1024 // 2), "the demo takes up to 20 MB"),
    ],
)
def test_uploads_that_are_not_usable_csv_get_a_message(name, data, message):
    with pytest.raises(DataError, match=message):
        read_upload(Upload(name, data))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_lose_nothing(tmp_path, request, backend):
    import uuid

    url = (
        f"sqlite:///{tmp_path / 'demo.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    model = f"m-{uuid.uuid4().hex[:8]}"
    Store(url)
    workers, n = 6, 40
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=write, args=(url, model, w, n)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(url)
    comments = sorted(f["comment"] for f in store.flags(model))
    assert comments == sorted(f"{w}-{i}" for w in range(workers) for i in range(n))
    assert len(store.edge_cases(model)) == workers * n


@pytest.mark.parametrize("age", [45, 19, 12, 66])
def test_the_what_if_marker_sits_on_the_models_answer_for_the_current_input(champion, age):
    from modelcards import sweep_figure

    frame = coerce_row(champion, {**INPUTS, "age": age})
    values = sweep_values(champion.profile.column("age"), current=age)
    assert values == sorted(values) and len(set(values)) == len(values)
    curve = sweep(champion, frame, "age", values)
    fig = sweep_figure(curve, "age", age, "Yes")
    (marker,) = [t for t in fig.data if t.name == "current input"]
    assert marker.x == (age,)
    assert marker.y[0] == pytest.approx(predict_row(champion, frame).positive_probability)
