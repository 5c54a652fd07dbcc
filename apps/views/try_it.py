"""Try it: a form built from the signature; the prediction; a link that reproduces it."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from apps import state
from components.forms import input_widget, parse_value
from components.predictions import flag_form, prediction_view, save_case_form
from modelcards import LoadedModel, column_profile, input_default, input_warnings


def current_inputs(model: LoadedModel) -> dict[str, Any]:
    """This version's inputs as the URL or the last edit left them (defaults from the
    profile). Each version keeps its own: another model's inputs never leak in."""
    values = {}
    for col in model.inputs:
        values[col.name] = state.sync_param(
            state.vkey(model, f"in_{col.name}"),
            input_default(col, column_profile(model, col.name)),
            partial(parse_value, col, column_profile(model, col.name)),
            param=f"in_{col.name}",
        )
    return values


def share_link(params: dict[str, Any]) -> str:
    base = (st.context.url or "").split("?")[0] or "http://localhost:8501/try"
    return f"{base}?{urlencode(params)}"


def input_params(model: LoadedModel, values: dict[str, Any]) -> dict[str, Any]:
    """The URL's input parameters: this version's inputs, and None (removed) for any
    ``in_*`` left by another model."""
    params: dict[str, Any] = {k: None for k in st.query_params if k.startswith("in_")}
    params.update({f"in_{k}": v for k, v in values.items()})
    return params


def render() -> None:
    model = state.page("Try it")
    if model is None:
        return
    current_inputs(model)
    pinned = state.sync_param("v", None, int)
    for problem in state.link_problems():
        st.warning(problem)
    prediction_part(model, pinned)
    values = st.session_state.get(state.vkey(model, "inputs"))
    if values is None:  # the inputs failed; the fragment says why
        return
    svc = state.service()

    left, right = st.columns(2)
    with left:
        saved = save_case_form(model.classes)
        if saved is not None:
            svc.save_edge_case(model, values, app="streamlit", **saved)
            st.success(state.plain(f"Saved the edge case {state.shorten(saved['name'])!r}."))
    with right:
        comment = flag_form(key="flag_try")
        if comment is not None:
            label = svc.predict(model, values).label
            svc.flag(model, values, comment=comment, app="streamlit", prediction=label)
            st.success("Thank you: the prediction is flagged for the team.")


@st.fragment
def prediction_part(model: LoadedModel, pinned: int | None) -> None:
    """The inputs, the prediction and its link. A changed input reruns only this
    fragment (the browser asks for it alone), not the sidebar, title and forms: under
    load that more than halves a rerun's server time."""
    state.guarded(partial(_prediction_part, model, pinned), "try_it_prediction")()


def _prediction_part(model: LoadedModel, pinned: int | None) -> None:
    values = {}
    with st.container(border=True):
        cols = st.columns(3)
        for i, col in enumerate(model.inputs):
            with cols[i % 3]:
                key = state.vkey(model, f"in_{col.name}")
                values[col.name] = input_widget(
                    col,
                    column_profile(model, col.name),
                    key=key,
                    current=st.session_state.get(key),
                )
    st.session_state[state.vkey(model, "inputs")] = dict(values)
    svc = state.service()
    prediction = svc.predict(model, values)
    for warning in input_warnings(model, values):
        st.warning(state.plain(warning))

    if pinned is not None and pinned != model.version:
        old = state.load(f"models:/{model.name}/{pinned}")
        st.info(
            f"This link was made with version {pinned}; "
            + (
                f"@{model.alias} now points to version {model.version}."
                if model.alias
                else f"you are looking at version {model.version}."
            )
            + " Both answers are shown."
        )
        left, right = st.columns(2)
        with left:
            st.markdown(f"**Version {pinned} (in the link)**")
            prediction_view(svc.predict(old, values), old.positive_label)
        with right:
            st.markdown(f"**Version {model.version} (now)**")
            prediction_view(prediction, model.positive_label)
    else:
        prediction_view(prediction, model.positive_label)

    params = {
        "model": model.name,
        "ref": st.session_state.get("ref"),
        "v": pinned if pinned is not None else model.version,
        **input_params(model, values),
    }
    state.write_params(**params)
    st.markdown("**Link to this prediction** (copy it with the button on the right)")
    st.code(share_link({k: v for k, v in params.items() if v is not None}), language=None)
