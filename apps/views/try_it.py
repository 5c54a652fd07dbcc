"""Try it: a form built from the signature; the prediction; a link that reproduces it."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from apps import state
from components.forms import input_widget, parse_value
from components.predictions import (
    expected_answer,
    explanation_view,
    flag_form,
    prediction_view,
    save_case_form,
)
from modelcards import (
    LoadedModel,
    column_profile,
    data_dictionary,
    input_default,
    input_warnings,
)
from modelcards.errors import ArtifactError, DataError, UnsupportedTaskError


def current_inputs(model: LoadedModel) -> dict[str, Any]:
    """This version's inputs as the URL or the last edit left them (defaults from the
    profile). Each version keeps its own: another model's inputs never leak in."""
    values = {}
    dictionary = data_dictionary(model)
    for col in model.inputs:
        profile, entry = column_profile(model, col.name), dictionary.entry(col.name)
        values[col.name] = state.sync_param(
            state.vkey(model, f"in_{col.name}"),
            input_default(col, profile),
            partial(parse_value, col, profile, entry=entry),
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
    # A link's pin belongs to the model and alias it was opened with: choosing another
    # alias or model drops it, so later links carry no stale version.
    chosen = (model.name, st.session_state.get("ref"))
    if st.session_state.setdefault("_pin_for", chosen) != chosen:
        pinned = st.session_state["v"] = None
    st.session_state["_pin_for"] = chosen
    for problem in state.link_problems():
        st.warning(problem)
    prediction_part(model, pinned)
    values = st.session_state.get(state.vkey(model, "inputs"))
    if values is None:  # the inputs failed; the fragment says why
        return
    svc = state.service()

    # The forms read the inputs when submitted (the fragment may have changed them), and
    # never clear themselves: a store that is busy must not cost anyone their text.
    def inputs_now() -> dict[str, Any]:
        return dict(st.session_state.get(state.vkey(model, "inputs")) or values)

    def save_case() -> str:
        name = str(st.session_state.get("case_name") or "")
        if not name.strip():
            raise DataError("Give the edge case a name.")
        svc.save_edge_case(
            model,
            inputs_now(),
            app="streamlit",
            name=name,
            expected=st.session_state.get("case_expected"),
            note=st.session_state.get("case_note"),
        )
        return state.plain(f"Saved the edge case {state.shorten(name)!r}.")

    def flag() -> str:
        comment = str(st.session_state.get("flag_try_comment") or "")
        expected = expected_answer(st.session_state.get("flag_try_expected"))
        svc.flag(model, inputs_now(), comment=comment, app="streamlit", expected=expected)
        return "Thank you: the prediction is flagged for the team."

    left, right = st.columns(2)
    with left:
        save_case_form(
            model.classes,
            on_submit=state.on_submit(
                "save_case",
                save_case,
                fields=["case_name", "case_note"],
                kept="Your edge case is kept",
            ),
        )
        state.said("save_case")
    with right:
        flag_form(
            key="flag_try",
            classes=model.classes,
            on_submit=state.on_submit(
                "flag_try", flag, fields=["flag_try_comment"], kept="Your comment is kept"
            ),
        )
        state.said("flag_try")


@st.fragment
def prediction_part(model: LoadedModel, pinned: int | None) -> None:
    """The inputs, the prediction and its link. A changed input reruns only this
    fragment (the browser asks for it alone), not the sidebar, title and forms: under
    load that more than halves a rerun's server time."""
    state.guarded(partial(_prediction_part, model, pinned), "try_it_prediction")()


def _prediction_part(model: LoadedModel, pinned: int | None) -> None:
    dictionary = data_dictionary(model)
    meaning = dictionary.outcome.classes if dictionary.outcome else None
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
                    entry=dictionary.entry(col.name),
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
            prediction_view(svc.predict(old, values), old.positive_label, meaning)
        with right:
            st.markdown(f"**Version {model.version} (now)**")
            prediction_view(prediction, model.positive_label, meaning)
    else:
        prediction_view(prediction, model.positive_label, meaning)
    if prediction.probabilities:
        try:
            explanation_view(state.explanation_for(model, values))
        except UnsupportedTaskError as exc:  # e.g. more classes than two: say so, go on
            st.info(state.plain(exc.message))
        except ArtifactError as exc:  # the baseline needs the evaluation split: go on
            st.info(state.plain(f"No explanation for this version: {exc.message}"))

    params = {
        "model": model.name,
        "ref": st.session_state.get("ref"),
        "v": pinned if pinned is not None else model.version,
        **input_params(model, values),
    }
    state.write_params(**params)
    st.markdown("**Link to this prediction** (copy it with the button on the right)")
    st.code(share_link({k: v for k, v in params.items() if v is not None}), language=None)
