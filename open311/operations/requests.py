"""POST Service Request, GET Service Requests, GET Service Request, GET id from token."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from open311.errors import BadRequest, NotFound
from open311.models import ApiKey
from open311.operations.attributes import check_attributes
from open311.operations.jurisdictions import optional_jurisdiction, resolve_jurisdiction
from open311.operations.locating import fill_address, locate, route
from open311.operations.payloads import request_payload, zone
from open311.repository import catalogue
from open311.repository import geography as geo_repo
from open311.repository import jurisdictions as jurisdictions_repo
from open311.repository import requests as repo

logger = logging.getLogger(__name__)

PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone", "device_id", "account_id")


@dataclass
class RequestQuery:
    """GET requests filters, as parsed from the query string."""

    jurisdiction_id: str | None = None
    service_request_id: list[str] | None = None
    service_code: list[str] | None = None
    start_date: dt.datetime | dt.date | None = None
    end_date: dt.datetime | dt.date | None = None
    status: list[str] | None = None
    extensions: bool = False


@dataclass
class Limits:
    max_requests: int = 1000
    window_days: int = 90


@dataclass
class NewRequest:
    """POST requests fields, as parsed from the form."""

    service_code: str
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    personal: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> NewRequest:
        return cls(
            service_code=form["service_code"],
            jurisdiction_id=form.get("jurisdiction_id"),
            lat=form.get("lat"), long=form.get("long"),
            address_string=form.get("address_string"), address_id=form.get("address_id"),
            description=form.get("description"), media_url=form.get("media_url"),
            attributes=form.get("attributes") or {},
            personal={name: form.get(name) for name in PERSONAL_FIELDS},
        )


def _bound(value: dt.datetime | dt.date, tz: ZoneInfo, *, end: bool) -> dt.datetime:
    """A filter bound as an aware datetime. An end is returned exclusive: a bare end
    date covers its whole day; an end datetime is inclusive to the microsecond."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware + dt.timedelta(microseconds=1) if end else aware
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def _ids(values: list[str]) -> list[int]:
    """Public ids that can exist (others cannot match anything)."""
    return [int(v) for v in values if v.isdigit() and 0 < int(v) <= repo.BIGINT_MAX]


def get_service_requests(session: Session, query: RequestQuery, limits: Limits,
                         now: dt.datetime | None = None) -> list[dict]:
    jurisdiction = resolve_jurisdiction(session, query.jurisdiction_id)
    tz = zone(jurisdiction.timezone)
    if query.service_request_id:
        rows = repo.public_rows(session, jurisdiction.id, ids=_ids(query.service_request_id),
                                limit=limits.max_requests, extended=query.extensions)
        return _payloads(session, rows, tz, query.extensions)

    now = now or dt.datetime.now(dt.UTC)
    window = dt.timedelta(days=limits.window_days)
    start = _bound(query.start_date, tz, end=False) if query.start_date else None
    end_before = _bound(query.end_date, tz, end=True) if query.end_date else None
    if start and end_before and start >= end_before:
        raise BadRequest("start_date must be before end_date")
    if start is None:
        start = (end_before or now) - window

    service_pks = None
    if query.service_code:
        found = catalogue.service_ids_by_code(session, jurisdiction.id, query.service_code)
        unknown = [code for code in query.service_code if code not in found]
        if unknown:
            raise BadRequest(f"service_code {', '.join(map(repr, unknown))}: not a service of "
                             f"{jurisdiction.jurisdiction_id}")
        service_pks = list(found.values())

    rows = repo.public_rows(session, jurisdiction.id, service_pks=service_pks, start=start,
                            end_before=end_before, statuses=query.status,
                            limit=limits.max_requests, extended=query.extensions)
    return _payloads(session, rows, tz, query.extensions)


def _payloads(session: Session, rows, tz: ZoneInfo, extensions: bool) -> list[dict]:
    """Request items; with ``extensions``, each with its ``extended_attributes``."""
    if not extensions:
        return [request_payload(row, tz) for row in rows]
    areas = geo_repo.areas_by_pk(session, sorted({pk for row in rows for pk in row.area_pks}))
    codes = {j.id: j.jurisdiction_id for j in jurisdictions_repo.all_jurisdictions(session)}
    items = []
    for row in rows:
        item = request_payload(row, tz)
        item["extended_attributes"] = {"areas": [
            {"jurisdiction_id": codes[a.jurisdiction_pk], "layer": a.layer, "id": a.area_id,
             "name": a.name}
            for a in sorted((areas[pk] for pk in row.area_pks if pk in areas),
                            key=lambda a: (a.jurisdiction_pk, a.layer, a.area_id))]}
        items.append(item)
    return items


def get_service_request(session: Session, jurisdiction_id: str | None,
                        service_request_id: str, extensions: bool = False) -> list[dict]:
    jurisdiction = resolve_jurisdiction(session, jurisdiction_id)
    ids = _ids([service_request_id])
    rows = (repo.public_rows(session, jurisdiction.id, ids=ids, limit=1, extended=extensions)
            if ids else [])
    if not rows:
        raise NotFound(f"service request {service_request_id!r} not found")
    return _payloads(session, rows, zone(jurisdiction.timezone), extensions)


def get_request_id_from_token(session: Session, jurisdiction_id: str | None,
                              token: str) -> list[dict]:
    """``service_request_id`` is null while a batch request waits to be accepted (clients
    poll, as with Chicago's endpoint)."""
    jurisdiction = resolve_jurisdiction(session, jurisdiction_id)
    request = repo.by_token(session, jurisdiction.id, token)
    if request is None:
        raise NotFound(f"token {token!r} not found")
    return [{
        "service_request_id": str(request.id) if request.accepted_at else None,
        "token": request.token,
    }]


def post_service_request(session: Session, new: NewRequest, api_key: ApiKey,
                         now: dt.datetime | None = None) -> list[dict]:
    """Store a request; answer its id (realtime), a token (batch) or neither (blackbox).

    A batch request is published once accepted; a blackbox one is kept for the city's
    staff and never published (it has no number to follow).

    Without ``jurisdiction_id`` on a server of several jurisdictions, the request goes to
    the deepest jurisdiction whose boundary covers the point and which offers the service
    there. An address is resolved against the address points; coordinates alone get the
    nearest address filled in. Every check runs before anything is written; a refusal
    raises and stores nothing.
    """
    jurisdiction = optional_jurisdiction(session, new.jurisdiction_id)
    place = locate(session, jurisdiction, lat=new.lat, long=new.long,
                   address_string=new.address_string, address_id=new.address_id)
    routed = route(session, jurisdiction, new.service_code, place)
    jurisdiction, service = routed.jurisdiction, routed.service
    attributes = check_attributes(service.attributes, new.attributes,
                                  zone(jurisdiction.timezone))
    fill_address(session, routed)

    now = now or dt.datetime.now(dt.UTC)
    batch = service.type == "batch"
    request = repo.add_request(
        session, jurisdiction_pk=jurisdiction.id, service=service, place=place,
        area_pks=routed.area_pks, description=new.description, media_url=new.media_url,
        attributes=attributes, api_key_pk=api_key.id,
        token=secrets.token_urlsafe(16) if batch else None,
        accepted_at=None if batch else now, public=service.type == "realtime", now=now)
    repo.add_contact(session, request.id, **new.personal)
    repo.add_event(session, request.id, kind="opened", status="open", at=now,
                   api_key_pk=api_key.id)
    session.commit()
    logger.info("request %s created: %s/%s by app %s", request.id,
                jurisdiction.jurisdiction_id, service.service_code, api_key.id)

    answer: dict[str, Any] = {}
    if service.type == "realtime":
        answer["service_request_id"] = str(request.id)
    elif batch:
        answer["token"] = request.token
    answer["service_notice"] = service.service_notice
    answer["account_id"] = None
    return [answer]


def accept_pending_requests(session: Session, *, jurisdiction_id: str | None = None,
                            tokens: list[str] | None = None, limit: int | None = None,
                            now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """Accept batch requests waiting in the queue: each gets its public id, appears in
    GET requests, and its token resolves. Returns (token, service_request_id) pairs."""
    jurisdiction_pk = None
    if jurisdiction_id:
        jurisdiction_pk = resolve_jurisdiction(session, jurisdiction_id).id
    now = now or dt.datetime.now(dt.UTC)
    accepted = []
    for request in repo.pending(session, jurisdiction_pk=jurisdiction_pk, tokens=tokens,
                                limit=limit):
        request.accepted_at = now
        request.public = True
        request.updated_datetime = now
        repo.add_event(session, request.id, kind="accepted", status=request.status, at=now)
        accepted.append((request.token, request.id))
    session.commit()
    return accepted
