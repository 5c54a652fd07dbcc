"""How numbers and text are written, the same in the card templates and both apps."""

from __future__ import annotations

import re
from typing import Protocol

NOT_PROVIDED = "Not provided"


class HasInterval(Protocol):
    """Anything with a value and its interval (an Estimate, a Disparity, a policy item)."""

    @property
    def value(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...


def format_count(x: float | None) -> str:
    """A count or a data value: whole numbers with separators, others to 4 digits.

    Args:
        x: The number; None shows as ``n/a``.

    >>> format_count(1234), format_count(0.123456), format_count(None)
    ('1,234', '0.1235', 'n/a')
    """
    if x is None:
        return "n/a"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.4g}"


def format_value(x: float | None) -> str:
    """A value from the data (a year, an age): as written, no separators.

    Args:
        x: The number; None shows as ``n/a``.

    >>> format_value(2002), format_value(None)
    ('2002', 'n/a')
    """
    return "n/a" if x is None else f"{x:.6g}"


def format_rate(x: float | None) -> str:
    """A rate to three decimals.

    Args:
        x: The rate; None shows as ``n/a``.

    >>> format_rate(0.41234)
    '0.412'
    """
    return "n/a" if x is None else f"{x:.3f}"


def format_estimate(e: HasInterval | None) -> str:
    """A rate with its interval: ``0.412 [0.371, 0.455]``.

    Args:
        e: An Estimate, Disparity or policy item; None, or an undefined value, shows as
            ``n/a``; a value without an interval shows alone.

    >>> from modelcards import Estimate
    >>> format_estimate(Estimate(value=0.41234, ci_low=0.371, ci_high=0.4551))
    '0.412 [0.371, 0.455]'
    """
    if e is None or e.value is None:
        return "n/a"
    if e.ci_low is None or e.ci_high is None:
        return format_rate(e.value)
    return f"{format_rate(e.value)} [{format_rate(e.ci_low)}, {format_rate(e.ci_high)}]"


# Enough to stop emphasis, links, code, headings, tables and raw HTML; '(' and '&' are
# harmless once '[' and '<' are escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def markdown_text(text: object) -> str:
    """Text from inputs, escaped for Markdown: no markup, no HTML, one line.

    Args:
        text: Anything; None shows as ``Not provided``.

    >>> markdown_text("[click](http://x) *now*")
    '\\\\[click\\\\](http://x) \\\\*now\\\\*'
    """
    if text is None:
        return NOT_PROVIDED
    s = _MD_SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m[1], "\\" + m[1]), str(text))
    return " ".join(s.split())


# C0 and C1 controls (escape sequences, bell, carriage return, line breaks) and the
# characters that reorder text on screen (bidirectional overrides and isolates).
_TERMINAL_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def terminal_text(text: object, *, limit: int | None = None) -> str:
    """Stored text (a case's name, a visitor's comment) as inert text for a terminal, on
    one line: every control or direction character is shown as its escape (``\\x1b``,
    ``\\n``), so none can move the cursor, retitle the window or fake a line of its own.

    Args:
        text: Anything, written as ``str(text)``.
        limit: Cut to this many characters, ending with ``...``; None keeps it whole.

    >>> print(terminal_text("ok" + chr(27) + "]0;title" + chr(7) + chr(13) + "fake"))
    ok\\x1b]0;title\\x07\\rfake
    >>> terminal_text("a long name", limit=6)
    'a l...'
    """
    s = _TERMINAL_UNSAFE.sub(lambda m: repr(m[0])[1:-1], str(text))
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 3, 0)] + "..."
    return s


def code_span(text: object, *, table: bool = False) -> str:
    """Text as a Markdown code span: shown literally by CommonMark, so it is never
    HTML-escaped (``>50K`` stays ``>50K``); a fence longer than any run of backticks
    in the text keeps it inside.

    Args:
        text: Anything; written as ``str(text)`` on one line.
        table: Inside a table cell: ``|`` is escaped, as GFM tables need.

    >>> code_span(">50K")
    '`>50K`'
    >>> code_span("a`b")
    '`` a`b ``'
    """
    s = " ".join(str(text).split())
    if table:
        s = s.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or s.startswith(" ") or s.endswith(" ") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def format_change(e: HasInterval | None) -> str:
    """A change with its interval, signed: ``+0.012 [-0.003, +0.027]``.

    Args:
        e: A change (anything with ``value``, ``ci_low``, ``ci_high``); undefined shows
            ``n/a``.

    >>> from modelcards import Estimate
    >>> format_change(Estimate(value=0.0123, ci_low=-0.003, ci_high=0.0271))
    '+0.012 [-0.003, +0.027]'
    """
    if e is None or e.value is None:
        return "n/a"
    if e.ci_low is None or e.ci_high is None:
        return f"{e.value:+.3f}"
    return f"{e.value:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}]"
