"""Team notifications: one setting, ``MODELCARDS_NOTIFY``, many services.

``MODELCARDS_NOTIFY`` holds one or more `Apprise <https://github.com/caronc/apprise>`_
URLs, separated by spaces or commas: ``slack://...``, ``msteams://...``,
``discord://...``, ``mailtos://...``, ``json://host/path`` (a JSON webhook) and every other
service Apprise knows. Unset, nothing is sent and Apprise is never imported.

The team hears of a card generated (with its verdict), a release gate that did not pass,
a sign-off requested and given, an alias promoted and a new stakeholder flag.

A notification is a side effect: it never fails or delays the command past the services'
own timeouts. A URL Apprise does not understand, or a delivery that fails, is reported
once per process (one line on stderr, and ``notification_problem()`` for a UI), never
raised.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    from ._pipeline import CardResult
    from ._publish import PublishedCard
    from ._registry import LoadedModel

ENV_NOTIFY = "MODELCARDS_NOTIFY"

Event = Literal[
    "card_generated",
    "gate_failed",
    "signoff_requested",
    "signoff_given",
    "alias_promoted",
    "flag_added",
]
#: What became of one notification: sent, not configured, or not (all) delivered.
Delivery = Literal["sent", "off", "failed"]

_LOCK = threading.Lock()
_problem: str | None = None
_SPLIT = re.compile(r"[\s,]+")


def notification_problem() -> str | None:
    """The first notification problem of this process (reported once), or None.

    >>> notification_problem() is None
    True
    """
    return _problem


def _report(message: str) -> None:
    """Say a problem once per process: a failing service is not repeated at every event."""
    global _problem
    with _LOCK:
        if _problem is not None:
            return
        _problem = message
    print(
        f"Note: {message} Later notification problems are not repeated. The command's "
        "result is not affected.",
        file=sys.stderr,
    )


def _shown(url: str) -> str:
    """A URL without its secrets (webhook tokens, passwords): the scheme only."""
    scheme = urlsplit(url).scheme
    return f"{scheme}://..." if scheme else repr(url[:12] + "...")


def notify(event: Event, *, title: str, body: str, failure: bool = False) -> Delivery:
    """Send one notification to every service in ``MODELCARDS_NOTIFY``; never raises.

    Args:
        event: What happened; it leads the title.
        title: One line, e.g. ``"arrests-release v2: release gate FAIL"``.
        body: A few lines of plain text.
        failure: Mark it as a failure (services that show a colour show red).

    Returns:
        ``"off"`` when ``MODELCARDS_NOTIFY`` is unset, ``"sent"`` when every service took
        it, ``"failed"`` otherwise (reported once per process).
    """
    raw = os.environ.get(ENV_NOTIFY, "").strip()
    if not raw:
        return "off"
    try:
        return _send(raw, event, title=title, body=body, failure=failure)
    except Exception as exc:  # a notification is a side effect: nothing of it may escape
        _report(f"a notification ({event}) could not be sent: {type(exc).__name__}: {exc}.")
        return "failed"


def _send(raw: str, event: Event, *, title: str, body: str, failure: bool) -> Delivery:
    import apprise

    app = apprise.Apprise()
    unknown = [url for url in _SPLIT.split(raw) if url and not app.add(url)]
    if unknown:
        _report(
            f"{ENV_NOTIFY} holds {len(unknown)} URL(s) Apprise does not understand "
            f"({', '.join(map(_shown, unknown))}); they get no notifications. See "
            "https://github.com/caronc/apprise/wiki for each service's URL."
        )
    if len(app) == 0:
        return "failed"
    kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.INFO
    # Apprise says why a service failed only in its log: captured for the one-line report.
    with apprise.LogCapture(level=logging.WARNING) as log:  # type: ignore[no-untyped-call]
        delivered = bool(
            app.notify(
                title=f"[modelcards] {_label(event)}: {title}",
                body=body,
                notify_type=kind,
                body_format=apprise.NotifyFormat.TEXT,
            )
        )
    if delivered and not unknown:
        return "sent"
    if not delivered:
        said = [line.split(" - ", 2)[-1] for line in log.getvalue().splitlines() if line]
        reason = said[0] if said else "a service refused it"
        _report(f"a notification ({_label(event)}) was not delivered: {reason}")
    return "failed"


_LABELS: Mapping[Event, str] = {
    "card_generated": "card generated",
    "gate_failed": "release gate did not pass",
    "signoff_requested": "sign-off requested",
    "signoff_given": "sign-off given",
    "alias_promoted": "alias promoted",
    "flag_added": "new stakeholder flag",
}


def _label(event: Event) -> str:
    return _LABELS[event]


# -- the events -------------------------------------------------------------------------
def notify_card(result: CardResult, *, published: PublishedCard | None = None) -> None:
    """A card was generated: its verdict; and, when the gate did not pass, that too.

    Args:
        result: The card and its verdicts.
        published: Where it was published, if it was.
    """
    card = result.card
    d = card.model_details
    who = f"{d.name} v{d.version}" if d.version is not None else d.name
    verdict = result.policy.verdict
    where = (
        f"Published with {published.uri}: run artifacts {published.folder}/ "
        f"(SHA-256 {published.sha256[:12]}...)."
        if published is not None
        else "Not published to the registry."
    )
    notify(
        "card_generated",
        title=f"{who}, release gate {verdict.upper()}",
        body="\n".join([*card.summary, where]),
    )
    if result.exit_code != 0:
        bad = [c for c in result.policy.checks if c.verdict != "pass"]
        notify(
            "gate_failed",
            title=f"{who} ({verdict.upper()})",
            body="\n".join(
                [f"{c.verdict}: {c.check} ({c.reason})" for c in bad]
                + [f"{who} must not be released as it is. {where}"]
            ),
            failure=True,
        )


def notify_flag(
    model: LoadedModel, *, inputs: Mapping[str, Any], prediction: str, comment: str, app: str
) -> None:
    """A stakeholder flagged an answer.

    Args:
        model: The version that answered.
        inputs: The inputs by name.
        prediction: The answer that was flagged.
        comment: What the stakeholder said is wrong.
        app: Which app it came from.
    """
    shown = ", ".join(f"{k}={v}" for k, v in inputs.items())
    notify(
        "flag_added",
        title=f"{model.name} v{model.version} answered {prediction!r}",
        body=f"{comment}\nInputs: {shown}\nFrom the {app} app.",
    )


def notify_signoff_requested(
    *, model: str, version: int, requested_by: str, note: str | None = None
) -> None:
    """Someone asks for a version's sign-off.

    Args:
        model: The registered model.
        version: The version.
        requested_by: Who asks.
        note: What they say, if anything.
    """
    notify(
        "signoff_requested",
        title=f"{model} v{version}",
        body=f"{requested_by} asks for a sign-off of models:/{model}/{version}."
        + (f"\n{note}" if note else ""),
    )


def notify_signoff_given(
    *, model: str, version: int, decision: Literal["approve", "reject"], reviewer: str, note: str
) -> None:
    """A reviewer signed a version off (approved or rejected).

    Args:
        model: The registered model.
        version: The version.
        decision: ``approve`` or ``reject``.
        reviewer: Who decided.
        note: Their summary.
    """
    word = "approved" if decision == "approve" else "rejected"
    notify(
        "signoff_given",
        title=f"{model} v{version} {word} by {reviewer}",
        body=note,
        failure=decision == "reject",
    )


def notify_alias_promoted(
    *,
    model: str,
    alias: str,
    version: int,
    previous: int | None = None,
    by: str | None = None,
    forced_reason: str | None = None,
) -> None:
    """An alias was moved to a version.

    Args:
        model: The registered model.
        alias: The alias, e.g. ``champion``.
        version: The version it points to now.
        previous: The version it pointed to before, if any.
        by: Who moved it, if known.
        forced_reason: Why, when the gate was overridden (``--force``); None when not.
    """
    lines = [
        f"@{alias} now points to models:/{model}/{version}"
        + (f" (was version {previous})." if previous is not None else ".")
    ]
    if by:
        lines.append(f"Moved by {by}.")
    if forced_reason is not None:
        lines.append(f"The release gate was overridden: {forced_reason}")
    notify(
        "alias_promoted",
        title=f"{model} @{alias} -> v{version}",
        body="\n".join(lines),
        failure=forced_reason is not None,
    )
