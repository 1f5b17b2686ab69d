"""OGC API - Features: the items of each collection (requests, area layers, jurisdictions,
services), positions in the asked CRS. Requests are selected by GET requests' filters and
show the columns (and the place) the bulk export shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from open311.models import ApiKey, Area, Jurisdiction, Service, ServiceRequest
from open311.models.base import WGS84
from open311.repository.bulk import BULK_COLUMNS
from open311.repository.request_filters import Filters, clauses, conditions
from open311.repository.request_search import EXACT_FORMAT, use_timezone
from open311.repository.spatial import envelope

SR = ServiceRequest
# The properties of a request feature: the export's columns without its position columns.
REQUEST_PROPERTIES = tuple(c for c in BULK_COLUMNS if c.name not in ("lat", "long"))
# Their names as a feature's properties (read once: a column's .name is computed on access).
PROPERTY_NAMES = tuple(c.name for c in REQUEST_PROPERTIES if c.name != "area_pks")


def _selected(query: sa.Select, jurisdiction_pk: int, f: Filters, extra: Any) -> sa.Select:
    """The public requests of a jurisdiction the filters (and a CQL2 condition) select."""
    query = query.where(SR.jurisdiction_pk == jurisdiction_pk, SR.public)
    for clause in clauses(f):
        query = query.where(*conditions(clause)).params(clause.values)
    return query if extra is None else query.where(extra)


def _in_crs(geometry: Any, srid: int) -> Any:
    return geometry if srid == WGS84 else sa.func.ST_Transform(geometry, srid)


def geojson_geometry(geometry: Any, srid: int, lat_first: bool) -> sa.ColumnElement:
    """A geometry as GeoJSON text in ``srid``; ``lat_first``: axes swapped (EPSG:4326 is
    latitude, longitude); exterior rings counterclockwise (RFC 7946 3.1.6)."""
    shaped = _in_crs(sa.func.ST_ForcePolygonCCW(geometry), srid)
    if lat_first:
        shaped = sa.func.ST_FlipCoordinates(shaped)
    return sa.func.ST_AsGeoJSON(shaped, 7 if srid == WGS84 else 2, 0)  # 0: no "crs" member


def request_items(
    session: Session,
    jurisdiction_pk: int,
    f: Filters,
    *,
    srid: int,
    lat_first: bool,
    limit: int,
    offset: int,
    timezone: str,
    extra: Any = None,
) -> list[sa.RowMapping]:
    """One page of public requests, newest first, each with its geometry (GeoJSON text,
    NULL without a public place) and its keyset key (``after_at``, ``after_pk``)."""
    key_at = sa.func.to_char(sa.func.timezone("UTC", SR.requested_datetime), EXACT_FORMAT)
    query = (
        sa.select(
            *REQUEST_PROPERTIES,
            geojson_geometry(SR.public_location, srid, lat_first).label("geometry"),
            key_at.label("after_at"),
            SR.id.label("after_pk"),
        )
        .join(Service, Service.id == SR.service_pk)
        .outerjoin(ApiKey, ApiKey.id == SR.api_key_pk)
    )
    query = _selected(query, jurisdiction_pk, f, extra)
    query = query.order_by(SR.requested_datetime.desc(), SR.id.desc()).limit(limit).offset(offset)
    connection = use_timezone(session, timezone)
    return list(connection.execute(query).mappings())


def _counted(jurisdiction_pk: int, f: Filters, extra: Any, *columns: Any) -> sa.Select:
    query = sa.select(*columns).select_from(SR)
    if extra is not None:  # a CQL2 condition may name the service's or the app's columns
        query = query.join(Service, Service.id == SR.service_pk).outerjoin(
            ApiKey, ApiKey.id == SR.api_key_pk
        )
    return _selected(query, jurisdiction_pk, f, extra)


def count_requests(
    session: Session, jurisdiction_pk: int, f: Filters, cap: int, extra: Any = None
) -> int | None:
    """How many public requests the filters select, if no more than ``cap`` (else None):
    a count that stops at the cap, never a count(*) over millions."""
    capped = _counted(jurisdiction_pk, f, extra, sa.literal(1)).limit(cap + 1).subquery()
    found = session.scalar(sa.select(sa.func.count()).select_from(capped))
    return found if found is not None and found <= cap else None


class Explain(sa.sql.expression.Executable, sa.sql.expression.ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement, its values still bound parameters."""

    inherit_cache = False

    def __init__(self, statement: sa.Select) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler, **kw) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def estimate_requests(session: Session, jurisdiction_pk: int, f: Filters, extra: Any = None) -> int:
    """The planner's estimate of how many public requests the filters select."""
    plan = session.execute(Explain(_counted(jurisdiction_pk, f, extra, SR.id))).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def request_extent(
    session: Session, jurisdiction_pk: int
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The first and last requested_datetime of the jurisdiction's public requests."""
    row = session.execute(
        sa.select(sa.func.min(SR.requested_datetime), sa.func.max(SR.requested_datetime)).where(
            SR.jurisdiction_pk == jurisdiction_pk, SR.public
        )
    ).one()
    return row[0], row[1]


def jurisdiction_extent(session: Session, jurisdiction_pk: int) -> tuple[float, ...] | None:
    """The bounding box of a jurisdiction's boundary (WGS84 long/lat)."""
    box = sa.func.Box2D(Jurisdiction.boundary)
    row = session.execute(
        sa.select(
            sa.func.ST_XMin(box), sa.func.ST_YMin(box), sa.func.ST_XMax(box), sa.func.ST_YMax(box)
        ).where(Jurisdiction.id == jurisdiction_pk)
    ).one_or_none()
    return None if row is None or row[0] is None else tuple(float(v) for v in row)


def box_to_wgs84(session: Session, box: tuple[float, ...], srid: int) -> tuple[float, ...]:
    """A box given in ``srid`` as the WGS84 box that covers it."""
    shape = sa.func.Box2D(sa.func.ST_Transform(sa.func.ST_MakeEnvelope(*box, srid), WGS84))
    row = session.execute(
        sa.select(
            sa.func.ST_XMin(shape),
            sa.func.ST_YMin(shape),
            sa.func.ST_XMax(shape),
            sa.func.ST_YMax(shape),
        )
    ).one()
    return tuple(float(v) for v in row)


def _in_layer(
    query: sa.Select, jurisdiction_pk: int, layer: str, bbox: tuple[float, ...] | None
) -> sa.Select:
    """The areas of one layer of a jurisdiction (in the box, when given)."""
    query = query.where(Area.jurisdiction_pk == jurisdiction_pk, Area.layer == layer)
    return query if bbox is None else query.where(Area.geom.op("&&")(envelope(*bbox)))


def area_items(
    session: Session,
    jurisdiction_pk: int,
    layer: str,
    *,
    bbox: tuple[float, ...] | None,
    area_id: str | None,
    srid: int,
    lat_first: bool,
    limit: int,
    offset: int,
) -> list[sa.RowMapping]:
    query = sa.select(
        Area.area_id,
        Area.name,
        Area.layer,
        Area.layer_title,
        geojson_geometry(Area.geom, srid, lat_first).label("geometry"),
    )
    query = _in_layer(query, jurisdiction_pk, layer, bbox)
    if area_id is not None:
        query = query.where(Area.area_id == area_id)
    query = query.order_by(Area.area_id).limit(limit).offset(offset)
    return list(session.execute(query).mappings())


def count_areas(
    session: Session, jurisdiction_pk: int, layer: str, bbox: tuple[float, ...] | None
) -> int:
    query = _in_layer(sa.select(sa.func.count()), jurisdiction_pk, layer, bbox)
    return session.scalar(query) or 0


def layer_extents(session: Session, jurisdiction_pk: int) -> list[sa.RowMapping]:
    """Each area layer of a jurisdiction: its title, size and bounding box (WGS84)."""
    box = sa.func.ST_Extent(Area.geom)
    query = (
        sa.select(
            Area.layer,
            sa.func.min(Area.layer_title).label("title"),
            sa.func.count().label("areas"),
            sa.func.ST_XMin(box).label("x0"),
            sa.func.ST_YMin(box).label("y0"),
            sa.func.ST_XMax(box).label("x1"),
            sa.func.ST_YMax(box).label("y1"),
        )
        .where(Area.jurisdiction_pk == jurisdiction_pk)
        .group_by(Area.layer)
        .order_by(Area.layer)
    )
    return list(session.execute(query).mappings())


def jurisdiction_items(
    session: Session,
    *,
    bbox: tuple[float, ...] | None,
    jurisdiction_id: str | None,
    srid: int,
    lat_first: bool,
    limit: int,
    offset: int,
) -> list[sa.RowMapping]:
    query = sa.select(
        Jurisdiction.jurisdiction_id,
        Jurisdiction.name,
        Jurisdiction.parent_id.label("parent"),
        Jurisdiction.timezone,
        geojson_geometry(Jurisdiction.boundary, srid, lat_first).label("geometry"),
    )
    query = _jurisdictions(query, bbox, jurisdiction_id)
    query = query.order_by(Jurisdiction.depth, Jurisdiction.jurisdiction_id)
    return list(session.execute(query.limit(limit).offset(offset)).mappings())


def count_jurisdictions(session: Session, bbox: tuple[float, ...] | None) -> int:
    return session.scalar(_jurisdictions(sa.select(sa.func.count()), bbox, None)) or 0


def _jurisdictions(
    query: sa.Select, bbox: tuple[float, ...] | None, jurisdiction_id: str | None
) -> sa.Select:
    """The jurisdictions collection's condition: what a box crosses, or one by id."""
    query = query.select_from(Jurisdiction)
    if bbox is not None:
        query = query.where(Jurisdiction.boundary.op("&&")(envelope(*bbox)))
    if jurisdiction_id is not None:
        query = query.where(Jurisdiction.jurisdiction_id == jurisdiction_id)
    return query


def service_items(
    session: Session,
    jurisdiction_pk: int,
    *,
    service_code: str | None,
    limit: int,
    offset: int,
) -> list[sa.RowMapping]:
    query = sa.select(
        Service.service_code,
        Service.service_name,
        Service.description,
        Service.group,
        Service.type,
        Service.agency_responsible,
        sa.func.array_to_string(Service.keywords, ",").label("keywords"),
        Service.location_privacy,
    )
    query = _services(query, jurisdiction_pk, service_code)
    query = query.order_by(Service.position, Service.service_code).limit(limit).offset(offset)
    return list(session.execute(query).mappings())


def count_services(session: Session, jurisdiction_pk: int) -> int:
    return session.scalar(_services(sa.select(sa.func.count()), jurisdiction_pk, None)) or 0


def _services(query: sa.Select, jurisdiction_pk: int, service_code: str | None) -> sa.Select:
    """The services collection's condition: the jurisdiction's active services, or one."""
    query = query.select_from(Service).where(
        Service.jurisdiction_pk == jurisdiction_pk, Service.active
    )
    if service_code is not None:
        query = query.where(Service.service_code == service_code)
    return query
