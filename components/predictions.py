"""Showing a prediction, and the forms that save an edge case or flag an answer."""

from __future__ import annotations

from typing import Any

import streamlit as st

from modelcards import MAX_COMMENT_CHARS, Prediction, probability_spec


def prediction_view(prediction: Prediction, positive_label: Any) -> None:
    st.metric("Prediction", prediction.label)
    if prediction.probabilities:
        st.plotly_chart(
            probability_spec(prediction.probabilities, str(positive_label)),
            config={"displayModeBar": False},
        )


def save_case_form(classes: list[Any]) -> dict[str, str] | None:
    """A form to save the current inputs as a named edge case; its fields once submitted."""
    with st.form("save_case", clear_on_submit=True):
        st.markdown("**Save as an edge case**")
        name = st.text_input("Name", key="case_name")
        expected = st.selectbox("Expected outcome", [str(c) for c in classes], key="case_expected")
        note = st.text_input("Note (optional)", key="case_note")
        if st.form_submit_button("Save edge case"):
            if not name.strip():
                st.error("Give the edge case a name.")
                return None
            return {"name": name, "expected": expected, "note": note}
    return None


def flag_form(*, key: str) -> str | None:
    """A form to flag a prediction as wrong; the comment once submitted."""
    with st.form(key, clear_on_submit=True):
        st.markdown("**Is this answer wrong?**")
        comment = st.text_area(
            "What is wrong with it?", key=f"{key}_comment", height=80, max_chars=MAX_COMMENT_CHARS
        )
        if st.form_submit_button("Flag as wrong"):
            if not comment.strip():
                st.error("Say what is wrong before flagging.")
                return None
            return comment
    return None
