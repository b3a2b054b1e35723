"""The verification engine interface: the evidence it reads and the measurements it returns.

An engine measures; it does not decide. `hireproof.verification.policy.decide` turns an
`EngineResult` into PASSED, FAILED or NEEDS_REVIEW, so the same policy applies to the
local engine and to the Rekognition engine.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hireproof.models import Hire


class LivenessStatus(StrEnum):
    """Outcome of the liveness check."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class FaceMetric(StrEnum):
    """Unit of a face comparison score, and which direction means closer."""

    EUCLIDEAN_DISTANCE = "euclidean_distance"
    """Distance between face encodings: lower is closer (face_recognition / dlib)."""
    SIMILARITY = "similarity"
    """Similarity percentage 0-100: higher is closer (Rekognition CompareFaces)."""


class ConsistencyStatus(StrEnum):
    """Whether the card's barcode and its printed text agree."""

    CONSISTENT = "consistent"
    MISMATCH = "mismatch"
    NOT_CHECKED = "not_checked"


class DocumentType(StrEnum):
    """Kind of identity document."""

    DRIVER_LICENSE = "driver_license"
    ID_CARD = "id_card"
    PASSPORT = "passport"
    OTHER = "other"


class FieldSource(StrEnum):
    """Part of the document the fields were read from."""

    BARCODE = "barcode"
    PRINTED_TEXT = "printed_text"
    NONE = "none"
    OIDC_PROVIDER = "oidc_provider"
    """An external identity verification provider read the document and reported its fields."""


class Evidence(BaseModel):
    """The images one verification attempt submitted, already fetched by the caller.

    `selfie` is the reference face when no liveness session is used (local engine). The
    Rekognition engine takes the reference image from the liveness session instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_front: bytes = Field(repr=False)
    id_back: bytes | None = Field(default=None, repr=False)
    selfie: bytes | None = Field(default=None, repr=False)
    liveness_session_id: str | None = None
    verification_session_id: str | None = Field(
        default=None, description="Lets an engine check that a liveness session belongs here."
    )
    fingerprint_key: bytes = Field(
        repr=False,
        min_length=16,
        description="Secret salt for image and document-number fingerprints, owned by the caller.",
    )
    attempts_left: int = Field(
        default=0,
        ge=0,
        description="Retakes left after this attempt; copied into RetakeRequiredError.",
    )

    @model_validator(mode="after")
    def _needs_a_reference_face(self) -> Evidence:
        if self.selfie is None and self.liveness_session_id is None:
            raise ValueError("evidence needs a selfie or a liveness session id")
        return self


class HireFacts(BaseModel):
    """HR record facts that the policy compares the document against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: str = Field(min_length=1, repr=False)
    family_name: str = Field(min_length=1, repr=False)
    middle_name: str | None = Field(default=None, repr=False)
    date_of_birth: dt.date | None = Field(default=None, repr=False)
    verification_date: dt.date

    @classmethod
    def from_hire(cls, hire: Hire, verification_date: dt.date) -> HireFacts:
        """Take the legal name and date of birth from an HR record."""
        return cls(
            given_name=hire.legal_name.given,
            family_name=hire.legal_name.family,
            middle_name=hire.legal_name.middle,
            date_of_birth=hire.date_of_birth,
            verification_date=verification_date,
        )


class LivenessResult(BaseModel):
    """Liveness outcome and the engine's confidence (0-100) when it checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: LivenessStatus
    confidence: float | None = Field(default=None, ge=0, le=100)


class FaceMatch(BaseModel):
    """Comparison of the reference face (selfie or liveness image) with the ID portrait.

    `score` is None when the engine compared the faces and found no match above the
    threshold it applied (Rekognition lists such faces without a similarity).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: FaceMetric
    score: float | None
    threshold: float = Field(description="The threshold the engine applied, in the metric's unit.")
    reference_faces: int = Field(ge=0, description="Faces found in the selfie or reference image.")
    document_faces: int = Field(ge=0, description="Faces found on the ID front.")


class TextField(BaseModel):
    """One text field read from the document, with the reader's confidence (0-100)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str | None = Field(default=None, repr=False)
    confidence: float = Field(default=0.0, ge=0, le=100)


class DateField(BaseModel):
    """One date read from the document, with the reader's confidence (0-100)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: dt.date | None = Field(default=None, repr=False)
    confidence: float = Field(default=0.0, ge=0, le=100)


class DocumentFields(BaseModel):
    """Fields read from the identity document. A field the reader could not read has no value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: FieldSource = FieldSource.NONE
    given_name: TextField = TextField()
    family_name: TextField = TextField()
    middle_name: TextField = TextField()
    date_of_birth: DateField = DateField()
    expiry_date: DateField = DateField()
    document_number: TextField = TextField()
    issuing_country: TextField = TextField()
    issuing_subdivision: TextField = TextField()
    document_type: DocumentType | None = None


class Consistency(BaseModel):
    """Comparison of the card back's barcode with the front's printed text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ConsistencyStatus = ConsistencyStatus.NOT_CHECKED
    mismatched_fields: tuple[str, ...] = ()


class ImageFingerprints(BaseModel):
    """Keyed hashes of each image's normalized pixels, to find one image reused by two hires."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_front: str
    id_back: str | None = None
    selfie: str | None = None


class EngineResult(BaseModel):
    """Everything one engine measured for one verification attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    liveness: LivenessResult
    face_match: FaceMatch
    document: DocumentFields
    consistency: Consistency = Consistency()
    image_fingerprints: ImageFingerprints
    document_number_fingerprint: str | None = Field(
        default=None,
        description="Keyed hash of issuer + document number, to find one card used twice.",
    )
    notes: tuple[str, ...] = Field(
        default=(), description="Fixed, data-free notes on what this engine could not check."
    )


class VerificationEngine(Protocol):
    """Measures one verification attempt.

    Implementations raise `RetakeRequiredError` when an image cannot be evaluated,
    `PayloadTooLargeError` / `UnsupportedMediaTypeError` for unusable uploads, and
    `VerificationEngineError` or `TransientError` when the engine itself fails.
    """

    name: str

    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        """Measure liveness, face match and document fields for one attempt."""
        ...
