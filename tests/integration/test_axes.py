"""The AXIS test: an asymmetric real point is never swapped on the way in, in storage or on
the way out.

LA City Hall is lat 34.0537, long -118.2428: the two numbers cannot be mistaken for each other
(a swapped latitude of -118.2428 is not even a latitude). PostGIS stores x = longitude,
y = latitude (WKT ``POINT(long lat)``); GeoReport gives ``lat`` and ``long`` by name; GeoJSON
(RFC 7946) gives ``[long, lat]``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape

from open311.models import Area, Jurisdiction
from tests import helpers
from tests.helpers import error_text, new_key, row_counts

LAT, LONG = 34.0537, -118.2428
CITY_HALL = {"lat": "34.0537", "long": "-118.2428"}
SWAPPED = {"lat": "-118.2428", "long": "34.0537"}
ADDRESSES = Path(__file__).resolve().parents[2] / "jurisdictions" / "lacity.org" / "addresses.csv"
PREFIX = "/open311/v2"


@pytest.fixture(autouse=True)
def _decode_extension_lists(monkeypatch):
    """The extensions add <areas>/<area> and <addresses>/<address> lists to the XML the
    harness decodes."""
    monkeypatch.setattr(
        helpers, "LIST_CONTAINERS", helpers.LIST_CONTAINERS | {"areas", "addresses"}
    )


@pytest.fixture
def key(session) -> str:
    return new_key(session)


def covering(session, table: str, long: float, lat: float) -> list[str]:
    """Ids of the rows of ``table`` (jurisdiction: its id; area: layer:area_id) whose
    geometry covers POINT(long lat)."""
    if table == "jurisdiction":
        ids, geom = Jurisdiction.jurisdiction_id, Jurisdiction.boundary
    else:
        ids, geom = Area.layer + ":" + Area.area_id, Area.geom
    here = sa.func.ST_SetSRID(sa.func.ST_MakePoint(long, lat), 4326)
    return list(session.scalars(sa.select(ids).where(sa.func.ST_Covers(geom, here)).order_by(ids)))


def test_point_is_stored_x_long_y_lat_and_returned_by_name(api, session, key):
    result = api.post("requests", {"service_code": "OTHER", **CITY_HALL, "api_key": key})
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]

    row = session.execute(
        sa.text(
            "SELECT ST_X(location), ST_Y(location), ST_AsText(location), ST_SRID(location) "
            "FROM service_request WHERE id = :id"
        ),
        {"id": int(request_id)},
    ).one()
    assert tuple(row) == (LONG, LAT, "POINT(-118.2428 34.0537)", 4326)

    # In the right council district (and neighbourhood council) of the real area files.
    stored_in = session.scalars(
        sa.text(
            "SELECT a.layer || ':' || a.area_id FROM area a, service_request r "
            "WHERE r.id = :id AND ST_Covers(a.geom, r.location) ORDER BY 1"
        ),
        {"id": int(request_id)},
    ).all()
    assert stored_in == ["council_district:14", "neighborhood_council:52", "region:central"]

    one = api.get(
        f"requests/{request_id}",
        {"extensions": "true"},
        root="service_requests",
        schema="requests_extended",
    )
    assert one.status == 200
    item = one.body[0]
    assert (item["lat"], item["long"]) == (LAT, LONG)
    areas = {(a["layer"], a["id"]) for a in item["extended_attributes"]["areas"]}
    assert ("council_district", "14") in areas
    if api.fmt == "json":
        assert b'"lat":34.0537,"long":-118.2428' in one.raw
    else:
        assert b"<lat>34.0537</lat><long>-118.2428</long>" in one.raw

    listing = api.get("requests", schema="requests")
    item = next(r for r in listing.body if r["service_request_id"] == request_id)
    assert (item["lat"], item["long"]) == (LAT, LONG)


def test_swapped_point_is_refused(api, session, key):
    """The swapped pair cannot be a location: -118.2428 is not a latitude, so the POST is
    refused before any boundary check; as a geometry, POINT(lat long) lies in no
    jurisdiction and no area (unlike City Hall, in council district 14)."""
    before = row_counts(session)
    result = api.post("requests", {"service_code": "OTHER", **SWAPPED, "api_key": key})
    assert result.status == 400
    assert [e["code"] for e in result.body] == [400]
    assert "lat: must be between -90 and 90" in error_text(result)
    assert row_counts(session) == before

    assert covering(session, "jurisdiction", LAT, LONG) == []
    assert covering(session, "area", LAT, LONG) == []
    assert covering(session, "jurisdiction", LONG, LAT) == ["lacity.org"]
    assert covering(session, "area", LONG, LAT) == [
        "council_district:14",
        "neighborhood_council:52",
        "region:central",
    ]


def test_services_at_point_read_lat_and_long_by_name(api):
    result = api.get("services", CITY_HALL)
    assert result.status == 200 and len(result.body) == 12
    swapped = api.get("services", SWAPPED)
    assert swapped.status == 400
    assert "lat: must be between -90 and 90" in error_text(swapped)


def test_geojson_gives_long_then_lat(client):
    response = client.get(f"{PREFIX}/jurisdictions.geojson")
    [feature] = json.loads(response.data)["features"]
    boundary = shape(feature["geometry"])
    assert boundary.covers(Point(LONG, LAT)) and not boundary.covers(Point(LAT, LONG))

    response = client.get(
        f"{PREFIX}/jurisdictions/lacity.org/areas.geojson",
        query_string={"layer": "council_district"},
    )
    features = json.loads(response.data)["features"]
    here = [
        f["properties"]["area_id"]
        for f in features
        if shape(f["geometry"]).covers(Point(LONG, LAT))
    ]
    assert here == ["14"]
    for f in features:
        coordinates = f["geometry"]["coordinates"]
        first = (
            coordinates[0][0][0] if f["geometry"]["type"] == "MultiPolygon" else coordinates[0][0]
        )
        assert -119 < first[0] < -118 and 33 < first[1] < 35, (f["id"], first)


def test_address_points_are_stored_x_lon_y_lat(session):
    with ADDRESSES.open(encoding="utf-8", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["address"] == "1353 W BELLEVUE AVE, 90026")
    lat, lon = float(row["lat"]), float(row["lon"])
    assert (lat, lon) == (34.0682207715, -118.255594359)  # the file's own columns
    stored = session.execute(
        sa.text(
            "SELECT ST_X(location), ST_Y(location), ST_AsText(location) FROM address_point "
            "WHERE address = :address"
        ),
        {"address": row["address"]},
    ).one()
    assert tuple(stored) == (lon, lat, "POINT(-118.255594359 34.0682207715)")


def test_address_search_and_resolution_keep_the_axes(api, session, key):
    found = api.get("addresses", {"q": "1353 W BELLEVUE AVE", "limit": 1}, root="addresses")
    assert found.status == 200
    raw = found.raw
    if api.fmt == "json":
        item = json.loads(raw)[0]
        assert (item["lat"], item["long"]) == (34.0682207715, -118.255594359)
    else:
        assert b"<lat>34.0682207715</lat><long>-118.255594359</long>" in raw

    result = api.post(
        "requests",
        {"service_code": "OTHER", "api_key": key, "address_id": "1353 W BELLEVUE AVE 90026"},
    )
    assert result.status == 200, result.body
    request_id = int(result.body[0]["service_request_id"])
    assert (
        session.scalar(
            sa.text("SELECT ST_AsText(location) FROM service_request WHERE id = :id"),
            {"id": request_id},
        )
        == "POINT(-118.255594359 34.0682207715)"
    )
