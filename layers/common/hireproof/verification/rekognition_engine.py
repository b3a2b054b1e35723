"""The AWS verification engine: Rekognition Face Liveness, DetectFaces, CompareFaces and Textract.

The liveness result is read server-side with GetFaceLivenessSessionResults; the browser's
report is never trusted. Its reference image is the hire's face: DetectFaces requires
exactly one usable face on it and on the ID portrait, and CompareFaces measures their
similarity with an explicit SimilarityThreshold. Textract AnalyzeID reads the printed
front; the PDF417 barcode on the back is decoded locally and compared with it. Calls that do
not depend on each other run concurrently in a small thread pool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from hireproof.errors import (
    PayloadTooLargeError,
    TransientError,
    UnsupportedMediaTypeError,
    VerificationEngineError,
)
from hireproof.verification.aamva import decode_pdf417, document_fields, parse_aamva
from hireproof.verification.engine import (
    Consistency,
    ConsistencyStatus,
    DateField,
    DocumentFields,
    DocumentType,
    EngineResult,
    Evidence,
    FaceMatch,
    FaceMetric,
    FieldSource,
    HireFacts,
    ImageFingerprints,
    LivenessResult,
    LivenessStatus,
    TextField,
)
from hireproof.verification.images import (
    encode_jpeg,
    fingerprint_document_number,
    fingerprint_pixels,
    load_upright,
)
from hireproof.verification.names import tokens
from hireproof.verification.reasons import RetakeReason, retake

_TRANSIENT_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceUnavailableException",
    "LimitExceededException",
}
# Standard retry mode backs off on throttling; the timeouts keep one slow call from using
# up the Lambda's whole budget.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=20)
_ID_TYPES = {
    "DRIVER LICENSE FRONT": DocumentType.DRIVER_LICENSE,
    "DRIVER LICENSE": DocumentType.DRIVER_LICENSE,
    "PASSPORT": DocumentType.PASSPORT,
}


def liveness_request_token(verification_session_id: str, hire_id: str) -> str:
    """Return the idempotency token that ties a liveness session to one verification and hire."""
    return hashlib.sha256(f"{verification_session_id}:{hire_id}".encode()).hexdigest()[:64]


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call one AWS operation and map its failures onto HireProof errors by type and code."""
    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _TRANSIENT_CODES:
            raise TransientError(f"{operation} was throttled or failed inside AWS.") from exc
        if code == "ImageTooLargeException":
            raise PayloadTooLargeError("The image is over the engine's size limit.") from exc
        if code == "InvalidImageFormatException":
            raise UnsupportedMediaTypeError("The engine could not read the image format.") from exc
        raise
    except BotoCoreError as exc:
        raise TransientError(f"{operation} could not reach AWS.") from exc
    return response


class RekognitionEngine:
    """Measures an attempt with Amazon Rekognition and Amazon Textract."""

    name = "rekognition"

    def __init__(
        self,
        *,
        rekognition: Any | None = None,
        textract: Any | None = None,
        s3: Any | None = None,
        similarity_threshold: float = 50.0,
        liveness_threshold: float = 70.0,
        face_confidence_min: float = 90.0,
        field_confidence_floor: float = 50.0,
        output_bucket: str | None = None,
        output_prefix: str = "liveness/",
        kms_key_id: str | None = None,
        audit_images_limit: int = 2,
        max_workers: int = 4,
    ) -> None:
        """Configure the engine; clients default to boto3 clients for the Lambda's region.

        `similarity_threshold` is passed to CompareFaces: faces below it come back without a
        similarity, so it sits below the policy's fail bound to let the policy see borderline
        scores. A liveness confidence below `liveness_threshold` counts as a failed check.
        DetectFaces faces under `face_confidence_min` are not usable, and Textract fields
        under `field_confidence_floor` count as unread.
        """
        self.rekognition = rekognition or boto3.client("rekognition", config=_CLIENT_CONFIG)
        self.textract = textract or boto3.client("textract", config=_CLIENT_CONFIG)
        self.s3 = s3 or boto3.client("s3", config=_CLIENT_CONFIG)
        self.similarity_threshold = similarity_threshold
        self.liveness_threshold = liveness_threshold
        self.face_confidence_min = face_confidence_min
        self.field_confidence_floor = field_confidence_floor
        self.output_bucket = output_bucket
        self.output_prefix = output_prefix
        self.kms_key_id = kms_key_id
        self.audit_images_limit = audit_images_limit
        self.max_workers = max_workers

    # ------------------------------------------------------------- liveness session
    def _prefix_for(self, verification_session_id: str) -> str:
        return f"{self.output_prefix}{verification_session_id}/"

    def create_liveness_session(self, *, verification_session_id: str, hire_id: str) -> str:
        """Create a Face Liveness session for one verification session and return its id.

        The request token makes a retried call return the same session, and the S3 output
        prefix names the verification session, so `evaluate` can check that a reference
        image came from a session created for it.
        """
        params: dict[str, Any] = {
            "ClientRequestToken": liveness_request_token(verification_session_id, hire_id),
            "Settings": {"AuditImagesLimit": self.audit_images_limit},
        }
        if self.output_bucket:
            params["Settings"]["OutputConfig"] = {
                "S3Bucket": self.output_bucket,
                "S3KeyPrefix": self._prefix_for(verification_session_id),
            }
        if self.kms_key_id:
            params["KmsKeyId"] = self.kms_key_id
        session_id: str = _call(self.rekognition, "create_face_liveness_session", **params)[
            "SessionId"
        ]
        return session_id

    def _liveness(
        self, session_id: str, verification_session_id: str | None, attempts_left: int
    ) -> tuple[LivenessResult, bytes]:
        try:
            results = _call(
                self.rekognition, "get_face_liveness_session_results", SessionId=session_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "SessionNotFoundException":
                raise retake(
                    RetakeReason.LIVENESS_INCOMPLETE, field="liveness", attempts_left=attempts_left
                ) from exc
            raise
        if results.get("Status") != "SUCCEEDED":
            raise retake(
                RetakeReason.LIVENESS_INCOMPLETE, field="liveness", attempts_left=attempts_left
            )
        confidence = float(results.get("Confidence", 0.0))
        reference = results.get("ReferenceImage") or {}
        status = (
            LivenessStatus.PASSED
            if confidence >= self.liveness_threshold
            else LivenessStatus.FAILED
        )
        s3_object = reference.get("S3Object")
        if s3_object and verification_session_id and self.output_bucket:
            expected = self._prefix_for(verification_session_id)
            if s3_object.get("Bucket") != self.output_bucket or not str(
                s3_object.get("Name", "")
            ).startswith(expected):
                # A session created for another verification: treat it as a replay.
                status = LivenessStatus.FAILED
        image = reference.get("Bytes")
        if not image and s3_object and self.s3 is not None:
            body = _call(self.s3, "get_object", Bucket=s3_object["Bucket"], Key=s3_object["Name"])[
                "Body"
            ]
            image = body.read()
        if not image:
            # AWS advises retrying the check when no reference image comes back.
            raise retake(
                RetakeReason.LIVENESS_INCOMPLETE, field="liveness", attempts_left=attempts_left
            )
        return LivenessResult(status=status, confidence=confidence), bytes(image)

    def _selfie_reference(self, selfie: bytes, attempts_left: int) -> tuple[LivenessResult, bytes]:
        image = load_upright(selfie, field="selfie", attempts_left=attempts_left)
        return LivenessResult(status=LivenessStatus.NOT_CHECKED), encode_jpeg(image)

    # ------------------------------------------------------------- faces
    def _usable_faces(self, image: bytes) -> int:
        response = _call(self.rekognition, "detect_faces", Image={"Bytes": image})
        return sum(
            1
            for face in response.get("FaceDetails", [])
            if float(face.get("Confidence", 0.0)) >= self.face_confidence_min
        )

    def _compare(self, reference: bytes, document: bytes) -> float | None:
        response = _call(
            self.rekognition,
            "compare_faces",
            SourceImage={"Bytes": reference},
            TargetImage={"Bytes": document},
            SimilarityThreshold=self.similarity_threshold,
            QualityFilter="AUTO",
        )
        similarities = [float(m["Similarity"]) for m in response.get("FaceMatches", [])]
        return max(similarities) if similarities else None

    # ------------------------------------------------------------- document
    def _analyze_id(self, document: bytes) -> DocumentFields:
        try:
            response = _call(self.textract, "analyze_id", DocumentPages=[{"Bytes": document}])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"UnsupportedDocumentException", "BadDocumentException"}:
                return DocumentFields()
            raise
        documents = response.get("IdentityDocuments") or [{}]
        found: dict[str, tuple[str, str | None, float]] = {}
        for field in documents[0].get("IdentityDocumentFields", []):
            kind = str(field.get("Type", {}).get("Text", "")).upper().replace(" ", "_")
            value = field.get("ValueDetection", {})
            confidence = float(value.get("Confidence", 0.0))
            normalized = (value.get("NormalizedValue") or {}).get("Value")
            if value.get("Text") and confidence >= self.field_confidence_floor:
                found[kind] = (str(value["Text"]), normalized, confidence)
        if not found:
            return DocumentFields()

        def text(kind: str) -> TextField:
            if kind not in found:
                return TextField()
            return TextField(value=found[kind][0], confidence=found[kind][2])

        def date(kind: str) -> DateField:
            if kind not in found:
                return DateField()
            raw, normalized, confidence = found[kind]
            try:
                # The normalized value is ISO 8601, e.g. 2030-05-14T00:00:00.
                value = dt.date.fromisoformat((normalized or raw)[:10])
            except ValueError:
                return DateField()
            return DateField(value=value, confidence=confidence)

        id_type = found.get("ID_TYPE", ("", None, 0.0))[0].upper()
        return DocumentFields(
            source=FieldSource.PRINTED_TEXT,
            given_name=text("FIRST_NAME"),
            family_name=text("LAST_NAME"),
            middle_name=text("MIDDLE_NAME"),
            date_of_birth=date("DATE_OF_BIRTH"),
            expiry_date=date("EXPIRATION_DATE"),
            document_number=text("DOCUMENT_NUMBER"),
            issuing_subdivision=text("STATE_NAME"),
            document_type=_ID_TYPES.get(id_type, DocumentType.OTHER if id_type else None),
        )

    def _read_back(self, back: Image.Image, attempts_left: int) -> DocumentFields:
        text = decode_pdf417(back)
        if text is None:
            raise retake(
                RetakeReason.BARCODE_UNREADABLE, field="id_back", attempts_left=attempts_left
            )
        try:
            return document_fields(parse_aamva(text))
        except ValueError:
            return DocumentFields()

    # ------------------------------------------------------------- evaluate
    def evaluate(self, evidence: Evidence, hire: HireFacts) -> EngineResult:
        """Measure one attempt; raises RetakeRequiredError for evidence that cannot be used."""
        try:
            return self._evaluate(evidence)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise VerificationEngineError(f"AWS rejected a verification call: {code}.") from exc

    def _evaluate(self, evidence: Evidence) -> EngineResult:
        left = evidence.attempts_left
        session_id = evidence.liveness_session_id
        if session_id is None and evidence.selfie is None:
            raise VerificationEngineError("The Rekognition engine needs a liveness session id.")
        front = load_upright(evidence.id_front, field="id_front", attempts_left=left)
        back = (
            load_upright(evidence.id_back, field="id_back", attempts_left=left)
            if evidence.id_back is not None
            else None
        )
        front_jpeg = encode_jpeg(front)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            if session_id is not None:
                reference_field = "liveness"
                liveness_job = pool.submit(
                    self._liveness, session_id, evidence.verification_session_id, left
                )
            else:
                # Without a liveness session the selfie is the reference face, unchecked.
                reference_field = "selfie"
                liveness_job = pool.submit(self._selfie_reference, evidence.selfie or b"", left)
            front_faces_job = pool.submit(self._usable_faces, front_jpeg)
            printed_job = pool.submit(self._analyze_id, front_jpeg)
            barcode_job: Future[DocumentFields] | None = (
                pool.submit(self._read_back, back, left) if back is not None else None
            )
            liveness, reference = liveness_job.result()
            reference_faces_job = pool.submit(self._usable_faces, reference)
            compare_job = pool.submit(self._compare, reference, front_jpeg)
            front_faces = front_faces_job.result()
            reference_faces = reference_faces_job.result()
            if reference_faces == 0:
                raise retake(
                    RetakeReason.NO_FACE_IN_SELFIE, field=reference_field, attempts_left=left
                )
            if reference_faces > 1:
                raise retake(
                    RetakeReason.MULTIPLE_FACES_IN_SELFIE, field=reference_field, attempts_left=left
                )
            if front_faces == 0:
                reason = (
                    RetakeReason.BACK_INSTEAD_OF_FRONT
                    if decode_pdf417(front) is not None
                    else RetakeReason.NO_FACE_ON_DOCUMENT
                )
                raise retake(reason, field="id_front", attempts_left=left)
            if front_faces > 1:
                raise retake(
                    RetakeReason.MULTIPLE_FACES_ON_DOCUMENT, field="id_front", attempts_left=left
                )
            similarity = compare_job.result()
            printed = printed_job.result()
            barcode = barcode_job.result() if barcode_job is not None else DocumentFields()

        document, consistency = _merge(printed, barcode)
        key = evidence.fingerprint_key
        issuer = "-".join(
            filter(None, (document.issuing_country.value, document.issuing_subdivision.value))
        )
        return EngineResult(
            engine=self.name,
            liveness=liveness,
            face_match=FaceMatch(
                metric=FaceMetric.SIMILARITY,
                score=similarity,
                threshold=self.similarity_threshold,
                reference_faces=reference_faces,
                document_faces=front_faces,
            ),
            document=document,
            consistency=consistency,
            image_fingerprints=ImageFingerprints(
                id_front=fingerprint_pixels(front, key),
                id_back=fingerprint_pixels(back, key) if back is not None else None,
                selfie=fingerprint_pixels(_open(reference), key),
            ),
            document_number_fingerprint=fingerprint_document_number(
                key, issuer=issuer, number=document.document_number.value
            ),
        )


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _name_tokens(fields: DocumentFields) -> set[str]:
    parts = (fields.given_name.value, fields.middle_name.value, fields.family_name.value)
    return set(tokens(" ".join(filter(None, parts))))


def _merge(printed: DocumentFields, barcode: DocumentFields) -> tuple[DocumentFields, Consistency]:
    """Prefer the printed fields, fill gaps from the barcode, and compare the two."""
    if printed.source is FieldSource.NONE:
        return barcode, Consistency()
    if barcode.source is FieldSource.NONE:
        return printed, Consistency()

    mismatched: list[str] = []
    compared = 0
    printed_name, barcode_name = _name_tokens(printed), _name_tokens(barcode)
    if printed_name and barcode_name:
        compared += 1
        # Either side may omit a middle name; a name on one side missing from the other is not.
        if not (printed_name <= barcode_name or barcode_name <= printed_name):
            mismatched.append("name")
    for field in ("date_of_birth", "expiry_date"):
        a, b = getattr(printed, field).value, getattr(barcode, field).value
        if a is not None and b is not None:
            compared += 1
            if a != b:
                mismatched.append(field)
    a_number, b_number = printed.document_number.value, barcode.document_number.value
    if a_number and b_number:
        compared += 1
        if _alnum(a_number) != _alnum(b_number):
            mismatched.append("document_number")

    merged = printed.model_copy(
        update={
            name: getattr(barcode, name)
            for name in DocumentFields.model_fields
            if name not in {"source", "document_type"}
            and getattr(printed, name).value is None
            and getattr(barcode, name).value is not None
        }
    )
    if merged.document_type is None:
        merged = merged.model_copy(update={"document_type": barcode.document_type})
    if mismatched:
        return merged, Consistency(
            status=ConsistencyStatus.MISMATCH, mismatched_fields=tuple(mismatched)
        )
    status = ConsistencyStatus.CONSISTENT if compared else ConsistencyStatus.NOT_CHECKED
    return merged, Consistency(status=status)


def _alnum(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())
