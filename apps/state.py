"""Caching, shared state and URL sync for the Streamlit demo. Only apps/ touch these."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from apps import gate
from modelcards import (
    CardOptions,
    CardResult,
    DemoService,
    Explanation,
    LoadedModel,
    ModelCard,
    PromotionCheck,
    RegisteredModel,
    Registry,
    ReviewBook,
    Store,
    check_password,
    default_store_url,
    generate_card,
    markdown_text,
    password_required,
    promotable,
    release_alias,
)
from modelcards.errors import ModelcardsError, RegistryUnreachableError, StoreError

log = logging.getLogger("modelcards.demo")


@st.cache_resource(show_spinner=False)
def _registry(home: str | None, tracking_uri: str | None) -> Registry:
    return Registry()


def registry() -> Registry:
    # Keyed by the settings that choose the store, so changing them picks a new one.
    return _registry(os.environ.get("MODELCARDS_HOME"), os.environ.get("MLFLOW_TRACKING_URI"))


@st.cache_resource(show_spinner=False)
def _service(tracking_uri: str, store_url: str) -> DemoService:
    return DemoService(registry(), Store(store_url))


def service() -> DemoService:
    """The registry, the feedback store and the shared rules, one per server."""
    return _service(registry().tracking_uri, default_store_url())


@st.cache_resource(show_spinner=False)
def _review_book(tracking_uri: str, store_url: str) -> ReviewBook:
    return ReviewBook(service().store)


def review_book() -> ReviewBook:
    """Reviewers, decisions and sign-offs, in the feedback store's database."""
    return _review_book(registry().tracking_uri, default_store_url())


# Re-read every 10 s: a card may be published while the page is open.
@st.cache_data(ttl=10, show_spinner="Reading the published card...", max_entries=16)
def _published_card(tracking_uri: str, name: str, version: int) -> ModelCard | None:
    found = registry().published_card(f"models:/{name}/{version}")
    return None if found is None else ModelCard.model_validate_json(found.json)


def review_card(model: LoadedModel) -> ModelCard:
    """The card a review is about: the version's published card, else the demo's own."""
    published = _published_card(model.tracking_uri, model.name, model.version)
    return published if published is not None else card_for(model).card


@st.cache_data(ttl=10, show_spinner=False, max_entries=16)
def _promotable(tracking_uri: str, store_url: str, name: str) -> list[PromotionCheck]:
    return promotable(registry(), review_book(), name)


def forget_promotion() -> None:
    """Re-read the promotion table on the next run (a sign-off changed it)."""
    _promotable.clear()


def promotion_checks(name: str) -> list[PromotionCheck]:
    """Each version of a model with what it has and lacks for promotion (10 s cache)."""
    return _promotable(registry().tracking_uri, default_store_url(), name)


@st.cache_resource(show_spinner="Loading the model from the registry...", max_entries=16)
def _load_pinned(tracking_uri: str, name: str, version: int) -> LoadedModel:
    return registry().load(f"models:/{name}/{version}")


@st.cache_data(ttl=10, show_spinner=False)
def _resolve(tracking_uri: str, ref: str) -> tuple[str, int, str | None]:
    return registry().resolve(ref)


def load(ref: str) -> LoadedModel:
    """Resolve the reference (re-read every 10 s: an alias may move), then load by version."""
    reg = registry()
    name, version, alias = _resolve(reg.tracking_uri, ref)
    return _load_pinned(reg.tracking_uri, name, version).as_alias(alias)


@st.cache_resource(show_spinner="Computing the card from the evaluation split...", max_entries=16)
def _card(
    tracking_uri: str,
    name: str,
    version: int,
    features: tuple[str, ...] | None = None,
    threshold: float | None = None,
    intersection: bool = True,
) -> CardResult:
    return generate_card(
        model=_load_pinned(tracking_uri, name, version),
        sensitive=list(features) if features else None,
        threshold=threshold,
        options=CardOptions(intersection=intersection),
    )


def card_for(
    model: LoadedModel,
    *,
    features: tuple[str, ...] | None = None,
    threshold: float | None = None,
    intersection: bool = True,
) -> CardResult:
    """The card of a version on its stored evaluation split, with its stored policy;
    the Fairness audit's choices change the features, threshold and intersection."""
    return _card(model.tracking_uri, model.name, model.version, features, threshold, intersection)


# A plain LRU, not st.cache_data: every new input is a miss, and st.cache_data's hashing
# of the arguments and pickling of the result cost more than the explanation itself.
@functools.lru_cache(maxsize=256)
def _explanation(
    tracking_uri: str, name: str, version: int, inputs: tuple[tuple[str, Any], ...]
) -> Explanation:
    return service().explain(_load_pinned(tracking_uri, name, version), dict(inputs))


def explanation_for(model: LoadedModel, values: dict[str, Any]) -> Explanation:
    """Why this version answers what it does for these inputs, computed once per
    version and inputs (a rerun with the same inputs costs nothing)."""
    return _explanation(model.tracking_uri, model.name, model.version, tuple(values.items()))


def vkey(model: LoadedModel, name: str) -> str:
    """A session-state key that belongs to one model version: inputs, choices and
    "already ran" marks never carry over to another model or version."""
    return f"{name}@{model.name}/v{model.version}"


def sync_param(
    key: str,
    default: Any,
    parse: Callable[[str], Any] = str,
    choices: list[Any] | None = None,
    *,
    param: str | None = None,
) -> Any:
    """Bind session state ``key`` to the URL query parameter ``param`` (default: ``key``).

    The URL seeds the value on first load; every rerun writes the current value back,
    so the address bar is always a link to what is on screen. A value that does not
    parse, or is not among ``choices``, is replaced by ``default`` and noted for
    ``link_problems``.
    """
    param = param or key
    if key not in st.session_state:
        raw = st.query_params.get(param)
        value = default
        if raw is not None:
            try:
                value = parse(raw)
                if choices is not None and value not in choices:
                    raise ValueError(raw)
            except (TypeError, ValueError):
                # Say so on the page: a silently replaced value would mislead.
                value = default
                st.session_state.setdefault("_bad_params", []).append((param, raw, default))
        st.session_state[key] = value
    return st.session_state[key]


def link_problems() -> list[str]:
    """Plain-language notes on URL values that could not be used (shown once), as
    escaped text: a link's value is never Markdown."""
    bad = st.session_state.pop("_bad_params", [])
    return [
        plain(
            f"The link's {key} = {shorten(raw)!r} is not usable here; "
            # A parameter with no default (the version pin) is simply left out.
            + ("it is ignored." if default is None else f"{_said(default)} is used instead.")
        )
        for key, raw, default in bad
    ]


def _said(value: Any) -> str:
    """A default as a reader says it: a list as its items, a switch as yes or no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return repr(value)


#: Longest value from a link, an upload or the store that is shown whole.
SHOWN_CHARS = 80


def shorten(value: object) -> str:
    """A value cut to ``SHOWN_CHARS`` characters, saying so."""
    text = str(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text):,} characters, cut)"


def plain(text: str) -> str:
    """Text shown through a Markdown element (st.error, st.warning, ...) as the text it
    is: every line escaped, line breaks kept."""
    lines = [markdown_text(line) for line in str(text).splitlines() or [""]]
    # Streamlit also turns bare addresses into links (GFM autolinks), which no escape
    # stops: a zero-width space inside "://" and "www." does, and shows nothing.
    return "  \n".join(
        line.replace("://", ":\u200b//").replace("www.", "www\u200b.") for line in lines
    )


def write_params(**values: Any) -> None:
    """Set URL query parameters (None removes one). Every write sends the browser a
    message, so only changed ones are written, together."""
    qp = st.query_params
    for k, v in values.items():
        if v is None and k in qp:
            del qp[k]
    changed = {k: str(v) for k, v in values.items() if v is not None and qp.get(k) != str(v)}
    if changed:
        qp.update(changed)


def selected_ref() -> str | None:
    return st.session_state.get("_model_ref")


def current_model() -> LoadedModel | None:
    if st.session_state.get("_registry_down"):
        return None  # the model picker has said the registry cannot be reached
    ref = selected_ref()
    if ref is None:
        st.info(
            f"No model is registered yet in `{registry().tracking_uri}`. "
            "Run `modelcards examples` to add the examples."
        )
        return None
    return load(ref)


def page(title: str) -> LoadedModel | None:
    """A page's title and the selected model, with the exact version it resolved to."""
    from components.model_info import version_badge

    st.title(title)
    model = current_model()
    if model is not None:
        version_badge(model)
    return model


def guarded(page: Callable[[], None], name: str | None = None) -> Callable[[], None]:
    """Any failure reaches the stakeholder as a plain message, never a traceback.

    ``name`` must differ between pages: Streamlit tells function pages apart by it.
    """

    def run() -> None:
        try:
            page()
        except ModelcardsError as exc:
            st.error(plain(str(exc)))
        except Exception:  # a bug: log it for us, say little to the viewer
            log.exception("demo page failed")
            st.error("Something went wrong on this page. The error was logged for the team.")

    run.__name__ = run.__qualname__ = name or page.__name__
    return run


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def on_submit(
    form: str, action: Callable[[], str], *, fields: Sequence[str], kept: str
) -> Callable[[], None]:
    """A form's submit callback, run before the page reruns: ``action`` saves what the
    form holds and returns what to say. On success the text ``fields`` (widget keys) are
    emptied; on any failure they stay as typed (the form never clears itself) and the
    page says why, with ``kept`` (e.g. "Your comment is kept").
    ``said(form)`` shows the outcome."""

    def run() -> None:
        try:
            done = action()
        except StoreError as exc:  # busy or unavailable: nothing was saved
            outcome = ("error", plain(f"{exc.message} {kept}; try again."))
        except ModelcardsError as exc:  # the input itself, e.g. no comment
            outcome = ("error", plain(str(exc)))
        except Exception:  # a bug: log it for us, say little to the viewer
            log.exception("demo form failed")
            outcome = ("error", f"Something went wrong while saving. {kept}.")
        else:
            for key in fields:
                st.session_state[key] = ""
            outcome = ("success", done)
        st.session_state[f"_said_{form}"] = outcome

    return run


def said(form: str) -> None:
    """Show, once, what the last submit of ``form`` did."""
    outcome = st.session_state.pop(f"_said_{form}", None)
    if outcome is None:
        return
    level, text = outcome
    (st.success if level == "success" else st.error)(text)


def password_ok() -> bool:
    """With MODELCARDS_DEMO_PASSWORD set, show only a password prompt until it is given;
    with ``[auth]`` in secrets.toml, only a sign-in button until the visitor signs in.

    A session that passed is recorded for the server's guard (apps/gate.py), which
    refuses uploads from the others. Wrong passwords are slowed down per address.
    """
    if gate.sso_configured():
        return _signed_in()
    if not password_required():
        return True
    if st.session_state.get("_authenticated"):
        gate.admit(_session_id())  # again on every run: the record is bounded
        return True
    st.title("modelcards demo")
    with st.form("login"):
        given = st.text_input("Password", type="password", key="_password")
        submitted = st.form_submit_button("Open the demo")
    if submitted:
        client = st.context.ip_address or "local"
        slot = gate.THROTTLE.reserve(client)
        if not slot.allowed:
            st.error(
                "Too many wrong passwords from your address. "
                f"Try again in {gate.wait_seconds(slot)} seconds."
            )
            return False
        time.sleep(slot.wait)  # this session's run only; others are not held up
        if check_password(given):
            gate.THROTTLE.succeeded(client)
            st.session_state["_authenticated"] = True
            gate.admit(_session_id())
            st.rerun()
        st.error("That password is not right.")
    return False


def _signed_in() -> bool:
    """Single sign-on through Streamlit's OIDC login (``st.login``)."""
    if st.user.is_logged_in:
        gate.admit(_session_id())
        return True
    st.title("modelcards demo")
    st.write("Sign in with your team account to open the demo.")
    st.button("Sign in", on_click=st.login, type="primary")
    return False


# Shown only after half a second: a registry that is slow or silent is never a blank page.
@st.cache_data(ttl=10, show_spinner="Reading the model registry...")
def _models(tracking_uri: str) -> list[RegisteredModel]:
    return registry().list_models()


def model_list() -> list[RegisteredModel]:
    """Registered models, re-read at most every 10 seconds (aliases may move). A registry
    that cannot be reached is remembered for this rerun, so no page waits on it again or
    takes it for an empty one."""
    try:
        models = _models(registry().tracking_uri)
    except RegistryUnreachableError:
        st.session_state["_registry_down"] = True
        raise
    st.session_state["_registry_down"] = False
    return models


def warm_caches() -> list[str]:
    """Fill, before the server answers, the caches the first page reads: for every
    model's release-alias version the loaded model and its card (the Model page's
    overview), then the registry's model list and the alias (re-read every 10 s, so
    last). Returns the references warmed; a version whose card cannot be computed is
    still loaded (its page says why)."""
    reg = registry()
    alias = release_alias()
    refs = [f"models:/{m.name}@{alias}" for m in reg.list_models() if alias in m.aliases]
    for ref in refs:
        name, version, _ = reg.resolve(ref)
        model = _load_pinned(reg.tracking_uri, name, version)
        try:
            card_for(model)
        except ModelcardsError as exc:  # e.g. no evaluation split: the page says so
            log.warning("no card preloaded for %s: %s", ref, exc.message)
    _models(reg.tracking_uri)
    for ref in refs:
        _resolve(reg.tracking_uri, ref)
    return refs
