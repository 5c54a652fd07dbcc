"""Input widgets built from a model's signature and training-data profile."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from modelcards import (
    INTEGER_TYPES,
    NUMERIC_TYPES,
    ColumnProfile,
    InputEntry,
    SignatureColumn,
    input_bounds,
)


def parse_value(
    col: SignatureColumn, profile: ColumnProfile | None, raw: str, entry: InputEntry | None = None
) -> Any:
    """A link's text as the input's type; ValueError when it is not one, is not a finite
    number (or, for a whole number, has a fraction), lies outside the input's allowed
    range or levels, or is absurdly long."""
    if len(raw) > 1000:
        raise ValueError("too long")
    if col.type not in NUMERIC_TYPES:
        if entry is not None and entry.levels and raw not in entry.levels:
            raise ValueError("not an allowed level")
        return str(raw)
    value = float(raw)
    b = input_bounds(col, profile, entry)
    if not math.isfinite(value) or (
        b.low is not None and b.high is not None and not b.low <= value <= b.high
    ):
        raise ValueError("out of range")
    if col.type in INTEGER_TYPES and not value.is_integer():
        raise ValueError("not a whole number")  # cut silently, the answer would differ
    return int(value) if col.type in INTEGER_TYPES else value


def input_help(entry: InputEntry | None, seen: str | None) -> str | None:
    """An input's help text: its description and unit, then what training saw."""
    parts = []
    if entry is not None and entry.description:
        parts.append(entry.description + (f" ({entry.unit})" if entry.unit else ""))
    if entry is not None and entry.range is not None:
        parts.append(f"Allowed: {entry.range[0]:g} to {entry.range[1]:g}")
    if seen:
        parts.append(seen)
    return "\n\n".join(parts) or None


def input_widget(
    col: SignatureColumn,
    profile: ColumnProfile | None,
    *,
    key: str,
    current: Any = None,
    entry: InputEntry | None = None,
) -> Any:
    """One input. Numbers follow the demos' one bounds rule (``input_bounds``, with the
    data dictionary's allowed range), widened to hold ``current`` (the value the app
    holds, e.g. from a link); categories offer the allowed levels, else the levels seen
    in training, plus ``current`` if it was never seen."""
    label = col.name + (f" ({entry.unit})" if entry is not None and entry.unit else "")
    if col.type in NUMERIC_TYPES:
        b = input_bounds(col, profile, entry)
        lo, hi = b.low, b.high
        if current is not None and lo is not None and hi is not None and not lo <= current <= hi:
            lo, hi = min(lo, current), max(hi, current)
        seen = None
        if b.seen_low is not None and b.seen_high is not None:
            seen = f"Seen in training: {b.seen_low:g} to {b.seen_high:g}"
        return st.number_input(
            label,
            min_value=lo,
            max_value=hi,
            step=1 if b.integer else None,
            key=key,
            help=input_help(entry, seen),
        )
    known = list(profile.levels) if profile is not None and profile.levels else []
    if entry is not None and entry.levels:
        known = list(entry.levels)
    levels = [*known, current] if current is not None and current not in known else known
    if not levels:
        return st.text_input(label, key=key, help=input_help(entry, None))
    return st.selectbox(
        label,
        levels,
        key=key,
        format_func=lambda v: v if v in known else f"{v} (never seen)",
        help=input_help(entry, None),
    )
