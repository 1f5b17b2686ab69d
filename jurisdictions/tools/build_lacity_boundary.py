#!/usr/bin/env python3
"""Build jurisdictions/lacity.org/boundary.geojson from the 15 LA City council districts (2012).

The City of Los Angeles boundary is derived, not drawn: it is the union of the city's 15 council
districts, which together cover the whole city and nothing else.

Steps (deterministic: the same input always gives the same output bytes):

1. read the council-district FeatureCollection (WGS84 lon/lat), in file order;
2. ``make_valid`` each district and keep only its polygonal parts;
3. ``unary_union`` them;
4. drop union artefacts that are tiny: interior rings (holes) and polygon parts smaller than
   ``--min-area`` square degrees (default 1e-6, about 0.01 km^2 at LA's latitude);
5. round every coordinate to 7 decimals (about 1 cm); if the rounded geometry is not valid,
   ``make_valid`` it again, keep only the polygonal parts and snap it back onto the 1e-7 grid;
6. normalise (canonical ring start / part order) and orient it per RFC 7946 (exterior rings
   counter-clockwise, holes clockwise);
7. write a FeatureCollection with exactly one Feature whose geometry is always a MultiPolygon,
   then read the written file back and check that it parses to a valid MultiPolygon.

Afterwards it prints the vertex count and the area and runs the sanity checks (known points inside
and outside the city, and the share of real MyLA311 records that fall inside). A failed point
check makes the script exit with status 1.

Usage (from the repository root)::

    python jurisdictions/tools/build_lacity_boundary.py \
        [INPUT] [OUTPUT] [--min-area 1e-6] [--records CSV | --no-records]

INPUT defaults to ``../shared/data/la/la_city_council_districts_2012.geojson`` and OUTPUT to
``jurisdictions/lacity.org/boundary.geojson``, both relative to the repository root (the folder two
levels above this script), so the script may be run from any working directory.

Needs shapely >= 2.0 (and numpy, which shapely brings).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import unary_union
from shapely.validation import explain_validity, make_valid

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_LA = REPO_ROOT.parent / "shared" / "data" / "la"
DEFAULT_INPUT = SHARED_LA / "la_city_council_districts_2012.geojson"
DEFAULT_OUTPUT = REPO_ROOT / "jurisdictions" / "lacity.org" / "boundary.geojson"
DEFAULT_RECORDS = SHARED_LA / "myla311_2018_jan_10k.csv"

NAME = "City of Los Angeles"
SOURCE = "la_city_council_districts_2012"
DECIMALS = 7
GRID = 10.0 ** -DECIMALS
DEFAULT_MIN_AREA = 1e-6  # square degrees: drops the 93 slivers between districts

# (label, lat, long, expected inside?)
# Boundary points count as inside (shared/spec/decisions.md), hence covers().
SANITY_POINTS = [
    ("LA City Hall", 34.0537, -118.2428, True),
    ("Santa Monica (separate city)", 34.0195, -118.4912, False),
    ("Beverly Hills (separate city)", 34.0736, -118.4004, False),
    ("Long Beach (separate city)", 33.7701, -118.1937, False),
    ("MyLA311 record 1-870704814 (2018, Bulky Items)", 34.0676390557, -118.294017712, True),
]

EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG)


def polygonal_parts(geom) -> list[Polygon]:
    """All non-empty Polygons inside geom (Polygon, MultiPolygon or GeometryCollection)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return [p for p in geom.geoms if not p.is_empty]
    if hasattr(geom, "geoms"):  # GeometryCollection: lines/points from make_valid are dropped
        out: list[Polygon] = []
        for g in geom.geoms:
            out.extend(polygonal_parts(g))
        return out
    return []


def to_multipolygon(polys: list[Polygon]) -> MultiPolygon:
    return MultiPolygon([p for p in polys if not p.is_empty])


def drop_tiny(geom, min_area: float) -> tuple[MultiPolygon, int, int]:
    """Remove holes and polygon parts smaller than min_area (square degrees)."""
    holes_dropped = parts_dropped = 0
    kept: list[Polygon] = []
    for poly in polygonal_parts(geom):
        if poly.area < min_area:
            parts_dropped += 1
            continue
        holes = []
        for ring in poly.interiors:
            if Polygon(ring).area < min_area:
                holes_dropped += 1
            else:
                holes.append(ring)
        kept.append(Polygon(poly.exterior, holes))
    return to_multipolygon(kept), holes_dropped, parts_dropped


def round_coords(geom):
    return shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))


def finish(geom) -> MultiPolygon:
    """Canonical part/ring order, RFC 7946 orientation, always a MultiPolygon."""
    geom = shapely.normalize(to_multipolygon(polygonal_parts(geom)))
    return MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])


def ring_area_m2(coords) -> float:
    """Area of a lon/lat ring on the sphere.

    Chamberlain & Duquette (2007), the formula mapbox/geojson-area uses.
    """
    total = 0.0
    n = len(coords)
    if n < 3:
        return 0.0
    for i in range(n - 1):
        lon1, lat1 = coords[i]
        lon2, lat2 = coords[i + 1]
        sin1, sin2 = math.sin(math.radians(lat1)), math.sin(math.radians(lat2))
        total += math.radians(lon2 - lon1) * (2 + sin1 + sin2)
    return abs(total * EARTH_RADIUS_M ** 2 / 2.0)


def area_km2(geom: MultiPolygon) -> float:
    m2 = 0.0
    for poly in geom.geoms:
        m2 += ring_area_m2(list(poly.exterior.coords))
        for ring in poly.interiors:
            m2 -= ring_area_m2(list(ring.coords))
    return m2 / 1e6


def build(input_path: Path, min_area: float) -> tuple[MultiPolygon, dict]:
    with open(input_path, encoding="utf-8") as fh:
        fc = json.load(fh)
    features = fc.get("features") or []
    if not features:
        raise SystemExit(f"{input_path}: no features")

    districts = []
    invalid_inputs = []
    for feat in features:
        geom = shape(feat["geometry"])
        if not geom.is_valid:
            invalid_inputs.append((feat.get("properties", {}).get("name"), explain_validity(geom)))
        districts.append(to_multipolygon(polygonal_parts(make_valid(geom))))

    union = unary_union(districts)
    stats = {
        "districts": len(features),
        "invalid_inputs": invalid_inputs,
        "union_type": union.geom_type,
        "union_holes": sum(len(p.interiors) for p in polygonal_parts(union)),
    }

    geom, holes_dropped, parts_dropped = drop_tiny(union, min_area)
    stats["holes_dropped"] = holes_dropped
    stats["parts_dropped"] = parts_dropped

    rounded = round_coords(geom)
    stats["valid_after_rounding"] = bool(rounded.is_valid)
    if not rounded.is_valid:
        stats["rounding_problem"] = explain_validity(rounded)
        repaired = to_multipolygon(polygonal_parts(make_valid(rounded)))
        # make_valid may add intersection nodes off the grid: snap back (valid output guaranteed).
        repaired = shapely.set_precision(repaired, GRID)
        rounded = round_coords(to_multipolygon(polygonal_parts(repaired)))
    # Dropping holes and rounding again cannot create a new tiny artefact that matters, but make
    # sure: re-apply the filter on the final geometry.
    rounded, h2, p2 = drop_tiny(rounded, min_area)
    stats["holes_dropped"] += h2
    stats["parts_dropped"] += p2
    final = finish(round_coords(rounded))
    if not final.is_valid:
        raise SystemExit(f"result is not valid: {explain_validity(final)}")
    return final, stats


def feature_collection(geom: MultiPolygon) -> dict:
    coords = mapping(geom)["coordinates"]

    def clean(obj):
        if isinstance(obj, (list, tuple)):
            if obj and isinstance(obj[0], (int, float)):
                return [round(float(v), DECIMALS) + 0.0 for v in obj]  # + 0.0 turns -0.0 into 0.0
            return [clean(o) for o in obj]
        raise TypeError(obj)

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": NAME, "source": SOURCE},
                "geometry": {"type": "MultiPolygon", "coordinates": clean(coords)},
            }
        ],
    }


def write(fc: dict, output_path: Path) -> None:
    output_path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed key order (insertion order above), one compact line per polygon ring, "\n" line ends.
    feat = fc["features"][0]
    polys = feat["geometry"]["coordinates"]
    dump = lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False)  # noqa: E731
    lines = [
        '{"type":"FeatureCollection","features":[',
        '{"type":"Feature","properties":' + dump(feat["properties"]) + ',',
        '"geometry":{"type":"MultiPolygon","coordinates":[',
    ]
    for i, poly in enumerate(polys):
        rings = [dump(ring) for ring in poly]
        lines.append("[" + ",\n".join(rings) + "]" + ("," if i < len(polys) - 1 else ""))
    lines.append("]}}]}")
    with open(output_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


def read_back(output_path: Path) -> MultiPolygon:
    with open(output_path, encoding="utf-8") as fh:
        fc = json.load(fh)
    assert fc["type"] == "FeatureCollection", "expected a FeatureCollection"
    assert len(fc["features"]) == 1, "expected exactly one Feature"
    feat = fc["features"][0]
    assert feat["geometry"]["type"] == "MultiPolygon", "expected a MultiPolygon"
    assert feat["properties"] == {"name": NAME, "source": SOURCE}, feat["properties"]
    geom = shape(feat["geometry"])
    if not geom.is_valid:
        raise SystemExit(f"{output_path}: written geometry is not valid: {explain_validity(geom)}")
    return geom


def point_checks(geom: MultiPolygon) -> bool:
    shapely.prepare(geom)
    ok = True
    print("sanity checks (lat, long; boundary counts as inside):")
    for label, lat, lon, expected in SANITY_POINTS:
        inside = bool(geom.covers(shapely.Point(lon, lat)))
        good = inside == expected
        ok &= good
        where = "inside" if inside else "outside"
        want = "inside" if expected else "outside"
        print(f"  {'ok  ' if good else 'FAIL'} {label} ({lat}, {lon}): {where} (expected {want})")
    return ok


def records_check(geom: MultiPolygon, csv_path: Path) -> None:
    with open(csv_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    lat_key = "Latitude" if rows and "Latitude" in rows[0] else "latitude"
    lon_key = "Longitude" if rows and "Longitude" in rows[0] else "longitude"
    pts = []
    for r in rows:
        try:
            lat, lon = float(r[lat_key]), float(r[lon_key])
        except (TypeError, ValueError):
            continue
        if lat == 0 and lon == 0:
            continue
        pts.append((lon, lat, r))
    shapely.prepare(geom)
    inside = geom.covers(shapely.points([(x, y) for x, y, _ in pts]))
    n_in = int(inside.sum())
    print(f"records: {csv_path.name}: {len(rows)} rows, {len(pts)} with lat/long, "
          f"{n_in} inside = {100.0 * n_in / max(len(pts), 1):.2f}%")
    outside = [pts[i] for i in range(len(pts)) if not inside[i]]
    if outside:
        hull = shapely.MultiPolygon([Polygon(p.exterior) for p in geom.geoms])  # holes filled in
        in_hole = [p for p in outside if hull.covers(shapely.Point(p[0], p[1]))]
        print(f"  outside: {len(outside)} (of which {len(in_hole)} in a hole of the boundary); "
              f"distance to the boundary (m, approx.):")
        for lon, lat, r in outside:
            d_m = geom.distance(shapely.Point(lon, lat)) * 111_000  # rough, degrees -> metres
            sr = r.get("SRNumber", r.get("srnumber", "?"))
            rtype = r.get("RequestType", r.get("requesttype", ""))
            cd = r.get("CD", r.get("cd", ""))
            addr = (r.get("Address") or r.get("address") or "")[:45]
            print(f"    {sr} {rtype:28} {lat:.6f},{lon:.6f} ~{d_m:,.0f} m  CD={cd} {addr}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", type=Path, default=DEFAULT_INPUT,
                    help=f"council districts GeoJSON (default: {DEFAULT_INPUT})")
    ap.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT,
                    help=f"boundary GeoJSON to write (default: {DEFAULT_OUTPUT})")
    ap.add_argument("--min-area", type=float, default=DEFAULT_MIN_AREA,
                    help="drop union holes/parts smaller than this many square degrees "
                         "(default 1e-10)")
    ap.add_argument("--records", type=Path, default=DEFAULT_RECORDS,
                    help="MyLA311 CSV whose lat/long points are checked against the result "
                         "(default: the 2018 sample; skipped if missing)")
    ap.add_argument("--no-records", action="store_true", help="skip the records check")
    args = ap.parse_args(argv)

    geom, stats = build(args.input, args.min_area)
    write(feature_collection(geom), args.output)
    geom = read_back(args.output)

    n_vertices = shapely.get_num_coordinates(geom)
    n_holes = sum(len(p.interiors) for p in geom.geoms)
    print(f"input: {args.input} ({stats['districts']} districts, "
          f"{len(stats['invalid_inputs'])} invalid before make_valid)")
    for name, why in stats["invalid_inputs"]:
        print(f"  invalid input district {name}: {why}")
    print(f"union: {stats['union_type']} with {stats['union_holes']} holes; dropped "
          f"{stats['holes_dropped']} holes and {stats['parts_dropped']} parts "
          f"< {args.min_area:g} deg2")
    print(f"rounded to {DECIMALS} decimals: valid before repair = {stats['valid_after_rounding']}"
          + (f" ({stats['rounding_problem']}; repaired)" if "rounding_problem" in stats else ""))
    print(f"output: {args.output}")
    print(f"  MultiPolygon, {len(geom.geoms)} polygon(s), {n_holes} hole(s), "
          f"{n_vertices} vertices, valid={geom.is_valid}")
    print(f"  area: {geom.area:.9f} deg2, {area_km2(geom):.1f} km2 (spherical)")
    print(f"  bounds (minLong, minLat, maxLong, maxLat): {tuple(round(b, 7) for b in geom.bounds)}")

    ok = point_checks(geom)
    if not args.no_records:
        if args.records.exists():
            records_check(geom, args.records)
        else:
            print(f"records: {args.records} not found, skipped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
