"""The demo's photographs and specimen cards: faces detectable, barcodes readable, right sizes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from hireproof.local import assets
from hireproof.verification.aamva import decode_pdf417, document_fields, parse_aamva
from hireproof.verification.images import MediaType, downscale, sniff_media_type
from hireproof.verification.local_engine import DOCUMENT_LONG_SIDE, SELFIE_LONG_SIDE, find_faces

TODAY = dt.date(2026, 12, 4)
CARD = assets.genuine_card(TODAY)


def faces_in(data: bytes, long_side: int) -> int:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return len(find_faces(np.asarray(downscale(image, long_side))))


@pytest.mark.parametrize(
    ("make", "long_side", "expected"),
    [
        pytest.param(assets.genuine_selfie, SELFIE_LONG_SIDE, 1, id="genuine_selfie"),
        pytest.param(assets.impostor_selfie, SELFIE_LONG_SIDE, 1, id="impostor_selfie"),
        pytest.param(assets.two_person_selfie, SELFIE_LONG_SIDE, 2, id="two_person_selfie"),
        pytest.param(assets.no_face_photo, SELFIE_LONG_SIDE, 0, id="no_face_photo"),
        pytest.param(lambda: assets.id_card_front(CARD), DOCUMENT_LONG_SIDE, 1, id="genuine_card"),
        pytest.param(
            lambda: assets.id_card_front(CARD, assets.DemoPerson.IMPOSTOR),
            DOCUMENT_LONG_SIDE,
            1,
            id="impostor_card",
        ),
        pytest.param(lambda: assets.id_card_back(CARD), DOCUMENT_LONG_SIDE, 0, id="card_back"),
    ],
)
def test_each_picture_shows_the_expected_number_of_faces(
    make: Callable[[], bytes], long_side: int, expected: int
) -> None:
    data = make()

    assert sniff_media_type(data) is MediaType.JPEG
    assert faces_in(data, long_side) == expected


def test_card_back_barcode_carries_the_card_fields() -> None:
    text = decode_pdf417(Image.open(io.BytesIO(assets.id_card_back(CARD))))

    assert text == assets.aamva_data(CARD)
    fields = document_fields(parse_aamva(text))
    # Barcodes carry upper-case ASCII: the accent of Renée is dropped, as issuers do.
    assert (fields.given_name.value, fields.middle_name.value, fields.family_name.value) == (
        "RENEE",
        "CLAIRE",
        "DUBOIS",
    )
    assert fields.date_of_birth.value == dt.date(1990, 5, 14)
    assert fields.expiry_date.value == CARD.expiry
    assert fields.issuing_subdivision.value == assets.SPECIMEN_JURISDICTION


def test_cards_are_id1_size() -> None:
    for data in (assets.id_card_front(CARD), assets.id_card_back(CARD)):
        assert Image.open(io.BytesIO(data)).size == assets.CARD_SIZE


def test_expired_card_expired_before_today() -> None:
    expired = assets.expired_card(TODAY)

    assert expired.expiry < TODAY < CARD.expiry
    assert expired.document_number != CARD.document_number


def test_card_defaults_make_a_valid_card() -> None:
    card = assets.DemoCard(given="Eileen", family="Collins", date_of_birth=dt.date(1990, 11, 19))

    assert card.issued < dt.date.today() < card.expiry
    assert parse_aamva(assets.aamva_data(card)).value("DCS") == "COLLINS"


def test_card_dates_on_leap_day() -> None:
    card = assets.genuine_card(dt.date(2028, 2, 29))

    assert card.expiry == dt.date(2032, 2, 29)
    assert card.issued == dt.date(2027, 2, 28)
