"""AAMVA barcode data: parsing across versions and a round trip through a real PDF417 symbol."""

from __future__ import annotations

import datetime as dt

import pdf417gen
import pytest
from PIL import Image, ImageDraw

from hireproof.verification.aamva import (
    decode_pdf417,
    document_fields,
    encode_aamva,
    format_date,
    parse_aamva,
)
from hireproof.verification.engine import DocumentType, FieldSource

US_ELEMENTS = {
    "DCA": "C",
    "DBA": "05142030",
    "DCS": "DUBOIS",
    "DAC": "RENEE",
    "DAD": "CLAIRE",
    "DBD": "05142024",
    "DBB": "05141990",
    "DBC": "2",
    "DAJ": "ZZ",
    "DAQ": "D4820017",
    "DCG": "USA",
}


def render(text: str) -> Image.Image:
    codes = pdf417gen.encode(text.encode("latin-1"), columns=12, security_level=5)
    return pdf417gen.render_image(codes, scale=2, ratio=3, padding=10)


def test_round_trip_through_a_pdf417_symbol() -> None:
    data = encode_aamva(US_ELEMENTS, iin="990000")

    decoded = decode_pdf417(render(data))

    assert decoded == data
    record = parse_aamva(decoded)
    fields = document_fields(record)
    assert record.iin == "990000"
    assert record.aamva_version == 10
    assert record.subfiles[0].subfile_type == "DL"
    assert fields.source is FieldSource.BARCODE
    assert (fields.given_name.value, fields.middle_name.value, fields.family_name.value) == (
        "RENEE",
        "CLAIRE",
        "DUBOIS",
    )
    assert fields.date_of_birth.value == dt.date(1990, 5, 14)
    assert fields.expiry_date.value == dt.date(2030, 5, 14)
    assert fields.document_number.value == "D4820017"
    assert fields.issuing_country.value == "US"
    assert fields.issuing_subdivision.value == "ZZ"
    assert fields.document_type is DocumentType.DRIVER_LICENSE
    assert fields.given_name.confidence == 100.0


@pytest.mark.parametrize("tilt", [0, 2, 7, -10])
def test_round_trip_survives_a_tilted_photo_like_placement(tilt: int) -> None:
    symbol = render(encode_aamva(US_ELEMENTS, iin="990000"))
    symbol = symbol.rotate(tilt, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (symbol.width + 300, symbol.height + 300), (210, 215, 220))
    canvas.paste(symbol, (150, 150))
    ImageDraw.Draw(canvas).text((20, 20), "SPECIMEN", fill="black")

    decoded = decode_pdf417(canvas)

    assert decoded is not None
    assert parse_aamva(decoded).value("DAQ") == "D4820017"


def test_canadian_dates_are_year_first() -> None:
    elements = {**US_ELEMENTS, "DCG": "CAN", "DBB": "19900514", "DBA": "20300514"}

    fields = document_fields(parse_aamva(encode_aamva(elements, iin="990001")))

    assert fields.issuing_country.value == "CA"
    assert fields.date_of_birth.value == dt.date(1990, 5, 14)
    assert fields.expiry_date.value == dt.date(2030, 5, 14)


def test_format_date_writes_each_countrys_order() -> None:
    day = dt.date(1990, 5, 14)

    assert format_date(day, country="US") == "05141990"
    assert format_date(day, country="CA") == "19900514"


def test_id_card_subfile_and_unavailable_middle_name() -> None:
    elements = {**US_ELEMENTS, "DAD": "NONE"}

    fields = document_fields(parse_aamva(encode_aamva(elements, iin="990000", subfile_type="ID")))

    assert fields.document_type is DocumentType.ID_CARD
    assert fields.middle_name.value is None
    assert fields.middle_name.confidence == 0.0


def test_version_3_given_names_in_dct() -> None:
    elements = {k: v for k, v in US_ELEMENTS.items() if k not in {"DAC", "DAD"}}
    elements["DCT"] = "RENEE,CLAIRE"

    record = parse_aamva(encode_aamva(elements, iin="990000", aamva_version=3))

    assert record.names() == ("RENEE", "CLAIRE", "DUBOIS")


def test_parse_version_1_record() -> None:
    # Version 1 headers have no jurisdiction version: 19 bytes before the designators.
    body = "DLDAADUBOIS,RENEE,CLAIRE\nDBB19900514\nDBA20300514\nDAQD4820017\r"
    header = "@\n\x1e\rANSI 9900000101"
    data = header + f"DL{len(header) + 10:04d}{len(body):04d}" + body

    record = parse_aamva(data)

    assert record.jurisdiction_version is None
    assert record.names() == ("RENEE", "CLAIRE", "DUBOIS")
    assert record.date("DBB") == dt.date(1990, 5, 14)


def test_wrong_subfile_offset_falls_back_to_searching() -> None:
    data = encode_aamva(US_ELEMENTS, iin="990000")
    broken = data[:23] + "0099" + data[27:]  # the DL designator's offset, now pointing nowhere

    assert parse_aamva(broken).value("DCS") == "DUBOIS"


def test_impossible_us_date_falls_back_to_year_first() -> None:
    record = parse_aamva(encode_aamva({**US_ELEMENTS, "DBB": "19900514"}, iin="990000"))

    assert record.date("DBB") == dt.date(1990, 5, 14)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("", id="empty"),
        pytest.param("hello world, this is not a licence", id="no_compliance_indicator"),
        pytest.param("@\n\x1e\rXXXXX990000100001DL00310010DLDCSX\r", id="unknown_file_type"),
        pytest.param("@\n\x1e\rANSI 990000100001ZV00310010ZVZVA1\r", id="no_dl_or_id_subfile"),
        pytest.param("@\n\x1e\rANSI 99000010000", id="truncated_header"),
    ],
)
def test_parse_refuses_data_that_is_not_aamva(data: str) -> None:
    with pytest.raises(ValueError, match="not AAMVA data"):
        parse_aamva(data)


def test_decode_returns_none_without_a_barcode() -> None:
    assert decode_pdf417(Image.new("RGB", (640, 400), "white")) is None
