"""Location privacy by service (issue 18, point 5): a service shows its requests' place exactly,
at the centre of a grid cell of N metres, or not at all, the same in GET requests (JSON and
XML), by id, the extensions, the exports, the request updates and every filter; photos of such
services are not published."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import pytest
import sqlalchemy as sa

from open311.models import Media, ServiceRequest
from open311.operations.keys import create_key
from open311.repository.points import areas_at
from tests.api.integrators import GRAFFITI, extended, post_update
from tests.helpers import (
    CITY_HALL,
    add_request,
    la,
    photo,
    set_location_privacy,
    upload,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
HALL = (float(CITY_HALL["long"]), float(CITY_HALL["lat"]))
PLACE_FIELDS = ("lat", "long", "address", "address_id", "zipcode", "media_url")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two (long, lat) points, on a sphere (enough at these scales)."""
    dx = math.radians(b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = math.radians(b[1] - a[1])
    return 6_371_000 * math.hypot(dx, dy)


@pytest.fixture
def places(session) -> dict[str, str]:
    """At City Hall, one request of each kind: exact (OTHER), hidden (HOMELESS-ENCAMPMENT, as
    the LA bundle says), on a grid of 500 m (GRAFFITI); each with an address, zipcode, photo
    and areas. Their ids by kind."""
    set_location_privacy(session, "GRAFFITI", "grid", 500)
    city_hall = [a.id for a in areas_at(session, [la(session).id], *HALL)]
    common = dict(
        address="200 N Spring St",
        address_id="LA-200-N-SPRING",
        zipcode="90012",
        media_url="https://photos.example/spring.jpg",
        area_pks=city_hall,
        description="by the steps",
    )
    made = {
        kind: add_request(session, code=code, when=NOW - dt.timedelta(minutes=m), **common)
        for m, (kind, code) in enumerate(
            (("exact", "OTHER"), ("hidden", "HOMELESS-ENCAMPMENT"), ("grid", "GRAFFITI")),
            start=1,
        )
    }
    return {kind: str(r.id) for kind, r in made.items()}


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["service_request_id"]: item for item in items}


def listed(api, params: dict | None = None) -> dict[str, dict]:
    result = api.get("requests", params, root="service_requests", schema="requests")
    assert result.status == 200, result.body
    return by_id(result.body)


def test_each_service_shows_the_place_as_its_privacy_says(api, places):
    items = listed(api)
    exact, hidden, grid = (items[places[k]] for k in ("exact", "hidden", "grid"))
    assert (exact["long"], exact["lat"]) == pytest.approx(HALL)
    assert exact["address"] == "200 N Spring St" and exact["zipcode"] == "90012"
    assert exact["media_url"] == "https://photos.example/spring.jpg"
    for name in PLACE_FIELDS:
        assert hidden.get(name) is None, (name, hidden)
    assert hidden["description"] == "by the steps" and hidden["service_code"] == (
        "HOMELESS-ENCAMPMENT"
    )
    # The grid: the centre of the point's 500 m cell, no address or photo, the zipcode kept.
    shown = (grid["long"], grid["lat"])
    assert shown != pytest.approx(HALL)
    assert 1 < metres(shown, HALL) <= 500 * math.sqrt(2) / 2 + 1
    assert grid["address"] is None and grid.get("address_id") is None
    assert grid["media_url"] is None and grid["zipcode"] == "90012"
    # By id, the same.
    for kind in ("hidden", "grid"):
        one = api.get(f"requests/{places[kind]}", schema="requests").body[0]
        assert {n: one.get(n) for n in PLACE_FIELDS} == {
            n: items[places[kind]].get(n) for n in PLACE_FIELDS
        }


def test_the_areas_extension_hides_a_hidden_place(api, places):
    assert extended(api, places["exact"])["extended_attributes"]["areas"]
    assert extended(api, places["grid"])["extended_attributes"]["areas"]
    assert extended(api, places["hidden"])["extended_attributes"]["areas"] == []


def test_points_of_one_grid_cell_are_shown_at_one_place(api, session, places):
    # 60 m east of City Hall, then 40 m north of that: the same 500 m cell (City Hall is ~95 m
    # from its cell's centre, so both stay inside it), one public point.
    near_east = add_request(
        session, code="GRAFFITI", long=HALL[0] + 60 / 92_300, lat=HALL[1], when=NOW
    )
    items = listed(api)
    first, second = items[places["grid"]], items[str(near_east.id)]
    assert (first["long"], first["lat"]) == (second["long"], second["lat"])
    far = add_request(session, code="GRAFFITI", long=HALL[0] + 0.02, lat=HALL[1], when=NOW)
    third = listed(api)[str(far.id)]
    assert metres((third["long"], third["lat"]), (first["long"], first["lat"])) > 1000


def box_around(long: float, lat: float, half_metres: float) -> str:
    dlat, dlong = half_metres / 110_574, half_metres / (111_320 * math.cos(math.radians(lat)))
    return f"{long - dlong},{lat - dlat},{long + dlong},{lat + dlat}"


def test_no_filter_finds_a_hidden_place_and_the_grid_is_matched_where_shown(api, places):
    grid = listed(api)[places["grid"]]
    shown = (grid["long"], grid["lat"])
    near_hall = {
        "bbox": {"bbox": box_around(*HALL, 20)},
        "radius": {"lat": HALL[1], "long": HALL[0], "radius": 30},
        "area": {"area": "council_district:14"},
        "address word": {"q": "Spring"},
    }
    found = {name: set(listed(api, params)) for name, params in near_hall.items()}
    for name, ids in found.items():
        assert places["exact"] in ids, name
        assert places["hidden"] not in ids, name  # neither the point nor the address
    # The grid request is found at its public point, not at its own (20 m around City Hall
    # does not reach the cell's centre; its address is not searchable).
    assert places["grid"] not in found["bbox"] and places["grid"] not in found["radius"]
    assert places["grid"] not in found["address word"]
    assert places["grid"] in listed(api, {"bbox": box_around(*shown, 20)})
    assert places["grid"] in listed(api, {"lat": shown[1], "long": shown[0], "radius": 30})
    # A word of the description finds all three: only the place is private.
    assert set(places.values()) <= set(listed(api, {"q": "steps"}))


def test_exports_show_the_place_as_the_service_does(client, places):
    response = client.get("/open311/v2/bulk/requests.csv")
    rows = {r["service_request_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    hidden, grid, exact = (rows[places[k]] for k in ("hidden", "grid", "exact"))
    assert exact["lat"] and exact["address"] and exact["area_council_district"]
    assert (hidden["lat"], hidden["long"], hidden["address"]) == ("", "", "")
    assert all(hidden[k] == "" for k in rows[places["hidden"]] if k.startswith("area_"))
    assert grid["address"] == "" and grid["area_council_district"]
    assert metres((float(grid["long"]), float(grid["lat"])), HALL) > 1
    features = {
        f["properties"]["service_request_id"]: f
        for f in json.loads(client.get("/open311/v2/bulk/requests.geojson").data)["features"]
    }
    assert features[places["hidden"]]["geometry"] is None
    assert features[places["exact"]]["geometry"]["coordinates"] == pytest.approx(list(HALL))
    for line in client.get("/open311/v2/bulk/requests.ndjson").data.splitlines():
        feature = json.loads(line)
        if feature["properties"]["service_request_id"] == places["hidden"]:
            assert feature["geometry"] is None


def test_photos_of_a_private_service_are_not_published(api, session, key, media_dir):
    set_location_privacy(session, "GRAFFITI", "grid", 250)
    result = api.post("requests", {**GRAFFITI, "api_key": key, "media": upload(photo())})
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    item = api.get(f"requests/{request_id}", schema="requests").body[0]
    assert item["media_url"] is None and item["address"] is None
    # The POST derived the public point (the grid cell's centre) as it stored the request.
    stored = session.get(ServiceRequest, int(request_id))
    assert stored is not None and stored.public_location is not None
    assert (item["long"], item["lat"]) != pytest.approx(HALL)
    media = session.scalars(sa.select(Media).where(Media.request_pk == int(request_id))).one()
    name = f"{media.name}.{media.extension}"
    assert (media_dir / name).exists() or any(media_dir.rglob(name))  # kept for the city
    response = api.client.get(f"/open311/v2/media/{name}")
    assert response.status_code == 404
    # The service shows places again: the photo is published.
    set_location_privacy(session, "GRAFFITI", "exact")
    item = api.get(f"requests/{request_id}", schema="requests").body[0]
    assert item["media_url"] and item["media_url"].endswith(name)
    assert api.client.get(f"/open311/v2/media/{name}").status_code == 200


def test_update_photos_of_a_hidden_service_are_not_published(api, backoffice, places):
    for kind in ("hidden", "exact"):
        result = post_update(
            api,
            backoffice,
            places[kind],
            "IN_PROGRESS",
            f"u-{kind}",
            media_url="https://photos.example/crew.jpg",
        )
        assert result.status == 200, result.body
    updates = {
        u["service_request_id"]: u
        for u in api.get("servicerequestupdates", root="service_request_updates").body
    }
    assert updates[places["hidden"]].get("media_url") is None
    assert updates[places["exact"]]["media_url"] == "https://photos.example/crew.jpg"


def test_a_privacy_change_derives_the_public_view_again(api, session, places):
    before = session.get(ServiceRequest, int(places["exact"]))
    assert before is not None
    updated = before.updated_datetime
    set_location_privacy(session, "OTHER", "hidden")
    session.expire_all()
    after = session.get(ServiceRequest, int(places["exact"]))
    assert after is not None and after.public_location is None and after.location is not None
    assert after.updated_datetime > updated  # a mirror syncing by updated_after sees it
    item = listed(api)[places["exact"]]
    assert item.get("lat") is None and item.get("address") is None
    assert places["exact"] not in listed(api, {"q": "Spring"})
    set_location_privacy(session, "OTHER", "exact")
    assert places["exact"] in listed(api, {"q": "Spring"})
    assert listed(api)[places["exact"]]["lat"] == pytest.approx(HALL[1])


PERSONAL = {
    "email": "zelda.privacy-canary@example.org",
    "first_name": "Zeldacanary",
    "last_name": "Quixotecanary",
    "phone": "+1 213 555 0142",
    "device_id": "device-canary-7f3a9c",
    "account_id": "acct-canary-88421",
}


def test_personal_data_is_in_no_public_answer_and_no_log(client, session, key, caplog):
    """Distinctive contact details sent with requests (realtime and batch) and an update:
    every public answer, in every format, and every log record are searched for them."""
    import logging

    from tests.api.integrators import ENCAMPMENT, OTHER

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="open311")
    posted = client.post(
        "/open311/v2/requests.json", data={**OTHER, "api_key": key, **PERSONAL}
    ).json
    request_id = posted[0]["service_request_id"]
    batch = client.post(
        "/open311/v2/requests.json",
        data={**ENCAMPMENT, "api_key": key, **PERSONAL},
    ).json
    token = batch[0]["token"]
    backoffice = create_key(session, "FMS", scopes=("backoffice",)).key
    from tests.helpers import Api

    update = post_update(Api(client, "json"), backoffice, request_id, "FIXED", "p1")
    assert update.status == 200
    urls = [
        f"/open311/v2/requests.{fmt}{query}"
        for fmt in ("json", "xml")
        for query in ("", "?extensions=true", "?status=closed")
    ]
    urls += [f"/open311/v2/requests/{request_id}.{fmt}?extensions=true" for fmt in ("json", "xml")]
    urls += [f"/open311/v2/tokens/{token}.{fmt}" for fmt in ("json", "xml")]
    urls += [f"/open311/v2/servicerequestupdates.{fmt}" for fmt in ("json", "xml")]
    urls += [f"/open311/v2/bulk/requests.{ext}" for ext in ("csv", "geojson", "ndjson")]
    urls += ["/open311/v2/bulk/datapackage.json"]
    urls += [
        f"/open311/v2/statistics.{ext}?group_by={groups}"
        for ext in ("json", "csv")
        for groups in ("channel,service", "status,day", "area:council_district")
    ]
    urls += ["/open311/v2/services.json", "/open311/v2/discovery.json"]
    urls += [
        f"/open311/ogc/lacity.org/collections/requests/items{query}"
        for query in ("", "?crs=http://www.opengis.net/def/crs/EPSG/0/3857", "?status=closed")
    ]
    urls += [f"/open311/ogc/lacity.org/collections/requests/items/{request_id}"]
    seen = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data()
        seen += request_id.encode() in body
        for value in PERSONAL.values():
            assert value.encode() not in body, (url, value)
            assert value.encode() not in repr(dict(response.headers)).encode(), url
    assert seen >= 10  # the request is in the answers that list it
    searchable = session.scalar(
        sa.select(sa.cast(ServiceRequest.search, sa.Text)).where(
            ServiceRequest.id == int(request_id)
        )
    )
    assert searchable and "canari" not in searchable  # q= never finds a name
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    for value in PERSONAL.values():
        assert value not in logged
