"""Boundaries: the cleaned MultiPolygon a jurisdiction or area is stored as (read by
``geo.readers``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry


class BoundaryError(ValueError):
    pass


@dataclass
class Boundary:
    geometry: MultiPolygon
    notes: list[str] = field(default_factory=list)


def polygonal(geometry: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of a geometry as one MultiPolygon (lines and points dropped)."""
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon):
        return geometry
    parts: list[Polygon] = []
    for part in getattr(geometry, "geoms", []):
        if isinstance(part, Polygon | MultiPolygon):
            parts.extend(polygonal(part).geoms)
    return MultiPolygon(parts)
