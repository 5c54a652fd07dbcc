"""Gated promotion on a real SQLite registry and review store: refused before sign-off,
allowed after, refused again once the sign-off goes stale; overrides recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import register

from modelcards import (
    CardOptions,
    ReviewBook,
    Store,
    after_signoff,
    card_for_review,
    generate_card,
    publish_card,
    write_card,
)
from modelcards._findings import OVERRIDE_TAG
from modelcards._promote import Promotion, promotable, promote, promotion_check

SCRIPT = Path(sys.executable).parent / "modelcards"
PASSING = "checks:\n  - accuracy_score >= 0.5\n"
PASSWORD = "correct horse battery"
REF = "models:/m/1"


@pytest.fixture
def book(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    monkeypatch.setenv("MODELCARDS_DB_URL", url)
    book = ReviewBook(Store(url))
    book.add_reviewer("ada", password=PASSWORD)
    return book


@pytest.fixture
def version(registry, fitted):
    pipe, train, test = fitted
    register(registry, pipe, train, test, alias="champion", policy=PASSING)
    return REF


def publish(registry, folder: Path, options: CardOptions | None = None):
    result = generate_card(model=REF, registry=registry, options=options or CardOptions())
    return publish_card(result, registry=registry, files=write_card(result, folder))


def approve(registry, book):
    ada = book.authenticate("ada", PASSWORD)
    card = card_for_review(registry, REF)
    state = book.state(card)
    for f in state.findings:
        book.decide(state, finding=f.id, decision="accept", reason="ok", reviewer=ada, app="cli")
    book.sign_off(book.state(card), decision="approve", summary="ok", reviewer=ada, app="cli")


def alias_target(registry, alias):
    return registry.resolve(f"models:/m@{alias}")[1]


def test_promotion_is_refused_before_sign_off_allowed_after_and_refused_once_stale(
    registry, version, book, tmp_path
):
    check = promotion_check(registry, book, REF)
    assert not check.allowed and check.missing[0].startswith("a published card")
    publish(registry, tmp_path / "card")
    refused = promote(registry, book, REF, alias="production")
    assert not isinstance(refused, Promotion)
    assert refused.gate == "pass" and refused.missing[0].startswith("an approved sign-off")
    assert "production" not in registry.list_models()[0].aliases

    approve(registry, book)
    moved = promote(registry, book, REF, alias="production")
    assert isinstance(moved, Promotion) and moved.forced is None
    assert alias_target(registry, "production") == 1
    assert [c.allowed for c in promotable(registry, book, "m")] == [True]

    # The card is published again with other intervals: the sign-off no longer counts.
    publish(registry, tmp_path / "again", CardOptions(confidence=0.9))
    stale = promote(registry, book, REF, alias="staging")
    assert not isinstance(stale, Promotion) and stale.signoff == "stale"
    assert "stale: the card changed since" in stale.missing[0]
    assert "staging" not in registry.list_models()[0].aliases


def test_a_failing_gate_blocks_promotion_even_when_approved(registry, fitted, book, tmp_path):
    pipe, train, test = fitted
    register(registry, pipe, train, test, policy="checks:\n  - accuracy_score >= 0.99\n")
    publish(registry, tmp_path / "card")
    approve(registry, book)
    check = promotion_check(registry, book, REF)
    assert check.signoff == "approved"
    assert check.missing == ["a passing gate (the published card's gate is fail)"]


def run(*args, stdin=None):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=dict(os.environ),
        timeout=300,
    )


def test_the_promote_command_says_what_is_missing_and_records_a_forced_override(
    registry, version, book, tmp_path, monkeypatch
):
    monkeypatch.setenv("MODELCARDS_HOME", str(registry.home))
    out = run("promote", REF, "--alias", "production")
    assert out.returncode == 1
    assert "Missing:" in out.stderr and "a published card" in out.stderr
    assert "production" not in registry.list_models()[0].aliases

    out = run("promote", REF, "--alias", "production", "--force")
    assert out.returncode == 2 and "--force needs --reason" in out.stderr
    out = run(
        "promote", REF, "--alias", "production", "--force", "--reason", "incident 42 hotfix",
        "--reviewer", "ada", "--password-stdin", stdin="wrong password\n",
    )  # fmt: skip
    assert out.returncode == 2 and "production" not in registry.list_models()[0].aliases

    out = run(
        "promote", REF, "--alias", "production", "--force", "--reason", "incident 42 hotfix",
        "--reviewer", "ada", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Gate overridden by ada: incident 42 hotfix" in out.stdout
    assert alias_target(registry, "production") == 1
    tag = registry.client.get_model_version("m", "1").tags[OVERRIDE_TAG]
    (override,) = json.loads(tag)
    assert (override["reviewer"], override["reason"], override["alias"]) == (
        "ada",
        "incident 42 hotfix",
        "production",
    )
    # The next card carries it.
    card = generate_card(model=REF, registry=registry).card
    assert [(o.reviewer, o.reason) for o in card.review.overrides] == [
        ("ada", "incident 42 hotfix")
    ]


def test_the_signoff_tag_follows_the_sign_off_and_goes_stale_with_a_new_card(
    registry, version, book, tmp_path
):
    publish(registry, tmp_path / "card")
    approve(registry, book)
    after_signoff(registry, book, card_for_review(registry, REF))

    def tag():
        return registry.client.get_model_version("m", "1").tags["modelcards.signoff"]

    assert tag() == "approved"
    assert publish(registry, tmp_path / "same").signoff == "approved"  # the same card again
    assert publish(registry, tmp_path / "other", CardOptions(confidence=0.9)).signoff == "stale"
    assert tag() == "stale"
