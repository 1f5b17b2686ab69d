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


def request_payload(row, tz: ZoneInfo) -> dict:
    """A GET requests item from a row with the REQUEST_FIELDS columns (datetimes aware)."""
    return {
        "service_request_id": str(row.service_request_id),
        "status": row.status,
        "status_notes": row.status_notes,
        "service_name": row.service_name,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": row.agency_responsible,
        "service_notice": row.service_notice,
        "requested_datetime": format_datetime(row.requested_datetime, tz),
        "updated_datetime": format_datetime(row.updated_datetime, tz),
        "expected_datetime": format_datetime(row.expected_datetime, tz),
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": row.zipcode,
        "lat": row.lat,
        "long": row.long,
        "media_url": row.media_url,
    }


def time_bound(value: dt.datetime | dt.date, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A filter bound as an aware datetime. An end is returned exclusive: a bare end
    date covers its whole day; an end datetime is inclusive to the microsecond."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware + dt.timedelta(microseconds=1) if end else aware
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)
