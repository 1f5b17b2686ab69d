"""SQL expressions of points and boxes in WGS84, as every query builds them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geography

from open311.models.base import WGS84

# Metres on the spheroid: cast to this (a bare Geography casts to SRID -1).
GEOGRAPHY = Geography(srid=WGS84)


def point(long: Any, lat: Any) -> sa.ColumnElement:
    """A WGS84 point; x is the longitude (values or bound parameters)."""
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(long, lat), WGS84)


def envelope(min_long: Any, min_lat: Any, max_long: Any, max_lat: Any) -> sa.ColumnElement:
    """A WGS84 box."""
    return sa.func.ST_MakeEnvelope(min_long, min_lat, max_long, max_lat, WGS84)


def as_geography(geometry: Any) -> sa.ColumnElement:
    return sa.cast(geometry, GEOGRAPHY)
