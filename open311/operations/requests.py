"""POST Service Request, GET Service Requests, GET Service Request, GET id from token."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from open311.config import DEFAULTS
from open311.errors import BadRequest, NotFound
from open311.imaging import ImageRejected, clean_image, off_the_loop
from open311.models.request import PERSONAL_FIELDS
from open311.operations.attributes import check_attributes
from open311.operations.directory import (
    DirectoryCache,
    JurisdictionRef,
    jurisdiction_by_pk,
    jurisdiction_ref,
)
from open311.operations.directory import service_pks as directory_service_pks
from open311.operations.ids import public_pk
from open311.operations.keys import Caller
from open311.operations.locating import fill_address, locate, route
from open311.operations.payloads import (
    MEDIA_PATH,
    RequestItem,
    format_datetime,
    request_items,
    request_payload,
    time_bound,
    zone,
)
from open311.repository import geography as geo_repo
from open311.repository import jurisdictions as jurisdictions_repo
from open311.repository import keys as keys_repo
from open311.repository import requests as repo

logger = logging.getLogger(__name__)

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
    page: int | None = None
    page_size: int | None = None
    cursor: str | None = None
    updated_after: dt.datetime | dt.date | None = None
    updated_before: dt.datetime | dt.date | None = None
    bbox: tuple[float, float, float, float] | None = None
    lat: float | None = None
    long: float | None = None
    radius: float | None = None
    area: str | None = None
    q: str | None = None
    nearby: bool = False


@dataclass
class Limits:
    """The settings a GET requests applies (config.DEFAULTS unless the app's differ)."""

    max_requests: int = DEFAULTS["MAX_REQUESTS"]
    window_days: int = DEFAULTS["DEFAULT_WINDOW_DAYS"]
    sync_lag_seconds: float = DEFAULTS["SYNC_LAG_SECONDS"]
    duplicate_radius_m: float = DEFAULTS["DUPLICATE_RADIUS_M"]
    duplicate_window_days: int = DEFAULTS["DUPLICATE_WINDOW_DAYS"]


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
    extensions: bool = False  # answer with possible duplicates nearby
    media: list[bytes] = field(default_factory=list)  # uploaded photos, as sent

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
            extensions=bool(form.get("extensions")),
        )


@dataclass
class PostContext:
    """What a POST needs besides its fields: where photos go and how they are reached,
    the limits, and the Idempotency-Key (with a fingerprint of what was sent)."""

    storage: Any = None  # open311.storage.MediaStorage
    media_max_pixels: int = DEFAULTS["MEDIA_MAX_PIXELS"]
    duplicate_radius_m: float = DEFAULTS["DUPLICATE_RADIUS_M"]
    duplicate_window_days: int = DEFAULTS["DUPLICATE_WINDOW_DAYS"]
    idempotency_key: str | None = None
    fingerprint: str = ""
    directory: DirectoryCache | None = None  # the tiers above each jurisdiction


def _ids(values: list[str]) -> list[int]:
    """Public ids that can exist (others cannot match anything)."""
    return [pk for pk in map(public_pk, values) if pk is not None]


@dataclass
class Listing:
    """One page of GET requests and where the next and previous pages are."""

    items: list[RequestItem] | list[dict]
    page: int
    page_size: int
    next_cursor: str | None = None  # None: this is the last page
    prev_cursor: str | None = None  # with page - 1; None on the first page
    last_modified: dt.datetime | None = None  # the jurisdiction's latest request change


def _encode_cursor(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict:
    """A cursor's fields, checked as strictly as the values it feeds into SQL: aware
    datetimes, and a request id that a bigint can hold."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(cursor)
        for key in ("s", "v"):
            if key in data:
                data[key] = dt.datetime.fromisoformat(data[key])
                if data[key].tzinfo is None:
                    raise ValueError(cursor)
        if "v" in data or "i" in data:
            pk = data.get("i")
            if type(pk) is not int or not 0 < pk <= repo.BIGINT_MAX or "v" not in data \
                    or data.get("m") not in ("n", "u"):
                raise ValueError(cursor)
        return data
    except (ValueError, TypeError, binascii.Error):
        raise BadRequest("cursor: not a cursor this server made; follow the Link header "
                         "as given") from None


def _area_pk(session: Session, jurisdiction, area: str) -> int:
    layer, _, area_id = area.rpartition(":")
    found = [a for a in geo_repo.areas_named(session, jurisdiction.id, area_id)
             if not layer or a.layer == layer]
    if not found:
        raise BadRequest(f"area {area!r}: no such area in {jurisdiction.jurisdiction_id} (see "
                         f"jurisdictions/{jurisdiction.jurisdiction_id}/areas.geojson)")
    if len(found) > 1:
        raise BadRequest(f"area {area!r} is in several layers: name one, e.g. "
                         + " or ".join(f"{a.layer}:{a.area_id}" for a in found))
    return found[0].id


def _filters(session: Session, directory: DirectoryCache, jurisdiction: JurisdictionRef,
             query: RequestQuery, limits: Limits, now: dt.datetime) -> repo.Filters:
    tz = zone(jurisdiction.timezone)
    f = repo.Filters(statuses=query.status)
    start = time_bound(query.start_date, tz, end=False) if query.start_date else None
    end_before = time_bound(query.end_date, tz, end=True) if query.end_date else None
    if start and end_before and start >= end_before:
        raise BadRequest("start_date must be before end_date")
    f.updated_from = time_bound(query.updated_after, tz, end=False) \
        if query.updated_after else None
    f.updated_before = time_bound(query.updated_before, tz, end=True) \
        if query.updated_before else None
    if f.updated_from and f.updated_before and f.updated_from >= f.updated_before:
        raise BadRequest("updated_after must be before updated_before")
    f.sync = bool(query.updated_after or query.updated_before)
    if f.sync and f.updated_before is None:
        # Changes younger than the lag wait for the next poll: a transaction that started
        # earlier but commits later is never skipped.
        f.updated_before = now - dt.timedelta(seconds=limits.sync_lag_seconds)
    if query.nearby:
        if query.lat is None or len(query.service_code or []) != 1:
            raise BadRequest("nearby=true needs lat, long and one service_code")
        f.near = (query.long, query.lat, float(query.radius or limits.duplicate_radius_m))
        f.statuses = ["open"]
        start = start or now - dt.timedelta(days=limits.duplicate_window_days)
    elif query.lat is not None:
        if query.radius is None:
            raise BadRequest("radius: is required with lat and long (metres)")
        f.near = (query.long, query.lat, query.radius)
    elif query.radius is not None:
        raise BadRequest("radius: goes with lat and long")
    if start is None and end_before is None and not f.sync:
        start = now - dt.timedelta(days=limits.window_days)
    elif start is None and end_before is not None:
        start = end_before - dt.timedelta(days=limits.window_days)
    f.start, f.end_before = start, end_before
    if query.service_code:
        f.service_pks = directory_service_pks(directory, session, jurisdiction,
                                              query.service_code)
    f.bbox = query.bbox
    if query.area:
        f.area_pk = _area_pk(session, jurisdiction, query.area)
    f.text = query.q
    return f


def _last_modified(session: Session, jurisdiction_pk: int, rows) -> dt.datetime | None:
    """The jurisdiction's latest change, as read with the rows (or, with no rows, alone)."""
    if rows:
        return repo.parse_exact(rows.value(0, "last_change"))
    return repo.last_change(session, jurisdiction_pk)


def get_service_requests(session: Session, query: RequestQuery, limits: Limits,
                         now: dt.datetime | None = None,
                         directory: DirectoryCache | None = None) -> Listing:
    """GET requests: the spec's filters, then the extensions (paging with a keyset cursor,
    updated_after/updated_before sync, bbox, lat/long/radius, area, q, nearby).
    ``directory`` resolves jurisdiction and service codes (a per-process cache; None: read
    them from the database)."""
    directory = directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, query.jurisdiction_id)
    tz = zone(jurisdiction.timezone)
    page_size = query.page_size or limits.max_requests
    if page_size > limits.max_requests:
        raise BadRequest(f"page_size: must be at most {limits.max_requests} (max_requests)")
    if query.service_request_id:
        filters = repo.Filters(ids=_ids(query.service_request_id))
        rows = repo.public_rows(session, jurisdiction.id, filters, limit=limits.max_requests,
                                timezone=jurisdiction.timezone, extended=query.extensions,
                                with_last_change=True)
        return Listing(_payloads(session, rows, tz, query.extensions), 1, page_size,
                       last_modified=_last_modified(session, jurisdiction.id, rows))

    now = now or dt.datetime.now(dt.UTC)
    filters = _filters(session, directory, jurisdiction, query, limits, now)
    page = query.page or 1
    cursor = _decode_cursor(query.cursor) if query.cursor else {}
    snapshot = cursor.get("s") or now
    filters.visible_by = snapshot
    offset = 0
    if "v" in cursor:
        if cursor.get("m") != ("u" if filters.sync else "n"):
            raise BadRequest("cursor: made for another ordering; follow the Link header as "
                             "given")
        filters.after = (cursor["v"], cursor["i"])
    else:
        offset = (page - 1) * page_size
    rows = repo.public_rows(session, jurisdiction.id, filters, limit=page_size, offset=offset,
                            timezone=jurisdiction.timezone, extended=query.extensions,
                            with_last_change=True)
    listing = Listing(_payloads(session, rows, tz, query.extensions), page, page_size,
                      last_modified=_last_modified(session, jurisdiction.id, rows))
    base = {"s": snapshot.isoformat()}
    if len(rows) == page_size:
        pk = int(rows.value(-1, "service_request_id"))
        key = (rows.value(-1, "updated_at") if filters.sync
               else repo.requested_key(session, pk))  # exact, UTC
        if key is None:  # the last row was deleted meanwhile: its shown time, rounded up to
            # the next second (the next page may repeat a row; it never skips one)
            shown = dt.datetime.fromisoformat(rows.value(-1, "requested_datetime"))
            key = (shown + dt.timedelta(seconds=1)).astimezone(dt.UTC).isoformat()
        listing.next_cursor = _encode_cursor({**base, "m": "u" if filters.sync else "n",
                                              "v": key, "i": pk})
    if page > 1:
        listing.prev_cursor = _encode_cursor(base)
    return listing


def _payloads(session: Session, rows: repo.Rows, tz: ZoneInfo,
              extensions: bool) -> list[RequestItem] | list[dict]:
    """Request items (structs); with ``extensions``, dicts that also carry
    ``extended_attributes`` (detailed_status, channel, areas, duplicate_of), ``notes`` (the
    history) and the submitted ``attributes``."""
    if not extensions:
        return request_items(rows)
    rows = rows.named()
    areas = geo_repo.areas_by_pk(session, sorted({pk for row in rows for pk in row.area_pks}))
    codes = {j.id: j.jurisdiction_id for j in jurisdictions_repo.all_jurisdictions(session)}
    apps = keys_repo.names(session, {row.api_key_pk for row in rows if row.api_key_pk})
    events: dict[int, list] = {}
    for event in repo.events_of(session, [int(row.service_request_id) for row in rows]):
        events.setdefault(event.request_pk, []).append(event)
    items = []
    for row in rows:
        item = request_payload(row)
        extended: dict = {
            "detailed_status": row.detailed_status,
            "channel": apps.get(row.api_key_pk),
            "areas": [
                {"jurisdiction_id": codes[a.jurisdiction_pk], "layer": a.layer,
                 "id": a.area_id, "name": a.name}
                for a in sorted((areas[pk] for pk in row.area_pks if pk in areas),
                                key=lambda a: (a.jurisdiction_pk, a.layer, a.area_id))],
        }
        if row.duplicate_of is not None:
            extended["duplicate_of"] = str(row.duplicate_of)
        item["extended_attributes"] = extended
        item["notes"] = [note_payload(event, tz)
                         for event in events.get(int(row.service_request_id), [])]
        item["attributes"] = [
            {"code": code, "values": value if isinstance(value, list) else [str(value)]}
            for code, value in sorted((row.attributes or {}).items())]
        items.append(item)
    return items


def note_payload(event, tz: ZoneInfo) -> dict:
    return {"datetime": format_datetime(event.at, tz), "type": event.kind,
            "status": event.status, "detailed_status": event.detailed_status or event.status,
            "description": event.note}


def _owner(session: Session, directory: DirectoryCache, jurisdiction_id: str | None,
           jurisdiction_pk: int | None) -> JurisdictionRef | None:
    """The jurisdiction a single request or token is looked up in: the named one, else the
    one that holds it (ids and tokens are unique across the server, so a client that knows
    only the base URL follows what it submitted wherever it was routed); None: not held."""
    if jurisdiction_id:
        return jurisdiction_ref(directory, session, jurisdiction_id)
    return None if jurisdiction_pk is None else jurisdiction_by_pk(directory, session,
                                                                   jurisdiction_pk)


def get_service_request(session: Session, jurisdiction_id: str | None,
                        service_request_id: str, extensions: bool = False,
                        directory: DirectoryCache | None = None) -> list[dict]:
    ids = _ids([service_request_id])
    holder = repo.jurisdiction_of_request(session, ids[0]) if ids and not jurisdiction_id \
        else None
    jurisdiction = _owner(session, directory or DirectoryCache(0), jurisdiction_id, holder)
    if jurisdiction is None:
        raise NotFound(f"service request {service_request_id!r} not found")
    rows = (repo.public_rows(session, jurisdiction.id, repo.Filters(ids=ids), limit=1,
                             timezone=jurisdiction.timezone, extended=extensions)
            if ids else [])
    if not rows:
        raise NotFound(f"service request {service_request_id!r} not found")
    return _payloads(session, rows, zone(jurisdiction.timezone), extensions)


def get_request_id_from_token(session: Session, jurisdiction_id: str | None, token: str,
                              directory: DirectoryCache | None = None) -> list[dict]:
    """``service_request_id`` is null while a batch request waits to be accepted (clients
    poll, as with Chicago's endpoint)."""
    request = repo.by_token(session, token)
    owner = _owner(session, directory or DirectoryCache(0), jurisdiction_id,
                   request.jurisdiction_pk if request is not None else None)
    if request is None or owner is None or request.jurisdiction_pk != owner.id:
        raise NotFound(f"token {token!r} not found")
    return [{
        "service_request_id": str(request.id) if request.accepted_at else None,
        "token": request.token,
    }]


def post_service_request(session: Session, new: NewRequest, api_key: Caller,
                         context: PostContext | None = None,
                         now: dt.datetime | None = None) -> list[dict]:
    """Store a request; answer its id (realtime), a token (batch) or neither (blackbox).

    A batch request is published once accepted; a blackbox one is kept for the city's
    staff and never published (it has no number to follow).

    Without ``jurisdiction_id`` on a server of several jurisdictions, the request goes to
    the deepest jurisdiction whose boundary covers the point and which offers the service
    there. An address is resolved against the address points; coordinates alone get the
    nearest address filled in. Photos are checked and stripped of metadata. Every check runs
    before anything is written; a refusal raises and stores nothing. With an
    Idempotency-Key, a repeated POST answers what the first one did.
    """
    context = context or PostContext()
    if context.idempotency_key:
        replay = _replay(session, api_key, context)
        if replay is not None:
            return replay
    directory = context.directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, new.jurisdiction_id, by_location=True)
    place = locate(session, jurisdiction, lat=new.lat, long=new.long,
                   address_string=new.address_string, address_id=new.address_id)
    routed = route(session, jurisdiction, new.service_code, place, directory)
    jurisdiction, service = routed.jurisdiction, routed.service
    tz = zone(jurisdiction.timezone)
    attributes = check_attributes(service.attributes, new.attributes, tz)
    images = _clean_images(new.media, context)
    fill_address(session, routed)

    now = now or dt.datetime.now(dt.UTC)
    batch = service.type == "batch"
    unique: dict[str, Any] = {}  # the same photo twice is one photo
    for image in images:
        unique.setdefault(f"{hashlib.sha256(image.data).hexdigest()[:32]}.{image.extension}",
                          image)
    media_url = f"{MEDIA_PATH}{next(iter(unique))}" if unique else new.media_url
    token = secrets.token_urlsafe(16) if batch else None
    # An answer stored for an Idempotency-Key names the request: its id is taken first.
    request_pk = repo.new_request_id(session) if context.idempotency_key else None

    answer: dict[str, Any] = {}
    if service.type == "realtime":
        answer["service_request_id"] = None if request_pk is None else str(request_pk)
    elif batch:
        answer["token"] = token
    answer["service_notice"] = service.service_notice
    answer["account_id"] = None
    if new.extensions and place.long is not None:  # read before this request exists
        answer["extended_attributes"] = {"nearby_requests": [
            {"service_request_id": str(row.id), "status": row.status,
             "requested_datetime": format_datetime(row.requested_datetime, tz),
             "distance_m": round(row.distance, 1)}
            for row in repo.nearby_open(session, service.id, place.long, place.lat,
                                        context.duplicate_radius_m,
                                        now - dt.timedelta(days=context.duplicate_window_days))]}
    payload = [answer]

    for name, image in unique.items():
        context.storage.put(name, image.data)
    remember = (repo.Remember(context.idempotency_key, context.fingerprint, payload)
                if context.idempotency_key else None)
    try:
        # One statement (the request, its event, contact, photos, the key's answer): atomic
        # without a transaction, so the POST's session may be an autocommit one.
        request_pk = repo.add_request(
            session, jurisdiction_pk=jurisdiction.id, service=service, place=place,
            area_pks=routed.area_pks, description=new.description, media_url=media_url,
            attributes=attributes, api_key_pk=api_key.id, token=token,
            accepted_at=None if batch else now, public=service.type == "realtime", now=now,
            personal=new.personal, media=list(unique.items()), remember=remember,
            request_pk=request_pk)
        session.commit()
    except repo.AnswerExists:
        # The same Idempotency-Key, stored meanwhile by a concurrent POST: answer as it did.
        session.rollback()
        replay = _replay(session, api_key, context)
        if replay is None:
            raise
        return replay
    if "service_request_id" in answer:
        answer["service_request_id"] = str(request_pk)
    logger.info("request %s created: %s/%s by app %s", request_pk,
                jurisdiction.jurisdiction_id, service.service_code, api_key.id)
    return payload


def _replay(session: Session, api_key: Caller, context: PostContext) -> list[dict] | None:
    stored = repo.remembered_answer(session, api_key.id, context.idempotency_key)
    if stored is None:
        return None
    if stored.fingerprint != context.fingerprint:
        raise BadRequest("Idempotency-Key: already used for a different request; use a new "
                         "key for each new request")
    return stored.payload


def _clean_images(media: list[bytes], context: PostContext) -> list:
    images = []
    for index, data in enumerate(media, start=1):
        label = "media" if len(media) == 1 else f"media (file {index})"
        try:
            images.append(off_the_loop(clean_image, data, max_pixels=context.media_max_pixels,
                                       label=label))
        except ImageRejected as exc:
            raise BadRequest(str(exc)) from None
    return images


def get_media(session: Session, stem: str, extension: str):
    """A stored photo's record (its content type), or None."""
    found = repo.media_by_name(session, stem) if len(stem) == 32 else None
    return found if found is not None and found.extension == extension else None


def accept_pending_requests(session: Session, *, jurisdiction_id: str | None = None,
                            tokens: list[str] | None = None, limit: int | None = None,
                            now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """Accept batch requests waiting in the queue: each gets its public id, appears in
    GET requests, and its token resolves. Returns (token, service_request_id) pairs."""
    jurisdiction_pk = None
    if jurisdiction_id:
        jurisdiction_pk = jurisdiction_ref(DirectoryCache(0), session, jurisdiction_id).id
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
