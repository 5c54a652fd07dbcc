"""Model page: what the selected version is, what it is for, and how it fares."""

from __future__ import annotations

import streamlit as st

from apps import state
from components.model_info import card_overview, model_summary


def render() -> None:
    st.title("Model")
    model = state.current_model()
    if model is None:
        return
    model_summary(model)
    try:
        result = state.card_for(model)
    except Exception as exc:  # the version may lack an evaluation split
        st.warning(f"No card data for this version: {getattr(exc, 'message', exc)}")
        return
    card_overview(result.card)
