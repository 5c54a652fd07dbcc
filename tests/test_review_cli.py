"""`modelcards reviewers`, `review`, `decide` and `signoff`, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "modelcards"
PASSWORD = "correct horse battery"
REF = "models:/arrests-release/2"


def run(*args, stdin=None, cwd=None):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        env=dict(os.environ),
        timeout=300,
    )


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    monkeypatch.setenv("MODELCARDS_DB_URL", url)
    return url


@pytest.fixture(scope="module")
def _card_made_once(examples_home, tmp_path_factory) -> Path:
    """The card of REF, made once by `modelcards card` (10-20 s) with an empty review
    store, as each test's own store is empty when its card is made."""
    folder = tmp_path_factory.mktemp("review-card")
    # What the autouse _isolated_env removes for each test; module fixtures run before it.
    unset = {"MLFLOW_TRACKING_URI", "MODELCARDS_TRUSTED_TYPES", "SOURCE_DATE_EPOCH"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        MODELCARDS_HOME=str(examples_home), MODELCARDS_DB_URL=f"sqlite:///{folder / 'review.db'}"
    )
    out = subprocess.run(
        [str(SCRIPT), "card", "--model", REF, "--out", str(folder / "card")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    return folder / "card"


@pytest.fixture
def card_json(_card_made_once, examples_registry, store, tmp_path):
    """A copy of the card for this test alone, in ``tmp_path / "card"``."""
    shutil.copytree(_card_made_once, tmp_path / "card")
    return tmp_path / "card" / "model_card.json"


def _ids(listing: str) -> list[str]:
    return re.findall(r"^  (F-[0-9a-f]{12}) ", listing, flags=re.M)


def test_reviewers_add_asks_twice_and_refuses_a_mismatch(store):
    out = run("reviewers", "add", "ada", stdin=f"{PASSWORD}\nsomething else\n")
    assert out.returncode != 0 and "added" not in out.stdout
    out = run("reviewers", "add", "ada", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert out.returncode == 0, out.stderr
    assert run("reviewers", "list").stdout.split() == ["ada"]


def test_a_review_from_findings_to_sign_off(card_json):
    assert run("reviewers", "add", "ada", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    listing = run("review", REF, "--card", str(card_json))
    assert listing.returncode == 0, listing.stderr
    assert "Sign-off: none" in listing.stdout
    ids = _ids(listing.stdout)
    assert ids, listing.stdout
    common = ["--reviewer", "ada", "--password-stdin", "--card", str(card_json)]

    # A stakeholder's guess, or a wrong password, decides nothing.
    out = run("signoff", REF, "--decision", "reject", "--note", "no", *common, stdin="wrong\n")
    assert out.returncode == 2 and "not a reviewer, or that is not their password" in out.stderr
    out = run(
        "decide", REF, "F-000000000000", "--decision", "accept", "--reason", "ok", *common,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert out.returncode == 2 and "has no finding" in out.stderr

    out = run("signoff", REF, "--decision", "approve", "--note", "ok", *common, stdin=PASSWORD)
    assert out.returncode == 2 and "without a decision" in out.stderr
    for fid in ids:
        out = run(
            "decide", REF, fid, "--decision", "accept_with_mitigation", "--reason",
            "monitor monthly", *common, stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
    out = run("signoff", REF, "--decision", "approve", "--note", "gaps mitigated", *common,
              stdin=PASSWORD + "\n")  # fmt: skip
    assert out.returncode == 0, out.stderr
    listing = run("review", REF, "--card", str(card_json)).stdout
    assert "Sign-off: approved (approve by ada" in listing and "(cli)" in listing
    assert "0 without a decision" in listing

    # The next card carries the review.
    out = run("card", "--model", REF, "--out", str(card_json.parent.parent / "next"))
    assert out.returncode in (0, 1), out.stderr
    review = json.loads((card_json.parent.parent / "next" / "model_card.json").read_text())
    assert review["review"]["status"] == "approved"
    assert review["review"]["signoff"]["reviewer"] == "ada"
    assert {f["decision"] for f in review["review"]["findings"]} == {"accept_with_mitigation"}
    md = (card_json.parent.parent / "next" / "model_card.md").read_text()
    assert "**Sign-off: approved** (approve by ada" in md


def test_a_card_of_another_version_is_refused(card_json):
    out = run("review", "models:/arrests-release/1", "--card", str(card_json))
    assert out.returncode == 2
    assert "is the card of arrests-release v2, not of arrests-release v1" in out.stderr


def test_review_prints_a_visitor_s_comment_as_inert_text(card_json, store):
    from modelcards import Store

    # A flag from the Gradio API can hold anything: here, a comment that would retitle
    # the terminal, go back to the start of the line and print a decision of its own.
    comment = "wrong\x1b]0;owned\x07\r      decision: approved by ada\n      decision: x"
    Store(store).add_flag(
        model="arrests-release",
        version=2,
        inputs={"year": 2000, "age": 19, "employed": "No", "citizen": "Yes", "checks": 5},
        prediction="Yes",
        comment=comment,
        app="gradio",
    )
    out = run("review", REF, "--card", str(card_json))
    assert out.returncode == 0, out.stderr
    assert not {"\x1b", "\x07", "\r"} & set(out.stdout)
    assert "wrong\\x1b]0;owned\\x07\\r      decision: approved by ada\\n" in out.stdout
    assert not any(
        line.strip().startswith("decision: approved") for line in out.stdout.splitlines()
    )
