"""Tables of an Assessment: per-group values with n and intervals, and disparities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from modelcards import (
    DISPARITIES,
    Assessment,
    Estimate,
    GroupResult,
    format_estimate,
    format_rate,
    group_label,
    metric_label,
    why_undefined,
)


def estimate_text(g: GroupResult, metric: str) -> str:
    """A group's value with its interval; n/a with the reason, or a mark when the value
    rests on too few people."""
    e: Estimate = g.metrics[metric]
    if e.value is None:
        return f"n/a ({why_undefined(metric)})"
    thin = f" (only {e.support})" if metric in g.too_small_for else ""
    return format_estimate(e) + thin


def group_frame(
    assessment: Assessment, features: Sequence[str], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per group: n, positives, negatives (not for a regression) and each metric
    with its interval."""
    metrics = metrics or [m for m in assessment.metrics if m != "count"]
    rows = []
    for g in assessment.groups_for(features):
        row: dict[str, object] = {
            "group": group_label(g.features) + (" (small)" if g.small else ""),
            "n": g.n,
        }
        if g.positives is not None:
            row.update(positives=g.positives, negatives=g.negatives)
        for m in metrics:
            row[metric_label(m)] = estimate_text(g, m)
        rows.append(row)
    return pd.DataFrame(rows)


def group_table(
    assessment: Assessment, features: Sequence[str], metrics: Sequence[str] | None = None
) -> None:
    st.markdown("**By " + " & ".join(features) + "**")
    st.dataframe(group_frame(assessment, features, metrics), hide_index=True)


def disparity_frame(
    assessment: Assessment, features: Sequence[str], names: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Disparities of one feature set: for each metric in ``names``, the kinds it lists
    (``"difference"``, ``"ratio"``); a named summary is listed with no kinds."""
    rows = []
    for d in assessment.disparities:
        if d.features != list(features) or d.metric not in names:
            continue
        if d.metric not in DISPARITIES and d.kind not in names[d.metric]:
            continue
        label = d.metric if d.metric in DISPARITIES else f"{metric_label(d.metric)} {d.kind}"
        rows.append(
            {
                "disparity": label,
                "value": format_rate(d.value),
                "95% CI": "n/a"
                if d.ci_low is None
                else f"[{format_rate(d.ci_low)}, {format_rate(d.ci_high)}]",
                "groups compared": " vs ".join(
                    f"{c.group} ({format_rate(c.value)})" for c in d.compared
                )
                or "fewer than two large enough",
            }
        )
    return pd.DataFrame(rows)
