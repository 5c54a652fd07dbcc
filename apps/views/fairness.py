"""Fairness audit: the card generator's numbers, recomputed as the choices change."""

from __future__ import annotations

import streamlit as st

from apps import state
from components.model_info import verdict_banner
from components.tables import disparity_frame, group_table
from modelcards import (
    DISPARITIES,
    group_metrics_figure,
    markdown_text,
    metric_label,
    metric_specs,
)


def render() -> None:
    model = state.page("Fairness audit")
    if model is None:
        return
    split = model.evaluation_split()
    candidates = [c for c in split.columns if c not in model.feature_names and c != model.target]
    candidates += [c for c in model.feature_names if c not in candidates]
    default = [c for c in model.sensitive_features if c in split.columns]
    features = st.multiselect(
        "Sensitive features", candidates, default=default, key=state.vkey(model, "audit_features")
    )
    if not features:
        st.info("Choose at least one sensitive feature.")
        return
    intersection = st.checkbox(
        "Include their intersection",
        value=True,
        key="audit_intersection",
        disabled=len(features) < 2,
    )
    task = "regression" if model.task == "regression" else "binary"
    metrics = st.multiselect(
        "Metrics",
        [m.name for m in metric_specs(task=task) if m.name != "count"],
        default=[m.name for m in metric_specs(task=task, key=True)],
        format_func=metric_label,
        key="audit_metrics",
    )
    threshold = None
    if hasattr(model.model, "predict_proba"):
        threshold = st.slider(
            f"Decision threshold on P({model.positive_label})",
            0.0,
            1.0,
            0.5,
            0.01,
            key="audit_threshold",
        )
    # The same pipeline as `modelcards card`, on the version's stored evaluation split.
    result = state.card_for(
        model, features=tuple(features), threshold=threshold, intersection=intersection
    )
    a, policy = result.assessment, result.policy
    # The card's own plain-language summary: the same words as the Model card.
    with st.container(border=True):
        for sentence in result.card.summary:
            st.text(sentence)
    verdict_banner("Policy", policy.verdict, policy.source)
    for c in policy.checks:
        st.text(f"{c.verdict.upper()}: {c.check} — {c.reason}")
    for note in a.notes:
        st.caption(markdown_text(note))
    shown = [m for m in metrics if m in a.metrics] or None
    names: dict[str, tuple[str, ...]] = {m: ("difference", "ratio") for m in (shown or [])}
    names.update({k: () for k in DISPARITIES})
    for fs in a.feature_sets():
        st.subheader("By " + " & ".join(fs))
        if shown:
            st.plotly_chart(group_metrics_figure(a, fs, shown), key=f"chart_{'_'.join(fs)}")
        group_table(a, fs, shown)
        st.dataframe(disparity_frame(a, fs, names), hide_index=True)
