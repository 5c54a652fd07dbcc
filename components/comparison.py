"""Views of a comparison of two versions: the change table and both answers side by side."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from modelcards import Comparison, Prediction, format_change, format_estimate, metric_label


def change_frame(comparison: Comparison, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per group and metric: n, A and B with intervals, the change with its
    paired interval, and the verdict (small groups marked)."""
    wanted = set(metrics or comparison.metrics)
    rows = []
    for c in comparison.changes:
        if c.metric not in wanted:
            continue
        group = " & ".join(f"{k}={v}" for k, v in c.features.items()) or "overall"
        rows.append(
            {
                "group": group + (" (small)" if c.small else ""),
                "metric": metric_label(c.metric),
                "n": c.n,
                "A": format_estimate(c.a),
                "B": format_estimate(c.b),
                "change B - A": format_change(c.change),
                "verdict": c.verdict,
            }
        )
    return pd.DataFrame(rows, columns=["group", "metric", "n", "A", "B", "change B - A", "verdict"])


def side_by_side(a_name: str, a: Prediction, b_name: str, b: Prediction, positive: str) -> None:
    """Both versions' answers to the same inputs, and how far apart their probabilities are."""
    left, right, gap = st.columns(3)
    for col, name, p in ((left, a_name, a), (right, b_name, b)):
        prob = "" if p.positive_probability is None else f"{p.positive_probability:.1%}"
        col.metric(f"{name}", p.label, help=f"P({positive}) = {prob}" if prob else None)
        if prob:
            col.caption(f"P({positive}) = {prob}")
    if a.positive_probability is not None and b.positive_probability is not None:
        diff = b.positive_probability - a.positive_probability
        gap.metric(f"Difference in P({positive}), B - A", f"{diff * 100:+.1f} points")
    if a.label != b.label:
        st.warning(f"The two versions disagree on these inputs: {a.label} vs {b.label}.")
