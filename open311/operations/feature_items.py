"""OGC API - Features items: a page of a collection's features (GeoJSON, OGC's counts and
links) and one feature; requests selected by GET requests' filters, a CQL2 filter, a box in
any offered CRS and a time interval."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from open311.errors import BadRequest, NotFound
from open311.models.base import WGS84
from open311.operations.directory import DirectoryCache
from open311.operations.features import (
    CRS84,
    CRSS,
    GEOJSON,
    JSON,
    JURISDICTIONS,
    REQUESTS,
    SERVICES,
    Collection,
    Site,
    find_collection,
    link,
)
from open311.operations.listing import Limits, RequestQuery, filters_of
from open311.operations.paging import decode_cursor, encode_cursor
from open311.operations.payloads import zone
from open311.repository import cql2_filters
from open311.repository import features as repo
from open311.repository import geography as geo_repo
from open311.repository.request_filters import Filters
from schemas import cql2

DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
COUNT_CAP = 10_000  # numberMatched is counted up to this, estimated by the planner above


@dataclass
class ItemsQuery:
    """An items request, as parsed from the query string."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, ...] | None = None
    bbox_crs: str | None = None
    crs: str | None = None
    datetime: str | None = None
    cursor: str | None = None
    properties: dict[str, list[str]] = field(default_factory=dict)  # property filters
    filter: str | None = None  # CQL2 (requests)
    filter_lang: str | None = None  # cql2-text (default) or cql2-json
    filter_crs: str | None = None  # CRS84 only


def crs_of(place: Site, name: str | None, parameter: str = "crs") -> tuple[int, bool]:
    """A CRS offered here: its SRID and whether latitude (northing) comes first."""
    if name is None:
        return CRSS[CRS84]
    offered = place.crss
    if name not in offered:
        raise BadRequest(f"{parameter}: {name[:80]!r} is not one of {', '.join(offered)}")
    return offered[name]


def _box(session: Session, place: Site, query: ItemsQuery) -> tuple[float, ...] | None:
    """The bbox in WGS84 long/lat (bbox-crs: another CRS's box, converted)."""
    if query.bbox is None:
        return None
    srid, lat_first = crs_of(place, query.bbox_crs, "bbox-crs")
    box = query.bbox
    if lat_first:
        box = (box[1], box[0], box[3], box[2])
    if srid == WGS84:
        if not (-180 <= box[0] <= 180 and -180 <= box[2] <= 180 and -90 <= box[1] <= 90):
            raise BadRequest("bbox: out of range for its CRS")
        return box
    return repo.box_to_wgs84(session, box, srid)


def _filter(place: Site, query: ItemsQuery) -> Any:
    """The CQL2 filter as a condition (400 naming what is wrong), or None."""
    if query.filter is None:
        if query.filter_lang is not None or query.filter_crs is not None:
            raise BadRequest("filter-lang and filter-crs go with a filter")
        return None
    if query.filter_crs not in (None, CRS84):
        raise BadRequest(f"filter-crs: only {CRS84}")
    try:
        if query.filter_lang in (None, "cql2-text", "cql-text"):
            tree = cql2.parse_text(query.filter)
        elif query.filter_lang == "cql2-json":
            try:
                document = orjson.loads(query.filter)
            except orjson.JSONDecodeError:
                raise cql2.FilterError("not JSON") from None
            tree = cql2.parse_json(document)
        else:
            raise BadRequest("filter-lang: cql2-text or cql2-json")
        return cql2_filters.cql2_condition(tree, zone(place.jurisdiction.timezone))
    except cql2_filters.UnknownQueryable as unknown:
        raise BadRequest(
            f"filter: {str(unknown)[:60]!r} is not a queryable "
            f"(see {place.url('/collections/requests/queryables')})"
        ) from None
    except (cql2.FilterError, ValueError) as error:
        raise BadRequest(f"filter: {str(error)[:200]}") from None


def _interval(text: str, tz) -> tuple[dt.datetime | None, dt.datetime | None]:
    """OGC's datetime: an instant, or start/end with '..' (or nothing) for open ends;
    answers [start, end_before)."""

    def instant(value: str) -> dt.datetime | None:
        if value in ("", ".."):
            return None
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
            except ValueError:
                raise BadRequest(f"datetime: {value[:40]!r} is not an RFC 3339 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)

    if "/" not in text:
        at = instant(text)
        if at is None:
            raise BadRequest("datetime: an instant or an interval start/end")
        return at, at + dt.timedelta(microseconds=1)
    start_text, _, end_text = text.partition("/")
    start, end = instant(start_text), instant(end_text)
    if start and end and start > end:
        raise BadRequest("datetime: the interval's start is after its end")
    return start, (end + dt.timedelta(microseconds=1)) if end else None


def _page_links(
    place: Site,
    collection_id: str,
    query: ItemsQuery,
    params: dict,
    returned: int,
    after: str | None,
) -> list[dict[str, str]]:
    path = f"/collections/{collection_id}/items"
    common = {k: v for k, v in params.items() if k not in ("offset", "cursor")}
    links = [
        link(place.url(path, **params), "self", GEOJSON, "This page"),
        link(place.url(f"/collections/{collection_id}"), "collection", JSON, "The collection"),
    ]
    if returned == query.limit:
        if after is not None:
            following = place.url(path, **common, cursor=after)
        else:
            following = place.url(path, **common, offset=query.offset + returned)
        links.append(link(following, "next", GEOJSON, "The next page"))
    return links


def _feature(item_id: str, geometry: str | None, properties: dict) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": item_id,
        "geometry": orjson.loads(geometry) if geometry else None,
        "properties": properties,
    }


def _request_filters(
    session: Session,
    directory: DirectoryCache,
    place: Site,
    query: ItemsQuery,
    limits: Limits,
    now: dt.datetime,
) -> Filters:
    tz = zone(place.jurisdiction.timezone)
    wanted = RequestQuery(
        jurisdiction_id=place.jurisdiction.jurisdiction_id,
        service_code=query.properties.get("service_code"),
        status=query.properties.get("status"),
    )
    f = filters_of(session, directory, place.jurisdiction, wanted, limits, now, window=False)
    f.visible_by = now
    if query.datetime:
        f.start, f.end_before = _interval(query.datetime, tz)
    f.bbox = _box(session, place, query)  # type: ignore[assignment]
    if query.cursor:
        key = decode_cursor(query.cursor)
        if "v" not in key or key.get("m") != "n":
            raise BadRequest("cursor: not a cursor this server made; follow the next link")
        f.after = (key["v"], key["i"])
    return f


def items(
    session: Session,
    place: Site,
    collection_id: str,
    query: ItemsQuery,
    params: dict,
    limits: Limits,
    directory: DirectoryCache,
    now: dt.datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """A page of a collection's items (a GeoJSON FeatureCollection with OGC's counts and
    links), and the CRS its positions are in."""
    now = now or dt.datetime.now(dt.UTC)
    found = find_collection(session, place, collection_id)
    crs = query.crs or CRS84
    srid, lat_first = crs_of(place, query.crs)
    if query.cursor and collection_id != REQUESTS:
        raise BadRequest("cursor: only the requests collection pages by cursor; use offset")
    if query.cursor and query.offset:
        raise BadRequest("cursor and offset: one or the other")
    if query.filter is not None and collection_id != REQUESTS:
        raise BadRequest("filter: only the requests collection takes a filter")
    extra = _filter(place, query)
    matched: int
    estimated = False
    after = None
    if collection_id == REQUESTS:
        f = _request_filters(session, directory, place, query, limits, now)
        rows = repo.request_items(
            session,
            place.jurisdiction.id,
            f,
            srid=srid,
            lat_first=lat_first,
            limit=query.limit,
            offset=query.offset,
            timezone=place.jurisdiction.timezone,
            extra=extra,
        )
        names = _area_names(session, place)
        features = [_request_feature(row, names) for row in rows]
        if rows and query.offset == 0:  # keyset paging, unless the client pages by offset
            last = rows[-1]
            after = encode_cursor({"v": last["after_at"], "i": last["after_pk"], "m": "n"})
        f.after = None
        matched, estimated = _number_matched(session, place, f, extra)
    else:
        box = _box(session, place, query) if collection_id != SERVICES else None
        features = _other_features(
            session, place, found, box, None, srid, lat_first, query.limit, query.offset
        )
        matched = _count_other(session, place, found, box)
    answer: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": features,
        "timeStamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "numberReturned": len(features),
        "numberMatched": matched,
    }
    if estimated:
        answer["numberMatchedIsEstimate"] = True  # the planner's, above COUNT_CAP
    answer["links"] = _page_links(place, collection_id, query, params, len(features), after)
    return answer, crs


def _number_matched(session: Session, place: Site, f: Filters, extra: Any) -> tuple[int, bool]:
    """How many requests match, and whether that is the planner's estimate: the estimate
    first (one EXPLAIN); counted exactly when it is no more than COUNT_CAP (a count that
    stops at the cap, so a wrong estimate costs at most that)."""
    estimate = repo.estimate_requests(session, place.jurisdiction.id, f, extra)
    if estimate <= COUNT_CAP:
        counted = repo.count_requests(session, place.jurisdiction.id, f, COUNT_CAP, extra)
        if counted is not None:
            return counted, False
    return estimate, True


def _other_features(
    session: Session,
    place: Site,
    found: Collection,
    box: tuple[float, ...] | None,
    key: str | None,
    srid: int,
    lat_first: bool,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """A page of an area layer, the jurisdictions or the services (``key``: the one item of
    that id)."""
    if found.layer is not None:
        rows = repo.area_items(
            session,
            place.jurisdiction.id,
            found.layer,
            bbox=box,
            area_id=key,
            srid=srid,
            lat_first=lat_first,
            limit=limit,
            offset=offset,
        )
        return [_area_feature(row) for row in rows]
    if found.id == JURISDICTIONS:
        rows = repo.jurisdiction_items(
            session,
            bbox=box,
            jurisdiction_id=key,
            srid=srid,
            lat_first=lat_first,
            limit=limit,
            offset=offset,
        )
        return [_jurisdiction_feature(row) for row in rows]
    rows = repo.service_items(
        session, place.jurisdiction.id, service_code=key, limit=limit, offset=offset
    )
    return [_service_feature(row) for row in rows]


def _count_other(
    session: Session, place: Site, found: Collection, box: tuple[float, ...] | None
) -> int:
    """How many items of an area layer, the jurisdictions or the services match (small
    tables: counted exactly)."""
    if found.layer is not None:
        return repo.count_areas(session, place.jurisdiction.id, found.layer, box)
    if found.id == JURISDICTIONS:
        return repo.count_jurisdictions(session, box)
    return repo.count_services(session, place.jurisdiction.id)


def item(
    session: Session,
    place: Site,
    collection_id: str,
    item_id: str,
    crs: str | None,
) -> tuple[dict[str, Any], str]:
    """One feature of a collection (404 when there is none of that id)."""
    found = find_collection(session, place, collection_id)
    srid, lat_first = crs_of(place, crs)
    one: list[dict[str, Any]] = []
    if collection_id == REQUESTS:
        if item_id.isascii() and item_id.isdigit() and len(item_id) <= 18:
            f = Filters(ids=[int(item_id)])
            rows = repo.request_items(
                session,
                place.jurisdiction.id,
                f,
                srid=srid,
                lat_first=lat_first,
                limit=1,
                offset=0,
                timezone=place.jurisdiction.timezone,
            )
            names = _area_names(session, place)
            one = [_request_feature(row, names) for row in rows]
    else:
        one = _other_features(session, place, found, None, item_id, srid, lat_first, 1, 0)
    if not one:
        raise NotFound(f"no item {item_id[:60]!r} in {collection_id}")
    feature = one[0]
    feature["links"] = [
        link(
            place.url(f"/collections/{collection_id}/items/{feature['id']}"),
            "self",
            GEOJSON,
            "This item",
        ),
        link(place.url(f"/collections/{collection_id}"), "collection", JSON, "The collection"),
    ]
    return feature, crs or CRS84


@dataclass(frozen=True)
class AreaNames:
    """A jurisdiction's areas, read once per answer: each area's (property, name), and every
    area property empty (a request outside a layer still has its column)."""

    by_pk: dict[int, tuple[str, str]]
    empty: dict[str, None]


def _area_names(session: Session, place: Site) -> AreaNames:
    by_pk = {
        a.id: (f"area_{a.layer}", a.name) for a in geo_repo.areas_of(session, place.jurisdiction.id)
    }
    return AreaNames(by_pk, dict.fromkeys(sorted({p for p, _ in by_pk.values()})))


def _request_feature(row, areas: AreaNames) -> dict[str, Any]:
    """A request: the export's columns (every area layer one, empty when not in one)."""
    properties: dict[str, Any] = {name: row[name] for name in repo.PROPERTY_NAMES}
    properties.update(areas.empty)
    for pk in row["area_pks"] or ():
        found = areas.by_pk.get(pk)
        if found is not None:
            properties[found[0]] = found[1]
    return _feature(row["service_request_id"], row["geometry"], properties)


def _area_feature(row) -> dict[str, Any]:
    properties = {k: row[k] for k in ("area_id", "name", "layer", "layer_title")}
    return _feature(row["area_id"], row["geometry"], properties)


def _jurisdiction_feature(row) -> dict[str, Any]:
    properties = {k: row[k] for k in ("jurisdiction_id", "name", "parent", "timezone")}
    return _feature(row["jurisdiction_id"], row["geometry"], properties)


def _service_feature(row) -> dict[str, Any]:
    properties = dict(row)
    return _feature(row["service_code"], None, properties)
