"""Address resolution (address_string, address_id), unverified addresses, reverse geocoding
and the address search extension, on the City of Los Angeles as loaded by the harness (its
20,798 real address points), both formats.

Expected points are read from jurisdictions/lacity.org/addresses.csv itself. Every refusal is
checked for its HTTP status, a spec errors body naming the problem, and that nothing at all
was stored (row counts of every table a POST writes to).
"""

from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from open311.models import ServiceRequest
from open311.operations.bundles import load_bundle
from tests.helpers import Api, copy_bundle, created, error_text, new_key, refused

LA_BUNDLE = Path(__file__).resolve().parents[2] / "jurisdictions" / "lacity.org"

BELLEVUE = "1353 W BELLEVUE AVE, 90026"  # a real row of addresses.csv
BELLEVUE_ID = "1353 W BELLEVUE AVE 90026"  # its derived address_id
INTERSECTION = "AARON ST AT ALVARADO ST, 90026"  # a real intersection row
INTERSECTION_ID = "AARON ST & ALVARADO ST 90026"
ISOLATED = "10044 N ANDASOL AVE, 91325"  # no other address point within 300 m
OUTSIDE_LA = "1401 N FAIRFAX AV, 90046"  # a MyLA311 address point in West Hollywood

SUGGESTION_KEYS = ["address_id", "address", "zipcode", "lat", "long", "jurisdiction_id"]


@functools.cache
def csv_rows() -> dict[str, dict[str, str]]:
    with (LA_BUNDLE / "addresses.csv").open(encoding="utf-8", newline="") as fh:
        return {row["address"]: row for row in csv.DictReader(fh)}


def csv_point(address: str) -> tuple[float, float]:
    """(lat, long) of an address of the CSV."""
    row = csv_rows()[address]
    return float(row["lat"]), float(row["lon"])


@pytest.fixture
def key(session) -> str:
    return new_key(session)


# -- helpers ---------------------------------------------------------------------------------


def fetch(api, request_id: str, jurisdiction_id: str = "lacity.org") -> dict:
    result = api.get(
        f"requests/{request_id}",
        {"jurisdiction_id": jurisdiction_id},
        root="service_requests",
        schema="requests",
    )
    assert result.status == 200, result.body
    return result.body[0]


def stored(session, request_id: str) -> dict:
    """The stored request's location fields; lat/long read from the geometry (y, x)."""
    row = session.execute(
        sa.select(
            ServiceRequest.address,
            ServiceRequest.address_id,
            ServiceRequest.zipcode,
            ServiceRequest.address_verified,
            sa.func.ST_Y(ServiceRequest.location).label("lat"),
            sa.func.ST_X(ServiceRequest.location).label("long"),
        ).where(ServiceRequest.id == int(request_id))
    ).one()
    return row._asdict()


def resolved_to(api, session, request_id: str, address: str, address_id: str) -> None:
    """The request was located at the address point ``address`` of the CSV."""
    lat, long = csv_point(address)
    assert stored(session, request_id) == {
        "address": address,
        "address_id": address_id,
        "zipcode": csv_rows()[address]["zipcode"],
        "address_verified": True,
        "lat": pytest.approx(lat, abs=1e-9),
        "long": pytest.approx(long, abs=1e-9),
    }
    item = fetch(api, request_id)
    assert (item["address"], item["address_id"], item["zipcode"]) == (
        address,
        address_id,
        csv_rows()[address]["zipcode"],
    )
    assert (item["lat"], item["long"]) == (lat, long)


def other(key: str, **location) -> dict:
    return {"service_code": "OTHER", "api_key": key, **location}


# -- address_string ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "1353 W BELLEVUE AVE, 90026",  # as written in the file
        "1353 w bellevue ave",  # case
        "1353 W. Bellevue Ave.",  # punctuation
        "1353 W Bellevue Avenue",  # street type spelled out
        "1353 West Bellevue Ave",  # direction spelled out
        "1353 West Bellevue Avenue, Los Angeles, CA 90026",  # city, state and ZIP
        "1353 W Bellevue Ave Apt 4",  # unit
        "1353 W Bellevue Ave, Apt 4, Los Angeles, CA 90026-1234",  # unit and ZIP+4
        "1353 w. bellevue av. #4",
    ],
)
def test_address_string_variants_resolve_to_the_same_point(api, session, key, text):
    request_id = created(api, other(key, address_string=text))
    resolved_to(api, session, request_id, BELLEVUE, BELLEVUE_ID)


@pytest.mark.parametrize("text", ["1353 W Belevue Ave", "1353 West Bellvue Avenue, 90026"])
def test_misspelt_street_resolves_fuzzily(api, session, key, text):
    resolved_to(api, session, created(api, other(key, address_string=text)), BELLEVUE, BELLEVUE_ID)


def test_wrong_house_number_on_a_real_street_is_400(api, session, key):
    assert not any(a.startswith("1355 W BELLEVUE") for a in csv_rows())
    refused(
        api,
        session,
        other(key, address_string="1355 W Bellevue Ave"),
        400,
        "address_string '1355 W Bellevue Ave'",
        "could not be found",
    )


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("100 E 8th St, Los Angeles, CA", "E 8TH ST"),
        ("323 E 88th St, Los Angeles, CA", "E 88TH ST"),
        ("1353 W Belmont Ave", "BELMONT AVE"),
    ],
)
def test_fuzzy_match_never_swaps_a_known_street_for_another(api, session, key, text, street):
    assert any(f" {street}," in address for address in csv_rows())  # a street of the file
    house = text.split()[0]
    assert not any(a.startswith(house) and f" {street}," in a for a in csv_rows())
    refused(api, session, other(key, address_string=text), 400, "could not be found")


@pytest.mark.parametrize(
    "text",
    [
        "AARON ST & ALVARADO ST",
        "Alvarado St and Aaron St",
        "Aaron Street at Alvarado Street, Los Angeles, CA 90026",
    ],
)
def test_intersection_resolves(api, session, key, text):
    resolved_to(
        api, session, created(api, other(key, address_string=text)), INTERSECTION, INTERSECTION_ID
    )


def test_unknown_address_is_400(api, session, key):
    refused(
        api,
        session,
        other(key, address_string="99999 Nowhere Blvd, Los Angeles"),
        400,
        "address_string '99999 Nowhere Blvd, Los Angeles'",
        "could not be found",
    )


# -- address_id --------------------------------------------------------------------------------
def test_address_id_resolves_exactly(api, session, key):
    resolved_to(
        api, session, created(api, other(key, address_id=BELLEVUE_ID)), BELLEVUE, BELLEVUE_ID
    )
    resolved_to(
        api,
        session,
        created(api, other(key, address_id=INTERSECTION_ID)),
        INTERSECTION,
        INTERSECTION_ID,
    )


@pytest.mark.parametrize(
    "address_id", ["545483", "1353 w bellevue ave 90026", "1353 W BELLEVUE AVE"]
)
def test_unknown_address_id_is_400(api, session, key, address_id):
    refused(
        api,
        session,
        other(key, address_id=address_id),
        400,
        f"address_id '{address_id}'",
        "could not be found",
    )


def test_resolved_address_is_checked_against_the_boundary(api, session, key):
    lat, long = csv_point(OUTSIDE_LA)
    inside = session.scalar(
        sa.text(
            "SELECT ST_Covers(boundary, ST_SetSRID(ST_MakePoint(:long, :lat), 4326)) "
            "FROM jurisdiction WHERE jurisdiction_id = 'lacity.org'"
        ),
        {"long": long, "lat": lat},
    )
    assert inside is False  # the premise: a real address point outside the city
    for location in (
        {"address_id": "1401 N FAIRFAX AVE 90046"},
        {"address_string": "1401 North Fairfax Avenue"},
    ):
        refused(
            api,
            session,
            other(key, **location),
            400,
            f"lat={lat}, long={long} is outside the boundary of City of Los Angeles",
        )


# -- accept_unverified_addresses ---------------------------------------------------------------
@pytest.fixture
def unverified(session, tmp_path) -> str:
    """A copy of the LA bundle (with its areas and address points) that accepts unverified
    addresses."""
    bundle = copy_bundle(
        LA_BUNDLE, tmp_path / "la-unverified.example", "la-unverified.example", keep_geography=True
    )
    path = bundle / "jurisdiction.yaml"
    text, count = re.subn(
        r"accept_unverified_addresses: false",
        "accept_unverified_addresses: true",
        path.read_text(encoding="utf-8"),
    )
    assert count == 1
    path.write_text(text, encoding="utf-8")
    load_bundle(session, bundle)
    return "la-unverified.example"


def test_unresolvable_address_is_kept_unverified_where_accepted(api, session, key, unverified):
    request_id = created(
        api, other(key, address_string="99999 Nowhere Blvd", jurisdiction_id=unverified)
    )
    assert stored(session, request_id) == {
        "address": "99999 Nowhere Blvd",
        "address_id": None,
        "zipcode": None,
        "address_verified": False,
        "lat": None,
        "long": None,
    }
    item = fetch(api, request_id, unverified)
    assert (item["address"], item["lat"], item["long"]) == ("99999 Nowhere Blvd", None, None)

    # The same address stays refused where unverified addresses are not accepted ...
    refused(
        api,
        session,
        other(key, address_string="99999 Nowhere Blvd", jurisdiction_id="lacity.org"),
        400,
        "could not be found",
    )
    # ... and without jurisdiction_id (two jurisdictions here: nothing to route by).
    refused(
        api, session, other(key, address_string="99999 Nowhere Blvd"), 400, "could not be found"
    )
    # A resolvable address is still resolved and verified.
    request_id = created(
        api, other(key, address_string="1353 W Bellevue Ave", jurisdiction_id=unverified)
    )
    assert stored(session, request_id)["address_verified"] is True
    assert stored(session, request_id)["address_id"] == BELLEVUE_ID


# -- reverse geocoding -------------------------------------------------------------------------
def distance_to_nearest(session, lat: float, long: float) -> float:
    """Metres to the nearest address point (the 20 nearest by KNN, measured on the
    spheroid)."""
    return session.scalar(
        sa.text(
            "SELECT min(ST_Distance(location::geography, here::geography)) FROM ("
            " SELECT location, ST_SetSRID(ST_MakePoint(:long, :lat), 4326) AS here"
            " FROM address_point"
            " ORDER BY location <-> ST_SetSRID(ST_MakePoint(:long, :lat), 4326) LIMIT 20) AS n"
        ),
        {"long": long, "lat": lat},
    )


def test_point_near_an_address_gets_that_address(api, session, key):
    lat, long = 34.06823, -118.25562
    assert distance_to_nearest(session, lat, long) < 5
    request_id = created(api, other(key, lat=str(lat), long=str(long)))
    assert stored(session, request_id) == {
        "address": BELLEVUE,
        "address_id": BELLEVUE_ID,
        "zipcode": "90026",
        "address_verified": True,
        "lat": lat,
        "long": long,
    }
    item = fetch(api, request_id)
    assert (item["address"], item["address_id"], item["zipcode"]) == (
        BELLEVUE,
        BELLEVUE_ID,
        "90026",
    )
    assert (item["lat"], item["long"]) == (lat, long)  # the point sent, not the address's


def test_reverse_geocoding_stops_at_50_metres(api, session, key):
    lat, long = csv_point(ISOLATED)
    near, far = round(lat + 0.00036, 8), round(lat + 0.00054, 8)  # about 40 m and 60 m north
    assert 35 < distance_to_nearest(session, near, long) < 45
    assert 55 < distance_to_nearest(session, far, long) < 65

    request_id = created(api, other(key, lat=str(near), long=str(long)))
    assert stored(session, request_id)["address"] == ISOLATED

    request_id = created(api, other(key, lat=str(far), long=str(long)))
    assert stored(session, request_id) == {
        "address": None,
        "address_id": None,
        "zipcode": None,
        "address_verified": None,
        "lat": far,
        "long": long,
    }
    item = fetch(api, request_id)
    assert (item["address"], item["address_id"], item["zipcode"]) == (None, None, None)


# -- GET addresses (search for autocomplete) ---------------------------------------------------
def search(api, params) -> list[dict]:
    result = api.get("addresses", params, root="addresses")
    assert result.status == 200, result.body
    assert isinstance(result.body, list)
    for item in result.body:
        assert list(item) == SUGGESTION_KEYS
        assert isinstance(item["lat"], float) and isinstance(item["long"], float)
        assert item["jurisdiction_id"] == "lacity.org"
    if api.fmt == "json":  # numbers in the JSON text itself, not strings
        for item in json.loads(result.raw):
            assert type(item["lat"]) is float and type(item["long"]) is float
    return result.body


@pytest.mark.parametrize("q", ["1353 W BELL", "1353 west bell", "1353 W Bellevue Ave"])
def test_search_puts_the_prefix_match_first(api, q):
    found = search(api, {"q": q})
    lat, long = csv_point(BELLEVUE)
    assert found[0] == {
        "address_id": BELLEVUE_ID,
        "address": BELLEVUE,
        "zipcode": "90026",
        "lat": lat,
        "long": long,
        "jurisdiction_id": "lacity.org",
    }


def test_search_ranks_and_limits(api):
    found = search(api, {"q": "bellevue"})
    assert len(found) == 10  # the default limit; the file has more Bellevue addresses
    assert all("BELLEVUE" in item["address"] for item in found)
    assert len(search(api, {"q": "bellevue", "limit": 3})) == 3
    assert len(search(api, {"q": "bellevue", "limit": "50"})) <= 50
    intersection = search(api, {"q": "Aaron St &", "limit": 1})
    assert [i["address_id"] for i in intersection] == [INTERSECTION_ID]


def test_search_without_match_is_empty(api):
    assert search(api, {"q": "zzzqqqxxx"}) == []


def test_search_xml_shape(client):
    api = Api(client, "xml")
    result = api.get("addresses", {"q": "1353 W BELL", "limit": 2}, root="addresses")
    assert result.raw.startswith(
        b'<?xml version="1.0" encoding="utf-8"?><addresses><address>'
        b"<address_id>1353 W BELLEVUE AVE 90026</address_id>"
        b"<address>1353 W BELLEVUE AVE, 90026</address>"
    )
    assert result.raw.count(b"<address><address_id>") == 2


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": "bellevue", "limit": "0"}, "limit: Must be greater than or equal to 1"),
        ({"q": "bellevue", "limit": "51"}, "less than or equal to 50"),
        ({"q": "bellevue", "limit": "many"}, "limit: Not a valid integer"),
        ({}, "q: is required"),
        ({"q": "1"}, "q: Shorter than minimum length 2"),
        ({"q": "x" * 201}, "q: must be at most 200 characters"),
    ],
)
def test_search_bad_parameters_are_400(api, params, needle):
    result = api.get("addresses", params)
    assert result.status == 400, result.body
    assert [e["code"] for e in result.body] == [400]
    assert needle in error_text(result)


def test_search_in_unknown_jurisdiction_is_404(api):
    result = api.get("addresses", {"q": "bellevue", "jurisdiction_id": "nowhere.example"})
    assert result.status == 404 and [e["code"] for e in result.body] == [404]
    assert "nowhere.example" in error_text(result)
