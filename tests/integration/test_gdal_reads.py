"""GDAL reads the GeoJSON layers over HTTP as GIS tools do: ``/vsicurl/`` fetches a large
document in HTTP Range requests (and fails on one over ~300 KB without them). The server
runs on a socket here (werkzeug, the app on the test database); GDAL is pyogrio's."""

from __future__ import annotations

import pyogrio
import pytest
import shapely
from pyogrio.raw import read


def test_gdal_reads_a_large_layer_in_range_requests(served):
    base, statuses = served
    statuses.clear()
    url = f"/vsicurl/{base}/jurisdictions/lacity.org/areas.geojson"
    info = pyogrio.read_info(url)
    assert info["features"] == 15 + 99 + 7
    assert info["crs"] == "EPSG:4326"
    meta, _fids, geometries, fields = read(url, columns=["layer", "area_id", "name"])
    assert meta["fields"].tolist() == ["layer", "area_id", "name"]
    assert sorted(set(fields[0])) == ["council_district", "neighborhood_council", "region"]
    assert all(shapely.from_wkb(g).is_valid for g in geometries)
    assert 206 in statuses, statuses  # read in parts, not in one go


def test_gdal_reads_the_boundaries(served):
    base, _ = served
    meta, _fids, geometries, fields = read(f"/vsicurl/{base}/jurisdictions.geojson")
    assert list(fields[list(meta["fields"]).index("jurisdiction_id")]) == ["lacity.org"]
    assert shapely.from_wkb(geometries[0]).contains(shapely.Point(-118.2428, 34.0537))


@pytest.fixture
def committed_requests(database_url):
    """Three public Graffiti requests committed where the served app sees them (removed
    after): two at City Hall (Graffiti shows places exactly), one without a location."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    insert = sa.text(
        "INSERT INTO service_request (jurisdiction_pk, service_pk, status, description, "
        "location, public_location, requested_datetime, updated_datetime, accepted_at, public, "
        "attributes, area_pks) SELECT j.id, s.id, 'open', 'gdal ' || n, p.at, p.at, now(), "
        "now(), now(), true, "
        "'{}', '{}' FROM jurisdiction j JOIN service s ON s.jurisdiction_pk = j.id, "
        "generate_series(1, 3) AS n, LATERAL (SELECT CASE WHEN n < 3 THEN "
        "ST_SetSRID(ST_MakePoint(-118.2428, 34.0537), 4326) END AS at) AS p "
        "WHERE j.jurisdiction_id = 'lacity.org' AND s.service_code = 'GRAFFITI' RETURNING id"
    )
    with engine.begin() as conn:
        ids = [str(pk) for pk in conn.scalars(insert)]
    try:
        yield ids
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM service_request WHERE id = ANY(:ids)"),
                {"ids": [int(i) for i in ids]},
            )
        engine.dispose()


@pytest.mark.parametrize("export", ["requests.geojson", "requests.ndjson"])
def test_gdal_streams_the_bulk_export(served, committed_requests, export):
    """A streamed export has no length to read in ranges: GDAL reads it with
    /vsicurl_streaming/ (docs/bulk-export.md), as one GeoJSON document or a sequence."""
    base, _ = served
    url = f"/vsicurl_streaming/{base}/bulk/{export}?service_code=GRAFFITI"
    meta, _fids, geometries, fields = read(url)
    names = list(meta["fields"])
    ids = list(fields[names.index("service_request_id")])
    assert set(committed_requests) <= set(ids)
    assert "closed_date" in names and "area_council_district" in names
    points = [
        shapely.from_wkb(g)
        for g, i in zip(geometries, ids, strict=True)
        if i in committed_requests and g is not None
    ]
    assert len(points) == 2 and all(p.equals(shapely.Point(-118.2428, 34.0537)) for p in points)
