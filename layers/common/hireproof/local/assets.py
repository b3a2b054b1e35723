"""The demo's photographs and specimen ID cards, built offline from public-domain pictures.

Only two photographs of real people ship inside an installed Python package here, both in
scikit-image's bundled data:

- `astronaut`: the astronaut Eileen Collins (NASA, public domain). She is the genuine hire.
- `camera`: a man with a camera (CC0, by the photographer Lav Varshney). He is the impostor.

No other installed package carries a photograph of a person: scikit-image's `lfw_subset`
contains 25x25-pixel face crops, too small to detect. So the genuine selfie and the genuine
card portrait are two different crops and treatments of one photograph, not two
photographs: the same-person distance measured on them is lower than two real photos of
one person would give. docs/calibration.md records the numbers and what follows from this.

Cards are specimens of a fictional issuer ("Specimen State", jurisdiction code ZZ) and say
so on their face; their backs carry a real PDF417 barcode with AAMVA data.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
from enum import StrEnum
from functools import cache

import numpy as np
import pdf417gen
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps
from pydantic import BaseModel, ConfigDict, Field
from skimage import data as skdata

from hireproof.verification.aamva import encode_aamva, format_date

CARD_SIZE = (1012, 638)  # an ID-1 card (85.6 x 54 mm) at 300 dpi
SPECIMEN_IIN = "990000"  # outside the 636xxx range AAMVA assigns to real issuers
SPECIMEN_JURISDICTION = "ZZ"
_INK = (24, 32, 48)
_BAND = (22, 58, 110)


class DemoPerson(StrEnum):
    """The two real people whose photographs the demo can use."""

    GENUINE = "genuine"
    """Eileen Collins, from scikit-image's `astronaut` (NASA, public domain)."""
    IMPOSTOR = "impostor"
    """The man in scikit-image's `camera` (CC0, Lav Varshney)."""


def _in_years(years: int) -> dt.date:
    return _add_years(dt.date.today(), years)


class DemoCard(BaseModel):
    """Fields a specimen card prints on its front and encodes in its barcode.

    Dates default to a card issued a year ago and valid for four more years.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    given: str
    family: str
    middle: str | None = None
    date_of_birth: dt.date
    issued: dt.date = Field(default_factory=lambda: _in_years(-1))
    expiry: dt.date = Field(default_factory=lambda: _in_years(4))
    document_number: str = Field(default="D4820017", pattern=r"^[A-Z0-9]{4,20}$")
    sex: str = Field(default="9", pattern=r"^[129]$", description="AAMVA DBC: 1 M, 2 F, 9 unknown.")
    country: str = "US"
    jurisdiction: str = SPECIMEN_JURISDICTION


def genuine_card(today: dt.date | None = None) -> DemoCard:
    """Return the demo hire's valid card, in the name Renée Claire Dubois."""
    today = today or dt.date.today()
    return DemoCard(
        given="Renée",
        middle="Claire",
        family="Dubois",
        date_of_birth=dt.date(1990, 5, 14),
        issued=_add_years(today, -1),
        expiry=_add_years(today, 4),
        sex="2",
    )


def expired_card(today: dt.date | None = None) -> DemoCard:
    """Return the demo hire's previous card, expired a month before `today`."""
    today = today or dt.date.today()
    return genuine_card(today).model_copy(
        update={
            "issued": _add_years(today, -5),
            "expiry": today - dt.timedelta(days=30),
            "document_number": "D3170552",
        }
    )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# ----------------------------------------------------------------- photographs
@cache
def _astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut()).convert("RGB")  # type: ignore[no-untyped-call]


@cache
def _cameraman() -> Image.Image:
    return Image.fromarray(skdata.camera()).convert("RGB")  # type: ignore[no-untyped-call]


def _face_crop(person: DemoPerson, *, for_card: bool) -> Image.Image:
    """Crop the person's photograph to head and shoulders, large enough to detect."""
    if person is DemoPerson.GENUINE:
        # The card portrait is tighter than the selfie, as a card photographer frames it.
        box = (150, 20, 310, 220) if for_card else (110, 0, 360, 280)
        return _astronaut().crop(box)
    # The cameraman's face turns three-quarters away and is about 70 pixels wide in the
    # original; HOG finds it once the crop is enlarged.
    box = (140, 50, 290, 230) if for_card else (120, 40, 320, 260)
    return _cameraman().crop(box)


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _selfie(person: DemoPerson) -> Image.Image:
    crop = _face_crop(person, for_card=False)
    # Front cameras mirror the picture and phones save about 1080 pixels across.
    scale = 960 / crop.height
    selfie = crop.resize((round(crop.width * scale), 960), Image.Resampling.BICUBIC)
    selfie = ImageOps.mirror(selfie)
    selfie = ImageEnhance.Brightness(selfie).enhance(1.06)
    return ImageEnhance.Color(selfie).enhance(0.9)


def genuine_selfie() -> bytes:
    """Return a selfie of the genuine hire (JPEG)."""
    return _jpeg(_selfie(DemoPerson.GENUINE))


def impostor_selfie() -> bytes:
    """Return a selfie of a different real person (JPEG)."""
    return _jpeg(_selfie(DemoPerson.IMPOSTOR))


def two_person_selfie() -> bytes:
    """Both people side by side in one picture (JPEG): a retake case."""
    left, right = _selfie(DemoPerson.GENUINE), _selfie(DemoPerson.IMPOSTOR)
    canvas = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    return _jpeg(canvas)


def no_face_photo() -> bytes:
    """Return a photograph with no face in it, scikit-image's `coffee` (CC0), as JPEG."""
    photo = skdata.coffee()  # type: ignore[no-untyped-call]
    return _jpeg(Image.fromarray(photo).convert("RGB"))


# ----------------------------------------------------------------- cards
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _card_background() -> Image.Image:
    width, height = CARD_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    # A faint guilloche-like wave pattern, as security printing has.
    wave = 0.5 + 0.5 * np.sin(x / 23.0 + 6 * np.sin(y / 41.0)) * np.cos(y / 17.0)
    base = np.stack([232 - 10 * wave, 240 - 6 * wave, 236 - 12 * wave + 8 * (x / width)], axis=-1)
    return Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGB")


def _header(draw: ImageDraw.ImageDraw, title: str) -> None:
    width, _ = CARD_SIZE
    draw.rectangle((0, 0, width, 86), fill=_BAND)
    draw.text((36, 14), "SPECIMEN STATE", font=_font(40), fill="white")
    draw.text((width - 36, 24), title, font=_font(30), fill=(236, 214, 140), anchor="ra")
    draw.text(
        (36, 60), "SPECIMEN - NOT A GOVERNMENT ID - HIREPROOF DEMO", font=_font(16), fill="white"
    )


def _print_date(value: dt.date) -> str:
    return value.strftime("%m/%d/%Y")


def id_card_front(card: DemoCard, person: DemoPerson = DemoPerson.GENUINE) -> bytes:
    """Draw the front of a specimen driver's licence with the person's portrait (JPEG)."""
    canvas = _card_background()
    draw = ImageDraw.Draw(canvas)
    _header(draw, "DRIVER LICENSE")

    portrait = _face_crop(person, for_card=True)
    portrait = ImageOps.fit(portrait, (272, 340), Image.Resampling.LANCZOS)
    portrait = ImageEnhance.Contrast(portrait).enhance(1.08)
    canvas.paste(portrait, (36, 118))
    draw.rectangle((35, 117, 36 + 272, 118 + 340), outline=(90, 96, 110), width=2)

    label, value = _font(17), _font(30)
    rows = [
        ("4d DLN", card.document_number),
        ("1 FAMILY NAME", _ascii_upper(card.family)),
        (
            "2 GIVEN NAMES",
            _ascii_upper(" ".join(filter(None, (card.given, card.middle)))),
        ),
        ("3 DOB", _print_date(card.date_of_birth)),
        ("4a ISS", _print_date(card.issued)),
        ("4b EXP", _print_date(card.expiry)),
    ]
    y = 112
    for caption, text in rows:
        draw.text((340, y), caption, font=label, fill=(150, 30, 30))
        draw.text((340, y + 20), text, font=value, fill=_INK)
        y += 66
    draw.text((740, 112), "15 SEX", font=label, fill=(150, 30, 30))
    draw.text((740, 132), {"1": "M", "2": "F"}.get(card.sex, "X"), font=value, fill=_INK)
    draw.text((740, 178), "9 CLASS", font=label, fill=(150, 30, 30))
    draw.text((740, 198), "C", font=value, fill=_INK)
    draw.line((340, 560, 700, 560), fill=(90, 96, 110), width=2)
    draw.text((340, 566), "SIGNATURE", font=_font(14), fill=(90, 96, 110))
    draw.text((976, 600), "SPECIMEN", font=_font(22), fill=(150, 30, 30), anchor="rs")
    return _jpeg(canvas, quality=92)


def aamva_data(card: DemoCard) -> str:
    """Build the AAMVA barcode data for a card."""
    elements = {
        "DCA": "C",
        "DCB": "NONE",
        "DCD": "NONE",
        "DBA": format_date(card.expiry, country=card.country),
        "DCS": _ascii_upper(card.family),
        "DAC": _ascii_upper(card.given),
        "DAD": _ascii_upper(card.middle) if card.middle else "NONE",
        "DBD": format_date(card.issued, country=card.country),
        "DBB": format_date(card.date_of_birth, country=card.country),
        "DBC": card.sex,
        "DAY": "BRO",
        "DAU": "066 IN",
        "DAG": "1 SPECIMEN WAY",
        "DAI": "SPECIMEN CITY",
        "DAJ": card.jurisdiction,
        "DAK": "000000000",
        "DAQ": card.document_number,
        "DCF": f"{card.document_number}SPEC",
        "DCG": {"US": "USA", "CA": "CAN"}.get(card.country, card.country),
        "DDE": "N",
        "DDF": "N",
        "DDG": "N",
    }
    return encode_aamva(elements, iin=SPECIMEN_IIN, aamva_version=10, jurisdiction_version=0)


def _ascii_upper(text: str) -> str:
    # Barcodes carry upper-case ASCII: issuers drop accents (Renée -> RENEE).
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii()).upper()


def id_card_back(card: DemoCard) -> bytes:
    """Draw the back of a specimen card with a PDF417 barcode of its AAMVA data (JPEG)."""
    canvas = _card_background()
    draw = ImageDraw.Draw(canvas)
    _header(draw, "DRIVER LICENSE")
    codes = pdf417gen.encode(aamva_data(card).encode("latin-1"), columns=13, security_level=5)
    barcode = pdf417gen.render_image(codes, scale=2, ratio=3, padding=8)
    target_width = CARD_SIZE[0] - 110
    height = math.floor(barcode.height * target_width / barcode.width)
    barcode = barcode.resize((target_width, height), Image.Resampling.NEAREST)
    canvas.paste(barcode, (55, 130))
    draw.text(
        (55, 150 + height),
        "This card is a specimen made for the HireProof demo. It is not an identity document.",
        font=_font(18),
        fill=_INK,
    )
    return _jpeg(canvas.filter(ImageFilter.SMOOTH_MORE), quality=92)


def back_instead_of_front(card: DemoCard) -> bytes:
    """Return what a hire sends after photographing the back where the front was requested."""
    return id_card_back(card)


def expired_id_card(today: dt.date | None = None) -> tuple[bytes, bytes]:
    """Front and back of the genuine hire's expired card."""
    card = expired_card(today)
    return id_card_front(card), id_card_back(card)
