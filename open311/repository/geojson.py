"""GeoJSON documents of the boundaries and areas, built by PostGIS."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Area, Jurisdiction


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
