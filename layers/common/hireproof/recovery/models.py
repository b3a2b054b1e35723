"""Recovery requests as the recovery table stores them, and the shapes of the recovery routes."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from hireproof import aws
from hireproof.models import Decision


class RecoveryStatus(StrEnum):
    """Life cycle of one recovery request; see `hireproof.recovery.store.TRANSITIONS`."""

    STARTED = "STARTED"
    VERIFIED = "VERIFIED"
    RESET_CHOSEN = "RESET_CHOSEN"
    RESET_DONE = "RESET_DONE"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    ERROR = "ERROR"


FINAL_STATUSES = frozenset(
    {
        RecoveryStatus.COMPLETED,
        RecoveryStatus.FAILED,
        RecoveryStatus.EXPIRED,
        RecoveryStatus.NEEDS_REVIEW,
        RecoveryStatus.ERROR,
    }
)


class ResetKind(StrEnum):
    """Kind of reset a passed verification authorizes: the password, or every MFA factor."""

    PASSWORD = "password"  # noqa: S105 - a kind name, not a secret
    MFA = "mfa"


class RecoveryChannel(StrEnum):
    """Channel that started the recovery: the person at /recovery, or a help desk agent for a caller."""

    SELF_SERVICE = "self_service"
    HELP_DESK = "help_desk"


class RecoveryOutcome(StrEnum):
    """End of a recovery, one per end state of statemachines/recovery.asl.json."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    EXPIRED = "EXPIRED"
    ERROR = "ERROR"


class Recovery(BaseModel):
    """One recovery request item. Times are epoch seconds; `expires_at` is the table's TTL."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    recovery_id: str
    person_id: str
    session_id: str
    channel: RecoveryChannel
    status: RecoveryStatus
    started_by: str
    decision: Decision | None = None
    decided_at: int | None = None
    reset_kind: ResetKind | None = None
    chosen_by: str | None = None
    chosen_at: int | None = None
    reset_at: int | None = None
    choice_task_token: str | None = Field(default=None, repr=False)
    close_reasons: list[str] = Field(default_factory=list)
    execution_arn: str | None = None
    created_at: int
    updated_at: int
    expires_at: int

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Recovery:
        """Build a recovery from its DynamoDB item."""
        return cls.model_validate(aws.plain(item))


# ----------------------------------------------------------------- HTTP shapes
class ResetRequest(BaseModel):
    """Body of POST /verify/recovery/reset and POST /recovery/requests/{recovery_id}/reset."""

    model_config = ConfigDict(extra="forbid")

    kind: ResetKind


class HelpDeskStartRequest(BaseModel):
    """Body of POST /recovery/requests: exactly one of the person id and the work e-mail."""

    model_config = ConfigDict(extra="forbid")

    person_id: str | None = Field(default=None, min_length=1, max_length=200)
    work_email: EmailStr | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _one_subject(self) -> HelpDeskStartRequest:
        if (self.person_id is None) == (self.work_email is None):
            raise ValueError("send exactly one of person_id and work_email")
        return self


class ResetChoiceView(BaseModel):
    """Response of the reset routes (202): the reset is chosen, and the workflow performs it."""

    recovery_id: str
    kind: ResetKind
    status: RecoveryStatus
    message: str
    credential_path: str | None = Field(
        description="Where the verified person's page collects the one-time credential, once;"
        " None on the help desk route, because the agent never sees it."
    )


class HelpDeskStartView(BaseModel):
    """Response of POST /recovery/requests (201)."""

    recovery_id: str
    person_id: str
    status: RecoveryStatus
    channel: RecoveryChannel
    email_sent: bool
    link_expires_at: str


class RecoveryView(BaseModel):
    """Response of GET /recovery/requests/{recovery_id}: the outcome only, never evidence."""

    recovery_id: str
    person_id: str
    channel: RecoveryChannel
    status: RecoveryStatus
    verified: bool
    verified_as: str | None = Field(
        description="The HR record's display name once the verification PASSED; otherwise None."
    )
    decision: Decision | None
    reset_kind: ResetKind | None
    reset_allowed_until: str | None = Field(
        description="ISO 8601 UTC end of the window in which a PASSED verification authorizes a reset."
    )
    created_at: str
    updated_at: str
