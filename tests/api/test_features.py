"""OGC API - Features (issue 18, point 2): landing page, conformance, collections with
extents, items with bbox (in any offered CRS), datetime, limit, offset and keyset paging,
property filters, one item, positions in CRS84 / EPSG:4326 / EPSG:3857; the requests as the
bulk export shows them (no personal data, the place as the service's privacy says); every
refusal a 400/404 in the spec's error format, storing nothing."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from open311.models import Jurisdiction, Service
from open311.operations import feature_items as ops
from tests.helpers import add_request, la, row_counts

OGC = "/open311/ogc/lacity.org"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
HALL = (-118.2428, 34.0537)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def made(session) -> dict[str, list[str]]:
    """12 Graffiti requests a day apart going east from City Hall (every third closed), 3
    Other, 1 hidden encampment report; ids by service, newest first."""
    ids: dict[str, list[str]] = {"GRAFFITI": [], "OTHER": [], "HOMELESS-ENCAMPMENT": []}
    for n in range(12):
        r = add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(days=n, minutes=1),
            long=HALL[0] + n * 0.001,
            lat=HALL[1],
            status="closed" if n % 3 == 2 else "open",
        )
        ids["GRAFFITI"].append(str(r.id))
    for n in range(3):
        r = add_request(session, code="OTHER", when=NOW - dt.timedelta(hours=n + 1))
        ids["OTHER"].append(str(r.id))
    hidden = add_request(session, code="HOMELESS-ENCAMPMENT", when=NOW - dt.timedelta(hours=5))
    ids["HOMELESS-ENCAMPMENT"].append(str(hidden.id))
    return ids


def get(client, path: str, **params):
    response = client.get(OGC + path, query_string=params)
    assert response.status_code == 200, (path, response.get_data()[:300])
    return response


def links(document: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in document["links"]}


def test_landing_page_links_the_definition_conformance_and_data(client):
    response = get(client, "")
    assert response.headers["Content-Type"] == "application/json"
    rel = links(response.json)
    assert rel["service-desc"]["href"] == f"http://localhost{OGC}/api"
    assert rel["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    assert rel["conformance"]["href"] == f"http://localhost{OGC}/conformance"
    assert rel["data"]["href"] == f"http://localhost{OGC}/collections"
    assert get(client, "/").json == response.json  # a trailing slash is the same page
    # The definition it links: this API's paths as OGC names them, relative to the landing
    # page, with the items' limit maximum (GDAL's page size) and the filter encodings.
    definition = client.get(f"{OGC}/api")
    assert definition.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    spec = definition.json
    assert spec["servers"] == [{"url": f"http://localhost{OGC}"}]
    assert "/collections/{collectionId}/items/{featureId}" in spec["paths"]
    items = spec["paths"]["/collections/{collectionId}/items"]
    parameters = {p["name"]: p for p in items["get"]["parameters"] + items["parameters"]}
    assert "jurisdiction_id" not in parameters and parameters["collectionId"]["in"] == "path"
    assert parameters["limit"]["schema"]["maximum"] == ops.MAX_LIMIT
    assert "cql2-text" in parameters["filter-lang"]["schema"]["enum"]


def test_conformance_declares_what_is_honoured(client):
    declared = get(client, "/conformance").json["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in declared
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in declared
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in declared
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html" in declared


def test_collections_with_extents_and_crss(client, made):
    document = get(client, "/collections").json
    by_id = {c["id"]: c for c in document["collections"]}
    assert list(by_id) == [
        "requests",
        "areas_council_district",
        "areas_neighborhood_council",
        "areas_region",
        "jurisdictions",
        "services",
    ]
    requests = by_id["requests"]
    [box] = requests["extent"]["spatial"]["bbox"]
    assert box[0] < HALL[0] < box[2] and box[1] < HALL[1] < box[3]
    [interval] = requests["extent"]["temporal"]["interval"]
    assert interval[0] <= (NOW - dt.timedelta(days=11)).isoformat() <= interval[1]
    assert requests["crs"] == [CRS84, EPSG + "4326", EPSG + "3857", EPSG + "2229"]
    assert requests["storageCrs"] == CRS84
    assert links(requests)["items"]["type"] == "application/geo+json"
    assert "crs" not in by_id["services"]  # no geometry
    assert get(client, "/collections/areas_region").json["title"]


def test_items_are_the_exports_columns_without_personal_data(client, made):
    response = get(client, "/collections/requests/items", limit=100)
    assert response.headers["Content-Type"] == "application/geo+json"
    assert response.headers["Content-Crs"] == f"<{CRS84}>"
    page = response.json
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == page["numberReturned"] == 16
    features = {f["id"]: f for f in page["features"]}
    first = features[made["GRAFFITI"][0]]
    assert first["geometry"] == {"type": "Point", "coordinates": list(HALL)}
    assert first["properties"]["service_code"] == "GRAFFITI"
    assert first["properties"]["area_council_district"] is None or isinstance(
        first["properties"]["area_council_district"], str
    )
    hidden = features[made["HOMELESS-ENCAMPMENT"][0]]
    assert hidden["geometry"] is None and hidden["properties"]["address"] is None


def test_keyset_paging_reads_every_item_once(client, made):
    seen, url = [], f"{OGC}/collections/requests/items?limit=5&service_code=GRAFFITI"
    pages = 0
    while url:
        page = client.get(url).json
        pages += 1
        seen += [f["id"] for f in page["features"]]
        following = links(page).get("next")
        url = following["href"].removeprefix("http://localhost") if following else None
        if following:
            assert "cursor=" in following["href"] and "offset=" not in following["href"]
    assert seen == made["GRAFFITI"] and pages == 3


def test_offset_paging_as_arcgis_sends_it(client, made):
    first = get(client, "/collections/requests/items", limit=4, offset=4).json
    following = links(first)["next"]["href"]
    assert parse_qs(urlsplit(following).query)["offset"] == ["8"]
    everything = get(client, "/collections/requests/items", limit=100).json["features"]
    assert [f["id"] for f in first["features"]] == [f["id"] for f in everything[4:8]]


def test_property_filters_bbox_and_datetime(client, made):
    closed = get(client, "/collections/requests/items", service_code="GRAFFITI", status="closed")
    assert [f["id"] for f in closed.json["features"]] == made["GRAFFITI"][2::3]
    # A box around the first three points east of City Hall.
    box = f"{HALL[0] - 0.0005},{HALL[1] - 0.0005},{HALL[0] + 0.0025},{HALL[1] + 0.0005}"
    boxed = get(client, "/collections/requests/items", bbox=box, service_code="GRAFFITI").json
    assert [f["id"] for f in boxed["features"]] == made["GRAFFITI"][:3]
    # The same box in Web Mercator metres (bbox-crs) and in latitude-first EPSG:4326.
    x0, y0 = mercator(HALL[0] - 0.0005, HALL[1] - 0.0005)
    x1, y1 = mercator(HALL[0] + 0.0025, HALL[1] + 0.0005)
    in_metres = get(
        client,
        "/collections/requests/items",
        bbox=f"{x0},{y0},{x1},{y1}",
        **{"bbox-crs": EPSG + "3857"},
        service_code="GRAFFITI",
    ).json
    assert [f["id"] for f in in_metres["features"]] == made["GRAFFITI"][:3]
    lat_first = f"{HALL[1] - 0.0005},{HALL[0] - 0.0005},{HALL[1] + 0.0005},{HALL[0] + 0.0025}"
    flipped = get(
        client,
        "/collections/requests/items",
        bbox=lat_first,
        **{"bbox-crs": EPSG + "4326"},
        service_code="GRAFFITI",
    ).json
    assert [f["id"] for f in flipped["features"]] == made["GRAFFITI"][:3]
    start = (NOW - dt.timedelta(days=2, hours=1)).isoformat()
    recent = get(
        client, "/collections/requests/items", datetime=f"{start}/..", service_code="GRAFFITI"
    ).json
    assert [f["id"] for f in recent["features"]] == made["GRAFFITI"][:3]
    until = get(
        client,
        "/collections/requests/items",
        datetime=f"../{(NOW - dt.timedelta(days=9, hours=1)).isoformat()}",
        service_code="GRAFFITI",
    ).json
    assert [f["id"] for f in until["features"]] == made["GRAFFITI"][-2:]


def mercator(long: float, lat: float) -> tuple[float, float]:
    r = 6_378_137.0
    return (
        r * math.radians(long),
        r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)),
    )


def test_positions_in_each_crs(client, made):
    one = made["GRAFFITI"][0]
    path = f"/collections/requests/items/{one}"
    assert get(client, path).json["geometry"]["coordinates"] == list(HALL)
    lat_first = get(client, path, crs=EPSG + "4326")
    assert lat_first.headers["Content-Crs"] == f"<{EPSG}4326>"
    assert lat_first.json["geometry"]["coordinates"] == [HALL[1], HALL[0]]
    metres = get(client, path, crs=EPSG + "3857").json["geometry"]
    assert metres["coordinates"] == pytest.approx(list(mercator(*HALL)), abs=0.01)
    assert "crs" not in metres
    area = get(client, "/collections/areas_council_district/items/14", crs=EPSG + "3857").json
    assert area["geometry"]["type"] == "MultiPolygon" and area["properties"]["area_id"] == "14"
    assert abs(area["geometry"]["coordinates"][0][0][0][0]) > 1e6  # metres


def test_single_items_and_the_other_collections(client, made):
    item = get(client, f"/collections/requests/items/{made['OTHER'][0]}").json
    assert item["properties"]["service_code"] == "OTHER"
    assert links(item)["collection"]["href"] == f"http://localhost{OGC}/collections/requests"
    service = get(client, "/collections/services/items/GRAFFITI").json
    assert service["geometry"] is None and service["properties"]["service_name"]
    places = get(client, "/collections/jurisdictions/items/lacity.org").json
    assert places["geometry"]["type"] == "MultiPolygon"
    regions = get(client, "/collections/areas_region/items", limit=3).json
    assert regions["numberMatched"] == 7 and regions["numberReturned"] == 3
    assert links(regions)["next"]["href"].endswith("offset=3")


def test_every_collection_counts_its_matches(client, session):
    """Jurisdictions and services are small: numberMatched is exact, as for areas."""
    home = la(session)
    active = session.scalar(
        sa.select(sa.func.count())
        .select_from(Service)
        .where(Service.jurisdiction_pk == home.id, Service.active)
    )
    services = get(client, "/collections/services/items", limit=2).json
    assert services["numberReturned"] == 2 and services["numberMatched"] == active > 2
    everywhere = session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction))
    places = get(client, "/collections/jurisdictions/items").json
    assert places["numberMatched"] == places["numberReturned"] == everywhere >= 1
    far = get(client, "/collections/jurisdictions/items", bbox="2.2,48.8,2.4,48.9").json
    assert far["numberMatched"] == far["numberReturned"] == 0


def test_a_large_match_is_estimated_and_said_so(client, made, monkeypatch):
    monkeypatch.setattr(ops, "COUNT_CAP", 5)
    page = get(client, "/collections/requests/items", limit=2).json
    assert page["numberMatchedIsEstimate"] is True and page["numberMatched"] >= 1
    # Below the cap the count is exact (the default cap: 10000).
    monkeypatch.setattr(ops, "COUNT_CAP", 10_000)
    exact = get(client, "/collections/requests/items", service_code="OTHER").json
    assert exact["numberMatched"] == 3 and "numberMatchedIsEstimate" not in exact


def test_an_unchanged_answer_is_a_304(client, session, made):
    url = f"{OGC}/collections/requests/items?limit=5"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    add_request(session, code="OTHER")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/collections/requests/items?limit=0", 400, "limit"),
        ("/collections/requests/items?limit=10001", 400, "limit"),
        ("/collections/requests/items?offset=-1", 400, "offset"),
        ("/collections/requests/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/requests/items?bbox=3,2,1,4", 400, "bbox"),
        ("/collections/requests/items?bbox=-200,0,-190,1", 400, "bbox"),
        ("/collections/requests/items?crs=EPSG:9999", 400, "crs"),
        ("/collections/requests/items?bbox-crs=urn:x&bbox=0,0,1,1", 400, "bbox-crs"),
        ("/collections/requests/items?datetime=yesterday", 400, "datetime"),
        ("/collections/requests/items?datetime=2026-02-01/2026-01-01", 400, "datetime"),
        ("/collections/requests/items?status=pending", 400, "status"),
        ("/collections/requests/items?service_code=NO-SUCH", 400, "NO-SUCH"),
        ("/collections/requests/items?cursor=xyz", 400, "cursor"),
        ("/collections/services/items?cursor=xyz", 400, "cursor"),
        ("/collections/requests/items?f=xml", 400, "f"),
        ("/collections/nothing/items", 404, "nothing"),
        ("/collections/requests/items/99999999999", 404, "99999999999"),
        ("/collections/requests/items/%C2%B3", 404, "no item"),
        ("/collections/areas_region/items/atlantis", 404, "atlantis"),
    ],
)
def test_refusals_are_spec_errors(client, session, made, path, status, needle):
    before = row_counts(session)
    response = client.get(OGC + path)
    assert response.status_code == status, response.get_data()[:300]
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = response.json
    assert error["code"] == status and needle in error["description"], error
    assert row_counts(session) == before


def test_an_unknown_jurisdiction_is_a_404(client):
    response = client.get("/open311/ogc/nowhere.example/collections")
    assert response.status_code == 404 and "nowhere.example" in response.json[0]["description"]


def filtered(client, text: str, **params) -> list[str]:
    page = get(client, "/collections/requests/items", filter=text, limit=100, **params).json
    return [f["id"] for f in page["features"]]


def test_cql2_text_and_json_filter_the_requests(client, made):
    closed = made["GRAFFITI"][2::3]
    text = "service_code = 'GRAFFITI' AND status_description = 'closed'"
    assert filtered(client, text) == closed
    document = (
        '{"op": "and", "args": ['
        '{"op": "=", "args": [{"property": "service_code"}, "GRAFFITI"]},'
        '{"op": "=", "args": [{"property": "status_description"}, "closed"]}]}'
    )
    assert filtered(client, document, **{"filter-lang": "cql2-json"}) == closed
    box = f"BBOX({HALL[0] - 0.0005}, {HALL[1] - 0.0005}, {HALL[0] + 0.0025}, {HALL[1] + 0.0005})"
    near = filtered(client, f"S_INTERSECTS(geometry, {box})")
    assert made["GRAFFITI"][:3] == [i for i in near if i in made["GRAFFITI"]]
    assert made["HOMELESS-ENCAMPMENT"][0] not in near  # a hidden place is never inside
    since = (NOW - dt.timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = filtered(
        client, f"service_code = 'GRAFFITI' AND T_AFTER(requested_datetime, TIMESTAMP('{since}'))"
    )
    assert recent == made["GRAFFITI"][:2]
    assert (
        filtered(client, "service_code IN ('OTHER') AND NOT status_description = 'closed'")
        == (made["OTHER"])
    )
    assert filtered(client, "service_code LIKE 'GRAF%' AND address IS NULL") == made["GRAFFITI"]
    counted = get(
        client, "/collections/requests/items", filter="service_code = 'OTHER'", limit=1
    ).json
    assert counted["numberMatched"] == 3 and counted["numberReturned"] == 1
    assert "filter=" in links(counted)["next"]["href"]  # the next page keeps the filter


def test_queryables_are_the_public_fields(client):
    response = get(client, "/collections/requests/queryables")
    assert response.headers["Content-Type"] == "application/schema+json"
    schema = response.json
    assert schema["additionalProperties"] is False
    names = set(schema["properties"])
    assert {"service_code", "requested_datetime", "geometry"} <= names
    assert not names & {"email", "first_name", "phone", "device_id", "location", "api_key_pk"}
    assert schema["properties"]["requested_datetime"]["format"] == "date-time"
    collection = get(client, "/collections/requests").json
    rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
    assert links(collection)[rel]["href"].endswith("/collections/requests/queryables")


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("filter=email = 'a@b.c'", "not a queryable"),
        ("filter=location IS NULL", "not a queryable"),
        ('filter="id; DROP TABLE service_request" = 1', "not a queryable"),
        ("filter=service_code = 3", "does not compare"),
        ("filter=requested_datetime > 'yesterday'", "RFC 3339"),
        ("filter=S_INTERSECTS(service_code, POINT(1 2))", "not a geometry"),
        ("filter=service_code = ", "ends too soon"),
        ("filter=x&filter-lang=cql2-json", "not JSON"),
        ("filter=a = 1&filter-lang=ecql", "filter-lang"),
        ("filter-lang=cql2-text", "go with a filter"),
        ("filter=service_code = 'A'&filter-crs=EPSG:3857", "filter-crs"),
    ],
)
def test_bad_filters_are_named(client, session, query, needle):
    before = row_counts(session)
    response = client.get(f"{OGC}/collections/requests/items?{query}")
    assert response.status_code == 400, response.get_data()[:300]
    [error] = response.json
    assert needle in error["description"], error
    assert row_counts(session) == before


def test_only_requests_take_a_filter(client):
    response = client.get(f"{OGC}/collections/services/items?filter=service_code = 'A'")
    assert response.status_code == 400 and "only the requests" in response.json[0]["description"]
    assert client.get(f"{OGC}/collections/services/queryables").status_code == 404


def test_the_jurisdictions_own_crs(client, made):
    """LA's bundle names its State Plane zone (EPSG:2229, US feet): positions and boxes in it."""
    local = EPSG + "2229"
    assert local in get(client, "/collections/requests").json["crs"]
    one = get(client, f"/collections/requests/items/{made['GRAFFITI'][0]}", crs=local)
    assert one.headers["Content-Crs"] == f"<{local}>"
    x, y = one.json["geometry"]["coordinates"]
    assert 6_480_000 < x < 6_490_000 and 1_835_000 < y < 1_845_000  # City Hall, in feet
    box = f"{x - 50},{y - 50},{x + 50},{y + 50}"  # 100 feet around it
    near = get(client, "/collections/requests/items", bbox=box, **{"bbox-crs": local}).json
    assert made["GRAFFITI"][0] in [f["id"] for f in near["features"]]
    assert made["GRAFFITI"][3] not in [f["id"] for f in near["features"]]  # 280 m east
    nyc = client.get(f"{OGC}/collections/requests/items?crs={EPSG}2263")
    assert nyc.status_code == 400 and "2229" in nyc.json[0]["description"]


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/conformance",
        "/collections",
        "/collections/requests",
        "/collections/requests/items?limit=5",
        "/collections/requests/queryables",
        "/collections/areas_region/items",
        "/collections/services/items/GRAFFITI",
    ],
)
def test_every_resource_has_an_html_page(client, made, path):
    """A browser (Accept: text/html) or f=html gets a page; a client that accepts anything
    gets JSON."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    response = client.get(OGC + path, headers=browser)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["Vary"]
    text = response.get_data(as_text=True)
    assert text.startswith("<!DOCTYPE html>") and "<h1>" in text
    joined = "&" if "?" in path else "?"
    asked = client.get(f"{OGC}{path}{joined}f=html").get_data(as_text=True)
    assert asked.split("<h2>Links")[0] == text.split("<h2>Links")[0]  # links keep f=html
    anything = client.get(OGC + path, headers={"Accept": "*/*"})
    assert anything.headers["Content-Type"].startswith("application/")


def test_html_pages_escape_what_residents_wrote(client, session):
    add_request(session, code="OTHER", description='<script>alert("x")</script> & more')
    text = client.get(f"{OGC}/collections/requests/items?f=html").get_data(as_text=True)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in text
