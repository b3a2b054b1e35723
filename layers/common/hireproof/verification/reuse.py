"""Reuse detection: one identity document or one image behind two onboardings.

Engines return keyed fingerprints (see `engine.EngineResult`): one of the document's issuer and
number, and one of each image's pixels. After the policy has decided an attempt, its
fingerprints are written to the onboarding table, one item per fingerprint and onboarding:

    pk = "FINGERPRINT#<kind>#<hash>", sk = <onboarding_id>, first_seen_at, session_id, expires_at

A query on the fingerprint's pk then lists every onboarding that showed it. When another
onboarding showed it first, the decision becomes FAILED with `document_reused` or
`image_reused`. A second attempt of the same onboarding (a retake, the device recipient's
verification) is not reuse.

The first onboarding to show a fingerprint keeps it: a hire whose document someone else
used later still passes their own later verifications, and the later onboarding fails.
The fingerprints are written before they are read. So when two onboardings submit the
same document at the same moment, at least one of them finds the other, and with equal
timestamps both fail.

Image fingerprints match exact pixels only (`images.fingerprint_pixels`): the same file
uploaded again, also after a lossless re-save. A second photograph of the same face or
card does not match, because sensor noise alone makes its pixels differ. The same face under two
names is a different check (a face search), which no engine runs yet.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from hireproof import audit, aws
from hireproof.config import require_env
from hireproof.models import Decision
from hireproof.verification.engine import EngineResult
from hireproof.verification.policy import VerificationDecision

logger = Logger(child=True)

PK_PREFIX = "FINGERPRINT#"
# NOTE: the one-year retention is an estimate of how long a reused document stays worth
# finding. The onboarding table has no TTL yet, so expires_at only takes effect once it does.
RETENTION_SECONDS = 365 * 86_400
_ACTOR = "hireproof"


class FingerprintKind(StrEnum):
    """Source of a fingerprint: the document number or one of the images."""

    DOCUMENT_NUMBER = "document_number"
    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    SELFIE = "selfie"


class ReuseReason(StrEnum):
    """Failure reason for a fingerprint another onboarding showed first."""

    DOCUMENT_REUSED = "document_reused"
    IMAGE_REUSED = "image_reused"


_REASON_BY_KIND = {
    FingerprintKind.DOCUMENT_NUMBER: ReuseReason.DOCUMENT_REUSED,
    FingerprintKind.ID_FRONT: ReuseReason.IMAGE_REUSED,
    FingerprintKind.ID_BACK: ReuseReason.IMAGE_REUSED,
    FingerprintKind.SELFIE: ReuseReason.IMAGE_REUSED,
}


class Fingerprint(BaseModel):
    """One keyed fingerprint of an attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FingerprintKind
    value: str = Field(min_length=16, repr=False)

    @property
    def pk(self) -> str:
        """Return the onboarding table partition key of this fingerprint."""
        return f"{PK_PREFIX}{self.kind.value}#{self.value}"

    @property
    def reason(self) -> ReuseReason:
        """Return the failure reason when another onboarding showed this fingerprint first."""
        return _REASON_BY_KIND[self.kind]


class Reuse(BaseModel):
    """A fingerprint of this attempt that other onboardings showed first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: Fingerprint
    other_onboarding_ids: tuple[str, ...]


def _table() -> Any:
    return aws.table(require_env("ONBOARDING_TABLE"))


def fingerprints_of(result: EngineResult) -> tuple[Fingerprint, ...]:
    """Return the fingerprints an engine computed for one attempt, document number first."""
    values = [
        (FingerprintKind.DOCUMENT_NUMBER, result.document_number_fingerprint),
        (FingerprintKind.ID_FRONT, result.image_fingerprints.id_front),
        (FingerprintKind.ID_BACK, result.image_fingerprints.id_back),
        (FingerprintKind.SELFIE, result.image_fingerprints.selfie),
    ]
    return tuple(Fingerprint(kind=kind, value=value) for kind, value in values if value)


def record(fingerprints: Iterable[Fingerprint], *, onboarding_id: str, session_id: str) -> None:
    """Store each fingerprint under this onboarding; one already stored keeps its first_seen_at.

    The put is conditional on the item being new, so a retried submit never moves an
    onboarding's first sighting later.
    """
    expires_at = int(time.time()) + RETENTION_SECONDS
    for fingerprint in fingerprints:
        item = {
            "pk": fingerprint.pk,
            "sk": onboarding_id,
            "kind": fingerprint.kind.value,
            "session_id": session_id,
            # ISO 8601 UTC with milliseconds: compared as strings in find_reuse.
            "first_seen_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "expires_at": expires_at,
        }
        try:
            _table().put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _sightings(fingerprint: Fingerprint) -> dict[str, str]:
    """Return onboarding id -> first_seen_at of every onboarding that showed a fingerprint."""
    sightings: dict[str, str] = {}
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": fingerprint.pk},
        "ProjectionExpression": "sk, first_seen_at",
        # Consistent reads see a concurrent attempt's fingerprints written before this query.
        "ConsistentRead": True,
    }
    while True:
        page = _table().query(**kwargs)
        for item in page["Items"]:
            sightings[str(item["sk"])] = str(item["first_seen_at"])
        if "LastEvaluatedKey" not in page:
            return sightings
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def find_reuse(fingerprints: Iterable[Fingerprint], *, onboarding_id: str) -> list[Reuse]:
    """Return the fingerprints that another onboarding showed first (or at the same moment).

    A fingerprint this onboarding has not stored yet counts as seen now, so every other
    sighting is earlier.
    """
    found: list[Reuse] = []
    for fingerprint in fingerprints:
        sightings = _sightings(fingerprint)
        mine = sightings.pop(onboarding_id, None)
        earlier = sorted(other for other, seen in sightings.items() if mine is None or seen <= mine)
        if earlier:
            found.append(Reuse(fingerprint=fingerprint, other_onboarding_ids=tuple(earlier)))
    return found


def apply(decision: VerificationDecision, reuses: Sequence[Reuse]) -> VerificationDecision:
    """Return the decision FAILED with the reuse reasons first, or unchanged without reuse."""
    if not reuses:
        return decision
    reasons: list[str] = []
    for reuse in reuses:
        if reuse.fingerprint.reason.value not in reasons:
            reasons.append(reuse.fingerprint.reason.value)
    reasons.extend(reason for reason in decision.reasons if reason not in reasons)
    return decision.model_copy(update={"decision": Decision.FAILED, "reasons": tuple(reasons)})


def _audit(reuses: Sequence[Reuse], *, onboarding_id: str, session_id: str) -> None:
    """Audit each reuse on both onboardings, so the earlier one is investigated too."""
    for reuse in reuses:
        kind = reuse.fingerprint.kind.value
        reason = reuse.fingerprint.reason.value
        for other in reuse.other_onboarding_ids:
            logger.warning(
                "fingerprint seen under another onboarding",
                extra={"onboarding_id": onboarding_id, "other_onboarding_id": other, "kind": kind},
            )
            audit.record(
                subject_id=onboarding_id,
                action="fingerprint_reused",
                outcome=reason,
                actor=_ACTOR,
                reasons=[reason],
                details={"kind": kind, "session_id": session_id, "other_onboarding_id": other},
            )
            audit.record(
                subject_id=other,
                action="fingerprint_reused_later",
                outcome=reason,
                actor=_ACTOR,
                reasons=[reason],
                details={"kind": kind, "other_onboarding_id": onboarding_id},
            )


def record_and_check(
    result: EngineResult, decision: VerificationDecision, *, onboarding_id: str, session_id: str
) -> VerificationDecision:
    """Store this attempt's fingerprints, then fail the decision if another onboarding showed one first.

    Returns the policy's decision unchanged when no fingerprint is reused.
    """
    fingerprints = fingerprints_of(result)
    record(fingerprints, onboarding_id=onboarding_id, session_id=session_id)
    reuses = find_reuse(fingerprints, onboarding_id=onboarding_id)
    if reuses:
        _audit(reuses, onboarding_id=onboarding_id, session_id=session_id)
    return apply(decision, reuses)
