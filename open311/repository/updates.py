"""Request updates (FixMyStreet's servicerequestupdates): the events a back office posts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from open311.changes import will_change
from open311.models import RequestEvent, Service, ServiceRequest
from open311.repository.privacy import EXACT

PUBLISHED_KINDS = ("update", "closed", "reopened")


def client_update(session: Session, api_key_pk: int, client_update_id: str) -> int | None:
    """The id of the event an app posted under its own ``update_id``, or None."""
    return session.scalar(
        sa.select(RequestEvent.id).where(
            RequestEvent.api_key_pk == api_key_pk, RequestEvent.client_update_id == client_update_id
        )
    )


def request_to_update(
    session: Session, pk: int, jurisdiction_pk: int | None
) -> ServiceRequest | None:
    """A public request (of ``jurisdiction_pk`` when given), locked until the transaction
    ends: updates of one request apply one after the other. The session will change it."""
    will_change(session, [pk])
    query = sa.select(ServiceRequest).where(ServiceRequest.id == pk, ServiceRequest.public)
    if jurisdiction_pk is not None:
        query = query.where(ServiceRequest.jurisdiction_pk == jurisdiction_pk)
    return session.scalars(query.with_for_update()).one_or_none()


def add_client_update(session: Session, **values) -> int | None:
    """Insert an app's update event; its id, or None when the app's ``client_update_id`` is
    stored already (by a concurrent POST: the insert waits for it to commit)."""
    statement = (
        insert(RequestEvent)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_request_event_api_key_client_update_id")
        .returning(RequestEvent.id)
    )
    return session.scalar(statement)


def published_updates(
    session: Session,
    jurisdiction_pk: int,
    since: dt.datetime,
    until: dt.datetime | None,
    limit: int,
) -> list[tuple[RequestEvent, bool]]:
    """Status changes of a jurisdiction's public requests, oldest first, each with whether
    its photo may be shown (the service shows its requests' place exactly: see privacy)."""
    query = (
        sa.select(RequestEvent, (Service.location_privacy == EXACT).label("photo_shown"))
        .join(ServiceRequest, ServiceRequest.id == RequestEvent.request_pk)
        .join(Service, Service.id == ServiceRequest.service_pk)
        .where(
            ServiceRequest.jurisdiction_pk == jurisdiction_pk,
            ServiceRequest.public,
            RequestEvent.kind.in_(PUBLISHED_KINDS),
            RequestEvent.at >= since,
        )
    )
    if until is not None:
        query = query.where(RequestEvent.at < until)
    rows = session.execute(query.order_by(RequestEvent.at, RequestEvent.id).limit(limit))
    return [(row.RequestEvent, row.photo_shown) for row in rows]
