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


def changeset(session: Session) -> dt.datetime | None:
    """When the catalogue last changed: the newest jurisdiction or service update."""
    return session.scalar(
        sa.select(
            sa.func.greatest(
                sa.select(sa.func.max(Jurisdiction.updated_at)).scalar_subquery(),
                sa.select(sa.func.max(Service.updated_at)).scalar_subquery(),
            )
        )
    )


def refs(session: Session) -> list[sa.Row]:
    """What calls need of every jurisdiction: id, jurisdiction_id, name, timezone,
    parent_pk, settings."""
    return list(
        session.execute(
            sa.select(
                Jurisdiction.id,
                Jurisdiction.jurisdiction_id,
                Jurisdiction.name,
                Jurisdiction.timezone,
                Jurisdiction.parent_pk,
                Jurisdiction.settings,
            )
        )
    )
