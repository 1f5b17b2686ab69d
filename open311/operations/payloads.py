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
    already formatted (ids as text, datetimes as ISO strings with their offset). A dict
    display with constant keys: twice as fast as dict(zip(...)) over 1000 rows."""
    return {
        "service_request_id": row[0], "status": row[1], "status_notes": row[2],
        "service_name": row[3], "service_code": row[4], "description": row[5],
        "agency_responsible": row[6], "service_notice": row[7],
        "requested_datetime": row[8], "updated_datetime": row[9],
        "expected_datetime": row[10], "address": row[11], "address_id": row[12],
        "zipcode": row[13], "lat": row[14], "long": row[15], "media_url": row[16],
    }


def time_bound(value: dt.datetime | dt.date, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A filter bound as an aware datetime. An end is returned exclusive: a bare end
    date covers its whole day; an end datetime is inclusive to the microsecond."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware + dt.timedelta(microseconds=1) if end else aware
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)
