"""Gated promotion: an alias moves to a version only when its release is signed off.

``promotion_check`` says whether a version may take an alias: it needs a published card
(``card --publish``) whose gate passed and a current approved sign-off on that card (not
stale: the same version, evaluation data, policy and card). ``promote`` moves the alias
when it may, or, with ``force=True`` and a reason, moves it anyway and records who, when
and why in the version tag ``modelcards.promotion_override`` (the next card shows it).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._card import ModelCard, PromotionOverride
from ._findings import OVERRIDE_TAG, Reviewer, SignoffState, overrides_from_tags
from ._review import ReviewBook
from .errors import ReviewError

if TYPE_CHECKING:  # pragma: no cover
    from ._registry import Registry


@dataclass(frozen=True)
class PromotionCheck:
    """Whether a version may take an alias, and what is missing when not.

    Attributes:
        model: The registered model.
        version: The version.
        gate: The published card's gate (``pass``, ``fail``, ``inconclusive``, ``none``),
            or None when no card is published.
        signoff: The sign-off's state on the published card (``none`` without a card).
        missing: What stands in the way, in words; empty when the version may be promoted.
    """

    model: str
    version: int
    gate: str | None
    signoff: SignoffState
    missing: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """Whether nothing is missing."""
        return not self.missing


@dataclass(frozen=True)
class Promotion:
    """An alias moved.

    Attributes:
        model: The registered model.
        alias: The alias.
        version: The version it points to now.
        previous: The version it pointed to before, if any.
        forced: The override recorded, when the gate was overridden.
    """

    model: str
    alias: str
    version: int
    previous: int | None
    forced: PromotionOverride | None = None


def promotion_check(registry: Registry, book: ReviewBook, ref: str) -> PromotionCheck:
    """What a version has and lacks for promotion.

    Args:
        registry: The model registry.
        book: The review store.
        ref: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``.
    """
    name, version, _ = registry.resolve(ref)
    uri = f"models:/{name}/{version}"
    published = registry.published_card(uri)
    if published is None:
        return PromotionCheck(
            name,
            version,
            None,
            "none",
            [f"a published card (modelcards card --model {uri} --publish)"],
        )
    missing = []
    if published.gate != "pass":
        missing.append(f"a passing gate (the published card's gate is {published.gate})")
    state = book.state(ModelCard.model_validate_json(published.json))
    if state.signoff_state == "none":
        missing.append(f"an approved sign-off (none yet: modelcards review {uri})")
    elif state.signoff_state == "rejected":
        s = state.signoff
        assert s is not None
        missing.append(f"an approved sign-off ({s.reviewer} rejected it: {s.summary})")
    elif state.signoff_state == "stale":
        missing.append(
            "a current approved sign-off (the sign-off is stale: "
            f"{', '.join(state.changed)} changed since)"
        )
    return PromotionCheck(name, version, published.gate, state.signoff_state, missing)


def promote(
    registry: Registry,
    book: ReviewBook,
    ref: str,
    *,
    alias: str,
    force: bool = False,
    reason: str | None = None,
    reviewer: Reviewer | None = None,
) -> Promotion | PromotionCheck:
    """Move ``alias`` to the version when it may be promoted; otherwise return the check
    that says what is missing. With ``force``, move it anyway and record the override.

    Args:
        registry: The model registry.
        book: The review store.
        ref: The version, ``models:/NAME/VERSION`` (an alias is resolved first).
        alias: The alias to move, e.g. ``champion``.
        force: Override the gate (needs ``reason`` and ``reviewer``).
        reason: Why the gate is overridden.
        reviewer: The reviewer who overrides it (from ``ReviewBook.authenticate``).
    """
    alias = _alias(alias)
    check = promotion_check(registry, book, ref)
    if not check.allowed and not force:
        return check
    forced = None
    if force and not check.allowed:
        if not reason or not reason.strip():
            raise ReviewError(
                "--force needs --reason: an override says why.",
                hint="For example --reason 'hotfix for incident 123, review to follow'.",
            )
        if reviewer is None:
            raise ReviewError("An override needs a named reviewer.", hint="Add --reviewer NAME.")
        forced = PromotionOverride(
            alias=alias,
            reviewer=reviewer.name,
            date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            reason=reason.strip(),
        )
    name, version = check.model, check.version
    previous = _alias_target(registry, name, alias)
    if forced is not None:
        # Tag first: an alias never moves past the gate without its record.
        from ._registry import _quiet

        with _quiet(), registry._reach():
            mv = registry.client.get_model_version(name, str(version))
            before = overrides_from_tags(dict(mv.tags or {}))
            entries = [o.model_dump() for o in [*before, forced]]
            registry.client.set_model_version_tag(
                name, str(version), OVERRIDE_TAG, json.dumps(entries)
            )
    registry.set_alias(name, alias, version)
    return Promotion(name, alias, version, previous, forced)


def promotable(registry: Registry, book: ReviewBook, name: str) -> list[PromotionCheck]:
    """Every version of a model, newest first, with what it has and lacks for promotion.

    Args:
        registry: The model registry.
        book: The review store.
        name: The registered model.
    """
    found = next((m for m in registry.list_models() if m.name == name), None)
    if found is None:
        return []
    return [promotion_check(registry, book, f"models:/{name}/{v.version}") for v in found.versions]


def _alias_target(registry: Registry, name: str, alias: str) -> int | None:
    found = next((m for m in registry.list_models() if m.name == name), None)
    return None if found is None else found.aliases.get(alias)


def _alias(alias: str) -> str:
    alias = (alias or "").strip().removeprefix("@")
    if not alias or not alias.replace("-", "").replace("_", "").isalnum():
        raise ReviewError(
            f"{alias!r} is not an alias name.",
            hint="Use letters, digits, - and _, e.g. --alias champion.",
        )
    if alias.lower() == "latest" or (alias[0] in "vV" and alias[1:].isdigit()):
        raise ReviewError(
            f"MLflow reserves the alias {alias!r}.", hint="Pick another name, e.g. champion."
        )
    return alias
