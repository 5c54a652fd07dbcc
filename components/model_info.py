"""Streamlit views of a loaded model: what it is and what it takes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from modelcards import (
    LoadedModel,
    ModelCard,
    Task,
    column_profile,
    data_dictionary,
    format_rate,
    imbalance_note,
    markdown_text,
    metric_specs,
    outcome_words,
    rule_sentence,
    type_words,
    verdict_display,
)


def version_badge(model: LoadedModel) -> None:
    """The exact version shown, and the alias it was reached through."""
    via = f" (via @{model.alias})" if model.alias else ""
    st.caption(f"`{model.uri}`{via} · registered {model.created:%Y-%m-%d %H:%M} UTC")


def model_summary(model: LoadedModel) -> None:
    """Description, task and the input signature of a registered version."""
    st.subheader(f"{model.name} · version {model.version}")
    version_badge(model)
    # Descriptions come from the registry: shown as the text they are, never as Markdown.
    if model.model_description:
        st.text(model.model_description)
    if model.description:
        st.markdown(f"**This version:** {markdown_text(model.description)}")
    cols = st.columns(3)
    cols[0].metric(
        "Task",
        model.task.replace("_", " "),
        help={
            "regression": "Regression: the model answers with a number.",
            "multiclass_classification": "Multiclass classification: the model answers one "
            "of several classes.",
        }.get(model.task, "Binary classification: the model answers one of two outcomes."),
    )
    outcome = data_dictionary(model).outcome
    if outcome is not None and outcome.description:
        st.markdown(f"**What it predicts:** {markdown_text(outcome.description)}")
    if model.task == "regression":
        cols[1].metric("Predicts", str(model.target or "a number"))
    elif model.task == "multiclass_classification":
        cols[1].metric(
            "Classes",
            len(model.classes),
            help="Each class is judged against the rest: "
            + ", ".join(str(c) for c in model.classes)
            + ".",
        )
    else:
        cols[1].metric(
            "Positive class",
            str(model.positive_label),
            help="The outcome the fairness rates count: a true positive is someone with this "
            "outcome whom the model predicts to have it.",
        )
    cols[2].metric("Inputs", len(model.inputs))
    st.markdown("**Signature** (the inputs the model takes)")
    st.dataframe(signature_table(model), hide_index=True, width="stretch")


def signature_table(model: LoadedModel) -> pd.DataFrame:
    """One row per input: name, type and the range or levels seen in training."""
    rows = []
    dictionary = data_dictionary(model)
    for col in model.inputs:
        entry = dictionary.entry(col.name)
        seen = ""
        p = column_profile(model, col.name)
        if p is not None and p.kind == "numeric" and p.min is not None:
            seen = f"{p.min:g} to {p.max:g} (median {p.median:g})"
        elif p is not None and p.levels:
            seen = ", ".join(p.levels)
        allowed = ""
        if entry is not None and entry.range is not None:
            allowed = f"{entry.range[0]:g} to {entry.range[1]:g}"
        elif entry is not None and entry.levels:
            allowed = ", ".join(entry.levels)
        rows.append(
            {
                "input": col.name,
                "meaning": entry.description or "" if entry is not None else "",
                "unit": entry.unit or "" if entry is not None else "",
                "type": type_words(col.type),
                "allowed": allowed,
                "seen in training": seen,
            }
        )
    return pd.DataFrame(rows)


def card_overview(card: ModelCard) -> None:
    """Intended use, headline metrics and the fairness verdict from a card."""
    use = card.intended_use
    left, right = st.columns(2)
    with left:
        st.markdown("**Intended use**")
        for item in use.primary_uses or ["Not provided"]:
            st.markdown(f"- {markdown_text(item)}")
        st.markdown("**Out of scope**")
        for item in use.out_of_scope_uses or ["Not provided"]:
            st.markdown(f"- {markdown_text(item)}")
    with right:
        verdict_banner("Fairness policy", card.policy.verdict, card.policy.source)
        overall = card.quantitative_analyses.overall
        tasks: dict[str, Task] = {
            "regression": "regression",
            "multiclass_classification": "multiclass",
        }
        task = tasks.get(card.model_details.task, "binary")
        specs = metric_specs(overview=True, task=task)
        cols = st.columns(len(specs))
        level = f"{card.fairness.confidence:.0%}"
        for col, spec in zip(cols, specs, strict=True):
            metric = spec.name
            e = overall.metrics.get(metric)
            if e is not None and e.value is not None:
                col.metric(
                    spec.label,
                    f"{e.value:.3f}",
                    help=f"{spec.definition} {level} interval {format_rate(e.ci_low)} to "
                    f"{format_rate(e.ci_high)}, n={overall.n:,}.",
                )
        note = imbalance_note(card)
        if note:
            st.info(note)
        for check in card.policy.checks:
            words = outcome_words(card, check.class_label)
            st.caption(
                markdown_text(f"{check.verdict.upper()}: {rule_sentence(check, **words)}")
                + f" `{check.check}` ({markdown_text(check.reason)})"
            )


def verdict_banner(title: str, verdict: str, source: str | None = None) -> None:
    """A policy verdict as a coloured banner (the shared verdict-to-display rule)."""
    shown = verdict_display(verdict)
    where = f" ({markdown_text(source)})" if source else ""
    getattr(st, shown.level)(f"{title}: **{shown.text}**{where}")
