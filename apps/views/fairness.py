"""Fairness audit: the card generator's numbers, recomputed as the choices change."""

from __future__ import annotations

import streamlit as st

from apps import state
from components.tables import disparity_frame, group_table
from modelcards._charts import KEY_METRICS, LABELS, group_metrics_figure
from modelcards._evaluate import DERIVED, METRICS


@st.cache_resource(show_spinner="Assessing...", max_entries=64)
def _audit(tracking_uri, name, version, features, threshold, intersection):
    from modelcards._generate import generate_card

    model = state.load(f"models:/{name}/{version}")
    return generate_card(
        model=model, sensitive=list(features), threshold=threshold, intersection=intersection
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
        "Sensitive features", candidates, default=default, key="audit_features"
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
    all_metrics = [m for m in METRICS if m != "count"]
    metrics = st.multiselect(
        "Metrics",
        all_metrics,
        default=[m for m in KEY_METRICS],
        format_func=lambda m: LABELS.get(m, m),
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
    result = _audit(
        model.tracking_uri, model.name, model.version, tuple(features), threshold, intersection
    )
    a, policy = result.assessment, result.policy
    verdict = policy.verdict
    show = {"pass": st.success, "fail": st.error, "inconclusive": st.warning}.get(verdict, st.info)
    show(f"Policy: **{verdict.upper()}**" + (f" ({policy.source})" if policy.source else ""))
    for c in policy.checks:
        st.caption(f"{c.verdict.upper()}: `{c.check}` ({c.reason})")
    for note in a.notes:
        st.caption(note)
    shown = [m for m in metrics if m in a.metrics] or None
    names = {m: ("difference", "ratio") for m in (shown or [])}
    names.update({k: () for k in DERIVED})
    for fs in a.feature_sets():
        st.subheader("By " + " & ".join(fs))
        if shown:
            st.plotly_chart(group_metrics_figure(a, fs, shown), key=f"chart_{'_'.join(fs)}")
        group_table(a, fs, shown)
        st.dataframe(disparity_frame(a, fs, names), hide_index=True)
