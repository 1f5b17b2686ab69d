"""Service requests read and changed by the back-office paths: history, tokens, the batch
queue, photos and possible duplicates (GET requests: request_search; POST: new_requests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Media, RequestEvent, Service, ServiceRequest
from open311.repository.privacy import EXACT
from open311.repository.request_filters import near_box, within_conditions
from open311.repository.spatial import as_geography, point

SR = ServiceRequest


def events_of(session: Session, request_pks: Sequence[int]) -> list[RequestEvent]:
    if not request_pks:
        return []
    return list(
        session.scalars(
            sa.select(RequestEvent)
            .where(RequestEvent.request_pk.in_(request_pks))
            .order_by(RequestEvent.request_pk, RequestEvent.at, RequestEvent.id)
        )
    )


def by_token(session: Session, token: str) -> ServiceRequest | None:
    """The request a token names (tokens are unique across the server)."""
    return session.scalars(sa.select(SR).where(SR.token == token)).one_or_none()


def add_event(
    session: Session,
    request_pk: int,
    *,
    kind: str,
    status: str,
    at: dt.datetime,
    note: str | None = None,
    api_key_pk: int | None = None,
) -> None:
    session.execute(
        sa.insert(RequestEvent).values(
            request_pk=request_pk, kind=kind, status=status, at=at, note=note, api_key_pk=api_key_pk
        )
    )


def pending(
    session: Session,
    *,
    jurisdiction_pk: int | None = None,
    tokens: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[ServiceRequest]:
    """Batch requests waiting to be accepted, oldest first, locked for this transaction."""
    query = sa.select(SR).where(SR.token.is_not(None), SR.accepted_at.is_(None))
    if jurisdiction_pk is not None:
        query = query.where(SR.jurisdiction_pk == jurisdiction_pk)
    if tokens is not None:
        query = query.where(SR.token.in_(tokens))
    query = query.order_by(SR.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def accept(session: Session, pks: Sequence[int], at: dt.datetime) -> None:
    """Publish waiting batch requests (locked by ``pending``): one UPDATE."""
    if pks:
        session.execute(
            sa.update(SR)
            .where(SR.id.in_(pks))
            .values(accepted_at=at, public=True, updated_datetime=at)
        )  # the session's objects updated too (synchronize_session: "auto")


def published_media(session: Session, stem: str) -> Media | None:
    """A stored photo by name, if it is published: its request is public and its service
    shows its requests' place exactly (a photo shows the place: see privacy)."""
    query = (
        sa.select(Media)
        .join(SR, SR.id == Media.request_pk)
        .join(Service, Service.id == SR.service_pk)
        .where(Media.name == stem, SR.public, Service.location_privacy == EXACT)
        .limit(1)
    )
    return session.scalars(query).first()


def nearby_open(
    session: Session,
    service_pk: int,
    long: float,
    lat: float,
    metres: float,
    since: dt.datetime,
    *,
    limit: int = 10,
) -> list:
    """Open public requests of a service shown within ``metres`` of a point since
    ``since``, nearest first (possible duplicates; a hidden place is never near)."""
    distance = sa.func.ST_Distance(as_geography(SR.public_location), as_geography(point(long, lat)))
    query = (
        sa.select(SR.id, SR.status, SR.requested_datetime, distance.label("distance"))
        .where(
            SR.service_pk == service_pk,
            SR.public,
            SR.status == "open",
            SR.requested_datetime >= since,
            *within_conditions(near_box(long, lat, metres), (long, lat), metres),
        )
        .order_by(distance, SR.id.desc())
        .limit(limit)
    )
    return list(session.execute(query))
