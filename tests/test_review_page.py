"""The demo's Review page through AppTest: stakeholders read, named reviewers decide."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from modelcards import ReviewBook, Store

PASSWORD = "correct horse battery"


def review_page(**query) -> AppTest:
    at = AppTest.from_string(
        "from apps.demo import run_page\nrun_page('review')", default_timeout=120
    )
    for k, v in {"model": "arrests-release", "ref": "@challenger", **query}.items():
        at.query_params[k] = str(v)
    return at.run()


@pytest.fixture
def store(examples_registry, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("MODELCARDS_DB_URL", url)
    book = ReviewBook(Store(url))
    book.add_reviewer("ada", password=PASSWORD)
    return book


def no_failure(at: AppTest) -> None:
    assert not at.exception
    assert not [e for e in at.error if "went wrong" in e.value]


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="reviewer_name").input(name)
    at.text_input(key="reviewer_password").input(password)
    return next(b for b in at.button if b.label == "Sign in as reviewer").click().run()


def press(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_a_stakeholder_sees_the_findings_but_no_decision_form(store):
    at = review_page()
    no_failure(at)
    assert at.title[0].value == "Review"
    assert any("Not signed off yet" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert len(table) > 0 and set(table["decision"]) == {"not decided"}
    assert "Record decision" not in [b.label for b in at.button]
    assert "Sign off" not in [b.label for b in at.button]
    at = sign_in(at, "ada", "not the password")
    assert any("not a reviewer, or that is not their password" in e.value for e in at.error)
    assert "Record decision" not in [b.label for b in at.button]


def test_a_reviewer_decides_every_finding_and_approves(store):
    at = review_page()
    at = sign_in(at, "ada", PASSWORD)
    no_failure(at)
    assert any("Reviewing as ada" in c.value for c in at.caption)
    # Approving before every finding is decided is refused, with what is missing.
    at.text_area(key="signoff_summary").input("looks fine")
    at = press(at, "Sign off")
    assert any("without a decision" in e.value for e in at.error)
    assert at.text_area(key="signoff_summary").value == "looks fine"  # kept
    n = len(at.dataframe[0].value)
    for _ in range(n):
        at.radio(key="decision_kind").set_value("accept_with_mitigation")
        at.text_area(key="decision_reason").input("monitored monthly")
        at = press(at, "Record decision")
        no_failure(at)
        assert any("Recorded: accept with mitigation" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert set(table["decision"]) == {"Accept with mitigation"}
    assert set(table["where"]) == {"demo"} and set(table["reviewer"]) == {"ada"}
    at.text_area(key="signoff_summary").input("gaps mitigated")
    at = press(at, "Sign off")
    no_failure(at)
    assert any("Signed off: approved (approve by ada" in s.value for s in at.success)
    (signoff,) = store.signoffs("arrests-release", 2)
    assert (signoff.decision, signoff.reviewer, signoff.app) == ("approve", "ada", "demo")


def test_the_page_shows_which_versions_could_be_promoted(store):
    at = review_page()
    no_failure(at)
    table = at.dataframe[1].value
    assert list(table["version"]) == [2, 1]
    assert set(table["could be promoted"]) == {"no"}
    assert all(m.startswith("a published card") for m in table["missing"])
    assert list(table["aliases"]) == ["@challenger", "@champion"]


def test_the_model_card_page_shows_decisions_made_after_it_was_first_opened(store):
    def card_html() -> str:
        at = AppTest.from_string(
            "from apps.demo import run_page\nrun_page('card')", default_timeout=120
        )
        at.query_params.update(model="arrests-release", ref="@challenger")
        at.run()
        no_failure(at)
        (frame,) = at.get("iframe")
        return str(frame.proto.srcdoc)

    assert "monitored monthly" not in card_html()  # rendered (and cached) before
    from modelcards import Registry, generate_card

    model = Registry().load("models:/arrests-release@challenger")
    state = store.state(generate_card(model=model).card)
    store.decide(
        state,
        finding=state.findings[0].id,
        decision="accept_with_mitigation",
        reason="monitored monthly",
        reviewer=store.authenticate("ada", PASSWORD),
        app="cli",
    )
    assert "monitored monthly" in card_html()
