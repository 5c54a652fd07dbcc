"""Try it: a form built from the signature; the prediction; a link that reproduces it."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

import streamlit as st

from apps import state
from components.forms import default_value, input_widget, parse_value
from components.predictions import flag_form, prediction_view, save_case_form
from modelcards._predict import coerce_row, predict_row


def _profile(model, name):
    if model.profile is None:
        return None
    try:
        return model.profile.column(name)
    except KeyError:
        return None


def current_inputs(model) -> dict:
    """The inputs as the URL or the last edit left them (defaults from the profile)."""
    values = {}
    for col in model.inputs:
        key = f"in_{col.name}"
        values[col.name] = state.sync_param(
            key, default_value(col, _profile(model, col.name)), partial(parse_value, col)
        )
    return values


def share_link(params: dict) -> str:
    base = (st.context.url or "").split("?")[0] or "http://localhost:8501/try"
    return f"{base}?{urlencode(params)}"


def render() -> None:
    model = state.page("Try it")
    if model is None:
        return
    current_inputs(model)
    pinned = state.sync_param("v", None, int)
    for problem in state.link_problems():
        st.warning(problem)
    values = {}
    with st.container(border=True):
        cols = st.columns(3)
        for i, col in enumerate(model.inputs):
            with cols[i % 3]:
                key = f"in_{col.name}"
                values[col.name] = input_widget(
                    col, _profile(model, col.name), key=key, current=st.session_state.get(key)
                )
    st.session_state["_inputs"] = dict(values)
    frame = coerce_row(model, values)
    prediction = predict_row(model, frame)

    if model.profile is not None:
        for warning in model.profile.out_of_range(values):
            st.warning(warning)

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
            prediction_view(predict_row(old, coerce_row(old, values)), old.positive_label)
        with right:
            st.markdown(f"**Version {model.version} (now)**")
            prediction_view(prediction, model.positive_label)
    else:
        prediction_view(prediction, model.positive_label)

    params = {
        "model": model.name,
        "ref": st.session_state.get("ref"),
        "v": pinned if pinned is not None else model.version,
    }
    params.update({f"in_{k}": v for k, v in values.items()})
    state.write_params(**params)
    st.markdown("**Link to this prediction** (copy it with the button on the right)")
    st.code(share_link(params), language=None)

    left, right = st.columns(2)
    with left:
        saved = save_case_form(model.classes)
        if saved is not None:
            state.store().add_edge_case(
                model=model.name, inputs=values, version=model.version, app="streamlit", **saved
            )
            st.success(f"Saved the edge case {saved['name']!r}.")
    with right:
        comment = flag_form(key="flag_try")
        if comment is not None:
            state.store().add_flag(
                model=model.name,
                version=model.version,
                inputs=values,
                prediction=prediction.label,
                comment=comment,
                app="streamlit",
            )
            st.success("Thank you: the prediction is flagged for the team.")
