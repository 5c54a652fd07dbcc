"""What a release review is about, without the store: a card's findings, the binding a
sign-off is made to, and the card's Review section.

* **Findings** come from a card (every failing or inconclusive policy check, every
  disparity beyond ``FindingLevels``, every failing release test) and from the store
  (every stakeholder flag on the version). A finding's id hashes what it is about (its
  kind, check or metric, and group), so the next card of the same version has the same
  ids and earlier decisions still apply to them.
* **Binding**: a sign-off records the version, the evaluation data's SHA-256, the
  policy's SHA-256 and the card's digest (``card_digest``). When any of them differs
  from the current card, the sign-off is stale and no longer counts.

Decisions, sign-offs and reviewers live in the store (``_review``). This module imports
no database library: every card needs its Review section, and most cards no store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ._card import ModelCard, PromotionOverride, Review, ReviewedFinding, SignoffRecord
from ._metrics import DISPARITIES
from .errors import ReviewError

FindingKind = Literal["policy_check", "release_test", "flag", "disparity"]
DecisionKind = Literal["accept", "block", "accept_with_mitigation"]
SignoffDecision = Literal["approve", "reject"]
SignoffState = Literal["approved", "rejected", "stale", "none"]
#: Where a decision was made.
ReviewApp = Literal["demo", "cli"]

DECISIONS: tuple[DecisionKind, ...] = get_args(DecisionKind)
#: The version tag ``promote --force`` writes (JSON: alias, reviewer, date, reason).
OVERRIDE_TAG = "modelcards.promotion_override"
ENV_DIFFERENCE = "MODELCARDS_FINDING_DIFFERENCE"
ENV_RATIO = "MODELCARDS_FINDING_RATIO"


# -- what a review is about -------------------------------------------------------------
@dataclass(frozen=True)
class FindingLevels:
    """How large a disparity must be to become a finding on its own.

    Attributes:
        difference: A difference of rates beyond this (in absolute value), for a
            classifier (default 0.1). A regression's differences are in the target's
            units, so only its ratios are judged.
        ratio: A ratio below this (default 0.8, the four-fifths rule).
    """

    difference: float = 0.1
    ratio: float = 0.8

    @classmethod
    def from_env(cls) -> FindingLevels:
        """The levels ``MODELCARDS_FINDING_DIFFERENCE`` and ``MODELCARDS_FINDING_RATIO``
        set (the defaults where unset), so the CLI, the demo and the card agree."""
        return cls(
            difference=_level(ENV_DIFFERENCE, cls.difference, high=1.0),
            ratio=_level(ENV_RATIO, cls.ratio, high=1.0),
        )


@dataclass(frozen=True)
class Finding:
    """Something a reviewer must decide on before signing off.

    Attributes:
        id: Stable across cards of the same version, e.g. ``"F-3a9c0e1b2d4f"``.
        kind: ``"policy_check"``, ``"release_test"``, ``"flag"`` or ``"disparity"``.
        subject: What it is about, e.g. the check's text or the disparity's name.
        detail: Why it is a finding, in a sentence.
    """

    id: str
    kind: FindingKind
    subject: str
    detail: str


@dataclass(frozen=True)
class FailedCase:
    """A release test (edge case) that failed on the version, given by the caller (the
    card's own Known cases are findings already).

    Attributes:
        name: The case's name.
        expected: The outcome expected.
        actual: The outcome the version gave.
    """

    name: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Binding:
    """What a sign-off is bound to.

    Attributes:
        model: The registered model's name.
        version: The exact version.
        data_sha256: The evaluation data's SHA-256.
        policy_sha256: The policy text's SHA-256, or ``"none"`` without a policy.
        card_sha256: The card's digest (``card_digest``).
    """

    model: str
    version: int
    data_sha256: str
    policy_sha256: str
    card_sha256: str

    def changes_from(self, other: Binding) -> list[str]:
        """What differs from ``other``, in words (empty when nothing does).

        Args:
            other: The binding to compare with (the current card's).
        """
        out = []
        if (self.model, self.version) != (other.model, other.version):
            out.append(f"the version ({self.model} v{self.version} -> v{other.version})")
        if self.data_sha256 != other.data_sha256:
            out.append("the evaluation data")
        if self.policy_sha256 != other.policy_sha256:
            out.append("the policy")
        if self.card_sha256 != other.card_sha256:
            out.append("the card")
        return out


@dataclass(frozen=True)
class Reviewer:
    """A named reviewer who proved who they are (password or single sign-on).

    Attributes:
        name: The account's name.
        via: ``"password"`` or ``"sso"``.
    """

    name: str
    via: Literal["password", "sso"]


@dataclass(frozen=True)
class Decision:
    """One recorded decision on a finding (never changed; a later one supersedes it).

    Attributes:
        finding_id: The finding decided on.
        finding_kind: Its kind, when decided.
        finding_subject: Its subject, when decided.
        decision: ``"accept"``, ``"block"`` or ``"accept_with_mitigation"``.
        reason: The reviewer's written reason (the mitigation, for that decision).
        reviewer: Who decided.
        app: Where: ``"demo"`` or ``"cli"``.
        created: When (UTC).
    """

    finding_id: str
    finding_kind: str
    finding_subject: str
    decision: DecisionKind
    reason: str
    reviewer: str
    app: str
    created: dt.datetime


@dataclass(frozen=True)
class Signoff:
    """One recorded overall sign-off.

    Attributes:
        binding: What it was bound to.
        decision: ``"approve"`` or ``"reject"``.
        summary: The reviewer's summary.
        reviewer: Who signed.
        app: Where: ``"demo"`` or ``"cli"``.
        created: When (UTC).
    """

    binding: Binding
    decision: SignoffDecision
    summary: str
    reviewer: str
    app: str
    created: dt.datetime


@dataclass(frozen=True)
class ReviewState:
    """A version's review as it stands for one card.

    Attributes:
        binding: The current card's binding.
        findings: Every finding, in the card's order.
        decisions: The latest decision per finding id.
        history: Every decision on the version, oldest first.
        signoff: The latest sign-off on the version, if any.
        signoff_state: ``"approved"`` or ``"rejected"`` when the latest sign-off is bound
            to the current card, ``"stale"`` when not, ``"none"`` without one.
        changed: What changed since the sign-off, when it is stale.
    """

    binding: Binding
    findings: list[Finding]
    decisions: dict[str, Decision]
    history: list[Decision]
    signoff: Signoff | None
    signoff_state: SignoffState
    changed: list[str] = field(default_factory=list)

    @property
    def undecided(self) -> list[Finding]:
        """The findings without a decision yet."""
        return [f for f in self.findings if f.id not in self.decisions]

    @property
    def blocked(self) -> list[Finding]:
        """The findings whose latest decision is ``block``."""
        return [
            f
            for f in self.findings
            if f.id in self.decisions and self.decisions[f.id].decision == "block"
        ]

    @property
    def approved(self) -> bool:
        """Whether a current (not stale) approving sign-off stands."""
        return self.signoff_state == "approved"

    def finding(self, finding_id: str) -> Finding:
        """The finding with this id; a ReviewError naming the known ids otherwise.

        Args:
            finding_id: The id, e.g. ``"F-3a9c0e1b2d4f"``.
        """
        for f in self.findings:
            if f.id == finding_id:
                return f
        known = ", ".join(f.id for f in self.findings) or "none"
        raise ReviewError(
            f"{self.binding.model} v{self.binding.version} has no finding {finding_id!r}.",
            hint=f"Its findings: {known}. `modelcards review REF` lists them.",
        )


def finding_id(kind: FindingKind, *parts: str) -> str:
    """A finding's stable id: a hash of its kind and what it is about.

    Args:
        kind: The finding's kind.
        parts: What identifies it within the kind (check text; metric and groups; ...).

    >>> finding_id("policy_check", "demographic_parity_ratio >= 0.8")
    'F-91d63c9a94af'
    """
    digest = hashlib.sha256("\x1f".join([kind, *parts]).encode()).hexdigest()
    return f"F-{digest[:12]}"


def find_findings(
    card: ModelCard,
    *,
    flags: Iterable[Mapping[str, Any]] = (),
    failed_cases: Iterable[FailedCase] = (),
    levels: FindingLevels | None = None,
) -> list[Finding]:
    """Every finding on a card's version: policy checks, disparities, release tests, flags.

    Args:
        card: The version's card.
        flags: Stakeholder flags (``Store.flags`` rows); only the card's version's count.
        failed_cases: Release tests (edge cases) that failed on the version.
        levels: When a disparity is a finding (default ``FindingLevels()``).
    """
    levels = levels or FindingLevels.from_env()
    out: list[Finding] = []
    for c in card.policy.checks:
        if c.verdict != "pass":
            out.append(
                Finding(finding_id("policy_check", c.check), "policy_check", c.check, c.reason)
            )
    regression = card.model_details.task == "regression"
    for d in card.fairness.disparities:
        # A classifier's named summaries (demographic parity, equal opportunity, equalized
        # odds) say what its per-metric gaps would say again; a regression's error ratios.
        if d.value is None or (
            d.metric not in DISPARITIES if not regression else d.kind != "ratio"
        ):
            continue
        beyond = d.value < levels.ratio if d.kind == "ratio" else abs(d.value) > levels.difference
        if not beyond:
            continue
        groups = " vs ".join(g.group for g in d.compared) if d.compared else "all groups"
        name = d.metric if d.metric in DISPARITIES else f"{d.metric} {d.kind}"
        subject = f"{name} by {' x '.join(d.features)}"
        level = f"below {levels.ratio:g}" if d.kind == "ratio" else f"beyond {levels.difference:g}"
        out.append(
            Finding(
                finding_id("disparity", d.metric, d.kind, ",".join(d.features), d.reference or ""),
                "disparity",
                subject,
                f"{d.value:.3f} ({groups}) is {level}.",
            )
        )
    # Release tests: the card's Known cases that failed or could not run, then any given.
    for k in card.known_cases:
        if k.result == "fail":
            detail = f"expected {k.expected}, the version answered {k.predicted} ({k.source})."
        elif k.result == "cannot run":
            detail = f"cannot run on this version: {k.problem} ({k.source})."
        else:
            continue
        out.append(
            Finding(finding_id("release_test", k.name, k.source), "release_test", k.name, detail)
        )
    for case in failed_cases:
        out.append(
            Finding(
                finding_id("release_test", case.name, "given"),
                "release_test",
                case.name,
                f"expected {case.expected}, the version answered {case.actual}.",
            )
        )
    version = card.model_details.version
    for f in flags:
        if version is not None and int(f["version"]) != version:
            continue
        out.append(
            Finding(
                finding_id("flag", str(f["id"])),
                "flag",
                f"flag #{f['id']} on answer {f['prediction']!r}",
                str(f["comment"]),
            )
        )
    return out


# -- the card's digest and the binding --------------------------------------------------
def card_digest(card: ModelCard | Mapping[str, Any]) -> str:
    """The SHA-256 of what a reviewer reviews on a card: its canonical JSON without what
    changes by itself.

    Left out: the Review section (the review's outcome, not its input), the date it was
    generated, the alias and reference it was reached by (promotion moves aliases), the
    version's description and ``modelcards.*`` tags (publishing and promoting write
    those). Everything else (numbers, verdicts, data, written sections) counts.

    Args:
        card: A card, or a card's JSON as a mapping (e.g. a published ``model_card.json``).
    """
    data: dict[str, Any] = (
        card.model_dump(mode="json")
        if isinstance(card, ModelCard)
        else json.loads(json.dumps(card))
    )
    data.pop("review", None)
    if isinstance(data.get("provenance"), dict):
        data["provenance"].pop("generated", None)
    details = data.get("model_details")
    if isinstance(details, dict):
        for key in ("alias", "reference", "version_description"):
            details.pop(key, None)
        tags = details.get("tags") or {}
        details["tags"] = {k: v for k, v in tags.items() if not k.startswith("modelcards.")}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def binding_of(card: ModelCard) -> Binding:
    """What a sign-off on this card is bound to.

    Args:
        card: A card of a registered version.
    """
    version = card.model_details.version
    if version is None:
        raise ReviewError(
            f"The card of {card.model_details.name!r} names no registered version, and "
            "only a registered version can be reviewed.",
            hint="Generate the card with --model models:/NAME/VERSION.",
        )
    return Binding(
        model=card.model_details.name,
        version=version,
        data_sha256=card.evaluation_data.provenance.sha256,
        policy_sha256=card.policy.sha256 or "none",
        card_sha256=card_digest(card),
    )


def review_section(
    card: ModelCard,
    state: ReviewState | None = None,
    *,
    overrides: Sequence[PromotionOverride] = (),
) -> Review:
    """The card's Review section: each finding with its decision, and the sign-off.

    Args:
        card: The card (its findings count when there is no ``state``).
        state: The version's review from the store; None when there is no store.
        overrides: Promotions forced past the gate (``overrides_from_tags``).
    """
    findings = state.findings if state is not None else find_findings(card)
    decisions = state.decisions if state is not None else {}
    reviewed = []
    for f in findings:
        d = decisions.get(f.id)
        reviewed.append(
            ReviewedFinding(
                id=f.id,
                kind=f.kind,
                subject=f.subject,
                detail=f.detail,
                decision=d.decision if d else None,
                reason=d.reason if d else None,
                reviewer=d.reviewer if d else None,
                date=_day(d.created) if d else None,
            )
        )
    signoff = None
    status: Literal["not reviewed", "in review", "approved", "rejected", "stale"] = (
        "in review" if decisions else "not reviewed"
    )
    if state is not None and state.signoff is not None:
        s = state.signoff
        sign_state: Literal["approved", "rejected", "stale"] = (
            "stale" if state.signoff_state == "stale" else "approved"
            if s.decision == "approve" else "rejected"
        )  # fmt: skip
        signoff = SignoffRecord(
            decision=s.decision,
            state=sign_state,
            reviewer=s.reviewer,
            date=_day(s.created),
            summary=s.summary,
            changed=state.changed,
        )
        status = sign_state
    return Review(status=status, findings=reviewed, signoff=signoff, overrides=list(overrides))


def overrides_from_tags(tags: Mapping[str, str]) -> list[PromotionOverride]:
    """The forced promotion a version's tags record, if any.

    Args:
        tags: The version's tags.
    """
    raw = tags.get(OVERRIDE_TAG)
    if not raw:
        return []
    try:
        data = json.loads(raw)
        entries = data if isinstance(data, list) else [data]
        return [PromotionOverride.model_validate(e) for e in entries]
    except ValueError:  # a hand-edited tag: the card says so rather than failing
        return [PromotionOverride(alias="?", reviewer="?", date="?", reason=f"unreadable: {raw}")]


def _level(env: str, default: float, *, high: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= high:
        raise ReviewError(
            f"{env}={raw!r} is not a number above 0 and at most {high:g}.",
            hint=f"Set it to e.g. {default:g}, or unset it for the default.",
        )
    return value


def _day(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
