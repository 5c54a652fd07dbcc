"""Fairness audit: the card generator's numbers, recomputed as the choices change."""

from __future__ import annotations

from functools import partial

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
    outcome_words,
    rule_sentence,
)


def render() -> None:
    model = state.page("Fairness audit")
    if model is None:
        return
    split = model.evaluation_split()
    candidates = [c for c in split.columns if c not in model.feature_names and c != model.target]
    candidates += [c for c in model.feature_names if c not in candidates]
    default = [c for c in model.sensitive_features if c in split.columns]
    # Every choice is in the URL, so a link opens the same audit in a fresh browser.
    fkey = state.vkey(model, "audit_features")
    state.sync_param(fkey, default, partial(_names, candidates), param="features")
    features = st.multiselect("Sensitive features", candidates, key=fkey)
    if not features:
        state.write_params(features="")
        st.info("Choose at least one sensitive feature.")
        return
    state.sync_param("audit_intersection", True, _flag, param="intersection")
    intersection = st.checkbox(
        "Include their intersection",
        key="audit_intersection",
        disabled=len(features) < 2,
    )
    task = "regression" if model.task == "regression" else "binary"
    shown_metrics = [m.name for m in metric_specs(task=task) if m.name != "count"]
    # Keyed by version: a regression's metrics are not a classifier's.
    mkey = state.vkey(model, "audit_metrics")
    state.sync_param(
        mkey,
        [m.name for m in metric_specs(task=task, key=True)],
        partial(_names, shown_metrics),
        param="metrics",
    )
    metrics = st.multiselect(
        "Metrics",
        shown_metrics,
        format_func=metric_label,
        key=mkey,
    )
    threshold = None
    if hasattr(model.model, "predict_proba"):
        card_threshold = state.card_for(model).card.metrics.decision_threshold
        used = 0.5 if card_threshold is None else card_threshold
        state.sync_param(state.vkey(model, "audit_threshold"), used, _share, param="threshold")
        threshold = st.slider(
            f"Decision threshold on P({model.positive_label})",
            0.0,
            1.0,
            step=0.01,
            key=state.vkey(model, "audit_threshold"),
            help=f"The model card uses {used:.2f}"
            + (" (the model's own decision)." if card_threshold is None else "."),
        )
        if abs(threshold - used) > 1e-9:
            st.caption(
                f"The model card uses the threshold {used:.2f}; the numbers below use "
                f"{threshold:.2f}."
            )
    for problem in state.link_problems():
        st.warning(problem)
    state.write_params(
        features=",".join(features),
        intersection=int(intersection),
        metrics=",".join(metrics),
        threshold=None if threshold is None else f"{threshold:g}",
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
    words = outcome_words(result.card)
    for c in policy.checks:
        # The rule in words first, then its code as written in the policy file.
        st.text(f"{c.verdict.upper()}: {rule_sentence(c, **words)} ({c.check}) {c.reason}")
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


def _names(allowed: list[str], raw: str) -> list[str]:
    """A comma-separated list from a link; every name must be one of ``allowed``."""
    names = [n for n in raw.split(",") if n]
    if any(n not in allowed for n in names):
        raise ValueError(raw)
    return names


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


def _share(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(raw)
    return round(value, 2)
