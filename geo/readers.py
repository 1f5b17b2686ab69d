"""Reading boundary and area files: GeoJSON, Shapefile, GeoPackage and TopoJSON.

Whatever the file's format and CRS, features come out in WGS84 longitude/latitude (EPSG:4326,
x = longitude), two-dimensional, as shapely geometries:

- GeoJSON (.geojson, .json) is read with the standard library: it is WGS84 by definition
  (RFC 7946) unless it carries a legacy ``"crs"`` member naming another CRS, which is honoured.
- Shapefile (.shp, a folder holding one, or a .zip holding one, read in place through GDAL's
  /vsizip/) and GeoPackage (.gpkg) are read with pyogrio (GDAL) as WKB plus attribute columns
  and reprojected from the layer's CRS with pyproj.
- TopoJSON (a .json whose type is "Topology", such as the us-atlas files) is decoded here with
  numpy + shapely: quantized, delta-encoded arcs stitched into rings (``~i`` = arc i reversed).

A layer without a CRS is taken as WGS84 only when its coordinates fit longitude/latitude ranges.

`read_features` returns the features as read; `clean_polygonal` checks and repairs one geometry;
`read_boundary` unions a whole file into one MultiPolygon; `read_areas` returns one named area
per feature (neighbourhoods, districts, counties...). Problems raise `GeoReadError`, whose message
is written for the person who supplied the file. A leaf: imports nothing of ours but geo.boundaries.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    shape,
)
from shapely.geometry.base import BaseGeometry

from geo.boundaries import Boundary, BoundaryError, polygonal

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_FORMATS",
    "Area",
    "Feature",
    "GeoReadError",
    "clean_polygonal",
    "read_areas",
    "read_boundary",
    "read_features",
    "read_topojson",
]

SUPPORTED_FORMATS = (".geojson", ".json", ".shp", ".zip", ".gpkg")
_SUPPORTED = (
    " ".join(SUPPORTED_FORMATS)
    + " (GeoJSON or TopoJSON; Shapefile, a folder or .zip holding one; GeoPackage)"
)
_GEOJSON_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
_WGS84 = CRS.from_epsg(4326)


class GeoReadError(BoundaryError):
    """A file, layer, field or geometry that cannot be used; the message says which and why.

    A ValueError (through BoundaryError, so callers of geo.boundaries catch it too)."""


@dataclass
class Feature:
    """One feature as read: geometry in WGS84 lon/lat (2D), or None when the feature has none."""

    id: str | None
    name: str | None
    properties: dict[str, Any]
    geometry: BaseGeometry | None


@dataclass
class Area:
    """One named, cleaned polygonal area (a neighbourhood, a district, a county...)."""

    id: str
    name: str
    geometry: MultiPolygon
    notes: list[str] = field(default_factory=list)


@dataclass
class _Layer:
    """What a format reader hands over: geometries still in the layer's own CRS."""

    geometries: list[BaseGeometry | None]
    properties: list[dict[str, Any]]
    native_ids: list[Any]
    fields: list[str]
    crs: CRS | None
    no_crs_hint: str = ""
    lonlat_by_convention: bool = False  # GeoJSON, TopoJSON: no CRS is the norm, not a warning


# -- public API ------------------------------------------------------------------------------------
def read_features(
    path: str | Path,
    *,
    layer: str | None = None,
    name_field: str | None = None,
    id_field: str | None = None,
) -> list[Feature]:
    """The features of a GeoJSON, TopoJSON, Shapefile or GeoPackage file, in WGS84 lon/lat.

    ``layer`` picks a GeoPackage layer, a shapefile (by name, without .shp) in a folder or zip
    holding several, or a TopoJSON object; it is required only when there is a choice.
    ``name_field`` and ``id_field`` name the properties giving `Feature.name` and `Feature.id`;
    a dotted name ("metadata.name") reaches into a nested object. Without ``id_field`` the id is
    the feature's own GeoJSON/TopoJSON "id" member (None for other formats); ``id_field="id"``
    also falls back to that member when there is no "id" property. A field that no feature has
    is an error listing the fields there are; a feature with a null or blank value gets None."""
    path = Path(path)
    source = _read_source(path, layer)
    geometries = _to_wgs84(path, source)
    return _features(path, source, geometries, name_field, id_field)


def read_topojson(
    path: str | Path,
    object_name: str,
    *,
    name_field: str | None = None,
    id_field: str | None = None,
) -> list[Feature]:
    """The features of one object of a TopoJSON topology (e.g. "counties" in us-atlas)."""
    path = Path(path)
    document = _load_json(path)
    if document.get("type") != "Topology":
        raise GeoReadError(f"{path}: not a TopoJSON topology (type {document.get('type')!r})")
    source = _topology_layer(path, document, object_name)
    return _features(path, source, _to_wgs84(path, source), name_field, id_field)


def clean_polygonal(
    geometry: BaseGeometry | None, label: str | int
) -> tuple[MultiPolygon, list[str]]:
    """``geometry`` as one valid 2D MultiPolygon, with notes on what was repaired.

    Refuses a missing, empty or non-polygonal geometry (Point, LineString, GeometryCollection...)
    naming the feature (``label``: its name, or its index) and the geometry type. An invalid
    geometry is repaired with shapely.make_valid, keeping only the polygonal parts (make_valid may
    turn a collapsed ring into a line); refused when no area is left."""
    what = f"feature {label!r}"
    if geometry is None:
        raise GeoReadError(f"{what} has no geometry")
    kind = geometry.geom_type
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoReadError(
            f"{what} is a {kind}; a boundary or area must be a Polygon or MultiPolygon"
        )
    if geometry.is_empty:
        raise GeoReadError(f"{what} is an empty {kind}")
    if shapely.has_z(geometry):
        geometry = shapely.force_2d(geometry)
    if geometry.is_valid:
        return _on_grid(polygonal(geometry), what), []
    reason = shapely.is_valid_reason(geometry)
    try:
        repaired = _make_valid(geometry)
    except shapely.errors.GEOSException as exc:
        raise GeoReadError(f"{what} is invalid ({reason}) and cannot be repaired ({exc})") from None
    if repaired.is_empty:
        raise GeoReadError(
            f"{what} is invalid ({reason}) and has no area left after repair (make_valid)"
        )
    return _on_grid(repaired, what), [
        f"{what} was invalid ({reason}) and has been repaired (make_valid)"
    ]


# Stored and published coordinates have 7 decimals (about 1 cm): snapping to that grid here
# (GEOS keeps the result valid) means rounding on output can never make a ring degenerate.
GRID = 1e-7


def _on_grid(geometry: MultiPolygon, what: str) -> MultiPolygon:
    snapped = polygonal(shapely.set_precision(geometry, GRID))
    if snapped.is_empty:
        raise GeoReadError(f"{what} has no area left at a 1e-7 degree precision")
    return snapped


def _make_valid(geometry: Polygon | MultiPolygon) -> MultiPolygon:
    """The polygonal part of shapely.make_valid(geometry), as one valid MultiPolygon."""
    try:
        repaired = polygonal(shapely.make_valid(geometry))
    except shapely.errors.GEOSException:
        # GEOS refuses some inputs whole ("Overlay input is mixed-dimension": a MultiPolygon
        # with a part collapsed to a point, as quantized TopoJSON has): repair part by part.
        parts = [polygonal(shapely.make_valid(part)) for part in shapely.get_parts(geometry)]
        repaired = polygonal(shapely.union_all([part for part in parts if not part.is_empty]))
    if not repaired.is_valid:  # polygonal parts side by side in a collection: merge them
        repaired = polygonal(shapely.union_all(repaired.geoms))
    return repaired


def read_boundary(path: str | Path, **kw: Any) -> Boundary:
    """All the features of a file, cleaned and unioned into one MultiPolygon, with notes.

    Keywords as for `read_features` (``layer``; ``name_field`` names features in notes)."""
    path = Path(path)
    features = read_features(path, **kw)
    if not features:
        raise GeoReadError(f"{path}: no feature found; a boundary needs at least one polygon")
    parts: list[MultiPolygon] = []
    notes: list[str] = []
    for index, feature in enumerate(features):
        geometry, feature_notes = _clean(
            path, feature.geometry, feature.name if feature.name else index
        )
        parts.append(geometry)
        notes.extend(feature_notes)
    merged = parts[0] if len(parts) == 1 else polygonal(shapely.union_all(parts))
    if merged.is_empty:
        raise GeoReadError(f"{path}: the boundary is empty")
    return Boundary(merged, notes)


def read_areas(
    path: str | Path,
    *,
    name_field: str,
    id_field: str | None = None,
    where: dict[str, Any] | None = None,
    **kw: Any,
) -> list[Area]:
    """One cleaned `Area` per feature, named by ``name_field``, identified by ``id_field``
    (default: the name). A feature without a name (or id) and duplicate ids are errors.
    ``where`` keeps only the features whose properties (dotted paths) equal the values."""
    path = Path(path)
    features = read_features(path, name_field=name_field, id_field=id_field, **kw)
    if where:
        features = [
            f
            for f in features
            if all(
                _text(_lookup(f.properties, key, None)) == _text(value)
                for key, value in where.items()
            )
        ]
        if not features:
            raise GeoReadError(f"{path}: no feature matches {where}")
    if not features:
        raise GeoReadError(f"{path}: no feature found")
    unnamed = [index for index, feature in enumerate(features) if feature.name is None]
    if unnamed:
        raise GeoReadError(f"{path}: {_which(unnamed)} no name (field {name_field!r})")
    if id_field is not None:
        missing = [index for index, feature in enumerate(features) if feature.id is None]
        if missing:
            raise GeoReadError(f"{path}: {_which(missing)} no id (field {id_field!r})")
    # Every feature has a name, and an id when id_field is given (checked above).
    ids = [str(feature.id if id_field is not None else feature.name) for feature in features]
    duplicates = sorted(key for key, count in Counter(ids).items() if count > 1)
    if duplicates:
        source = f"field {id_field!r}" if id_field else f"the names (field {name_field!r})"
        raise GeoReadError(
            f"{path}: duplicate ids from {source}: "
            f"{', '.join(repr(key) for key in duplicates)}"
            + ("" if id_field else "; give an id_field with unique values")
        )
    areas = []
    for feature, area_id in zip(features, ids, strict=True):
        name = str(feature.name)
        geometry, notes = _clean(path, feature.geometry, name)
        areas.append(Area(area_id, name, geometry, notes))
    return areas


# -- formats ---------------------------------------------------------------------------------------
def _read_source(path: Path, layer: str | None) -> _Layer:
    if path.is_dir():
        return _read_ogr(path, layer)
    if not path.exists():
        raise GeoReadError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        document = _load_json(path)
        if document.get("type") == "Topology":
            return _topology_layer(path, document, layer)
        if layer is not None:
            raise GeoReadError(
                f"{path}: a GeoJSON file has a single layer; layer={layer!r} does not apply"
            )
        return _geojson_layer(path, document)
    if suffix in (".shp", ".zip", ".gpkg"):
        return _read_ogr(path, layer)
    raise GeoReadError(
        f"{path}: unknown format {suffix or '(no extension)'!r}; supported: {_SUPPORTED}"
    )


def _load_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeoReadError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(document, dict):
        raise GeoReadError(
            f"{path}: not a GeoJSON or TopoJSON object (the file holds a JSON "
            f"{type(document).__name__})"
        )
    return document


def _geojson_layer(path: Path, document: dict[str, Any]) -> _Layer:
    kind = document.get("type")
    if kind == "FeatureCollection":
        items = document.get("features")
        if not isinstance(items, list):
            raise GeoReadError(f"{path}: the FeatureCollection has no 'features' list")
    elif kind == "Feature":
        items = [document]
    elif kind in _GEOJSON_TYPES:
        items = [{"type": "Feature", "geometry": document}]
    else:
        raise GeoReadError(
            f"{path}: not GeoJSON (type {kind!r}; expected FeatureCollection, "
            "Feature or a geometry)"
        )
    geometries, properties, ids = [], [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise GeoReadError(f"{path}: feature {index} is not a JSON object")
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            raise GeoReadError(f"{path}: feature {index} has properties that are not an object")
        properties.append(props)
        ids.append(item.get("id"))
        geometries.append(_geojson_geometry(path, index, item.get("geometry")))
    crs = _legacy_crs(path, document.get("crs"))
    return _Layer(
        geometries,
        properties,
        ids,
        _field_names(properties, ids),
        crs,
        no_crs_hint="GeoJSON is WGS84 longitude/latitude (RFC 7946); a file in "
        'another CRS must name it in a "crs" member, or be reprojected',
        lonlat_by_convention=True,
    )


def _geojson_geometry(path: Path, index: int, geometry: Any) -> BaseGeometry | None:
    if geometry is None:
        return None
    try:
        geom = shape(geometry)
    except (
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
        shapely.errors.ShapelyError,
    ) as exc:
        raise GeoReadError(
            f"{path}: feature {index} has an unreadable geometry ({type(exc).__name__}: {exc})"
        ) from None
    return shapely.force_2d(geom) if shapely.has_z(geom) else geom


def _legacy_crs(path: Path, member: Any) -> CRS | None:
    """The CRS named by a GeoJSON 2008 "crs" member ("name" or "EPSG" type), or None."""
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    kind = member.get("type") if isinstance(member, dict) else None
    if not isinstance(props, dict):
        raise GeoReadError(f'{path}: unreadable "crs" member {member!r}')
    if kind == "name" and props.get("name"):
        value = props["name"]
    elif kind == "EPSG" and props.get("code"):
        value = f"EPSG:{props['code']}"
    else:
        raise GeoReadError(
            f'{path}: unsupported "crs" member {member!r} (only the "name" '
            'and "EPSG" types are understood)'
        )
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise GeoReadError(f'{path}: unknown CRS {value!r} in the "crs" member ({exc})') from None


def _read_ogr(path: Path, layer: str | None) -> _Layer:
    """Shapefile (file, folder, zip) or GeoPackage through pyogrio: WKB + attribute columns."""
    if path.is_dir():
        members = sorted(p.name for p in path.iterdir() if p.suffix.lower() == ".shp")
        if not members:
            raise GeoReadError(
                f"{path}: the folder holds no shapefile (.shp); supported: {_SUPPORTED}"
            )
        member = _pick(path, {Path(m).stem: m for m in members}, layer, "shapefiles")
        dataset, layer_name = str(path / member), None
    elif path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (OSError, zipfile.BadZipFile) as exc:
            raise GeoReadError(f"{path}: cannot read the zip archive ({exc})") from None
        members = sorted(
            n for n in names if n.lower().endswith(".shp") and not n.startswith("__MACOSX/")
        )
        if not members:
            raise GeoReadError(
                f"{path}: the zip archive holds no shapefile (.shp); it holds: "
                f"{', '.join(names) or 'nothing'}"
            )
        member = _pick(path, {Path(m).stem: m for m in members}, layer, "shapefiles")
        dataset, layer_name = f"/vsizip/{path.resolve()}/{member}", None
    elif path.suffix.lower() == ".shp":
        _pick(path, {path.stem: path.name}, layer, "shapefiles")
        dataset, layer_name = str(path), None
    else:  # .gpkg
        try:
            listed = pyogrio.list_layers(path)
        except (pyogrio.errors.DataSourceError, RuntimeError) as exc:
            raise GeoReadError(f"{path}: cannot read as GeoPackage ({exc})") from None
        spatial = {str(name): str(name) for name, kind in listed if kind}
        layer_name = _pick(path, spatial, layer, "layers")
        dataset = str(path)
    try:
        meta, _, wkb, columns = pyogrio.raw.read(
            dataset, layer=layer_name, force_2d=True, datetime_as_string=True
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, RuntimeError) as exc:
        raise GeoReadError(f"{path}: cannot read ({exc})") from None
    try:
        geometries = list(shapely.from_wkb(wkb)) if len(wkb) else []
    except shapely.errors.ShapelyError as exc:
        raise GeoReadError(f"{path}: unreadable geometry ({exc})") from None
    names = [str(name) for name in meta["fields"]]
    values = [_column(column) for column in columns]
    properties = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    if not names:
        properties = [{} for _ in geometries]
    crs = None
    if meta.get("crs"):
        try:
            crs = CRS.from_user_input(meta["crs"])
        except CRSError as exc:
            raise GeoReadError(f"{path}: unknown CRS {meta['crs']!r} ({exc})") from None
    hint = "a shapefile gives its CRS in its .prj file" if dataset.lower().endswith(".shp") else ""
    return _Layer(geometries, properties, [None] * len(geometries), names, crs, no_crs_hint=hint)


def _pick(path: Path, choices: dict[str, str], layer: str | None, what: str) -> str:
    """The one choice, or the one named by ``layer``; errors list the choices."""
    listing = ", ".join(repr(name) for name in choices)
    if layer is None:
        if len(choices) == 1:
            return next(iter(choices.values()))
        if not choices:
            raise GeoReadError(f"{path}: no {what} with geometries found")
        raise GeoReadError(
            f"{path}: holds {len(choices)} {what} ({listing}); pass layer= to pick one"
        )
    if layer not in choices:
        raise GeoReadError(f"{path}: no layer {layer!r}; {what}: {listing}")
    return choices[layer]


def _column(column: np.ndarray) -> list[Any]:
    """One attribute column as Python values, nulls (masked, NaN) as None."""
    mask = np.ma.getmaskarray(column) if np.ma.isMaskedArray(column) else None
    values = np.asarray(column).tolist()
    if column.dtype.kind == "f":
        values = [None if v is not None and math.isnan(v) else v for v in values]
    if mask is not None:
        values = [None if masked else v for v, masked in zip(values, mask, strict=True)]
    return values


# -- TopoJSON --------------------------------------------------------------------------------------
def _topology_layer(path: Path, topology: dict[str, Any], object_name: str | None) -> _Layer:
    objects = topology.get("objects")
    if not isinstance(objects, dict) or not objects:
        raise GeoReadError(f"{path}: the topology has no objects")
    name = _pick(path, {str(k): str(k) for k in objects}, object_name, "TopoJSON objects")
    obj = objects[name]
    if not isinstance(obj, dict):
        raise GeoReadError(f"{path}: TopoJSON object {name!r} is not a JSON object")
    decoder = _TopoDecoder(path, topology)
    items = obj.get("geometries") if obj.get("type") == "GeometryCollection" else [obj]
    if not isinstance(items, list):
        raise GeoReadError(f"{path}: TopoJSON object {name!r} has no 'geometries' list")
    geometries, properties, ids = [], [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise GeoReadError(f"{path}: {name}[{index}] is not a JSON object")
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            raise GeoReadError(f"{path}: {name}[{index}] has properties that are not an object")
        try:
            geometries.append(decoder.geometry(item))
        except (ValueError, TypeError, KeyError, IndexError, shapely.errors.ShapelyError) as exc:
            raise GeoReadError(
                f"{path}: {name}[{index}] (id {item.get('id')!r}) cannot be "
                f"decoded ({type(exc).__name__}: {exc})"
            ) from None
        properties.append(props)
        ids.append(item.get("id"))
    return _Layer(
        geometries,
        properties,
        ids,
        _field_names(properties, ids),
        None,
        no_crs_hint="this topology is projected (TopoJSON carries no CRS); use an "
        "unprojected (longitude/latitude) topology",
        lonlat_by_convention=True,
    )


class _TopoDecoder:
    """Arcs decoded once (de-quantized, delta-decoded), then stitched into geometries."""

    def __init__(self, path: Path, topology: dict[str, Any]) -> None:
        transform = topology.get("transform")
        self.scale = self.translate = None
        if transform is not None:
            try:
                self.scale = np.asarray(transform["scale"], dtype=float)[:2]
                self.translate = np.asarray(transform["translate"], dtype=float)[:2]
            except (KeyError, TypeError, ValueError) as exc:
                raise GeoReadError(f"{path}: unreadable TopoJSON transform ({exc})") from None
        self.arcs: list[np.ndarray] = []
        for index, arc in enumerate(topology.get("arcs") or []):
            try:
                positions = np.array([p[:2] for p in arc], dtype=float).reshape(-1, 2)
            except (TypeError, ValueError) as exc:
                raise GeoReadError(f"{path}: TopoJSON arc {index} is unreadable ({exc})") from None
            if self.scale is not None:  # quantized: delta-encoded integers, then scaled
                positions = np.cumsum(positions, axis=0) * self.scale + self.translate
            self.arcs.append(positions)

    def point(self, position: Sequence[float]) -> np.ndarray:
        xy = np.asarray(position[:2], dtype=float)
        return xy * self.scale + self.translate if self.scale is not None else xy

    def line(self, indices: Sequence[int]) -> np.ndarray:
        """Arcs joined end to start (each arc starts where the previous ended: drop the
        repeated point); a negative index ~i is arc i reversed."""
        parts = []
        for k, i in enumerate(indices):
            arc = self.arcs[i] if i >= 0 else self.arcs[~i][::-1]
            parts.append(arc if k == 0 else arc[1:])
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def ring(self, indices: Sequence[int]) -> np.ndarray:
        """A closed ring. One that quantization collapsed (A, B, A) is kept, padded to the 4
        positions shapely needs: an invalid ring that clean_polygonal reports and repairs."""
        coords = self.line(indices)
        if 0 < len(coords) < 4:
            coords = np.concatenate([coords, np.repeat(coords[-1:], 4 - len(coords), axis=0)])
        return coords

    def polygon(self, rings: Sequence[Sequence[int]]) -> Polygon:
        """First ring the shell, the others holes (as in GeoJSON)."""
        coords = [c for c in (self.ring(indices) for indices in rings) if len(c)]
        return Polygon(coords[0], coords[1:]) if coords else Polygon()

    def geometry(self, item: dict[str, Any]) -> BaseGeometry | None:
        kind = item.get("type")
        if kind is None:
            return None
        if kind == "Polygon":
            return self.polygon(item["arcs"])
        if kind == "MultiPolygon":
            return MultiPolygon([p for p in map(self.polygon, item["arcs"]) if not p.is_empty])
        if kind == "LineString":
            return LineString(self.line(item["arcs"]))
        if kind == "MultiLineString":
            return MultiLineString([self.line(arcs) for arcs in item["arcs"]])
        if kind == "Point":
            return Point(self.point(item["coordinates"]))
        if kind == "MultiPoint":
            return MultiPoint([self.point(p) for p in item["coordinates"]])
        if kind == "GeometryCollection":
            parts = [self.geometry(g) for g in item.get("geometries") or []]
            return GeometryCollection([g for g in parts if g is not None])
        raise ValueError(f"unknown geometry type {kind!r}")


# -- CRS -------------------------------------------------------------------------------------------
def _to_wgs84(path: Path, source: _Layer) -> list[BaseGeometry | None]:
    """The layer's geometries in WGS84 lon/lat; refuses coordinates that cannot be lon/lat."""
    geometries = np.array(source.geometries, dtype=object)
    if not len(geometries):
        return []
    crs = source.crs
    if crs is None:
        if not _lonlat(geometries):
            raise GeoReadError(
                f"{path}: no CRS and the coordinates are not longitude/latitude "
                f"(bounds {_bounds(geometries)})"
                + (f"; {source.no_crs_hint}" if source.no_crs_hint else "")
            )
        if not source.lonlat_by_convention:
            logger.warning(
                "%s has no CRS; its coordinates fit longitude/latitude: taken as WGS84", path
            )
        return list(geometries)
    if crs.equals(_WGS84, ignore_axis_order=True):
        result = geometries
    else:
        try:
            transformer = Transformer.from_crs(crs, _WGS84, always_xy=True)
            result = shapely.transform(
                geometries,
                lambda xy: np.column_stack(
                    transformer.transform(xy[:, 0], xy[:, 1], errcheck=True)
                ),
            )
        except ProjError as exc:
            raise GeoReadError(
                f"{path}: cannot reproject from {_crs_name(crs)} to WGS84 ({exc})"
            ) from None
    if not _lonlat(result):
        raise GeoReadError(
            f"{path}: the coordinates in {_crs_name(crs)} do not give WGS84 "
            f"longitude/latitude (bounds after reprojection {_bounds(result)}); "
            "is the declared CRS right?"
        )
    return list(result)


def _lonlat(geometries: np.ndarray) -> bool:
    minx, miny, maxx, maxy = shapely.total_bounds(geometries)
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))):  # nothing but empty geometries
        return bool(np.all(shapely.is_empty(geometries) | shapely.is_missing(geometries)))
    eps = 1e-9
    return -180 - eps <= minx and maxx <= 180 + eps and -90 - eps <= miny and maxy <= 90 + eps


def _bounds(geometries: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in shapely.total_bounds(geometries))


def _crs_name(crs: CRS) -> str:
    authority = crs.to_authority()
    return f"{authority[0]}:{authority[1]} ({crs.name})" if authority else crs.name


# -- fields ----------------------------------------------------------------------------------------
def _features(
    path: Path,
    source: _Layer,
    geometries: list[BaseGeometry | None],
    name_field: str | None,
    id_field: str | None,
) -> list[Feature]:
    for wanted in (name_field, id_field):
        if wanted is not None and source.properties and wanted not in source.fields:
            raise GeoReadError(
                f"{path}: no field {wanted!r}; the fields are: "
                f"{', '.join(source.fields) or '(none)'}"
            )
    features = []
    for props, native, geometry in zip(
        source.properties, source.native_ids, geometries, strict=True
    ):
        name = _text(_lookup(props, name_field, native)) if name_field else None
        fid = _text(_lookup(props, id_field, native)) if id_field else _text(native)
        features.append(Feature(fid, name, props, geometry))
    return features


def _lookup(props: dict[str, Any], name: str, native: Any) -> Any:
    """props[name]; a dotted name walks nested objects; "id" falls back to the feature's id."""
    if name in props:
        return props[name]
    value: Any = props
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return native if name == "id" else None
        value = value[part]
    return value


def _field_names(properties: list[dict[str, Any]], native_ids: list[Any]) -> list[str]:
    """Every property name in use, nested ones dotted ("metadata.name"), plus "id" if used."""
    names: dict[str, None] = {}

    def walk(obj: dict[str, Any], prefix: str) -> None:
        for key, value in obj.items():
            names[prefix + str(key)] = None
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")

    for props in properties:
        walk(props, "")
    if any(native is not None for native in native_ids):
        names.setdefault("id", None)
    return list(names)


def _text(value: Any) -> str | None:
    """A property value as a name or id: None for null/blank/NaN, 12.0 -> "12"."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    text = str(value).strip()
    return text or None


def _which(indices: list[int]) -> str:
    shown = ", ".join(map(str, indices[:20])) + (", ..." if len(indices) > 20 else "")
    return (
        f"feature {shown} has" if len(indices) == 1 else f"{len(indices)} features ({shown}) have"
    )


def _clean(
    path: Path, geometry: BaseGeometry | None, label: str | int
) -> tuple[MultiPolygon, list[str]]:
    try:
        return clean_polygonal(geometry, label)
    except GeoReadError as exc:
        raise GeoReadError(f"{path}: {exc}") from None
