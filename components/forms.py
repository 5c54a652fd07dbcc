"""Input widgets built from a model's signature and training-data profile."""

from __future__ import annotations

import streamlit as st

from modelcards import ColumnProfile, SignatureColumn
from modelcards._predict import INTEGER_TYPES, NUMERIC_TYPES


def default_value(col: SignatureColumn, profile: ColumnProfile | None):
    """The form's starting value: the training median, or the most frequent level."""
    if profile is not None and profile.default() is not None:
        value = profile.default()
        if col.type in INTEGER_TYPES:
            return int(round(value))
        if col.type in NUMERIC_TYPES:
            return float(value)
        return str(value)
    return 0 if col.type in NUMERIC_TYPES else ""


def parse_value(col: SignatureColumn, raw: str):
    if col.type in INTEGER_TYPES:
        return int(float(raw))
    if col.type in NUMERIC_TYPES:
        return float(raw)
    return str(raw)


def input_widget(col: SignatureColumn, profile: ColumnProfile | None, *, key: str, current=None):
    """One input. Numbers are bounded to the training range widened by its span, so a
    value just outside training can be tried (and is warned about); categories offer the
    levels seen in training, plus ``current`` (the value the app holds) if it was never
    seen."""
    label = col.name
    if col.type in NUMERIC_TYPES:
        integer = col.type in INTEGER_TYPES
        help_text = None
        lo = hi = None
        if profile is not None and profile.min is not None:
            span = max(profile.max - profile.min, 1.0)
            lo, hi = profile.min - span, profile.max + span
            help_text = f"Seen in training: {profile.min:g} to {profile.max:g}"
            if integer:
                lo, hi = int(lo), int(hi)
        if current is not None and lo is not None and not lo <= current <= hi:
            lo, hi = min(lo, current), max(hi, current)
        return st.number_input(
            label,
            min_value=lo,
            max_value=hi,
            step=1 if integer else None,
            key=key,
            help=help_text,
        )
    levels = list(profile.levels) if profile is not None and profile.levels else []
    if current is not None and current not in levels:
        levels.append(current)
    if not levels:
        return st.text_input(label, key=key)
    return st.selectbox(
        label,
        levels,
        key=key,
        format_func=lambda v: v if v in (profile.levels or {}) else f"{v} (never seen)",
    )
