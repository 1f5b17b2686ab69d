from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Jurisdiction, Service


def by_code(session: Session, jurisdiction_id: str) -> Jurisdiction | None:
    return session.scalars(
        sa.select(Jurisdiction).where(Jurisdiction.jurisdiction_id == jurisdiction_id)
    ).one_or_none()


def first_two(session: Session) -> list[Jurisdiction]:
    """Up to two jurisdictions: enough to tell "exactly one" from "several"."""
    return list(session.scalars(sa.select(Jurisdiction).order_by(Jurisdiction.id).limit(2)))


def all_jurisdictions(session: Session) -> list[Jurisdiction]:
    return list(session.scalars(sa.select(Jurisdiction).order_by(Jurisdiction.jurisdiction_id)))


def covers(session: Session, jurisdiction_pk: int, long: float, lat: float) -> bool:
    """Whether the jurisdiction's boundary covers the point (boundary points count)."""
    point = sa.func.ST_SetSRID(sa.func.ST_MakePoint(long, lat), 4326)
    return bool(session.scalar(
        sa.select(sa.func.ST_Covers(Jurisdiction.boundary, point))
        .where(Jurisdiction.id == jurisdiction_pk)))


def changeset(session: Session) -> dt.datetime | None:
    """When the catalogue last changed: the newest jurisdiction or service update."""
    return session.scalar(sa.select(sa.func.greatest(
        sa.select(sa.func.max(Jurisdiction.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Service.updated_at)).scalar_subquery())))
