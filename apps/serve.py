"""The Streamlit server of `modelcards demo`: apps/demo.py behind apps/gate.py's guard.

`streamlit run apps/serve.py` finds ``app`` and serves it; uploads, metrics and
server-wide messages then pass the guard before they reach Streamlit. Before the server
takes its first request it loads the registry client and the release alias's versions
(``warm``), so the first visitor of a new server sees the model at once instead of
waiting for MLflow's import and the model's load.
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
    """Import the registry client and load every model's release-alias version into the
    library's model cache; returns what was loaded. A registry that cannot be read is
    left to the pages, which say so: warming never stops the server."""
    from modelcards import Registry, release_alias
    from modelcards.errors import ModelcardsError

    loaded = []
    try:
        registry = Registry()
        alias = release_alias()
        for m in registry.list_models():
            if alias in m.aliases:
                registry.load(f"models:/{m.name}@{alias}")
                loaded.append(f"models:/{m.name}@{alias}")
    except ModelcardsError as exc:
        log.warning("not preloaded: %s", exc.message)
    return loaded


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    start = time.perf_counter()
    loaded = await asyncio.to_thread(warm)
    log.warning(
        "preloaded %s in %.1f s", ", ".join(loaded) or "nothing", time.perf_counter() - start
    )
    yield


app = st.App("demo.py", middleware=[Middleware(StreamlitGate)], lifespan=lifespan)
