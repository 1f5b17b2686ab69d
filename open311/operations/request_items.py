"""The items of GET requests and GET request by id: structs as rows give them, or, with the
extensions, dicts with the request's areas, channel, history and attributes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from open311.operations.payloads import RequestItem, format_datetime, request_items, request_payload
from open311.repository import geography as geo_repo
from open311.repository import jurisdictions as jurisdictions_repo
from open311.repository import keys as keys_repo
from open311.repository import requests as repo
from open311.repository.driver import Rows


def items_of(
    session: Session, rows: Rows, tz: ZoneInfo, extensions: bool
) -> list[RequestItem] | list[dict]:
    """Request items (structs); with ``extensions``, dicts that also carry
    ``extended_attributes`` (detailed_status, channel, areas, duplicate_of), ``notes`` (the
    history) and the submitted ``attributes``."""
    if not extensions:
        return request_items(rows)
    named = rows.named()
    areas = geo_repo.areas_by_pk(session, sorted({pk for row in named for pk in row.area_pks}))
    codes = {j.id: j.jurisdiction_id for j in jurisdictions_repo.all_jurisdictions(session)}
    apps = keys_repo.names(session, {row.api_key_pk for row in named if row.api_key_pk})
    events: dict[int, list] = {}
    for event in repo.events_of(session, [int(row.service_request_id) for row in named]):
        events.setdefault(event.request_pk, []).append(event)
    items = []
    for row in named:
        item = request_payload(row)
        extended: dict = {
            "detailed_status": row.detailed_status,
            "channel": apps.get(row.api_key_pk),
            "areas": [
                {
                    "jurisdiction_id": codes[a.jurisdiction_pk],
                    "layer": a.layer,
                    "id": a.area_id,
                    "name": a.name,
                }
                for a in sorted(
                    (areas[pk] for pk in row.area_pks if pk in areas),
                    key=lambda a: (a.jurisdiction_pk, a.layer, a.area_id),
                )
            ],
        }
        if row.duplicate_of is not None:
            extended["duplicate_of"] = str(row.duplicate_of)
        item["extended_attributes"] = extended
        item["notes"] = [
            note_payload(event, tz) for event in events.get(int(row.service_request_id), [])
        ]
        item["attributes"] = [
            {"code": code, "values": value if isinstance(value, list) else [str(value)]}
            for code, value in sorted((row.attributes or {}).items())
        ]
        items.append(item)
    return items


def note_payload(event, tz: ZoneInfo) -> dict:
    return {
        "datetime": format_datetime(event.at, tz),
        "type": event.kind,
        "status": event.status,
        "detailed_status": event.detailed_status or event.status,
        "description": event.note,
    }
