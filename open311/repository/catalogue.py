from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from open311.models import Service, ServiceAttribute


def active_services(session: Session, jurisdiction_pk: int) -> list[tuple[Service, bool]]:
    """The jurisdiction's active services in catalogue order, each with whether it has
    attributes (the service list's ``metadata``)."""
    has_attributes = sa.exists().where(ServiceAttribute.service_pk == Service.id)
    rows = session.execute(
        sa.select(Service, has_attributes)
        .where(Service.jurisdiction_pk == jurisdiction_pk, Service.active.is_(True))
        .order_by(Service.position, Service.service_code)
    )
    return [(service, bool(flag)) for service, flag in rows]


def service_by_code(
    session: Session,
    jurisdiction_pk: int,
    service_code: str,
    *,
    with_attributes: bool = False,
    active_only: bool = True,
) -> Service | None:
    query = sa.select(Service).where(
        Service.jurisdiction_pk == jurisdiction_pk, Service.service_code == service_code
    )
    if active_only:
        query = query.where(Service.active.is_(True))
    if with_attributes:  # one round trip: the attributes joined in
        query = query.options(joinedload(Service.attributes))
    return session.scalars(query).unique().one_or_none()


def service_refs(session: Session) -> dict[tuple[int, str], int]:
    """(jurisdiction pk, service_code) -> service pk, for every service (active or not)."""
    rows = session.execute(sa.select(Service.jurisdiction_pk, Service.service_code, Service.id))
    return {(jurisdiction_pk, code): pk for jurisdiction_pk, code, pk in rows}
