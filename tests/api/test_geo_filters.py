"""Geographic filters: bbox, lat+long+radius, area: an integrator extension (issue 4), in JSON
and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or 403/404/413) naming
the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.integrators import (
    HALL_LAT,
    HALL_LONG,
    M_PER_DEG_LAT,
    NOW,
    VAN_NUYS,
    ids,
)
from tests.helpers import (
    add_request,
    bad,
)


@pytest.fixture
def places(session) -> dict[str, str]:
    made = {
        "hall": add_request(session, when=NOW - dt.timedelta(hours=1)),
        "north": add_request(
            session,
            when=NOW - dt.timedelta(hours=2),  # about 100 m away
            lat=HALL_LAT + 100 / M_PER_DEG_LAT,
            long=HALL_LONG,
        ),
        "valley": add_request(session, when=NOW - dt.timedelta(hours=3), **VAN_NUYS),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_bbox(api, places):
    around_hall = api.get(
        "requests",
        {"bbox": "-118.2440,34.0530,-118.2420,34.0545"},
        root="service_requests",
        schema="requests",
    )
    assert ids(around_hall) == [places["hall"]]
    valley = api.get("requests", {"bbox": "-118.46,34.18,-118.44,34.19"}, schema="requests")
    assert ids(valley) == [places["valley"]]
    ocean = api.get("requests", {"bbox": "-119.6,33.4,-119.4,33.6"}, schema="requests")
    assert ids(ocean) == []


@pytest.mark.parametrize(
    "bbox",
    [
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
    ],
)
def test_bad_bbox_is_400(api, bbox):
    bad(api.get("requests", {"bbox": bbox}), 400, "bbox")


def test_radius_around_a_point(api, places):
    point = {"lat": HALL_LAT, "long": HALL_LONG}
    assert ids(
        api.get("requests", {**point, "radius": 10}, root="service_requests", schema="requests")
    ) == [places["hall"]]
    assert ids(api.get("requests", {**point, "radius": 500}, schema="requests")) == [
        places["hall"],
        places["north"],
    ]
    assert ids(api.get("requests", {**point, "radius": 90})) == [places["hall"]]
    assert ids(api.get("requests", {**point, "radius": 110})) == [places["hall"], places["north"]]


@pytest.mark.parametrize(
    "params,named",
    [
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
    ],
)
def test_bad_radius_is_400(api, params, named):
    bad(api.get("requests", params), 400, named)


@pytest.mark.parametrize(
    "area,where",
    [
        ("council_district:14", "hall"),
        ("52", "hall"),  # the Downtown neighborhood council: its id is in one layer only
        ("neighborhood_council:52", "hall"),
        # "central" is an id of the region layer only (no other layer has it): it is not
        # ambiguous, and means the Central region.
        ("central", "hall"),
        ("region:central", "hall"),
        ("council_district:6", "valley"),
        ("the-valley", "valley"),
    ],
)
def test_area(api, places, area, where):
    result = api.get("requests", {"area": area}, root="service_requests", schema="requests")
    expected = [places["hall"], places["north"]] if where == "hall" else [places["valley"]]
    assert ids(result) == expected


def test_area_id_in_two_layers_is_400_naming_both(api, places):
    # "14" is council district 14 and neighborhood council 14 (Winnetka)
    bad(
        api.get("requests", {"area": "14"}),
        400,
        "area",
        "council_district:14",
        "neighborhood_council:14",
    )


@pytest.mark.parametrize(
    "area", ["atlantis", "council_district:52", "region:14", "nowhere:central", "x" * 161]
)
def test_unknown_area_is_400(api, area):
    bad(api.get("requests", {"area": area}), 400, "area")
