"""Shared by the integrator-extension tests (tests/api/test_paging.py and its
siblings): the requests they post, and helpers to read answers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import sqlalchemy as sa

from open311.models import RequestEvent
from tests.helpers import (
    CITY_HALL,
    parse_link_header,
)

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
HALL_LAT, HALL_LONG = 34.0537, -118.2428  # City Hall: council district 14, DTLA NC 52, Central
VAN_NUYS = {"lat": 34.1867, "long": -118.4487}  # council district 6, Van Nuys NC, The Valley
M_PER_DEG_LAT = 111_000  # close enough for "about 10 m north"

OTHER = {"service_code": "OTHER", **CITY_HALL}
GRAFFITI = {"service_code": "GRAFFITI", **CITY_HALL, "attribute[SURFACE]": "FENCE"}
BULKY = {
    "service_code": "BULKY-ITEMS",
    **CITY_HALL,
    "attribute[ITEM_TYPES][]": ["MATTRESS", "SOFA"],
    "attribute[ITEM_COUNT]": "2",
    "attribute[LOCATION_TYPE]": "CURB",
}
ENCAMPMENT = {
    "service_code": "HOMELESS-ENCAMPMENT",
    **CITY_HALL,
    "attribute[LOCATION_TYPE]": "SIDEWALK",
}
EXTENDED_KEYS = {"extended_attributes", "notes", "attributes"}


# -- helpers ---------------------------------------------------------------------------------
def ids(result) -> list[str]:
    return [r["service_request_id"] for r in result.body]


def idlist(*requests) -> list[str]:
    return [str(r.id) for r in requests]


def links(result) -> dict[str, str]:
    return parse_link_header(result.headers.get("Link"))


def now_iso() -> str:
    return dt.datetime.now(UTC).isoformat()


def all_pages(api, params, first_schema="requests") -> tuple[list[list[str]], list]:
    """Follow rel="next" from the first page to the last: the ids of each page."""
    result = api.get("requests", params, root="service_requests", schema=first_schema)
    assert result.status == 200, result.body
    pages, results = [ids(result)], [result]
    while "next" in links(result):
        result = api.follow(links(result)["next"], root="service_requests", schema="requests")
        assert result.status == 200, result.body
        pages.append(ids(result))
        results.append(result)
        assert len(pages) < 50
    return pages, results


def cursor_of(url: str) -> str:
    return re.search(r"[?&]cursor=([^&]+)", url).group(1)


def make_cursor(data) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def created(api, data, **kwargs) -> str:
    result = api.post("requests", data, **kwargs)
    assert result.status == 200, result.body
    return result.body[0]["service_request_id"]


def extended(api, request_id: str) -> dict:
    result = api.get(
        f"requests/{request_id}",
        {"extensions": "true"},
        root="service_requests",
        schema="requests_extended",
    )
    assert result.status == 200, result.body
    assert len(result.body) == 1
    return result.body[0]


def post_update(api, key: str, request_id, status: str, update_id: str, **fields):
    data = {
        "api_key": key,
        "service_request_id": str(request_id),
        "update_id": update_id,
        "status": status,
        "updated_datetime": fields.pop("updated_datetime", now_iso()),
        "description": fields.pop("description", ""),
        **fields,
    }
    return api.post("servicerequestupdates", data, schema=None, root="service_request_updates")


def events_of(session, request_id) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(RequestEvent)
        .where(RequestEvent.request_pk == int(request_id))
    )
