"""A real third-party client that knows only the base URL (PyPI's ``georeport``, no
jurisdiction configured) on the demo region as ``make run`` serves it (three
jurisdictions, OPEN311_DEFAULT_JURISDICTION=lacity.org), over HTTP on a socket, in JSON and
in XML. The app's sessions are the test's rolled-back transaction; the server answers one
request at a time (the client sends one at a time)."""

from __future__ import annotations

import threading

import pytest
from georeport import GeoReport
from werkzeug.serving import make_server

from tests.api.test_routing import LA_CODES, PIER, SM_POTHOLE, region  # noqa: F401
from tests.helpers import CITY_HALL, Api, created, new_key


@pytest.fixture
def base_url(app_with, region):  # noqa: F811
    app = app_with(DEFAULT_JURISDICTION="lacity.org", ALLOWED_HOSTS="localhost,127.0.0.1")
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/open311/v2"
    finally:
        server.shutdown()


@pytest.mark.parametrize("output", ["json", "xml"])
def test_georeport_with_no_jurisdiction(base_url, session, output):
    app, base = base_url
    client = GeoReport(base, output_format=output)
    codes = [service["service_code"] for service in client.get_service_list()]
    assert codes == LA_CODES
    definition = client.get_service_definition("BULKY-ITEMS")
    assert definition["service_code"] == "BULKY-ITEMS"
    # Submitted without a jurisdiction (routed to Santa Monica by its point), then followed.
    request_id = created(
        Api(app.test_client(), "json"), {**SM_POTHOLE, **PIER, "api_key": new_key(session)}
    )
    found = client.get_service_request(request_id)
    assert found["service_request_id"] == request_id
    assert found["service_code"] == "POTHOLE"
    # Lists are the default jurisdiction's: not there (georeport cannot read an empty XML
    # list, <service_requests/>, so JSON only), an LA one is.
    if output == "json":
        assert client.get_service_requests(service_request_id=request_id) == []
    la_id = created(
        Api(app.test_client(), "json"),
        {
            "service_code": "GRAFFITI",
            "attribute[SURFACE]": "FENCE",
            **CITY_HALL,
            "api_key": new_key(session, "another app"),
        },
    )
    la_list = client.get_service_requests(service_request_id=la_id)
    item = la_list if output == "xml" else la_list[0]  # xmltodict: one child, a dict
    assert item["service_request_id"] == la_id and item["service_code"] == "GRAFFITI"
