"""POST Service Request's write: the request and everything that comes with it, in one
statement."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from open311.changes import will_change
from open311.models import (
    IdempotentAnswer,
    Media,
    RequestContact,
    RequestEvent,
    ServiceRequest,
)
from open311.models.request import PERSONAL_FIELDS
from open311.repository.driver import driver_rows
from open311.repository.privacy import exact_only, public_point, search_vector
from open311.repository.spatial import point

SR = ServiceRequest


class ServiceFacts(Protocol):
    """What a new request copies or indexes of its service (a cached record or a row)."""

    @property
    def id(self) -> int: ...
    @property
    def service_name(self) -> str: ...
    @property
    def group(self) -> str | None: ...
    @property
    def keywords(self) -> Sequence[str] | None: ...
    @property
    def agency_responsible(self) -> str | None: ...
    @property
    def service_notice(self) -> str | None: ...
    @property
    def location_privacy(self) -> str: ...
    @property
    def grid_metres(self) -> int | None: ...


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
def _new_request_statement(
    *, explicit_id: bool, contact: bool, media: bool, answer: bool
) -> sa.Select:
    """Everything a POST writes, in ONE statement (data-modifying CTEs): the request, its
    "opened" event, and as sent the contact, the photos and the Idempotency-Key's answer;
    SELECTs the request's id. One statement is atomic on its own: a POST needs no
    transaction (no BEGIN / COMMIT round trips), and a failure stores nothing. Built once
    per shape; every value is a bound parameter."""
    table, events = cast(sa.Table, SR.__table__), cast(sa.Table, RequestEvent.__table__)
    plain = (
        "jurisdiction_pk",
        "service_pk",
        "description",
        "agency_responsible",
        "service_notice",
        "address",
        "address_id",
        "zipcode",
        "address_verified",
        "area_pks",
        "media_url",
        "attributes",
        "api_key_pk",
        "token",
        "accepted_at",
        "public",
        *(("id",) if explicit_id else ()),
    )
    now = sa.bindparam("now", type_=table.c.requested_datetime.type)
    values: dict[str, Any] = {name: sa.bindparam(name, type_=table.c[name].type) for name in plain}
    long, lat = sa.bindparam("long", type_=sa.Float), sa.bindparam("lat", type_=sa.Float)
    privacy = sa.bindparam("location_privacy", type_=sa.String)
    values.update(
        status="open",
        requested_datetime=now,
        updated_datetime=now,
        location=point(long, lat),
        public_location=public_point(
            long, lat, privacy, sa.bindparam("grid_metres", type_=sa.Integer)
        ),
        search=search_vector(
            values["description"],
            exact_only(values["address"], privacy),
            sa.bindparam("service_name", type_=sa.Text),
            sa.bindparam("service_group", type_=sa.Text),
            sa.bindparam("service_keywords", type_=ARRAY(sa.Text)),
        ),
    )
    new = sa.insert(table).values(values).returning(table.c.id).cte("new_request")
    writes = [
        sa.insert(events)
        .from_select(
            ["request_pk", "kind", "status", "at", "api_key_pk"],
            sa.select(
                new.c.id,
                sa.literal("opened"),
                sa.literal("open"),
                now,
                sa.bindparam("api_key_pk", type_=table.c.api_key_pk.type),
            ),
        )
        .cte("opened")
    ]
    if contact:
        contacts = cast(sa.Table, RequestContact.__table__)
        writes.append(
            sa.insert(contacts)
            .from_select(
                ["request_pk", *PERSONAL_FIELDS],
                sa.select(
                    new.c.id,
                    *(sa.bindparam(name, type_=contacts.c[name].type) for name in PERSONAL_FIELDS),
                ),
            )
            .cte("contact")
        )
    if media:
        photos = cast(sa.Table, Media.__table__)
        rows = (
            sa.func.unnest(
                *(
                    sa.bindparam(f"media_{name}", type_=ARRAY(photos.c[name].type))
                    for name in _MEDIA_COLUMNS
                )
            )
            .table_valued(*_MEDIA_COLUMNS)
            .render_derived("photo")
        )
        writes.append(
            sa.insert(photos)
            .from_select(
                ["request_pk", *_MEDIA_COLUMNS],
                sa.select(new.c.id, *(rows.c[name] for name in _MEDIA_COLUMNS))
                .select_from(new)
                .join(rows, sa.true()),
            )
            .cte("photos")
        )
    if answer:
        answers = cast(sa.Table, IdempotentAnswer.__table__)
        writes.append(
            sa.insert(answers)
            .from_select(
                ["api_key_pk", "key", "fingerprint", "payload"],
                sa.select(
                    sa.bindparam("api_key_pk", type_=answers.c.api_key_pk.type),
                    *(
                        sa.bindparam(f"answer_{name}", type_=answers.c[name].type)
                        for name in ("key", "fingerprint", "payload")
                    ),
                ).select_from(new),
            )
            .cte("answer")
        )
    return sa.select(new.c.id).add_cte(*writes)


def new_request_id(session: Session) -> int:
    """A request id taken ahead of the INSERT (an answer stored with the request names it)."""
    return driver_rows(session.connection(), _NEXT_ID, {}).value(0, "id")


_NEXT_ID = sa.select(
    sa.func.nextval(sa.func.pg_get_serial_sequence("service_request", "id")).label("id")
)


def add_request(
    session: Session,
    *,
    jurisdiction_pk: int,
    service: ServiceFacts,
    place,
    area_pks: list[int],
    description: str | None,
    media_url: str | None,
    attributes: dict,
    api_key_pk: int,
    token: str | None,
    accepted_at: dt.datetime | None,
    public: bool,
    now: dt.datetime,
    personal: dict[str, str | None] | None = None,
    media: Sequence = (),
    remember: Remember | None = None,
    request_pk: int | None = None,
) -> int:
    """Insert a new request with everything that comes with it, in one statement (a POST's
    hot path: the lean runner); the request's id. ``media``: (name, image) pairs, each name
    ``{digest}.{extension}``. Raises AnswerExists when ``remember``'s key was stored by a
    concurrent POST (then nothing was written)."""
    contact = personal is not None and any(personal.values())
    statement = _new_request_statement(
        explicit_id=request_pk is not None,
        contact=contact,
        media=bool(media),
        answer=remember is not None,
    )
    values = {
        "jurisdiction_pk": jurisdiction_pk,
        "service_pk": service.id,
        "description": description,
        "agency_responsible": service.agency_responsible,
        "service_notice": service.service_notice,
        "address": place.address,
        "address_id": place.address_id,
        "zipcode": place.zipcode,
        "address_verified": place.verified,
        "area_pks": area_pks,
        "media_url": media_url,
        "attributes": attributes,
        "api_key_pk": api_key_pk,
        "token": token,
        "accepted_at": accepted_at,
        "public": public,
        "now": now,
        "long": place.long if place.lat is not None else None,
        "lat": place.lat if place.long is not None else None,
        "location_privacy": service.location_privacy,
        "grid_metres": service.grid_metres,
        "service_name": service.service_name,
        "service_group": service.group,
        "service_keywords": list(service.keywords or ()),
    }
    if request_pk is not None:  # the statement of an explicit id binds it
        values["id"] = request_pk
    if personal is not None and contact:
        values.update({name: personal.get(name) for name in PERSONAL_FIELDS})
    if media:
        images = [image for _, image in media]
        stems = [name.partition(".")[0] for name, _ in media]
        values.update(
            media_name=stems,
            media_extension=[i.extension for i in images],
            media_position=list(range(1, len(media) + 1)),
            media_content_type=[i.content_type for i in images],
            media_width=[i.width for i in images],
            media_height=[i.height for i in images],
            media_size=[len(i.data) for i in images],
        )
    if remember is not None:
        values.update(
            answer_key=remember.key,
            answer_fingerprint=remember.fingerprint,
            answer_payload=remember.payload,
        )
    will_change(session)  # a new request: no kept answer shows it
    try:
        return driver_rows(session.connection(), statement, values).value(0, "id")
    except sa.exc.IntegrityError as exc:
        if remember is not None and _table_of(exc) == IdempotentAnswer.__tablename__:
            raise AnswerExists from None
        raise


def _table_of(error: sa.exc.DBAPIError) -> str | None:
    """The table whose constraint ``error`` broke (as the server reports it)."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "table_name", None)


def remembered_answer(session: Session, api_key_pk: int, key: str) -> IdempotentAnswer | None:
    return session.get(IdempotentAnswer, (api_key_pk, key))
