"""What if: how the predicted probability (or a regression's number) moves as one input
sweeps its range."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from apps import state
from apps.views.try_it import current_inputs, input_params
from modelcards import coerce_row, flip_table, predict_row, sweep, sweep_figure, sweep_values


def render() -> None:
    model = state.page("What if")
    if model is None:
        return
    if model.profile is None:
        st.info("This version has no training-data profile, so there is no range to sweep.")
        return
    # The inputs this version last had on Try it (or the link's, or the defaults). Widget
    # state is dropped once Try it is not on screen, so Try it keeps a copy per version.
    values = st.session_state.get(state.vkey(model, "inputs")) or current_inputs(model)
    frame = coerce_row(model, values)
    base = predict_row(model, frame)
    st.caption(
        "Starting from the inputs on Try it: "
        + ", ".join(f"{k} = {v}" for k, v in values.items())
        + f" → **{base.label}**"
    )
    names = model.feature_names
    fkey = state.vkey(model, "whatif_feature")
    state.sync_param(fkey, names[0], choices=names, param="sweep")
    for problem in state.link_problems():
        st.warning(problem)
    feature = st.selectbox("Feature to sweep", names, key=fkey)
    # The inputs and the swept feature are in the URL: a link opens this same sweep.
    state.write_params(**input_params(model, values), sweep=feature)
    curve = sweep(
        model, frame, feature, sweep_values(model.profile.column(feature), current=values[feature])
    )
    regression = model.task == "regression"
    what = (model.target or "value") if regression else str(model.positive_label)
    threshold: float | None = 0.5
    if model.task == "multiclass_classification":  # no positive class: the chosen one's
        what, threshold = "the predicted class", None
    st.plotly_chart(
        sweep_figure(
            curve,
            feature,
            values[feature],
            what,
            threshold,
            by_class=model.task == "multiclass_classification",
        )
    )
    if regression:
        st.caption("A regression predicts a number: there is no decision to flip.")
        return

    st.subheader("Smallest change that flips the decision")
    flips = _flips(model.tracking_uri, model.name, model.version, tuple(values.items()))
    st.dataframe(pd.DataFrame(flips).astype(str), hide_index=True)


@st.cache_data(show_spinner="Searching for decision flips...", max_entries=256)
def _flips(
    tracking_uri: str, name: str, version: int, inputs: tuple[tuple[str, Any], ...]
) -> list[dict[str, Any]]:
    # The table depends on the version and the inputs only, not on the swept feature:
    # computed once, not on every rerun.
    model = state.load(f"models:/{name}/{version}")
    return flip_table(model, coerce_row(model, dict(inputs)))
