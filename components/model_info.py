"""Streamlit views of a loaded model: what it is and what it takes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from modelcards import LoadedModel


def version_badge(model: LoadedModel) -> None:
    """The exact version shown, and the alias it was reached through."""
    via = f" (via @{model.alias})" if model.alias else ""
    st.caption(f"`{model.uri}`{via} · registered {model.created:%Y-%m-%d %H:%M} UTC")


def model_summary(model: LoadedModel) -> None:
    """Description, task and the input signature of a registered version."""
    st.subheader(f"{model.name} · version {model.version}")
    version_badge(model)
    if model.model_description:
        st.write(model.model_description)
    if model.description:
        st.markdown(f"**This version:** {model.description}")
    cols = st.columns(3)
    cols[0].metric("Task", model.task.replace("_", " "))
    cols[1].metric("Positive class", str(model.positive_label))
    cols[2].metric("Inputs", len(model.inputs))
    st.markdown("**Signature** (the inputs the model takes)")
    st.dataframe(signature_table(model), hide_index=True, width="stretch")


def signature_table(model: LoadedModel) -> pd.DataFrame:
    """One row per input: name, type and the range or levels seen in training."""
    rows = []
    for col in model.inputs:
        seen = ""
        if model.profile is not None:
            try:
                p = model.profile.column(col.name)
            except KeyError:
                p = None
            if p is not None and p.kind == "numeric" and p.min is not None:
                seen = f"{p.min:g} to {p.max:g} (median {p.median:g})"
            elif p is not None and p.levels:
                seen = ", ".join(p.levels)
        rows.append({"input": col.name, "type": col.type, "seen in training": seen})
    return pd.DataFrame(rows)
