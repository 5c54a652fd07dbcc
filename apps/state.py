"""Caching and shared state for the Streamlit demo. Only apps/ touch the registry."""

from __future__ import annotations

import streamlit as st

from modelcards import LoadedModel, Registry


@st.cache_resource(show_spinner=False)
def registry() -> Registry:
    return Registry()


@st.cache_resource(show_spinner="Loading the model from the registry...", max_entries=16)
def _load_pinned(tracking_uri: str, name: str, version: int) -> LoadedModel:
    return registry().load(f"models:/{name}/{version}")


def load(ref: str) -> LoadedModel:
    """Resolve the reference now (an alias may have moved), then load by fixed version."""
    reg = registry()
    name, version, alias = reg.resolve(ref)
    model = _load_pinned(reg.tracking_uri, name, version)
    if alias != model.alias:
        import copy

        model = copy.copy(model)
        model.alias = alias
    return model
