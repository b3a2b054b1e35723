"""Verification sessions as stored in the verification table, and the hire-facing API shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hireproof import aws
from hireproof.models import Decision, VerificationPurpose


class SessionStatus(StrEnum):
    """Life cycle of one verification session."""

    INVITED = "INVITED"
    IN_PROGRESS = "IN_PROGRESS"
    DECIDED = "DECIDED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


OPEN_STATUSES = frozenset({SessionStatus.INVITED, SessionStatus.IN_PROGRESS})


class EvidenceKind(StrEnum):
    """Kind of image the hire uploads, in the order the page requests them."""

    ID_FRONT = "id_front"
    ID_BACK = "id_back"
    SELFIE = "selfie"


class NextStep(StrEnum):
    """Next screen of the verification page after a decision."""

    CREDENTIAL_PENDING = "credential_pending"
    """PASSED onboarding: the page polls GET /verify/credential."""
    DONE = "done"
    """PASSED for a purpose that issues no credential (device recipient, re-verification)."""
    UNDER_REVIEW = "under_review"
    CONTACT_HR = "contact_hr"
    CONTACT_HELP_DESK = "contact_help_desk"
    """A recovery that did not pass: the IT help desk, not HR, handles account access."""
    CONTINUE = "continue"
    """A sign-in: the page goes on to `continue_url`, which redirects to the relying party."""
    RECOVERY_CHOICE = "recovery_choice"
    """PASSED self-service recovery: the person chooses a password or an MFA reset."""
    RECOVERY_AGENT = "recovery_agent"
    """PASSED help desk recovery: the agent resets, and the page polls for the credential."""


def session_id_for(onboarding_id: str, purpose: VerificationPurpose) -> str:
    """Build the session id: one session per onboarding and purpose."""
    return f"{onboarding_id}.{purpose.value}"


class Session(BaseModel):
    """One verification session item. Times are epoch seconds, as the table's TTL needs."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: str
    onboarding_id: str
    purpose: VerificationPurpose
    status: SessionStatus
    locale: str = "en"
    token_hash: str = Field(repr=False)
    token_expires_at: int
    task_token: str | None = Field(default=None, repr=False)
    attempts_left: int
    reminders_sent: int = 0
    uploads_issued: int = 0
    evidence: dict[EvidenceKind, str] = Field(default_factory=dict)
    liveness_session_id: str | None = None
    decision: Decision | None = None
    reasons: list[str] = Field(default_factory=list)
    unchecked: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    document_address_matches_home: bool | None = None
    credential_kind: str | None = None
    credential_expires_at: str | None = None
    credential_shown: bool = False
    has_credential: bool = False
    document_type: str | None = None
    document_country: str | None = None
    decoy: bool = False
    """Started for an e-mail with no eligible person: it runs like any session and always fails."""
    continue_path: str | None = None
    recovery_id: str | None = None
    recovery_channel: str | None = None
    decided_at: int | None = None
    created_at: int
    expires_at: int

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Session:
        """Build a session from a DynamoDB item; the ciphertext itself is never loaded into it."""
        data = aws.plain({key: value for key, value in item.items() if key != "credential_ciphertext"})
        data["has_credential"] = "credential_ciphertext" in item
        return cls.model_validate(data)

    def token_expires(self) -> dt.datetime:
        """Return when the current invitation link stops working."""
        return dt.datetime.fromtimestamp(self.token_expires_at, dt.UTC)

    def task_output(self) -> dict[str, Any]:
        """Build the SendTaskSuccess output of a decided session, in the workflow's contract."""
        if self.decision is None:
            raise ValueError(f"session {self.session_id} has no decision yet")
        return {
            "session_id": self.session_id,
            "decision": self.decision.value,
            "reasons": list(self.reasons),
            "scores": dict(self.scores),
            "document_address": {"matches_home": self.document_address_matches_home},
        }


class InviteResult(BaseModel):
    """Outcome of one invitation or reminder, returned to the onboarding workflow."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    reminders_sent: int
    reminders_left: int
    status: SessionStatus
    email_sent: bool


class Credential(BaseModel):
    """A one-time credential, decrypted for its single reveal."""

    model_config = ConfigDict(frozen=True)

    kind: str
    value: str = Field(repr=False)
    expires_at: str | None = Field(description="ISO 8601 in UTC; None when the credential does not expire.")


class DecisionRecord(BaseModel):
    """A verification decision as the session stores it and the workflow receives it."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    reasons: list[str]
    unchecked: list[str] = Field(
        default_factory=list, description="Checks the engine skipped because the stage allows it."
    )
    scores: dict[str, float]
    document_address_matches_home: bool | None = None
    document_type: str | None = Field(
        default=None, description="Kind of document shown (driver_license, ...), kept as evidence metadata."
    )
    document_country: str | None = Field(
        default=None, description="The document's issuing country, kept as evidence metadata."
    )


# ----------------------------------------------------------------- HTTP API shapes
class UploadRequest(BaseModel):
    """Body of POST /verify/uploads."""

    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind
    content_type: Literal["image/jpeg", "image/png"]


class SubmitRequest(BaseModel):
    """Body of POST /verify/submit: empty today, strict so a typo is rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")


class SessionView(BaseModel):
    """Response of POST /verify/session."""

    session_id: str
    purpose: VerificationPurpose
    locale: str
    status: SessionStatus
    attempts_left: int
    steps: list[str] = Field(
        description="id_front, id_back, then selfie (local engine) or liveness (Rekognition)."
    )
    step_labels: dict[str, str]
    liveness_mode: Literal["local_selfie", "rekognition"]
    expires_at: str


class UploadView(BaseModel):
    """Response of POST /verify/uploads: a presigned S3 POST for one image."""

    kind: EvidenceKind
    key: str
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


class LivenessView(BaseModel):
    """Response of POST /verify/liveness: the Face Liveness session the page streams to."""

    liveness_session_id: str
    region: str
    expires_in: int = Field(description="Seconds until Rekognition expires the session unused.")
    identity_pool_id: str = Field(
        description="Cognito identity pool whose unauthenticated role may only start the video stream."
    )


class DecisionView(BaseModel):
    """Response of POST /verify/submit once the verification is decided."""

    session_id: str
    decision: Decision
    reasons: list[str] = Field(description="Empty unless PASSED; failure reasons are kept for reviewers.")
    next_step: NextStep
    message: str
    ships_to: str | None = Field(
        default=None,
        description="The verified home address the laptop ships to, once a credential is pending.",
    )
    continue_url: str | None = Field(
        default=None, description="Where the page goes next for next_step continue (a sign-in)."
    )


class CredentialView(BaseModel):
    """Response of GET /verify/credential, returned once."""

    kind: str
    value: str = Field(repr=False)
    expires_at: str | None = Field(description="ISO 8601 in UTC; None when the credential does not expire.")
