"""Multi-tier routing and the services offered at a point, on the real two-tier example:
Los Angeles County (lacounty.gov) above the cities of Los Angeles (lacity.org, loaded by the
harness) and Santa Monica (smgov.net), both formats.

The county and Santa Monica are loaded inside each test's rolled-back transaction by the
``region`` fixture (about half a second), only in the tests that need them. With three
jurisdictions, calls without ``jurisdiction_id`` route by location or are refused.

Every refusal is checked for its HTTP status, a spec errors body naming the problem, and that
nothing at all was stored (row counts of every table a POST writes to).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator

from open311.models import Area, Jurisdiction, ServiceRequest
from open311.operations.bundles import load_bundle
from schemas.json_validation import registry, schema, validator
from tests.helpers import CITY_HALL, LA_CODES, created, error_text, new_key, refused

BUNDLES = Path(__file__).resolve().parents[2] / "jurisdictions"

PIER = {"lat": "34.0094", "long": "-118.4973"}  # Santa Monica pier: smgov.net inside the county
EAST_LA = {"lat": "34.0239", "long": "-118.1720"}  # unincorporated East Los Angeles
MARINA = {"lat": "33.9755", "long": "-118.4385"}  # unincorporated Marina del Rey
LAS_VEGAS = {"lat": "36.17", "long": "-115.14"}  # outside every jurisdiction

# Realtime services with their required attributes (services.yaml of each bundle).
SM_POTHOLE = {"service_code": "POTHOLE", "attribute[LOCATION_TYPE]": "STREET"}
COUNTY_POTHOLE = {"service_code": "POTHOLE", "attribute[SIZE]": "LARGE"}  # SIZE is optional
VECTOR = {"service_code": "VECTOR-CONTROL", "attribute[PROBLEM]": "GREEN_POOL"}
GRAFFITI = {"service_code": "GRAFFITI", "attribute[SURFACE]": "BUILDING"}
FOOD = {
    "service_code": "PUBLIC-HEALTH-FOOD",
    "attribute[FACILITY_NAME]": "Taco Stand",
    "attribute[COMPLAINT]": "VERMIN",
}

COUNTY_WIDE = ["VECTOR-CONTROL", "PUBLIC-HEALTH-FOOD"]
ALL = ["lacity.org", "lacounty.gov", "smgov.net"]

# What the three bundles' area files say about LA City Hall (checked against the Area table
# in test_city_hall_areas_are_the_real_ones).
CITY_HALL_AREAS = [
    {"jurisdiction_id": "lacity.org", "layer": "council_district", "id": "14", "name": "14"},
    {
        "jurisdiction_id": "lacity.org",
        "layer": "neighborhood_council",
        "id": "52",
        "name": "DOWNTOWN LOS ANGELES",
    },
    {"jurisdiction_id": "lacity.org", "layer": "region", "id": "central", "name": "Central"},
    {
        "jurisdiction_id": "lacounty.gov",
        "layer": "region",
        "id": "central-la",
        "name": "Central LA",
    },
]


@pytest.fixture
def region(session):
    """Los Angeles County and Santa Monica next to the harness's City of Los Angeles."""
    load_bundle(session, BUNDLES / "lacounty.gov")
    load_bundle(session, BUNDLES / "smgov.net")
    depths = {j.jurisdiction_id: j.depth for j in session.scalars(sa.select(Jurisdiction))}
    assert depths == {"lacounty.gov": 0, "lacity.org": 1, "smgov.net": 1}


@pytest.fixture
def key(session) -> str:
    return new_key(session)


# -- helpers ---------------------------------------------------------------------------------


def landed_in(api, session, request_id: str, jurisdiction_id: str) -> dict:
    """Assert the request belongs to ``jurisdiction_id`` (stored jurisdiction_pk, found by
    GET there, 404 in every other jurisdiction); its item."""
    stored = session.get(ServiceRequest, int(request_id))
    session.refresh(stored)
    owner = session.scalar(
        sa.select(Jurisdiction.jurisdiction_id).where(Jurisdiction.id == stored.jurisdiction_pk)
    )
    assert owner == jurisdiction_id
    found = api.get(
        f"requests/{request_id}",
        {"jurisdiction_id": jurisdiction_id},
        root="service_requests",
        schema="requests",
    )
    assert found.status == 200, found.body
    assert [r["service_request_id"] for r in found.body] == [request_id]
    for other in ALL:
        if other != jurisdiction_id:
            missing = api.get(f"requests/{request_id}", {"jurisdiction_id": other})
            assert missing.status == 404, (other, missing.body)
            assert request_id in error_text(missing)
    return found.body[0]


def services_at(api, params) -> list[dict]:
    result = api.get("services", params, root="services")
    assert result.status == 200, result.body
    check_services_at_point(result.body)
    return result.body


def services_at_point_validator() -> Draft202012Validator:
    """The strict "services" schema forbids extra keys; the service list at a point is an
    extension whose items add a required ``jurisdiction_id``: the same schema with that key."""
    extended = copy.deepcopy(schema("services"))
    extended["$id"] = "services_at_point.json"
    item = extended["$defs"]["service"]
    item["required"] = [*item["required"], "jurisdiction_id"]
    item["properties"]["jurisdiction_id"] = {"type": "string", "minLength": 1}
    return Draft202012Validator(extended, registry=registry())


def check_services_at_point(body: list[dict]) -> None:
    services_at_point_validator().validate(body)
    if body:  # the extension key is exactly what the strict schema refuses
        assert not validator("services").is_valid(body)
    codes = [s["service_code"] for s in body]
    assert len(codes) == len(set(codes)), f"a service code listed twice: {codes}"


def pairs(services: list[dict]) -> list[tuple[str, str]]:
    return [(s["service_code"], s["jurisdiction_id"]) for s in services]


# -- POST without jurisdiction_id: routed by location ----------------------------------------
# One county load per test (about 0.5 s): each test runs several cases.
def test_post_without_jurisdiction_goes_to_the_deepest_tier_offering_it(api, session, key, region):
    # A city service inside a member city stays with the city.
    item = landed_in(
        api, session, created(api, {**SM_POTHOLE, **PIER, "api_key": key}), "smgov.net"
    )
    assert item["service_code"] == "POTHOLE"
    assert item["agency_responsible"] == "City of Santa Monica Public Works"
    assert (item["lat"], item["long"]) == (34.0094, -118.4973)

    # A regional service goes to the county, even inside LA City or Santa Monica.
    item = landed_in(
        api, session, created(api, {**VECTOR, **CITY_HALL, "api_key": key}), "lacounty.gov"
    )
    assert item["agency_responsible"] == "Greater Los Angeles County Vector Control District"
    assert item["service_notice"] == "Tip and toss standing water around your home once a week."
    landed_in(api, session, created(api, {**VECTOR, **PIER, "api_key": key}), "lacounty.gov")

    # A city-type service in an unincorporated area goes to the county (coverage layer).
    item = landed_in(
        api, session, created(api, {**COUNTY_POTHOLE, **EAST_LA, "api_key": key}), "lacounty.gov"
    )
    assert item["agency_responsible"] == "Los Angeles County Public Works"

    # LA City's own service at City Hall.
    item = landed_in(
        api, session, created(api, {**GRAFFITI, **CITY_HALL, "api_key": key}), "lacity.org"
    )
    assert item["agency_responsible"] == "Office of Community Beautification"

    # A resolved address is routed by its point.
    item = landed_in(
        api,
        session,
        created(api, {**GRAFFITI, "api_key": key, "address_string": "1353 W Bellevue Ave"}),
        "lacity.org",
    )
    assert item["address"] == "1353 W BELLEVUE AVE, 90026"


def test_post_batch_and_area_limited_county_services(api, session, key, region):
    result = api.post("requests", {**FOOD, **CITY_HALL, "api_key": key})
    assert result.status == 200, result.body
    token = result.body[0]["token"]
    assert "service_request_id" not in result.body[0]
    pending = api.get(f"tokens/{token}", {"jurisdiction_id": "lacounty.gov"}, schema="token")
    assert pending.status == 200
    assert pending.body == [{"service_request_id": None, "token": token}]
    elsewhere = api.get(f"tokens/{token}", {"jurisdiction_id": "lacity.org"})
    assert elsewhere.status == 404 and token in error_text(elsewhere)

    # MARINA-MAINTENANCE covers one unincorporated area (coverage ids).
    data = {"service_code": "MARINA-MAINTENANCE", "attribute[PLACE]": "DOCK", "api_key": key}
    refused(
        api,
        session,
        {**data, **EAST_LA},
        400,
        "'MARINA-MAINTENANCE'",
        "not offered at this location",
    )
    landed_in(api, session, created(api, {**data, **MARINA}), "lacounty.gov")


def test_post_without_jurisdiction_refusals(api, session, key, region):
    # LA City has no POTHOLE; the county's covers its unincorporated areas only.
    refused(
        api,
        session,
        {**COUNTY_POTHOLE, **CITY_HALL, "api_key": key},
        400,
        "'POTHOLE'",
        "not offered at this location",
    )
    refused(
        api,
        session,
        {**GRAFFITI, **LAS_VEGAS, "api_key": key},
        400,
        "outside every jurisdiction",
        "lat=36.17",
        "long=-115.14",
    )
    refused(
        api,
        session,
        {"service_code": "NOPE", **CITY_HALL, "api_key": key},
        404,
        "'NOPE'",
        "lacity.org",
        "lacounty.gov",
    )
    refused(
        api,
        session,
        {**VECTOR, "address_string": "99999 Nowhere Blvd", "api_key": key},
        400,
        "address_string '99999 Nowhere Blvd'",
        "could not be found",
    )


# -- POST with jurisdiction_id ---------------------------------------------------------------
def test_post_with_jurisdiction_id(api, session, key, region):
    # The point must lie inside the named jurisdiction.
    refused(
        api,
        session,
        {
            "service_code": "GRAFFITI",
            "attribute[SURFACE]": "WALL",
            **CITY_HALL,
            "jurisdiction_id": "smgov.net",
            "api_key": key,
        },
        400,
        "outside the boundary of City of Santa Monica (smgov.net)",
    )
    refused(
        api,
        session,
        {
            "service_code": "GRAFFITI",
            "attribute[SURFACE]": "WALL",
            "address_string": "1353 W Bellevue Ave",
            "jurisdiction_id": "smgov.net",
            "api_key": key,
        },
        400,
        "outside the boundary of City of Santa Monica (smgov.net)",
    )
    # ... and the service must be offered there.
    refused(
        api,
        session,
        {**COUNTY_POTHOLE, **CITY_HALL, "jurisdiction_id": "lacounty.gov", "api_key": key},
        400,
        "'POTHOLE'",
        "not offered at this location",
        "lacounty.gov",
    )
    refused(
        api,
        session,
        {**COUNTY_POTHOLE, **CITY_HALL, "jurisdiction_id": "lacity.org", "api_key": key},
        404,
        "'POTHOLE'",
        "lacity.org",
    )
    # The parent takes a request inside a member city when named.
    landed_in(
        api,
        session,
        created(api, {**VECTOR, **PIER, "jurisdiction_id": "lacounty.gov", "api_key": key}),
        "lacounty.gov",
    )


# -- GET services at a point -----------------------------------------------------------------
def test_services_at_a_point_across_tiers(api, region):
    found = services_at(api, PIER)
    assert pairs(found) == [
        ("POTHOLE", "smgov.net"),
        ("GRAFFITI", "smgov.net"),
        ("STREETLIGHT", "smgov.net"),
        ("BULKY-ITEMS", "smgov.net"),
        ("ILLEGAL-DUMPING", "smgov.net"),
        ("VECTOR-CONTROL", "lacounty.gov"),
        ("PUBLIC-HEALTH-FOOD", "lacounty.gov"),
    ]
    pothole = found[0]
    assert pothole["description"] == (
        "Report a pothole or damaged pavement on a city street or alley."
    )
    assert pothole["metadata"] is True and pothole["type"] == "realtime"

    assert pairs(services_at(api, EAST_LA)) == [
        ("VECTOR-CONTROL", "lacounty.gov"),
        ("PUBLIC-HEALTH-FOOD", "lacounty.gov"),
        ("ANIMAL-CARE", "lacounty.gov"),
        ("POTHOLE", "lacounty.gov"),
        ("STREETLIGHT", "lacounty.gov"),
        ("ILLEGAL-DUMPING", "lacounty.gov"),
    ]

    codes = [s["service_code"] for s in services_at(api, MARINA)]
    assert "MARINA-MAINTENANCE" in codes and "POTHOLE" in codes

    found = services_at(api, CITY_HALL)
    assert pairs(found) == (
        [(code, "lacity.org") for code in LA_CODES]
        + [(code, "lacounty.gov") for code in COUNTY_WIDE]
    )
    # The county's unincorporated-only services are not offered here.
    for code in ("ANIMAL-CARE", "POTHOLE", "STREETLIGHT", "MARINA-MAINTENANCE"):
        assert code not in [s["service_code"] for s in found]

    assert services_at(api, LAS_VEGAS) == []


def test_services_at_a_point_of_a_named_jurisdiction(api, region):
    found = services_at(api, {**PIER, "jurisdiction_id": "lacounty.gov"})
    assert pairs(found) == [(code, "lacounty.gov") for code in COUNTY_WIDE]
    found = services_at(api, {**PIER, "jurisdiction_id": "smgov.net"})
    assert [s["jurisdiction_id"] for s in found] == ["smgov.net"] * 5

    result = api.get("services", {**CITY_HALL, "jurisdiction_id": "smgov.net"})
    assert result.status == 400 and [e["code"] for e in result.body] == [400]
    assert "outside the boundary of City of Santa Monica (smgov.net)" in error_text(result)

    result = api.get("services")  # neither a point nor a jurisdiction, with three
    assert result.status == 400 and [e["code"] for e in result.body] == [400]
    assert "jurisdiction_id is required" in error_text(result)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"lat": "91", "long": "-118.2"}, "lat: must be between -90 and 90"),
        ({"lat": "34.05", "long": "-181"}, "long: must be between -180 and 180"),
        ({"lat": "34.05"}, "long is missing"),
        ({"long": "-118.2"}, "lat is missing"),
        ({"lat": "north", "long": "-118.2"}, "lat: Not a valid number"),
    ],
)
def test_services_bad_point_is_400_naming_the_parameter(api, params, needle):
    result = api.get("services", params)
    assert result.status == 400, result.body
    assert [e["code"] for e in result.body] == [400]
    assert needle in error_text(result)


def test_services_at_point_with_only_la_city(api):
    """Without the county (the harness's single jurisdiction): the city's catalogue."""
    assert pairs(services_at(api, CITY_HALL)) == [(code, "lacity.org") for code in LA_CODES]


# -- areas recorded with the request ---------------------------------------------------------
def test_city_hall_areas_are_the_real_ones(session, region):
    """The expected areas, read from the Area table (the bundles' area files) directly."""
    here = sa.func.ST_SetSRID(sa.func.ST_MakePoint(-118.2428, 34.0537), 4326)
    rows = session.execute(
        sa.select(Jurisdiction.jurisdiction_id, Area.layer, Area.area_id, Area.name)
        .join(Jurisdiction, Jurisdiction.id == Area.jurisdiction_pk)
        .where(sa.func.ST_Covers(Area.geom, here))
        .order_by(Jurisdiction.jurisdiction_id, Area.layer, Area.area_id)
    ).all()
    assert [
        {"jurisdiction_id": j, "layer": layer, "id": i, "name": n} for j, layer, i, n in rows
    ] == CITY_HALL_AREAS


def _by_area(areas: list[dict]) -> list[dict]:
    return sorted(areas, key=lambda a: (a["jurisdiction_id"], a["layer"], a["id"]))


def test_request_records_its_areas_in_extended_attributes(api, session, key, region):
    request_id = created(api, {**GRAFFITI, **CITY_HALL, "api_key": key})
    stored = session.get(ServiceRequest, int(request_id))
    assert len(stored.area_pks) == len(CITY_HALL_AREAS)

    one = api.get(
        f"requests/{request_id}",
        {"jurisdiction_id": "lacity.org", "extensions": "true"},
        root="service_requests",
        schema="requests_extended",
    )
    assert one.status == 200
    assert _by_area(one.body[0]["extended_attributes"]["areas"]) == CITY_HALL_AREAS

    listing = api.get(
        "requests",
        {"jurisdiction_id": "lacity.org", "extensions": "true"},
        schema="requests_extended",
    )
    assert listing.status == 200
    item = next(r for r in listing.body if r["service_request_id"] == request_id)
    assert _by_area(item["extended_attributes"]["areas"]) == CITY_HALL_AREAS

    # Without extensions=true: no extended_attributes, and the strict schema holds.
    for params in (
        {"jurisdiction_id": "lacity.org"},
        {"jurisdiction_id": "lacity.org", "extensions": "false"},
    ):
        one = api.get(f"requests/{request_id}", params, schema="requests")
        assert one.status == 200 and "extended_attributes" not in one.body[0]
        assert b"extended_attributes" not in one.raw
        listing = api.get("requests", params, schema="requests")
        assert listing.status == 200
        assert request_id in [r["service_request_id"] for r in listing.body]
        assert all("extended_attributes" not in r for r in listing.body)


def test_county_requests_record_only_county_areas(api, key, region):
    def areas(request_id):
        one = api.get(
            f"requests/{request_id}",
            {"jurisdiction_id": "lacounty.gov", "extensions": "true"},
            schema="requests_extended",
        )
        assert one.status == 200
        return one.body[0], _by_area(one.body[0]["extended_attributes"]["areas"])

    _, found = areas(created(api, {**VECTOR, **CITY_HALL, "api_key": key}))
    assert found == [CITY_HALL_AREAS[-1]]

    _, found = areas(created(api, {**COUNTY_POTHOLE, **EAST_LA, "api_key": key}))
    assert found == [
        {
            "jurisdiction_id": "lacounty.gov",
            "layer": "region",
            "id": "eastside",
            "name": "Eastside",
        },
        {
            "jurisdiction_id": "lacounty.gov",
            "layer": "unincorporated",
            "id": "east-los-angeles",
            "name": "East Los Angeles",
        },
    ]

    # An unverified address (the county accepts them) has no point, hence no areas.
    item, found = areas(
        created(
            api,
            {
                **VECTOR,
                "address_string": "99999 Nowhere Blvd",
                "jurisdiction_id": "lacounty.gov",
                "api_key": key,
            },
        )
    )
    assert found == [] and item["lat"] is None and item["long"] is None
    assert item["address"] == "99999 Nowhere Blvd"
