"""The printable release summary: one or two A4 pages a stakeholder can file or sign.

It says which model and version this is and which version is in use, what the model is
for and not for, the release gate's verdict in plain words, the largest gaps between
groups, the saved edge cases with the version's answers, and the open stakeholder flags.
The page is HTML from a template (autoescaped, like the card) turned into PDF by
WeasyPrint: a maintained HTML/CSS layout engine that runs in process, needs no browser
and no network, and lays out A4 pages with running footers from CSS ``@page`` rules.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._card import ModelCard
from ._evaluate import Disparity
from ._plain import gaps_among

#: The alias that marks the version in use, unless ``MODELCARDS_DEFAULT_ALIAS`` names another.
DEFAULT_RELEASE_ALIAS = "champion"
#: The file name of the summary beside the card files.
SUMMARY_FILE = "model_card_summary.pdf"
#: How many characters of a comment or an input list the summary prints.
_SHORT = 240


def release_alias() -> str:
    """The alias of the version in use: ``MODELCARDS_DEFAULT_ALIAS``, else ``champion``.

    >>> release_alias()
    'champion'
    """
    return (os.environ.get("MODELCARDS_DEFAULT_ALIAS") or DEFAULT_RELEASE_ALIAS).lstrip("@")


@dataclass(frozen=True)
class SummaryCase:
    """One saved edge case as the summary prints it.

    Attributes:
        name: The case's name.
        inputs: The inputs by name.
        expected: The outcome someone expects, if they said.
        answer: The version's answer, or None when the case cannot run on it.
        problem: Why the case cannot run, if it cannot.
        as_expected: True or False when an outcome is expected, else None.
    """

    name: str
    inputs: Mapping[str, Any]
    expected: str | None
    answer: str | None
    problem: str | None = None
    as_expected: bool | None = None


@dataclass(frozen=True)
class SummaryFlag:
    """One open stakeholder flag.

    Attributes:
        version: The version that answered.
        prediction: The answer that was flagged.
        comment: What the stakeholder said is wrong.
        inputs: The inputs by name.
        created: When it was flagged.
    """

    version: int
    prediction: str
    comment: str
    inputs: Mapping[str, Any]
    created: dt.datetime | None = None


@dataclass(frozen=True)
class ReleaseSummary:
    """Everything the printable summary shows.

    Attributes:
        card: The version's model card.
        release_alias: The alias of the version in use (``champion`` by default).
        in_use_version: The version that alias points to, or None when it is unset.
        cases: The saved edge cases with this version's answers.
        flags: The open stakeholder flags on the model.
    """

    card: ModelCard
    release_alias: str = DEFAULT_RELEASE_ALIAS
    in_use_version: int | None = None
    cases: Sequence[SummaryCase] = field(default_factory=tuple)
    flags: Sequence[SummaryFlag] = field(default_factory=tuple)

    @property
    def in_use_sentence(self) -> str:
        """Whether this version is the one in use, in one sentence."""
        d = self.card.model_details
        alias = f"@{self.release_alias}"
        if d.version is None:
            return "This card was made from data, not from a registered version."
        if self.in_use_version is None:
            return f"No version of {d.name} is marked {alias} (in use) yet."
        if self.in_use_version == d.version:
            return f"Version {d.version} is the version in use ({alias})."
        return (
            f"Version {d.version} is a candidate; version {self.in_use_version} is the "
            f"version in use ({alias})."
        )

    @property
    def gaps(self) -> list[Disparity]:
        """The largest gaps between groups in the fairness-critical rates."""
        return gaps_among(self.card.fairness.disparities, count=3)


def short(text: object, limit: int = _SHORT) -> str:
    """Text cut to ``limit`` characters, with an ellipsis when cut.

    Args:
        text: Anything; it is shown as text.
        limit: The most characters kept.

    >>> short("a" * 10, limit=4)
    'aaa…'
    """
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _inputs_text(inputs: Mapping[str, Any]) -> str:
    return short(", ".join(f"{k} = {v}" for k, v in inputs.items()))


def summary_html(summary: ReleaseSummary) -> str:
    """The summary as print-ready HTML (A4, no scripts, no outside resources).

    Args:
        summary: What to show.
    """
    from ._plain import gate_sentence, imbalance_note, outcome_words, rule_sentence
    from ._render import _env

    return (
        _env(True)
        .get_template("summary.html.j2")
        .render(
            s=summary,
            card=summary.card,
            inputs_text=_inputs_text,
            short=short,
            gate_sentence=gate_sentence,
            rule=lambda check: rule_sentence(
                check, **outcome_words(summary.card, check.class_label)
            ),
            imbalance=imbalance_note(summary.card),
        )
    )


def summary_pdf(summary: ReleaseSummary) -> bytes:
    """The summary as a PDF of one or two A4 pages.

    Args:
        summary: What to show.
    """
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores; the template is ours, so stay quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf = HTML(string=summary_html(summary)).write_pdf()
    assert pdf is not None  # write_pdf returns bytes when given no target
    return bytes(pdf)
