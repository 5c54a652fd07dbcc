"""Model page: pick a registered model and an alias or version, see what it is."""

from __future__ import annotations

import streamlit as st

from apps import state
from components.model_info import model_summary
from modelcards.errors import ModelcardsError


def _choices(models):
    return {m.name: m for m in models}


def render() -> None:
    st.title("Models in the registry")
    try:
        models = state.registry().list_models()
    except ModelcardsError as exc:
        st.error(str(exc))
        return
    if not models:
        st.info("No models are registered yet. Run `modelcards examples` to add the examples.")
        return
    by_name = _choices(models)
    names = list(by_name)
    qp = st.query_params
    default_name = qp.get("model") if qp.get("model") in by_name else names[0]
    name = st.selectbox("Model", names, index=names.index(default_name), key="model_name")
    chosen = by_name[name]
    options = [f"@{a}" for a in sorted(chosen.aliases)] + [
        f"version {v.version}" for v in chosen.versions
    ]
    wanted = qp.get("ref")
    index = options.index(wanted) if wanted in options else 0
    pick = st.selectbox("Alias or version", options, index=index, key="model_ref")
    qp["model"], qp["ref"] = name, pick
    ref = f"models:/{name}{pick}" if pick.startswith("@") else f"models:/{name}/{pick.split()[-1]}"
    try:
        loaded = state.load(ref)
    except ModelcardsError as exc:
        st.error(str(exc))
        return
    model_summary(loaded)
