"""A comparison as self-contained HTML, Markdown and JSON, written atomically.

The same standards as a card: package templates with ``StrictUndefined``, HTML
autoescaped, Markdown cells escaped, plotly.js inline, and the same comparison always
renders to the same bytes.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ._charts import comparison_spec
from ._compare import Change, Comparison, once_per_decision
from ._format import code_span, format_change, format_estimate, markdown_text
from ._metrics import decision_label, metric_label
from ._render import _json_script, _script_safe, plotlyjs_bytes
from .errors import ModelcardsError

COMPARISON_FILES = {
    "html": "comparison.html",
    "markdown": "comparison.md",
    "json": "comparison.json",
}
_SLOT = "<!--plotly.js-->"


def change_sentence(c: Change) -> str:
    """One change in words, an error rate with the rate it mirrors: ``sex=F: false
    negative rate (1 - true positive rate) worse (+0.031 [+0.012, +0.050])``.

    Args:
        c: A change from a comparison.
    """
    who = " & ".join(f"{k}={v}" for k, v in c.features.items()) or "overall"
    return f"{who}: {decision_label(c.metric).lower()} {c.verdict} ({format_change(c.change)})"


def notable(comparison: Comparison, verdict: str) -> list[Change]:
    """The changes with a verdict (``better`` or ``worse``) in groups large enough to
    judge, largest change first; a true positive (negative) rate's change only where its
    false negative (positive) rate's, the same decisions, is not there (``once_per_decision``).

    Args:
        comparison: The comparison.
        verdict: ``"better"`` or ``"worse"``.
    """
    found = [
        c for c in once_per_decision(comparison.changes) if c.verdict == verdict and not c.small
    ]
    return sorted(found, key=lambda c: -abs(c.change.value or 0.0))


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
        ci=format_estimate,
        change=format_change,
        md=markdown_text,
        label=metric_label,
        code=code_span,
        code_cell=lambda text: code_span(text, table=True),
    )
    env.globals.update(sentence=change_sentence)
    return env


def _context(comparison: Comparison) -> dict[str, Any]:
    return {
        "c": comparison,
        "worse": notable(comparison, "worse"),
        "better": notable(comparison, "better"),
        "gating": comparison.worse(),
        "level": f"{comparison.confidence:.0%}",
    }


def render_comparison_html(comparison: Comparison) -> tuple[str, str]:
    """The HTML before and after the inline plotly.js.

    Args:
        comparison: The comparison.
    """
    ctx = _context(comparison)
    ctx["figure"] = _json_script(comparison_spec(comparison))
    text = _env(True).get_template("comparison.html.j2").render(**ctx, plotlyjs=Markup(_SLOT))
    before, slot, after = text.partition(_SLOT)
    if not slot or _SLOT in after:
        raise RuntimeError("comparison.html.j2 must hold exactly one plotly.js slot")
    return before, after


def render_comparison_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown (every cell from data escaped).

    Args:
        comparison: The comparison.
    """
    return _env(False).get_template("comparison.md.j2").render(**_context(comparison))


def render_comparison_json(comparison: Comparison) -> str:
    """The comparison as indented JSON: ``a``, ``b``, ``changes``, ``policy`` and how.

    Args:
        comparison: The comparison.
    """
    return comparison.model_dump_json(indent=2) + "\n"


def write_comparison(
    comparison: Comparison, out_dir: str | Path, *, plotlyjs: str | None = None
) -> dict[str, Path]:
    """Render every format in memory, then move the files into ``out_dir`` together.

    Args:
        comparison: From ``compare_versions`` or ``compare_predictions``.
        out_dir: The folder; created when missing. Its comparison files are replaced.
        plotlyjs: Script text instead of plotly.js (tests); None for the real bundle.

    Returns:
        The written paths by format: ``{"html": ..., "markdown": ..., "json": ...}``.
    """
    before, after = render_comparison_html(comparison)
    js = plotlyjs_bytes() if plotlyjs is None else _script_safe(plotlyjs).encode()
    parts = {
        "html": [before.encode(), js, after.encode()],
        "markdown": [render_comparison_markdown(comparison).encode()],
        "json": [render_comparison_json(comparison).encode()],
    }
    out = Path(out_dir)
    staged: dict[str, Path] = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for kind, chunks in parts.items():
            fd, tmp = tempfile.mkstemp(prefix=".comparison-", dir=out)
            staged[kind] = Path(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.writelines(chunks)
        paths: dict[str, Path] = {}
        for kind, tmp_path in staged.items():
            final = out / COMPARISON_FILES[kind]
            os.replace(tmp_path, final)
            os.chmod(final, 0o644)
            paths[kind] = final
        return paths
    except OSError as exc:
        raise ModelcardsError(
            f"Cannot write the comparison into {out}: {exc.strerror}.",
            hint="Choose another folder with --out, or check its permissions and free space.",
        ) from exc
    finally:
        for tmp_path in staged.values():
            if tmp_path.exists():
                tmp_path.unlink()
