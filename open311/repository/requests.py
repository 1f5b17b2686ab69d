from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from open311.models import (
    Area,
    AreaPart,
    IdempotentAnswer,
    Media,
    RequestContact,
    RequestEvent,
    Service,
    ServiceRequest,
)
from open311.models.request import PERSONAL_FIELDS
from open311.repository.driver import Rows, driver_rows
from open311.repository.spatial import as_geography, envelope, point

SR = ServiceRequest
BIGINT_MAX = 2**63 - 1

# Datetimes are formatted by PostgreSQL in the session's TimeZone, which ``public_rows`` sets to
# the jurisdiction's (``use_timezone``): YYYY-MM-DDThh:mm:ss+hh:mm, to the second.
ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
# Keys for cursors and Last-Modified, exact to the microsecond, as text (parsing one string
# in Python is cheaper than the driver making a datetime of every row's).
EXACT_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def _iso(column) -> sa.ColumnElement:
    return sa.func.to_char(column, ISO_FORMAT)


def _exact(column) -> sa.ColumnElement:
    return sa.func.to_char(sa.func.timezone("UTC", column), EXACT_FORMAT)


def parse_exact(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


# The columns of a GET requests item, in payload order and named as the payload names them.
# The keyset cursor also needs the last row's exact sort key: in sync mode (updated_datetime,
# which changes) it is read with the rows (``updated_at``); newest first, requested_datetime
# never changes, so ``requested_key`` reads it for the last row only, after the rows.
PUBLIC_COLUMNS = (
    sa.cast(SR.id, sa.Text).label("service_request_id"), SR.status, SR.status_notes,
    Service.service_name, Service.service_code, SR.description, SR.agency_responsible,
    SR.service_notice, _iso(SR.requested_datetime).label("requested_datetime"),
    _iso(SR.updated_datetime).label("updated_datetime"),
    _iso(SR.expected_datetime).label("expected_datetime"), SR.address, SR.address_id,
    SR.zipcode, sa.func.ST_Y(SR.location).label("lat"), sa.func.ST_X(SR.location).label("long"),
    SR.media_url,
)
SYNC_KEY = _exact(SR.updated_datetime).label("updated_at")
PAYLOAD_WIDTH = 17  # the first columns are the payload


@dataclass
class Filters:
    """What GET requests selects. ``ids`` overrides everything else."""

    ids: Sequence[int] | None = None
    service_pks: Sequence[int] | None = None
    start: dt.datetime | None = None  # requested_datetime >= start
    end_before: dt.datetime | None = None  # requested_datetime < end_before
    statuses: Sequence[str] | None = None
    updated_from: dt.datetime | None = None  # updated_datetime >= updated_from
    updated_before: dt.datetime | None = None  # updated_datetime < updated_before
    bbox: tuple[float, float, float, float] | None = None  # minLong, minLat, maxLong, maxLat
    near: tuple[float, float, float] | None = None  # long, lat, metres
    area_pk: int | None = None
    text: str | None = None  # a web-search query (websearch_to_tsquery)
    sync: bool = False  # oldest change first (updated_datetime, id) instead of newest first
    after: tuple[dt.datetime, int] | None = None  # keyset: continue after this (time, id)
    visible_by: dt.datetime | None = None  # snapshot: public (accepted) no later than this


def _near_box(long: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A box in degrees a little larger than the circle of ``metres`` around the point."""
    dlat = metres / 110_574 * 1.01 + 1e-6
    dlong = metres / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01 + 1e-6
    return (max(long - dlong, -180), max(lat - dlat, -90), min(long + dlong, 180),
            min(lat + dlat, 90))


def _within(box: tuple, here: tuple, metres) -> tuple[sa.ColumnElement, ...]:
    """Requests within ``metres`` of the point ``here``: the ``box`` around it (the GiST
    index answers it), then the exact distance on the spheroid."""
    return (SR.location.op("&&")(envelope(*box)),
            sa.func.ST_DWithin(as_geography(SR.location), as_geography(point(*here)), metres))


def within(long: float, lat: float, metres: float) -> tuple[sa.ColumnElement, ...]:
    """Requests within ``metres`` of a point (see _within)."""
    return _within(_near_box(long, lat, metres), (long, lat), metres)


def _last_change_query(jurisdiction_pk, *, exact_text: bool = False) -> sa.Select:
    """The newest updated_datetime of the jurisdiction's public requests (``exact_text``:
    formatted as the cursors' keys, inside the query: once, not once per row)."""
    latest = sa.func.max(SR.updated_datetime)
    return (sa.select(_exact(latest) if exact_text else latest)
            .where(SR.jurisdiction_pk == jurisdiction_pk, SR.public))


# -- GET requests: one prebuilt statement per shape --------------------------------------------
# A shape is which filters a call uses; the values travel as bound parameters. Each shape's
# statement is built once per process, so SQLAlchemy reuses its compiled form (and the
# driver its prepared statement) without rebuilding the query or its cache key per call.
def _p(name: str, type_=None) -> sa.BindParameter:
    return sa.bindparam(name, type_=type_)


def _shape(f: Filters, extended: bool, with_last_change: bool, offset: int) -> tuple:
    one_status = bool(f.statuses) and len(set(f.statuses)) == 1
    if f.ids is not None:
        return ("ids", len(f.ids) == 1, extended, with_last_change)
    return ("list", None if not f.service_pks else len(set(f.service_pks)) == 1,
            f.start is not None, f.end_before is not None, one_status,
            f.updated_from is not None, f.updated_before is not None, f.bbox is not None,
            f.near is not None, f.area_pk is not None, bool(f.text), f.visible_by is not None,
            f.sync, f.after is not None, extended, with_last_change, offset > 0)


def _values(jurisdiction_pk: int, f: Filters, limit: int | None, offset: int) -> dict:
    values: dict = {"jurisdiction_pk": jurisdiction_pk, "limit": limit, "offset": offset}
    if f.ids is not None:
        values["ids"] = list(f.ids)
        values["id"] = f.ids[0] if len(f.ids) == 1 else None
        return values
    if f.service_pks:
        values["service_pks"] = list(dict.fromkeys(f.service_pks))
        values["service_pk"] = f.service_pks[0]
    values.update(start=f.start, end_before=f.end_before, updated_from=f.updated_from,
                  updated_before=f.updated_before, visible_by=f.visible_by,
                  status=f.statuses[0] if f.statuses else None, area_pk=f.area_pk,
                  text=f.text)
    if f.bbox is not None:
        values.update(zip(("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), f.bbox, strict=True))
    if f.near is not None:
        long, lat, metres = f.near
        values.update(zip(("near_x0", "near_y0", "near_x1", "near_y1"),
                          _near_box(long, lat, metres), strict=True))
        values.update(near_long=long, near_lat=lat, near_metres=metres)
    if f.after is not None:
        values["after_at"], values["after_pk"] = f.after
    return values


@functools.lru_cache(maxsize=512)
def _statement(shape: tuple) -> sa.Select:
    """The SELECT of one shape, every value a bound parameter (see _values)."""
    kind, *flags = shape
    extended, with_last_change = (flags[1], flags[2]) if kind == "ids" else flags[13:15]
    columns = (*PUBLIC_COLUMNS, SR.area_pks, SR.detailed_status, SR.duplicate_of,
               SR.attributes, SR.api_key_pk) if extended else PUBLIC_COLUMNS
    if kind == "list" and flags[11]:  # sync: the cursor's key, as of these rows
        columns = (*columns, SYNC_KEY)
    jurisdiction_pk = _p("jurisdiction_pk", sa.Integer)
    if with_last_change:
        latest = _last_change_query(jurisdiction_pk, exact_text=True).scalar_subquery()
        columns = (*columns, latest.label("last_change"))
    query = (sa.select(*columns).join(Service, Service.id == SR.service_pk)
             .where(SR.jurisdiction_pk == jurisdiction_pk, SR.public))
    newest_first = (SR.requested_datetime.desc(), SR.id.desc())
    if kind == "ids":
        one = flags[0]
        query = query.where(SR.id == _p("id", sa.BigInteger) if one else
                            SR.id == sa.func.any(_p("ids", ARRAY(sa.BigInteger))))
        return query.order_by(*newest_first).limit(_p("limit", sa.Integer))
    (services, start, end_before, one_status, updated_from, updated_before, bbox, near, area,
     text, visible_by, sync, after, _extended, _with_last_change, offset) = flags
    if services is not None:  # one service: equality, so the ordered index scan applies
        query = query.where(SR.service_pk == _p("service_pk", sa.Integer) if services else
                            SR.service_pk == sa.func.any(_p("service_pks", ARRAY(sa.Integer))))
    if start:
        query = query.where(SR.requested_datetime >= _p("start", sa.DateTime(timezone=True)))
    if end_before:
        query = query.where(SR.requested_datetime < _p("end_before",
                                                       sa.DateTime(timezone=True)))
    if one_status:
        query = query.where(SR.status == _p("status", sa.String))
    if updated_from:
        query = query.where(SR.updated_datetime >= _p("updated_from",
                                                      sa.DateTime(timezone=True)))
    if updated_before:
        query = query.where(SR.updated_datetime < _p("updated_before",
                                                     sa.DateTime(timezone=True)))
    if bbox:
        query = query.where(SR.location.op("&&")(envelope(
            *(_p(n, sa.Float) for n in ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1")))))
    if near:
        query = query.where(*_within(
            tuple(_p(n, sa.Float) for n in ("near_x0", "near_y0", "near_x1", "near_y1")),
            (_p("near_long", sa.Float), _p("near_lat", sa.Float)),
            _p("near_metres", sa.Float)))
    if area:
        # The area's envelope drives the GiST index; its subdivided parts decide exactly.
        area_pk = _p("area_pk", sa.Integer)
        area_box = (sa.select(sa.func.ST_Envelope(Area.geom)).where(Area.id == area_pk)
                    .scalar_subquery())
        query = query.where(SR.location.op("&&")(area_box),
                            sa.exists().where(AreaPart.area_pk == area_pk,
                                              sa.func.ST_Covers(AreaPart.geom, SR.location)))
    if text:
        query = query.where(SR.search.op("@@")(
            sa.func.websearch_to_tsquery("english", _p("text", sa.Text))))
    if visible_by:
        query = query.where(SR.accepted_at <= _p("visible_by", sa.DateTime(timezone=True)))
    key = (SR.updated_datetime, SR.id) if sync else (SR.requested_datetime, SR.id)
    if after:
        bound = sa.tuple_(_p("after_at", sa.DateTime(timezone=True)),
                          _p("after_pk", sa.BigInteger))
        query = query.where(sa.tuple_(*key) > bound if sync else sa.tuple_(*key) < bound)
    query = query.order_by(*key) if sync else query.order_by(*newest_first)
    query = query.limit(_p("limit", sa.Integer))
    return query.offset(_p("offset", sa.Integer)) if offset else query


def public_statement(jurisdiction_pk: int, f: Filters, *, limit: int | None = None,
                     offset: int = 0, extended: bool = False,
                     with_last_change: bool = False) -> tuple[sa.Select, dict]:
    """The SELECT behind GET requests (public rows of one jurisdiction) and its parameter
    values. With ``with_last_change``, every row also carries ``last_change``: the
    jurisdiction's latest change of any public request (exact text), read in the same
    snapshot as the rows. Without ``limit``: the server's maximum is the caller's to set."""
    return (_statement(_shape(f, extended, with_last_change, offset)),
            _values(jurisdiction_pk, f, limit, offset))


def public_query(jurisdiction_pk: int, f: Filters, *, limit: int = 1000,
                 extended: bool = False) -> sa.Select:
    """public_statement with its values bound in (for EXPLAIN and tools)."""
    statement, values = public_statement(jurisdiction_pk, f, limit=limit, extended=extended)
    return statement.params(values)


def use_timezone(session: Session, timezone: str) -> sa.Connection:
    """The session's connection, its TimeZone set to ``timezone`` (a round trip only when it
    differs: the driver tracks the server's setting, rollbacks included)."""
    connection = session.connection()
    status = connection.connection.dbapi_connection.info.parameter_status("TimeZone")
    if status != timezone:
        connection.exec_driver_sql("SELECT set_config('TimeZone', %(tz)s, false)",
                                   {"tz": timezone})
    return connection


def plans_by_value(f: Filters) -> bool:
    """Whether the best plan of these filters depends on their values: a box, a circle, an
    area or a text search (a small box wants the GiST index, a large one the newest-first
    scan; a rare word the text index). Such a statement is planned for its values on every
    call: prepared, PostgreSQL settles after five calls on one generic plan for every box
    (seen on 5M rows: its CPU per bbox page 191 ms against 141 for the same statements
    planned for their values)."""
    return f.ids is None and (f.bbox is not None or f.near is not None
                              or f.area_pk is not None or bool(f.text))


def public_rows(session: Session, jurisdiction_pk: int, filters: Filters, *, limit: int,
                timezone: str, offset: int = 0, extended: bool = False,
                with_last_change: bool = False) -> Rows:
    """Public requests of a jurisdiction, datetimes formatted in ``timezone``
    (``extended``: with the extension columns; ``with_last_change``: see public_query).
    Core rows straight from the driver: no ORM loading on this path."""
    statement, values = public_statement(jurisdiction_pk, filters, limit=limit, offset=offset,
                                         extended=extended, with_last_change=with_last_change)
    return driver_rows(use_timezone(session, timezone), statement, values,
                       prepare=False if plans_by_value(filters) else None)


def requested_key(session: Session, pk: int) -> str | None:
    """A request's requested_datetime, exact text (a keyset cursor's key; it never changes);
    None if the request is gone (deleted by an operator since the page was read)."""
    rows = driver_rows(session.connection(), _REQUESTED_KEY, {"pk": pk})
    return rows[0][0] if rows else None


_REQUESTED_KEY = (sa.select(_exact(SR.requested_datetime).label("requested_at"))
                  .where(SR.id == sa.bindparam("pk", type_=sa.BigInteger)))


def last_change(session: Session, jurisdiction_pk: int) -> dt.datetime | None:
    """The newest updated_datetime of the jurisdiction's public requests (an index probe)."""
    return session.scalar(_last_change_query(jurisdiction_pk))


def events_of(session: Session, request_pks: Sequence[int]) -> list[RequestEvent]:
    if not request_pks:
        return []
    return list(session.scalars(sa.select(RequestEvent)
                                .where(RequestEvent.request_pk.in_(request_pks))
                                .order_by(RequestEvent.request_pk, RequestEvent.at,
                                          RequestEvent.id)))


def by_token(session: Session, token: str) -> ServiceRequest | None:
    """The request a token names (tokens are unique across the server)."""
    return session.scalars(sa.select(SR).where(SR.token == token)).one_or_none()


def jurisdiction_of_request(session: Session, pk: int) -> int | None:
    """The jurisdiction (pk) of a public request, or None."""
    return session.scalar(sa.select(SR.jurisdiction_pk).where(SR.id == pk, SR.public))


_PRIVATE = frozenset(PERSONAL_FIELDS)  # never in a log
_MEDIA_COLUMNS = ("name", "position", "content_type", "extension", "width", "height", "size")


class AnswerExists(Exception):
    """The Idempotency-Key's answer was stored meanwhile (by a concurrent POST)."""


@dataclass
class Remember:
    """An Idempotency-Key's first answer, stored with the request it created."""

    key: str
    fingerprint: str
    payload: list


@functools.cache
def _new_request_statement(*, explicit_id: bool, contact: bool, media: bool,
                           answer: bool) -> sa.Select:
    """Everything a POST writes, in ONE statement (data-modifying CTEs): the request, its
    "opened" event, and as sent the contact, the photos and the Idempotency-Key's answer;
    SELECTs the request's id. One statement is atomic on its own: a POST needs no
    transaction (no BEGIN / COMMIT round trips), and a failure stores nothing. Built once
    per shape; every value is a bound parameter."""
    table, events = SR.__table__, RequestEvent.__table__
    plain = ("jurisdiction_pk", "service_pk", "description", "agency_responsible",
             "service_notice", "address", "address_id", "zipcode", "address_verified",
             "area_pks", "media_url", "attributes", "api_key_pk", "token", "accepted_at",
             "public", *(("id",) if explicit_id else ()))
    now = sa.bindparam("now", type_=table.c.requested_datetime.type)
    values = {name: sa.bindparam(name, type_=table.c[name].type) for name in plain}
    values.update(
        status="open", requested_datetime=now, updated_datetime=now,
        location=point(sa.bindparam("long", type_=sa.Float), sa.bindparam("lat", type_=sa.Float)),
        search=sa.func.to_tsvector("english", sa.bindparam("search_text", type_=sa.Text)))
    new = sa.insert(table).values(values).returning(table.c.id).cte("new_request")
    writes = [sa.insert(events).from_select(
        ["request_pk", "kind", "status", "at", "api_key_pk"],
        sa.select(new.c.id, sa.literal("opened"), sa.literal("open"), now,
                  sa.bindparam("api_key_pk", type_=table.c.api_key_pk.type))).cte("opened")]
    if contact:
        contacts = RequestContact.__table__
        writes.append(sa.insert(contacts).from_select(
            ["request_pk", *PERSONAL_FIELDS],
            sa.select(new.c.id, *(sa.bindparam(name, type_=contacts.c[name].type)
                                  for name in PERSONAL_FIELDS))).cte("contact"))
    if media:
        photos = Media.__table__
        rows = sa.func.unnest(*(sa.bindparam(f"media_{name}", type_=ARRAY(photos.c[name].type))
                                for name in _MEDIA_COLUMNS)).table_valued(
            *_MEDIA_COLUMNS).render_derived("photo")
        writes.append(sa.insert(photos).from_select(
            ["request_pk", *_MEDIA_COLUMNS],
            sa.select(new.c.id, *(rows.c[name] for name in _MEDIA_COLUMNS))
            .select_from(new).join(rows, sa.true())).cte("photos"))
    if answer:
        answers = IdempotentAnswer.__table__
        writes.append(sa.insert(answers).from_select(
            ["api_key_pk", "key", "fingerprint", "payload"],
            sa.select(sa.bindparam("api_key_pk", type_=answers.c.api_key_pk.type),
                      *(sa.bindparam(f"answer_{name}", type_=answers.c[name].type)
                        for name in ("key", "fingerprint", "payload")))
            .select_from(new)).cte("answer"))
    return sa.select(new.c.id).add_cte(*writes)


def new_request_id(session: Session) -> int:
    """A request id taken ahead of the INSERT (an answer stored with the request names it)."""
    [(pk,)] = driver_rows(session.connection(), _NEXT_ID, {})
    return pk


_NEXT_ID = sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence("service_request", "id")))


def add_request(session: Session, *, jurisdiction_pk: int, service: Service, place,
                area_pks: list[int], description: str | None, media_url: str | None,
                attributes: dict, api_key_pk: int, token: str | None,
                accepted_at: dt.datetime | None, public: bool, now: dt.datetime,
                personal: dict[str, str | None] | None = None, media: Sequence = (),
                remember: Remember | None = None, request_pk: int | None = None) -> int:
    """Insert a new request with everything that comes with it, in one statement (straight
    on the driver); the request's id. ``media``: (name, image) pairs, each name
    ``{digest}.{extension}``. Raises AnswerExists when ``remember``'s key was stored by a
    concurrent POST (then nothing was written)."""
    contact = personal is not None and any(personal.values())
    statement = _new_request_statement(explicit_id=request_pk is not None, contact=contact,
                                       media=bool(media), answer=remember is not None)
    values = {
        "jurisdiction_pk": jurisdiction_pk, "service_pk": service.id,
        "description": description, "agency_responsible": service.agency_responsible,
        "service_notice": service.service_notice, "address": place.address,
        "address_id": place.address_id, "zipcode": place.zipcode,
        "address_verified": place.verified, "area_pks": area_pks, "media_url": media_url,
        "attributes": Jsonb(attributes), "api_key_pk": api_key_pk, "token": token,
        "accepted_at": accepted_at, "public": public, "now": now, "id": request_pk,
        "long": place.long if place.lat is not None else None,
        "lat": place.lat if place.long is not None else None,
        "search_text": search_text(description, place.address, service),
    }
    if contact:
        values.update({name: personal.get(name) for name in PERSONAL_FIELDS})
    if media:
        images = [image for _, image in media]
        stems = [name.partition(".")[0] for name, _ in media]
        values.update(media_name=stems, media_extension=[i.extension for i in images],
                      media_position=list(range(1, len(media) + 1)),
                      media_content_type=[i.content_type for i in images],
                      media_width=[i.width for i in images],
                      media_height=[i.height for i in images],
                      media_size=[len(i.data) for i in images])
    if remember is not None:
        values.update(answer_key=remember.key, answer_fingerprint=remember.fingerprint,
                      answer_payload=Json(remember.payload))
    try:
        [(pk,)] = driver_rows(session.connection(), statement, values,
                              private=_PRIVATE if contact else frozenset())
    except UniqueViolation as exc:
        if remember is not None and exc.diag.table_name == IdempotentAnswer.__tablename__:
            raise AnswerExists from None
        raise
    return pk


def search_text(description: str | None, address: str | None, service: Service) -> str:
    """What q= searches: the description, the address, the service's name, group and
    keywords (stored as to_tsvector('english', ...))."""
    return " ".join(part for part in (description, address, service.service_name,
                                      service.group, *(service.keywords or [])) if part)


def add_event(session: Session, request_pk: int, *, kind: str, status: str,
              at: dt.datetime, note: str | None = None, api_key_pk: int | None = None) -> None:
    session.execute(sa.insert(RequestEvent.__table__).values(
        request_pk=request_pk, kind=kind, status=status, at=at, note=note,
        api_key_pk=api_key_pk))


def pending(session: Session, *, jurisdiction_pk: int | None = None,
            tokens: Sequence[str] | None = None, limit: int | None = None
            ) -> list[ServiceRequest]:
    """Batch requests waiting to be accepted, oldest first, locked for this transaction."""
    query = sa.select(SR).where(SR.token.is_not(None), SR.accepted_at.is_(None))
    if jurisdiction_pk is not None:
        query = query.where(SR.jurisdiction_pk == jurisdiction_pk)
    if tokens is not None:
        query = query.where(SR.token.in_(tokens))
    query = query.order_by(SR.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def media_by_name(session: Session, stem: str) -> Media | None:
    return session.scalars(sa.select(Media).where(Media.name == stem).limit(1)).first()


def nearby_open(session: Session, service_pk: int, long: float, lat: float, metres: float,
                since: dt.datetime, *, limit: int = 10) -> list:
    """Open public requests of a service within ``metres`` of a point since ``since``,
    nearest first (possible duplicates)."""
    distance = sa.func.ST_Distance(as_geography(SR.location), as_geography(point(long, lat)))
    query = (sa.select(SR.id, SR.status, SR.requested_datetime, distance.label("distance"))
             .where(SR.service_pk == service_pk, SR.public, SR.status == "open",
                    SR.requested_datetime >= since, *within(long, lat, metres))
             .order_by(distance, SR.id.desc()).limit(limit))
    return list(session.execute(query))


def remembered_answer(session: Session, api_key_pk: int, key: str) -> IdempotentAnswer | None:
    return session.get(IdempotentAnswer, (api_key_pk, key))
