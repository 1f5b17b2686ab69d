#!/usr/bin/env python3
"""Check the shipped jurisdiction bundles without a database: a data-side dry run of the loader.

For every bundle folder under ``jurisdictions/`` (parents first) it checks, and prints:

- ``jurisdiction.yaml``: only the documented keys; required ones present; the time zone exists;
  languages are BCP 47 tags; the parent is another shipped bundle; every referenced file exists;
- the boundary reads with ``geo.readers.read_boundary`` (any format / CRS), and is valid;
- every areas layer reads with ``geo.readers.read_features`` + the ``where`` filter applied here
  (all keys must match; dotted paths reach into nested properties), every area has a name and an
  id, ids are unique within the layer, every geometry is cleaned with ``clean_polygonal``; counts
  are compared with the expected ones (``EXPECTED_AREAS``);
- how much of each area lies outside the jurisdiction's boundary, and how much of a child's
  boundary lies outside its parent's (m2, in California Albers / NY Long Island State Plane);
- ``addresses``: the columns exist, and the rows as the loader's default id rule
  (``geo.addresses.normalize`` key + ZIP) sees them: unreadable, duplicate, outside the boundary;
- ``services.yaml``: the rules of jurisdictions/README.md (required keys, unique codes, code
  syntax, type, keywords without commas, attribute codes A-Z0-9_, unique positive orders,
  datatypes, booleans, values exactly for list types with unique keys, informational attributes
  not required) plus ``coverage`` (the layer exists in the bundle; ids exist in that layer);
- sanity points (``POINTS``): which bundles' boundaries and areas hold them, and for a few codes
  which jurisdiction the routing rule picks (the deepest one whose boundary covers the point and
  which offers the code there, coverage respected).

Exit status 1 if any check fails. Usage (repository root, the project's virtualenv)::

    .venv/bin/python jurisdictions/tools/check_bundles.py
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import yaml
from pyproj import Transformer
from shapely.geometry import Point

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from geo.addresses import normalize  # noqa: E402
from geo.readers import clean_polygonal, read_boundary, read_features  # noqa: E402

BUNDLES = REPO_ROOT / "jurisdictions"
ORDER = ["lacounty.gov", "lacity.org", "smgov.net", "nyc.gov", "sfgov.org"]  # parents first

KEYS_REQUIRED = {"id", "name", "timezone", "contact", "key_service", "boundary", "services"}
KEYS_OPTIONAL = {"languages", "parent", "areas", "addresses", "settings"}
AREA_KEYS = {"layer", "title", "file", "name_field", "id_field", "layer_in_file", "where"}
ADDRESS_KEYS = {"file", "address_field", "lat_field", "long_field", "zipcode_field", "id_field"}
SETTINGS_KEYS = {"accept_unverified_addresses", "reverse_geocode_distance_m"}
SERVICE_REQUIRED = ["service_code", "service_name", "description", "type", "keywords", "group",
                    "agency_responsible"]
SERVICE_KEYS = set(SERVICE_REQUIRED) | {"service_notice", "attributes", "coverage"}
ATTRIBUTE_KEYS = {"code", "order", "description", "datatype", "required", "variable",
                  "datatype_description", "values"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
LIST_TYPES = {"singlevaluelist", "multivaluelist"}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
ATTRIBUTE_CODE = re.compile(r"^[A-Z0-9_]{1,100}\Z")
LAYER = re.compile(r"^[a-z][a-z0-9_]*\Z")
BCP47 = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*\Z")

EXPECTED_AREAS = {
    ("lacity.org", "council_district"): 15,
    ("lacity.org", "neighborhood_council"): 99,
    ("lacity.org", "region"): 7,
    ("lacounty.gov", "city"): 87,
    ("lacounty.gov", "unincorporated"): 69,
    ("lacounty.gov", "region"): 16,
    ("nyc.gov", "borough"): 5,
    ("sfgov.org", "neighborhood"): 37,
}

# (label, lat, long, bundles whose boundary must cover it, {bundle: {layer: area id}} expected)
POINTS = [
    ("LA City Hall", 34.0537, -118.2428, {"lacity.org", "lacounty.gov"},
     {"lacity.org": {"council_district": "14", "region": "central"}}),
    ("Santa Monica Pier", 34.0094, -118.4973, {"smgov.net", "lacounty.gov"},
     {"lacounty.gov": {"city": "santa-monica", "region": "westside"}}),
    ("East Los Angeles (unincorporated)", 34.0239, -118.1720, {"lacounty.gov"},
     {"lacounty.gov": {"unincorporated": "east-los-angeles"}}),
    ("Marina del Rey (unincorporated)", 33.9807, -118.4397, {"lacounty.gov"},
     {"lacounty.gov": {"unincorporated": "marina-del-rey"}}),
    ("Empire State Building", 40.7484, -73.9857, {"nyc.gov"}, {"nyc.gov": {"borough": "1"}}),
    ("SF City Hall", 37.7793, -122.4193, {"sfgov.org"}, {}),
]
ROUTED_CODES = ["POTHOLE", "ILLEGAL-DUMPING", "VECTOR-CONTROL", "ANIMAL-CARE", "GRAFFITI",
                "MARINA-MAINTENANCE", "HEAT-HOT-WATER", "024"]

PROJ = {  # an equal-area-ish metric CRS per region, for m2 figures
    "lacounty.gov": 3310, "lacity.org": 3310, "smgov.net": 3310, "sfgov.org": 3310,
    "nyc.gov": 2263,
}

problems: list[str] = []


def fail(message: str) -> None:
    problems.append(message)
    print(f"  FAIL {message}")


def lookup(props: dict, dotted: str):
    if dotted in props:
        return props[dotted]
    value = props
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value).strip()
    return value or None


def m2(geom, epsg: int) -> float:
    t = Transformer.from_crs(4326, epsg, always_xy=True)
    factor = 0.3048006096 ** 2 if epsg == 2263 else 1.0  # US survey feet
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))
                             ).area * factor


# -- jurisdiction.yaml -------------------------------------------------------------------------
def check_jurisdiction(folder: Path, doc: dict, known: set[str]) -> None:
    keys = set(doc)
    for k in sorted(KEYS_REQUIRED - keys):
        fail(f"{folder.name}: missing key {k}")
    for k in sorted(keys - KEYS_REQUIRED - KEYS_OPTIONAL):
        fail(f"{folder.name}: unknown key {k}")
    if doc.get("id") != folder.name:
        fail(f"{folder.name}: id {doc.get('id')!r} is not the folder name")
    ZoneInfo(doc["timezone"])
    for tag in doc.get("languages", ["en"]):
        if not BCP47.match(tag):
            fail(f"{folder.name}: language {tag!r} is not a BCP 47 tag")
    if doc.get("parent") and doc["parent"] not in known:
        fail(f"{folder.name}: parent {doc['parent']} is not loaded before it")
    for k in sorted(set(doc.get("settings") or {}) - SETTINGS_KEYS):
        fail(f"{folder.name}: unknown settings key {k}")
    layers = [a.get("layer") for a in doc.get("areas") or []]
    for name in layers:
        if not name or not LAYER.match(name) or layers.count(name) > 1:
            fail(f"{folder.name}: bad or duplicate area layer {name!r}")
    for area in doc.get("areas") or []:
        for k in sorted(set(area) - AREA_KEYS):
            fail(f"{folder.name}: areas.{area.get('layer')}: unknown key {k}")
        for k in ("layer", "title", "file", "name_field"):
            if not area.get(k):
                fail(f"{folder.name}: areas.{area.get('layer')}: missing {k}")
    if doc.get("addresses"):
        for k in sorted(set(doc["addresses"]) - ADDRESS_KEYS):
            fail(f"{folder.name}: addresses: unknown key {k}")
    print(f"  id {doc['id']}, parent {doc.get('parent')}, languages {doc.get('languages', ['en'])},"
          f" timezone {doc['timezone']}, settings {doc.get('settings')}")


def boundary_ref(doc: dict) -> tuple[str, str | None]:
    ref = doc["boundary"]
    return (ref["file"], ref.get("layer")) if isinstance(ref, dict) else (ref, None)


# -- areas ---------------------------------------------------------------------------------------
def read_layer(folder: Path, spec: dict) -> list[tuple[str, str, object]]:
    path = folder / spec["file"]
    features = read_features(path, layer=spec.get("layer_in_file"),
                             name_field=spec["name_field"], id_field=spec.get("id_field"))
    where = spec.get("where") or {}
    kept = [f for f in features
            if all(text(lookup(f.properties, k)) == text(v) for k, v in where.items())]
    areas, notes = [], []
    for f in kept:
        if f.name is None:
            fail(f"{folder.name}: areas.{spec['layer']}: a feature has no name")
            continue
        area_id = f.id if spec.get("id_field") else f.name
        if area_id is None:
            fail(f"{folder.name}: areas.{spec['layer']}: {f.name!r} has no id")
            continue
        geom, fnotes = clean_polygonal(f.geometry, f.name)
        notes += fnotes
        areas.append((area_id, f.name, geom))
    dup = sorted(k for k, n in Counter(a[0] for a in areas).items() if n > 1)
    if dup:
        fail(f"{folder.name}: areas.{spec['layer']}: duplicate ids {dup}")
    print(f"  areas.{spec['layer']}: {len(areas)} of {len(features)} features"
          + (f" (where {where})" if where else "") + f"; e.g. {areas[0][0]!r} = {areas[0][1]!r}")
    for note in notes:
        print(f"    note: {note}")
    return areas


# -- addresses -----------------------------------------------------------------------------------
def check_addresses(folder: Path, spec: dict, boundary) -> None:
    path = folder / spec["file"]
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for k in ("address_field", "lat_field", "long_field", "zipcode_field", "id_field"):
            if spec.get(k) and spec[k] not in reader.fieldnames:
                fail(f"{folder.name}: addresses: no column {spec[k]!r}")
        rows = list(reader)
    ids, unreadable, no_position, points = Counter(), 0, 0, []
    for r in rows:
        n = normalize(r[spec["address_field"]])
        if not n.key:
            unreadable += 1
            continue
        try:
            lat, lon = float(r[spec["lat_field"]]), float(r[spec["long_field"]])
        except ValueError:
            no_position += 1
            continue
        z = (r.get(spec.get("zipcode_field") or "", "") or "").strip()[:5] or n.zipcode
        ids[f"{n.key} {z}".strip() if z else n.key] += 1
        points.append(Point(lon, lat))
    shapely.prepare(boundary)
    outside = sum(not boundary.covers(p) for p in points)
    dups = sum(n - 1 for n in ids.values() if n > 1)
    print(f"  addresses: {len(rows):,} rows; unreadable {unreadable}, no lat/long {no_position}, "
          f"duplicate default ids {dups} (kept: first), outside the boundary {outside}")


# -- services ------------------------------------------------------------------------------------
def check_services(folder: Path, services: list, layers: dict[str, list]) -> list[dict]:
    codes = [s.get("service_code") for s in services]
    for c in sorted({c for c in codes if codes.count(c) > 1}):
        fail(f"{folder.name}: duplicate service_code {c}")
    for s in services:
        where = f"{folder.name}: {s.get('service_code')}"
        for k in SERVICE_REQUIRED:
            if k not in s:
                fail(f"{where}: missing {k}")
        for k in sorted(set(s) - SERVICE_KEYS):
            fail(f"{where}: unknown key {k}")
        if not isinstance(s.get("service_code"), str) or not CODE.match(s["service_code"]):
            fail(f"{where}: service_code must be a string of letters, digits, . _ -")
        for k in ("service_name", "description", "group", "agency_responsible"):
            if not isinstance(s.get(k), str) or not s[k].strip():
                fail(f"{where}: {k} must be a non-empty string")
        if s.get("type") not in ("realtime", "batch", "blackbox"):
            fail(f"{where}: bad type {s.get('type')!r}")
        kw = s.get("keywords")
        if not isinstance(kw, list) or any(not isinstance(k, str) or "," in k for k in kw):
            fail(f"{where}: keywords must be a list of strings without commas")
        attrs = s.get("attributes") or []
        acodes = [a.get("code") for a in attrs]
        orders = [a.get("order") for a in attrs]
        if len(set(acodes)) != len(acodes):
            fail(f"{where}: duplicate attribute codes")
        if len(set(orders)) != len(orders):
            fail(f"{where}: duplicate attribute orders")
        for a in attrs:
            aw = f"{where}.{a.get('code')}"
            for k in sorted(set(a) - ATTRIBUTE_KEYS):
                fail(f"{aw}: unknown key {k}")
            if not isinstance(a.get("code"), str) or not ATTRIBUTE_CODE.match(a["code"]):
                fail(f"{aw}: code must be A-Z 0-9 _")
            if not isinstance(a.get("order"), int) or isinstance(a.get("order"), bool) \
                    or a["order"] < 1:
                fail(f"{aw}: order must be a positive integer")
            if not isinstance(a.get("description"), str) or not a["description"].strip():
                fail(f"{aw}: description must be a non-empty string")
            if a.get("datatype") not in DATATYPES:
                fail(f"{aw}: bad datatype {a.get('datatype')!r}")
            if not isinstance(a.get("required"), bool):
                fail(f"{aw}: required must be true or false")
            if "variable" in a and not isinstance(a["variable"], bool):
                fail(f"{aw}: variable must be true or false")
            if a.get("variable") is False and a.get("required"):
                fail(f"{aw}: an informational attribute cannot be required")
            values = a.get("values")
            if a.get("datatype") in LIST_TYPES:
                if not values:
                    fail(f"{aw}: a list datatype needs values")
                else:
                    keys = [v.get("key") for v in values]
                    if any(not isinstance(k, str) or not k or len(k) > 100 for k in keys):
                        fail(f"{aw}: value keys must be non-empty strings (quote YES/NO/digits)")
                    if any(not isinstance(v.get("name"), str) or not v["name"] for v in values):
                        fail(f"{aw}: value names must be non-empty strings")
                    if len(set(keys)) != len(keys):
                        fail(f"{aw}: duplicate value keys")
            elif values is not None:
                fail(f"{aw}: values are only for list datatypes")
        cov = s.get("coverage")
        if cov is not None:
            if set(cov) - {"layer", "ids"}:
                fail(f"{where}: coverage takes only layer and ids")
            if cov.get("layer") not in layers:
                fail(f"{where}: coverage layer {cov.get('layer')!r} is not an areas layer")
            elif cov.get("ids") is not None:
                known = {a[0] for a in layers[cov["layer"]]}
                for i in cov["ids"]:
                    if i not in known:
                        fail(f"{where}: coverage id {i!r} is not in layer {cov['layer']}")
    datatypes = Counter(a["datatype"] for s in services for a in s.get("attributes") or [])
    print(f"  services: {len(services)}: {', '.join(codes)}")
    print(f"    types {dict(Counter(s['type'] for s in services))}; attribute datatypes "
          f"{dict(datatypes)}; with coverage: "
          f"{[s['service_code'] for s in services if s.get('coverage')] or 'none'}")
    return services


# -- main ----------------------------------------------------------------------------------------
def main() -> int:
    loaded: dict[str, dict] = {}
    for name in ORDER:
        folder = BUNDLES / name
        print(f"\n== {name}")
        doc = yaml.safe_load((folder / "jurisdiction.yaml").read_text(encoding="utf-8"))
        check_jurisdiction(folder, doc, set(loaded))
        files = [boundary_ref(doc)[0], doc["services"]]
        files += [a["file"] for a in doc.get("areas") or []]
        files += [doc["addresses"]["file"]] if doc.get("addresses") else []
        for f in files:
            if not (folder / f).is_file():
                fail(f"{name}: referenced file {f} does not exist")
        bfile, blayer = boundary_ref(doc)
        boundary = read_boundary(folder / bfile, layer=blayer)
        geom = boundary.geometry
        if not geom.is_valid:
            fail(f"{name}: boundary not valid")
        print(f"  boundary {bfile}{' layer ' + blayer if blayer else ''}: {len(geom.geoms)} "
              f"polygon(s), {shapely.get_num_coordinates(geom):,} vertices, "
              f"{m2(geom, PROJ[name]) / 1e6:,.1f} km2; notes: {len(boundary.notes)}")
        for note in boundary.notes:
            print(f"    note: {note}")
        layers = {}
        for spec in doc.get("areas") or []:
            areas = read_layer(folder, spec)
            layers[spec["layer"]] = areas
            want = EXPECTED_AREAS.get((name, spec["layer"]))
            if want is not None and len(areas) != want:
                fail(f"{name}: areas.{spec['layer']}: {len(areas)} areas, expected {want}")
            out = [(a[0], m2(a[2].difference(geom), PROJ[name])) for a in areas]
            out = [(i, v) for i, v in out if v > 1.0]
            total = sum(v for _, v in out)
            big = sorted(out, key=lambda t: -t[1])[:3]
            print(f"    outside the boundary: {len(out)} area(s), {total:,.0f} m2 in all; largest "
                  + ", ".join(f"{i} {v:,.0f} m2" for i, v in big))
        if doc.get("addresses"):
            check_addresses(folder, doc["addresses"], geom)
        services = yaml.safe_load((folder / doc["services"]).read_text(encoding="utf-8"))
        check_services(folder, services["services"], layers)
        if doc.get("parent"):
            parent = loaded[doc["parent"]]["boundary"]
            outside = geom.difference(parent)
            print(f"  boundary outside the parent {doc['parent']}: "
                  f"{m2(outside, PROJ[name]):,.0f} m2 "
                  f"({100 * outside.area / geom.area:.2f} % of the boundary)")
        loaded[name] = {"doc": doc, "boundary": geom, "layers": layers,
                        "services": services["services"]}

    print("\n== sanity points (a point on a boundary counts as inside)")
    for label, lat, lon, inside, expected_areas in POINTS:
        pt = Point(lon, lat)
        covering = {n for n, b in loaded.items() if b["boundary"].covers(pt)}
        status = "ok  " if covering == inside else "FAIL"
        if covering != inside:
            problems.append(f"{label}: in {sorted(covering)}, expected {sorted(inside)}")
        print(f"  {status} {label} ({lat}, {lon}): inside {sorted(covering)}")
        for n in sorted(covering):
            hits = {layer: [a[0] for a in areas if a[2].covers(pt)]
                    for layer, areas in loaded[n]["layers"].items()}
            print(f"       {n}: " + "; ".join(f"{k} {v}" for k, v in hits.items()))
            for layer, want in expected_areas.get(n, {}).items():
                if hits.get(layer) != [want]:
                    fail(f"{label}: {n} {layer} {hits.get(layer)}, expected [{want}]")
        routes = {}
        for code in ROUTED_CODES:
            best = None
            for n in ORDER:
                b = loaded[n]
                if n not in covering:
                    continue
                svc = next((s for s in b["services"] if s["service_code"] == code), None)
                if svc is None:
                    continue
                cov = svc.get("coverage")
                if cov:
                    areas = [a for a in b["layers"][cov["layer"]]
                             if cov.get("ids") is None or a[0] in cov["ids"]]
                    if not any(a[2].covers(pt) for a in areas):
                        continue
                depth = depth_of(n, loaded)
                if best is None or depth > best[0]:
                    best = (depth, n)
            routes[code] = best[1] if best else "-"
        print("       routing: " + ", ".join(f"{c} -> {j}" for c, j in routes.items()
                                             if j != "-") or "none")

    print(f"\n{len(problems)} problem(s)")
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


def depth_of(name: str, loaded: dict) -> int:
    depth = 0
    while loaded[name]["doc"].get("parent"):
        name = loaded[name]["doc"]["parent"]
        depth += 1
    return depth


if __name__ == "__main__":
    sys.exit(main())
