"""What if: how the predicted probability moves as one input sweeps its range."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps import state
from apps.views.try_it import current_inputs
from modelcards._charts import sweep_figure
from modelcards._predict import coerce_row, predict_row, smallest_flip, sweep, sweep_values


def render() -> None:
    model = state.page("What if")
    if model is None:
        return
    if model.profile is None:
        st.info("This version has no training-data profile, so there is no range to sweep.")
        return
    values = st.session_state.get("_inputs") or current_inputs(model)
    frame = coerce_row(model, values)
    base = predict_row(model, frame)
    st.caption(
        "Starting from the inputs on Try it: "
        + ", ".join(f"{k} = {v}" for k, v in values.items())
        + f" → **{base.label}**"
    )
    names = model.feature_names
    feature = st.selectbox("Feature to sweep", names, key="whatif_feature")
    curve = sweep(model, frame, feature, sweep_values(model.profile.column(feature)))
    st.plotly_chart(sweep_figure(curve, feature, values[feature], str(model.positive_label)))

    st.subheader("Smallest change that flips the decision")
    rows = []
    for name in names:
        col = model.profile.column(name)
        c = curve if name == feature else sweep(model, frame, name, sweep_values(col))
        flip = smallest_flip(model, frame, name, c)
        rows.append(
            {
                "feature": name,
                "now": values[name],
                "flips at": "no value in the training range flips it" if flip is None else flip,
                "change": ""
                if flip is None or col.kind != "numeric"
                else f"{float(flip) - float(values[name]):+g}",
            }
        )
    st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True)
