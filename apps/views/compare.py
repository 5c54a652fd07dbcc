"""Compare: the candidate (the sidebar's version) against the version in use, on the
same inputs and on the same evaluation rows, group by group."""

from __future__ import annotations

from functools import partial

import streamlit as st

from apps import state
from apps.views.try_it import current_inputs, input_params
from components.comparison import change_frame, side_by_side
from modelcards import (
    KEY_METRICS,
    RATE_METRICS,
    Comparison,
    coerce_row,
    compare_versions,
    comparison_figure,
    metric_label,
    notable,
    predict_row,
    release_alias,
)

#: The same resamples and seed as `modelcards compare`'s defaults: the same intervals.
N_BOOT, SEED = 1000, 0


def render() -> None:
    model = state.page("Compare")
    if model is None:
        return
    if model.task != "binary_classification" or len(model.classes) != 2:
        st.info(
            f"{model.uri} is a {model.task.replace('_', ' ')} model: comparing versions "
            "supports binary classifiers only, for now."
        )
        return
    registered = {m.name: m for m in state.model_list()}.get(model.name)
    if registered is None:
        return
    in_use = release_alias()
    aliases = sorted(registered.aliases, key=lambda a: (a != in_use, a))
    options = [f"@{a}" for a in aliases] + [str(v.version) for v in registered.versions]
    # A (the version in use) is in the URL too; B is the sidebar's version.
    state.sync_param("against", options[0], choices=options)
    for problem in state.link_problems():
        st.warning(problem)
    against = st.selectbox(
        "Compare with (A)",
        options,
        key="against",
        format_func=lambda o: f"{o}, in use" if o == f"@{in_use}" else o,
        help="The version B is measured against; B is the version chosen in the sidebar.",
    )
    base = state.load(
        f"models:/{model.name}{against}" if against.startswith("@")
        else f"models:/{model.name}/{against}"
    )  # fmt: skip
    a_name = f"A: v{base.version}" + (f" @{base.alias}" if base.alias else "")
    b_name = f"B: v{model.version}" + (f" @{model.alias}" if model.alias else "")
    if base.version == model.version:
        st.info(
            f"A and B are the same version (v{model.version}): every change is 0. Choose a "
            "candidate in the sidebar (another alias or version) to compare."
        )
    mkey = state.vkey(model, "compare_metrics")
    metrics_all = [m for m in KEY_METRICS if m in RATE_METRICS]
    state.sync_param(mkey, metrics_all, partial(_names, metrics_all), param="metrics")
    # The inputs this version last had on Try it, as on What if: Try it's widgets are
    # dropped once another page has run, and its copy is what it last showed.
    values = st.session_state.get(state.vkey(model, "inputs")) or current_inputs(model)
    metrics = st.multiselect("Metrics", metrics_all, format_func=metric_label, key=mkey)
    state.write_params(against=against, metrics=",".join(metrics), **input_params(model, values))

    st.subheader("The same inputs, both versions")
    st.caption("The inputs on Try it: " + ", ".join(f"{k} = {v}" for k, v in values.items()))
    answers = [predict_row(m, coerce_row(m, values)) for m in (base, model)]
    side_by_side(a_name, answers[0], b_name, answers[1], str(model.positive_label))

    c = _comparison(model.tracking_uri, model.name, base.version, model.version)
    st.subheader("What changed, group by group")
    worse, better = notable(c, "worse"), notable(c, "better")
    protected = list(c.policy.protects)
    gating = c.worse()
    (st.error if gating else st.success)(
        f"{len(gating)} protected change(s) worse beyond the interval"
        if gating
        else "No group is worse beyond its interval on a protected metric."
    )
    st.caption(
        f"{c.rows:,} rows of {c.data}; {c.confidence:.0%} paired intervals from "
        f"{c.n_boot:,} resamples (seed {c.seed}). Protected by the policy: "
        + (", ".join(metric_label(m) for m in protected) or "none")
        + f". {len(worse)} change(s) worse and {len(better)} better beyond the interval."
    )
    if metrics:
        st.plotly_chart(comparison_figure(c, metrics), key="compare_chart")
    st.dataframe(change_frame(c, metrics or None), hide_index=True)


@st.cache_resource(show_spinner="Comparing the two versions on the evaluation split...",
                   max_entries=16)  # fmt: skip
def _comparison(tracking_uri: str, name: str, version_a: int, version_b: int) -> Comparison:
    # Pinned versions: an alias that moves later gets a comparison of its own.
    a = state.load(f"models:/{name}/{version_a}")
    b = state.load(f"models:/{name}/{version_b}")
    return compare_versions(a, b, n_boot=N_BOOT, seed=SEED)


def _names(allowed: list[str], raw: str) -> list[str]:
    """A comma-separated list from a link; every name must be one of ``allowed``."""
    names = [n for n in raw.split(",") if n]
    if any(n not in allowed for n in names):
        raise ValueError(raw)
    return names
