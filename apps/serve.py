"""The Streamlit server of `modelcards demo`: apps/demo.py behind apps/gate.py's guard.

`streamlit run apps/serve.py` finds ``app`` and serves it; uploads, metrics and
server-wide messages then pass the guard before they reach Streamlit. Before the server
takes its first request it imports every page, loads the registry client and the
release alias's versions and computes their cards (``warm``), so the first visitor of a
new server sees the Model page at once instead of waiting for imports, MLflow, the
model's load and its card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

from apps.gate import StreamlitGate

log = logging.getLogger("modelcards.demo")


def warm() -> list[str]:
    """Get the first page ready before the server answers; returns the references of
    the versions loaded. A registry that cannot be read is left to the pages, which say
    so: warming never stops the server.

    The first visitor of a new server otherwise waits for: every page module's imports
    (Plotly, scikit-learn and the rest, about 0.2 s), Streamlit's one-time check for a
    REPL on its first element (``inspect.stack()`` with every frame's source, about
    0.15 s), the registry's model list, the model's load and the Model page's card
    (apps/state.py ``warm_caches``)."""
    import importlib

    import streamlit.delta_generator

    from apps import demo, gate, state
    from modelcards import release_alias
    from modelcards.errors import ModelcardsError

    for module, *_ in demo.PAGES:
        importlib.import_module(f"apps.views.{module}")
    # Streamlit checks once per process, on the first element drawn, whether it runs in a
    # REPL, to print a "use streamlit run" hint; this server is `streamlit run`.
    if hasattr(streamlit.delta_generator, "_use_warning_has_been_displayed"):
        streamlit.delta_generator._use_warning_has_been_displayed = True
    # The caches are Streamlit's; filled outside a session, each would log "missing
    # ScriptRunContext", which is expected here.
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        refs = state.warm_caches()
        alias = release_alias()
        # The default page is served at "/" only: its own path is "Page not found".
        default, *others = demo.PAGES
        pages = (("", default[1]), *((url, title) for _m, title, url, _i in others))
        gate.FIRST_SIGHT = gate.FirstSight(
            models=tuple(r.removeprefix("models:/").split("@")[0] for r in refs),
            alias=alias,
            pages=pages,
        )
        return refs
    except ModelcardsError as exc:
        log.warning("not preloaded: %s", exc.message)
        return []
    finally:
        quiet.setLevel(level)


def read_theme_once() -> None:
    """Streamlit starts every run's messages, a Try it input's fragment rerun included,
    with the theme, read by scanning all its config options six times: about 5% of a
    rerun's server time under load. A served demo's theme never changes (no file is
    watched), so each theme section is read once and copied from then on."""
    from streamlit import config

    read = config.get_options_for_section
    if getattr(read, "read_once", False):
        return
    kept: dict[str, dict[str, Any]] = {}

    def get_options_for_section(section: str) -> dict[str, Any]:
        if not section.startswith("theme"):
            return read(section)
        if section not in kept:
            kept[section] = read(section)
        return dict(kept[section])

    get_options_for_section.read_once = True  # type: ignore[attr-defined]
    config.get_options_for_section = get_options_for_section


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    start = time.perf_counter()
    read_theme_once()
    loaded = await asyncio.to_thread(warm)
    log.warning(
        "preloaded %s with their cards in %.1f s",
        ", ".join(loaded) or "nothing",
        time.perf_counter() - start,
    )
    yield


app = st.App("demo.py", middleware=[Middleware(StreamlitGate)], lifespan=lifespan)
