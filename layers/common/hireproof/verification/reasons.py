"""Machine-readable reason codes: why a decision is not PASSED, and why a retake is needed."""

from __future__ import annotations

from enum import StrEnum

from hireproof.errors import RetakeRequiredError


class DecisionReason(StrEnum):
    """Reason code for a FAILED or NEEDS_REVIEW decision, or for a check a PASSED skipped."""

    # face
    FACE_MISMATCH = "face_mismatch"
    FACE_MATCH_BORDERLINE = "face_match_borderline"
    FACE_COUNT_UNEXPECTED = "face_count_unexpected"
    # liveness
    LIVENESS_FAILED = "liveness_failed"
    LIVENESS_NOT_CHECKED = "liveness_not_checked"
    # document
    DOCUMENT_EXPIRED = "document_expired"
    DOCUMENT_FIELDS_UNREADABLE = "document_fields_unreadable"
    EXPIRY_UNREADABLE = "expiry_unreadable"
    BARCODE_MISMATCH = "barcode_mismatch"
    PRINTED_TEXT_NOT_CHECKED = "printed_text_not_checked"
    # name
    NAME_MISMATCH = "name_mismatch"
    NAME_PARTIAL_MATCH = "name_partial_match"
    NAME_SCRIPT_DIFFERS = "name_script_differs"
    NAME_UNREADABLE = "name_unreadable"
    # date of birth
    DOB_MISMATCH = "dob_mismatch"
    DOB_UNREADABLE = "dob_unreadable"


def low_confidence(field: str) -> str:
    """Reason code for a field read below the confidence floor, e.g. `low_confidence_given_name`."""
    return f"low_confidence_{field}"


class RetakeReason(StrEnum):
    """Reason code for an image that must be captured again. The caller counts the attempts."""

    NO_FACE_IN_SELFIE = "no_face_in_selfie"
    MULTIPLE_FACES_IN_SELFIE = "multiple_faces_in_selfie"
    NO_FACE_ON_DOCUMENT = "no_face_on_document"
    MULTIPLE_FACES_ON_DOCUMENT = "multiple_faces_on_document"
    BACK_INSTEAD_OF_FRONT = "back_instead_of_front"
    FRONT_INSTEAD_OF_BACK = "front_instead_of_back"
    BARCODE_UNREADABLE = "barcode_unreadable"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_BLURRY = "image_blurry"
    IMAGE_UNREADABLE = "image_unreadable"
    LIVENESS_INCOMPLETE = "liveness_incomplete"


_MESSAGES: dict[RetakeReason, str] = {
    RetakeReason.NO_FACE_IN_SELFIE: "No face was found in the selfie.",
    RetakeReason.MULTIPLE_FACES_IN_SELFIE: "The selfie must show exactly one face.",
    RetakeReason.NO_FACE_ON_DOCUMENT: "No portrait was found on the front of the ID.",
    RetakeReason.MULTIPLE_FACES_ON_DOCUMENT: "The ID front must show exactly one portrait.",
    RetakeReason.BACK_INSTEAD_OF_FRONT: "This looks like the back of the ID; photograph the front.",
    RetakeReason.FRONT_INSTEAD_OF_BACK: "This looks like the front of the ID; photograph the back.",
    RetakeReason.BARCODE_UNREADABLE: "The barcode on the back of the ID could not be read.",
    RetakeReason.IMAGE_TOO_SMALL: "The image is too small; move closer or use a larger photo.",
    RetakeReason.IMAGE_BLURRY: "The image is blurry; hold the camera steady.",
    RetakeReason.IMAGE_UNREADABLE: "The image file could not be read.",
    RetakeReason.LIVENESS_INCOMPLETE: "The liveness check did not finish; start it again.",
}


def retake(reason: RetakeReason, *, field: str, attempts_left: int) -> RetakeRequiredError:
    """Build the error for one retake reason; `field` names the image: id_front, id_back, selfie."""
    return RetakeRequiredError(
        _MESSAGES[reason], reason=reason.value, attempts_left=attempts_left, field=field
    )
