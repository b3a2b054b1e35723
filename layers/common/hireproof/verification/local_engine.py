"""The local verification engine: real face detection and matching without a cloud service.

Faces are found with dlib's HOG detector and compared by the euclidean distance between
dlib ResNet encodings (the face_recognition package; its models ship inside the
face_recognition_models package, so nothing downloads at run time). Document fields come
from the PDF417 barcode on the card back. Images are scaled down before detection so that
one verification takes well under two seconds on two cores (benchmarks/local_engine.py).

This module needs the `local` extra (face_recognition, dlib-bin); the Lambda layer does not
ship it, so import it only where the local engine is chosen.
"""

from __future__ import annotations

from typing import Any

import face_recognition
import numpy as np
from PIL import Image

from hireproof.errors import VerificationEngineError
from hireproof.verification.aamva import decode_pdf417, document_fields, parse_aamva
from hireproof.verification.engine import (
    Consistency,
    ConsistencyStatus,
    DocumentFields,
    EngineResult,
    Evidence,
    FaceMatch,
    FaceMetric,
    HireFacts,
    ImageFingerprints,
    LivenessResult,
    LivenessStatus,
)
from hireproof.verification.images import (
    downscale,
    fingerprint_document_number,
    fingerprint_pixels,
    load_upright,
    sharpness,
)
from hireproof.verification.policy import LOCAL_FACE_DISTANCE_THRESHOLD
from hireproof.verification.reasons import RetakeReason, retake

SELFIE_LONG_SIDE = 800
"""Selfies are detected at this size: a face filling a fifth of the frame is still 160 px."""
DOCUMENT_LONG_SIDE = 1024
"""An ID-1 card photographed edge to edge keeps a portrait of about 150 px at this size."""
MIN_SHARPNESS = 4.0
"""Laplacian variance below which an image is too blurred to use (docs/calibration.md)."""

Box = tuple[int, int, int, int]


def find_faces(pixels: np.ndarray[Any, Any]) -> list[Box]:
    """Find faces with HOG; upsample once only when nothing is found at the working size.

    Upsampling costs four times the detection time and finds small background shapes that
    are not faces, so it is the fallback for a face that is far from the camera.
    """
    boxes: list[Box] = face_recognition.face_locations(pixels, number_of_times_to_upsample=0)
    if not boxes:
        boxes = face_recognition.face_locations(pixels, number_of_times_to_upsample=1)
    return boxes


def _encoding(pixels: np.ndarray[Any, Any], box: Box) -> np.ndarray[Any, Any]:
    encodings = face_recognition.face_encodings(pixels, known_face_locations=[box])
    if len(encodings) != 1:
        raise VerificationEngineError("The face encoder returned no encoding for a detected face.")
    encoding: np.ndarray[Any, Any] = encodings[0]
    return encoding


class LocalEngine:
    """Face match with face_recognition and document fields from the AAMVA barcode."""

    name = "local"

    def __init__(self, *, distance_threshold: float = LOCAL_FACE_DISTANCE_THRESHOLD) -> None:
        self.distance_threshold = distance_threshold

    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        """Measure one attempt; raises RetakeRequiredError for images that cannot be used."""
        left = evidence.attempts_left
        if evidence.selfie is None:
            raise VerificationEngineError(
                "The local engine needs a selfie; it has no liveness check."
            )
        selfie = load_upright(evidence.selfie, field="selfie", attempts_left=left)
        front = load_upright(evidence.id_front, field="id_front", attempts_left=left)
        back = (
            load_upright(evidence.id_back, field="id_back", attempts_left=left)
            if evidence.id_back is not None
            else None
        )
        for image, field in ((selfie, "selfie"), (front, "id_front")):
            if sharpness(image) < MIN_SHARPNESS:
                raise retake(RetakeReason.IMAGE_BLURRY, field=field, attempts_left=left)

        selfie_pixels = np.asarray(downscale(selfie, SELFIE_LONG_SIDE))
        selfie_faces = find_faces(selfie_pixels)
        if not selfie_faces:
            raise retake(RetakeReason.NO_FACE_IN_SELFIE, field="selfie", attempts_left=left)
        if len(selfie_faces) > 1:
            raise retake(RetakeReason.MULTIPLE_FACES_IN_SELFIE, field="selfie", attempts_left=left)

        front_pixels = np.asarray(downscale(front, DOCUMENT_LONG_SIDE))
        front_faces = find_faces(front_pixels)
        if not front_faces:
            reason = (
                RetakeReason.BACK_INSTEAD_OF_FRONT
                if decode_pdf417(front) is not None
                else RetakeReason.NO_FACE_ON_DOCUMENT
            )
            raise retake(reason, field="id_front", attempts_left=left)
        if len(front_faces) > 1:
            # NOTE: cards with a second, smaller "ghost" portrait are rejected here, because
            # telling a ghost image from a second person needs a size rule not yet calibrated.
            raise retake(
                RetakeReason.MULTIPLE_FACES_ON_DOCUMENT, field="id_front", attempts_left=left
            )

        document = self._read_back(back, left) if back is not None else DocumentFields()
        distance = float(
            np.linalg.norm(
                _encoding(selfie_pixels, selfie_faces[0]) - _encoding(front_pixels, front_faces[0])
            )
        )
        key = evidence.fingerprint_key
        issuer = "-".join(
            filter(None, (document.issuing_country.value, document.issuing_subdivision.value))
        )
        return EngineResult(
            engine=self.name,
            liveness=LivenessResult(status=LivenessStatus.NOT_CHECKED),
            face_match=FaceMatch(
                metric=FaceMetric.EUCLIDEAN_DISTANCE,
                score=distance,
                threshold=self.distance_threshold,
                reference_faces=len(selfie_faces),
                document_faces=len(front_faces),
            ),
            document=document,
            # NOTE: no OCR runs locally, so the printed front is never compared with the
            # barcode. A card whose barcode was swapped passes this engine's consistency check.
            consistency=Consistency(status=ConsistencyStatus.NOT_CHECKED),
            image_fingerprints=ImageFingerprints(
                id_front=fingerprint_pixels(front, key),
                id_back=fingerprint_pixels(back, key) if back is not None else None,
                selfie=fingerprint_pixels(selfie, key),
            ),
            document_number_fingerprint=fingerprint_document_number(
                key, issuer=issuer, number=document.document_number.value
            ),
            notes=("liveness_not_checked", "printed_text_not_read"),
        )

    def _read_back(self, back: Image.Image, attempts_left: int) -> DocumentFields:
        text = decode_pdf417(back)
        if text is None:
            back_pixels = np.asarray(downscale(back, DOCUMENT_LONG_SIDE))
            reason = (
                RetakeReason.FRONT_INSTEAD_OF_BACK
                if find_faces(back_pixels)
                else RetakeReason.BARCODE_UNREADABLE
            )
            raise retake(reason, field="id_back", attempts_left=attempts_left)
        try:
            record = parse_aamva(text)
        except ValueError:
            # A readable PDF417 that is not AAMVA data: another retake would read the same,
            # so the fields stay unread and the policy sends the attempt to review.
            return DocumentFields()
        return document_fields(record)
