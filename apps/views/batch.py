"""Batch: score an uploaded CSV, list its bad rows, download the predictions."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from apps import state
from components.tables import group_table
from modelcards import (
    MAX_UPLOAD_MB,
    LoadedModel,
    assess,
    assess_multiclass,
    assess_regression,
    csv_safe,
    group_metrics_figure,
    read_csv_bytes,
    score_batch,
)
from modelcards.errors import DataError


class MetricRows(NamedTuple):
    """The scored rows the per-group metrics can use, and what was left out."""

    rows: pd.DataFrame
    note: str | None  # which rows were left out and why, in words; None when none was


def metric_rows(model: LoadedModel, scored: pd.DataFrame) -> MetricRows:
    """Keep the rows whose target the metrics can read: one of a classifier's classes
    (as the file writes them), or a regression's number. A file's own target column
    may say 0/1 where the model says No/Yes, or be empty in places: said in the file's
    words and row numbers, not as a card's error about "the target".

    Args:
        model: The loaded version (its target and classes).
        scored: ``score_batch``'s scored rows, with their ``row`` numbers.
    """
    target = scored[model.target]
    if model.task == "regression":
        bad = pd.to_numeric(target, errors="coerce").isna().to_numpy()
        wanted = "a number"
    else:
        classes = [str(c) for c in model.classes]
        bad = (target.isna() | ~target.astype(str).isin(classes)).to_numpy()
        wanted = "one of the model's classes (" + ", ".join(classes) + ")"
    if not bad.any():
        return MetricRows(scored, None)
    left = scored[bad]
    examples = [
        f"row {r}: " + ("empty" if pd.isna(v) else repr(state.shorten(v)))
        for r, v in zip(left["row"][:3], left[model.target][:3], strict=True)
    ]
    more = f" and {len(left) - 3:,} more" if len(left) > 3 else ""
    return MetricRows(
        scored[~bad],
        f"{len(left):,} row(s) left out of the per-group metrics: their {model.target} is "
        f"not {wanted} ({'; '.join(examples)}{more}).",
    )


class Grouping(NamedTuple):
    """The sensitive columns that form groups in a batch, and what was left out."""

    columns: list[str]
    note: str | None  # the columns with one value for every row, in words


def grouping_columns(scored: pd.DataFrame, sensitive: list[str]) -> Grouping:
    """The sensitive columns that split the rows into two groups or more (an empty
    value is a group of its own). A batch is often one group (all women, one site): its
    column is left out with a note, not the per-group metrics with an error.

    Args:
        scored: The rows the metrics use.
        sensitive: The model's sensitive columns present in the file.
    """
    kept = [c for c in sensitive if scored[c].nunique(dropna=False) >= 2]
    single = {c: scored[c].iloc[0] for c in sensitive if c not in kept}
    if not single:
        return Grouping(kept, None)
    said = "; ".join(
        f"{c}: " + ("empty" if pd.isna(v) else repr(state.shorten(v))) for c, v in single.items()
    )
    return Grouping(kept, f"Every row has the same {', '.join(single)} ({said}): no groups there.")


def read_upload(upload: UploadedFile) -> pd.DataFrame:
    name = upload.name
    if not name.lower().endswith(".csv"):
        raise DataError(f"{name} is not a CSV file.", hint="Upload a .csv file.")
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise DataError(
            f"{name} is {upload.size / 1e6:.1f} MB; the demo takes up to {MAX_UPLOAD_MB} MB.",
            hint="Split the file, or use `modelcards card --data FILE`.",
        )
    return read_csv_bytes(upload.getvalue(), name=name)


def render() -> None:
    model = state.page("Batch")
    if model is None:
        return
    st.caption(
        "Columns the model needs: "
        + ", ".join(model.feature_names)
        + (
            f". Add `{model.target}` and sensitive columns "
            f"({', '.join(model.sensitive_features)}) to see per-group metrics."
            if model.target
            else "."
        )
    )
    # The server refuses bigger files before reading them (`modelcards demo` sets
    # server.maxUploadSize); the widget says so before sending.
    upload = st.file_uploader(
        "CSV file", type=["csv"], key="batch_file", max_upload_size=MAX_UPLOAD_MB
    )
    if upload is None:
        return
    frame = read_upload(upload)
    result = score_batch(model, frame)
    bad = result.problems["row"].nunique() if len(result.problems) else 0
    if bad:
        others = "the others were." if len(result.scored) else "none could be."
        st.error(f"{bad} row(s) could not be scored; {others}")
        st.caption("Rows are numbered from the first data row under the header.")
        st.dataframe(result.problems, hide_index=True, key="batch_problems")
    if not len(result.scored):
        return
    st.success(f"Scored {len(result.scored):,} of {len(frame):,} rows.")
    warned = result.warnings["row"].nunique() if len(result.warnings) else 0
    if warned:
        st.warning(
            f"{warned} scored row(s) have values the model never saw in training (outside "
            "the training range, or a category it does not know): read their answers with "
            "care."
        )
        st.dataframe(result.warnings, hide_index=True, key="batch_warnings")
    for warning in result.model_warnings:  # what the model itself said while scoring
        st.warning(state.plain(warning))
    probabilities = [c for c in result.scored.columns if str(c).startswith("probability_")]
    st.dataframe(
        result.scored.head(1000),
        hide_index=True,
        key="batch_scored",
        # A probability of 1e-257 reads as 0.0000, never as a run of digits.
        column_config={p: st.column_config.NumberColumn(p, format="%.4f") for p in probabilities},
    )
    st.download_button(
        "Download predictions (CSV)",
        csv_safe(result.scored).to_csv(index=False).encode(),
        file_name=f"{model.name}-v{model.version}-predictions.csv",
        mime="text/csv",
        key="batch_download",
    )
    sensitive = [c for c in model.sensitive_features if c in frame.columns]
    if model.target and model.target in result.scored.columns and sensitive and len(result.scored):
        st.subheader("Per-group metrics on this file")
        scored, note = metric_rows(model, result.scored)
        if note:
            st.warning(state.plain(note))
        if not len(scored):
            return
        sensitive, same = grouping_columns(scored, sensitive)
        if same:
            st.info(state.plain(same))
        if not sensitive:
            return
        if model.task == "regression":
            a = assess_regression(
                scored[model.target], scored["prediction"], sensitive_features=scored[sensitive]
            )
        elif model.task == "multiclass_classification":  # accuracy and macro averages
            a = assess_multiclass(
                scored[model.target].astype(str),
                scored["prediction"],
                sensitive_features=scored[sensitive],
                classes=[str(c) for c in model.classes],
            )
        else:
            a = assess(
                scored[model.target].astype(str),
                scored["prediction"],
                sensitive_features=scored[sensitive],
                pos_label=str(model.positive_label),
            )
        for features in a.feature_sets():
            st.markdown("**By " + " & ".join(features) + "**")
            # The same chart as the Fairness audit and the card: the task's key metrics
            # with intervals.
            st.plotly_chart(
                group_metrics_figure(a, features),
                key="batch_chart_" + "_".join(features),
            )
            group_table(a, features)
