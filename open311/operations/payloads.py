"""Payloads: the plain data each resource renders (one payload, two renderings)."""

from __future__ import annotations

import datetime as dt
import operator
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec

from open311.repository.driver import Rows

# An uploaded photo's media_url is stored as this path under the GeoReport endpoint and
# made absolute as it is served (never from a request's Host header when stored).
MEDIA_PATH = "media/"


class RequestItem(msgspec.Struct, gc=False):
    """A GET requests item as the list and the lookup by id answer it (no extensions): its
    fields in the spec's order. A struct, not a dict: made from a row in one C call and
    written to JSON by msgspec with its field names encoded once. Read like a dict
    (``item["status"]``); ``formats`` renders it in both formats. ``gc=False``: its fields
    are strings, numbers and None, which cannot form a cycle."""

    service_request_id: str | None
    status: str | None
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None

    def __getitem__(self, name: str):
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


REQUEST_FIELDS: tuple[str, ...] = RequestItem.__struct_fields__


@lru_cache(maxsize=64)
def _fields_of(names: tuple[str, ...]) -> operator.itemgetter:
    """Picks a row's payload fields by column name, in the struct's order (one C call per
    row: a slice when the statement selects them first, in order, as PUBLIC_COLUMNS do)."""
    width = len(REQUEST_FIELDS)
    if names[:width] == REQUEST_FIELDS:
        return operator.itemgetter(slice(0, width))
    return operator.itemgetter(*(names.index(name) for name in REQUEST_FIELDS))


def request_items(rows: Rows) -> list[RequestItem]:
    """The items of rows that hold REQUEST_FIELDS as labelled columns, already formatted
    (ids as text, datetimes as ISO strings with their offset)."""
    fields = _fields_of(rows.names)
    return [RequestItem(*fields(row)) for row in rows]


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_datetime(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    """``YYYY-MM-DDThh:mm:ss±hh:mm`` in the jurisdiction's time zone, to the second."""
    if value is None:
        return None
    return value.astimezone(tz).replace(microsecond=0).isoformat()


def request_payload(row) -> dict:
    """A GET requests item as a dict (the extensions add keys to it), from a named row
    (``Rows.named()``): the struct's fields, read by name."""
    return {name: getattr(row, name) for name in REQUEST_FIELDS}


def time_bound(value: dt.datetime | dt.date, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A filter bound as an aware datetime. An end is returned exclusive: a bare end
    date covers its whole day; an end datetime is inclusive to the microsecond."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware + dt.timedelta(microseconds=1) if end else aware
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)
