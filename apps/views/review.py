"""Review: the version's findings, a reviewer's decision on each, and the sign-off.

Everyone with the demo password sees the findings; only a named reviewer who signs in
here (name and password, or the single sign-on account when one is configured) sees the
forms that decide.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from apps import gate, state
from modelcards import (
    LoadedModel,
    ModelCard,
    PromotionCheck,
    ReviewBook,
    Reviewer,
    ReviewState,
    after_signoff,
)
from modelcards.errors import ModelcardsError

DECISIONS = {
    "accept": "Accept",
    "accept_with_mitigation": "Accept with mitigation",
    "block": "Block",
}
REVIEWER_KEY = "_reviewer"


def finding_rows(review: ReviewState) -> pd.DataFrame:
    """One row per finding, with the latest decision on it."""
    rows = []
    for f in review.findings:
        d = review.decisions.get(f.id)
        rows.append(
            {
                "finding": f.id,
                "kind": f.kind.replace("_", " "),
                "about": f.subject,
                "why": f.detail,
                "decision": DECISIONS[d.decision] if d else "not decided",
                "reason": d.reason if d else "",
                "reviewer": d.reviewer if d else "",
                "when": d.created.strftime("%Y-%m-%d %H:%M UTC") if d else "",
                "where": d.app if d else "",
            }
        )
    return pd.DataFrame(rows)


def signoff_banner(review: ReviewState) -> None:
    """The sign-off as it stands: approved, rejected, stale (and why) or none."""
    s = review.signoff
    if s is None:
        st.info("Not signed off yet.")
        return
    who = f"{s.decision} by {s.reviewer}, {s.created.strftime('%Y-%m-%d %H:%M UTC')} ({s.app})"
    text = state.plain(f"Signed off: {review.signoff_state} ({who}): {s.summary}")
    if review.signoff_state == "stale":
        changed = ", ".join(review.changed)
        st.warning(
            state.plain(
                f"The sign-off ({who}) is stale and no longer counts: {changed} changed since."
            )
        )
    elif review.signoff_state == "approved":
        st.success(text)
    else:
        st.error(text)


def render() -> None:
    model = state.page("Review")
    if model is None:
        return
    book = state.review_book()
    card = state.review_card(model)
    review = book.state(card)
    signoff_banner(review)
    undecided = len(review.undecided)
    st.caption(
        f"{len(review.findings)} finding(s), {undecided} without a decision: failing or "
        "inconclusive policy checks, disparities beyond the review levels, failed release "
        "tests and stakeholder flags on this version."
    )
    if review.findings:
        st.dataframe(finding_rows(review), hide_index=True, key="findings_table")
    _promotion(model)
    reviewer = _reviewer(book)
    if reviewer is None:
        return
    _decision_form(book, model, review, reviewer)
    _signoff_form(book, model, review, reviewer, card)


def promotion_rows(checks: list[PromotionCheck], aliases: dict[str, int]) -> pd.DataFrame:
    """One row per version: its gate, its sign-off, and whether it could be promoted."""
    rows = []
    for c in checks:
        rows.append(
            {
                "version": c.version,
                "aliases": ", ".join(f"@{a}" for a, v in sorted(aliases.items()) if v == c.version),
                "gate": c.gate or "no published card",
                "sign-off": c.signoff,
                "could be promoted": "yes" if c.allowed else "no",
                "missing": "; ".join(c.missing),
            }
        )
    return pd.DataFrame(rows)


def _promotion(model: LoadedModel) -> None:
    st.subheader("Promotion")
    st.caption(
        "`modelcards promote models:/NAME/VERSION --alias ALIAS` moves an alias only to a "
        "version whose published card passed the gate and whose sign-off approves it."
    )
    found = next((m for m in state.model_list() if m.name == model.name), None)
    checks = state.promotion_checks(model.name)
    st.dataframe(
        promotion_rows(checks, dict(found.aliases) if found else {}),
        hide_index=True,
        key="promotion_table",
    )


def _reviewer(book: ReviewBook) -> Reviewer | None:
    """The signed-in reviewer, or the sign-in form (stakeholders stop here)."""
    if gate.sso_configured():
        if not st.user.is_logged_in:
            return None
        try:
            reviewer = book.sso_reviewer(str(st.user.get("email") or ""))
        except ModelcardsError as exc:
            st.info(state.plain(f"{exc.message} You can read the findings."))
            return None
        st.caption(f"Reviewing as {reviewer.name} (single sign-on).")
        return reviewer
    signed_in = st.session_state.get(REVIEWER_KEY)
    if isinstance(signed_in, Reviewer):
        cols = st.columns([4, 1])
        cols[0].caption(f"Reviewing as {signed_in.name}.")
        if cols[1].button("Sign out", key="reviewer_sign_out"):
            del st.session_state[REVIEWER_KEY]
            st.rerun()
        return signed_in
    st.subheader("Reviewers")
    st.caption("Only named reviewers can decide; everyone else sees the findings read-only.")
    with st.form("reviewer_login"):
        name = st.text_input("Reviewer name", key="reviewer_name")
        password = st.text_input("Reviewer password", type="password", key="reviewer_password")
        submitted = st.form_submit_button("Sign in as reviewer")
    if submitted:
        client = st.context.ip_address or "local"
        slot = gate.THROTTLE.reserve(f"reviewer:{client}")
        if not slot.allowed:
            st.error(
                "Too many wrong reviewer passwords from your address. "
                f"Try again in {gate.wait_seconds(slot)} seconds."
            )
            return None
        time.sleep(slot.wait)  # this session's run only
        try:
            reviewer = book.authenticate(name, password)
        except ModelcardsError as exc:
            st.error(state.plain(exc.message))
            return None
        gate.THROTTLE.succeeded(f"reviewer:{client}")
        st.session_state[REVIEWER_KEY] = reviewer
        st.rerun()
    return None


def _decision_form(
    book: ReviewBook, model: LoadedModel, review: ReviewState, reviewer: Reviewer
) -> None:
    if not review.findings:
        return
    st.subheader("Decide on a finding")
    labels = {
        f.id: f"{f.id} · {f.kind.replace('_', ' ')}: {state.shorten(f.subject)}"
        for f in review.findings
    }
    # The first undecided finding first: the reviewer works down the list.
    first = next((i for i, f in enumerate(review.findings) if f.id not in review.decisions), 0)
    pick_key = state.vkey(model, "finding")

    def save() -> str:
        picked = str(st.session_state[pick_key])
        decision = st.session_state["decision_kind"]
        book.decide(
            review,
            finding=picked,
            decision=decision,
            reason=str(st.session_state.get("decision_reason") or ""),
            reviewer=reviewer,
            app="demo",
        )
        # On to the next finding without a decision, as a reviewer works down the list.
        rest = [f.id for f in review.undecided if f.id != picked]
        if rest:
            st.session_state[pick_key] = rest[0]
        return f"Recorded: {DECISIONS[decision].lower()} on {picked}."

    # The form never clears itself: a busy store must not cost the reviewer their reason.
    with st.form("decide", clear_on_submit=False):
        st.selectbox(
            "Finding", list(labels), index=first, format_func=labels.__getitem__, key=pick_key
        )
        st.radio(
            "Decision", list(DECISIONS), format_func=DECISIONS.__getitem__, horizontal=True,
            key="decision_kind",
        )  # fmt: skip
        st.text_area(
            "Reason (for a mitigation: what mitigates it)", key="decision_reason", max_chars=2000
        )
        st.form_submit_button(
            "Record decision",
            type="primary",
            on_click=state.on_submit(
                "decide", save, fields=["decision_reason"], kept="Your reason is kept"
            ),
        )
    state.said("decide")


def _signoff_form(
    book: ReviewBook, model: LoadedModel, review: ReviewState, reviewer: Reviewer, card: ModelCard
) -> None:
    st.subheader("Sign off")
    st.caption(
        "Bound to this version, its evaluation data, its policy and its card: if any of "
        "them changes, the sign-off goes stale. Approving needs a decision on every "
        "finding and none blocked."
    )

    def save() -> str:
        verdict = st.session_state["signoff_kind"]
        book.sign_off(
            review,
            decision=verdict,
            summary=str(st.session_state.get("signoff_summary") or ""),
            reviewer=reviewer,
            app="demo",
        )
        # The version's signoff tag and the team's notification; the table re-reads.
        after_signoff(state.registry(), book, card)
        state.forget_promotion()
        return f"Signed off: {verdict}d {model.name} v{model.version}."

    with st.form("signoff", clear_on_submit=False):
        st.radio(
            "Sign-off", ["approve", "reject"], format_func=str.capitalize, horizontal=True,
            key="signoff_kind",
        )  # fmt: skip
        st.text_area("Summary", key="signoff_summary", max_chars=2000)
        st.form_submit_button(
            "Sign off",
            type="primary",
            on_click=state.on_submit(
                "signoff", save, fields=["signoff_summary"], kept="Your summary is kept"
            ),
        )
    state.said("signoff")
