"""Nothing before the password: what guards both apps' servers, not only their pages.

* ``LoginThrottle``: a growing delay per client after wrong passwords (both apps).
* ``admit``/``admitted``: the Streamlit sessions that gave the password (or signed in),
  which ``StreamlitGate`` reads to refuse uploads from the others.
* ``StreamlitGate``: ASGI middleware for the Streamlit server (`apps/serve.py`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from modelcards import password_required

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# -- login slow-down ---------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """When a login attempt may be checked.

    Attributes:
        wait: Seconds to wait before checking the password.
        allowed: False when the client already has attempts queued for longer than the
            longest delay: the attempt is refused unchecked (retry after ``wait``).
    """

    wait: float
    allowed: bool


@dataclass
class _Client:
    failures: int = 0
    next_free: float = 0.0


class LoginThrottle:
    """A growing delay per client between password attempts, in bounded memory.

    Every attempt counts as a failure until ``succeeded`` says otherwise: parallel
    attempts from one client then queue behind each other instead of all being checked
    at once. The k-th attempt in a row waits ``first_delay * 2**(k-2)`` seconds (the
    first waits nothing), at most ``max_delay``; an attempt that would wait longer is
    refused unchecked. At most ``max_clients`` clients are remembered (least recently
    seen forgotten first), each forgotten ``forget_after`` seconds after its last delay.
    """

    def __init__(
        self,
        *,
        first_delay: float = 0.25,
        max_delay: float = 30.0,
        max_clients: int = 10_000,
        forget_after: float = 900.0,
    ) -> None:
        """Set the delays and the memory bound.

        Args:
            first_delay: Wait before the second attempt in a row, in seconds.
            max_delay: Longest wait between two attempts, in seconds.
            max_clients: How many clients are remembered at most.
            forget_after: Seconds after its last delay a client starts afresh.
        """
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_clients = max_clients
        self.forget_after = forget_after
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()  # Streamlit checks from one thread per session

    def reserve(self, client: str) -> Slot:
        """Book the next attempt of ``client``: how long to wait before checking it.

        Args:
            client: Who tries (the remote address).
        """
        now = time.monotonic()
        with self._lock:
            entry = self._clients.pop(client, None)
            if entry is None or entry.next_free + self.forget_after < now:
                entry = _Client()
            self._clients[client] = entry  # most recently seen last
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            start = max(now, entry.next_free)
            wait = start - now
            if wait > self.max_delay:
                return Slot(wait=wait, allowed=False)
            entry.failures += 1
            exponent = min(entry.failures - 1, 64)  # 2**64 * any delay is past the cap
            entry.next_free = start + min(self.max_delay, self.first_delay * 2**exponent)
            return Slot(wait=wait, allowed=True)

    def succeeded(self, client: str) -> None:
        """Forget the failures of ``client``: it gave the right password.

        Args:
            client: Who gave it (the remote address).
        """
        with self._lock:
            self._clients.pop(client, None)

    def __len__(self) -> int:
        return len(self._clients)


#: One throttle per process, for each app's login.
THROTTLE = LoginThrottle()


# -- Streamlit sessions that passed ------------------------------------------------------
_ADMITTED: OrderedDict[str, None] = OrderedDict()
_ADMITTED_LOCK = threading.Lock()
#: Sessions remembered at most; an evicted session is admitted again on its next rerun.
MAX_ADMITTED = 10_000


def admit(session_id: str) -> None:
    """Record that a Streamlit session gave the password (or signed in).

    Args:
        session_id: The session's id (``get_script_run_ctx().session_id``).
    """
    with _ADMITTED_LOCK:
        _ADMITTED.pop(session_id, None)
        _ADMITTED[session_id] = None
        while len(_ADMITTED) > MAX_ADMITTED:
            _ADMITTED.popitem(last=False)


def admitted(session_id: str) -> bool:
    """Whether a Streamlit session gave the password (or signed in).

    Args:
        session_id: The session's id, as in an upload's address.
    """
    with _ADMITTED_LOCK:
        return session_id in _ADMITTED


def forget(session_id: str) -> None:
    """Drop a session from the admitted ones (it ended).

    Args:
        session_id: The session's id.
    """
    with _ADMITTED_LOCK:
        _ADMITTED.pop(session_id, None)


def sso_configured() -> bool:
    """Whether ``[auth]`` in ``.streamlit/secrets.toml`` puts the demo behind single
    sign-on (then ``st.user.is_logged_in`` replaces the password)."""
    import streamlit as st

    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file: no single sign-on
        return False


def protected() -> bool:
    """Whether visitors must prove who they are before anything but the login shows."""
    return password_required() or sso_configured()


# -- the Streamlit server's middleware ---------------------------------------------------
UPLOAD_PATH = "/_stcore/upload_file/"
METRICS_PATH = "/_stcore/metrics"
#: BackMsg types no visitor may send: each acts for every session (clear_cache empties
#: every cache, set_run_on_save) or describes the deployment (load_git_info).
DROPPED_MESSAGES = frozenset({"clear_cache", "set_run_on_save", "load_git_info"})


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _drop_control_messages(receive: Receive) -> Receive:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    async def filtered() -> Message:
        while True:
            message = await receive()
            data = message.get("bytes")
            if message.get("type") != "websocket.receive" or not data:
                return message
            back = BackMsg()
            try:
                back.ParseFromString(data)
            except Exception:  # not ours to judge: Streamlit closes the connection
                return message
            if back.WhichOneof("type") not in DROPPED_MESSAGES:
                return message

    return filtered


class StreamlitGate:
    """ASGI middleware in front of the Streamlit server.

    Uploads are refused (403) from sessions that have not given the password, the
    metrics (cache names and sizes) are not served to anyone (404), and messages that
    act for every session are dropped from every websocket.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap the Streamlit server.

        Args:
            app: The next ASGI application (Streamlit's own stack).
        """
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection.

        Args:
            scope: The ASGI connection scope.
            receive: The ASGI receive channel.
            send: The ASGI send channel.
        """
        if scope["type"] == "http":
            path = scope.get("path", "").rstrip("/")
            if path.endswith(METRICS_PATH):
                await _plain(send, 404, "Not found.")
                return
            if UPLOAD_PATH in path and scope.get("method") != "OPTIONS" and protected():
                session_id = path.split(UPLOAD_PATH, 1)[1].split("/", 1)[0]
                if not admitted(session_id):
                    await _plain(send, 403, "Give the password on the demo's page first.")
                    return
        elif scope["type"] == "websocket":
            receive = _drop_control_messages(receive)
        await self.app(scope, receive, send)


def wait_seconds(slot: Slot) -> int:
    """Whole seconds to say to wait, at least one.

    Args:
        slot: The refused attempt's slot.
    """
    return max(1, math.ceil(slot.wait))
