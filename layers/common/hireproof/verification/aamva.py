"""Read the PDF417 barcode on the back of North American driver's licences and ID cards.

The barcode carries data in the layout of the AAMVA DL/ID Card Design Standard. A header
(compliance indicator, separators, file type, issuer identification number, versions, subfile
count) comes first. One designator per subfile (type, offset, length) follows. Each subfile is
a list of data elements: a three-letter id, then its value (DCS family name, DAC first name,
DBB date of birth, ...). US cards write dates as MMDDCCYY, Canadian cards as CCYYMMDD.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import zxingcpp
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from hireproof.verification.engine import (
    DateField,
    DocumentFields,
    DocumentType,
    FieldSource,
    TextField,
)
from hireproof.verification.images import downscale

COMPLIANCE_INDICATOR = "@"
ELEMENT_SEPARATOR = "\n"
RECORD_SEPARATOR = "\x1e"
SEGMENT_TERMINATOR = "\r"
FILE_TYPES = ("ANSI ", "AAMVA")
# A decoded field is exact: PDF417 carries Reed-Solomon error correction, so a read either
# yields the encoded bytes or fails.
BARCODE_CONFIDENCE = 100.0
# zxing finds PDF417 symbols faster and as reliably on a phone photo scaled to this size.
DECODE_LONG_SIDE = 2048
# Each retry covers about 2 degrees either side, so these reach a tilt of about 11 degrees.
_DESKEW_ANGLES = (0, 3, -3, 6, -6, 9, -9)

_UNAVAILABLE = {"", "NONE", "UNAVL", "UNAVAILABLE", "N/A"}
_COUNTRIES = {"USA": "US", "CAN": "CA", "MEX": "MX"}
_SUBFILE_TYPES = {"DL": DocumentType.DRIVER_LICENSE, "ID": DocumentType.ID_CARD}


class SubfileDesignator(BaseModel):
    """Position of one subfile in the barcode data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subfile_type: str
    offset: int
    length: int


class AamvaRecord(BaseModel):
    """The header and the data elements of the DL or ID subfile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iin: str
    aamva_version: int
    jurisdiction_version: int | None
    subfiles: tuple[SubfileDesignator, ...]
    subfile_type: str
    elements: dict[str, str] = Field(repr=False)

    def value(self, element_id: str) -> str | None:
        """Return an element's value, or None when absent or marked unavailable."""
        raw = self.elements.get(element_id)
        if raw is None or raw.strip().upper() in _UNAVAILABLE:
            return None
        return raw.strip()

    @property
    def country(self) -> str | None:
        """ISO 3166-1 alpha-2 country of the issuer (from DCG), when present."""
        raw = self.value("DCG")
        return _COUNTRIES.get(raw.upper(), raw.upper()) if raw else None

    def names(self) -> tuple[str | None, str | None, str | None]:
        """Return (given, middle, family) across AAMVA versions (DAC/DAD, DCT, DAA)."""
        family = self.value("DCS") or self.value("DAB")
        given = self.value("DAC")
        middle = self.value("DAD")
        if given is None and (combined := self.value("DCT")):
            # Versions 2 and 3 hold every given name in DCT, separated by commas or spaces.
            first, _, rest = combined.replace(",", " ").strip().partition(" ")
            given, middle = first, rest.strip() or middle
        if (family is None or given is None) and (full := self.value("DAA")):
            # Version 1 writes the full name in DAA as FAMILY,GIVEN,MIDDLE.
            parts = [p.strip() for p in full.split(",")]
            family = family or (parts[0] if parts else None)
            given = given or (parts[1] if len(parts) > 1 else None)
            middle = middle or (" ".join(parts[2:]) or None)
        return given, middle, family

    def date(self, element_id: str) -> dt.date | None:
        """Parse a date element: MMDDCCYY for US cards, CCYYMMDD for Canadian and version 1."""
        raw = self.value(element_id)
        if raw is None or len(raw) != 8 or not raw.isdigit():
            return None
        year_first = self.country == "CA" or self.aamva_version <= 1
        orders = (True, False) if year_first else (False, True)
        for order in orders:
            parsed = _parse_date(raw, year_first=order)
            if parsed is not None:
                return parsed
        return None


def _parse_date(raw: str, *, year_first: bool) -> dt.date | None:
    year, month, day = (raw[:4], raw[4:6], raw[6:]) if year_first else (raw[4:], raw[:2], raw[2:4])
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_aamva(text: str) -> AamvaRecord:
    """Parse AAMVA barcode data. Raises ValueError when the data is not an AAMVA DL/ID record."""
    if len(text) < 19 or not text.startswith(COMPLIANCE_INDICATOR):
        raise ValueError("not AAMVA data: missing compliance indicator")
    element_sep, segment_end = text[1], text[3]
    if text[4:9] not in FILE_TYPES:
        raise ValueError("not AAMVA data: unknown file type")
    iin, version = text[9:15], _digits(text[15:17])

    if version >= 2:
        jurisdiction_version, entries, position = _digits(text[17:19]), _digits(text[19:21]), 21
    else:
        jurisdiction_version, entries, position = None, _digits(text[17:19]), 19
    designators = []
    for _ in range(entries):
        chunk = text[position : position + 10]
        if len(chunk) < 10:
            raise ValueError("not AAMVA data: truncated subfile designators")
        designators.append(
            SubfileDesignator(
                subfile_type=chunk[:2], offset=_digits(chunk[2:6]), length=_digits(chunk[6:10])
            )
        )
        position += 10

    target = next((d for d in designators if d.subfile_type in _SUBFILE_TYPES), None)
    if target is None:
        raise ValueError("not AAMVA data: no DL or ID subfile")
    body = _subfile_body(text, target, position)

    elements: dict[str, str] = {}
    for item in body.split(element_sep):
        item = item.strip(segment_end + "\r\n")
        if len(item) >= 3 and item[:3].isalpha() and item[:3].isupper():
            elements.setdefault(item[:3], item[3:])
    if not elements:
        raise ValueError("not AAMVA data: no data elements")
    return AamvaRecord(
        iin=iin,
        aamva_version=version,
        jurisdiction_version=jurisdiction_version,
        subfiles=tuple(designators),
        subfile_type=target.subfile_type,
        elements=elements,
    )


def _digits(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("not AAMVA data: expected digits in the header")
    return int(raw)


def _subfile_body(text: str, designator: SubfileDesignator, header_end: int) -> str:
    """Return the subfile's elements, trusting the designator's offset when it points at the type.

    Some issuers write offsets that are off by a few bytes, so when the offset does not land
    on the subfile type, the first occurrence of the type after the header is used instead.
    """
    start = designator.offset
    if text[start : start + 2] != designator.subfile_type:
        start = text.find(designator.subfile_type, header_end)
        if start < 0:
            raise ValueError("not AAMVA data: subfile not found")
        return text[start + 2 :]
    return text[start + 2 : start + designator.length]


def decode_pdf417(image: Image.Image) -> str | None:
    """Return the text of the first PDF417 symbol in the image, or None when none reads.

    zxing reads PDF417 only up to about 2 degrees of skew, and a hand-held photo of a card
    is often tilted more, so a failed read is retried at a few small rotations.
    """
    scaled = downscale(image, DECODE_LONG_SIDE).convert("L")
    for angle in _DESKEW_ANGLES:
        candidate = scaled if angle == 0 else scaled.rotate(angle, expand=True, fillcolor=255)
        results = zxingcpp.read_barcodes(
            candidate,
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.PDF417),
            text_mode=zxingcpp.TextMode.Plain,
        )
        for result in results:
            if result.valid:
                # AAMVA data is ASCII with control separators; Latin-1 keeps every byte.
                return bytes(result.bytes).decode("latin-1")
    return None


def document_fields(record: AamvaRecord) -> DocumentFields:
    """Map an AAMVA record to the engine's document fields."""
    given, middle, family = record.names()

    def text(value: str | None) -> TextField:
        return TextField(value=value, confidence=BARCODE_CONFIDENCE if value else 0.0)

    def date(value: dt.date | None) -> DateField:
        return DateField(value=value, confidence=BARCODE_CONFIDENCE if value else 0.0)

    return DocumentFields(
        source=FieldSource.BARCODE,
        given_name=text(given),
        family_name=text(family),
        middle_name=text(middle),
        date_of_birth=date(record.date("DBB")),
        expiry_date=date(record.date("DBA")),
        document_number=text(record.value("DAQ")),
        issuing_country=text(record.country),
        issuing_subdivision=text(record.value("DAJ")),
        document_type=_SUBFILE_TYPES.get(record.subfile_type, DocumentType.OTHER),
    )


def format_date(value: dt.date, *, country: str) -> str:
    """Format a date the way an issuer in `country` (alpha-2) writes it in the barcode."""
    return value.strftime("%Y%m%d") if country == "CA" else value.strftime("%m%d%Y")


def encode_aamva(
    elements: Mapping[str, str],
    *,
    iin: str,
    subfile_type: str = "DL",
    aamva_version: int = 10,
    jurisdiction_version: int = 0,
) -> str:
    """Build AAMVA barcode data (version 2 and later layout) with one DL or ID subfile.

    Used to make the demo's card backs and the tests' barcodes.
    """
    if len(iin) != 6 or not iin.isdigit():
        raise ValueError("iin must be six digits")
    body = subfile_type + ELEMENT_SEPARATOR.join(f"{k}{v}" for k, v in elements.items())
    body += SEGMENT_TERMINATOR
    header = (
        COMPLIANCE_INDICATOR
        + ELEMENT_SEPARATOR
        + RECORD_SEPARATOR
        + SEGMENT_TERMINATOR
        + FILE_TYPES[0]
        + iin
        + f"{aamva_version:02d}{jurisdiction_version:02d}01"
    )
    offset = len(header) + 10
    return header + f"{subfile_type}{offset:04d}{len(body):04d}" + body
