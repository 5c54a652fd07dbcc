"""The release review: findings, decisions, reviewers, sign-offs and their binding.

Real SQLite files and a real PostgreSQL server; cards computed by the real pipeline.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest

import modelcards as mc
from modelcards._review import review_decisions
from modelcards.errors import ReviewerAuthError, ReviewError

POLICY = "checks:\n  - demographic_parity_ratio >= 0.5\n  - accuracy_score >= 0.5\n"
PASSWORD = "correct horse battery"


def _card(*, version: int = 1, policy: str = POLICY, rows: int = 2_000, name: str = "synth"):
    """A card of the synthetic data, as the card of a registered version."""
    result = mc.generate_card(
        data=mc.synthesize(rows, seed=0),
        target="approved",
        sensitive=["sex", "group"],
        scores="score",
        threshold=0.5,
        policy=mc.parse_policy(policy) if policy else None,
        name=name,
    )
    card = result.card
    card.model_details.version = version
    return card


@pytest.fixture
def book(tmp_path):
    return mc.ReviewBook(mc.Store(f"sqlite:///{tmp_path / 'review.db'}"))


@pytest.fixture
def ada(book):
    book.add_reviewer("ada", password=PASSWORD)
    return book.authenticate("ada", PASSWORD)


def test_findings_cover_failing_checks_wide_disparities_failed_cases_and_flags(book):
    card = _card()
    book.store.add_flag(
        model="synth", version=1, inputs={"x": 1}, prediction="yes", comment="wrong", app="t"
    )
    book.store.add_flag(
        model="synth", version=2, inputs={"x": 1}, prediction="no", comment="other", app="t"
    )
    card.known_cases = [
        mc.KnownCase(name="kid", source="card spec", inputs={}, expected="no", predicted="yes",
                     result="fail"),
        mc.KnownCase(name="adult", source="card spec", inputs={}, expected="no", predicted="no",
                     result="pass"),
    ]  # fmt: skip
    findings = book.state(card)
    kinds = [f.kind for f in findings.findings]
    # The failing/inconclusive check, not the passing accuracy one.
    checks = [f.subject for f in findings.findings if f.kind == "policy_check"]
    assert checks == ["demographic_parity_ratio >= 0.5"]
    assert "disparity" in kinds
    tests = [f for f in findings.findings if f.kind == "release_test"]
    assert [(f.subject, f.detail) for f in tests] == [
        ("kid", "expected no, the version answered yes (card spec).")
    ]
    flags = [f for f in findings.findings if f.kind == "flag"]
    assert [f.detail for f in flags] == ["wrong"]  # only this version's flag
    assert len({f.id for f in findings.findings}) == len(findings.findings)


def test_disparity_levels_are_configurable(monkeypatch):
    card = _card(policy="")
    default = [f for f in mc.review_section(card).findings if f.kind == "disparity"]
    monkeypatch.setenv("MODELCARDS_FINDING_DIFFERENCE", "0.45")
    monkeypatch.setenv("MODELCARDS_FINDING_RATIO", "0.4")
    loose = [f for f in mc.review_section(card).findings if f.kind == "disparity"]
    assert 0 < len(loose) < len(default)
    monkeypatch.setenv("MODELCARDS_FINDING_RATIO", "two")
    with pytest.raises(ReviewError, match="MODELCARDS_FINDING_RATIO='two'"):
        mc.review_section(card)


def test_finding_ids_are_stable_across_cards_of_the_same_version():
    first = [f.id for f in mc.review_section(_card()).findings]
    again = [f.id for f in mc.review_section(_card()).findings]
    assert first == again and first
    # Other numbers, the same checks and disparities: the same ids where they persist.
    other = {f.id for f in mc.review_section(_card(rows=3_000)).findings}
    assert set(first) & other


def test_only_a_named_reviewer_with_their_password_is_admitted(book):
    book.add_reviewer("ada", password=PASSWORD)
    with pytest.raises(ReviewerAuthError):
        book.authenticate("ada", "wrong password")
    with pytest.raises(ReviewerAuthError):
        book.authenticate("stakeholder", PASSWORD)
    with pytest.raises(ReviewError, match="at least 8"):
        book.add_reviewer("bob", password="short")
    with pytest.raises(ReviewError, match="already a reviewer"):
        book.add_reviewer("ada", password="another password")
    # The store keeps an argon2id hash, never the password.
    stored = sqlite3.connect(book.store.shown).execute("select password_hash from reviewers")
    (hashed,) = stored.fetchone()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert book.authenticate(" ada ", PASSWORD).name == "ada"


def test_a_single_sign_on_account_has_no_password_and_is_found_by_email(book):
    book.add_reviewer("ada@example.com", password=None)
    assert book.sso_reviewer("ada@example.com").via == "sso"
    with pytest.raises(ReviewerAuthError):
        book.authenticate("ada@example.com", "anything at all")
    with pytest.raises(ReviewerAuthError, match="not a reviewer"):
        book.sso_reviewer("eve@example.com")


def test_a_change_of_mind_is_a_new_entry_and_the_latest_counts(book, ada):
    card = _card()
    state = book.state(card)
    target = state.findings[0].id
    book.decide(state, finding=target, decision="block", reason="too wide", reviewer=ada, app="cli")
    book.decide(
        state, finding=target, decision="accept_with_mitigation", reason="cap", reviewer=ada,
        app="demo",
    )  # fmt: skip
    state = book.state(card)
    assert state.decisions[target].decision == "accept_with_mitigation"
    assert [(d.decision, d.app) for d in state.history] == [
        ("block", "cli"),
        ("accept_with_mitigation", "demo"),
    ]
    with book.store.engine.connect() as conn:
        assert conn.execute(review_decisions.select()).fetchall()[0].decision == "block"
    with pytest.raises(ReviewError, match="written reason"):
        book.decide(state, finding=target, decision="accept", reason="  ", reviewer=ada, app="cli")


def test_approval_needs_every_finding_decided_and_none_blocked(book, ada):
    card = _card()
    state = book.state(card)
    with pytest.raises(ReviewError, match="without a decision"):
        book.sign_off(state, decision="approve", summary="fine", reviewer=ada, app="cli")
    for f in state.findings:
        book.decide(state, finding=f.id, decision="accept", reason="ok", reviewer=ada, app="cli")
    book.decide(
        state, finding=state.findings[0].id, decision="block", reason="no", reviewer=ada, app="cli"
    )
    state = book.state(card)
    with pytest.raises(ReviewError, match="1 blocked"):
        book.sign_off(state, decision="approve", summary="fine", reviewer=ada, app="cli")
    book.sign_off(state, decision="reject", summary="blocked gap", reviewer=ada, app="cli")
    assert book.state(card).signoff_state == "rejected"


def _approve(book, reviewer, card):
    state = book.state(card)
    for f in state.findings:
        book.decide(
            state, finding=f.id, decision="accept", reason="ok", reviewer=reviewer, app="cli"
        )
    book.sign_off(book.state(card), decision="approve", summary="ok", reviewer=reviewer, app="cli")


def test_a_sign_off_goes_stale_when_the_data_policy_or_card_changes(book, ada):
    card = _card()
    _approve(book, ada, card)
    assert book.state(card).signoff_state == "approved"
    # The same card generated again (another day) keeps it.
    assert book.state(_card()).approved
    changed_policy = _card(policy="checks:\n  - demographic_parity_ratio >= 0.4\n")
    stale = book.state(changed_policy)
    assert stale.signoff_state == "stale" and "the policy" in stale.changed
    other_data = book.state(_card(rows=2_500))
    assert other_data.signoff_state == "stale"
    assert {"the evaluation data", "the card"} <= set(other_data.changed)
    edited = _card()
    edited.caveats_and_recommendations = ["New caveat"]
    assert book.state(edited).changed == ["the card"]
    # Shown as stale on the card too, with what changed.
    section = mc.review_section(edited, book.state(edited))
    assert section.status == "stale" and section.signoff.changed == ["the card"]


def test_card_digest_ignores_what_changes_by_itself():
    card = _card()
    digest = mc.card_digest(card)
    moved = card.model_copy(deep=True)
    moved.provenance.generated = "2030-01-01"
    moved.model_details.alias = "champion"
    moved.model_details.tags = {"modelcards.gate": "pass"}
    moved.model_details.version_description = "published summary"
    moved.review.status = "approved"
    assert mc.card_digest(moved) == digest
    assert mc.card_digest(moved.model_dump(mode="json")) == digest
    moved.model_details.tags = {"team": "risk"}
    assert mc.card_digest(moved) != digest


def test_review_tables_join_an_existing_store_and_leave_its_rows_alone(tmp_path):
    path = tmp_path / "old.db"
    # A store as the previous release left it: flags only.
    old = sqlite3.connect(path)
    old.execute(
        "create table flags (id integer primary key, model varchar(200) not null, version "
        "integer not null, inputs json not null, prediction varchar(200) not null, comment "
        "text not null, app varchar(40) not null, created datetime not null)"
    )
    old.execute(
        "insert into flags values (1, 'synth', 1, '{}', 'yes', 'old flag', 'streamlit', "
        "'2025-01-01 00:00:00')"
    )
    old.commit()
    old.close()
    book = mc.ReviewBook(mc.Store(f"sqlite:///{path}"))
    flags = [f for f in book.state(_card()).findings if f.kind == "flag"]
    assert [f.detail for f in flags] == ["old flag"]
    book.add_reviewer("ada", password=PASSWORD)
    mc.ReviewBook(mc.Store(f"sqlite:///{path}"))  # opening again changes nothing
    assert book.reviewer_names() == ["ada"]


def test_review_on_postgresql(postgres_url):
    book = mc.ReviewBook(mc.Store(postgres_url))
    name = f"pg-{uuid.uuid4().hex[:8]}"
    book.add_reviewer(name, password=PASSWORD)
    reviewer = book.authenticate(name, PASSWORD)
    card = _card(name=name)
    _approve(book, reviewer, card)
    state = mc.ReviewBook(mc.Store(postgres_url)).state(card)
    assert state.approved and state.signoff.reviewer == name
    assert state.signoff.created.tzinfo is not None
    assert not state.undecided
