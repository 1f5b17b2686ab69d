"""GDAL reads the GeoJSON layers over HTTP as GIS tools do: ``/vsicurl/`` fetches a large
document in HTTP Range requests (and fails on one over ~300 KB without them). The server
runs on a socket here (werkzeug, the app on the test database); GDAL is pyogrio's."""

from __future__ import annotations

import logging
import threading

import pyogrio
import pytest
import shapely
from pyogrio.raw import read
from werkzeug.serving import make_server

from open311 import create_app
from open311.db import Database


@pytest.fixture(scope="module")
def served(engine, database_url):
    """The app on a local port; the statuses of the answers it gave."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    statuses: list[int] = []

    @app.after_request
    def record(response):
        statuses.append(response.status_code)
        return response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2", statuses
    finally:
        server.shutdown()
        for engine in Database.engines(app):
            engine.dispose()


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
