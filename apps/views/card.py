"""Model card: the card of the selected version, shown and downloadable."""

from __future__ import annotations

import streamlit as st

from apps import state
from modelcards import render_html, render_json, render_markdown


@st.cache_data(show_spinner="Rendering the card...", max_entries=16)
def _rendered(tracking_uri: str, name: str, version: int, alias: str | None) -> tuple[str, ...]:
    model = state.load(f"models:/{name}/{version}")
    card = state.card_for(model).card.model_copy(deep=True)
    card.model_details.alias = alias
    return render_html(card), render_markdown(card), render_json(card)


def render() -> None:
    model = state.page("Model card")
    if model is None:
        return
    html, md, js = _rendered(model.tracking_uri, model.name, model.version, model.alias)
    stem = f"{model.name}-v{model.version}-model_card"
    cols = st.columns(3)
    cols[0].download_button(
        "Download HTML", html.encode(), f"{stem}.html", "text/html", key="dl_html"
    )
    cols[1].download_button(
        "Download Markdown", md.encode(), f"{stem}.md", "text/markdown", key="dl_md"
    )
    cols[2].download_button(
        "Download JSON", js.encode(), f"{stem}.json", "application/json", key="dl_json"
    )
    # Our own rendering of our own card: every input text in it is escaped.
    st.iframe(html, height=900)
