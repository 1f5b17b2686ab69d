"""Public ids as clients write them: ASCII digits only (``str.isdigit`` and ``int`` also take
other scripts' digits: ``int("١")`` is 1, and ``"³".isdigit()`` is true)."""

from __future__ import annotations

import re

from open311.models.base import BIGINT_MAX

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def public_pk(text: str) -> int | None:
    """The primary key a public id names, or None when no row can have it."""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    pk = int(text)
    return pk if 0 < pk <= BIGINT_MAX else None


def public_pks(values: list[str]) -> list[int]:
    """The primary keys of the public ids that can exist (others cannot match anything)."""
    return [pk for pk in map(public_pk, values) if pk is not None]
