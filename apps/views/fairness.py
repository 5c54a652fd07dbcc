"""Fairness audit: the card generator's numbers, recomputed as the choices change."""

from __future__ import annotations

from functools import partial

import streamlit as st

from apps import state
from components.model_info import verdict_banner
from components.tables import disparity_frame, group_table
from modelcards import (
    DISPARITIES,
    LoadedModel,
    Task,
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
    chosen_class = _class_picker(model) if model.task == "multiclass_classification" else None
    task: Task = "regression" if model.task == "regression" else "binary"
    if model.task == "multiclass_classification" and chosen_class is None:
        task = "multiclass"
    shown_metrics = [m.name for m in metric_specs(task=task) if m.name != "count"]
    # Keyed by version and view: a regression's metrics are not a classifier's, nor the
    # multiclass averages a class's one-vs-rest rates.
    mkey = state.vkey(model, "audit_metrics" if chosen_class is None else "audit_class_metrics")
    state.sync_param(
        mkey,
        [m.name for m in metric_specs(task=task, key=True)],
        partial(_names, shown_metrics),
        param="metrics" if chosen_class is None else "class_metrics",
    )
    metrics = st.multiselect(
        "Metrics",
        shown_metrics,
        format_func=metric_label,
        key=mkey,
    )
    threshold = None
    # A threshold cuts one probability into two classes: not for a multiclass model.
    if hasattr(model.model, "predict_proba") and model.task != "multiclass_classification":
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
        metrics=",".join(metrics) if chosen_class is None else None,
        class_metrics=",".join(metrics) if chosen_class is not None else None,
        threshold=None if threshold is None else f"{threshold:g}",
        **{"class": chosen_class},
    )
    # The same pipeline as `modelcards card`, on the version's stored evaluation split.
    result = state.card_for(
        model, features=tuple(features), threshold=threshold, intersection=intersection
    )
    a, policy = result.assessment, result.policy
    if chosen_class is not None:  # the class one-vs-rest: the binary view of it
        a = a.class_assessment(chosen_class)
        st.caption(
            markdown_text(
                f"Class “{chosen_class}” against the rest: it is the positive outcome, "
                "every other class the negative."
            )
        )
    # The card's own plain-language summary: the same words as the Model card.
    with st.container(border=True):
        for sentence in result.card.summary:
            st.text(sentence)
    verdict_banner("Policy", policy.verdict, policy.source)
    for c in policy.checks:
        # The rule in words first, then its code as written in the policy file.
        words = outcome_words(result.card, c.class_label)
        for_class = f" [class {c.class_label}]" if c.class_label is not None else ""
        st.text(
            f"{c.verdict.upper()}: {rule_sentence(c, **words)} ({c.check}){for_class} {c.reason}"
        )
    for note in a.notes:
        st.caption(markdown_text(note))
    shown = [m for m in metrics if m in a.metrics] or None
    names: dict[str, tuple[str, ...]] = {m: ("difference", "ratio") for m in (shown or [])}
    if a.task == "binary":
        names.update({k: () for k in DISPARITIES})
    for fs in a.feature_sets():
        st.subheader("By " + " & ".join(fs))
        if shown:
            st.plotly_chart(group_metrics_figure(a, fs, shown), key=f"chart_{'_'.join(fs)}")
        group_table(a, fs, shown)
        st.dataframe(disparity_frame(a, fs, names), hide_index=True)


#: The class picker's choice for the model as a whole (a class can't be named this: it
#: is not a string a target holds by accident, and the URL leaves ``class`` out for it).
ALL_CLASSES = "(all classes)"


def _class_picker(model: LoadedModel) -> str | None:
    """A multiclass model's class to audit one-vs-rest (in the URL as ``class``), or
    None for accuracy and the macro averages over the classes."""
    classes = [str(c) for c in model.classes]
    ckey = state.vkey(model, "audit_class")
    state.sync_param(ckey, ALL_CLASSES, str, [ALL_CLASSES, *classes], param="class")
    chosen = st.selectbox(
        "Class",
        [ALL_CLASSES, *classes],
        key=ckey,
        format_func=lambda c: (
            "All classes: accuracy and macro averages"
            if c == ALL_CLASSES
            else f"{c} against the rest"
        ),
        help="A class against the rest treats it as the positive outcome and every other "
        "class as the negative, with the binary fairness metrics.",
    )
    return None if chosen == ALL_CLASSES else str(chosen)


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
