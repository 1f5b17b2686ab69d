"""Nearby duplicates: open requests of the same service near a point: an integrator extension
(issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or
403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.json_validation import validate
from tests.api.integrators import (
    GRAFFITI,
    HALL_LAT,
    HALL_LONG,
    M_PER_DEG_LAT,
    NOW,
    ids,
)
from tests.helpers import (
    CITY_HALL,
    add_request,
    bad,
)


@pytest.fixture
def neighbours(session) -> dict[str, str]:
    hall = {"lat": HALL_LAT, "long": HALL_LONG}
    made = {
        "near": add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(days=1),
            lat=HALL_LAT + 10 / M_PER_DEG_LAT,
            long=HALL_LONG,
        ),
        "closed": add_request(
            session, code="GRAFFITI", when=NOW - dt.timedelta(days=1), status="closed", **hall
        ),
        "other_service": add_request(
            session, code="OTHER", when=NOW - dt.timedelta(days=1), **hall
        ),
        "far": add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(days=1),
            lat=HALL_LAT + 200 / M_PER_DEG_LAT,
            long=HALL_LONG,
        ),
        "old": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=40), **hall),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_post_answers_open_requests_of_the_service_nearby(api, session, key, neighbours):
    listed = api.get(
        "requests",
        {"nearby": "true", "service_code": "GRAFFITI", **CITY_HALL},
        root="service_requests",
        schema="requests",
    )
    assert ids(listed) == [neighbours["near"]]
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"}, schema=None)
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
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"}, schema=None)
    nearby = result.body[0]["extended_attributes"]["nearby_requests"]
    assert [n["service_request_id"] for n in nearby] == [
        neighbours["near"],
        neighbours["far"],
    ]  # nearest first
    assert 195 < nearby[1]["distance_m"] < 205
    listed = api.get("requests", {"nearby": "true", "service_code": "GRAFFITI", **CITY_HALL})
    assert set(ids(listed)) == {
        neighbours["near"],
        neighbours["far"],
        result.body[0]["service_request_id"],
    }
    assert ids(
        api.get(
            "requests", {"nearby": "true", "service_code": "GRAFFITI", "radius": 5, **CITY_HALL}
        )
    ) == [result.body[0]["service_request_id"]]


def test_nearby_list_is_empty_when_nothing_is_near(api, session, key):
    result = api.post("requests", {**GRAFFITI, "api_key": key, "extensions": "true"}, schema=None)
    assert result.body[0]["extended_attributes"] == {"nearby_requests": []}


@pytest.mark.parametrize(
    "params",
    [
        {"nearby": "true", **CITY_HALL},  # no service_code
        {"nearby": "true", "service_code": "GRAFFITI,OTHER", **CITY_HALL},
        {"nearby": "true", "service_code": "GRAFFITI"},  # no point
    ],
)
def test_nearby_needs_one_service_and_a_point(api, params):
    bad(api.get("requests", params), 400, "nearby")


def test_bad_nearby_value_is_400(api):
    bad(
        api.get("requests", {"nearby": "perhaps", "service_code": "GRAFFITI", **CITY_HALL}),
        400,
        "nearby",
    )
