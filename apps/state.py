"""Caching and shared state for the Streamlit demo. Only apps/ touch the registry."""

from __future__ import annotations

import os

import streamlit as st

from modelcards import LoadedModel, Registry


@st.cache_resource(show_spinner=False)
def _registry(home: str | None, tracking_uri: str | None) -> Registry:
    return Registry()


def registry() -> Registry:
    # Keyed by the settings that choose the store, so changing them picks a new one.
    return _registry(os.environ.get("MODELCARDS_HOME"), os.environ.get("MLFLOW_TRACKING_URI"))


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
