#!/usr/bin/env python3
"""Build the derived files of the shipped jurisdiction bundles from ``../shared/data``.

Everything a bundle ships that is not written by hand comes from here (the one exception is
``lacity.org/boundary.geojson``, built by ``build_lacity_boundary.py``, whose helpers this script
reuses). Deterministic: the same inputs always give the same output bytes, so rerunning it on an
unchanged ``shared/data`` changes nothing (check with ``git status``).

1. **Copies** (byte for byte; the sha256 of source and copy is checked and printed):

   ===============================================  ===========================================
   shared/data/...                                  jurisdictions/...
   ===============================================  ===========================================
   la/la_city_council_districts_2012.geojson        lacity.org/areas/ (same name)
   la/la_neighborhood_councils_2021-01-22.geojson   lacity.org/areas/ (same name)
   la/la_city_regions_7_latimes.geojson             lacity.org/areas/ (same name)
   addresses/la_address_points_from_myla311.csv     lacity.org/addresses.csv
   la/la_county_neighborhoods_v6.geojson            lacounty.gov/areas/ (same name)
   nyc/nybb_16a.zip                                 nyc.gov/nybb_16a.zip
   sf/sf_planning_neighborhoods_37.geojson          sfgov.org/areas/ (same name)
   ===============================================  ===========================================

2. **Boundaries** (one Feature, always a valid MultiPolygon, 7 decimals, RFC 7946 orientation,
   written in the format of ``build_lacity_boundary.py``):

   - ``lacounty.gov/boundary.geojson``: union of the **270** features of
     ``la_county_neighborhoods_v6`` whose ``metadata.county`` is ``los-angeles`` (the file also
     holds 48 Orange County features, which are left out); every hole of the union is filled
     (Los Angeles County has no enclaves: the 1,041 holes are gaps between neighbouring
     polygons of the source) and parts under 1e-6 deg2 are dropped;
   - ``smgov.net/boundary.geojson``: the ``santa-monica`` standalone-city feature of v6;
   - ``sfgov.org/boundary.geojson``: union of the 37 SF planning neighbourhoods (3 invalid:
     ``make_valid``); holes under 1e-6 deg2 (gaps between neighbourhoods) are dropped, every
     part is kept (the piers of North Beach and the Marina are real, if tiny, parts).

3. **Derived areas**: ``lacounty.gov/areas/regions.geojson``, the 270 LA County features
   dissolved by ``metadata.region`` (16 regions; the other 3 of the file's 19 are Orange
   County), one Feature per region with properties ``{"id": slug, "name": title}``, sorted by
   slug; holes and parts under 1e-6 deg2 dropped.

4. **Service catalogues generated from data**:

   - ``nyc.gov/services.yaml``: the 14 most frequent Complaint Types of the NYC 311 sample
     (every type with at least 78 requests; the 15th place is a tie), with
     ``agency_responsible`` = the most frequent Agency Name of the type and, when the type has
     two or more Descriptors in the sample, a ``DESCRIPTOR`` singlevaluelist of those
     descriptors (most frequent first). Codes, names, descriptions, keywords and groups: the
     ``NYC_TYPES`` table below (ours).
   - ``sfgov.org/services.yaml``: 20 of the 38 services of SF's 2012 catalogue, codes, names,
     groups and descriptions exactly as given (``SF_CODES`` below says which and why),
     ``agency_responsible`` from ``SF_AGENCIES`` (ours, by group).

Usage (from anywhere; needs shapely >= 2 and pyproj, i.e. the project's virtualenv)::

    python jurisdictions/tools/build_bundles.py [--shared DIR]

``--shared`` defaults to ``../shared/data`` relative to the repository root.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity, make_valid

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_lacity_boundary as lab  # noqa: E402  (polygonal_parts, round_coords, finish, ...)

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLES = REPO_ROOT / "jurisdictions"
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
DECIMALS = lab.DECIMALS
MIN_AREA = lab.DEFAULT_MIN_AREA  # 1e-6 deg2, as for the LA City boundary

COPIES = [
    ("la/la_city_council_districts_2012.geojson",
     "lacity.org/areas/la_city_council_districts_2012.geojson"),
    ("la/la_neighborhood_councils_2021-01-22.geojson",
     "lacity.org/areas/la_neighborhood_councils_2021-01-22.geojson"),
    ("la/la_city_regions_7_latimes.geojson", "lacity.org/areas/la_city_regions_7_latimes.geojson"),
    ("addresses/la_address_points_from_myla311.csv", "lacity.org/addresses.csv"),
    ("la/la_county_neighborhoods_v6.geojson",
     "lacounty.gov/areas/la_county_neighborhoods_v6.geojson"),
    ("nyc/nybb_16a.zip", "nyc.gov/nybb_16a.zip"),
    ("sf/sf_planning_neighborhoods_37.geojson",
     "sfgov.org/areas/sf_planning_neighborhoods_37.geojson"),
]

V6 = "la/la_county_neighborhoods_v6.geojson"
LA_COUNTY = "los-angeles"  # metadata.county of the features that are in Los Angeles County


# -- small helpers -----------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_geojson(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["features"]


def copy_unchanged(shared: Path) -> None:
    print("copies (unchanged):")
    for src_rel, dst_rel in COPIES:
        src, dst = shared / src_rel, BUNDLES / dst_rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or sha256(dst) != sha256(src):
            shutil.copyfile(src, dst)
        digest = sha256(dst)
        assert digest == sha256(src), f"{dst}: copy differs from {src}"
        print(f"  {dst_rel:58} {dst.stat().st_size:>9,} B  sha256 {digest}")


# -- geometry ----------------------------------------------------------------------------------
def clean_multipolygon(geoms, *, min_hole_area: float, min_part_area: float,
                       fill_holes: bool = False) -> tuple[MultiPolygon, dict]:
    """Union of geoms (each make_valid first) as one valid, rounded, normalised MultiPolygon.

    Holes smaller than min_hole_area (all holes with fill_holes) and parts smaller than
    min_part_area (square degrees) are dropped; the same steps as build_lacity_boundary.build.
    """
    parts = [lab.to_multipolygon(lab.polygonal_parts(make_valid(g))) for g in geoms]
    union = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    polys = lab.polygonal_parts(union)
    stats = {"union_parts": len(polys), "union_holes": sum(len(p.interiors) for p in polys),
             "holes_dropped": 0, "parts_dropped": 0, "hole_areas_dropped": []}

    def drop(polys: list[Polygon]) -> list[Polygon]:
        kept = []
        for poly in polys:
            if poly.area < min_part_area:
                stats["parts_dropped"] += 1
                continue
            holes = []
            for ring in poly.interiors:
                area = Polygon(ring).area
                if fill_holes or area < min_hole_area:
                    stats["holes_dropped"] += 1
                    stats["hole_areas_dropped"].append(area)
                else:
                    holes.append(ring)
            kept.append(Polygon(poly.exterior, holes))
        return kept

    geom = lab.to_multipolygon(drop(polys))
    rounded = lab.round_coords(geom)
    stats["valid_after_rounding"] = bool(rounded.is_valid)
    if not rounded.is_valid:
        repaired = lab.to_multipolygon(lab.polygonal_parts(make_valid(rounded)))
        repaired = shapely.set_precision(repaired, lab.GRID)
        rounded = lab.round_coords(lab.to_multipolygon(lab.polygonal_parts(repaired)))
    final = lab.finish(lab.round_coords(lab.to_multipolygon(drop(lab.polygonal_parts(rounded)))))
    if not final.is_valid:
        raise SystemExit(f"result is not valid: {explain_validity(final)}")
    return final, stats


def coordinates(geom: MultiPolygon) -> list:
    def clean(obj):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), DECIMALS) + 0.0 for v in obj]  # + 0.0: no -0.0
        return [clean(o) for o in obj]
    return clean(mapping(geom)["coordinates"])


def write_features(path: Path, features: list[tuple[dict, MultiPolygon]]) -> None:
    """A FeatureCollection of MultiPolygon features, one compact line per ring (the layout of
    build_lacity_boundary.write, generalised to several features)."""
    dump = lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False)  # noqa: E731
    lines = ['{"type":"FeatureCollection","features":[']
    for k, (properties, geom) in enumerate(features):
        lines.append('{"type":"Feature","properties":' + dump(properties) + ',')
        lines.append('"geometry":{"type":"MultiPolygon","coordinates":[')
        polys = coordinates(geom)
        for i, poly in enumerate(polys):
            rings = ",\n".join(dump(ring) for ring in poly)
            lines.append("[" + rings + "]" + ("," if i < len(polys) - 1 else ""))
        lines.append("]}}" + ("," if k < len(features) - 1 else ""))
    lines.append("]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    # read back: every feature must parse to a valid MultiPolygon
    for feature in load_geojson(path):
        geom = shape(feature["geometry"])
        assert geom.geom_type == "MultiPolygon" and geom.is_valid, (path, feature["properties"])


def describe(label: str, path: Path, geom: MultiPolygon, stats: dict) -> None:
    holes = sum(len(p.interiors) for p in geom.geoms)
    print(f"  {label}: {path.relative_to(BUNDLES)} ({path.stat().st_size:,} B)")
    largest = max(stats["hole_areas_dropped"], default=0)
    print(f"    union: {stats['union_parts']} part(s), {stats['union_holes']} hole(s); dropped "
          f"{stats['holes_dropped']} hole(s) (largest {largest:.3g} deg2) and "
          f"{stats['parts_dropped']} part(s); valid after rounding: "
          f"{stats['valid_after_rounding']}")
    print(f"    result: {len(geom.geoms)} polygon(s), {holes} hole(s), "
          f"{shapely.get_num_coordinates(geom):,} vertices, {lab.area_km2(geom):,.1f} km2, "
          f"bounds {tuple(round(b, 6) for b in geom.bounds)}, sha256 {sha256(path)}")


def la_county_features(shared: Path) -> list[dict]:
    return [f for f in load_geojson(shared / V6)
            if f["properties"]["metadata"]["county"] == LA_COUNTY]


def region_title(slug: str) -> str:
    """'south-la' -> 'South LA', 'san-gabriel-valley' -> 'San Gabriel Valley'."""
    return " ".join("LA" if w == "la" else w.capitalize() for w in slug.split("-"))


def build_geometry(shared: Path) -> None:
    print("boundaries and derived areas:")
    county = la_county_features(shared)
    assert len(county) == 270, len(county)

    geom, stats = clean_multipolygon([shape(f["geometry"]) for f in county],
                                     min_hole_area=MIN_AREA, min_part_area=MIN_AREA,
                                     fill_holes=True)
    out = BUNDLES / "lacounty.gov" / "boundary.geojson"
    write_features(out, [({"name": "County of Los Angeles",
                           "source": "la_county_neighborhoods_v6 (metadata.county = los-angeles)"},
                          geom)])
    describe("LA County", out, geom, stats)

    by_region: dict[str, list] = defaultdict(list)
    for f in county:
        by_region[f["properties"]["metadata"]["region"]].append(shape(f["geometry"]))
    regions = []
    for slug in sorted(by_region):
        rgeom, rstats = clean_multipolygon(by_region[slug], min_hole_area=MIN_AREA,
                                           min_part_area=MIN_AREA)
        regions.append(({"id": slug, "name": region_title(slug),
                         "features": len(by_region[slug])}, rgeom))
        print(f"    region {slug}: {len(by_region[slug])} features -> "
              f"{len(rgeom.geoms)} polygon(s), {sum(len(p.interiors) for p in rgeom.geoms)} "
              f"hole(s) (dropped {rstats['holes_dropped']} holes, {rstats['parts_dropped']} parts)")
    out = BUNDLES / "lacounty.gov" / "areas" / "regions.geojson"
    write_features(out, regions)
    print(f"  LA County regions: {out.relative_to(BUNDLES)} ({out.stat().st_size:,} B, "
          f"{len(regions)} regions, sha256 {sha256(out)})")

    sm = [f for f in county if f["properties"]["metadata"]["slug"] == "santa-monica"
          and f["properties"]["metadata"]["type"] == "standalone-city"]
    assert len(sm) == 1
    geom, stats = clean_multipolygon([shape(sm[0]["geometry"])], min_hole_area=MIN_AREA,
                                     min_part_area=MIN_AREA)
    out = BUNDLES / "smgov.net" / "boundary.geojson"
    write_features(out, [({"name": "City of Santa Monica",
                           "source": "la_county_neighborhoods_v6 (santa-monica)"}, geom)])
    describe("Santa Monica", out, geom, stats)

    sf = load_geojson(shared / "sf" / "sf_planning_neighborhoods_37.geojson")
    geom, stats = clean_multipolygon([shape(f["geometry"]) for f in sf],
                                     min_hole_area=MIN_AREA, min_part_area=0.0)
    out = BUNDLES / "sfgov.org" / "boundary.geojson"
    write_features(out, [({"name": "City and County of San Francisco",
                           "source": "sf_planning_neighborhoods_37"}, geom)])
    describe("San Francisco", out, geom, stats)


# -- services.yaml writing ---------------------------------------------------------------------
def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def service_yaml(s: dict) -> list[str]:
    lines = [f"  - service_code: {q(s['service_code'])}",
             f"    service_name: {q(s['service_name'])}",
             f"    description: {q(s['description'])}",
             f"    type: {s['type']}",
             "    keywords: [" + ", ".join(q(k) for k in s["keywords"]) + "]",
             f"    group: {q(s['group'])}",
             f"    agency_responsible: {q(s['agency_responsible'])}",
             "    service_notice: " + (q(s["service_notice"]) if s.get("service_notice")
                                       else "null")]
    if s.get("attributes"):
        lines.append("    attributes:")
        for a in s["attributes"]:
            lines += [f"      - code: {a['code']}",
                      f"        order: {a['order']}",
                      f"        description: {q(a['description'])}",
                      f"        datatype: {a['datatype']}",
                      f"        required: {'true' if a['required'] else 'false'}"]
            if a.get("values"):
                lines.append("        values:")
                lines += [f"          - {{key: {q(v['key'])}, name: {q(v['name'])}}}"
                          for v in a["values"]]
    return lines


def write_services(path: Path, header: list[str], services: list[dict]) -> None:
    codes = [s["service_code"] for s in services]
    assert len(set(codes)) == len(codes), codes
    lines = [f"# {h}" if h else "#" for h in header] + ["", "services:"]
    for i, s in enumerate(services):
        if i:
            lines.append("")
        lines += service_yaml(s)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


# -- nyc.gov services --------------------------------------------------------------------------
NYC_CSV = "nyc/nyc311_2023-02_sample_4999.csv"
NYC_MIN_COUNT = 78  # the 14 most frequent types; places 15/16 (76 requests each) tie
# Complaint Type -> (service_code, service_name, group, keywords, description, question). Ours.
NYC_TYPES = {
    "HEAT/HOT WATER": (
        "HEAT-HOT-WATER", "Heat/Hot Water", "Housing", ["heat", "hot water", "boiler", "cold"],
        "Report no heat or no hot water in a residential rental building. Owners must provide "
        "hot water all year and heat during the heat season (October 1 to May 31).",
        "Is the whole building without heat or hot water, or only your apartment?"),
    "Illegal Parking": (
        "ILLEGAL-PARKING", "Illegal Parking", "Parking & Vehicles",
        ["illegal parking", "hydrant", "double parked", "bike lane", "sidewalk"],
        "Report a vehicle parked illegally, for example at a hydrant, in a bike lane, on a "
        "sidewalk or crosswalk, or double parked.",
        "What is the parking problem?"),
    "Noise - Residential": (
        "NOISE-RESIDENTIAL", "Noise - Residential", "Noise",
        ["noise", "loud music", "party", "banging", "neighbor"],
        "Report loud noise coming from a residential building or apartment, such as music, a "
        "party, banging or loud talking.",
        "What kind of noise is it?"),
    "Blocked Driveway": (
        "BLOCKED-DRIVEWAY", "Blocked Driveway", "Parking & Vehicles",
        ["blocked driveway", "driveway", "parking"],
        "Report a vehicle blocking a driveway.",
        "Can vehicles still get in or out of the driveway?"),
    "UNSANITARY CONDITION": (
        "UNSANITARY-CONDITION", "Unsanitary Condition", "Housing",
        ["pests", "mold", "roaches", "mice", "garbage", "sewage"],
        "Report pests, mold, garbage storage or sewage problems in a residential rental "
        "building.",
        "What is the condition?"),
    "Street Condition": (
        "STREET-CONDITION", "Street Condition", "Streets & Sidewalks",
        ["pothole", "street", "road", "cave-in", "plate"],
        "Report a pothole or another defect in the roadway, such as a cave-in, a shifted or "
        "noisy steel plate, or a failed street repair.",
        "What is wrong with the street?"),
    "PAINT/PLASTER": (
        "PAINT-PLASTER", "Paint/Plaster", "Housing", ["paint", "plaster", "peeling", "wall",
                                                       "ceiling"],
        "Report peeling paint or damaged plaster in a residential rental building.",
        "Where is the peeling paint or damaged plaster?"),
    "PLUMBING": (
        "PLUMBING", "Plumbing", "Housing", ["plumbing", "sink", "toilet", "shower", "pipe",
                                            "water supply"],
        "Report a plumbing problem in a residential rental building, such as a broken sink, "
        "toilet, bathtub or shower, or no water supply.",
        "Which fixture or part of the plumbing is affected?"),
    "Graffiti": (
        "GRAFFITI", "Graffiti", "Sanitation", ["graffiti", "tagging", "vandalism"],
        "Report graffiti on a building, storefront or other property visible from the street "
        "so that it can be cleaned.",
        None),
    "DOOR/WINDOW": (
        "DOOR-WINDOW", "Door/Window", "Housing", ["door", "window", "frame", "broken window"],
        "Report a broken or defective door, window or frame in a residential rental building.",
        "What is broken?"),
    "WATER LEAK": (
        "WATER-LEAK", "Water Leak", "Housing", ["leak", "water leak", "ceiling", "damp"],
        "Report water leaking into an apartment or common area of a residential rental "
        "building.",
        "How bad is the leak?"),
    "Derelict Vehicles": (
        "DERELICT-VEHICLES", "Derelict Vehicles", "Parking & Vehicles",
        ["derelict vehicle", "abandoned car", "junk car"],
        "Report a derelict vehicle left on the street: one without license plates, or with "
        "missing parts and no longer driveable.",
        None),
    "Traffic Signal Condition": (
        "TRAFFIC-SIGNAL-CONDITION", "Traffic Signal Condition", "Streets & Sidewalks",
        ["traffic signal", "traffic light", "pedestrian signal", "signal out"],
        "Report a traffic or pedestrian signal that is out, stuck, damaged or showing the wrong "
        "light.",
        "Which part of the signal is the problem?"),
    "Rodent": (
        "RODENT", "Rodent", "Health", ["rats", "mice", "rodents"],
        "Report rats or mice seen outdoors or in a building, or conditions that attract them.",
        "What did you see?"),
}


def value_key(text: str) -> str:
    """'Noise: Alarms (NR3)' -> 'NOISE_ALARMS_NR3', 'Banging/Pounding' -> 'BANGING_POUNDING'."""
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def build_nyc_services(shared: Path) -> None:
    with open(shared / NYC_CSV, encoding="utf-8", errors="replace", newline="") as fh:
        rows = list(csv.DictReader(fh))
    counts = Counter(r["Complaint Type"] for r in rows)
    top = [(t, n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
           if n >= NYC_MIN_COUNT]
    assert {t for t, _ in top} == set(NYC_TYPES), ([t for t, _ in top], list(NYC_TYPES))
    services = []
    print(f"nyc.gov services ({len(rows):,} rows, {len(counts)} complaint types):")
    for ctype, n in top:
        code, name, group, keywords, description, question = NYC_TYPES[ctype]
        of_type = [r for r in rows if r["Complaint Type"] == ctype]
        agencies = Counter(r["Agency Name"] for r in of_type)
        agency, agency_n = sorted(agencies.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        descriptors = Counter(r["Descriptor"] for r in of_type if r["Agency Name"] == agency
                              and r["Descriptor"].strip())
        values = [{"key": value_key(d), "name": d}
                  for d, _ in sorted(descriptors.items(), key=lambda kv: (-kv[1], kv[0]))]
        keys = [v["key"] for v in values]
        assert len(set(keys)) == len(keys), (ctype, keys)
        attributes = []
        if len(values) >= 2:
            attributes.append({"code": "DESCRIPTOR", "order": 1, "description": question,
                               "datatype": "singlevaluelist", "required": True,
                               "values": values})
        services.append({
            "service_code": code, "service_name": name, "description": description,
            "type": "realtime", "keywords": keywords + [ctype.lower()]
            if ctype.lower() not in keywords else keywords,
            "group": group, "agency_responsible": agency, "attributes": attributes})
        print(f"  {n:4} {ctype!r:28} -> {code:24} {agency} ({agency_n}/{n}); "
              f"{len(values)} descriptor(s)")
    header = [
        "Service catalogue of New York City (nyc.gov), GENERATED by",
        "jurisdictions/tools/build_bundles.py from shared/data/nyc/nyc311_2023-02_sample_4999.csv:",
        "edit the NYC_TYPES table in the script and rerun it, do not edit this file by hand.",
        "",
        "The 14 most frequent Complaint Types of the sample (every type with >= 78 of the 4,999",
        "requests), most frequent first. agency_responsible = the type's most frequent Agency",
        "Name; DESCRIPTOR values = the type's Descriptors in the sample (names exactly as NYC",
        "writes them, most frequent first; keys derived). Codes, names, descriptions, keywords,",
        "groups and questions are ours. See SOURCES.md. Format: jurisdictions/README.md.",
    ]
    write_services(BUNDLES / "nyc.gov" / "services.yaml", header, services)


# -- sfgov.org services ------------------------------------------------------------------------
SF_JSON = "open311/sf_services_2012_grouped.json"
SF_CSV = "sf/sf311_2012-07-31_to_08-20_5355.csv"
# The 17 codes with >= 15 requests in the 2012 SF request sample (whose service_code column
# drops the leading zeros: "24" = "024"), plus 012/013 (offensive graffiti, private and public)
# and 022 (sewage from a catch basin), so that the Graffiti and Sewer Issues groups are there.
SF_EXTRA = ["012", "013", "022"]
SF_MIN_COUNT = 15
SF_PUBLIC_WORKS = "San Francisco Public Works"
SF_AGENCIES = {  # group -> agency (ours; the catalogue names no agency)
    "Sewer Issues": "San Francisco Public Utilities Commission",
}
SF_AGENCY_BY_CODE = {"029": "San Francisco Municipal Transportation Agency"}  # defaced sign


def sf_keywords(name: str) -> list[str]:
    """'Trees - Overgrown Tree' -> ['trees', 'overgrown tree'];
    'Sidewalk_Cleaning' -> ['sidewalk cleaning']."""
    words = []
    for part in name.split(" - "):
        word = re.sub(r"\s+", " ", part.replace("_", " ")).strip().lower()
        if word and "," not in word and word not in words:
            words.append(word)
    return words


def build_sf_services(shared: Path) -> None:
    with open(shared / SF_JSON, encoding="utf-8") as fh:
        catalogue = json.load(fh)
    with open(shared / SF_CSV, encoding="utf-8", newline="") as fh:
        counts = Counter(r["service_code"].strip().zfill(3) for r in csv.DictReader(fh))
    chosen = {code for code, n in counts.items() if n >= SF_MIN_COUNT} | set(SF_EXTRA)
    services = []
    print("sfgov.org services:")
    for group, items in catalogue.items():  # the catalogue's own order
        for item in items:
            code = item["service_code"]
            if code not in chosen:
                continue
            agency = SF_AGENCY_BY_CODE.get(code) or SF_AGENCIES.get(group, SF_PUBLIC_WORKS)
            services.append({
                "service_code": code, "service_name": item["service_name"],
                "description": item["description"].strip() or "", "type": "realtime",
                "keywords": sf_keywords(item["service_name"]), "group": group,
                "agency_responsible": agency})
            print(f"  {code} {counts.get(code, 0):5} {group:40} {item['service_name']}")
    assert len(services) == 20, len(services)
    header = [
        "Service catalogue of San Francisco (sfgov.org), GENERATED by",
        "jurisdictions/tools/build_bundles.py from",
        "shared/data/open311/sf_services_2012_grouped.json (SF's 2012 Open311 service list,",
        "regrouped by the 311Dashboard authors): edit the script and rerun it, do not edit this",
        "file by hand.",
        "",
        "service_code, service_name, group and description are SF's, exactly as given (codes",
        "are strings with leading zeros: \"024\"). 20 of the 38 services: the 17 with >= 15",
        "requests in shared/data/sf/sf311_2012-07-31_to_08-20_5355.csv, plus 012, 013 and 022.",
        "keywords come from the names; agency_responsible is ours (by group). See SOURCES.md.",
    ]
    write_services(BUNDLES / "sfgov.org" / "services.yaml", header, services)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help=f"the shared data folder (default {DEFAULT_SHARED})")
    args = ap.parse_args(argv)
    copy_unchanged(args.shared)
    build_geometry(args.shared)
    build_nyc_services(args.shared)
    build_sf_services(args.shared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
