"""Laptop-farm signals of a requested shipping address."""

from __future__ import annotations

import pytest

from hireproof.models import Address
from hireproof.onboarding.shipping import address_hash, address_signals, address_text

HOME = Address(line1="1 Demo Way", city="Springfield", region="IL", postal_code="62701", country="US")
KEY = b"test-key"


def _address(**changes: str) -> Address:
    return HOME.model_copy(update=changes)


@pytest.mark.parametrize(
    ("shipping", "others", "reshippers", "expected"),
    [
        (HOME, 0, [], []),
        (HOME, 1, [], ["shipping_address_reused"]),
        (_address(line1="9 Other Street"), 0, [], ["shipping_address_differs_from_home"]),
        (
            _address(line1="P.O. Box 12"),
            0,
            [],
            ["shipping_address_differs_from_home", "shipping_address_po_box"],
        ),
        (
            _address(line1="私書箱 45"),
            0,
            [],
            ["shipping_address_differs_from_home", "shipping_address_po_box"],
        ),
        (
            _address(line1="4000 Forwarding Blvd Suite 12"),
            2,
            ["4000 forwarding blvd"],
            ["shipping_address_reused", "shipping_address_differs_from_home", "shipping_address_reshipper"],
        ),
    ],
    ids=["clean", "reused", "differs", "po-box", "po-box-japanese", "reshipper-and-reused"],
)
def test_address_signals_table(
    shipping: Address, others: int, reshippers: list[str], expected: list[str]
) -> None:
    assert address_signals(shipping, HOME, other_hires_at_address=others, reshippers=reshippers) == expected


def test_address_text_ignores_case_accents_and_punctuation() -> None:
    spelled_differently = _address(line1="1, DEMO  Wáy.", city="springfield")
    assert address_text(spelled_differently) == address_text(HOME)


def test_address_hash_equal_for_same_address_and_keyed() -> None:
    assert address_hash(_address(line1="1 demo way"), key=KEY) == address_hash(HOME, key=KEY)
    assert address_hash(HOME, key=KEY) != address_hash(HOME, key=b"other-key")
    assert "demo" not in address_hash(HOME, key=KEY)
