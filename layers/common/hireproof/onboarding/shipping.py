"""Laptop-farm signals in a shipping address.

Each signal becomes a review reason: an address shared with another hire, an
address other than the HR home address, a post-office box, or a known
reshipping service. None of them fails a hire alone, because each has innocent
explanations; a reviewer decides.
"""

from __future__ import annotations

import re

from hireproof.config import optional_env
from hireproof.hashing import keyed_hash, normalize_text
from hireproof.models import Address

ADDRESS_HASH_PURPOSE = "shipping-address"

_PO_BOX = re.compile(r"\b(p\s*o\s*box|post\s+office\s+box|postfach|boite\s+postale)\b")
_PO_BOX_JA = "私書箱"


def address_text(address: Address) -> str:
    """Return the address as one normalized line, the input of its keyed hash."""
    parts = [address.line1, address.line2 or "", address.city, address.region or "", address.postal_code]
    return normalize_text(" ".join([*parts, address.country]))


def address_hash(address: Address, *, key: bytes | None = None) -> str:
    """Return the keyed hash under which the address is compared across hires."""
    return keyed_hash(ADDRESS_HASH_PURPOSE, address_text(address), key=key)


def known_reshippers() -> list[str]:
    """Return the configured reshipper address fragments, normalized."""
    raw = optional_env("KNOWN_RESHIPPER_ADDRESSES")
    return [normalize_text(part) for part in raw.split(";") if normalize_text(part)]


def address_signals(
    shipping: Address, home: Address, *, other_hires_at_address: int, reshippers: list[str]
) -> list[str]:
    """Return the review reasons for one requested shipping address, in a stable order."""
    reasons: list[str] = []
    text = address_text(shipping)
    if other_hires_at_address > 0:
        reasons.append("shipping_address_reused")
    if text != address_text(home):
        reasons.append("shipping_address_differs_from_home")
    if _PO_BOX.search(text) or _PO_BOX_JA in shipping.line1 or _PO_BOX_JA in (shipping.line2 or ""):
        reasons.append("shipping_address_po_box")
    if any(fragment in text for fragment in reshippers):
        reasons.append("shipping_address_reshipper")
    return reasons
