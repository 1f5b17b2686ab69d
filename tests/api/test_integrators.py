"""The integrator extensions (issue 4), each in JSON and XML (the ``api`` fixture):
paging with a Link header and a keyset cursor, incremental sync, bbox / lat+long+radius /
area, q full text, extensions=true, servicerequestupdates, media upload, CORS and HTTP
caching, Idempotency-Key, nearby duplicates.

Every bad value is checked for a spec-format 400 (or 403/404/413) whose description names
the parameter, and, for POSTs, that nothing at all was stored (rows and media files).
Tests that pin an application bug are marked ``xfail(strict=True, reason="BUG: ...")``.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import io
import json
import re

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image
from sqlalchemy.orm import Session

from open311 import create_app
from open311.db import Database
from open311.models import Media, RequestEvent, ServiceRequest
from open311.operations.keys import create_key
from open311.operations.requests import accept_pending_requests
from schemas.json_validation import validate
from tests.helpers import (
    CITY_HALL,
    add_request,
    bad,
    new_key,
    parse_link_header,
    photo,
    stored,
    upload,
)

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)
HALL_LAT, HALL_LONG = 34.0537, -118.2428  # City Hall: council district 14, DTLA NC 52, Central
VAN_NUYS = {"lat": 34.1867, "long": -118.4487}  # council district 6, Van Nuys NC, The Valley
M_PER_DEG_LAT = 111_000  # close enough for "about 10 m north"

OTHER = {"service_code": "OTHER", **CITY_HALL}
GRAFFITI = {"service_code": "GRAFFITI", **CITY_HALL, "attribute[SURFACE]": "FENCE"}
BULKY = {"service_code": "BULKY-ITEMS", **CITY_HALL,
         "attribute[ITEM_TYPES][]": ["MATTRESS", "SOFA"], "attribute[ITEM_COUNT]": "2",
         "attribute[LOCATION_TYPE]": "CURB"}
ENCAMPMENT = {"service_code": "HOMELESS-ENCAMPMENT", **CITY_HALL,
              "attribute[LOCATION_TYPE]": "SIDEWALK"}
EXTENDED_KEYS = {"extended_attributes", "notes", "attributes"}


# -- helpers ---------------------------------------------------------------------------------
def ids(result) -> list[str]:
    return [r["service_request_id"] for r in result.body]


def idlist(*requests) -> list[str]:
    return [str(r.id) for r in requests]


def links(result) -> dict[str, str]:
    return parse_link_header(result.headers.get("Link"))


def now_iso() -> str:
    return dt.datetime.now(UTC).isoformat()


def all_pages(api, params, first_schema="requests") -> tuple[list[list[str]], list]:
    """Follow rel="next" from the first page to the last: the ids of each page."""
    result = api.get("requests", params, root="service_requests", schema=first_schema)
    assert result.status == 200, result.body
    pages, results = [ids(result)], [result]
    while "next" in links(result):
        result = api.follow(links(result)["next"], root="service_requests", schema="requests")
        assert result.status == 200, result.body
        pages.append(ids(result))
        results.append(result)
        assert len(pages) < 50
    return pages, results


def cursor_of(url: str) -> str:
    return re.search(r"[?&]cursor=([^&]+)", url).group(1)


def make_cursor(data) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def key(session) -> str:
    return create_key(session, "FixMyPhone").key


@pytest.fixture
def backoffice(session) -> str:
    return create_key(session, "FMS", scopes=("backoffice",)).key


def created(api, data, **kwargs) -> str:
    result = api.post("requests", data, **kwargs)
    assert result.status == 200, result.body
    return result.body[0]["service_request_id"]


def extended(api, request_id: str) -> dict:
    result = api.get(f"requests/{request_id}", {"extensions": "true"}, root="service_requests",
                     schema="requests_extended")
    assert result.status == 200, result.body
    assert len(result.body) == 1
    return result.body[0]


def post_update(api, key: str, request_id, status: str, update_id: str, **fields):
    data = {"api_key": key, "service_request_id": str(request_id), "update_id": update_id,
            "status": status, "updated_datetime": fields.pop("updated_datetime", now_iso()),
            "description": fields.pop("description", ""), **fields}
    return api.post("servicerequestupdates", data, schema=None,
                    root="service_request_updates")


def events_of(session, request_id) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(RequestEvent)
                          .where(RequestEvent.request_pk == int(request_id)))


# == 1. paging =================================================================================
@pytest.fixture
def five(session) -> list[str]:
    """Five public requests, newest first."""
    return idlist(*[add_request(session, when=NOW - dt.timedelta(minutes=m))
                    for m in range(1, 6)])


def test_pages_of_two_follow_link_next_to_the_end(api, five):
    pages, results = all_pages(api, {"page_size": 2})
    assert pages == [five[:2], five[2:4], five[4:]]
    assert sum(pages, []) == five  # nothing skipped or repeated
    assert set(links(results[0])) == {"next"}
    assert set(links(results[1])) == {"next", "prev"}
    assert set(links(results[2])) == {"prev"}  # the last page has no rel="next"
    for result in results:  # the Link points at this format's URL, other params kept
        for url in links(result).values():
            assert url.startswith(f"http://localhost/open311/v2/requests.{api.fmt}?")
            assert "page_size=2" in url and "cursor=" in url


def test_a_page_whose_last_request_vanished_still_leads_on(api, five, monkeypatch):
    """The newest-first cursor reads its last row's exact time after the page; if that
    request was deleted meanwhile (by an operator), the cursor uses the time shown, rounded
    up to the second: the next pages may repeat a row, never skip one."""
    from open311.repository import requests as repo

    monkeypatch.setattr(repo, "requested_key", lambda session, pk: None)
    pages, _ = all_pages(api, {"page_size": 2})
    seen = sum(pages, [])
    assert set(seen) == set(five) and seen[:2] == five[:2]


def test_link_keeps_the_other_filters(api, session, five):
    graffiti = idlist(*[add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(hours=h))
                        for h in (1, 2, 3)])
    pages, results = all_pages(api, {"page_size": 2, "service_code": "GRAFFITI"})
    assert pages == [graffiti[:2], graffiti[2:]]
    assert "service_code=GRAFFITI" in links(results[0])["next"]


def test_prev_link_of_page_two_gives_page_one(api, five):
    first = api.get("requests", {"page_size": 2})
    second = api.follow(links(first)["next"], schema="requests")
    back = api.follow(links(second)["prev"], root="service_requests", schema="requests")
    assert ids(back) == ids(first) == five[:2]
    assert "prev" not in links(back)


def test_new_request_between_pages_appears_on_no_later_page(api, session, five):
    first = api.get("requests", {"page_size": 2})
    newer = add_request(session, when=dt.datetime.now(UTC))
    second = api.follow(links(first)["next"], schema="requests")
    third = api.follow(links(second)["next"], schema="requests")
    assert ids(first) + ids(second) + ids(third) == five
    assert "next" not in links(third)
    assert ids(api.get("requests", {"page_size": 2}))[0] == str(newer.id)  # a fresh listing


def test_batch_request_accepted_between_pages_does_not_appear_mid_list(api, session, five):
    waiting = add_request(session, code="HOMELESS-ENCAMPMENT", accepted=False,
                          token="tok-paging", when=NOW - dt.timedelta(minutes=3, seconds=30))
    first = api.get("requests", {"page_size": 2})
    assert accept_pending_requests(session, tokens=["tok-paging"]) == [("tok-paging",
                                                                        waiting.id)]
    second = api.follow(links(first)["next"], schema="requests")
    third = api.follow(links(second)["next"], schema="requests")
    assert ids(first) + ids(second) + ids(third) == five
    back = api.follow(links(third)["prev"], schema="requests")  # same snapshot: same page 2
    assert ids(back) == ids(second)
    fresh = sum(all_pages(api, {"page_size": 2})[0], [])  # a new listing has it, in place
    assert fresh == five[:3] + [str(waiting.id)] + five[3:]


def test_page_without_cursor_is_an_offset(api, five):
    result = api.get("requests", {"page": 2, "page_size": 2}, schema="requests")
    assert ids(result) == five[2:4]
    assert set(links(result)) == {"next", "prev"}
    third = api.follow(links(result)["next"], schema="requests")
    assert ids(third) == five[4:]
    assert ids(api.get("requests", {"page": 4, "page_size": 2})) == []


def test_page_size_defaults_to_max_requests(api, app, monkeypatch, five):
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 3)
    result = api.get("requests")
    assert ids(result) == five[:3]
    assert "page_size=3" in links(result)["next"]


@pytest.mark.parametrize("params,named", [
    ({"page_size": 4}, "page_size"),  # more than max_requests (3 here)
    ({"page_size": 0}, "page_size"),
    ({"page_size": "many"}, "page_size"),
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
    ({"page": "two"}, "page"),
])
def test_bad_paging_is_400(api, app, monkeypatch, params, named):
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 3)
    bad(api.get("requests", params), 400, named)


CURSOR_TIME = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda c: c[: len(c) // 2], id="truncated"),
    pytest.param(lambda c: "@@@@", id="not-base64"),
    pytest.param(lambda c: "x" * 40, id="garbage"),
    pytest.param(lambda c: make_cursor([1, 2]), id="json-list"),
    pytest.param(lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": "yesterday", "i": 1}),
                 id="bad-time"),
    pytest.param(lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": CURSOR_TIME,
                                        "i": "7"}), id="string-id"),
    pytest.param(lambda c: make_cursor({"s": 5}), id="number-snapshot"),
    pytest.param(lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": CURSOR_TIME}),
                 id="missing-id"),
])
def test_tampered_cursor_is_400(api, five, tamper):
    real = cursor_of(links(api.get("requests", {"page_size": 2}))["next"])
    result = api.get("requests", {"page": 2, "page_size": 2, "cursor": tamper(real)})
    bad(result, 400, "cursor")


# == 2. incremental sync =======================================================================
@pytest.fixture
def changes(session) -> dict[str, str]:
    """Requests whose last change is not in the order they were made."""
    made = {
        "a": add_request(session, when=NOW - dt.timedelta(days=10),
                         updated=NOW - dt.timedelta(minutes=30)),
        "b": add_request(session, when=NOW - dt.timedelta(days=2),
                         updated=NOW - dt.timedelta(minutes=50)),
        # made long before the default 90-day window, changed recently: sync has it
        "c": add_request(session, when=NOW - dt.timedelta(days=200),
                         updated=NOW - dt.timedelta(minutes=40)),
        "d": add_request(session, when=NOW - dt.timedelta(days=3),
                         updated=NOW - dt.timedelta(hours=3)),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_updated_after_lists_oldest_change_first(api, changes):
    result = api.get("requests", {"updated_after": (NOW - dt.timedelta(hours=1)).isoformat()},
                     root="service_requests", schema="requests")
    assert ids(result) == [changes["b"], changes["c"], changes["a"]]


def test_updated_after_and_before_are_inclusive(api, changes):
    result = api.get("requests", {
        "updated_after": (NOW - dt.timedelta(minutes=50)).isoformat(),
        "updated_before": (NOW - dt.timedelta(minutes=40)).isoformat()}, schema="requests")
    assert ids(result) == [changes["b"], changes["c"]]


def test_updated_before_alone(api, changes):
    result = api.get("requests", {"updated_before": (NOW - dt.timedelta(minutes=45))
                                  .isoformat()}, schema="requests")
    assert ids(result) == [changes["d"], changes["b"]]


def test_recent_changes_wait_for_the_sync_lag(api, app, session, monkeypatch):
    now = dt.datetime.now(UTC)
    settled = add_request(session, when=now - dt.timedelta(days=1),
                          updated=now - dt.timedelta(seconds=60))
    fresh = add_request(session, when=now - dt.timedelta(days=1),
                        updated=now - dt.timedelta(seconds=10))
    params = {"updated_after": (now - dt.timedelta(hours=1)).isoformat()}
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 30)
    assert ids(api.get("requests", params)) == [str(settled.id)]
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 0)
    assert ids(api.get("requests", params)) == [str(settled.id), str(fresh.id)]


def test_default_sync_lag_holds_back_a_change_made_just_now(api, session):
    now = dt.datetime.now(UTC)
    add_request(session, when=now - dt.timedelta(days=1), updated=now)
    assert ids(api.get("requests", {"updated_after": (now - dt.timedelta(minutes=5))
                                    .isoformat()})) == []


def test_sync_sees_updates_and_acceptances(api, app, session, key, backoffice, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 0)
    old = add_request(session, when=NOW - dt.timedelta(days=5),
                      updated=NOW - dt.timedelta(days=5))
    token = api.post("requests", {**ENCAMPMENT, "api_key": key}).body[0]["token"]
    since = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    params = {"updated_after": since.isoformat()}
    assert ids(api.get("requests", params)) == []
    assert post_update(api, backoffice, old.id, "FIXED", "s-1").status == 200
    [(_, accepted)] = accept_pending_requests(session, tokens=[token])
    result = api.get("requests", params, schema="requests")
    assert ids(result) == [str(old.id), str(accepted)]
    assert result.body[0]["status"] == "closed"


@pytest.mark.parametrize("page_size", [1, 2])
def test_ties_to_the_microsecond_are_all_delivered_across_pages(api, session, page_size):
    tie = NOW - dt.timedelta(minutes=20) + dt.timedelta(microseconds=123_456)
    made = [add_request(session, when=NOW - dt.timedelta(days=1),
                        updated=NOW - dt.timedelta(minutes=30)),
            add_request(session, when=NOW - dt.timedelta(days=2), updated=tie),
            add_request(session, when=NOW - dt.timedelta(days=3), updated=tie),
            add_request(session, when=NOW - dt.timedelta(days=4), updated=tie),
            add_request(session, when=NOW - dt.timedelta(days=5),
                        updated=NOW - dt.timedelta(minutes=10))]
    pages, results = all_pages(api, {"page_size": page_size,
                                     "updated_after": (NOW - dt.timedelta(hours=1))
                                     .isoformat()})
    assert sum(pages, []) == idlist(*made)
    assert all(len(p) == page_size for p in pages[:-1])
    assert all("updated_after=" in url for r in results for url in links(r).values())


@pytest.mark.parametrize("params,named", [
    ({"updated_after": "2026-01-02", "updated_before": "2026-01-01"}, "updated_after"),
    ({"updated_after": "2026-01-01T10:00:00Z", "updated_before": "2026-01-01T09:00:00Z"},
     "updated_after"),
    ({"updated_after": "soon"}, "updated_after"),
    ({"updated_before": "2026-02-30"}, "updated_before"),
])
def test_bad_sync_bounds_are_400(api, params, named):
    bad(api.get("requests", params), 400, named)


def test_cursor_of_one_ordering_is_refused_by_the_other(api, changes):
    since = (NOW - dt.timedelta(hours=5)).isoformat()
    newest = cursor_of(links(api.get("requests", {"page_size": 1}))["next"])
    sync = cursor_of(links(api.get("requests", {"page_size": 1,
                                                "updated_after": since}))["next"])
    bad(api.get("requests", {"page_size": 1, "page": 2, "updated_after": since,
                             "cursor": newest}), 400, "cursor")
    bad(api.get("requests", {"page_size": 1, "page": 2, "cursor": sync}), 400, "cursor")


# == 3. geographic filters =====================================================================
@pytest.fixture
def places(session) -> dict[str, str]:
    made = {
        "hall": add_request(session, when=NOW - dt.timedelta(hours=1)),
        "north": add_request(session, when=NOW - dt.timedelta(hours=2),  # about 100 m away
                             lat=HALL_LAT + 100 / M_PER_DEG_LAT, long=HALL_LONG),
        "valley": add_request(session, when=NOW - dt.timedelta(hours=3), **VAN_NUYS),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_bbox(api, places):
    around_hall = api.get("requests", {"bbox": "-118.2440,34.0530,-118.2420,34.0545"},
                          root="service_requests", schema="requests")
    assert ids(around_hall) == [places["hall"]]
    valley = api.get("requests", {"bbox": "-118.46,34.18,-118.44,34.19"}, schema="requests")
    assert ids(valley) == [places["valley"]]
    ocean = api.get("requests", {"bbox": "-119.6,33.4,-119.4,33.6"}, schema="requests")
    assert ids(ocean) == []


@pytest.mark.parametrize("bbox", [
    "-118.23,34.05,-118.25,34.06",  # longitudes inverted
    "-118.25,34.06,-118.23,34.05",  # latitudes inverted
    "-118.25,34.05,-118.25,34.06",  # empty: minLong == maxLong
    "-118.25,34.05,-118.23",  # three numbers
    "-118.25,34.05,-118.23,34.06,1",  # five
    "a,b,c,d",
    "-118.25;34.05;-118.23;34.06",
    "-190,34.05,-118.23,34.06",  # out of range
    "-118.25,34.05,-118.23,95",
    "nan,34.05,-118.23,34.06",
    "-118.25,34.05,inf,34.06",
])
def test_bad_bbox_is_400(api, bbox):
    bad(api.get("requests", {"bbox": bbox}), 400, "bbox")


def test_radius_around_a_point(api, places):
    point = {"lat": HALL_LAT, "long": HALL_LONG}
    assert ids(api.get("requests", {**point, "radius": 10}, root="service_requests",
                       schema="requests")) == [places["hall"]]
    assert ids(api.get("requests", {**point, "radius": 500}, schema="requests")) == [
        places["hall"], places["north"]]
    assert ids(api.get("requests", {**point, "radius": 90})) == [places["hall"]]
    assert ids(api.get("requests", {**point, "radius": 110})) == [places["hall"],
                                                                  places["north"]]


@pytest.mark.parametrize("params,named", [
    ({"radius": 100}, "radius"),  # without lat/long
    ({"lat": HALL_LAT, "long": HALL_LONG}, "radius"),  # without radius
    ({"lat": HALL_LAT, "radius": 100}, "long"),
    ({"long": HALL_LONG, "radius": 100}, "lat"),
    ({"lat": HALL_LAT, "long": HALL_LONG, "radius": 0}, "radius"),
    ({"lat": HALL_LAT, "long": HALL_LONG, "radius": -5}, "radius"),
    ({"lat": HALL_LAT, "long": HALL_LONG, "radius": 200000}, "radius"),
    ({"lat": HALL_LAT, "long": HALL_LONG, "radius": "nan"}, "radius"),
    ({"lat": HALL_LAT, "long": HALL_LONG, "radius": "far"}, "radius"),
    ({"lat": 91, "long": HALL_LONG, "radius": 100}, "lat"),
    ({"lat": HALL_LAT, "long": -181, "radius": 100}, "long"),
])
def test_bad_radius_is_400(api, params, named):
    bad(api.get("requests", params), 400, named)


@pytest.mark.parametrize("area,where", [
    ("council_district:14", "hall"),
    ("52", "hall"),  # the Downtown neighborhood council: its id is in one layer only
    ("neighborhood_council:52", "hall"),
    # "central" is an id of the region layer only (no other layer has it): it is not
    # ambiguous, and means the Central region.
    ("central", "hall"),
    ("region:central", "hall"),
    ("council_district:6", "valley"),
    ("the-valley", "valley"),
])
def test_area(api, places, area, where):
    result = api.get("requests", {"area": area}, root="service_requests", schema="requests")
    expected = [places["hall"], places["north"]] if where == "hall" else [places["valley"]]
    assert ids(result) == expected


def test_area_id_in_two_layers_is_400_naming_both(api, places):
    # "14" is council district 14 and neighborhood council 14 (Winnetka)
    bad(api.get("requests", {"area": "14"}), 400, "area", "council_district:14",
        "neighborhood_council:14")


@pytest.mark.parametrize("area", ["atlantis", "council_district:52", "region:14",
                                  "nowhere:central", "x" * 161])
def test_unknown_area_is_400(api, area):
    bad(api.get("requests", {"area": area}), 400, "area")


# == 4. q full text ============================================================================
@pytest.fixture
def texts(session) -> dict[str, str]:
    made = {
        "light": add_request(session, code="STREETLIGHT-SINGLE",
                             when=NOW - dt.timedelta(hours=1),
                             description="Streetlight flickering all night long",
                             address="200 N Spring St, 90012"),
        "tag": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(hours=2),
                           description="Tag on the side wall",
                           address="1353 W Bellevue Ave, 90026"),
        "hole": add_request(session, code="OTHER", when=NOW - dt.timedelta(hours=3),
                            description="Deep hole near the school gate",
                            address="100 W 1st St, 90012"),
    }
    return {name: str(r.id) for name, r in made.items()}


@pytest.mark.parametrize("q,expected", [
    ("flickering", ["light"]),  # a word of the description (stemmed: "flicker")
    ("flicker", ["light"]),
    ("bellevue", ["tag"]),  # a word of the address
    ("Spring", ["light"]),
    ("graffiti", ["tag"]),  # the service name (and its keywords)
    ("vandalism", ["tag"]),
    ('"near the school"', ["hole"]),  # a phrase
    ('"school near"', []),
    ("hole -school", []),
    ("wall OR hole", ["tag", "hole"]),
    ("xylophone", []),
    ("the", []),  # only stop words: nothing matches, not an error
    ("the of and", []),
])
def test_q(api, texts, q, expected):
    result = api.get("requests", {"q": q}, root="service_requests", schema="requests")
    assert result.status == 200, result.body
    assert ids(result) == [texts[name] for name in expected]


def test_q_words_of_the_service_name_and_the_address_combine(api, texts):
    assert ids(api.get("requests", {"q": "graffiti bellevue"})) == [texts["tag"]]


def test_q_exclusion_applies_to_requests_matched_by_service_name(api, texts):
    assert ids(api.get("requests", {"q": "graffiti -wall"})) == []


def test_q_too_long_is_400(api):
    bad(api.get("requests", {"q": "word " * 50}), 400, "q")


def test_q_combines_with_other_filters(api, texts):
    assert ids(api.get("requests", {"q": "wall OR hole", "service_code": "OTHER"})) == [
        texts["hole"]]


# == 5. extensions=true ========================================================================
CITY_HALL_AREAS = [
    {"jurisdiction_id": "lacity.org", "layer": "council_district", "id": "14", "name": "14"},
    {"jurisdiction_id": "lacity.org", "layer": "neighborhood_council", "id": "52",
     "name": "DOWNTOWN LOS ANGELES"},
    {"jurisdiction_id": "lacity.org", "layer": "region", "id": "central", "name": "Central"},
]


def test_extensions_on_one_request(api, session, key):
    request_id = created(api, {**BULKY, "api_key": key, "description": "Old sofa"})
    item = extended(api, request_id)
    assert item["extended_attributes"] == {"detailed_status": "open", "channel": "FixMyPhone",
                                           "areas": CITY_HALL_AREAS}
    assert [(n["type"], n["status"], n["detailed_status"], n["description"])
            for n in item["notes"]] == [("opened", "open", "open", None)]
    assert item["notes"][0]["datetime"] == item["requested_datetime"]
    assert item["attributes"] == [
        {"code": "ITEM_COUNT", "values": ["2"]},
        {"code": "ITEM_TYPES", "values": ["MATTRESS", "SOFA"]},
        {"code": "LOCATION_TYPE", "values": ["CURB"]}]


def test_without_extensions_the_output_is_the_spec(api, session, key):
    request_id = created(api, {**BULKY, "api_key": key})
    for params in (None, {"extensions": "false"}):
        one = api.get(f"requests/{request_id}", params, schema="requests")
        listing = api.get("requests", params, schema="requests")
        for item in one.body + listing.body:
            assert not EXTENDED_KEYS & set(item)
            assert b"FixMyPhone" not in one.raw + listing.raw


def test_extensions_on_the_list(api, session, key):
    first = created(api, {**OTHER, "api_key": key})
    second = created(api, {**OTHER, "api_key": key, "attribute[IGNORED]": ""})
    result = api.get("requests", {"extensions": "true"}, root="service_requests",
                     schema="requests_extended")
    assert ids(result) == [second, first]
    for item in result.body:
        assert item["extended_attributes"]["channel"] == "FixMyPhone"
        assert item["extended_attributes"]["areas"] == CITY_HALL_AREAS
        assert "duplicate_of" not in item["extended_attributes"]
        assert [n["type"] for n in item["notes"]] == ["opened"]
        assert item["attributes"] == []


def test_extensions_with_service_request_id(api, session, key):
    request_id = created(api, {**BULKY, "api_key": key})
    result = api.get("requests", {"service_request_id": request_id, "extensions": "true"},
                     schema="requests_extended")
    assert result.body == [extended(api, request_id)]


def test_duplicate_of_only_when_set(api, session, key):
    original = add_request(session, when=NOW - dt.timedelta(days=1))
    copy = add_request(session, when=NOW - dt.timedelta(hours=1))
    assert "duplicate_of" not in extended(api, str(copy.id))["extended_attributes"]
    session.execute(sa.update(ServiceRequest).where(ServiceRequest.id == copy.id)
                    .values(duplicate_of=original.id))
    session.commit()
    assert extended(api, str(copy.id))["extended_attributes"]["duplicate_of"] == \
        str(original.id)
    listing = api.get("requests", {"extensions": "true"}, schema="requests_extended")
    by_id = {item["service_request_id"]: item for item in listing.body}
    assert by_id[str(copy.id)]["extended_attributes"]["duplicate_of"] == str(original.id)
    assert "duplicate_of" not in by_id[str(original.id)]["extended_attributes"]
    # a request added without a key has no channel
    assert by_id[str(original.id)]["extended_attributes"]["channel"] is None


def test_notes_of_a_batch_request_and_its_updates(api, session, key, backoffice):
    token = api.post("requests", {**ENCAMPMENT, "api_key": key}).body[0]["token"]
    [(_, pk)] = accept_pending_requests(session, tokens=[token])
    assert post_update(api, backoffice, pk, "IN_PROGRESS", "u-1",
                       description="Outreach team on site").status == 200
    assert post_update(api, backoffice, pk, "FIXED", "u-2",
                       description="Cleaned up").status == 200
    item = extended(api, str(pk))
    assert [(n["type"], n["status"], n["detailed_status"], n["description"])
            for n in item["notes"]] == [
        ("opened", "open", "open", None),
        ("accepted", "open", "open", None),
        ("update", "open", "in_progress", "Outreach team on site"),
        ("closed", "closed", "fixed", "Cleaned up")]
    assert item["extended_attributes"]["detailed_status"] == "fixed"
    assert item["attributes"] == [{"code": "LOCATION_TYPE", "values": ["SIDEWALK"]}]


def test_bad_extensions_value_is_400(api):
    bad(api.get("requests", {"extensions": "maybe"}), 400, "extensions")
    bad(api.get("requests/1", {"extensions": "maybe"}), 400, "extensions")


# == 6. request updates ========================================================================
@pytest.fixture
def reported(session) -> ServiceRequest:
    return add_request(session, code="OTHER", when=NOW - dt.timedelta(days=1),
                       description="Broken bench")


def test_fixed_closes_the_request(api, session, backoffice, reported):
    before = extended(api, str(reported.id))
    result = post_update(api, backoffice, reported.id, "FIXED", "fms-1",
                         description="Bench replaced")
    assert result.status == 200, result.body
    assert result.root in (None, "service_request_updates")
    [answer] = result.body
    assert set(answer) == {"update_id"} and answer["update_id"].isdigit()
    item = extended(api, str(reported.id))
    assert item["status"] == "closed"
    assert item["status_notes"] == "Bench replaced"
    assert item["extended_attributes"]["detailed_status"] == "fixed"
    assert dt.datetime.fromisoformat(item["updated_datetime"]) > \
        dt.datetime.fromisoformat(before["updated_datetime"])
    assert item["notes"][-1] == {"datetime": item["notes"][-1]["datetime"], "type": "closed",
                                 "status": "closed", "detailed_status": "fixed",
                                 "description": "Bench replaced"}


def test_in_progress_reopens_a_closed_request(api, session, backoffice, reported):
    assert post_update(api, backoffice, reported.id, "CLOSED", "fms-1").status == 200
    assert extended(api, str(reported.id))["status"] == "closed"
    assert post_update(api, backoffice, reported.id, "IN_PROGRESS", "fms-2",
                       description="Reopened: crew assigned").status == 200
    item = extended(api, str(reported.id))
    assert item["status"] == "open"
    assert item["extended_attributes"]["detailed_status"] == "in_progress"
    assert item["notes"][-1]["type"] == "reopened"


def test_in_progress_keeps_an_open_request_open(api, session, backoffice, reported):
    assert post_update(api, backoffice, reported.id, "IN_PROGRESS", "fms-1").status == 200
    item = extended(api, str(reported.id))
    assert (item["status"], item["extended_attributes"]["detailed_status"]) == (
        "open", "in_progress")


@pytest.mark.parametrize("first,status", [("FIXED", "closed"), ("INVESTIGATING", "open")])
def test_unchanged_keeps_the_status_and_records_the_note(api, session, backoffice, reported,
                                                         first, status):
    assert post_update(api, backoffice, reported.id, first, "fms-1").status == 200
    events = events_of(session, reported.id)
    assert post_update(api, backoffice, reported.id, "UNCHANGED", "fms-2",
                       description="Waiting for parts").status == 200
    assert events_of(session, reported.id) == events + 1
    item = extended(api, str(reported.id))
    assert item["status"] == status
    assert item["extended_attributes"]["detailed_status"] == first.lower()
    assert item["status_notes"] == "Waiting for parts"
    assert item["notes"][-1]["description"] == "Waiting for parts"


def test_same_update_id_is_answered_again_without_a_second_event(api, session, backoffice,
                                                                 reported):
    first = post_update(api, backoffice, reported.id, "FIXED", "fms-7", description="Done")
    events = events_of(session, reported.id)
    again = post_update(api, backoffice, reported.id, "FIXED", "fms-7", description="Done")
    assert again.status == 200 and again.body == first.body and again.raw == first.raw
    assert events_of(session, reported.id) == events
    # another back office may use the same update_id for its own update
    other = create_key(session, "Back office 2", scopes=("backoffice",)).key
    third = post_update(api, other, reported.id, "UNCHANGED", "fms-7")
    assert third.status == 200 and third.body != first.body
    assert events_of(session, reported.id) == events + 1


def _refused_update(api, session, request_id, status, data_key, update_status, update_id,
                    *needles, **fields):
    before = stored(session)
    result = post_update(api, data_key, request_id, update_status, update_id, **fields)
    bad(result, status, *needles)
    assert stored(session) == before
    return result


def test_update_needs_a_backoffice_key(api, session, key, reported):
    _refused_update(api, session, reported.id, 403, key, "FIXED", "x-1", "backoffice")
    result = api.post("servicerequestupdates", {
        "service_request_id": str(reported.id), "update_id": "x-2", "status": "FIXED",
        "updated_datetime": now_iso(), "description": ""}, schema=None,
        root="service_request_updates")
    bad(result, 403, "api_key")
    assert extended(api, str(reported.id))["status"] == "open"


@pytest.mark.parametrize("request_id,status,update_id,fields,code,needles", [
    ("999999999", "FIXED", "u", {}, 404, ["999999999"]),
    ("abc", "FIXED", "u", {}, 404, ["abc"]),
    (None, "fixed", "u", {}, 400, ["status"]),
    (None, "SOLVED", "u", {}, 400, ["status"]),
    (None, "FIXED", "", {}, 400, ["update_id"]),
    (None, "FIXED", "u", {"updated_datetime": "tomorrow"}, 400, ["updated_datetime"]),
    (None, "FIXED", "u", {"updated_datetime": "2999-01-01T00:00:00Z"}, 400,
     ["updated_datetime"]),
    (None, "FIXED", "u", {"media_url": "ftp://x/y.jpg"}, 400, ["media_url"]),
    (None, "FIXED", "u", {"description": "x" * 4001}, 400, ["description"]),
    (None, "FIXED", "u" * 101, {}, 400, ["update_id"]),
])
def test_bad_update_is_refused_and_changes_nothing(api, session, backoffice, reported,
                                                   request_id, status, update_id, fields,
                                                   code, needles):
    _refused_update(api, session, request_id or reported.id, code, backoffice, status,
                    update_id, *needles, **fields)
    assert extended(api, str(reported.id))["status"] == "open"


def test_missing_update_fields_are_400(api, session, backoffice, reported):
    before = stored(session)
    for missing in ("service_request_id", "update_id", "status", "updated_datetime"):
        data = {"api_key": backoffice, "service_request_id": str(reported.id),
                "update_id": "u-9", "status": "FIXED", "updated_datetime": now_iso()}
        del data[missing]
        result = api.post("servicerequestupdates", data, schema=None,
                          root="service_request_updates")
        bad(result, 400, missing)
    assert stored(session) == before


def test_get_updates_lists_them_oldest_first(api, session, backoffice, reported):
    other = add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=2))
    t1, t2, t3 = (NOW - dt.timedelta(hours=h) for h in (3, 2, 1))
    answers = [
        post_update(api, backoffice, reported.id, "IN_PROGRESS", "g-1",
                    updated_datetime=t1.isoformat(), description="Crew assigned"),
        post_update(api, backoffice, other.id, "NOT_COUNCILS_RESPONSIBILITY", "g-2",
                    updated_datetime=t2.isoformat(), description="Private property",
                    external_status_code="NCR", media_url="https://img.example/1.jpg"),
        post_update(api, backoffice, reported.id, "FIXED", "g-3",
                    updated_datetime=t3.isoformat(), description="Bench replaced"),
    ]
    update_ids = [a.body[0]["update_id"] for a in answers]
    result = api.get("servicerequestupdates", root="service_request_updates")
    assert result.status == 200, result.body
    assert [u["update_id"] for u in result.body] == update_ids
    assert result.body[1] == {
        "update_id": update_ids[1], "service_request_id": str(other.id),
        "status": "not_councils_responsibility",
        "updated_datetime": result.body[1]["updated_datetime"],
        "description": "Private property", "media_url": "https://img.example/1.jpg",
        "external_status_code": "NCR"}
    assert [u["status"] for u in result.body] == ["in_progress", "not_councils_responsibility",
                                                  "fixed"]
    for update, at in zip(result.body, (t1, t2, t3), strict=True):
        assert dt.datetime.fromisoformat(update["updated_datetime"]) == at
    window = api.get("servicerequestupdates", {
        "start_date": (NOW - dt.timedelta(minutes=150)).isoformat(),
        "end_date": (NOW - dt.timedelta(minutes=90)).isoformat(), "api_key": "any"},
        root="service_request_updates")
    assert [u["update_id"] for u in window.body] == [update_ids[1]]
    since = api.get("servicerequestupdates", {
        "start_date": (NOW - dt.timedelta(minutes=90)).isoformat()})
    assert [u["update_id"] for u in since.body] == [update_ids[2]]
    if api.fmt == "xml":
        assert b"<service_request_updates><request_update><update_id>" in result.raw


def test_get_updates_empty_and_bad_dates(api):
    result = api.get("servicerequestupdates", root="service_request_updates")
    assert result.status == 200 and result.body == []
    bad(api.get("servicerequestupdates", {"start_date": "2026-01-02",
                                          "end_date": "2026-01-01"}), 400, "start_date")
    bad(api.get("servicerequestupdates", {"start_date": "whenever"}), 400, "start_date")
    bad(api.get("servicerequestupdates", {"end_date": "2026-13-01"}), 400, "end_date")


# == 7. media ==================================================================================
MEDIA_URL = re.compile(r"^http://localhost/open311/v2/media/([0-9a-f]{32})\.(jpg|png|webp)$")


def fetch_media(client, url: str):
    return client.get(url.removeprefix("http://localhost"))


def test_jpeg_is_stored_and_served_without_exif(api, session, key, media_dir):
    before = stored(session, media_dir)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(photo())})
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    item = api.get(f"requests/{request_id}", schema="requests").body[0]
    match = MEDIA_URL.match(item["media_url"])
    assert match and match.group(2) == "jpg", item["media_url"]
    after = stored(session, media_dir)
    assert after["media"] == before["media"] + 1
    assert after["files"] == [f"{match.group(1)}.jpg"]

    response = fetch_media(api.client, item["media_url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    served = Image.open(io.BytesIO(response.data))
    assert served.format == "JPEG" and served.size == (64, 48)
    assert dict(served.getexif()) == {}
    assert served.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"ExampleCam" not in response.data and b"Exif" not in response.data
    media = session.scalars(sa.select(Media).where(Media.request_pk == int(request_id))).one()
    assert (media.content_type, media.width, media.height, media.position) == (
        "image/jpeg", 64, 48, 1)


def test_jpeg_comment_does_not_survive(api, session, key, media_dir):
    data = photo(comment=b"Jane Doe, 1353 W Bellevue Ave")
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert result.status == 200, result.body
    item = api.get(f"requests/{result.body[0]['service_request_id']}").body[0]
    response = fetch_media(api.client, item["media_url"])
    assert b"Jane Doe" not in response.data
    assert "comment" not in Image.open(io.BytesIO(response.data)).info


@pytest.mark.parametrize("kind,extension,content_type", [
    ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")])
def test_png_and_webp_are_accepted(api, session, key, media_dir, kind, extension,
                                   content_type):
    data = photo(kind)
    result = api.post("requests", {**OTHER, "api_key": key,
                                   "media": upload(data, "picture.bin")})
    assert result.status == 200, result.body
    item = api.get(f"requests/{result.body[0]['service_request_id']}").body[0]
    match = MEDIA_URL.match(item["media_url"])
    assert match and match.group(2) == extension, item["media_url"]
    response = fetch_media(api.client, item["media_url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    served = Image.open(io.BytesIO(response.data))
    assert served.format == kind
    assert served.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"ExampleCam" not in response.data


def _refused_upload(api, session, media_dir, data, status, *needles):
    before = stored(session, media_dir)
    result = api.post("requests", data)
    bad(result, status, *needles)
    assert stored(session, media_dir) == before
    assert before["files"] == []
    return result


def test_text_file_named_jpg_is_400(api, session, key, media_dir):
    _refused_upload(api, session, media_dir, {
        **OTHER, "api_key": key, "media": upload(b"just some text, honest\n" * 20, "a.jpg")},
        400, "media")


def test_truncated_jpeg_is_400(api, session, key, media_dir):
    data = photo(size=(300, 300), noise=True, gps=False)
    _refused_upload(api, session, media_dir, {
        **OTHER, "api_key": key, "media": upload(data[: len(data) // 3])}, 400, "media")


def test_too_large_file_is_413(api, app, session, key, media_dir, monkeypatch):
    data = photo(size=(200, 200), noise=True)
    monkeypatch.setitem(app.config, "MEDIA_MAX_BYTES", len(data) - 1)
    _refused_upload(api, session, media_dir, {**OTHER, "api_key": key,
                                              "media": upload(data)}, 413, "media")


def test_too_many_pixels_is_400(api, app, session, key, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_PIXELS", 64 * 48 - 1)
    _refused_upload(api, session, media_dir, {**OTHER, "api_key": key,
                                              "media": upload(photo())}, 400, "media",
                    "pixels")


def test_too_many_files_is_400(api, app, session, key, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_FILES", 2)
    files = [upload(photo(color=(i * 40, 0, 0)), f"p{i}.jpg") for i in range(3)]
    _refused_upload(api, session, media_dir, {**OTHER, "api_key": key, "media": files}, 400,
                    "media")


def test_one_bad_file_of_two_refuses_both(api, session, key, media_dir):
    files = [upload(photo()), upload(b"GIF89a not really", "b.jpg")]
    _refused_upload(api, session, media_dir, {**OTHER, "api_key": key, "media": files}, 400,
                    "media")


def test_two_files_are_both_stored_and_the_first_is_media_url(api, session, key, media_dir):
    first, second = photo(color=(10, 200, 10)), photo("PNG", color=(10, 10, 200))
    result = api.post("requests", {**OTHER, "api_key": key,
                                   "media": [upload(first, "1.jpg"), upload(second, "2.png")]})
    assert result.status == 200, result.body
    request_id = int(result.body[0]["service_request_id"])
    rows = session.scalars(sa.select(Media).where(Media.request_pk == request_id)
                           .order_by(Media.position)).all()
    assert [(m.position, m.extension) for m in rows] == [(1, "jpg"), (2, "png")]
    item = api.get(f"requests/{request_id}").body[0]
    assert item["media_url"].endswith(f"/media/{rows[0].name}.jpg")
    assert sorted(p.name for p in media_dir.rglob("*") if p.is_file()) == sorted(
        [f"{rows[0].name}.jpg", f"{rows[1].name}.png"])
    second_url = item["media_url"].replace(f"{rows[0].name}.jpg", f"{rows[1].name}.png")
    assert fetch_media(api.client, second_url).headers["Content-Type"] == "image/png"


def test_the_same_photo_may_illustrate_two_requests(api, session, key, media_dir):
    data = photo()
    first = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert first.status == 200, first.body
    second = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert second.status == 200, second.body
    urls = [api.get(f"requests/{r.body[0]['service_request_id']}").body[0]["media_url"]
            for r in (first, second)]
    assert urls[0] == urls[1]


def test_the_same_photo_twice_in_one_request(api, session, key, media_dir):
    data = photo()
    result = api.post("requests", {**OTHER, "api_key": key,
                                   "media": [upload(data, "a.jpg"), upload(data, "b.jpg")]})
    assert result.status in (200, 400), result.body


def test_client_media_url_is_stored_as_given(api, session, key, media_dir):
    url = "https://images.example.org/311/photo.jpg?size=large"
    request_id = created(api, {**OTHER, "api_key": key, "media_url": url})
    assert api.get(f"requests/{request_id}").body[0]["media_url"] == url
    assert stored(session, media_dir)["files"] == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Media)
                          .where(Media.request_pk == int(request_id))) == 0


@pytest.mark.parametrize("name", ["0" * 32 + ".jpg", "f" * 32 + ".png", "nope.jpg", "..",
                                  "%2e%2e%2fetc%2fpasswd"])
def test_unknown_media_is_404_in_json(client, session, media_dir, name):
    response = client.get(f"/open311/v2/media/{name}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.data)
    validate("errors", body)
    assert body[0]["code"] == 404


def test_stored_media_with_another_extension_is_404(api, session, key, media_dir):
    request_id = created(api, {**OTHER, "api_key": key, "media": upload(photo())})
    url = api.get(f"requests/{request_id}").body[0]["media_url"]
    assert fetch_media(api.client, url).status_code == 200
    assert fetch_media(api.client, url.replace(".jpg", ".png")).status_code == 404


# == 8. CORS and HTTP caching ==================================================================
def test_cors_on_get(api, five):
    response = api.client.get(api.url("requests"), query_string={"page_size": 2},
                              headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    # any origin: flask-cors echoes the Origin, so caches must key on it
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    if response.headers["Access-Control-Allow-Origin"] != "*":
        assert "origin" in response.headers.get("Vary", "").lower()
    exposed = {h.strip().lower() for h in
               response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"link", "etag", "last-modified"} <= exposed


def test_cors_preflight_allows_get_not_post(api):
    get = api.client.options(api.url("requests"), headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})
    assert get.status_code in (200, 204)
    assert get.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    assert "GET" in get.headers["Access-Control-Allow-Methods"]
    assert "POST" not in get.headers["Access-Control-Allow-Methods"]
    assert "if-none-match" in get.headers["Access-Control-Allow-Headers"].lower()
    post = api.client.options(api.url("requests"), headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert "POST" not in post.headers.get("Access-Control-Allow-Methods", "")


def test_post_answer_is_not_shared_cross_origin(api, session, key):
    response = api.client.post(api.url("requests"), data={**OTHER, "api_key": key},
                               headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.fixture(scope="module")
def restricted_app(engine):
    return create_app({"DATABASE_URL": None, "TESTING": True,
                       "CORS_ORIGINS": "https://ok.example"})


@pytest.fixture
def restricted_client(restricted_app, connection):
    def factory() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)

    Database.set_session_factory(restricted_app, factory)
    yield restricted_app.test_client()
    Database.set_session_factory(restricted_app, None)


def test_cors_origins_can_be_restricted(restricted_client, fmt):
    url = f"/open311/v2/requests.{fmt}"
    ok = restricted_client.get(url, headers={"Origin": "https://ok.example"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    other = restricted_client.get(url, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200  # the browser, not the server, withholds the body
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = restricted_client.options(url, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def _conditional(api, resource, params=None, **headers):
    """A conditional GET (headers as keywords: If_None_Match=...), undecoded: a 304 has no
    body to decode."""
    return api.client.get(api.url(resource), query_string=params,
                          headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_etag_and_last_modified_on_one_request(api, session, backoffice, reported):
    resource = f"requests/{reported.id}"
    first = api.get(resource, schema="requests")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    modified = email.utils.parsedate_to_datetime(first.headers["Last-Modified"])
    assert modified == dt.datetime.fromisoformat(first.body[0]["updated_datetime"])

    cached = _conditional(api, resource, If_None_Match=etag)
    assert cached.status_code == 304 and cached.data == b""
    future = email.utils.format_datetime(dt.datetime.now(UTC) + dt.timedelta(days=1),
                                         usegmt=True)
    assert _conditional(api, resource, If_Modified_Since=future).status_code == 304
    past = email.utils.format_datetime(modified - dt.timedelta(minutes=1), usegmt=True)
    assert _conditional(api, resource, If_Modified_Since=past).status_code == 200

    assert post_update(api, backoffice, reported.id, "FIXED", "c-1").status == 200
    stale = _conditional(api, resource, If_None_Match=etag)
    assert stale.status_code == 200 and stale.data
    assert stale.headers["ETag"] != etag
    assert email.utils.parsedate_to_datetime(stale.headers["Last-Modified"]) > modified
    assert _conditional(api, resource,
                        If_None_Match=stale.headers["ETag"]).status_code == 304


def test_etag_on_the_list(api, session, backoffice, reported):
    first = api.get("requests", schema="requests")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    cached = _conditional(api, "requests", If_None_Match=etag)
    assert cached.status_code == 304 and cached.data == b""
    assert _conditional(api, "requests", If_Modified_Since=modified).status_code == 304
    assert post_update(api, backoffice, reported.id, "IN_PROGRESS", "c-1").status == 200
    changed = _conditional(api, "requests", If_None_Match=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # another representation of the same data has another ETag
    other = _conditional(api, "requests", {"extensions": "true"})
    assert other.headers["ETag"] != changed.headers["ETag"]


def test_if_modified_since_sees_a_request_leave_a_filtered_list(api, session, backoffice):
    add_request(session, when=NOW - dt.timedelta(days=1), updated=NOW - dt.timedelta(hours=2))
    leaving = add_request(session, when=NOW - dt.timedelta(days=1),
                          updated=NOW - dt.timedelta(hours=1))
    first = api.get("requests", {"status": "open"})
    assert len(first.body) == 2
    assert post_update(api, backoffice, leaving.id, "FIXED", "ims-1").status == 200
    again = _conditional(api, "requests", {"status": "open"},
                         If_Modified_Since=first.headers["Last-Modified"])
    assert again.status_code == 200


def test_etag_of_an_empty_list(api):
    first = api.get("requests")
    assert first.body == [] and "ETag" in first.headers
    assert _conditional(api, "requests", If_None_Match=first.headers["ETag"]).status_code == 304


# == 9. Idempotency-Key ========================================================================
def test_same_idempotency_key_and_form_answer_the_first_answer(api, session, key):
    before = stored(session)
    data = {**OTHER, "api_key": key, "description": "Broken bench"}
    headers = {"Idempotency-Key": "retry-0001"}
    first = api.post("requests", data, headers=headers)
    assert first.status == 200, first.body
    second = api.post("requests", dict(data), headers=headers)
    assert second.status == 200
    assert second.raw == first.raw  # byte for byte
    after = stored(session)
    assert after["service_request"] == before["service_request"] + 1
    assert after["request_event"] == before["request_event"] + 1
    assert after["idempotent_answer"] == before["idempotent_answer"] + 1
    # the same key sent as Bearer instead of in the form is the same request
    third = api.post("requests", {k: v for k, v in data.items() if k != "api_key"},
                     headers={**headers, "Authorization": f"Bearer {key}"})
    assert third.raw == first.raw and stored(session) == after


def test_same_idempotency_key_with_another_form_is_400(api, session, key):
    headers = {"Idempotency-Key": "retry-0002"}
    assert api.post("requests", {**OTHER, "api_key": key, "description": "Broken bench"},
                    headers=headers).status == 200
    before = stored(session)
    result = api.post("requests", {**OTHER, "api_key": key, "description": "Broken swing"},
                      headers=headers)
    bad(result, 400, "Idempotency-Key")
    assert stored(session) == before


def test_idempotency_key_belongs_to_one_app(api, session, key):
    headers = {"Idempotency-Key": "shared-key"}
    data = {**OTHER, "description": "Broken bench"}
    first = created(api, {**data, "api_key": key}, headers=headers)
    other = created(api, {**data, "api_key": new_key(session, "another app")}, headers=headers)
    assert first != other


def test_idempotency_key_sees_the_jurisdiction_in_the_query_string(api, session, key):
    from tests.api.test_services import add_second_jurisdiction

    add_second_jurisdiction(session)
    headers = {"Idempotency-Key": "retry-0004"}
    data = {**OTHER, "api_key": key}
    created(api, data, params={"jurisdiction_id": "lacity.org"}, headers=headers)
    before = stored(session)
    again = api.post("requests", data, params={"jurisdiction_id": "example.org"},
                     headers=headers)
    bad(again, 400, "Idempotency-Key")
    assert stored(session) == before


def test_a_refused_post_does_not_use_up_the_key(api, session, key):
    headers = {"Idempotency-Key": "retry-0003"}
    before = stored(session)
    bad(api.post("requests", {**OTHER, "api_key": key, "lat": "91"}, headers=headers), 400,
        "lat")
    assert stored(session) == before
    assert created(api, {**OTHER, "api_key": key}, headers=headers)


def test_a_concurrent_post_with_the_same_key_answers_as_the_first_did(api, session, key,
                                                                       monkeypatch):
    """Two POSTs with one Idempotency-Key at once: both find no answer yet, the first
    stores its request and answer, the second's one statement then fails on the answer and
    stores nothing; it answers what the first did."""
    from open311.repository import requests as requests_repo

    headers = {"Idempotency-Key": "retry-0005"}
    data = {**OTHER, "api_key": key, "description": "Broken bench"}
    first = api.post("requests", data, headers=headers)
    assert first.status == 200, first.body
    before = stored(session)
    checks = []
    found = requests_repo.remembered_answer

    def not_yet_then_found(*args):  # as if the first committed after the second looked
        checks.append(args)
        return None if len(checks) == 1 else found(*args)

    monkeypatch.setattr(requests_repo, "remembered_answer", not_yet_then_found)
    second = api.post("requests", dict(data), headers=headers)
    assert second.status == 200, second.body
    assert second.raw == first.raw
    assert len(checks) == 2  # looked again after the write failed
    assert stored(session) == before


@pytest.mark.parametrize("value", ["k" * 256, "clé-1", "two words", "", "tab\there"])
def test_bad_idempotency_key_is_400(api, session, key, value):
    before = stored(session)
    bad(api.post("requests", {**OTHER, "api_key": key}, headers={"Idempotency-Key": value}),
        400, "Idempotency-Key")
    assert stored(session) == before


def test_idempotency_key_of_255_characters_is_fine(api, key):
    assert created(api, {**OTHER, "api_key": key}, headers={"Idempotency-Key": "k" * 255})


# == 10. nearby duplicates =====================================================================
@pytest.fixture
def neighbours(session) -> dict[str, str]:
    hall = {"lat": HALL_LAT, "long": HALL_LONG}
    made = {
        "near": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=1),
                            lat=HALL_LAT + 10 / M_PER_DEG_LAT, long=HALL_LONG),
        "closed": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=1),
                              status="closed", **hall),
        "other_service": add_request(session, code="OTHER", when=NOW - dt.timedelta(days=1),
                                     **hall),
        "far": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=1),
                           lat=HALL_LAT + 200 / M_PER_DEG_LAT, long=HALL_LONG),
        "old": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=40),
                           **hall),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_post_answers_open_requests_of_the_service_nearby(api, session, key, neighbours):
    listed = api.get("requests", {"nearby": "true", "service_code": "GRAFFITI", **CITY_HALL},
                     root="service_requests", schema="requests")
    assert ids(listed) == [neighbours["near"]]
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"},
                      schema=None)
    assert result.status == 200, result.body
    [answer] = result.body
    nearby = answer.pop("extended_attributes")["nearby_requests"]
    validate("post_response", [answer])
    assert [n["service_request_id"] for n in nearby] == [neighbours["near"]]
    assert nearby[0]["status"] == "open"
    assert nearby[0]["requested_datetime"] == listed.body[0]["requested_datetime"]
    assert 9 < nearby[0]["distance_m"] < 11
    assert answer["service_request_id"] not in [n["service_request_id"] for n in nearby]


def test_post_without_extensions_has_no_nearby_list(api, session, key, neighbours):
    result = api.post("requests", {**GRAFFITI, "api_key": key})  # strict post_response
    assert "extended_attributes" not in result.body[0]


def test_duplicate_radius_is_configurable(api, app, session, key, neighbours, monkeypatch):
    monkeypatch.setitem(app.config, "DUPLICATE_RADIUS_M", 300)
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"},
                      schema=None)
    nearby = result.body[0]["extended_attributes"]["nearby_requests"]
    assert [n["service_request_id"] for n in nearby] == [neighbours["near"],
                                                         neighbours["far"]]  # nearest first
    assert 195 < nearby[1]["distance_m"] < 205
    listed = api.get("requests", {"nearby": "true", "service_code": "GRAFFITI", **CITY_HALL})
    assert set(ids(listed)) == {neighbours["near"], neighbours["far"],
                                result.body[0]["service_request_id"]}
    assert ids(api.get("requests", {"nearby": "true", "service_code": "GRAFFITI",
                                    "radius": 5, **CITY_HALL})) == [
        result.body[0]["service_request_id"]]


def test_nearby_list_is_empty_when_nothing_is_near(api, session, key):
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"},
                      schema=None)
    assert result.body[0]["extended_attributes"] == {"nearby_requests": []}


@pytest.mark.parametrize("params", [
    {"nearby": "true", **CITY_HALL},  # no service_code
    {"nearby": "true", "service_code": "GRAFFITI,OTHER", **CITY_HALL},
    {"nearby": "true", "service_code": "GRAFFITI"},  # no point
])
def test_nearby_needs_one_service_and_a_point(api, params):
    bad(api.get("requests", params), 400, "nearby")


def test_bad_nearby_value_is_400(api):
    bad(api.get("requests", {"nearby": "perhaps", "service_code": "GRAFFITI", **CITY_HALL}),
        400, "nearby")
