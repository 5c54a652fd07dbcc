"""Showing a prediction, and the forms that save an edge case or flag an answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from modelcards import (
    MAX_COMMENT_CHARS,
    Explanation,
    Prediction,
    explanation_spec,
    markdown_text,
    probability_spec,
)


def prediction_view(
    prediction: Prediction, positive_label: Any, meaning: Mapping[str, str] | None = None
) -> None:
    """The answer, what it means in words (the data dictionary's), and the probabilities."""
    st.metric("Prediction", prediction.label)
    words = (meaning or {}).get(prediction.label)
    if words:
        st.caption(markdown_text(f"{prediction.label}: {words}"))
    if prediction.probabilities:
        st.plotly_chart(
            probability_spec(prediction.probabilities, str(positive_label)),
            config={"displayModeBar": False},
        )


def explanation_view(explanation: Explanation) -> None:
    """Why this prediction: one plain sentence, then a bar per input from the baseline."""
    st.markdown("**Why this prediction**")
    st.markdown(markdown_text(explanation.sentence()))
    st.plotly_chart(explanation_spec(explanation), config={"displayModeBar": False})
    st.caption(
        "Each bar is how much that input moved the probability of "
        f"{markdown_text(explanation.positive_label)} away from the average answer of "
        f"{explanation.background_rows} people in the evaluation data; together the bars "
        "add up to this answer. They are exact Shapley values: every combination of "
        "inputs is tried, with the other inputs taken from those people."
    )


def save_case_form(classes: list[Any], *, on_submit: Callable[[], None]) -> None:
    """A form to save the current inputs as a named edge case. Its fields (keys
    ``case_name``, ``case_expected``, ``case_note``) are never cleared by the form:
    ``on_submit`` reads them, and empties them once the case is saved."""
    with st.form("save_case", clear_on_submit=False):
        st.markdown("**Save as an edge case**")
        st.text_input("Name", key="case_name")
        if classes:
            st.selectbox("Expected outcome", [str(c) for c in classes], key="case_expected")
        else:  # a regression: the range the predicted number should fall in
            st.text_input("Expected range", key="case_expected", help=RANGE_HELP)
        st.text_input("Note (optional)", key="case_note")
        st.form_submit_button("Save edge case", on_click=on_submit)


#: What a regression's expected answer looks like (see ``parse_expected``).
RANGE_HELP = (
    "A range the predicted number should fall in: 120..180, or 150 +- 30. "
    "A single number is shown beside the prediction but not judged."
)
#: The expected-answer choice that says nothing.
NOT_SAID = "(not said)"


def expected_answer(raw: Any) -> str | None:
    """A form's expected-answer field as the text to store: None when nothing was said."""
    text = "" if raw is None else str(raw).strip()
    return None if text in ("", NOT_SAID) else text


def expected_field(classes: list[Any], *, key: str, label: str = "Expected answer") -> None:
    """The answer someone expected: one of the classes (or nothing), or a regression's
    range as text."""
    if classes:
        st.selectbox(label, [NOT_SAID, *[str(c) for c in classes]], key=key)
    else:
        st.text_input(label, key=key, help=RANGE_HELP)


def flag_form(*, key: str, on_submit: Callable[[], None], classes: list[Any] | None = None) -> None:
    """A form to flag a prediction as wrong. The comment (key ``{key}_comment``) and
    the expected answer (key ``{key}_expected``; a class, or a regression's range when
    ``classes`` is empty; no field when None) are never cleared by the form: ``on_submit``
    reads them, and empties the comment once the flag is stored."""
    with st.form(key, clear_on_submit=False):
        st.markdown("**Is this answer wrong?**")
        st.text_area(
            "What is wrong with it?", key=f"{key}_comment", height=80, max_chars=MAX_COMMENT_CHARS
        )
        if classes is not None:
            expected_field(classes, key=f"{key}_expected", label="What answer did you expect?")
        st.form_submit_button("Flag as wrong", on_click=on_submit)
