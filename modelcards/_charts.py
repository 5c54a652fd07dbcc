"""Pure chart functions: a result in, a Plotly figure out.

The same figures serve the Streamlit app and the HTML card. ``result`` is anything with
``groups`` (a list of GroupResult), such as an Assessment or a card's fairness section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import pandas as pd
import plotly.graph_objects as go

from ._evaluate import GroupResult, group_label
from ._explain import Explanation
from ._metrics import METRICS, metric_label, metric_specs

if TYPE_CHECKING:  # pragma: no cover
    from ._compare import Change

#: Charted by default: the fairness-critical metrics of the vocabulary.
KEY_METRICS = [m.name for m in metric_specs(key=True)]
# Colour-blind-safe palette (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]


class HasGroups(Protocol):
    """What the group charts read: an Assessment, or a card's fairness section."""

    @property
    def groups(self) -> Sequence[GroupResult]: ...


class FigureSpec(TypedDict):
    """A Plotly figure as plain JSON: its traces and its layout."""

    data: list[dict[str, Any]]
    layout: dict[str, Any]


def _short(features: dict[str, str], multi: bool) -> str:
    return _text(group_label(features) if multi else next(iter(features.values())))


def _text(s: str) -> str:
    """Plotly reads a little HTML in labels (<b>, <a href>): group names from data must
    show as the text they are, never as markup."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: Height of one bar slot, in pixels: with the gaps, every bar is over 20 px tall, and
#: labels and error bars stay readable at any group count.
BAR_PX = 28


def group_metrics_spec(
    result: HasGroups, features: Sequence[str], metrics: Sequence[str] | None = None
) -> FigureSpec:
    """The figure of ``group_metrics_figure`` as a plain Plotly JSON dict.

    The HTML card embeds this directly: building a validated ``go.Figure`` costs more
    than the rest of the card's rendering.

    Args:
        result: Anything with ``groups``: an Assessment or a card's fairness section.
        features: The feature set to draw.
        metrics: The metrics to draw (default: the fairness-critical rates, and ROC AUC
            in a panel of its own when present).
    """
    groups = [g for g in result.groups if list(g.features) == list(features)]
    available = set(groups[0].metrics) if groups else set()
    if metrics is None:
        metrics = [m for m in (*KEY_METRICS, "roc_auc_score") if m in available]
    rate_metrics = [m for m in metrics if m != "roc_auc_score"]
    auc = "roc_auc_score" in metrics
    multi = len(features) > 1
    y = [_short(g.features, multi) + (" (small)" if g.small else "") for g in groups]
    data = [
        _bars(groups, y, m, i, "x" if m != "roc_auc_score" else "x2") for i, m in enumerate(metrics)
    ]
    per_group = max(len(rate_metrics), 1 if auc else 0)
    rates_end = 0.74 if auc and rate_metrics else 1.0
    layout: dict[str, Any] = {
        "title": {"text": "By " + _text(" & ".join(features))},
        "barmode": "group",
        "bargap": 0.25,
        "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
        "xaxis": {
            "range": [0, 1.02],
            "domain": [0, rates_end],
            "title": {"text": "rate"},
            "gridcolor": "#e5e7eb",
        },
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        "margin": {"l": 10, "r": 20, "t": 90, "b": 50},
        "height": max(280, len(groups) * per_group * BAR_PX + 170),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif"},
    }
    if any(METRICS[m].kind == "error" for m in rate_metrics):
        # Regression errors are in the target's units (and can be negative): no 0-1 axis.
        layout["xaxis"].pop("range")
        layout["xaxis"]["title"] = {"text": "in the target's units"}
    if auc:
        layout["xaxis2"] = {
            "range": [0, 1.02],
            "domain": [rates_end + 0.06 if rate_metrics else 0, 1],
            "title": {"text": "ROC AUC"},
            "gridcolor": "#e5e7eb",
        }
    return {"data": data, "layout": layout}


def _bars(
    groups: list[GroupResult], y: list[str], metric: str, i: int, axis: str
) -> dict[str, Any]:
    """One metric's horizontal bars with their intervals, over the groups."""
    est = [g.metrics[metric] for g in groups]
    label = metric_label(metric)
    return {
        "type": "bar",
        "orientation": "h",
        "name": label,
        "y": y,
        "x": [e.value for e in est],
        "xaxis": axis,
        "marker": {
            "color": PALETTE[i % len(PALETTE)],
            "pattern": {
                "shape": ["/" if g.small or metric in g.too_small_for else "" for g in groups]
            },
        },
        "error_x": {
            "type": "data",
            "array": [_gap(e.ci_high, e.value) for e in est],
            "arrayminus": [_gap(e.value, e.ci_low) for e in est],
            "visible": True,
        },
        "customdata": [
            [g.n, _fmt(e.ci_low), _fmt(e.ci_high), _fmt(e.value)]
            for g, e in zip(groups, est, strict=True)
        ],
        "hovertemplate": "%{y}<br>" + label + ": %{customdata[3]}"
        "<br>interval %{customdata[1]} to %{customdata[2]}<br>n=%{customdata[0]}<extra></extra>",
    }


def group_metrics_figure(
    result: HasGroups, features: Sequence[str], metrics: Sequence[str] | None = None
) -> go.Figure:
    """Horizontal grouped bars: one bar per group and metric, with interval error bars;
    ROC AUC in a panel of its own. At least ``BAR_PX`` pixels per bar, and group labels
    on their own axis, so none overlap or clip at any number of groups.

    Groups under the minimum size are marked "(small)" and drawn hatched, as is a metric
    resting on too few people.

    Args:
        result: Anything with ``groups``: an Assessment or a card's fairness section.
        features: The feature set to draw, e.g. ``["sex"]``.
        metrics: The metrics to draw (default: the fairness-critical ones present).
    """
    return go.Figure(group_metrics_spec(result, features, metrics))


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(a - b, 0.0)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _value_sweep(
    curve: pd.DataFrame,
    x: list[Any],
    trace: Any,
    feature: str,
    current: object,
    numeric: bool,
    target: str,
) -> go.Figure:
    """``sweep_figure`` for a regression: the predicted value as the feature sweeps."""
    y = [float(v) for v in curve["prediction"]]
    fig = go.Figure(trace(x=x, y=y, name=f"predicted {_text(target)}"))
    if current is not None:
        cur_x = current if numeric else _text(str(current))
        hit = [p for v, p in zip(x, y, strict=True) if v == cur_x]
        if hit:
            fig.add_trace(
                go.Scatter(
                    x=[cur_x],
                    y=hit[:1],
                    mode="markers",
                    marker={"size": 14, "color": PALETTE[3], "symbol": "diamond"},
                    name="current input",
                )
            )
    fig.update_layout(
        xaxis={"title": {"text": _text(feature)}},
        yaxis={"title": {"text": f"predicted {_text(target)}"}},
        height=380,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        template="plotly_white",
    )
    return fig


def probability_spec(probabilities: dict[str, float], positive: str) -> FigureSpec:
    """The figure of ``probability_figure`` as a plain Plotly JSON dict.

    The Try it page draws this on every rerun: ``st.plotly_chart`` validates a dict once,
    and with no named template (the Streamlit theme styles the chart) that costs a few
    milliseconds instead of the 50 to 80 that copying ``plotly_white`` into it took.

    Args:
        probabilities: Probability by class label.
        positive: The positive class's label.
    """
    classes = list(probabilities)
    bar = {
        "type": "bar",
        "x": [probabilities[c] for c in classes],
        "y": [_text(c) for c in classes],
        "orientation": "h",
        "marker": {"color": [PALETTE[0] if c == positive else "#999999" for c in classes]},
        "text": [f"{probabilities[c]:.1%}" for c in classes],
        "textposition": "auto",
    }
    layout = {
        "xaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "probability"}},
        "height": 60 * len(classes) + 80,
        "margin": {"l": 80, "r": 20, "t": 20, "b": 40},
    }
    return {"data": [bar], "layout": layout}


def probability_figure(probabilities: dict[str, float], positive: str) -> go.Figure:
    """Class probabilities of one prediction, the positive class highlighted.

    Args:
        probabilities: Probability by class label.
        positive: The positive class's label.
    """
    return go.Figure(probability_spec(probabilities, positive))


def sweep_figure(
    curve: pd.DataFrame,
    feature: str,
    current: object,
    positive: str,
    threshold: float | None = 0.5,
    *,
    by_class: bool = False,
) -> go.Figure:
    """Predicted probability as one feature sweeps its range, the current input marked.

    Args:
        curve: ``sweep``'s result (value, probability, label).
        feature: The swept input's name.
        current: Its current value, marked on the curve when the curve has it (None:
            no marker).
        positive: The positive class's label (for a regression's curve, which has a
            ``prediction`` column, the target's name).
        threshold: The decision threshold, drawn as a line (default 0.5); None draws
            none (a multiclass model's decision is the likeliest class, at no fixed
            probability). A regression's curve never has one.
        by_class: The curve is the predicted class's probability (a multiclass model):
            one trace per class, over the values where it is the one predicted, so a
            flip to another class shows as a new colour, not as the same curve rising.
    """
    numeric = all(isinstance(v, int | float) for v in curve["value"])
    x = list(curve["value"]) if numeric else [_text(str(v)) for v in curve["value"]]
    trace = go.Scatter if numeric else go.Bar
    if "prediction" in curve:  # a regression: the predicted number, no threshold
        return _value_sweep(curve, x, trace, feature, current, numeric, positive)
    if by_class:
        fig = go.Figure()
        for i, c in enumerate(dict.fromkeys(curve["label"])):
            mine = curve["label"] == c
            fig.add_trace(
                trace(
                    x=x,
                    y=[p if m else None for p, m in zip(curve["probability"], mine, strict=True)],
                    name=f"{_text(str(c))} predicted",
                    marker={"color": PALETTE[i % len(PALETTE)]},
                )
            )
    else:
        fig = go.Figure(trace(x=x, y=list(curve["probability"]), name=f"P({_text(positive)})"))
    cur_x = current if numeric else _text(str(current))
    # The marker sits on the curve's own point for the current value (``sweep_values``
    # includes it), never at a guessed height.
    cur_y = next((p for v, p in zip(x, curve["probability"], strict=True) if v == cur_x), None)
    if current is not None and cur_y is not None:
        fig.add_trace(
            go.Scatter(
                x=[cur_x],
                y=[cur_y],
                mode="markers",
                marker={"size": 14, "color": PALETTE[3], "symbol": "diamond"},
                name="current input",
            )
        )
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dot", annotation_text="decision threshold")
    fig.update_layout(
        xaxis={"title": {"text": _text(feature)}},
        yaxis={"range": [0, 1], "tickformat": ".0%", "title": {"text": f"P({_text(positive)})"}},
        height=380,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        template="plotly_white",
        showlegend=True,
    )
    return fig


def explanation_spec(explanation: Explanation) -> FigureSpec:
    """Why one prediction, as a plain Plotly JSON dict: a horizontal bar per input from
    the baseline, up (blue) or down (vermillion), the largest push on top; lines mark the
    baseline and the answer. At least ``BAR_PX`` pixels per bar, labels on their own axis.

    Try it draws this on every changed input: a dict with no named template costs a few
    milliseconds to show, a ``go.Figure`` with ``plotly_white`` about twenty.

    Args:
        explanation: ``explain``'s result.
    """
    ranked = explanation.ranked()
    what = "probability" if explanation.output == "probability" else "log-odds"
    labels = [_text(_value_label(c.input, c.value)) for c in ranked]
    pushes = [c.contribution for c in ranked]
    bar = {
        "type": "bar",
        "y": labels,
        "x": pushes,
        "base": explanation.baseline,
        "orientation": "h",
        "marker": {"color": [PALETTE[0] if p >= 0 else PALETTE[3] for p in pushes]},
        "text": [f"{p:+.3f}" for p in pushes],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}: %{text}<extra></extra>",
    }

    def line(x: float, dash: str, color: str) -> dict[str, Any]:
        return {
            "type": "line",
            "x0": x,
            "x1": x,
            "xref": "x",
            "y0": 0,
            "y1": 1,
            "yref": "paper",
            "line": {"dash": dash, "color": color},
        }

    def note(x: float, text: str, y: float, anchor: str) -> dict[str, Any]:
        return {
            "x": x,
            "xref": "x",
            "y": y,
            "yref": "paper",
            "yanchor": anchor,
            "text": text,
            "showarrow": False,
        }

    layout = {
        "xaxis": {
            "title": {"text": f"{what} of {_text(explanation.positive_label)}"},
            "gridcolor": "#e5e7eb",
        },
        "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
        "height": max(200, len(ranked) * BAR_PX + 140),
        "bargap": 0.25,
        "margin": {"l": 10, "r": 40, "t": 40, "b": 60},
        "showlegend": False,
        "shapes": [
            line(explanation.baseline, "dot", "#666666"),
            line(explanation.prediction, "solid", "#111111"),
        ],
        "annotations": [
            note(explanation.baseline, f"average {explanation.baseline:.3f}", 1, "bottom"),
            note(explanation.prediction, f"this answer {explanation.prediction:.3f}", 0, "top"),
        ],
    }
    return {"data": [bar], "layout": layout}


def explanation_figure(explanation: Explanation) -> go.Figure:
    """``explanation_spec`` as a Plotly figure, styled ``plotly_white`` for use outside
    Streamlit (whose theme styles the spec).

    Args:
        explanation: ``explain``'s result.
    """
    fig = go.Figure(explanation_spec(explanation))
    fig.update_layout(template="plotly_white")
    return fig


def _value_label(name: str, value: object) -> str:
    return f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"


class HasChanges(Protocol):
    """What the change chart reads: a Comparison (``compare_predictions``)."""

    @property
    def changes(self) -> Sequence[Change]: ...


def comparison_spec(comparison: HasChanges, metrics: Sequence[str] | None = None) -> FigureSpec:
    """Each group's change B - A of the key rates, with paired intervals, as Plotly JSON.

    The Compare page and ``comparison.html`` draw this same figure.

    Args:
        comparison: From ``compare_predictions`` or ``compare_versions``.
        metrics: The metrics to draw (default: the fairness-critical rates).
    """
    present = {c.metric for c in comparison.changes}
    chosen = [m for m in (metrics or KEY_METRICS) if m in present]
    groups: list[dict[str, str]] = []
    for c in comparison.changes:
        if c.features not in groups:
            groups.append(c.features)
    y = [_text(group_label(g)) if g else "overall" for g in groups]
    by = {(group_label(c.features), c.metric): c for c in comparison.changes}
    data: list[dict[str, Any]] = []
    for i, m in enumerate(chosen):
        row = [by[(group_label(g), m)] for g in groups]
        label = metric_label(m)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": label,
                "y": y,
                "x": [c.change.value for c in row],
                "marker": {
                    "color": PALETTE[i % len(PALETTE)],
                    "pattern": {"shape": ["/" if c.small else "" for c in row]},
                },
                "error_x": {
                    "type": "data",
                    "array": [_gap(c.change.ci_high, c.change.value) for c in row],
                    "arrayminus": [_gap(c.change.value, c.change.ci_low) for c in row],
                    "visible": True,
                },
                "customdata": [
                    [c.n, _fmt(c.change.ci_low), _fmt(c.change.ci_high), c.verdict] for c in row
                ],
                "hovertemplate": "%{y}<br>" + label + " change: %{x:.3f}"
                "<br>interval %{customdata[1]} to %{customdata[2]} (%{customdata[3]})"
                "<br>n=%{customdata[0]}<extra></extra>",
            }
        )
    layout: dict[str, Any] = {
        "title": {"text": "Change from A to B, by group"},
        "barmode": "group",
        "bargap": 0.25,
        "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
        "xaxis": {
            "title": {"text": "change (B - A)"},
            "zeroline": True,
            "zerolinecolor": "#1d2330",
            "gridcolor": "#e5e7eb",
        },
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        "margin": {"l": 10, "r": 20, "t": 90, "b": 50},
        "height": max(280, len(groups) * max(len(chosen), 1) * BAR_PX + 170),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif"},
    }
    return {"data": data, "layout": layout}


def comparison_figure(comparison: HasChanges, metrics: Sequence[str] | None = None) -> go.Figure:
    """The change chart of ``comparison_spec`` as a Plotly figure (for the Compare page).

    Args:
        comparison: From ``compare_predictions`` or ``compare_versions``.
        metrics: The metrics to draw (default: the fairness-critical rates).
    """
    return go.Figure(comparison_spec(comparison, metrics))
