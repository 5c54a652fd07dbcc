"""The release review: findings, a reviewer's decision on each, and the overall sign-off.

* **Findings** (``_findings``, which needs no store) come from a card (every failing or
  inconclusive policy check, every disparity beyond ``FindingLevels``, every failing
  release test) and from the store (every stakeholder flag on the version). A finding's
  id hashes what it is about (its kind, check or metric, and group), so the next card of
  the same version has the same ids and earlier decisions still apply to them.
* **Decisions and sign-offs** live in the feedback store's database (the tables below,
  on ``_store.metadata``) and are never overwritten: a change of mind is a new row, and
  the latest row counts.
* **Reviewers** are named accounts in the same store, with argon2id password hashes
  (or none, for accounts that sign in through the demo's single sign-on). Only a
  ``Reviewer`` returned by ``ReviewBook.authenticate`` (or ``sso_reviewer``) can decide.
* **Binding**: a sign-off records the version, the evaluation data's SHA-256, the
  policy's SHA-256 and the card's digest (``card_digest``). When any of them differs
  from the current card, the sign-off is stale and no longer counts.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from ._card import ModelCard
from ._findings import (
    DECISIONS,
    Binding,
    Decision,
    DecisionKind,
    FailedCase,
    FindingLevels,
    ReviewApp,
    Reviewer,
    ReviewState,
    Signoff,
    SignoffDecision,
    SignoffState,
    _day,
    binding_of,
    find_findings,
    review_section,
)
from ._store import Store, metadata
from .errors import ReviewerAuthError, ReviewError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from sqlalchemy.engine import RowMapping

    from ._registry import Registry

    Progress = Callable[[str], None]

MAX_REASON_CHARS = 2_000
MIN_PASSWORD_CHARS = 8

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    # None: the account signs in through single sign-on only.
    Column("password_hash", String(200)),
    Column("created", DateTime(timezone=True), nullable=False),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("finding_id", String(40), nullable=False),
    Column("finding_kind", String(40), nullable=False),
    Column("finding_subject", Text, nullable=False),
    Column("decision", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("app", String(40), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

review_signoffs = Table(
    "review_signoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("decision", String(20), nullable=False),
    Column("summary", Text, nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("app", String(40), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("data_sha256", String(64), nullable=False),
    Column("policy_sha256", String(64), nullable=False),
    Column("card_sha256", String(64), nullable=False),
)

_TABLES = [reviewers, review_decisions, review_signoffs]


# -- the store --------------------------------------------------------------------------
_HASHER: Any = None


def _hasher() -> Any:
    """argon2id with the library's recommended parameters (imported on first use)."""
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()
    return _HASHER


class ReviewBook:
    """Reviewers, decisions and sign-offs, in the feedback store's database.

    >>> book = ReviewBook(Store("sqlite://"))
    >>> book.add_reviewer("ada", password="correct horse")
    >>> book.authenticate("ada", "correct horse").name
    'ada'
    """

    def __init__(self, store: Store):
        """Open the review tables, creating those missing (existing ones are untouched).

        Args:
            store: The feedback store (``Store()``) whose database holds the review.
        """
        self.store = store
        with store._bounded():
            metadata.create_all(store.engine, tables=_TABLES, checkfirst=True)

    # reviewers
    def add_reviewer(self, name: str, *, password: str | None) -> None:
        """Add a named reviewer.

        Args:
            name: The account's name (for single sign-on: the e-mail the provider gives).
            password: At least 8 characters; None for an account that only signs in
                through single sign-on.
        """
        name = _reviewer_name(name)
        if password is not None and len(password) < MIN_PASSWORD_CHARS:
            raise ReviewError(
                f"A reviewer's password needs at least {MIN_PASSWORD_CHARS} characters.",
                hint="Choose a longer one (a passphrase of a few words is good).",
            )
        hashed = None if password is None else str(_hasher().hash(password))
        try:
            with self.store._bounded(), self.store.engine.begin() as conn:
                conn.execute(
                    insert(reviewers).values(name=name, password_hash=hashed, created=_now())
                )
        except IntegrityError:
            raise ReviewError(
                f"There is already a reviewer named {name!r}.",
                hint="Pick another name; an account is never replaced.",
            ) from None

    def reviewer_names(self) -> list[str]:
        """Every reviewer's name, in the order they were added."""
        with self.store._bounded(), self.store.engine.connect() as conn:
            rows = conn.execute(select(reviewers.c.name).order_by(reviewers.c.id)).all()
        return [str(r[0]) for r in rows]

    def authenticate(self, name: str, password: str) -> Reviewer:
        """The named reviewer, when the password is theirs; ReviewerAuthError otherwise.

        Args:
            name: The reviewer's name.
            password: The password they give.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self._reviewer_row(name)
        stored = None if row is None else row["password_hash"]
        refused = ReviewerAuthError(
            f"{name!r} is not a reviewer, or that is not their password.",
            hint="Reviewers are added with `modelcards reviewers add NAME`; stakeholders "
            "can flag answers but not decide.",
        )
        if stored is None:
            # As slow as a real check, so a wrong name cannot be told from a wrong password.
            _hasher().hash(password)
            raise refused
        try:
            _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        return Reviewer(str(row["name"]) if row else name, "password")

    def sso_reviewer(self, email: str | None) -> Reviewer:
        """The reviewer a single sign-on identity names; ReviewerAuthError when there is none.

        Args:
            email: The signed-in user's e-mail (``st.user.email``).
        """
        if not email or self._reviewer_row(email) is None:
            raise ReviewerAuthError(
                f"{email or 'This account'} is signed in but is not a reviewer.",
                hint="A reviewer adds it with `modelcards reviewers add EMAIL --sso`.",
            )
        return Reviewer(email.strip(), "sso")

    def _reviewer_row(self, name: str) -> RowMapping | None:
        with self.store._bounded(), self.store.engine.connect() as conn:
            return (
                conn.execute(select(reviewers).where(reviewers.c.name == name.strip()))
                .mappings()
                .first()
            )

    # decisions and sign-offs
    def decide(
        self,
        state: ReviewState,
        *,
        finding: str,
        decision: DecisionKind,
        reason: str,
        reviewer: Reviewer,
        app: ReviewApp,
    ) -> None:
        """Record a decision on one finding (a new row; earlier ones stay).

        Args:
            state: The version's review (``state``), whose findings ``finding`` names.
            finding: The finding's id.
            decision: ``"accept"``, ``"block"`` or ``"accept_with_mitigation"``.
            reason: Why (for a mitigation: what mitigates it). Required.
            reviewer: Who decides (from ``authenticate`` or ``sso_reviewer``).
            app: ``"demo"`` or ``"cli"``.
        """
        if decision not in DECISIONS:
            raise ReviewError(
                f"{decision!r} is not a decision.", hint=f"Use one of {', '.join(DECISIONS)}."
            )
        found = state.finding(finding)
        reason = _text(reason, what="decision", example="the gap is within the agreed margin")
        b = state.binding
        with self.store._bounded(), self.store.engine.begin() as conn:
            conn.execute(
                insert(review_decisions).values(
                    model=b.model,
                    version=b.version,
                    finding_id=found.id,
                    finding_kind=found.kind,
                    finding_subject=found.subject,
                    decision=decision,
                    reason=reason,
                    reviewer=reviewer.name,
                    app=app,
                    created=_now(),
                )
            )

    def sign_off(
        self,
        state: ReviewState,
        *,
        decision: SignoffDecision,
        summary: str,
        reviewer: Reviewer,
        app: ReviewApp,
    ) -> None:
        """Record the overall sign-off, bound to the state's card.

        Approving needs a decision on every finding and none of them ``block``;
        rejecting is always possible.

        Args:
            state: The version's review (``state``).
            decision: ``"approve"`` or ``"reject"``.
            summary: The reviewer's summary. Required.
            reviewer: Who signs (from ``authenticate`` or ``sso_reviewer``).
            app: ``"demo"`` or ``"cli"``.
        """
        if decision not in ("approve", "reject"):
            raise ReviewError(f"{decision!r} is not a sign-off.", hint="Use approve or reject.")
        summary = _text(summary, what="sign-off", example="gaps accepted, see the decisions")
        if decision == "approve" and (state.undecided or state.blocked):
            parts = []
            if state.undecided:
                parts.append(
                    f"{len(state.undecided)} finding(s) without a decision: "
                    + ", ".join(f.id for f in state.undecided)
                )
            if state.blocked:
                parts.append(
                    f"{len(state.blocked)} blocked: " + ", ".join(f.id for f in state.blocked)
                )
            raise ReviewError(
                f"Cannot approve {state.binding.model} v{state.binding.version}: "
                + "; ".join(parts)
                + ".",
                hint="Decide on every finding first (accept, or accept with mitigation), "
                "or reject the version.",
            )
        b = state.binding
        with self.store._bounded(), self.store.engine.begin() as conn:
            conn.execute(
                insert(review_signoffs).values(
                    model=b.model,
                    version=b.version,
                    decision=decision,
                    summary=summary,
                    reviewer=reviewer.name,
                    app=app,
                    created=_now(),
                    data_sha256=b.data_sha256,
                    policy_sha256=b.policy_sha256,
                    card_sha256=b.card_sha256,
                )
            )

    def _version_rows(self, table: Table, model: str, version: int) -> list[Any]:
        """A table's rows for one version, oldest first."""
        query = (
            select(table)
            .where(table.c.model == model, table.c.version == version)
            .order_by(table.c.id)
        )
        with self.store._bounded(), self.store.engine.connect() as conn:
            return list(conn.execute(query).mappings().all())

    def decisions(self, model: str, version: int) -> list[Decision]:
        """Every decision on a version, oldest first.

        Args:
            model: The registered model's name.
            version: The version.
        """
        rows = self._version_rows(review_decisions, model, version)
        return [
            Decision(
                r["finding_id"],
                r["finding_kind"],
                r["finding_subject"],
                r["decision"],
                r["reason"],
                r["reviewer"],
                r["app"],
                _utc(r["created"]),
            )
            for r in rows
        ]

    def signoffs(self, model: str, version: int) -> list[Signoff]:
        """Every sign-off on a version, oldest first.

        Args:
            model: The registered model's name.
            version: The version.
        """
        rows = self._version_rows(review_signoffs, model, version)
        return [
            Signoff(
                Binding(
                    r["model"],
                    int(r["version"]),
                    r["data_sha256"],
                    r["policy_sha256"],
                    r["card_sha256"],
                ),
                r["decision"],
                r["summary"],
                r["reviewer"],
                r["app"],
                _utc(r["created"]),
            )
            for r in rows
        ]

    def state(
        self,
        card: ModelCard,
        *,
        failed_cases: Iterable[FailedCase] = (),
        levels: FindingLevels | None = None,
    ) -> ReviewState:
        """The version's review for this card: findings, decisions and the sign-off.

        Args:
            card: The version's current card (the published one, when there is one).
            failed_cases: Release tests that failed on the version.
            levels: When a disparity is a finding (default ``FindingLevels()``).
        """
        binding = binding_of(card)
        findings = find_findings(
            card,
            flags=self.store.flags(binding.model),
            failed_cases=failed_cases,
            levels=levels,
        )
        history = self.decisions(binding.model, binding.version)
        latest = {d.finding_id: d for d in history}
        signoffs = self.signoffs(binding.model, binding.version)
        last = signoffs[-1] if signoffs else None
        changed = [] if last is None else last.binding.changes_from(binding)
        state: SignoffState = (
            "none"
            if last is None
            else "stale"
            if changed
            else "approved"
            if last.decision == "approve"
            else "rejected"
        )
        return ReviewState(binding, findings, latest, history, last, state, changed)


def attach_review(card: ModelCard, book: ReviewBook) -> ReviewState:
    """Fill the card's Review section from the store; returns the review it shows.

    Args:
        card: A card of a registered version (its forced promotions are kept).
        book: The review store.
    """
    state = book.state(card)
    card.review = review_section(card, state, overrides=card.review.overrides)
    return state


def existing_store() -> Store | None:
    """The feedback store when one is configured or already exists; None otherwise, so
    that generating a card never creates a database by itself."""
    from ._store import default_url

    if os.environ.get("MODELCARDS_DB_URL"):
        return Store()
    home = Path(os.environ.get("MODELCARDS_HOME") or Path.cwd() / ".modelcards")
    if not (home / "demo.db").exists():
        return None
    return Store(default_url())


# -- helpers ----------------------------------------------------------------------------
def _reviewer_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ReviewError(
            "A reviewer needs a name of 1 to 200 characters.",
            hint="For example `modelcards reviewers add ada`.",
        )
    return name


def _text(text: str, *, what: str, example: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewError(f"A {what} needs a written reason.", hint=f"Say why, e.g. {example!r}.")
    if len(text) > MAX_REASON_CHARS:
        raise ReviewError(
            f"The {what}'s text has {len(text):,} characters; at most "
            f"{MAX_REASON_CHARS:,} are kept.",
            hint="Shorten it; link to a longer document if needed.",
        )
    return text


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# -- the card a review is about ---------------------------------------------------------
def read_card_json(path: str | Path) -> ModelCard:
    """A card from its ``model_card.json``, validated; a ReviewError naming the file if not.

    Args:
        path: The file ``modelcards card`` wrote.
    """
    from pydantic import ValidationError

    path = Path(path)
    try:
        return ModelCard.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ReviewError(
            f"Cannot read the card {path}: {exc.strerror or exc}.",
            hint="Give the model_card.json that `modelcards card` wrote.",
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReviewError(
            f"{path} is not a model card: {where or 'the file'}: {first['msg']}.",
            hint="Give the model_card.json that `modelcards card` wrote (schema "
            "`modelcards schema`).",
        ) from None


def card_for_review(
    registry: Registry,
    ref: str,
    *,
    card: str | Path | None = None,
    progress: Progress | None = None,
) -> ModelCard:
    """The card a review of ``ref`` is about: ``card`` when given, else the version's
    published card, else one generated from its stored evaluation split and policy.

    Args:
        registry: The model registry.
        ref: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``.
        card: A ``model_card.json`` of that version, if given.
        progress: Called with a short message while a card is generated.
    """
    name, version, _alias = registry.resolve(ref)
    if card is not None:
        found = read_card_json(card)
        if (found.model_details.name, found.model_details.version) != (name, version):
            raise ReviewError(
                f"{card} is the card of {found.model_details.name} "
                f"v{found.model_details.version}, not of {name} v{version} ({ref}).",
                hint="Give the card of the version you review, or drop --card.",
            )
        return found
    published = published_card(registry, name, version)
    if published is not None:
        return published
    from ._pipeline import generate_card

    return generate_card(
        model=f"models:/{name}/{version}",
        registry=registry,
        progress=progress or (lambda _msg: None),
    ).card


def published_card(registry: Registry, name: str, version: int) -> ModelCard | None:
    """The card published for a version (``card --publish``), or None.

    Args:
        registry: The model registry.
        name: The registered model's name.
        version: The version.
    """
    found = registry.published_card(f"models:/{name}/{version}")
    return None if found is None else ModelCard.model_validate_json(found.json)


def current_signoff(card: ModelCard) -> SignoffState:
    """The sign-off state of a card's version in the review store (``none`` without one).

    Args:
        card: A card of a registered version.
    """
    store = existing_store()
    if store is None or card.model_details.version is None:
        return "none"
    return ReviewBook(store).state(card).signoff_state


def sync_signoff_tag(registry: Registry, state: ReviewState) -> None:
    """Write a new sign-off into the version's ``modelcards.signoff`` tag, when the
    version has a published card (its tags are what MLflow's own UI shows).

    Args:
        registry: The model registry.
        state: The version's review after the sign-off.
    """
    from ._publish import CARD_TAG, SIGNOFF_TAG
    from ._registry import _quiet

    b = state.binding
    published = published_card(registry, b.model, b.version)
    if published is None:
        return
    value = book_state_on(state, published)
    with _quiet(), registry._reach():
        mv = registry.client.get_model_version(b.model, str(b.version))
        if (mv.tags or {}).get(CARD_TAG):
            registry.client.set_model_version_tag(b.model, str(b.version), SIGNOFF_TAG, value)


def after_signoff(registry: Registry, book: ReviewBook, card: ModelCard) -> ReviewState:
    """What follows a sign-off: the version's ``modelcards.signoff`` tag brought up to date
    (when its card is published) and the team told (``MODELCARDS_NOTIFY``); never fails
    on a notification. Returns the review with the new sign-off.

    Args:
        registry: The model registry.
        book: The review store.
        card: The card the sign-off was given on.
    """
    from ._notify import notify_signoff_given

    state = book.state(card)
    sync_signoff_tag(registry, state)
    s = state.signoff
    if s is not None:
        notify_signoff_given(
            model=s.binding.model,
            version=s.binding.version,
            decision=s.decision,
            reviewer=s.reviewer,
            note=s.summary,
        )
    return state


def book_state_on(state: ReviewState, card: ModelCard) -> SignoffState:
    """The state of ``state``'s latest sign-off when judged against another card of the
    same version (e.g. the published one).

    Args:
        state: A version's review.
        card: The card to judge it against.
    """
    if state.signoff is None:
        return "none"
    if state.signoff.binding.changes_from(binding_of(card)):
        return "stale"
    return "approved" if state.signoff.decision == "approve" else "rejected"


def format_review(state: ReviewState) -> str:
    """A version's review as plain text, for the CLI. Every stored text (a visitor's
    comment, a case's name, a reviewer's reason) is printed inert, on its own line.

    Args:
        state: From ``ReviewBook.state``.
    """
    from ._format import terminal_text as t

    b = state.binding
    lines = [f"{t(b.model)} v{b.version}"]
    s = state.signoff
    if s is None:
        lines.append("Sign-off: none")
    else:
        lines.append(
            f"Sign-off: {state.signoff_state} ({s.decision} by {t(s.reviewer)}, "
            f"{_day(s.created)}, {t(s.app)}): {t(s.summary)}"
        )
        if state.changed:
            lines.append(f"  stale: changed since then: {t(', '.join(state.changed))}")
    undecided = len(state.undecided)
    lines.append(f"Findings: {len(state.findings)}, {undecided} without a decision")
    for f in state.findings:
        lines.append(f"  {f.id}  {f.kind.replace('_', ' ')}: {t(f.subject)}")
        lines.append(f"      {t(f.detail)}")
        d = state.decisions.get(f.id)
        lines.append(
            "      decision: not yet"
            if d is None
            else f"      decision: {d.decision.replace('_', ' ')} by {t(d.reviewer)}, "
            f"{_day(d.created)} ({t(d.app)}): {t(d.reason)}"
        )
    return "\n".join(lines)
