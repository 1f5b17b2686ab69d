"""The GeoJSON extensions: jurisdictions.geojson (every jurisdiction's boundary) and
jurisdictions/{id}/areas.geojson (its named areas), on the harness's City of Los Angeles (and
the county and Santa Monica where said).

Every answer is parsed as JSON and checked as an RFC 7946 FeatureCollection: features of
valid, non-empty (Multi)Polygons (shapely), coordinates longitude first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from shapely.validation import explain_validity

from open311.operations.bundles import load_bundle
from schemas.json_validation import validate

PREFIX = "/open311/v2"
GEOJSON = "application/geo+json; charset=utf-8"
BUNDLES = Path(__file__).resolve().parents[2] / "jurisdictions"

CITY_HALL = Point(-118.2428, 34.0537)  # (long, lat)
PIER = Point(-118.4973, 34.0094)  # Santa Monica
EAST_LA = Point(-118.1720, 34.0239)  # unincorporated
LA_LAYERS = {"council_district": 15, "neighborhood_council": 99, "region": 7}


def get_collection(client, path: str, params=None, *, valid: bool = True) -> dict:
    response = client.get(f"{PREFIX}/{path}", query_string=params)
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == GEOJSON
    collection = json.loads(response.data)
    assert set(collection) == {"type", "features"}  # no legacy "crs" member
    assert collection["type"] == "FeatureCollection"
    assert isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert set(feature) == {"type", "id", "geometry", "properties"}
        assert feature["type"] == "Feature"
        geometry = shape(feature["geometry"])
        assert geometry.geom_type in ("Polygon", "MultiPolygon"), feature["id"]
        assert not geometry.is_empty, feature["id"]
        if valid:
            assert geometry.is_valid, (feature["id"], explain_validity(geometry))
    return collection


def positions(geometry: dict) -> list[list[float]]:
    rings = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [position for polygon in rings for ring in polygon for position in ring]


def assert_long_lat(feature: dict) -> None:
    """LA coordinates are [long, lat]: -119 < long < -118 and 33 < lat < 35. Every position
    is checked within a slightly wider box: the Sunland-Tujunga council has 8 microscopic
    stray parts at -117.657 (documented in lacity.org/SOURCES.md)."""
    points = positions(feature["geometry"])
    long, lat = points[0]
    assert -119 < long < -118 and 33 < lat < 35, (feature["id"], points[0])
    for long, lat in points:
        assert -119 < long < -117.5 and 33 < lat < 35, (feature["id"], long, lat)


def error_body(response, status: int) -> list[dict]:
    assert response.status_code == status, response.data[:300]
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.data)
    validate("errors", body)
    assert [e["code"] for e in body] == [status]
    return body


# -- jurisdictions.geojson ---------------------------------------------------------------------
def test_jurisdictions_geojson(client):
    collection = get_collection(client, "jurisdictions.geojson")
    [feature] = collection["features"]
    assert feature["id"] == "lacity.org"
    assert feature["properties"] == {
        "jurisdiction_id": "lacity.org",
        "name": "City of Los Angeles",
        "parent": "lacounty.gov",
        "timezone": "America/Los_Angeles",
    }
    boundary = shape(feature["geometry"])
    assert boundary.covers(CITY_HALL)
    assert not boundary.covers(PIER)
    assert not boundary.covers(Point(CITY_HALL.y, CITY_HALL.x))  # swapped axes
    assert_long_lat(feature)


def test_jurisdictions_geojson_with_the_county(client, session):
    load_bundle(session, BUNDLES / "lacounty.gov")
    load_bundle(session, BUNDLES / "smgov.net")
    collection = get_collection(client, "jurisdictions.geojson")
    by_id = {f["id"]: f for f in collection["features"]}
    assert [f["id"] for f in collection["features"]] == [
        "lacounty.gov",
        "lacity.org",
        "smgov.net",
    ]  # top tier first
    assert by_id["lacounty.gov"]["properties"]["parent"] is None
    assert by_id["smgov.net"]["properties"]["parent"] == "lacounty.gov"
    county, city, santa_monica = (
        shape(by_id[i]["geometry"]) for i in ("lacounty.gov", "lacity.org", "smgov.net")
    )
    assert county.covers(CITY_HALL) and county.covers(PIER) and county.covers(EAST_LA)
    assert santa_monica.covers(PIER) and not santa_monica.covers(CITY_HALL)
    assert not city.covers(PIER) and not city.covers(EAST_LA)

    county_areas = get_collection(client, "jurisdictions/lacounty.gov/areas.geojson")
    layers = [f["properties"]["layer"] for f in county_areas["features"]]
    assert {layer: layers.count(layer) for layer in set(layers)} == {
        "city": 87,
        "unincorporated": 69,
        "region": 16,
    }
    east_la = next(
        f for f in county_areas["features"] if f["id"] == "unincorporated:east-los-angeles"
    )
    assert shape(east_la["geometry"]).covers(EAST_LA)

    empty = get_collection(client, "jurisdictions/smgov.net/areas.geojson")
    assert empty["features"] == []


# -- jurisdictions/{id}/areas.geojson ----------------------------------------------------------
def test_neighborhood_councils(client):
    collection = get_collection(
        client, "jurisdictions/lacity.org/areas.geojson", {"layer": "neighborhood_council"}
    )
    features = collection["features"]
    assert len(features) == 99
    for feature in features:
        properties = feature["properties"]
        assert properties["layer"] == "neighborhood_council"
        assert properties["layer_title"] == "Neighborhood councils"
        assert properties["area_id"] and properties["name"]
        assert feature["id"] == f"neighborhood_council:{properties['area_id']}"
        assert_long_lat(feature)
    assert len({f["properties"]["area_id"] for f in features}) == 99
    downtown = [f["properties"] for f in features if shape(f["geometry"]).covers(CITY_HALL)]
    assert downtown == [
        {
            "layer": "neighborhood_council",
            "layer_title": "Neighborhood councils",
            "area_id": "52",
            "name": "DOWNTOWN LOS ANGELES",
        }
    ]


@pytest.mark.parametrize(
    ("layer", "count", "at_city_hall"),
    [
        ("council_district", 15, "14"),
        ("neighborhood_council", 99, "52"),
        ("region", 7, "central"),
    ],
)
def test_every_area_layer_is_valid_geojson(client, layer, count, at_city_hall):
    collection = get_collection(client, "jurisdictions/lacity.org/areas.geojson", {"layer": layer})
    features = collection["features"]
    assert len(features) == count
    assert {f["properties"]["layer"] for f in features} == {layer}
    for feature in features:
        assert_long_lat(feature)
    here = [f["properties"]["area_id"] for f in features if shape(f["geometry"]).covers(CITY_HALL)]
    assert here == [at_city_hall]


def test_all_layers_without_filter(client):
    # Validity is checked layer by layer above (one layer has the invalid feature).
    collection = get_collection(client, "jurisdictions/lacity.org/areas.geojson", valid=False)
    layers = [f["properties"]["layer"] for f in collection["features"]]
    assert {layer: layers.count(layer) for layer in set(layers)} == LA_LAYERS
    assert layers == sorted(layers)
    assert len({f["id"] for f in collection["features"]}) == sum(LA_LAYERS.values())


def test_unknown_jurisdiction_is_404(client):
    body = error_body(client.get(f"{PREFIX}/jurisdictions/nowhere.example/areas.geojson"), 404)
    assert "jurisdiction_id 'nowhere.example' is not served here" in body[0]["description"]


def test_unknown_layer_is_404_naming_the_layers(client):
    body = error_body(
        client.get(
            f"{PREFIX}/jurisdictions/lacity.org/areas.geojson", query_string={"layer": "ward"}
        ),
        404,
    )
    description = body[0]["description"]
    assert "no areas layer 'ward'" in description
    assert "council_district, neighborhood_council, region" in description


def test_overlong_layer_is_400(client):
    body = error_body(
        client.get(
            f"{PREFIX}/jurisdictions/lacity.org/areas.geojson", query_string={"layer": "x" * 51}
        ),
        400,
    )
    assert body[0]["description"].startswith("layer: ")


# -- RFC 7946 3.1.6: exterior rings counterclockwise, holes clockwise ---------------------
def rings(geometry: dict):
    """(exterior?, ring) of every ring of a (Multi)Polygon."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            yield index == 0, ring


@pytest.mark.parametrize(
    "path, params",
    [("jurisdictions.geojson", None), ("jurisdictions/lacity.org/areas.geojson", None)],
)
def test_rings_wind_as_rfc_7946_says(client, path, params):
    from shapely.geometry import LinearRing

    collection = get_collection(client, path, params, valid=False)
    seen = {True: 0, False: 0}
    for feature in collection["features"]:
        for exterior, ring in rings(feature["geometry"]):
            assert LinearRing(ring).is_ccw == exterior, (feature["id"], exterior)
            seen[exterior] += 1
    assert seen[True] > 0
    if path == "jurisdictions.geojson":
        assert seen[False] > 0  # the city around San Fernando has holes


# -- HTTP Range requests (GDAL's /vsicurl/ reads a large document in parts) ---------------
@pytest.mark.parametrize(
    "path", ["jurisdictions.geojson", "jurisdictions/lacity.org/areas.geojson"]
)
def test_geojson_answers_range_requests(client, path):
    whole = client.get(f"{PREFIX}/{path}")
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.data)
    assert int(whole.headers["Content-Length"]) == size and size > 1000
    head = client.head(f"{PREFIX}/{path}")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == size
    assert head.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"{PREFIX}/{path}", headers={"Range": "bytes=100-599"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-599/{size}"
    assert part.data == whole.data[100:600]
    tail = client.get(f"{PREFIX}/{path}", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == whole.data[-50:]
    stale = client.get(
        f"{PREFIX}/{path}", headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'}
    )
    assert stale.status_code == 200 and stale.data == whole.data
    current = client.get(f"{PREFIX}/{path}", headers={"If-None-Match": whole.headers["ETag"]})
    assert current.status_code == 304


def test_an_unsatisfiable_range_is_416_in_the_spec_format(client):
    response = client.get(f"{PREFIX}/jurisdictions.geojson", headers={"Range": "bytes=999999999-"})
    assert response.status_code == 416
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = json.loads(response.data)
    assert error["code"] == 416 and error["description"]
