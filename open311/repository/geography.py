"""Spatial queries: boundary and area parts, point lookups, address points, GeoJSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

from open311.models import (
    AddressPoint,
    Area,
    AreaPart,
    Jurisdiction,
    JurisdictionPart,
)
from open311.models.base import WGS84
from open311.models.geography import SUBDIVIDE_VERTICES
from open311.repository.driver import driver_rows
from open311.repository.spatial import as_geography, point


# -- subdivided parts ------------------------------------------------------------------------
def replace_jurisdiction_parts(session: Session, jurisdiction_pk: int) -> None:
    session.execute(
        sa.delete(JurisdictionPart).where(JurisdictionPart.jurisdiction_pk == jurisdiction_pk)
    )
    session.execute(
        sa.insert(JurisdictionPart).from_select(
            ["jurisdiction_pk", "geom"],
            sa.select(
                Jurisdiction.id, sa.func.ST_Subdivide(Jurisdiction.boundary, SUBDIVIDE_VERTICES)
            ).where(Jurisdiction.id == jurisdiction_pk),
        )
    )


def replace_area_parts(session: Session, area_pks: Sequence[int]) -> None:
    if not area_pks:
        return
    session.execute(sa.delete(AreaPart).where(AreaPart.area_pk.in_(area_pks)))
    session.execute(
        sa.insert(AreaPart).from_select(
            ["area_pk", "geom"],
            sa.select(Area.id, sa.func.ST_Subdivide(Area.geom, SUBDIVIDE_VERTICES)).where(
                Area.id.in_(area_pks)
            ),
        )
    )


# -- what is at a point ----------------------------------------------------------------------
# The point lookups: statements built once, run on the hot read path's runner (driver_rows);
# every value a bound parameter.
_HERE = point(sa.bindparam("long", type_=sa.Float), sa.bindparam("lat", type_=sa.Float))
_PK = sa.bindparam("pk", type_=sa.Integer)
_PKS = sa.bindparam("pks", type_=ARRAY(sa.Integer))
_METRES = sa.bindparam("metres", type_=sa.Float)

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
    .limit(1)
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


def _json_object(*columns) -> sa.ColumnElement:
    """A JSON object of labelled columns, keyed by their labels."""
    return sa.func.json_build_object(*(part for c in columns for part in (c.key, c)))


# What a POST needs to know about its point, in one round trip: the three above.
_POINT_FACTS = sa.select(
    _INSIDE.label("inside"),
    sa.select(
        sa.func.json_agg(
            aggregate_order_by(
                _json_object(Area.id, Area.jurisdiction_pk, Area.layer, Area.area_id, Area.name),
                *_AREA_ORDER,
            )
        )
    )
    .where(*_AREAS_HERE)
    .scalar_subquery()
    .label("areas"),
    sa.select(_json_object(*_NEAREST_FIELDS))
    .where(_NEAR_ENOUGH)
    .scalar_subquery()
    .label("nearest"),
)


def jurisdiction_pks_at(session: Session, long: float, lat: float) -> list[int]:
    """The jurisdictions whose boundary covers the point, deepest tier first."""
    rows = driver_rows(session.connection(), _JURISDICTION_PKS_AT, {"long": long, "lat": lat})
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
        session.connection(), _COVERS, {"pk": jurisdiction_pk, "long": long, "lat": lat}
    )
    return bool(rows.value(0, "inside"))


def areas_at(
    session: Session, jurisdiction_pks: Iterable[int], long: float, lat: float
) -> list[AreaAt]:
    """The named areas of these jurisdictions that cover the point."""
    rows = driver_rows(
        session.connection(), _AREAS_AT, {"long": long, "lat": lat, "pks": list(jurisdiction_pks)}
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
    ).named()
    return PointFacts(
        bool(row.inside),
        [AreaAt(**a) for a in row.areas or []],
        AddressAt(**row.nearest) if row.nearest else None,
    )


def areas_by_pk(session: Session, pks: Sequence[int]) -> dict[int, Area]:
    if not pks:
        return {}
    return {a.id: a for a in session.scalars(sa.select(Area).where(Area.id.in_(pks)))}


def areas_named(session: Session, jurisdiction_pk: int, area_id: str) -> list[Area]:
    return list(
        session.scalars(
            sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk, Area.area_id == area_id)
        )
    )


def layers_of(session: Session, jurisdiction_pk: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Area.layer)
            .distinct()
            .where(Area.jurisdiction_pk == jurisdiction_pk)
            .order_by(Area.layer)
        )
    )


def areas_of(session: Session, jurisdiction_pk: int, layer: str | None = None) -> list[Area]:
    query = sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk)
    if layer:
        query = query.where(Area.layer == layer)
    return list(session.scalars(query.order_by(Area.layer, Area.area_id)))


# -- address points --------------------------------------------------------------------------
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


def nearest_address(
    session: Session, long: float, lat: float, max_metres: float
) -> AddressAt | None:
    """The nearest address point of any jurisdiction within ``max_metres``."""
    rows = driver_rows(
        session.connection(), _NEAREST_ADDRESS, {"long": long, "lat": lat, "metres": max_metres}
    )
    return AddressAt(**rows.named()[0]._asdict()) if rows else None


# -- GeoJSON ---------------------------------------------------------------------------------
def _geojson(geom) -> sa.ColumnElement:
    """A polygon's GeoJSON as RFC 7946 (3.1.6) winds it: exterior rings counterclockwise,
    holes clockwise (PostGIS stores them as they were loaded, the other way round for
    shapefiles), 7 decimals (about 1 cm)."""
    return sa.cast(sa.func.ST_AsGeoJSON(sa.func.ST_ForcePolygonCCW(geom), 7), sa.JSON)


def jurisdictions_geojson(session: Session) -> str:
    """Every jurisdiction as a GeoJSON FeatureCollection, built by PostGIS."""
    feature = sa.func.json_build_object(
        "type",
        "Feature",
        "id",
        Jurisdiction.jurisdiction_id,
        "geometry",
        _geojson(Jurisdiction.boundary),
        "properties",
        sa.func.json_build_object(
            "jurisdiction_id",
            Jurisdiction.jurisdiction_id,
            "name",
            Jurisdiction.name,
            "parent",
            Jurisdiction.parent_id,
            "timezone",
            Jurisdiction.timezone,
        ),
    )
    return _collection(
        session, sa.select(feature).order_by(Jurisdiction.depth, Jurisdiction.jurisdiction_id)
    )


def areas_geojson(session: Session, jurisdiction_pk: int, layer: str | None) -> str:
    feature = sa.func.json_build_object(
        "type",
        "Feature",
        "id",
        sa.func.concat(Area.layer, ":", Area.area_id),
        "geometry",
        _geojson(Area.geom),
        "properties",
        sa.func.json_build_object(
            "layer",
            Area.layer,
            "layer_title",
            Area.layer_title,
            "area_id",
            Area.area_id,
            "name",
            Area.name,
        ),
    )
    query = sa.select(feature).where(Area.jurisdiction_pk == jurisdiction_pk)
    if layer:
        query = query.where(Area.layer == layer)
    return _collection(session, query.order_by(Area.layer, Area.area_id))


def _collection(session: Session, features: sa.Select) -> str:
    rows = features.subquery()
    column = list(rows.c)[0]
    return session.execute(
        sa.select(
            sa.cast(
                sa.func.json_build_object(
                    "type",
                    "FeatureCollection",
                    "features",
                    sa.func.coalesce(sa.func.json_agg(column), sa.text("'[]'::json")),
                ),
                sa.Text,
            )
        )
    ).scalar_one()
