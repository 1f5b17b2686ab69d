"""Real GIS clients read the OGC API - Features (issue 18, point 3): GDAL's OAPIF driver
(pyogrio's GDAL) lists and reads every collection and pages to the end of a filtered layer;
OWSLib's Features client does the same from Python. The app serves on a socket from a
process of its own, over the test database, with requests committed where it sees them
(removed after); GDAL's requests are read back from the PostgreSQL statistics of its pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from owslib.ogcapi.features import Features
from pyogrio.raw import read

GRAFFITI, OTHER = 25, 5


@pytest.fixture(scope="module")
def committed(database_url):
    """25 Graffiti and 5 Other requests around City Hall (odd ones closed), and one hidden
    encampment report; their ids by service code."""
    engine = sa.create_engine(database_url)
    insert = sa.text(
        "INSERT INTO service_request (jurisdiction_pk, service_pk, status, description, "
        "location, public_location, requested_datetime, updated_datetime, accepted_at, "
        "public, attributes, area_pks) "
        "SELECT j.id, s.id, CASE WHEN n % 2 = 1 THEN 'closed' ELSE 'open' END, 'ogc ' || n, "
        "p.at, CASE WHEN s.location_privacy = 'exact' THEN p.at END, "
        "now() - n * interval '1 hour', now(), now(), true, '{}', '{}' "
        "FROM jurisdiction j JOIN service s ON s.jurisdiction_pk = j.id "
        "JOIN (VALUES ('GRAFFITI', :graffiti), ('OTHER', :other), "
        "('HOMELESS-ENCAMPMENT', 1)) AS c(code, many) ON c.code = s.service_code "
        "CROSS JOIN LATERAL generate_series(1, c.many) AS n "
        "CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(-118.2428 + n * 0.0005, "
        "34.0537), 4326) AS at) AS p "
        "WHERE j.jurisdiction_id = 'lacity.org' RETURNING id, service_pk"
    )
    with engine.begin() as conn:
        made = conn.execute(insert, {"graffiti": GRAFFITI, "other": OTHER}).all()
        codes = dict(conn.execute(sa.text("SELECT id, service_code FROM service")).all())
    by_code: dict[str, list[str]] = {}
    for pk, service_pk in made:
        by_code.setdefault(codes[service_pk], []).append(str(pk))
    try:
        yield by_code
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM service_request WHERE id = ANY(:ids)"),
                {"ids": [pk for pk, _ in made]},
            )
        engine.dispose()


def landing(base: str) -> str:
    return base.removesuffix("/v2") + "/ogc/lacity.org"


def test_gdal_lists_and_reads_every_collection(served_apart, committed):
    url = "OAPIF:" + landing(served_apart)
    layers = [name for name, _ in pyogrio.list_layers(url)]
    assert layers == [
        "requests",
        "areas_council_district",
        "areas_neighborhood_council",
        "areas_region",
        "jurisdictions",
        "services",
    ]
    sizes = {"areas_council_district": 15, "areas_neighborhood_council": 99, "areas_region": 7}
    for layer in layers:
        meta, _fids, geometries, fields = read(url, layer=layer)
        names = list(meta["fields"])
        if layer in sizes:
            assert len(geometries) == sizes[layer] and "name" in names
            assert all(shapely.from_wkb(g).is_valid for g in geometries)
        elif layer == "requests":
            ids = list(fields[names.index("service_request_id")])
            assert set(committed["GRAFFITI"] + committed["OTHER"]) <= set(ids)
            assert "area_council_district" in names and "email" not in names
        elif layer == "services":
            assert "GRAFFITI" in list(fields[names.index("service_code")])
        else:
            assert "lacity.org" in list(fields[names.index("jurisdiction_id")])


def test_gdal_pages_to_the_end_of_a_filtered_layer_sending_cql2(served_apart, committed, capfd):
    """GDAL translates the attribute filter to CQL2 (the conformance declares it) and pages
    through the next links: its HTTP log (CPL_DEBUG) shows the filter and every page."""
    url = "OAPIF:" + landing(served_apart)
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        meta, _fids, geometries, fields = read(
            url, layer="requests", where="service_code = 'GRAFFITI'", PAGE_SIZE=4
        )
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
    fetched = [
        line.split("Fetch(", 1)[1]
        for line in capfd.readouterr().err.splitlines()
        if "Fetch(" in line and "/collections/requests/items" in line
    ]
    assert all("filter=" in line for line in fetched[1:]), fetched
    assert len(fetched) >= GRAFFITI // 4 + 1, fetched  # page after page, 4 at a time
    names = list(meta["fields"])
    codes = list(fields[names.index("service_code")])
    ids = set(fields[names.index("service_request_id")])
    assert codes.count("GRAFFITI") == len(codes) >= GRAFFITI
    assert set(committed["GRAFFITI"]) <= ids
    points = [shapely.from_wkb(g) for g in geometries if g is not None]
    assert all(-118.25 < p.x < -118.2 and abs(p.y - 34.0537) < 1e-6 for p in points)


def test_owslib_reads_the_collections_and_pages_a_filtered_layer(served_apart, committed):
    api = Features(landing(served_apart))
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids[0] == "requests" and "services" in ids
    requests = api.collection("requests")
    assert requests["extent"]["spatial"]["bbox"][0][0] < -118.2428
    seen: list[str] = []
    page = api.collection_items("requests", limit=7, service_code="GRAFFITI")
    assert page["numberMatched"] >= GRAFFITI
    while True:
        seen += [f["id"] for f in page["features"]]
        following = [link for link in page["links"] if link["rel"] == "next"]
        if not following:
            break
        cursor = parse_qs(urlsplit(following[0]["href"]).query)["cursor"][0]
        page = api.collection_items("requests", limit=7, service_code="GRAFFITI", cursor=cursor)
    assert len(seen) == len(set(seen)) == page_total(api)
    assert set(committed["GRAFFITI"]) <= set(seen)
    one = api.collection_item("requests", committed["GRAFFITI"][0])
    assert one["properties"]["service_code"] == "GRAFFITI"
    [hidden_id] = committed["HOMELESS-ENCAMPMENT"]
    hidden = api.collection_item("requests", hidden_id)
    assert hidden["geometry"] is None and hidden["properties"]["address"] is None


def page_total(api: Features) -> int:
    return api.collection_items("requests", limit=1, service_code="GRAFFITI")["numberMatched"]
