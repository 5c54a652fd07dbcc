"""Showing a prediction, and the forms that save an edge case or flag an answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from modelcards import MAX_COMMENT_CHARS, Prediction, probability_figure


def prediction_view(prediction: Prediction, positive_label: Any) -> None:
    st.metric("Prediction", prediction.label)
    if prediction.probabilities:
        st.plotly_chart(
            probability_figure(prediction.probabilities, str(positive_label)),
            config={"displayModeBar": False},
        )


def save_case_form(classes: list[Any], *, on_submit: Callable[[], None]) -> None:
    """A form to save the current inputs as a named edge case. Its fields (keys
    ``case_name``, ``case_expected``, ``case_note``) are never cleared by the form:
    ``on_submit`` reads them, and empties them once the case is saved."""
    with st.form("save_case", clear_on_submit=False):
        st.markdown("**Save as an edge case**")
        st.text_input("Name", key="case_name")
        st.selectbox("Expected outcome", [str(c) for c in classes], key="case_expected")
        st.text_input("Note (optional)", key="case_note")
        st.form_submit_button("Save edge case", on_click=on_submit)


def flag_form(*, key: str, on_submit: Callable[[], None]) -> None:
    """A form to flag a prediction as wrong. The comment (key ``{key}_comment``) is never
    cleared by the form: ``on_submit`` reads it, and empties it once the flag is stored."""
    with st.form(key, clear_on_submit=False):
        st.markdown("**Is this answer wrong?**")
        st.text_area(
            "What is wrong with it?", key=f"{key}_comment", height=80, max_chars=MAX_COMMENT_CHARS
        )
        st.form_submit_button("Flag as wrong", on_click=on_submit)
