"""`modelcards card` end to end: exit codes, bad input, determinism, safety, schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import pandas as pd
import pytest
from conftest import register

from modelcards import synthesize
from modelcards._card import SCHEMA_PATH, json_schema

SCRIPT = Path(sys.executable).parent / "modelcards"
DATA = Path(__file__).resolve().parent / "data"
FILES = ["model_card.html", "model_card.json", "model_card.md"]


def card(*args, cwd, env=None):
    return subprocess.run(
        [str(SCRIPT), "card", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "apps.csv"
    synthesize(3000, seed=0).to_csv(path, index=False)
    return path


def scores_args(apps, *extra):
    return [
        "--data",
        apps,
        "--target",
        "approved",
        "--sensitive",
        "sex,group",
        "--scores",
        "score",
        "--threshold",
        "0.5",
        *extra,
    ]


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("policy", "code", "verdict"),
    [
        (None, 0, "NONE"),
        ("policy_pass.yaml", 0, "PASS"),
        ("policy.yaml", 1, "FAIL"),
        ("policy_inconclusive.yaml", 1, "INCONCLUSIVE"),
    ],
)
def test_exit_code_follows_the_policy_verdict(tmp_path, apps, policy, code, verdict):
    extra = ["--policy", DATA / policy] if policy else []
    out = card(*scores_args(apps, "--out", tmp_path / "c", *extra), cwd=tmp_path)
    assert out.returncode == code, out.stderr
    assert f"Policy: {verdict}" in out.stdout
    assert written(tmp_path / "c") == FILES
    data = json.loads((tmp_path / "c" / "model_card.json").read_text())
    assert data["policy"]["verdict"] == verdict.lower()


def test_predictions_column_mode(tmp_path, apps):
    frame = pd.read_csv(apps)
    frame["decision"] = (frame["score"] >= 0.6).map({True: 1, False: 0})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = card(
        "--data",
        tmp_path / "d.csv",
        "--target",
        "approved",
        "--sensitive",
        "group",
        "--predictions",
        "decision",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "model_card" / "model_card.json").read_text())
    assert data["provenance"]["predictions"] == "column 'decision'"
    assert "roc_auc_score" not in data["fairness"]["groups"][0]["metrics"]


def test_a_registered_model_without_data_uses_its_stored_evaluation_split(tmp_path, examples_home):
    env = {"MODELCARDS_HOME": str(examples_home)}
    out = card(
        "--model",
        "models:/arrests-release@challenger",
        "--out",
        tmp_path / "c",
        cwd=tmp_path,
        env=env,
    )
    data = json.loads((tmp_path / "c" / "model_card.json").read_text())
    # The policy stored with the version applies when none is given.
    assert data["policy"]["source"] == "the policy stored with models:/arrests-release/2"
    assert out.returncode == (0 if data["policy"]["verdict"] == "pass" else 1), out.stderr
    md = data["model_details"]
    assert (md["name"], md["version"], md["alias"]) == ("arrests-release", 2, "challenger")
    assert data["evaluation_data"]["provenance"]["source"] == (
        "models:/arrests-release/2 (evaluation split)"
    )
    assert data["fairness"]["sensitive_features"] == ["colour", "sex", "age_group"]
    assert data["intended_use"]["out_of_scope_uses"]  # the stored card spec
    intersection = [g for g in data["fairness"]["groups"] if len(g["features"]) == 3]
    assert intersection and any(g["small"] for g in intersection)


def test_the_json_card_validates_against_the_published_schema(tmp_path, apps):
    card(
        *scores_args(apps, "--spec", DATA / "spec.yaml", "--policy", DATA / "policy.yaml"),
        cwd=tmp_path,
    )
    data = json.loads((tmp_path / "model_card" / "model_card.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    group = data["fairness"]["groups"][0]
    assert set(group) == {
        "features",
        "n",
        "positives",
        "negatives",
        "small",
        "too_small_for",
        "metrics",
    }
    fpr = group["metrics"]["false_positive_rate"]
    assert set(fpr) == {"value", "ci_low", "ci_high", "support"}
    assert fpr["support"] == group["negatives"]  # the count the rate divides by
    d = data["fairness"]["disparities"][0]
    assert {"metric", "kind", "features", "value", "ci_low", "ci_high", "compared"} <= set(d)
    assert [set(c) for c in d["compared"]] == [{"group", "value"}, {"group", "value"}]
    assert isinstance(data["summary"], list) and 3 <= len(data["summary"]) <= 5
    assert data["policy"]["checks"][0]["verdict"] in {"pass", "fail", "inconclusive"}


def test_the_checked_in_schema_is_current():
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema(), (
        "regenerate it: modelcards schema is read from modelcards/schema/; run `make schema`"
    )


def test_same_inputs_give_byte_identical_files_and_the_old_seed_is_ignored(tmp_path, apps):
    env = {"SOURCE_DATE_EPOCH": "1767225600"}
    for name in ("a", "b"):
        card(
            *scores_args(apps, "--out", tmp_path / name, "--spec", DATA / "spec.yaml"),
            cwd=tmp_path,
            env=env,
        )
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    data = json.loads((tmp_path / "a" / "model_card.json").read_text())
    assert data["provenance"]["generated"] == "2026-01-01"
    # Intervals are exact: --seed and --bootstrap (kept for old CI scripts) change nothing.
    out = card(
        *scores_args(apps, "--out", tmp_path / "c", "--seed", "1", "--bootstrap", "50"),
        "--spec",
        DATA / "spec.yaml",
        cwd=tmp_path,
        env=env,
    )
    assert "--bootstrap and --seed are ignored" in out.stderr
    assert (tmp_path / "c" / "model_card.json").read_bytes() == (
        tmp_path / "a" / "model_card.json"
    ).read_bytes()


def test_the_html_is_self_contained(tmp_path, apps):
    card(*scores_args(apps), cwd=tmp_path)
    html = (tmp_path / "model_card" / "model_card.html").read_text()
    assert "Plotly.newPlot" in html
    assert len(html) > 3_000_000  # plotly.js itself is inline
    assert "<script src" not in html and "<link" not in html
    # The page outside the inlined library names no remote resource at all.
    page = html.split("</script>", 1)[1]
    assert "http://" not in page and "https://" not in page


def test_missing_human_sections_show_not_provided_in_every_format(tmp_path, apps):
    card(*scores_args(apps), cwd=tmp_path)
    folder = tmp_path / "model_card"
    data = json.loads((folder / "model_card.json").read_text())
    assert "intended_use.out_of_scope_uses" in data["completeness"]["missing"]
    assert data["completeness"]["complete"] is False
    assert "Not provided" in (folder / "model_card.md").read_text()
    assert "Incomplete card" in (folder / "model_card.md").read_text()
    assert "Not provided" in (folder / "model_card.html").read_text()


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_text_never_reaches_the_html_unescaped(tmp_path):
    frame = synthesize(1500, seed=0)
    frame["group"] = frame["group"].replace({"A": HOSTILE, "B": "</script><b>bold"})
    frame = frame.rename(columns={"sex": '"><svg onload=alert(2)>'})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "model_details:\n  description: '" + HOSTILE.replace("'", "''") + "'\n"
        "ethical_considerations: ['<iframe src=javascript:alert(3)>']\n"
    )
    out = card(
        "--data",
        tmp_path / "evil.csv",
        "--target",
        "approved",
        "--sensitive",
        '"><svg onload=alert(2)>,group',
        "--scores",
        "score",
        "--threshold",
        "0.5",
        "--spec",
        tmp_path / "spec.yaml",
        "--name",
        "<b>model</b>",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "model_card" / "model_card.html").read_text()
    body = html.split("</head>", 1)[1]
    for needle in (
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe",
        "<b>model",
        "</script><b>",
    ):
        assert needle not in body, needle
    assert "&lt;script&gt;alert" in body  # shown as text
    # Chart labels are entity-escaped for Plotly, then JSON-escaped inside the script.
    assert "\\u0026lt;script\\u0026gt;alert" in body
    md = (tmp_path / "model_card" / "model_card.md").read_text()
    _, front, body = md.split("---\n", 2)
    for needle in ("<script>", "<img", "<svg", "<iframe", "<b>"):
        assert needle not in body, needle
    import yaml

    assert yaml.safe_load(front)["model_name"] == "<b>model</b>"  # data, quoted by YAML


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "aproved", "--sensitive", "group"], "Did you mean 'approved'?"),
        (["--target", "approved", "--sensitive", "grp"], "sensitive column 'grp' is not in"),
        (["--target", "employment", "--sensitive", "group"], "cut one score into two classes"),
        (["--target", "approved", "--sensitive", "single"], "has a single value"),
        (
            [
                "--target",
                "approved",
                "--sensitive",
                "group",
                "--scores",
                "score",
                "--threshold",
                "high",
            ],
            "'high' is not a valid float",
        ),
        (
            ["--target", "approved", "--sensitive", "group", "--scores", "score"],
            "--scores needs --threshold",
        ),
        (
            [
                "--target",
                "approved",
                "--sensitive",
                "group",
                "--scores",
                "employment",
                "--threshold",
                "0.5",
            ],
            "holds non-numbers",
        ),
        (["--target", "with_nan", "--sensitive", "group"], "missing value"),
        (
            [
                "--target",
                "approved",
                "--sensitive",
                "group",
                "--scores",
                "nan_score",
                "--threshold",
                "0.5",
            ],
            "missing value",
        ),
        (
            ["--target", "approved", "--sensitive", "group", "--predictions", "nan_pred"],
            "missing value",
        ),
        (
            ["--target", "approved", "--sensitive", "group", "--spec", "bad_spec.yaml"],
            "unknown key(s) intended_use.primary_user, colour",
        ),
        (
            ["--target", "approved", "--sensitive", "group", "--policy", "bad_policy.yaml"],
            "line 2: unknown metric",
        ),
        (
            [
                "--target",
                "approved",
                "--sensitive",
                "group",
                "--model",
                "models:/nope@x",
                "--scores",
                "score",
                "--threshold",
                "0.5",
            ],
            "--model and --scores cannot be combined",
        ),
        (
            [
                "--target",
                "approved",
                "--sensitive",
                "group",
                "--predictions",
                "approved",
                "--threshold",
                "0.5",
            ],
            "--threshold applies to scores",
        ),
        (
            ["--target", "approved", "--sensitive", "group", "--predictions", "employment"],
            "not values of the target",
        ),
    ],
)
def test_bad_input_exits_2_with_its_message_and_writes_nothing(tmp_path, args, message):
    frame = synthesize(400, seed=0)
    frame["single"] = "same"
    frame["with_nan"] = frame["approved"].astype(float)
    frame.loc[5, "with_nan"] = None
    frame["nan_score"] = frame["score"]
    frame.loc[7, "nan_score"] = None
    frame["nan_pred"] = frame["approved"].astype(float)
    frame.loc[9, "nan_pred"] = None
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "bad_spec.yaml").write_text("intended_use:\n  primary_user: [x]\ncolour: red\n")
    (tmp_path / "bad_policy.yaml").write_text("checks:\n  - fairness >= 0.8\n")
    if not any(a in args for a in ("--scores", "--predictions", "--model")):
        args = [*args, "--scores", "score", "--threshold", "0.5"]
    out = card("--data", "d.csv", *args, "--out", "out", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b\n", "has no rows"),
        (b"\x00\x01\x02\xff\xfe binary", "Cannot read"),
        (None, "No file at"),
    ],
)
def test_unreadable_data_exits_2(tmp_path, content, message):
    if content is not None:
        (tmp_path / "d.csv").write_bytes(content)
    out = card(
        "--data", "d.csv", "--target", "a", "--sensitive", "b", "--predictions", "b", cwd=tmp_path
    )
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "model_card").exists()


def test_an_unknown_model_lists_what_exists_and_writes_nothing(tmp_path, examples_home):
    out = card(
        "--model",
        "models:/arrests-release@prod",
        cwd=tmp_path,
        env={"MODELCARDS_HOME": str(examples_home)},
    )
    assert out.returncode == 2
    assert "has no alias 'prod'" in out.stderr and "@champion -> version 1" in out.stderr
    assert not (tmp_path / "model_card").exists()


def test_an_unreadable_stored_policy_exits_2_naming_it_and_writes_nothing(
    tmp_path, registry, fitted
):
    pipe, train, test = fitted
    policy = "checks:\n  - accuracy_score >= 0.5\n"
    version = register(registry, pipe, train, test, alias="prod", policy=policy)
    root = registry.client.get_run(version.run_id).info.artifact_uri
    stored = Path(url2pathname(urlparse(root).path)) / "modelcards" / "policy.yaml"
    assert stored.read_text() == policy
    stored.write_bytes(b"checks:\n  - accuracy_score >= 0.5 \xff\n")  # unreadable, even as root
    out = card(
        "--model",
        "models:/m@prod",
        "--out",
        tmp_path / "c",
        cwd=tmp_path,
        env={"MODELCARDS_HOME": str(registry.home)},
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Cannot read modelcards/policy.yaml stored with models:/m/1" in out.stderr
    assert "Hint:" in out.stderr and "Traceback" not in out.stderr
    assert "Policy:" not in out.stdout
    assert not (tmp_path / "c").exists()


def test_parquet_input_gives_the_same_numbers_as_csv(tmp_path):
    # Parquet hands group columns over as dictionaries; CSV as text to factorise.
    frame = synthesize(800, seed=4)
    frame.loc[frame.index[:20], "group"] = None  # a (missing) group, in both
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    for name in ("d.csv", "d.parquet"):
        card(
            "--data",
            name,
            "--target",
            "approved",
            "--sensitive",
            "sex,group",
            "--scores",
            "score",
            "--threshold",
            "0.5",
            "--out",
            name + ".out",
            cwd=tmp_path,
        )
    a, b = (
        json.loads((tmp_path / f"{n}.out" / "model_card.json").read_text())
        for n in ("d.csv", "d.parquet")
    )
    assert a["fairness"] == b["fairness"]
    assert {"group": "(missing)"} in [g["features"] for g in a["fairness"]["groups"]]


def test_a_reference_group_is_recorded_on_its_disparities(tmp_path, apps):
    out = card(*scores_args(apps, "--reference", "group=A"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "model_card" / "model_card.json").read_text())
    refs = {tuple(d["features"]): d["reference"] for d in data["fairness"]["disparities"]}
    assert refs == {("sex",): None, ("group",): "group=A", ("sex", "group"): None}
    bad = card(*scores_args(apps, "--reference", "grp=A", "--out", "x"), cwd=tmp_path)
    assert bad.returncode == 2 and "not a sensitive column" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_markdown_shows_code_spans_literally_and_renders_no_hostile_markup(tmp_path):
    from markdown_it import MarkdownIt

    frame = synthesize(1500, seed=0)
    hostile_target = "<img src=x onerror=alert(1)>|`x`"
    frame[hostile_target] = frame["approved"].map({1: ">50K", 0: "<=50K"})
    frame["decision"] = (frame["score"] >= 0.5).map({True: ">50K", False: "<=50K"})
    frame["group"] = frame["group"].replace({"A": "[Win](http://evil.example) <b>A</b>"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = card(
        "--data",
        tmp_path / "d.csv",
        "--target",
        hostile_target,
        "--positive-label",
        ">50K",
        "--sensitive",
        "group",
        "--predictions",
        "decision",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "model_card" / "model_card.md").read_text()
    body = text.split("---\n", 2)[2]
    assert "positive class `>50K`" in body  # a code span, not `&gt;50K`
    html = MarkdownIt("commonmark").enable("table").render(body)
    assert "<code>&gt;50K</code>" in html  # CommonMark shows it as written
    for needle in ("<img", "<b>", 'href="http://evil'):
        assert needle not in html, needle
    # The hostile column name stays inside its code span, pipe and backticks included.
    assert "<code>&lt;img src=x onerror=alert(1)&gt;|`x`</code>" in html


@pytest.mark.parametrize(
    ("engine", "with_data"), [("memory", False), ("memory", True), ("batched", True)]
)
def test_a_target_that_is_one_of_the_model_s_inputs_is_refused(
    examples_registry, tmp_path, engine, with_data
):
    # `employed` holds Yes and No like the outcome, so the card was made: about how
    # well the model predicts one of its own inputs.
    data = []
    if with_data:
        model = examples_registry.load("models:/arrests-release@champion")
        model.evaluation_split().to_csv(tmp_path / "eval.csv", index=False)
        data = ["--data", "eval.csv"]
    out = card(
        "--model", "models:/arrests-release@champion", *data, "--target", "employed",
        "--engine", engine, "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "'employed' is one of the model's inputs, not the outcome it predicts" in out.stderr
    assert "released" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", ["memory", "batched"])
@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "byte 0x89 on line 1, at position 0"),
        # Latin-1, past the first 1 MB: pandas said 'position 4' (from the field's start).
        (
            b"approved,sex,p\n" + b"1,F,1\n" * 200_000 + b"0,Fran\xe7oise,1\n",
            "byte 0xe7 on line 200,002, at position 1,200,021",
        ),
    ],
    ids=["png", "latin1"],
)
def test_a_csv_that_is_not_utf8_text_is_said_in_words(tmp_path, engine, content, where):
    # Python's "'utf-8' codec can't decode byte 0x89 in position 0: invalid start byte";
    # pyarrow's "CSV parse error: Expected 1 columns, got 2: <the bytes>".
    (tmp_path / "d.csv").write_bytes(content)
    out = card("--data", "d.csv", "--target", "approved", "--sensitive", "sex",
               "--predictions", "p", "--engine", engine, "--out", "out", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"Cannot read d.csv as CSV: it is not UTF-8 text ({where})." in out.stderr
    assert "Save it as CSV in UTF-8" in out.stderr and "--engine memory" not in out.stderr
    for raw in ("codec", "CSV parse error", "conversion error", "Traceback"):
        assert raw not in out.stderr, raw
    assert not (tmp_path / "out").exists()
