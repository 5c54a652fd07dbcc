"""Nothing before the password: what guards both apps' servers, not only their pages.

* ``LoginThrottle``: a growing delay per client after wrong passwords (both apps).
* ``admit``/``admitted``: the Streamlit sessions that gave the password (or signed in),
  which ``StreamlitGate`` reads to refuse uploads from the others.
* ``StreamlitGate``: ASGI middleware for the Streamlit server (`apps/serve.py`).
* ``GradioGate``: ASGI middleware inside the Gradio server (`apps/gradio_app.launch`).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
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
    at once. The first ``free_attempts`` in a row wait nothing (typos happen); each one
    after waits twice as long as the one before, from ``first_delay`` up to ``max_delay``
    seconds; an attempt that would wait longer is refused unchecked. At most
    ``max_clients`` clients are remembered (least recently seen forgotten first), each
    forgotten ``forget_after`` seconds after its last delay.
    """

    def __init__(
        self,
        *,
        free_attempts: int = 3,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        max_clients: int = 10_000,
        forget_after: float = 900.0,
    ) -> None:
        """Set the delays and the memory bound.

        Args:
            free_attempts: Attempts in a row that wait nothing.
            first_delay: Wait before the first attempt after those, in seconds.
            max_delay: Longest wait between two attempts, in seconds.
            max_clients: How many clients are remembered at most.
            forget_after: Seconds after its last delay a client starts afresh.
        """
        self.free_attempts = free_attempts
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
            entry.next_free = start + self.delay_after(entry.failures)
            return Slot(wait=wait, allowed=True)

    def delay_after(self, failures: int) -> float:
        """Seconds the next attempt waits after ``failures`` in a row.

        Args:
            failures: Wrong attempts in a row so far.

        >>> [LoginThrottle().delay_after(n) for n in range(1, 10)]
        [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
        """
        if failures < self.free_attempts:
            return 0.0
        exponent = min(failures - self.free_attempts, 64)  # 2**64 s is past any cap
        return float(min(self.max_delay, self.first_delay * 2**exponent))

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


@dataclass(frozen=True)
class FirstSight:
    """What a page's HTML shows before Streamlit's front end has drawn anything: the
    page's title and the model it opens on. Set by apps/serve.py once the release
    alias's versions are loaded; never shown behind a password.

    Attributes:
        models: The models with the release alias, the first being the default.
        alias: The release alias (``champion``).
        pages: Each page's URL path and title; ``""`` is the default page.
    """

    models: tuple[str, ...]
    alias: str
    pages: tuple[tuple[str, str], ...]

    def shell(self, path: str, query: str) -> bytes | None:
        """The HTML shown until Streamlit draws the page's heading, or None for a path
        that is not a page or a model the demo does not know.

        Args:
            path: The request path, e.g. ``/try``.
            query: The query string, e.g. ``model=arrests-release``.
        """
        import html
        from urllib.parse import parse_qs

        titles = dict(self.pages)
        title = titles.get(path.strip("/"))
        if title is None or not self.models:
            return None
        asked = parse_qs(query).get("model", [self.models[0]])[0]
        if asked not in self.models:  # the page will say so; the shell says nothing
            return None
        ref = parse_qs(query).get("ref", [f"@{self.alias}"])[0]
        if ref == f"@{self.alias}":
            role = f"{ref}, in use"
        elif ref.isdigit():
            role = f"version {ref}"
        elif ref.startswith("@") and ref[1:].replace("-", "").replace("_", "").isalnum():
            role = f"{ref}, candidate"
        else:  # not a reference the picker makes: the page will say what it is
            return None
        return (
            '<div id="modelcards-shell" role="status"><h1>'
            + html.escape(title)
            + "</h1><p>"
            + html.escape(f"{asked} · {role} · loading the demo…")
            + "</p></div>"
        ).encode()


_TITLE = b"<title>modelcards demo</title>"  # apps/demo.py's page title, before it runs
#: Set by apps/serve.py after the warm-up; None until then (no shell is shown).
FIRST_SIGHT: FirstSight | None = None
# Covers the page until Streamlit has drawn a heading (or an alert, or after 10 s in case
# a page draws neither): CSS only, so it costs nothing and needs no script.
_SHELL_STYLE = (
    b"<style>#modelcards-shell{position:fixed;inset:0;z-index:1000000;background:#fff;"
    b"color:#31333f;font-family:sans-serif;padding:6rem 5rem;"
    b"animation:modelcards-shell-off 0s 10s forwards}"
    b"#modelcards-shell h1{font-size:2.75rem;font-weight:700;margin:0 0 1rem}"
    b"#modelcards-shell p{font-size:1.5rem;font-weight:600;margin:0}"
    b'body:has([data-testid="stHeading"],[data-testid="stAlert"]) #modelcards-shell'
    b"{display:none}@keyframes modelcards-shell-off{to{visibility:hidden}}</style>"
)


def _with_shell(send: Send, shell: bytes) -> Send:
    """``send``, with the first-sight shell put into an HTML page's body."""
    start: dict[str, Any] | None = None
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            html_page = headers.get(b"content-type", b"").startswith(b"text/html")
            if html_page and b"content-encoding" not in headers and message["status"] == 200:
                start = dict(message)
                return
        elif message["type"] == "http.response.body" and start is not None:
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if b"<body>" in body:
                body = body.replace(b"</head>", _SHELL_STYLE + b"</head>", 1)
                body = body.replace(b"<body>", b"<body>" + shell, 1)
                body = body.replace(
                    b"<title>Streamlit</title>", b"<title>modelcards demo</title>", 1
                )
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send(message)

    return sending


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
            first = FIRST_SIGHT
            if first is not None and scope.get("method") == "GET" and not protected():
                shell = first.shell(path, scope.get("query_string", b"").decode("latin-1"))
                if shell is not None:
                    send = _with_shell(send, shell)
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


# -- the Gradio server's middleware ------------------------------------------------------
#: What a visitor who has not logged in may fetch: the login page and what draws it.
#: /config and /gradio_api/info pass so that Gradio itself answers 401 (clients expect it).
GRADIO_OPEN = frozenset(
    {
        "/",
        "/login",
        "/manifest.json",
        "/favicon.ico",
        "/theme.css",
        "/robots.txt",
        "/config",
        "/gradio_api/info",
        "/gradio_api/theme.css",
        "/gradio_api/login_check",
        "/gradio_api/startup-events",
    }
)
GRADIO_OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")
#: The login page's manifest, naming neither the model nor the app's title.
MANIFEST = json.dumps(
    {
        "name": "modelcards demo",
        "icons": [
            {
                "src": "static/img/logo_nosize.svg",
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
        "start_url": "./",
        "display": "standalone",
    }
).encode()
#: Gradio embeds the API's schemas in every page, the login page too.
_API_INFO = re.compile(rb"<script>window\.gradio_api_info = .*?;</script>", re.DOTALL)
_NO_API_INFO = (
    b'<script>window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'
)


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _logged_in(scope: Scope) -> bool:
    """Whether the request carries a token the Gradio app issued at login."""
    gradio_app = scope.get("app")  # Starlette puts its app in the scope
    tokens = getattr(gradio_app, "tokens", None)
    cookie_id = getattr(gradio_app, "cookie_id", None)
    if not tokens or cookie_id is None:
        return False
    names = {f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"}
    for key, value in scope.get("headers", []):
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            name, _, token = part.strip().partition("=")
            if name in names and token in tokens:
                return True
    return False


class GradioGate:
    """ASGI middleware inside the Gradio server, when a password is set.

    Before login only the login page and its assets are served: the page without the
    API's schemas, a manifest that names neither the model nor the app, and every other
    address answers 401. Login attempts are slowed down per address (``THROTTLE``).
    """

    def __init__(self, app: ASGIApp, throttle: LoginThrottle | None = None) -> None:
        """Wrap the Gradio app.

        Args:
            app: The next ASGI application (Gradio's routes).
            throttle: The login slow-down; the process-wide ``THROTTLE`` by default.
        """
        self.app = app
        self.throttle = throttle or THROTTLE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request.

        Args:
            scope: The ASGI connection scope.
            receive: The ASGI receive channel.
            send: The ASGI send channel.
        """
        if scope["type"] != "http" or not password_required() or _logged_in(scope):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        path = path.rstrip("/") or "/"
        if path == "/login" and scope.get("method") == "POST":
            await self._login(scope, receive, send)
        elif path == "/manifest.json":
            await _respond(send, 200, MANIFEST, b"application/manifest+json")
        elif path == "/":
            await self._login_page(scope, receive, send)
        elif path in GRADIO_OPEN or path.startswith(GRADIO_OPEN_PREFIXES):
            await self.app(scope, receive, send)
        else:
            await _respond(send, 401, b'{"detail": "Not authenticated"}', b"application/json")

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown",))[0]
        slot = self.throttle.reserve(client)
        if not slot.allowed:
            detail = (
                "Too many wrong passwords from your address. "
                f"Try again in {wait_seconds(slot)} seconds."
            )
            await _respond(send, 429, json.dumps({"detail": detail}).encode(), b"application/json")
            return
        await asyncio.sleep(slot.wait)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self.throttle.succeeded(client)
            await send(message)

        await self.app(scope, receive, watch)

    async def _login_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = _API_INFO.sub(_NO_API_INFO, b"".join(chunks))
                    headers = [
                        (k, v) for k, v in start.get("headers", []) if k != b"content-length"
                    ]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


def wait_seconds(slot: Slot) -> int:
    """Whole seconds to say to wait, at least one.

    Args:
        slot: The refused attempt's slot.
    """
    return max(1, math.ceil(slot.wait))
