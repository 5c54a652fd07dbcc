"""Gradio input components built from a model's signature and training-data profile."""

from __future__ import annotations

from typing import Any

import gradio as gr

from modelcards import (
    NUMERIC_TYPES,
    ColumnProfile,
    InputEntry,
    SignatureColumn,
    input_bounds,
    input_default,
)


def gradio_input(
    col: SignatureColumn, profile: ColumnProfile | None, entry: InputEntry | None = None
) -> Any:
    """A slider within the demos' one bounds rule (``input_bounds``, with the data
    dictionary's allowed range), a number, or a dropdown of the allowed levels (else the
    levels seen in training); the dictionary's description and unit as the info line."""
    value = input_default(col, profile)
    about = entry.description if entry is not None and entry.description else ""
    label = col.name + (f" ({entry.unit})" if entry is not None and entry.unit else "")
    if col.type in NUMERIC_TYPES:
        b = input_bounds(col, profile, entry)
        if b.low is not None and b.high is not None and b.high > b.low:
            seen = (
                f"seen in training: {b.seen_low:g} to {b.seen_high:g}"
                if b.seen_low is not None and b.seen_high is not None
                else ""
            )
            return gr.Slider(
                minimum=b.low,
                maximum=b.high,
                value=value,
                step=1 if b.integer else (b.high - b.low) / 300,
                label=label,
                info=" ".join(p for p in (about, seen) if p) or None,
            )
        return gr.Number(
            value=value, label=label, precision=0 if b.integer else None, info=about or None
        )
    levels = entry.levels if entry is not None and entry.levels else None
    if levels is None and profile is not None and profile.levels:
        levels = list(profile.levels)
    if levels:
        return gr.Dropdown(
            choices=levels,
            value=value,
            label=label,
            info=about or "levels seen in training",
        )
    return gr.Textbox(value=value, label=label, info=about or None)
