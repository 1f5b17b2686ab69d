"""Spatial queries: boundary and area parts, point lookups, address points, GeoJSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import sqlalchemy as sa
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
from open311.repository.driver import sql_rows


# -- subdivided parts ------------------------------------------------------------------------
def replace_jurisdiction_parts(session: Session, jurisdiction_pk: int) -> None:
    session.execute(sa.delete(JurisdictionPart)
                    .where(JurisdictionPart.jurisdiction_pk == jurisdiction_pk))
    session.execute(sa.insert(JurisdictionPart).from_select(
        ["jurisdiction_pk", "geom"],
        sa.select(Jurisdiction.id, sa.func.ST_Subdivide(Jurisdiction.boundary,
                                                        SUBDIVIDE_VERTICES))
        .where(Jurisdiction.id == jurisdiction_pk)))


def replace_area_parts(session: Session, area_pks: Sequence[int]) -> None:
    if not area_pks:
        return
    session.execute(sa.delete(AreaPart).where(AreaPart.area_pk.in_(area_pks)))
    session.execute(sa.insert(AreaPart).from_select(
        ["area_pk", "geom"],
        sa.select(Area.id, sa.func.ST_Subdivide(Area.geom, SUBDIVIDE_VERTICES))
        .where(Area.id.in_(area_pks))))


# -- what is at a point ----------------------------------------------------------------------
# The point lookups, as fixed SQL sent straight to the driver: no statement is built per
# call, and psycopg prepares them on the server after a few executions. Parameters are
# bound, never formatted in; the pieces below are constants written once and composed.
_HERE = "ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)"
# Whether jurisdiction %(pk)s's boundary covers the point (its subdivided parts).
_INSIDE = f"""EXISTS (SELECT 1 FROM jurisdiction_part p
               WHERE p.jurisdiction_pk = %(pk)s AND ST_Covers(p.geom, {_HERE}))"""  # noqa: S608 - module constants
# The named areas of jurisdictions %(pks)s covering the point.
_AREAS_HERE = f"""FROM area a
WHERE a.id IN (SELECT p.area_pk FROM area_part p WHERE ST_Covers(p.geom, {_HERE}))
  AND a.jurisdiction_pk = ANY(%(pks)s)"""  # noqa: S608 - module constants
_AREA_ORDER = "a.jurisdiction_pk, a.layer, a.area_id"
# The nearest address point (KNN on the GiST index), kept only within %(metres)s (not looked
# for at all when that is 0: a one-time filter).
_NEAREST_HERE = f"""FROM (SELECT a.jurisdiction_pk, a.address_id, a.address, a.zipcode, a.location
      FROM address_point a
      WHERE %(metres)s > 0
      ORDER BY a.location <-> {_HERE}
      LIMIT 1) AS n
WHERE ST_DWithin(n.location::geography, {_HERE}::geography, %(metres)s)"""  # noqa: S608 - module constants

_JURISDICTION_PKS_AT = f"""
SELECT j.id FROM jurisdiction j
WHERE j.id IN (SELECT p.jurisdiction_pk FROM jurisdiction_part p
               WHERE ST_Covers(p.geom, {_HERE}))
ORDER BY j.depth DESC, j.id"""  # noqa: S608 - module constants

_AREAS_AT = f"""
SELECT a.id, a.jurisdiction_pk, a.layer, a.area_id, a.name {_AREAS_HERE}
ORDER BY {_AREA_ORDER}"""

_COVERS = f"SELECT {_INSIDE}"

_NEAREST_ADDRESS = f"""
SELECT n.jurisdiction_pk, n.address_id, n.address, n.zipcode, ST_Y(n.location) AS lat,
       ST_X(n.location) AS long
{_NEAREST_HERE}"""

# What a POST needs to know about its point, in one round trip: the three above.
_POINT_FACTS = f"""
SELECT
  {_INSIDE} AS inside,
  (SELECT json_agg(json_build_array(a.id, a.jurisdiction_pk, a.layer, a.area_id, a.name)
                   ORDER BY {_AREA_ORDER})
   {_AREAS_HERE}) AS areas,
  (SELECT json_build_array(n.jurisdiction_pk, n.address_id, n.address, n.zipcode,
                           ST_Y(n.location), ST_X(n.location))
   {_NEAREST_HERE}) AS nearest"""


def jurisdiction_pks_at(session: Session, long: float, lat: float) -> list[int]:
    """The jurisdictions whose boundary covers the point, deepest tier first."""
    rows = sql_rows(session.connection(), _JURISDICTION_PKS_AT, {"long": long, "lat": lat})
    return [pk for (pk,) in rows]


def jurisdictions_at(session: Session, long: float, lat: float) -> list[Jurisdiction]:
    """Every jurisdiction whose boundary covers the point, deepest tier first."""
    pks = jurisdiction_pks_at(session, long, lat)
    if not pks:
        return []
    found = {j.id: j for j in session.scalars(sa.select(Jurisdiction)
                                              .where(Jurisdiction.id.in_(pks)))}
    return [found[pk] for pk in pks]


def jurisdiction_covers(session: Session, jurisdiction_pk: int, long: float,
                        lat: float) -> bool:
    """Whether the jurisdiction's boundary covers the point (boundary points count)."""
    return bool(sql_rows(session.connection(), _COVERS,
                         {"pk": jurisdiction_pk, "long": long, "lat": lat})[0][0])


def areas_at(session: Session, jurisdiction_pks: Iterable[int], long: float,
             lat: float) -> list[AreaAt]:
    """The named areas of these jurisdictions that cover the point (id, jurisdiction_pk,
    layer, area_id, name)."""
    return [AreaAt(*row) for row in sql_rows(session.connection(), _AREAS_AT, {
        "long": long, "lat": lat, "pks": list(jurisdiction_pks)})]


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


def point_facts(session: Session, jurisdiction_pk: int, tier_pks: Sequence[int], long: float,
                lat: float, address_metres: float) -> PointFacts:
    """jurisdiction_covers, areas_at and nearest_address in one statement (a POST's)."""
    [(inside, areas, nearest)] = sql_rows(session.connection(), _POINT_FACTS, {
        "pk": jurisdiction_pk, "pks": list(tier_pks), "long": long, "lat": lat,
        "metres": float(address_metres)})
    return PointFacts(bool(inside), [AreaAt(*a) for a in areas or []],
                      AddressAt(*nearest) if nearest else None)


def areas_by_pk(session: Session, pks: Sequence[int]) -> dict[int, Area]:
    if not pks:
        return {}
    return {a.id: a for a in session.scalars(sa.select(Area).where(Area.id.in_(pks)))}


def areas_named(session: Session, jurisdiction_pk: int, area_id: str) -> list[Area]:
    return list(session.scalars(sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk,
                                                      Area.area_id == area_id)))


def layers_of(session: Session, jurisdiction_pk: int) -> list[str]:
    return list(session.scalars(sa.select(Area.layer).distinct()
                                .where(Area.jurisdiction_pk == jurisdiction_pk)
                                .order_by(Area.layer)))


def areas_of(session: Session, jurisdiction_pk: int, layer: str | None = None) -> list[Area]:
    query = sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk)
    if layer:
        query = query.where(Area.layer == layer)
    return list(session.scalars(query.order_by(Area.layer, Area.area_id)))


# -- address points --------------------------------------------------------------------------
def replace_address_points(session: Session, jurisdiction_pk: int, rows: Sequence) -> None:
    session.execute(sa.delete(AddressPoint)
                    .where(AddressPoint.jurisdiction_pk == jurisdiction_pk))
    table = AddressPoint.__table__
    batch = 5000
    for start in range(0, len(rows), batch):
        session.execute(table.insert(), [
            {"jurisdiction_pk": jurisdiction_pk, "address_id": r.address_id,
             "address": r.address, "key": r.key, "house_number": r.house_number,
             "street_name": r.street_name, "predirection": r.predirection,
             "street_type": r.street_type, "zipcode": r.zipcode,
             "location": f"SRID={WGS84};POINT({r.long!r} {r.lat!r})"}
            for r in rows[start:start + batch]])


def count_address_points(session: Session, jurisdiction_pk: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AddressPoint)
                          .where(AddressPoint.jurisdiction_pk == jurisdiction_pk)) or 0


ADDRESS_COLUMNS = (AddressPoint.jurisdiction_pk, AddressPoint.address_id,
                   AddressPoint.address, AddressPoint.zipcode,
                   sa.func.ST_Y(AddressPoint.location).label("lat"),
                   sa.func.ST_X(AddressPoint.location).label("long"))


def address_by_id(session: Session, jurisdiction_pks: Sequence[int],
                  address_id: str) -> sa.Row | None:
    return session.execute(
        sa.select(*ADDRESS_COLUMNS).where(AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
                                          AddressPoint.address_id == address_id)
        .order_by(AddressPoint.jurisdiction_pk).limit(1)).first()


def address_by_key(session: Session, jurisdiction_pks: Sequence[int], key: str,
                   zipcode: str | None) -> sa.Row | None:
    """An exact match of the normalised key (the same ZIP code first, when one is given)."""
    order = [AddressPoint.jurisdiction_pk]
    if zipcode:
        order.insert(0, (AddressPoint.zipcode == zipcode).desc())
    return session.execute(
        sa.select(*ADDRESS_COLUMNS).where(AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
                                          AddressPoint.key == key)
        .order_by(*order).limit(1)).first()


def street_known(session: Session, jurisdiction_pks: Sequence[int], street_name: str) -> bool:
    return bool(session.scalar(sa.select(sa.exists().where(
        AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
        AddressPoint.street_name == street_name))))


def addresses_on_street(session: Session, jurisdiction_pks: Sequence[int], *,
                        house_number: str, street_name: str, predirection: str | None,
                        street_type: str | None, zipcode: str | None, limit: int) -> list:
    """The address points with this house number on this street, the parts the resident
    gave (direction, type) agreeing; the same ZIP code first."""
    query = sa.select(*ADDRESS_COLUMNS, AddressPoint.key).where(
        AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
        AddressPoint.street_name == street_name, AddressPoint.house_number == house_number)
    if predirection:
        query = query.where(AddressPoint.predirection == predirection)
    if street_type:
        query = query.where(AddressPoint.street_type == street_type)
    order = [AddressPoint.address_id]
    if zipcode:
        order.insert(0, (AddressPoint.zipcode == zipcode).desc())
    return list(session.execute(query.order_by(*order).limit(limit)))


def similar_streets(session: Session, jurisdiction_pks: Sequence[int], *, house_number: str,
                    street_name: str, threshold: float, limit: int) -> list:
    """Address points with this house number on a street whose name is like
    ``street_name`` (pg_trgm similarity >= threshold), best first."""
    similarity = sa.func.similarity(AddressPoint.street_name, street_name)
    return list(session.execute(
        sa.select(*ADDRESS_COLUMNS, AddressPoint.street_name, similarity.label("score"))
        .where(AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
               AddressPoint.house_number == house_number,
               AddressPoint.street_name.op("%")(street_name), similarity >= threshold)
        .order_by(similarity.desc(), AddressPoint.address_id).limit(limit)))


def search_addresses(session: Session, jurisdiction_pks: Sequence[int], key: str,
                     limit: int) -> list:
    """Autocomplete: keys starting with ``key`` first, then the most similar."""
    similarity = sa.func.similarity(AddressPoint.key, key)
    prefix = AddressPoint.key.startswith(key, autoescape=True)
    return list(session.execute(
        sa.select(*ADDRESS_COLUMNS, similarity.label("score"))
        .where(AddressPoint.jurisdiction_pk.in_(jurisdiction_pks),
               sa.or_(prefix, AddressPoint.key.op("%")(key)))
        .order_by(prefix.desc(), similarity.desc(), AddressPoint.key)
        .limit(limit)))


def nearest_address(session: Session, long: float, lat: float,
                    max_metres: float) -> AddressAt | None:
    """The nearest address point of any jurisdiction within ``max_metres``."""
    rows = sql_rows(session.connection(), _NEAREST_ADDRESS,
                    {"long": long, "lat": lat, "metres": max_metres})
    return AddressAt(*rows[0]) if rows else None


# -- GeoJSON ---------------------------------------------------------------------------------
def _geojson(geom) -> sa.ColumnElement:
    """A polygon's GeoJSON as RFC 7946 (3.1.6) winds it: exterior rings counterclockwise,
    holes clockwise (PostGIS stores them as they were loaded, the other way round for
    shapefiles), 7 decimals (about 1 cm)."""
    return sa.cast(sa.func.ST_AsGeoJSON(sa.func.ST_ForcePolygonCCW(geom), 7), sa.JSON)


def jurisdictions_geojson(session: Session) -> str:
    """Every jurisdiction as a GeoJSON FeatureCollection, built by PostGIS."""
    feature = sa.func.json_build_object(
        "type", "Feature", "id", Jurisdiction.jurisdiction_id,
        "geometry", _geojson(Jurisdiction.boundary),
        "properties", sa.func.json_build_object(
            "jurisdiction_id", Jurisdiction.jurisdiction_id, "name", Jurisdiction.name,
            "parent", Jurisdiction.parent_id, "timezone", Jurisdiction.timezone))
    return _collection(session, sa.select(feature).order_by(Jurisdiction.depth,
                                                            Jurisdiction.jurisdiction_id))


def areas_geojson(session: Session, jurisdiction_pk: int, layer: str | None) -> str:
    feature = sa.func.json_build_object(
        "type", "Feature", "id", sa.func.concat(Area.layer, ":", Area.area_id),
        "geometry", _geojson(Area.geom),
        "properties", sa.func.json_build_object(
            "layer", Area.layer, "layer_title", Area.layer_title, "area_id", Area.area_id,
            "name", Area.name))
    query = sa.select(feature).where(Area.jurisdiction_pk == jurisdiction_pk)
    if layer:
        query = query.where(Area.layer == layer)
    return _collection(session, query.order_by(Area.layer, Area.area_id))


def _collection(session: Session, features: sa.Select) -> str:
    rows = features.subquery()
    column = list(rows.c)[0]
    return session.scalar(sa.select(sa.cast(sa.func.json_build_object(
        "type", "FeatureCollection",
        "features", sa.func.coalesce(sa.func.json_agg(column), sa.text("'[]'::json"))),
        sa.Text)))
