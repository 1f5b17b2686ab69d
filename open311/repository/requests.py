from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from geoalchemy2.elements import WKTElement
from sqlalchemy.orm import Session

from open311.models import RequestContact, RequestEvent, Service, ServiceRequest

SR = ServiceRequest
BIGINT_MAX = 2**63 - 1

# The columns of a GET requests item, named as the payload names them.
PUBLIC_COLUMNS = (
    SR.id.label("service_request_id"), SR.status, SR.status_notes, Service.service_name,
    Service.service_code, SR.description, SR.agency_responsible, SR.service_notice,
    SR.requested_datetime, SR.updated_datetime, SR.expected_datetime, SR.address,
    SR.address_id, SR.zipcode, sa.func.ST_Y(SR.location).label("lat"),
    sa.func.ST_X(SR.location).label("long"), SR.media_url,
)


def public_rows(session: Session, jurisdiction_pk: int, *,
                ids: Sequence[int] | None = None,
                service_pks: Sequence[int] | None = None,
                start: dt.datetime | None = None,
                end_before: dt.datetime | None = None,
                statuses: Sequence[str] | None = None,
                limit: int, extended: bool = False) -> Sequence[sa.Row]:
    """Public requests of a jurisdiction, newest first (``extended``: with area_pks)."""
    columns = (*PUBLIC_COLUMNS, SR.area_pks) if extended else PUBLIC_COLUMNS
    query = (sa.select(*columns).join(Service, Service.id == SR.service_pk)
             .where(SR.jurisdiction_pk == jurisdiction_pk, SR.public.is_(True)))
    if ids is not None:
        query = query.where(SR.id.in_(ids))
    else:
        if service_pks:
            query = query.where(SR.service_pk.in_(service_pks))
        if start is not None:
            query = query.where(SR.requested_datetime >= start)
        if end_before is not None:
            query = query.where(SR.requested_datetime < end_before)
        if statuses and len(set(statuses)) == 1:
            query = query.where(SR.status == statuses[0])
    query = query.order_by(SR.requested_datetime.desc(), SR.id.desc()).limit(limit)
    return session.execute(query).all()


def by_token(session: Session, jurisdiction_pk: int, token: str) -> ServiceRequest | None:
    return session.scalars(sa.select(SR).where(SR.jurisdiction_pk == jurisdiction_pk,
                                               SR.token == token)).one_or_none()


def add_request(session: Session, *, jurisdiction_pk: int, service: Service, place,
                area_pks: list[int], description: str | None, media_url: str | None,
                attributes: dict, api_key_pk: int, token: str | None,
                accepted_at: dt.datetime | None, public: bool,
                now: dt.datetime) -> ServiceRequest:
    request = SR(
        jurisdiction_pk=jurisdiction_pk, service_pk=service.id, status="open",
        description=description, agency_responsible=service.agency_responsible,
        service_notice=service.service_notice, requested_datetime=now, updated_datetime=now,
        address=place.address, address_id=place.address_id, zipcode=place.zipcode,
        address_verified=place.verified, area_pks=area_pks, media_url=media_url,
        location=(WKTElement(f"POINT({place.long!r} {place.lat!r})", srid=4326)
                  if place.lat is not None and place.long is not None else None),
        attributes=attributes, api_key_pk=api_key_pk, token=token, accepted_at=accepted_at,
        public=public,
    )
    session.add(request)
    session.flush()
    return request


def add_contact(session: Session, request_pk: int, **personal: str | None) -> None:
    if any(personal.values()):
        session.add(RequestContact(request_pk=request_pk, **personal))


def add_event(session: Session, request_pk: int, *, kind: str, status: str,
              at: dt.datetime, note: str | None = None, api_key_pk: int | None = None) -> None:
    session.add(RequestEvent(request_pk=request_pk, kind=kind, status=status, at=at, note=note,
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
