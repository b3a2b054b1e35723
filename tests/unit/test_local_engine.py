"""The local engine on the demo's real photographs: match, mismatch, documents and retakes."""

from __future__ import annotations

import datetime as dt
import io

import pdf417gen
import pytest
from PIL import Image, ImageFilter

from hireproof.errors import (
    RetakeRequiredError,
    UnsupportedMediaTypeError,
    VerificationEngineError,
)
from hireproof.local import assets
from hireproof.models import Decision
from hireproof.verification.engine import (
    ConsistencyStatus,
    EngineResult,
    Evidence,
    FaceMetric,
    FieldSource,
    HireFacts,
    LivenessStatus,
)
from hireproof.verification.local_engine import LocalEngine
from hireproof.verification.policy import PolicySettings, decide
from hireproof.verification.reasons import RetakeReason

TODAY = dt.date.today()
KEY = b"fingerprint-key-for-tests"
LOCAL = PolicySettings.for_stage("local")
CARD = assets.genuine_card(TODAY)
HIRE = HireFacts(
    given_name="Renée",
    middle_name="Claire",
    family_name="Dubois",
    date_of_birth=CARD.date_of_birth,
    verification_date=TODAY,
)
# Measured on the bundled photographs (docs/calibration.md). A drift beyond the tolerances
# below means the models, the assets or the image pipeline changed, so recalibrate.
GENUINE_DISTANCE = 0.215
IMPOSTOR_DISTANCE = 0.82


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine()


@pytest.fixture(scope="module")
def front() -> bytes:
    return assets.id_card_front(CARD)


@pytest.fixture(scope="module")
def back() -> bytes:
    return assets.id_card_back(CARD)


def evidence(
    front: bytes, back: bytes | None, selfie: bytes | None, attempts_left: int = 2
) -> Evidence:
    return Evidence(
        id_front=front,
        id_back=back,
        selfie=selfie,
        fingerprint_key=KEY,
        attempts_left=attempts_left,
    )


@pytest.fixture(scope="module")
def genuine(engine: LocalEngine, front: bytes, back: bytes) -> EngineResult:
    return engine.evaluate(evidence(front, back, assets.genuine_selfie()), HIRE)


def test_genuine_selfie_matches_the_card(genuine: EngineResult) -> None:
    match = genuine.face_match

    assert match.metric is FaceMetric.EUCLIDEAN_DISTANCE
    assert match.score is not None
    assert match.score == pytest.approx(GENUINE_DISTANCE, abs=0.04)
    assert match.score <= LOCAL.face_distance_pass_max
    assert (match.reference_faces, match.document_faces) == (1, 1)
    assert decide(genuine, HIRE, LOCAL).decision is Decision.PASSED


def test_genuine_result_fields_and_skipped_checks(genuine: EngineResult) -> None:
    document = genuine.document

    assert document.source is FieldSource.BARCODE
    assert (document.given_name.value, document.family_name.value) == ("RENEE", "DUBOIS")
    assert document.date_of_birth.value == CARD.date_of_birth
    assert document.expiry_date.value == CARD.expiry
    assert genuine.liveness.status is LivenessStatus.NOT_CHECKED
    assert genuine.consistency.status is ConsistencyStatus.NOT_CHECKED
    assert "printed_text_not_read" in genuine.notes


def test_genuine_result_carries_keyed_fingerprints(
    genuine: EngineResult, engine: LocalEngine, front: bytes, back: bytes
) -> None:
    fingerprints = genuine.image_fingerprints
    other_key = Evidence(
        id_front=front,
        id_back=back,
        selfie=assets.genuine_selfie(),
        fingerprint_key=b"another-key-for-tests",
    )

    again = engine.evaluate(other_key, HIRE)

    assert len({fingerprints.id_front, fingerprints.id_back, fingerprints.selfie}) == 3
    assert genuine.document_number_fingerprint is not None
    assert again.image_fingerprints.id_front != fingerprints.id_front
    assert again.document_number_fingerprint != genuine.document_number_fingerprint


def test_genuine_in_prod_needs_review(genuine: EngineResult) -> None:
    decision = decide(genuine, HIRE, PolicySettings())

    assert decision.decision is Decision.NEEDS_REVIEW
    assert decision.reasons == ("liveness_not_checked",)


def test_impostor_selfie_does_not_match(engine: LocalEngine, front: bytes, back: bytes) -> None:
    result = engine.evaluate(evidence(front, back, assets.impostor_selfie()), HIRE)

    assert result.face_match.score is not None
    assert result.face_match.score == pytest.approx(IMPOSTOR_DISTANCE, abs=0.05)
    assert result.face_match.score >= LOCAL.face_distance_fail_min
    decision = decide(result, HIRE, LOCAL)
    assert decision.decision is Decision.FAILED
    assert decision.reasons == ("face_mismatch",)


def test_impostor_card_does_not_match(engine: LocalEngine, back: bytes) -> None:
    impostor_front = assets.id_card_front(CARD, assets.DemoPerson.IMPOSTOR)

    result = engine.evaluate(evidence(impostor_front, back, assets.genuine_selfie()), HIRE)

    assert decide(result, HIRE, LOCAL).reasons == ("face_mismatch",)


def test_expired_card_goes_to_review(engine: LocalEngine) -> None:
    expired_front, expired_back = assets.expired_id_card(TODAY)

    result = engine.evaluate(evidence(expired_front, expired_back, assets.genuine_selfie()), HIRE)

    decision = decide(result, HIRE, LOCAL)
    assert decision.decision is Decision.NEEDS_REVIEW
    assert decision.reasons == ("document_expired",)


def test_card_in_another_name_fails(genuine: EngineResult) -> None:
    someone_else = HireFacts(given_name="John", family_name="Smith", verification_date=TODAY)

    decision = decide(genuine, someone_else, LOCAL)

    assert decision.decision is Decision.FAILED
    assert decision.reasons == ("name_mismatch",)


def test_without_the_card_back_the_fields_are_unread(engine: LocalEngine, front: bytes) -> None:
    result = engine.evaluate(evidence(front, None, assets.genuine_selfie()), HIRE)

    assert result.document.source is FieldSource.NONE
    assert decide(result, HIRE, LOCAL).reasons == ("document_fields_unreadable",)


def test_non_aamva_barcode_leaves_fields_unread(engine: LocalEngine, front: bytes) -> None:
    symbol = pdf417gen.render_image(pdf417gen.encode("just a ticket number 12345"), scale=3)
    canvas = Image.new("RGB", (symbol.width + 200, symbol.height + 200), "white")
    canvas.paste(symbol, (100, 100))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")

    result = engine.evaluate(evidence(front, buffer.getvalue(), assets.genuine_selfie()), HIRE)

    assert result.document.source is FieldSource.NONE


def test_exif_rotated_selfie_still_matches(engine: LocalEngine, front: bytes, back: bytes) -> None:
    upright = Image.open(io.BytesIO(assets.genuine_selfie()))
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated 90 degrees clockwise; display rotates it back
    buffer = io.BytesIO()
    upright.rotate(-90, expand=True).save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)

    result = engine.evaluate(evidence(front, back, buffer.getvalue()), HIRE)

    assert result.face_match.score is not None
    assert result.face_match.score <= LOCAL.face_distance_pass_max


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def blurred_selfie() -> bytes:
    return jpeg(Image.open(io.BytesIO(assets.genuine_selfie())).filter(ImageFilter.GaussianBlur(8)))


def tiny_selfie() -> bytes:
    return jpeg(Image.open(io.BytesIO(assets.genuine_selfie())).resize((150, 168)))


def blank_back() -> bytes:
    return jpeg(Image.new("RGB", assets.CARD_SIZE, (230, 236, 240)))


@pytest.mark.parametrize(
    ("slot", "make", "reason", "field"),
    [
        ("selfie", assets.two_person_selfie, RetakeReason.MULTIPLE_FACES_IN_SELFIE, "selfie"),
        ("selfie", assets.no_face_photo, RetakeReason.NO_FACE_IN_SELFIE, "selfie"),
        ("selfie", blurred_selfie, RetakeReason.IMAGE_BLURRY, "selfie"),
        ("selfie", tiny_selfie, RetakeReason.IMAGE_TOO_SMALL, "selfie"),
        ("front", lambda: assets.back_instead_of_front(CARD), RetakeReason.BACK_INSTEAD_OF_FRONT,
         "id_front"),
        ("front", assets.no_face_photo, RetakeReason.NO_FACE_ON_DOCUMENT, "id_front"),
        ("back", lambda: assets.id_card_front(CARD), RetakeReason.FRONT_INSTEAD_OF_BACK, "id_back"),
        ("back", blank_back, RetakeReason.BARCODE_UNREADABLE, "id_back"),
    ],
)  # fmt: skip
def test_unusable_image_needs_a_retake(
    engine: LocalEngine,
    front: bytes,
    back: bytes,
    slot: str,
    make: object,
    reason: RetakeReason,
    field: str,
) -> None:
    assert callable(make)
    images = {"front": front, "back": back, "selfie": assets.genuine_selfie(), slot: make()}

    with pytest.raises(RetakeRequiredError) as caught:
        engine.evaluate(evidence(images["front"], images["back"], images["selfie"], 1), HIRE)

    assert caught.value.reason == reason
    assert caught.value.field == field
    assert caught.value.attempts_left == 1


def test_gif_selfie_is_unsupported(engine: LocalEngine, front: bytes, back: bytes) -> None:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(assets.genuine_selfie())).save(buffer, format="GIF")

    with pytest.raises(UnsupportedMediaTypeError):
        engine.evaluate(evidence(front, back, buffer.getvalue()), HIRE)


def test_local_engine_needs_a_selfie(engine: LocalEngine, front: bytes) -> None:
    liveness_only = Evidence(id_front=front, liveness_session_id="abc", fingerprint_key=KEY)

    with pytest.raises(VerificationEngineError):
        engine.evaluate(liveness_only, HIRE)
