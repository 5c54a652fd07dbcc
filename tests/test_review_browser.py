"""The Review page in real chromium against a real demo server: a stakeholder reads, a
named reviewer signs in, decides and signs off."""

from __future__ import annotations

import pytest
from test_demo_server import running_demo

from modelcards import ReviewBook, Store

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
WAIT = 120_000


def test_a_reviewer_signs_in_decides_and_signs_off_in_the_browser(
    page, examples_home, tmp_path_factory
):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'demo.db'}"
    book = ReviewBook(Store(url))
    book.add_reviewer("ada", password=PASSWORD)
    with running_demo(MODELCARDS_HOME=str(examples_home), MODELCARDS_DB_URL=url) as port:
        page.goto(f"http://127.0.0.1:{port}/review?model=arrests-release&ref=%40challenger")
        page.get_by_text("Not signed off yet.").wait_for(timeout=WAIT)
        # A stakeholder sees the findings, and no form that decides.
        assert page.get_by_role("button", name="Record decision").count() == 0
        page.get_by_label("Reviewer name").fill("ada")
        page.get_by_label("Reviewer password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in as reviewer").click()
        page.get_by_text("Reviewing as ada.").wait_for(timeout=WAIT)

        page.get_by_text("Block", exact=True).click()
        page.get_by_label("Reason (for a mitigation: what mitigates it)").fill(
            "the gap for under-18s is too wide"
        )
        page.get_by_role("button", name="Record decision").click()
        page.get_by_text("Recorded: block on").wait_for(timeout=WAIT)

        page.get_by_text("Reject", exact=True).click()
        page.get_by_label("Summary").fill("blocked: see the under-18 gap")
        page.get_by_role("button", name="Sign off", exact=True).click()
        page.get_by_text("Signed off: rejected (reject by ada").first.wait_for(timeout=WAIT)

    (decision,) = book.decisions("arrests-release", 2)
    assert (decision.decision, decision.reviewer, decision.app) == ("block", "ada", "demo")
    (signoff,) = book.signoffs("arrests-release", 2)
    assert (signoff.decision, signoff.summary) == ("reject", "blocked: see the under-18 gap")
