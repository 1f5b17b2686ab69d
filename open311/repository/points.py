"""What is at a point: the jurisdictions whose boundary covers it, the named areas there and
the nearest address point. Statements built once, run on the hot read path's runner
(driver_rows); every value a bound parameter."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

from open311.models import AddressPoint, Area, AreaPart, Jurisdiction, JurisdictionPart
from open311.repository.driver import driver_rows
from open311.repository.spatial import as_geography, point

_HERE = point(sa.bindparam("long", type_=sa.Float), sa.bindparam("lat", type_=sa.Float))
_PK = sa.bindparam("pk", type_=sa.Integer)
_PKS = sa.bindparam("pks", type_=ARRAY(sa.Integer))
_METRES = sa.bindparam("metres", type_=sa.Float)
# A constant in the SQL, not a parameter: with LIMIT $n a prepared statement's generic plan is
# costed for any limit, so PostgreSQL keeps planning each call (twice the time of a POST's
# point lookup).
ONE = sa.literal_column("1", sa.Integer)

# Whether jurisdiction :pk's boundary covers the point (its subdivided parts).
_INSIDE = sa.exists().where(
    JurisdictionPart.jurisdiction_pk == _PK, sa.func.ST_Covers(JurisdictionPart.geom, _HERE)
)
_COVERS = sa.select(_INSIDE.label("inside"))

_JURISDICTION_PKS_AT = (
    sa.select(Jurisdiction.id)
    .where(
        Jurisdiction.id.in_(
            sa.select(JurisdictionPart.jurisdiction_pk).where(
                sa.func.ST_Covers(JurisdictionPart.geom, _HERE)
            )
        )
    )
    .order_by(Jurisdiction.depth.desc(), Jurisdiction.id)
)

# The named areas of jurisdictions :pks covering the point.
_AREA_ORDER = (Area.jurisdiction_pk, Area.layer, Area.area_id)
_AREAS_HERE = (
    Area.id.in_(sa.select(AreaPart.area_pk).where(sa.func.ST_Covers(AreaPart.geom, _HERE))),
    Area.jurisdiction_pk == sa.func.any(_PKS),
)
_AREAS_AT = (
    sa.select(Area.id, Area.jurisdiction_pk, Area.layer, Area.area_id, Area.name)
    .where(*_AREAS_HERE)
    .order_by(*_AREA_ORDER)
)

# The nearest address point (KNN on the GiST index), kept only within :metres (not looked for
# at all when that is 0: a one-time filter).
_NEAREST = (
    sa.select(
        AddressPoint.jurisdiction_pk,
        AddressPoint.address_id,
        AddressPoint.address,
        AddressPoint.zipcode,
        AddressPoint.location,
    )
    .where(_METRES > 0)
    .order_by(AddressPoint.location.op("<->")(_HERE))
    .limit(ONE)
    .subquery("n")
)
_NEAREST_FIELDS = (
    _NEAREST.c.jurisdiction_pk,
    _NEAREST.c.address_id,
    _NEAREST.c.address,
    _NEAREST.c.zipcode,
    sa.func.ST_Y(_NEAREST.c.location).label("lat"),
    sa.func.ST_X(_NEAREST.c.location).label("long"),
)
_NEAR_ENOUGH = sa.func.ST_DWithin(as_geography(_NEAREST.c.location), as_geography(_HERE), _METRES)
_NEAREST_ADDRESS = sa.select(*_NEAREST_FIELDS).where(_NEAR_ENOUGH)


# What a POST needs to know about its point, in one round trip: the three above, each row as
# a JSON object keyed by its column names (row_to_json: no key is sent as a parameter).
_AREAS_ROWS = _AREAS_AT.subquery("a")
_NEAREST_ROW = _NEAREST_ADDRESS.subquery("nearest")
_POINT_FACTS = sa.select(
    _INSIDE.label("inside"),
    sa.select(
        sa.func.json_agg(
            aggregate_order_by(
                _AREAS_ROWS.table_valued(),
                _AREAS_ROWS.c.jurisdiction_pk,
                _AREAS_ROWS.c.layer,
                _AREAS_ROWS.c.area_id,
            )
        )
    )
    .scalar_subquery()
    .label("areas"),
    sa.select(sa.func.row_to_json(_NEAREST_ROW.table_valued())).scalar_subquery().label("nearest"),
)


def jurisdiction_pks_at(session: Session, long: float, lat: float) -> list[int]:
    """The jurisdictions whose boundary covers the point, deepest tier first."""
    rows = driver_rows(
        session.connection(), _JURISDICTION_PKS_AT, {"long": long, "lat": lat}, public_values=True
    )
    return [row.id for row in rows.named()]


def jurisdictions_at(session: Session, long: float, lat: float) -> list[Jurisdiction]:
    """Every jurisdiction whose boundary covers the point, deepest tier first."""
    pks = jurisdiction_pks_at(session, long, lat)
    if not pks:
        return []
    found = {
        j.id: j for j in session.scalars(sa.select(Jurisdiction).where(Jurisdiction.id.in_(pks)))
    }
    return [found[pk] for pk in pks]


def jurisdiction_covers(session: Session, jurisdiction_pk: int, long: float, lat: float) -> bool:
    """Whether the jurisdiction's boundary covers the point (boundary points count)."""
    rows = driver_rows(
        session.connection(),
        _COVERS,
        {"pk": jurisdiction_pk, "long": long, "lat": lat},
        public_values=True,
    )
    return bool(rows.value(0, "inside"))


def areas_at(
    session: Session, jurisdiction_pks: Iterable[int], long: float, lat: float
) -> list[AreaAt]:
    """The named areas of these jurisdictions that cover the point."""
    rows = driver_rows(
        session.connection(),
        _AREAS_AT,
        {"long": long, "lat": lat, "pks": list(jurisdiction_pks)},
        public_values=True,
    )
    return [AreaAt(**row._asdict()) for row in rows.named()]


class AreaAt(NamedTuple):
    id: int
    jurisdiction_pk: int
    layer: str
    area_id: str
    name: str


class AddressAt(NamedTuple):
    jurisdiction_pk: int
    address_id: str
    address: str
    zipcode: str | None
    lat: float
    long: float


class PointFacts(NamedTuple):
    inside: bool  # the jurisdiction's boundary covers the point
    areas: list[AreaAt]  # the named areas of its tiers there
    nearest: AddressAt | None  # the nearest address point within the distance asked


def point_facts(
    session: Session,
    jurisdiction_pk: int,
    tier_pks: Sequence[int],
    long: float,
    lat: float,
    address_metres: float,
) -> PointFacts:
    """jurisdiction_covers, areas_at and nearest_address in one statement (a POST's)."""
    [row] = driver_rows(
        session.connection(),
        _POINT_FACTS,
        {
            "pk": jurisdiction_pk,
            "pks": list(tier_pks),
            "long": long,
            "lat": lat,
            "metres": float(address_metres),
        },
        public_values=True,
    ).named()
    return PointFacts(
        bool(row.inside),
        [AreaAt(**a) for a in row.areas or []],
        AddressAt(**row.nearest) if row.nearest else None,
    )


def nearest_address(
    session: Session, long: float, lat: float, max_metres: float
) -> AddressAt | None:
    """The nearest address point of any jurisdiction within ``max_metres``."""
    rows = driver_rows(
        session.connection(),
        _NEAREST_ADDRESS,
        {"long": long, "lat": lat, "metres": max_metres},
        public_values=True,
    )
    return AddressAt(**rows.named()[0]._asdict()) if rows else None
