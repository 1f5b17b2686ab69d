"""A client that knows only the base URL, on a server of several jurisdictions (the demo
region: LA County, LA City, Santa Monica): with OPEN311_DEFAULT_JURISDICTION set, reads
without jurisdiction_id are about that jurisdiction (discovery names it), a POST is still
routed by its location, and a request or token is found wherever it was routed. Unknown
ids and tokens are 404 either way; without a default such reads are a 400."""

from __future__ import annotations

import pytest

from open311.operations.keys import create_key
from tests.api.test_routing import ALL, LA_CODES, PIER, SM_POTHOLE, region  # noqa: F401
from tests.helpers import CITY_HALL, Api, add_request, bad, created, new_key

ENCAMPMENT = {
    "service_code": "HOMELESS-ENCAMPMENT",
    **CITY_HALL,
    "attribute[LOCATION_TYPE]": "SIDEWALK",
}


@pytest.fixture
def plain(app_with, fmt, region) -> Api:  # noqa: F811
    """A client of the region as a base-URL-only client finds it: the demo's default."""
    return Api(app_with(DEFAULT_JURISDICTION="lacity.org").test_client(), fmt)


def codes(result) -> list[str]:
    return [s["service_code"] for s in result.body]


def test_without_a_default_reads_must_name_a_jurisdiction(api, region):  # noqa: F811
    for resource in ("services", "requests", "services/GRAFFITI", "servicerequestupdates"):
        bad(api.get(resource), 400, "jurisdiction_id is required")
    discovery = api.get("discovery", root="discovery", schema="discovery").body
    assert discovery["endpoints"][0]["default_jurisdiction_id"] is None


def test_discovery_names_the_default(plain):
    discovery = plain.get("discovery", root="discovery", schema="discovery").body
    assert discovery["endpoints"][0]["default_jurisdiction_id"] == "lacity.org"


def test_one_jurisdiction_is_everyones_default(api):
    discovery = api.get("discovery", root="discovery", schema="discovery").body
    assert discovery["endpoints"][0]["default_jurisdiction_id"] == "lacity.org"


def test_reads_without_jurisdiction_id_are_about_the_default(plain, session):
    assert codes(plain.get("services", root="services", schema="services")) == LA_CODES
    definition = plain.get(
        "services/BULKY-ITEMS", root="service_definition", schema="service_definition"
    )
    assert definition.status == 200 and definition.body["service_code"] == "BULKY-ITEMS"
    mine = add_request(session, code="GRAFFITI")
    listed = plain.get("requests", root="service_requests", schema="requests")
    assert listed.status == 200 and str(mine.id) in [r["service_request_id"] for r in listed.body]
    updates = plain.get("servicerequestupdates", root="service_request_updates")
    assert updates.status == 200
    assert codes(plain.get("services", {"jurisdiction_id": "smgov.net"})) != LA_CODES


def test_a_post_is_routed_by_location_and_found_where_it_went(plain, session):
    key = new_key(session)
    request_id = created(plain, {**SM_POTHOLE, **PIER, "api_key": key})
    found = plain.get(f"requests/{request_id}", root="service_requests", schema="requests")
    assert found.status == 200 and found.body[0]["service_code"] == "POTHOLE"
    assert found.body[0]["requested_datetime"].endswith(("-08:00", "-07:00"))
    in_la = plain.get("requests", {"service_request_id": request_id})
    assert in_la.body == []  # the list is the default jurisdiction's
    in_sm = plain.get(
        "requests", {"service_request_id": request_id, "jurisdiction_id": "smgov.net"}
    )
    assert [r["service_request_id"] for r in in_sm.body] == [request_id]
    bad(plain.get(f"requests/{request_id}", {"jurisdiction_id": "lacity.org"}), 404, "not found")


def test_a_token_is_found_wherever_it_was_routed(plain, session):
    key = new_key(session)
    answer = plain.post("requests", {**ENCAMPMENT, "api_key": key})
    assert answer.status == 200, answer.body
    token = answer.body[0]["token"]
    found = plain.get(f"tokens/{token}", root="service_requests")
    assert found.status == 200
    assert found.body == [{"service_request_id": None, "token": token}]
    bad(plain.get(f"tokens/{token}", {"jurisdiction_id": "smgov.net"}), 404, "not found")


@pytest.mark.parametrize(
    "resource", ["requests/999999999", "tokens/no-such-token", "services/NO-SUCH-SERVICE"]
)
def test_unknown_ids_and_tokens_are_404_either_way(plain, api, resource):
    bad(plain.get(resource), 404)
    bad(api.get(resource, {"jurisdiction_id": "lacity.org"}), 404)


def test_an_unknown_jurisdiction_is_404_whatever_the_default(plain):
    bad(plain.get("services", {"jurisdiction_id": "nowhere.example"}), 404, "nowhere.example")


def test_a_back_office_updates_a_request_without_naming_its_jurisdiction(plain, session):
    key = new_key(session)
    request_id = created(plain, {**SM_POTHOLE, **PIER, "api_key": key})
    backoffice = create_key(session, "FMS", scopes=("backoffice",)).key
    result = plain.post(
        "servicerequestupdates",
        {
            "api_key": backoffice,
            "service_request_id": request_id,
            "update_id": "sm-1",
            "status": "FIXED",
            "updated_datetime": "2026-01-01T10:00:00Z",
            "description": "filled",
        },
        schema=None,
        root="service_request_updates",
    )
    assert result.status == 200, result.body
    item = plain.get(f"requests/{request_id}").body[0]
    assert item["status"] == "closed" and item["status_notes"] == "filled"


def test_every_jurisdiction_stays_reachable_by_name(plain):
    for jurisdiction_id in ALL:
        assert plain.get("services", {"jurisdiction_id": jurisdiction_id}).status == 200
