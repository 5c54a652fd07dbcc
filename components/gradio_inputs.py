"""Gradio input components built from a model's signature and training-data profile."""

from __future__ import annotations

import gradio as gr

from components.forms import default_value
from modelcards._predict import INTEGER_TYPES, NUMERIC_TYPES


def gradio_input(col, profile):
    """A slider bounded by the training range, a number, or a dropdown of seen levels."""
    value = default_value(col, profile)
    if col.type in NUMERIC_TYPES:
        integer = col.type in INTEGER_TYPES
        if profile is not None and profile.min is not None and profile.max > profile.min:
            return gr.Slider(
                minimum=profile.min,
                maximum=profile.max,
                value=value,
                step=1 if integer else (profile.max - profile.min) / 100,
                label=col.name,
                info=f"seen in training: {profile.min:g} to {profile.max:g}",
            )
        return gr.Number(value=value, label=col.name, precision=0 if integer else None)
    if profile is not None and profile.levels:
        return gr.Dropdown(
            choices=list(profile.levels),
            value=value,
            label=col.name,
            info="levels seen in training",
        )
    return gr.Textbox(value=value, label=col.name)
