"""Warnings a model raises while it predicts, collected per call and said in plain words.

``warnings.catch_warnings`` swaps the warnings module's global state, so in a server
where many sessions predict at once it would catch (or lose) another session's warnings.
Instead, a hook is installed once: ``warnings.showwarning`` routes each warning to the
collector of the context that raised it (a ``ContextVar``: each thread, and each task
Gradio or Streamlit runs, has its own), and to the previous hook when none is collecting.
An ``always`` filter for the routed categories keeps Python from showing a warning only
once per place: the second session to meet it is told too. Where nobody collects, a
warning is still shown once per place, as Python's default does.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

#: What a model's predict raises that a viewer should hear about.
_ROUTED: tuple[type[Warning], ...] = (UserWarning, RuntimeWarning)
_FILTERS = [("always", None, c, None, 0) for c in _ROUTED]
_collector: ContextVar[list[str] | None] = ContextVar("modelcards_model_warnings", default=None)
_lock = threading.Lock()
_previous: Any = None
_shown: set[tuple[str, type[Warning], str, int]] = set()

#: Known warnings, in plain words (the pattern is searched in the warning's text).
_PLAIN = [
    (
        re.compile(r"unknown categor", re.I),
        "The model met a category it never saw in training and scored it as none of the "
        "categories it knows: read this answer with care.",
    ),
    (
        re.compile(r"does not have valid feature names", re.I),
        "The model was given its inputs without their names and matched them by position: "
        "read this answer with care.",
    ),
    (
        re.compile(r"fitted without feature names", re.I),
        "The model was trained without input names and matched the named inputs by "
        "position: read this answer with care.",
    ),
    (
        re.compile(r"overflow|divide by zero|invalid value", re.I),
        "The model's arithmetic went out of range for these inputs (a number too large or "
        "a division by zero): this answer may not mean anything.",
    ),
]


def _route(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sink = _collector.get()
    if sink is not None and issubclass(category, _ROUTED):
        sink.append(str(message))
        return
    if issubclass(category, _ROUTED):
        # Shown every time only because of our "always" filter: once per place, as before.
        key = (str(message), category, filename, lineno)
        if key in _shown:
            return
        if len(_shown) < 10_000:
            _shown.add(key)
    _previous(message, category, filename, lineno, file, line)


def _install() -> None:
    """Put the hook and the filters in place, unless they are (cheap when they are).
    Checked on every collection: a test harness may restore the warnings module."""
    global _previous
    if warnings.showwarning is _route and all(f in warnings.filters for f in _FILTERS):
        return
    with _lock:
        if warnings.showwarning is not _route:
            _previous = warnings.showwarning
            warnings.showwarning = _route
        for category in _ROUTED:
            if ("always", None, category, None, 0) not in warnings.filters:
                warnings.filterwarnings("always", category=category)


@contextmanager
def collect_model_warnings() -> Iterator[list[str]]:
    """Collect the warnings raised in this context (this thread or task only) into the
    list yielded; other sessions' warnings never reach it.

    >>> import warnings
    >>> with collect_model_warnings() as said:
    ...     warnings.warn("X does not have valid feature names")
    >>> said
    ['X does not have valid feature names']
    """
    _install()
    sink: list[str] = []
    token = _collector.set(sink)
    try:
        yield sink
    finally:
        _collector.reset(token)


def plain_model_warnings(messages: list[str]) -> list[str]:
    """The model's warnings as sentences for a viewer, each said once.

    Args:
        messages: Warning texts, as ``collect_model_warnings`` gathered them.

    >>> said = plain_model_warnings(["Found unknown categories in columns [0]."] * 2)
    >>> len(said), said[0][:46]
    (1, 'The model met a category it never saw in train')
    """
    out: list[str] = []
    for text in messages:
        sentence = next((s for p, s in _PLAIN if p.search(text)), None)
        if sentence is None:
            first = text.strip().splitlines()[0] if text.strip() else "a warning"
            sentence = f"The model warned: {first[:200]}"
        if sentence not in out:
            out.append(sentence)
    return out
