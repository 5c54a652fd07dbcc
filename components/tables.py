"""Tables of an Assessment: per-group values with n and intervals, and disparities."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from modelcards._charts import LABELS
from modelcards._evaluate import group_label
from modelcards._render import _ci


def group_frame(assessment, features, metrics=None) -> pd.DataFrame:
    metrics = metrics or [m for m in assessment.metrics if m != "count"]
    rows = []
    for g in assessment.groups_for(features):
        row = {
            "group": group_label(g.features) + (" (small)" if g.small else ""),
            "n": g.n,
            "positives": g.positives,
            "negatives": g.negatives,
        }
        for m in metrics:
            row[LABELS.get(m, m)] = _ci(g.metrics[m])
        rows.append(row)
    return pd.DataFrame(rows)


def group_table(assessment, features, metrics=None) -> None:
    st.markdown("**By " + " & ".join(features) + "**")
    st.dataframe(group_frame(assessment, features, metrics), hide_index=True)


def disparity_frame(assessment, features, names) -> pd.DataFrame:
    """Disparities of one feature set, for the metric or summary names given."""
    from modelcards._evaluate import DERIVED

    rows = []
    for d in assessment.disparities:
        if d.features != list(features) or d.metric not in names:
            continue
        if d.metric not in DERIVED and d.kind not in names[d.metric]:
            continue
        label = d.metric if d.metric in DERIVED else f"{LABELS.get(d.metric, d.metric)} {d.kind}"
        rows.append(
            {
                "disparity": label,
                "value": "n/a" if d.value is None else f"{d.value:.3f}",
                "95% CI": "n/a" if d.ci_low is None else f"[{d.ci_low:.3f}, {d.ci_high:.3f}]",
                "groups compared": d.groups_compared,
            }
        )
    return pd.DataFrame(rows)
