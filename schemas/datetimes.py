"""ISO 8601 as clients send it: one parser for query parameters and attribute values."""

from __future__ import annotations

import datetime as dt
import re

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
YEARS = (1900, 2200)


def parse_iso8601(text: str) -> dt.datetime | dt.date:
    """An aware datetime (``Z`` or an offset given), a naive one (no offset: the caller
    reads it in the jurisdiction's time zone) or a date (a bare date). Fractions beyond
    microseconds are cut. Raises ValueError for anything else or a year out of range."""
    text = text.strip()
    if len(text) > 40:
        raise ValueError("too long")
    parsed: dt.datetime | dt.date
    if _DATE.fullmatch(text):
        parsed = dt.date.fromisoformat(text)
    else:
        match = _DATETIME.fullmatch(text)
        if not match:
            raise ValueError(text)
        day, clock, fraction, offset = match.groups()
        normal = f"{day}T{clock}"
        if fraction:
            normal += "." + fraction[:6].ljust(6, "0")
        if offset:
            offset = "+00:00" if offset in "Zz" else offset
            if len(offset) == 3:
                offset += ":00"
            elif ":" not in offset:
                offset = f"{offset[:3]}:{offset[3:]}"
            normal += offset
        parsed = dt.datetime.fromisoformat(normal)
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) >= dt.timedelta(hours=24):
            raise ValueError(text)
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ValueError(f"year {parsed.year} is out of range")
    return parsed
