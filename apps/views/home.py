"""Model page: what the selected version is, what it is for, and how it fares."""

from __future__ import annotations

import streamlit as st

from apps import state
from components.model_info import card_overview, model_summary
from modelcards.errors import ModelcardsError


def render() -> None:
    st.title("Model")
    model = state.current_model()
    if model is None:
        return
    model_summary(model)
    try:
        result = state.card_for(model)
    except ModelcardsError as exc:  # e.g. no evaluation split; anything else is a bug
        st.warning(state.plain(f"No card data for this version: {exc.message}"))
        return
    card_overview(result.card)
