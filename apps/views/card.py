"""Model card: the card of the selected version, shown and downloadable.

When a card was published with the version (``modelcards card --publish``), that card is
the one shown, with when it was published; otherwise the card computed here.
"""

from __future__ import annotations

import streamlit as st

from apps import state
from modelcards import (
    LoadedModel,
    ModelCard,
    PublishedCard,
    attach_review,
    render_html,
    render_json,
    render_markdown,
    summary_pdf,
)
from modelcards.errors import StoreBusyError, StoreUnavailableError


# Keyed by the Review section as it stands: a decision or sign-off re-renders the card.
@st.cache_data(show_spinner="Rendering the card...", max_entries=16)
def _rendered(
    tracking_uri: str, name: str, version: int, alias: str | None, review: str, _card: ModelCard
) -> tuple[str, ...]:
    return render_html(_card), render_markdown(_card), render_json(_card)


def _computed(model: LoadedModel) -> tuple[str, ...]:
    """The card computed here, with the review decisions and sign-off as they are now."""
    card = state.card_for(model).card.model_copy(deep=True)
    card.model_details.alias = model.alias
    try:
        attach_review(card, state.review_book())
    except (StoreBusyError, StoreUnavailableError) as exc:  # the card still shows
        st.warning(state.plain(f"The review decisions cannot be read now: {exc.message}"))
    review = card.review.model_dump_json()
    return _rendered(model.tracking_uri, model.name, model.version, model.alias, review, card)


# Re-read every 10 s: a card may be published while the page is open.
@st.cache_data(ttl=10, show_spinner="Reading the published card...", max_entries=16)
def _published(tracking_uri: str, name: str, version: int) -> PublishedCard | None:
    return state.registry().published_card(f"models:/{name}/{version}")


def render() -> None:
    model = state.page("Model card")
    if model is None:
        return
    published = _published(model.tracking_uri, model.name, model.version)
    if published is not None:
        html, md, js = published.html, published.markdown, published.json
        st.info(
            f"The card published to the registry with version {published.version} on "
            f"{published.published:%Y-%m-%d %H:%M} UTC: release gate "
            f"{published.gate.upper()}, sign-off {published.signoff}.",
            icon=":material/verified:",
        )
    else:
        html, md, js = _computed(model)
        st.caption(
            f"Computed here: no card has been published with version {model.version} yet "
            f"(`modelcards card --model {model.uri} --publish` publishes one)."
        )
    stem = f"{model.name}-v{model.version}-model_card"
    cols = st.columns(4)
    cols[0].download_button(
        "Download HTML", html.encode(), f"{stem}.html", "text/html", key="dl_html"
    )
    cols[1].download_button(
        "Download Markdown", md.encode(), f"{stem}.md", "text/markdown", key="dl_md"
    )
    cols[2].download_button(
        "Download JSON", js.encode(), f"{stem}.json", "application/json", key="dl_json"
    )
    cols[3].download_button(
        "Download PDF summary",
        # Made on click: it runs the saved edge cases and reads the flags as they are now.
        lambda: _summary_pdf(model),
        f"{stem}-summary.pdf",
        "application/pdf",
        key="dl_pdf",
        help="One or two printable A4 pages: the version in use, intended use, the "
        "release gate's verdict, the largest gaps, edge cases and open flags.",
    )
    # Our own rendering of our own card: every input text in it is escaped.
    st.iframe(html, height=900)


def _summary_pdf(model: LoadedModel) -> bytes:
    card = state.card_for(model).card.model_copy(deep=True)
    card.model_details.alias = model.alias
    return summary_pdf(state.service().release_summary(model, card))
