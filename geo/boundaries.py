"""Reading and cleaning jurisdiction boundaries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shapely import make_valid
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union


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


def _geometries(document: dict) -> list[dict]:
    kind = document.get("type")
    if kind == "FeatureCollection":
        return [f.get("geometry") for f in document.get("features") or []]
    if kind == "Feature":
        return [document.get("geometry")]
    return [document]


def read_geojson_boundary(path: Path) -> Boundary:
    """One MultiPolygon from a GeoJSON file (the union of its features), repaired when
    invalid. Refuses empty, non-polygonal or non-WGS84 input with a clear message."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"{path}: cannot read GeoJSON ({exc})") from None
    notes: list[str] = []
    shapes = []
    for index, geometry in enumerate(_geometries(document)):
        if not geometry:
            raise BoundaryError(f"{path}: feature {index} has no geometry")
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise BoundaryError(f"{path}: feature {index} is not a geometry ({exc})") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise BoundaryError(f"{path}: feature {index} is a {geom.geom_type}; a boundary "
                                "must be a Polygon or MultiPolygon")
        if geom.is_empty:
            raise BoundaryError(f"{path}: feature {index} is empty")
        if not geom.is_valid:
            geom = polygonal(make_valid(geom))
            notes.append(f"feature {index} was invalid and has been repaired (make_valid)")
        shapes.append(geom)
    if not shapes:
        raise BoundaryError(f"{path}: no polygon found")
    merged = polygonal(unary_union(shapes)) if len(shapes) > 1 else polygonal(shapes[0])
    if merged.is_empty:
        raise BoundaryError(f"{path}: the boundary is empty")
    minx, miny, maxx, maxy = merged.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BoundaryError(f"{path}: coordinates are not WGS84 longitude/latitude "
                            f"(bounds {merged.bounds})")
    return Boundary(merged, notes)
