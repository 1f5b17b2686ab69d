"""extensions=true: extended_attributes, notes, submitted attributes: an integrator extension
(issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or
403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from open311.models import ServiceRequest
from open311.operations.batch import accept_pending_requests
from tests.api.integrators import (
    BULKY,
    ENCAMPMENT,
    EXTENDED_KEYS,
    NOW,
    OTHER,
    created,
    extended,
    ids,
    post_update,
)
from tests.helpers import (
    add_request,
    bad,
)

CITY_HALL_AREAS = [
    {"jurisdiction_id": "lacity.org", "layer": "council_district", "id": "14", "name": "14"},
    {
        "jurisdiction_id": "lacity.org",
        "layer": "neighborhood_council",
        "id": "52",
        "name": "DOWNTOWN LOS ANGELES",
    },
    {"jurisdiction_id": "lacity.org", "layer": "region", "id": "central", "name": "Central"},
]


def test_extensions_on_one_request(api, session, key):
    request_id = created(api, {**BULKY, "api_key": key, "description": "Old sofa"})
    item = extended(api, request_id)
    assert item["extended_attributes"] == {
        "detailed_status": "open",
        "channel": "FixMyPhone",
        "areas": CITY_HALL_AREAS,
    }
    assert [
        (n["type"], n["status"], n["detailed_status"], n["description"]) for n in item["notes"]
    ] == [("opened", "open", "open", None)]
    assert item["notes"][0]["datetime"] == item["requested_datetime"]
    assert item["attributes"] == [
        {"code": "ITEM_COUNT", "values": ["2"]},
        {"code": "ITEM_TYPES", "values": ["MATTRESS", "SOFA"]},
        {"code": "LOCATION_TYPE", "values": ["CURB"]},
    ]


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
    result = api.get(
        "requests", {"extensions": "true"}, root="service_requests", schema="requests_extended"
    )
    assert ids(result) == [second, first]
    for item in result.body:
        assert item["extended_attributes"]["channel"] == "FixMyPhone"
        assert item["extended_attributes"]["areas"] == CITY_HALL_AREAS
        assert "duplicate_of" not in item["extended_attributes"]
        assert [n["type"] for n in item["notes"]] == ["opened"]
        assert item["attributes"] == []


def test_extensions_with_service_request_id(api, session, key):
    request_id = created(api, {**BULKY, "api_key": key})
    result = api.get(
        "requests",
        {"service_request_id": request_id, "extensions": "true"},
        schema="requests_extended",
    )
    assert result.body == [extended(api, request_id)]


def test_duplicate_of_only_when_set(api, session, key):
    original = add_request(session, when=NOW - dt.timedelta(days=1))
    copy = add_request(session, when=NOW - dt.timedelta(hours=1))
    assert "duplicate_of" not in extended(api, str(copy.id))["extended_attributes"]
    session.execute(
        sa.update(ServiceRequest)
        .where(ServiceRequest.id == copy.id)
        .values(duplicate_of=original.id)
    )
    session.commit()
    assert extended(api, str(copy.id))["extended_attributes"]["duplicate_of"] == str(original.id)
    listing = api.get("requests", {"extensions": "true"}, schema="requests_extended")
    by_id = {item["service_request_id"]: item for item in listing.body}
    assert by_id[str(copy.id)]["extended_attributes"]["duplicate_of"] == str(original.id)
    assert "duplicate_of" not in by_id[str(original.id)]["extended_attributes"]
    # a request added without a key has no channel
    assert by_id[str(original.id)]["extended_attributes"]["channel"] is None


def test_notes_of_a_batch_request_and_its_updates(api, session, key, backoffice):
    token = api.post("requests", {**ENCAMPMENT, "api_key": key}).body[0]["token"]
    [(_, pk)] = accept_pending_requests(session, tokens=[token])
    assert (
        post_update(
            api, backoffice, pk, "IN_PROGRESS", "u-1", description="Outreach team on site"
        ).status
        == 200
    )
    assert post_update(api, backoffice, pk, "FIXED", "u-2", description="Cleaned up").status == 200
    item = extended(api, str(pk))
    assert [
        (n["type"], n["status"], n["detailed_status"], n["description"]) for n in item["notes"]
    ] == [
        ("opened", "open", "open", None),
        ("accepted", "open", "open", None),
        ("update", "open", "in_progress", "Outreach team on site"),
        ("closed", "closed", "fixed", "Cleaned up"),
    ]
    assert item["extended_attributes"]["detailed_status"] == "fixed"
    assert item["attributes"] == [{"code": "LOCATION_TYPE", "values": ["SIDEWALK"]}]


def test_bad_extensions_value_is_400(api):
    bad(api.get("requests", {"extensions": "maybe"}), 400, "extensions")
    bad(api.get("requests/1", {"extensions": "maybe"}), 400, "extensions")
