"""Render a ModelCard to self-contained HTML, Markdown with YAML front matter, and JSON.

Templates are package files (``modelcards/templates``), rendered with ``StrictUndefined``
so a missing field is an error, never a blank; HTML is autoescaped, Markdown cells are
escaped by the ``md`` filter. The same card always renders to the same bytes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import NotRequired, TypedDict

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ._card import ModelCard
from ._charts import group_metrics_spec
from ._evaluate import Disparity, GroupResult, group_label
from ._format import (
    NOT_PROVIDED,
    code_span,
    format_change,
    format_count,
    format_estimate,
    format_rate,
    format_value,
    markdown_text,
)
from ._metrics import (
    DENOMINATOR_NOUNS,
    DISPARITIES,
    HEADLINE,
    METRICS,
    decision_label,
    metric_label,
    metric_specs,
)
from ._plain import outcome_words, rule_sentence
from ._policy import CheckResult


def _json_script(obj: object) -> Markup:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators survive."""
    from plotly.utils import PlotlyJSONEncoder

    text = json.dumps(obj, cls=PlotlyJSONEncoder, sort_keys=True, separators=(",", ":"))
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return Markup(text)


@functools.cache
def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("modelcards", "templates"),
        autoescape=select_autoescape(["html", "j2"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        code=code_span,
        code_cell=lambda text: code_span(text, table=True),
        num=format_count,
        val=format_value,
        rate=format_rate,
        ci=format_estimate,
        md=markdown_text,
        label=metric_label,
        decision=decision_label,
        group=group_label,
        short=lambda class_name: class_name.rpartition(".")[2],
        change=format_change,
    )
    env.globals.update(
        NOT_PROVIDED=NOT_PROVIDED, why_undefined=why_undefined, disparity_name=disparity_name
    )
    return env


class _FeatureSet(TypedDict):
    """The groups and disparities of one feature set, as the templates read them."""

    features: list[str]
    groups: list[GroupResult]
    headline: list[Disparity]
    per_metric: dict[str, dict[str, Disparity]]  # metric -> kind -> disparity
    chart_id: NotRequired[str]  # HTML only
    figure: NotRequired[Markup]  # HTML only: the chart's Plotly JSON


class _Context(TypedDict):
    card: ModelCard
    sets: list[_FeatureSet]
    metrics: list[str]
    level: str  # the confidence level, "95%"
    critical: list[str]  # the fairness-critical rates: the first table, first in charts
    other: list[str]  # the other metrics: a second table
    rule: Callable[[CheckResult], str]  # a policy check as a sentence
    classes: bool  # a binary target: positives and negatives per group
    class_sections: list[_ClassSection]  # a multiclass model's classes, one-vs-rest


class _ClassSection(TypedDict):
    """One class of a multiclass model, one-vs-rest, as the templates read it."""

    label: str
    overall: GroupResult
    sets: list[_FeatureSet]
    critical: list[str]
    other: list[str]


def disparity_name(d: Disparity) -> str:
    """A disparity's name as a policy writes it: a named summary, or ``METRIC_KIND``.

    Args:
        d: The disparity.
    """
    return d.metric if d.metric in DISPARITIES else f"{d.metric}_{d.kind}"


def why_undefined(metric: str) -> str:
    """Why a metric has no value: its denominator is zero.

    Args:
        metric: The metric's name.

    >>> why_undefined("true_positive_rate")
    'no actual positives'
    """
    spec = METRICS.get(metric)
    if spec is None:
        return "undefined"
    return f"no {DENOMINATOR_NOUNS[spec.denominator]}"


def _feature_sets(
    all_groups: list[GroupResult], disparities: list[Disparity], headline_of: list[str] | None
) -> list[_FeatureSet]:
    """Groups and disparities by feature set; the headline disparities are the named
    summaries, or those of the metrics ``headline_of`` names (a regression's key
    errors, a multiclass model's accuracy and averages)."""
    sets: list[list[str]] = []
    for g in all_groups:
        keys = list(g.features)
        if keys not in sets:
            sets.append(keys)
    by_set: list[_FeatureSet] = []
    for features in sets:
        groups = [g for g in all_groups if list(g.features) == features]
        disp = [d for d in disparities if d.features == features]
        headline = [d for name in HEADLINE for d in disp if d.metric == name]
        if headline_of is not None:
            headline = [d for d in disp if d.metric in headline_of]
        per_metric: dict[str, dict[str, Disparity]] = {}
        for d in disp:
            if d.metric not in DISPARITIES:
                per_metric.setdefault(d.metric, {})[d.kind] = d
        by_set.append(
            {"features": features, "groups": groups, "headline": headline, "per_metric": per_metric}
        )
    return by_set


def _split(reported: list[str]) -> tuple[list[str], list[str]]:
    """The key metrics (first table) and the others (second table)."""
    shown = [m for m in reported if m != "count"]
    critical = [m.name for m in metric_specs(key=True) if m.name in shown]
    return critical, [m for m in shown if m not in critical]


def _context(card: ModelCard) -> _Context:
    f = card.fairness
    task = card.model_details.task
    critical, other = _split(card.metrics.reported)
    if task == "multiclass_classification":  # few metrics: all in the first table
        critical, other = [m for m in card.metrics.reported if m != "count"], []
    headline_of = None if task == "binary_classification" else critical
    by_set = _feature_sets(f.groups, f.disparities, headline_of)
    sections: list[_ClassSection] = []
    for c in f.classes:
        c_critical, c_other = _split(c.metrics)
        sections.append(
            {
                "label": c.label,
                "overall": c.overall,
                "sets": _feature_sets(c.groups, c.disparities, None),
                "critical": c_critical,
                "other": c_other,
            }
        )
    return {
        "card": card,
        "sets": by_set,
        "metrics": card.metrics.reported,
        "level": f"{card.fairness.confidence:.0%}",
        "critical": critical,
        "other": other,
        "rule": lambda check: rule_sentence(check, **outcome_words(card, check.class_label)),
        "classes": task == "binary_classification",
        "class_sections": sections,
    }


# Stands for plotly.js while the template renders. Only the template can write it: input
# text is autoescaped ('<' becomes '&lt;') and JSON in scripts escapes '<' as well.
_PLOTLYJS_SLOT = "<!--plotly.js-->"


def _script_safe(js: str) -> str:
    """Script text that cannot end its <script> element early."""
    return js.replace("</script", "<\\/script")


@functools.lru_cache(maxsize=1)
def plotlyjs_bytes() -> bytes:
    """The plotly.js bundle, safe inside <script>, as UTF-8 (read once per process)."""
    from plotly.offline import get_plotlyjs

    return _script_safe(get_plotlyjs()).encode()


def warm_up() -> None:
    """Compile the card's templates and read plotly.js now, for a caller with a core to
    spare before the card is written (the batched engine, during its pass)."""
    from plotly.utils import PlotlyJSONEncoder  # noqa: F401  (what _json_script imports)

    _env(True).get_template("card.html.j2")
    _env(False).get_template("card.md.j2")
    plotlyjs_bytes()


def render_html_parts(card: ModelCard) -> tuple[str, str]:
    """The HTML before and after the inline plotly.js (``render_html`` joins them).

    Args:
        card: The card.
    """
    ctx = _context(card)
    for i, s in enumerate(ctx["sets"]):
        s["chart_id"] = f"chart-{i}"
        s["figure"] = _json_script(group_metrics_spec(card.fairness, s["features"]))
    text = _env(True).get_template("card.html.j2").render(**ctx, plotlyjs=Markup(_PLOTLYJS_SLOT))
    before, slot, after = text.partition(_PLOTLYJS_SLOT)
    if not slot or _PLOTLYJS_SLOT in after:
        raise RuntimeError("card.html.j2 must hold exactly one plotly.js slot")
    return before, after


def render_html(card: ModelCard, *, plotlyjs: str | None = None) -> str:
    """Self-contained HTML: CSS and plotly.js inline, so it opens with no network.

    Args:
        card: The card.
        plotlyjs: Script text to inline instead of plotly.js (the golden tests use a
            placeholder); None for the real bundle.
    """
    before, after = render_html_parts(card)
    if plotlyjs is None:
        return before + plotlyjs_bytes().decode() + after
    return before + _script_safe(plotlyjs) + after


def render_markdown(card: ModelCard) -> str:
    """Markdown with Hugging Face-style YAML front matter (``model-index`` holds the
    overall metrics).

    Args:
        card: The card.
    """
    overall = card.quantitative_analyses.overall.metrics
    regression = card.model_details.task == "regression"
    kind = "tabular-regression" if regression else "tabular-classification"
    task_name = {
        "regression": "Regression",
        "multiclass_classification": "Multiclass classification",
    }.get(card.model_details.task, "Binary classification")
    front = {
        "license": card.model_details.license or "other",
        "library_name": (card.model_details.framework or "").split(" ")[0] or None,
        "tags": ["model-card", "fairness", kind],
        "model_name": card.model_details.name,
        "model-index": [
            {
                "name": card.model_details.name,
                "results": [
                    {
                        "task": {
                            "type": kind,
                            "name": task_name,
                        },
                        "dataset": {
                            "name": card.evaluation_data.provenance.source,
                            "type": "tabular",
                        },
                        "metrics": [
                            {"type": m, "name": metric_label(m), "value": overall[m].value}
                            for m in card.metrics.reported
                            if m != "count" and overall[m].value is not None
                        ],
                    }
                ],
            }
        ],
    }
    front = {k: v for k, v in front.items() if v is not None}
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    body = _env(False).get_template("card.md.j2").render(**_context(card))
    return f"---\n{header}---\n\n{body}"


def render_json(card: ModelCard) -> str:
    """The card's data as indented JSON, valid against the published schema.

    Args:
        card: The card.
    """
    return card.model_dump_json(indent=2) + "\n"
