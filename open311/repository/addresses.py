"""The city's address points: loading them, and resolving and searching addresses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import AddressPoint
from open311.models.base import WGS84


def replace_address_points(session: Session, jurisdiction_pk: int, rows: Sequence) -> None:
    session.execute(sa.delete(AddressPoint).where(AddressPoint.jurisdiction_pk == jurisdiction_pk))
    table = cast(sa.Table, AddressPoint.__table__)
    batch = 5000
    for start in range(0, len(rows), batch):
        session.execute(
            table.insert(),
            [
                {
                    "jurisdiction_pk": jurisdiction_pk,
                    "address_id": r.address_id,
                    "address": r.address,
                    "key": r.key,
                    "house_number": r.house_number,
                    "street_name": r.street_name,
                    "predirection": r.predirection,
                    "street_type": r.street_type,
                    "zipcode": r.zipcode,
                    "location": f"SRID={WGS84};POINT({r.long!r} {r.lat!r})",
                }
                for r in rows[start : start + batch]
            ],
        )


def count_address_points(session: Session, jurisdiction_pk: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AddressPoint)
            .where(AddressPoint.jurisdiction_pk == jurisdiction_pk)
        )
        or 0
    )


ADDRESS_COLUMNS = (
    AddressPoint.jurisdiction_pk,
    AddressPoint.address_id,
    AddressPoint.address,
    AddressPoint.zipcode,
    sa.func.ST_Y(AddressPoint.location).label("lat"),
    sa.func.ST_X(AddressPoint.location).label("long"),
)


def address_by_id(
    session: Session, jurisdiction_pks: Sequence[int], address_id: str
) -> sa.Row | None:
    return session.execute(
        sa.select(*ADDRESS_COLUMNS)
        .where(
            AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
            AddressPoint.address_id == address_id,
        )
        .order_by(AddressPoint.jurisdiction_pk)
        .limit(1)
    ).first()


def address_by_key(
    session: Session, jurisdiction_pks: Sequence[int], key: str, zipcode: str | None
) -> sa.Row | None:
    """An exact match of the normalised key (the same ZIP code first, when one is given)."""
    order: list[Any] = [AddressPoint.jurisdiction_pk]
    if zipcode:
        order.insert(0, (AddressPoint.zipcode == zipcode).desc())
    return session.execute(
        sa.select(*ADDRESS_COLUMNS)
        .where(AddressPoint.jurisdiction_pk.in_(jurisdiction_pks), AddressPoint.key == key)
        .order_by(*order)
        .limit(1)
    ).first()


def street_known(session: Session, jurisdiction_pks: Sequence[int], street_name: str) -> bool:
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
                    AddressPoint.street_name == street_name,
                )
            )
        )
    )


def addresses_on_street(
    session: Session,
    jurisdiction_pks: Sequence[int],
    *,
    house_number: str,
    street_name: str,
    predirection: str | None,
    street_type: str | None,
    zipcode: str | None,
    limit: int,
) -> list:
    """The address points with this house number on this street, the parts the resident
    gave (direction, type) agreeing; the same ZIP code first."""
    query = sa.select(*ADDRESS_COLUMNS, AddressPoint.key).where(
        AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
        AddressPoint.street_name == street_name,
        AddressPoint.house_number == house_number,
    )
    if predirection:
        query = query.where(AddressPoint.predirection == predirection)
    if street_type:
        query = query.where(AddressPoint.street_type == street_type)
    order: list[Any] = [AddressPoint.address_id]
    if zipcode:
        order.insert(0, (AddressPoint.zipcode == zipcode).desc())
    return list(session.execute(query.order_by(*order).limit(limit)))


def similar_streets(
    session: Session,
    jurisdiction_pks: Sequence[int],
    *,
    house_number: str,
    street_name: str,
    threshold: float,
    limit: int,
) -> list:
    """Address points with this house number on a street whose name is like
    ``street_name`` (pg_trgm similarity >= threshold), best first."""
    similarity = sa.func.similarity(AddressPoint.street_name, street_name)
    return list(
        session.execute(
            sa.select(*ADDRESS_COLUMNS, AddressPoint.street_name, similarity.label("score"))
            .where(
                AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
                AddressPoint.house_number == house_number,
                AddressPoint.street_name.op("%")(street_name),
                similarity >= threshold,
            )
            .order_by(similarity.desc(), AddressPoint.address_id)
            .limit(limit)
        )
    )


def search_addresses(
    session: Session, jurisdiction_pks: Sequence[int], key: str, limit: int
) -> list:
    """Autocomplete: keys starting with ``key`` first, then the most similar."""
    similarity = sa.func.similarity(AddressPoint.key, key)
    prefix = AddressPoint.key.startswith(key, autoescape=True)
    return list(
        session.execute(
            sa.select(*ADDRESS_COLUMNS, similarity.label("score"))
            .where(
                AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
                sa.or_(prefix, AddressPoint.key.op("%")(key)),
            )
            .order_by(prefix.desc(), similarity.desc(), AddressPoint.key)
            .limit(limit)
        )
    )
