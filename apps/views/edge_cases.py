"""Edge cases: the named cases of the card spec and those saved from Try it, run at once."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps import state
from components.predictions import flag_form
from modelcards import EdgeCaseOutcome


def outcome_rows(outcomes: list[EdgeCaseOutcome], positive: str) -> pd.DataFrame:
    """One row per case: expected against actual, and whether they agree."""
    rows = []
    for o in outcomes:
        rows.append(
            {
                "case": o.case.name,
                "expected": o.case.expected or "",
                "actual": o.actual if o.actual is not None else f"cannot run: {o.problem}",
                f"P({positive})": "" if o.probability is None else f"{o.probability:.3f}",
                "as expected": {None: "", True: "yes", False: "NO"}[o.as_expected],
                "source": o.case.source,
                "note": o.case.note or "",
            }
        )
    return pd.DataFrame(rows)


def render() -> None:
    model = state.page("Edge cases")
    if model is None:
        return
    svc = state.service()
    cases = svc.edge_cases(model)
    if not cases:
        st.info("No edge cases yet: save one from Try it.")
        return
    st.caption(f"{len(cases)} case(s): from the card spec and saved by stakeholders.")
    ran = state.vkey(model, "ran")  # "Run all" was pressed for this version
    if st.button("Run all", type="primary", key="run_all") or st.session_state.get(ran):
        st.session_state[ran] = True
        outcomes = svc.run_edge_cases(model)
        judged = [o for o in outcomes if o.as_expected is not None]
        st.metric("As expected", f"{sum(bool(o.as_expected) for o in judged)} of {len(judged)}")
        st.dataframe(
            outcome_rows(outcomes, str(model.positive_label)), hide_index=True, key="edge_table"
        )
        st.subheader("Flag an answer as wrong")
        pick = st.selectbox("Case", [c.name for c in cases], key=state.vkey(model, "flag_case"))

        def flag() -> str:
            comment = str(st.session_state.get("flag_edge_comment") or "")
            chosen = next(o for o in outcomes if o.case.name == pick)
            answer = chosen.actual if chosen.actual is not None else f"cannot run: {chosen.problem}"
            svc.flag(model, chosen.case.inputs, comment=comment, app="streamlit", prediction=answer)
            return state.plain(f"Flagged the answer to {state.shorten(pick)!r}.")

        # The form never clears itself: a busy store must not cost anyone their comment.
        flag_form(
            key="flag_edge",
            on_submit=state.on_submit(
                "flag_edge", flag, fields=["flag_edge_comment"], kept="Your comment is kept"
            ),
        )
        state.said("flag_edge")
    flags = svc.store.flags(model.name)
    if flags:
        st.subheader("Flags so far")
        st.dataframe(
            pd.DataFrame(flags)[["created", "version", "prediction", "comment", "app"]],
            hide_index=True,
        )
