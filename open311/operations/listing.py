"""GET Service Requests: the spec's filters and the extensions, one page at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from open311.config import DEFAULTS
from open311.errors import BadRequest
from open311.operations.directory import DirectoryCache, JurisdictionRef, jurisdiction_ref
from open311.operations.directory import service_pks as directory_service_pks
from open311.operations.ids import public_pks
from open311.operations.paging import decode_cursor, encode_cursor
from open311.operations.payloads import RequestItem, time_bound, zone
from open311.operations.request_items import items_of
from open311.repository import geography as geo_repo
from open311.repository import request_search as search
from open311.repository.request_filters import Filters


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
    statistics_exact_up_to: int = DEFAULTS["STATISTICS_EXACT_UP_TO"]


@dataclass
class Listing:
    """One page of GET requests and where the next and previous pages are."""

    items: list[RequestItem] | list[dict]
    page: int
    page_size: int
    next_cursor: str | None = None  # None: this is the last page
    prev_cursor: str | None = None  # with page - 1; None on the first page
    last_modified: dt.datetime | None = None  # the jurisdiction's latest request change


def _area_pk(session: Session, jurisdiction, area: str) -> int:
    layer, _, area_id = area.rpartition(":")
    found = [
        a
        for a in geo_repo.areas_named(session, jurisdiction.id, area_id)
        if not layer or a.layer == layer
    ]
    if not found:
        raise BadRequest(
            f"area {area!r}: no such area in {jurisdiction.jurisdiction_id} (see "
            f"jurisdictions/{jurisdiction.jurisdiction_id}/areas.geojson)"
        )
    if len(found) > 1:
        raise BadRequest(
            f"area {area!r} is in several layers: name one, e.g. "
            + " or ".join(f"{a.layer}:{a.area_id}" for a in found)
        )
    return found[0].id


def filters_of(
    session: Session,
    directory: DirectoryCache,
    jurisdiction: JurisdictionRef,
    query: RequestQuery,
    limits: Limits,
    now: dt.datetime,
    *,
    window: bool = True,
) -> Filters:
    """The filters a query asks for (400 naming what is wrong). ``window``: without dates,
    the last ``limits.window_days`` only (GET requests; the bulk export takes every date)."""
    tz = zone(jurisdiction.timezone)
    f = Filters(statuses=query.status)
    start = time_bound(query.start_date, tz, end=False) if query.start_date else None
    end_before = time_bound(query.end_date, tz, end=True) if query.end_date else None
    if start and end_before and start >= end_before:
        raise BadRequest("start_date must be before end_date")
    f.updated_from = time_bound(query.updated_after, tz, end=False) if query.updated_after else None
    f.updated_before = (
        time_bound(query.updated_before, tz, end=True) if query.updated_before else None
    )
    if f.updated_from and f.updated_before and f.updated_from >= f.updated_before:
        raise BadRequest("updated_after must be before updated_before")
    f.sync = bool(query.updated_after or query.updated_before)
    if f.sync and f.updated_before is None:
        # Changes younger than the lag wait for the next poll: a transaction that started
        # earlier but commits later is never skipped.
        f.updated_before = now - dt.timedelta(seconds=limits.sync_lag_seconds)
    # lat and long come together (the parameters' schema): the point, or None.
    here = (query.long, query.lat) if query.long is not None and query.lat is not None else None
    if query.nearby:
        if here is None or len(query.service_code or []) != 1:
            raise BadRequest("nearby=true needs lat, long and one service_code")
        f.near = (*here, float(query.radius or limits.duplicate_radius_m))
        f.statuses = ["open"]
        start = start or now - dt.timedelta(days=limits.duplicate_window_days)
    elif here is not None:
        if query.radius is None:
            raise BadRequest("radius: is required with lat and long (metres)")
        f.near = (*here, query.radius)
    elif query.radius is not None:
        raise BadRequest("radius: goes with lat and long")
    if window and start is None and end_before is None and not f.sync:
        start = now - dt.timedelta(days=limits.window_days)
    elif window and start is None and end_before is not None:
        start = end_before - dt.timedelta(days=limits.window_days)
    f.start, f.end_before = start, end_before
    if query.service_code:
        f.service_pks = directory_service_pks(directory, session, jurisdiction, query.service_code)
    f.bbox = query.bbox
    if query.area:
        f.area_pk = _area_pk(session, jurisdiction, query.area)
    f.text = query.q
    return f


def _last_modified(session: Session, jurisdiction_pk: int, rows) -> dt.datetime | None:
    """The jurisdiction's latest change, as read with the rows (or, with no rows, alone)."""
    if rows:
        return search.parse_exact(rows.value(0, "last_change"))
    return search.last_change(session, jurisdiction_pk)


def get_service_requests(
    session: Session,
    query: RequestQuery,
    limits: Limits,
    now: dt.datetime | None = None,
    directory: DirectoryCache | None = None,
) -> Listing:
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
        filters = Filters(ids=public_pks(query.service_request_id))
        rows = search.public_rows(
            session,
            jurisdiction.id,
            filters,
            limit=limits.max_requests,
            timezone=jurisdiction.timezone,
            extended=query.extensions,
            with_last_change=True,
        )
        return Listing(
            items_of(session, rows, tz, query.extensions),
            1,
            page_size,
            last_modified=_last_modified(session, jurisdiction.id, rows),
        )

    now = now or dt.datetime.now(dt.UTC)
    filters = filters_of(session, directory, jurisdiction, query, limits, now)
    page = query.page or 1
    cursor = decode_cursor(query.cursor) if query.cursor else {}
    snapshot = cursor.get("s") or now
    filters.visible_by = snapshot
    offset = 0
    if "v" in cursor:
        if cursor.get("m") != ("u" if filters.sync else "n"):
            raise BadRequest("cursor: made for another ordering; follow the Link header as given")
        filters.after = (cursor["v"], cursor["i"])
    else:
        offset = (page - 1) * page_size
    rows = search.public_rows(
        session,
        jurisdiction.id,
        filters,
        limit=page_size,
        offset=offset,
        timezone=jurisdiction.timezone,
        extended=query.extensions,
        with_last_change=True,
    )
    listing = Listing(
        items_of(session, rows, tz, query.extensions),
        page,
        page_size,
        last_modified=_last_modified(session, jurisdiction.id, rows),
    )
    base = {"s": snapshot.isoformat()}
    if len(rows) == page_size:
        pk = int(rows.value(-1, "service_request_id"))
        key = (
            rows.value(-1, "updated_at") if filters.sync else search.requested_key(session, pk)
        )  # exact, UTC
        if key is None:  # the last row was deleted meanwhile: its shown time, rounded up to
            # the next second (the next page may repeat a row; it never skips one)
            shown = dt.datetime.fromisoformat(rows.value(-1, "requested_datetime"))
            key = (shown + dt.timedelta(seconds=1)).astimezone(dt.UTC).isoformat()
        listing.next_cursor = encode_cursor(
            {**base, "m": "u" if filters.sync else "n", "v": key, "i": pk}
        )
    if page > 1:
        listing.prev_cursor = encode_cursor(base)
    return listing
