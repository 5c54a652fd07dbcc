"""Publishing a card to the registry, beside the version it describes.

``publish_card`` stores the three card files as run artifacts of the version under
``modelcards/card/<first 16 hex digits of the card's SHA-256>/`` (next to the profile,
evaluation split, spec and policy that registration stored), then sets the version tags

* ``modelcards.gate``: the card's policy verdict, ``pass``, ``fail``, ``inconclusive``
  or ``none``;
* ``modelcards.signoff``: ``approved``, ``rejected``, ``stale`` or ``none``
  (``signoff_state``);
* ``modelcards.card_published``: when, in UTC (ISO 8601);
* ``modelcards.card_sha256``: the SHA-256 of ``model_card.json`` as written, last;

and writes a short Markdown summary (verdict, largest gaps, where the card is) into the
version's description, between markers that keep the description people wrote.

The files go first and the tags last, each card in a folder of its own: a publish that
fails part way leaves the tags as they were (a previous card stays the published one,
complete), so no tag ever claims a card that is not there. Re-publishing makes the new
card the published one; the tags say which.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import posixpath
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

from ._registry import (
    ARTIFACT_DIR,
    PUBLISHED_END,
    PUBLISHED_START,
    TAG,
    ModelRef,
    _quiet,
    _reason,
    _unreachable,
    human_description,
)
from .errors import ArtifactError, ModelcardsError, RegistryError

if TYPE_CHECKING:  # pragma: no cover
    from ._card import ModelCard
    from ._pipeline import CardResult
    from ._registry import Registry

Gate = Literal["pass", "fail", "inconclusive", "none"]
Signoff = Literal["approved", "rejected", "stale", "none"]

CARD_DIR = f"{ARTIFACT_DIR}/card"
GATE_TAG = TAG + "gate"
SIGNOFF_TAG = TAG + "signoff"
PUBLISHED_TAG = TAG + "card_published"
CARD_TAG = TAG + "card_sha256"
#: Set in this order: the card's hash, which says a card exists, comes last.
PUBLISH_TAGS = (GATE_TAG, SIGNOFF_TAG, PUBLISHED_TAG, CARD_TAG)
#: The published files, by format.
CARD_FILES = {"html": "model_card.html", "markdown": "model_card.md", "json": "model_card.json"}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def card_sha256(card_json: bytes | str) -> str:
    """The SHA-256 of a card's JSON as written (``model_card.json``), hex.

    Cards are deterministic, so the same inputs on the same day give the same hash; it is
    what ``modelcards.card_sha256`` holds and what a sign-off binds to.

    Args:
        card_json: The bytes of ``model_card.json`` (text is encoded as UTF-8), e.g.
            ``render_json(card)``.

    >>> card_sha256(b"{}")[:12]
    '44136fa355b3'
    """
    data = card_json.encode() if isinstance(card_json, str) else card_json
    return hashlib.sha256(data).hexdigest()


def signoff_state(card: ModelCard) -> Signoff:
    """The sign-off of a version's card, for the ``modelcards.signoff`` tag: the review
    store's latest sign-off, judged against this card (``stale`` when it was given to
    another), or ``none`` without a store or a sign-off.

    Args:
        card: The card being published.
    """
    from ._review import current_signoff

    return current_signoff(card)


@dataclass(frozen=True)
class PublishedCard:
    """A card published with a registered version.

    Attributes:
        name: The registered model.
        version: The version it describes.
        sha256: The SHA-256 of ``json`` (the ``modelcards.card_sha256`` tag).
        gate: The card's policy verdict.
        signoff: The ``modelcards.signoff`` tag.
        published: When it was published (UTC).
        folder: Its artifact folder in the version's run, e.g. ``modelcards/card/1f2e...``.
        run_id: The version's run.
        html: ``model_card.html``.
        markdown: ``model_card.md``.
        json: ``model_card.json``.
    """

    name: str
    version: int
    sha256: str
    gate: Gate
    signoff: Signoff
    published: dt.datetime
    folder: str
    run_id: str
    html: str
    markdown: str
    json: str

    @property
    def uri(self) -> str:
        """The version, ``models:/NAME/VERSION``."""
        return f"models:/{self.name}/{self.version}"


def publish_card(
    card: CardResult | ModelCard,
    *,
    registry: Registry,
    files: Mapping[str, Path] | None = None,
) -> PublishedCard:
    """Store a card with the version it describes: files, tags and description.

    Args:
        card: A card of a registered version (``generate_card(model=...)``), or its result.
        registry: The registry the version is in.
        files: The card's files as ``write_card`` wrote them (``{"html": path, ...}``), so
            the published bytes are the written ones; None renders them here.

    Returns:
        The published card, as ``Registry.published_card`` reads it back.
    """
    from ._pipeline import CardResult, write_card

    model_card = card.card if isinstance(card, CardResult) else card
    reference = model_card.model_details.reference
    if reference is None:
        raise ModelcardsError(
            "This card was made from data, not from a registered version, so there is no "
            "version to publish it with.",
            hint="Make the card with --model models:/NAME/VERSION to publish it.",
        )
    ref = ModelRef.parse(reference)
    name, version = ref.name, int(ref.version or 0)
    with tempfile.TemporaryDirectory(prefix="modelcards-publish-") as tmp:
        paths = dict(files) if files is not None else write_card(model_card, tmp)
        staged = Path(tmp) / "card"
        staged.mkdir()
        try:
            for kind, file_name in CARD_FILES.items():
                (staged / file_name).write_bytes(Path(paths[kind]).read_bytes())
        except (KeyError, OSError) as exc:
            raise ModelcardsError(
                f"Cannot read the written card to publish it: {exc}.",
                hint="Pass the paths write_card returned, or files=None.",
            ) from exc
        sha = card_sha256((staged / CARD_FILES["json"]).read_bytes())
        folder = f"{CARD_DIR}/{sha[:16]}"
        with _quiet(), registry._reach():
            mv = registry.client.get_model_version(name, str(version))
            if not mv.run_id:
                raise RegistryError(
                    f"{reference} has no run to store its card with.",
                    hint="Register the version with modelcards (Registry.register).",
                )
            try:
                registry.client.log_artifacts(mv.run_id, str(staged), folder)
            except Exception as exc:  # each artifact store raises its own kinds
                if _unreachable(exc):
                    raise registry._unreachable_error(exc) from exc
                raise ArtifactError(
                    f"Cannot store the card with {reference} ({folder}/): {_reason(exc, tmp)}.",
                    hint="Check the artifact store (permissions, disk, network) and publish "
                    "again; no tag was changed, so the version shows no new card.",
                ) from exc
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        gate: Gate = model_card.policy.verdict
        signoff = signoff_state(model_card)
        values = {
            GATE_TAG: gate,
            SIGNOFF_TAG: signoff,
            PUBLISHED_TAG: now.isoformat(),
            CARD_TAG: sha,
        }
        description = _description(
            human_description(mv.description),
            card=model_card,
            sha=sha,
            folder=folder,
            run_id=mv.run_id,
            signoff=signoff,
            when=now,
        )
        _set_tags(registry, name, version, values, dict(mv.tags or {}), description)
        return PublishedCard(
            name=name,
            version=version,
            sha256=sha,
            gate=gate,
            signoff=signoff,
            published=now,
            folder=folder,
            run_id=mv.run_id,
            html=(staged / CARD_FILES["html"]).read_text(encoding="utf-8"),
            markdown=(staged / CARD_FILES["markdown"]).read_text(encoding="utf-8"),
            json=(staged / CARD_FILES["json"]).read_text(encoding="utf-8"),
        )


def _set_tags(
    registry: Registry,
    name: str,
    version: int,
    values: Mapping[str, str],
    before: Mapping[str, str],
    description: str,
) -> None:
    """Tags in order, then the description; on any failure the tags go back to what they
    were, so they never name a card half published."""
    client = registry.client
    try:
        with _quiet(), registry._reach():
            for key in PUBLISH_TAGS:
                client.set_model_version_tag(name, str(version), key, values[key])
            client.update_model_version(name, str(version), description=description)
    except BaseException as exc:
        from mlflow.exceptions import MlflowException

        with _quiet():
            for key in reversed(PUBLISH_TAGS):
                with contextlib.suppress(MlflowException, OSError):
                    if key in before:
                        client.set_model_version_tag(name, str(version), key, before[key])
                    else:
                        client.delete_model_version_tag(name, str(version), key)
        if isinstance(exc, MlflowException):
            raise RegistryError(
                f"Cannot tag models:/{name}/{version} with its published card: "
                f"{_reason(exc, None)}.",
                hint="Check the registry (permissions, disk, network) and publish again; "
                "its tags were put back as they were.",
            ) from exc
        raise


def _description(
    human: str,
    *,
    card: ModelCard,
    sha: str,
    folder: str,
    run_id: str,
    signoff: str,
    when: dt.datetime,
) -> str:
    """The version's description: what people wrote, then the published card's summary."""
    from ._format import markdown_text

    lines = [
        PUBLISHED_START,
        f"**Model card: release gate {card.policy.verdict.upper()}**, sign-off {signoff} "
        f"(published by modelcards {when:%Y-%m-%d %H:%M} UTC)",
        "",
        *(f"- {markdown_text(sentence)}" for sentence in card.summary),
        "",
        f"The card: artifacts `{folder}/{CARD_FILES['html']}` (also `{CARD_FILES['markdown']}`, "
        f"`{CARD_FILES['json']}`) of run `{run_id}`; SHA-256 `{sha}`.",
        PUBLISHED_END,
    ]
    body = "\n".join(lines)
    return f"{human}\n\n{body}" if human else body


def read_published(registry: Registry, ref: str | ModelRef) -> PublishedCard | None:
    """The card published with a version, checked; None when none was published.

    Args:
        registry: The registry.
        ref: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
    """
    import mlflow.artifacts

    name, version, _ = registry.resolve(ref)
    uri = f"models:/{name}/{version}"
    hint = (
        f"Publish the card again: modelcards card --model {uri} --publish. A card the "
        "tags name is never taken as absent."
    )
    with _quiet(), registry._reach():
        mv = registry.client.get_model_version(name, str(version))
        tags = dict(mv.tags or {})
        sha = tags.get(CARD_TAG)
        if sha is None:
            return None
        if not _SHA256.match(sha):
            raise ArtifactError(
                f"The version tag {CARD_TAG} of {uri} is not a SHA-256: {sha[:80]!r}.", hint=hint
            )
        gate, signoff = tags.get(GATE_TAG, "none"), tags.get(SIGNOFF_TAG, "none")
        for key, value, allowed in (
            (GATE_TAG, gate, get_args(Gate)),
            (SIGNOFF_TAG, signoff, get_args(Signoff)),
        ):
            if value not in allowed:
                raise ArtifactError(
                    f"The version tag {key} of {uri} holds {value[:80]!r}, not one of "
                    f"{', '.join(allowed)}.",
                    hint=hint,
                )
        try:
            published = dt.datetime.fromisoformat(tags.get(PUBLISHED_TAG, ""))
        except ValueError:
            raise ArtifactError(
                f"The version tag {PUBLISHED_TAG} of {uri} is not a date and time: "
                f"{tags.get(PUBLISHED_TAG, '')[:80]!r}.",
                hint=hint,
            ) from None
        if not mv.run_id:
            raise ArtifactError(f"{uri} has a published card but no run holding it.", hint=hint)
        run = registry.client.get_run(mv.run_id)
        folder = f"{CARD_DIR}/{sha[:16]}"
        base = f"{run.info.artifact_uri}/{folder}"
        try:
            listed = {
                posixpath.basename(i.path): i.is_dir
                for i in mlflow.artifacts.list_artifacts(
                    artifact_uri=base, tracking_uri=registry.tracking_uri
                )
            }
        except Exception as exc:  # each artifact store raises its own kinds
            raise ArtifactError(
                f"Cannot list the published card {folder}/ of {uri}: {_reason(exc, None)}.",
                hint=hint,
            ) from exc
        texts: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="modelcards-") as tmp:
            for kind, file_name in CARD_FILES.items():
                where = f"{folder}/{file_name}"
                if file_name not in listed:
                    raise ArtifactError(
                        f"{where} of {uri} is missing, but its tag {CARD_TAG} says the card "
                        "was published.",
                        hint=hint,
                    )
                if listed[file_name]:
                    raise ArtifactError(f"{where} of {uri} is a folder, not a file.", hint=hint)
                try:
                    local = Path(
                        mlflow.artifacts.download_artifacts(
                            artifact_uri=f"{base}/{file_name}",
                            dst_path=tmp,
                            tracking_uri=registry.tracking_uri,
                        )
                    )
                    data = local.read_bytes()
                    if kind == "json" and card_sha256(data) != sha:
                        raise ArtifactError(
                            f"{where} of {uri} was altered after publishing (its SHA-256 "
                            f"differs from the tag {CARD_TAG}, {sha[:12]}...).",
                            hint=hint,
                        )
                    texts[kind] = data.decode("utf-8")
                except ArtifactError:
                    raise
                except Exception as exc:  # each artifact store raises its own kinds
                    raise ArtifactError(
                        f"Cannot read {where} of {uri}: {_reason(exc, tmp)}.", hint=hint
                    ) from exc
    return PublishedCard(
        name=name,
        version=version,
        sha256=sha,
        gate=cast(Gate, gate),
        signoff=cast(Signoff, signoff),
        published=published,
        folder=folder,
        run_id=mv.run_id,
        html=texts["html"],
        markdown=texts["markdown"],
        json=texts["json"],
    )
