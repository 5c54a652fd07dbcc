"""Gradio input components built from a model's signature and training-data profile."""

from __future__ import annotations

from typing import Any

import gradio as gr

from modelcards import NUMERIC_TYPES, ColumnProfile, SignatureColumn, input_bounds, input_default


def gradio_input(col: SignatureColumn, profile: ColumnProfile | None) -> Any:
    """A slider within the demos' one bounds rule (``input_bounds``), a number, or a
    dropdown of the levels seen in training."""
    value = input_default(col, profile)
    if col.type in NUMERIC_TYPES:
        b = input_bounds(col, profile)
        if b.low is not None and b.high is not None and b.high > b.low:
            seen = f"seen in training: {b.seen_low:g} to {b.seen_high:g}"
            return gr.Slider(
                minimum=b.low,
                maximum=b.high,
                value=value,
                step=1 if b.integer else (b.high - b.low) / 300,
                label=col.name,
                info=seen,
            )
        return gr.Number(value=value, label=col.name, precision=0 if b.integer else None)
    if profile is not None and profile.levels:
        return gr.Dropdown(
            choices=list(profile.levels),
            value=value,
            label=col.name,
            info="levels seen in training",
        )
    return gr.Textbox(value=value, label=col.name)
