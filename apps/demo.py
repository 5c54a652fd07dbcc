"""The stakeholder demo: `streamlit run apps/demo.py` (or `modelcards demo`)."""

from __future__ import annotations

import streamlit as st


def run() -> None:
    """Route to the pages. Kept in a function so tests can import and run it."""
    from apps.pages import home

    st.set_page_config(page_title="modelcards demo", layout="wide")
    nav = st.navigation([st.Page(home.render, title="Model", url_path="model", default=True)])
    nav.run()


if __name__ == "__main__":
    run()
