"""Payloads: the plain data each resource renders (one payload, two renderings)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

REQUEST_FIELDS = (
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_datetime(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    """``YYYY-MM-DDThh:mm:ss±hh:mm`` in the jurisdiction's time zone, to the second."""
    if value is None:
        return None
    return value.astimezone(tz).replace(microsecond=0).isoformat()


def request_payload(row) -> dict:
    """A GET requests item from a row whose first columns are REQUEST_FIELDS, in order,
    already formatted (ids as text, datetimes as ISO strings with their offset)."""
    return dict(zip(REQUEST_FIELDS, row, strict=False))


def time_bound(value: dt.datetime | dt.date, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A filter bound as an aware datetime. An end is returned exclusive: a bare end
    date covers its whole day; an end datetime is inclusive to the microsecond."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware + dt.timedelta(microseconds=1) if end else aware
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)
