"""GET Service Requests and GET Service Request: filters, window, cap, order, rendering."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import add_request, error_text

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def ids(result) -> list[str]:
    return [r["service_request_id"] for r in result.body]


@pytest.fixture
def seeded(session):
    """Requests at known times (newest first in `order`)."""
    made = {
        "today": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(hours=1)),
        "week": add_request(
            session, code="BULKY-ITEMS", when=NOW - dt.timedelta(days=7), status="closed"
        ),
        "month": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=30)),
        "old": add_request(session, code="OTHER", when=NOW - dt.timedelta(days=120)),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_default_is_last_90_days_newest_first(api, seeded):
    result = api.get("requests", root="service_requests", schema="requests")
    assert result.status == 200
    assert ids(result) == [seeded["today"], seeded["week"], seeded["month"]]


def test_request_fields_and_rendering(api, session):
    when = dt.datetime(2026, 7, 4, 19, 30, 5, 123456, tzinfo=UTC)  # PDT: -07:00
    request = add_request(
        session,
        code="GRAFFITI",
        when=when,
        lat=34.0537,
        long=-118.2428,
        description="Tag on wall & <door>",
        address="200 N Spring St",
        address_id="A-1",
        zipcode="90012",
        status_notes="Crew assigned",
        media_url="https://img.example/1.jpg",
        expected_datetime=dt.datetime(2026, 7, 10, 17, 0, tzinfo=UTC),
    )
    result = api.get(f"requests/{request.id}", root="service_requests", schema="requests")
    assert result.status == 200
    assert result.body == [
        {
            "service_request_id": str(request.id),
            "status": "open",
            "status_notes": "Crew assigned",
            "service_name": "Graffiti Removal",
            "service_code": "GRAFFITI",
            "description": "Tag on wall & <door>",
            "agency_responsible": None,
            "service_notice": None,
            "requested_datetime": "2026-07-04T12:30:05-07:00",
            "updated_datetime": "2026-07-04T12:30:05-07:00",
            "expected_datetime": "2026-07-10T10:00:00-07:00",
            "address": "200 N Spring St",
            "address_id": "A-1",
            "zipcode": "90012",
            "lat": 34.0537,
            "long": -118.2428,
            "media_url": "https://img.example/1.jpg",
        }
    ]


def test_winter_datetimes_use_standard_time(api, session):
    request = add_request(session, when=dt.datetime(2026, 1, 15, 8, 0, tzinfo=UTC))
    result = api.get(f"requests/{request.id}", schema="requests")
    assert result.body[0]["requested_datetime"] == "2026-01-15T00:00:00-08:00"


def test_empty_result(api):
    result = api.get(
        "requests",
        {"start_date": "2001-01-01", "end_date": "2001-01-02"},
        root="service_requests",
        schema="requests",
    )
    assert result.status == 200 and result.body == []
    if api.fmt == "xml":
        assert result.raw.endswith(b"<service_requests/>")
    else:
        assert result.raw == b"[]"


def test_start_and_end_date(api, seeded):
    start = (NOW - dt.timedelta(days=10)).isoformat()
    end = (NOW - dt.timedelta(days=2)).isoformat()
    result = api.get("requests", {"start_date": start, "end_date": end}, schema="requests")
    assert ids(result) == [seeded["week"]]


def test_start_date_only_reaches_to_now(api, seeded):
    start = (NOW - dt.timedelta(days=200)).isoformat()
    result = api.get("requests", {"start_date": start}, schema="requests")
    assert ids(result) == [seeded["today"], seeded["week"], seeded["month"], seeded["old"]]


def test_end_date_only_covers_90_days_before_it(api, seeded):
    end = (NOW - dt.timedelta(days=40)).isoformat()  # window: 130 to 40 days ago
    result = api.get("requests", {"end_date": end}, schema="requests")
    assert ids(result) == [seeded["old"]]
    end = (NOW - dt.timedelta(days=20)).isoformat()  # window: 110 to 20 days ago
    assert ids(api.get("requests", {"end_date": end})) == [seeded["month"]]


def test_span_longer_than_90_days_is_allowed(api, seeded):
    result = api.get(
        "requests",
        {"start_date": (NOW - dt.timedelta(days=365)).isoformat(), "end_date": NOW.isoformat()},
        schema="requests",
    )
    assert len(result.body) == 4


def test_date_bounds_are_inclusive(api, session):
    at = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    request = add_request(session, when=at)
    stamp = "2025-03-01T12:00:00Z"
    result = api.get("requests", {"start_date": stamp, "end_date": stamp}, schema="requests")
    assert ids(result) == [str(request.id)]


@pytest.mark.parametrize(
    "start,end",
    [
        ("2025-03-01T04:00:00-08:00", "2025-03-01T04:00:00-08:00"),  # offset
        ("2025-03-01T12:00:00.000Z", "2025-03-01T12:00:00.999Z"),  # fractions
        ("2025-03-01T04:00:00", "2025-03-01T04:00:00"),  # no offset: Los Angeles time
        ("2025-03-01", "2025-03-01"),  # bare dates: the whole local day
    ],
)
def test_datetime_spellings(api, session, start, end):
    request = add_request(session, when=dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC))
    result = api.get("requests", {"start_date": start, "end_date": end}, schema="requests")
    assert ids(result) == [str(request.id)]


def test_bare_end_date_excludes_the_next_local_day(api, session):
    # 2025-03-02T07:30Z is 2025-03-01 23:30 in Los Angeles; 08:30Z is already March 2nd
    inside = add_request(session, when=dt.datetime(2025, 3, 2, 7, 30, tzinfo=UTC))
    add_request(session, when=dt.datetime(2025, 3, 2, 8, 30, tzinfo=UTC))
    result = api.get(
        "requests", {"start_date": "2025-03-01", "end_date": "2025-03-01"}, schema="requests"
    )
    assert ids(result) == [str(inside.id)]


def test_status_filter(api, seeded):
    assert ids(api.get("requests", {"status": "closed"})) == [seeded["week"]]
    assert ids(api.get("requests", {"status": "open"})) == [seeded["today"], seeded["month"]]
    both = api.get("requests", {"status": "open,closed"}, schema="requests")
    assert len(both.body) == 3


def test_service_code_comma_list_and_repeated_keys(api, seeded):
    comma = api.get("requests", {"service_code": "GRAFFITI, BULKY-ITEMS"}, schema="requests")
    repeated = api.get("requests", [("service_code", "GRAFFITI"), ("service_code", "BULKY-ITEMS")])
    assert ids(comma) == ids(repeated) == [seeded["today"], seeded["week"], seeded["month"]]
    assert ids(api.get("requests", {"service_code": "GRAFFITI"})) == [
        seeded["today"],
        seeded["month"],
    ]


def test_filters_combine(api, seeded):
    result = api.get(
        "requests",
        {
            "service_code": "GRAFFITI",
            "status": "open",
            "start_date": (NOW - dt.timedelta(days=3)).isoformat(),
        },
    )
    assert ids(result) == [seeded["today"]]


def test_service_request_id_overrides_every_other_filter(api, seeded):
    wanted = f"{seeded['old']},{seeded['today']}"
    result = api.get(
        "requests",
        {
            "service_request_id": wanted,
            "status": "closed",
            "service_code": "BULKY-ITEMS",
            "start_date": "2001-01-01",
            "end_date": "2001-01-02",
        },
        schema="requests",
    )
    assert ids(result) == [seeded["today"], seeded["old"]]


def test_service_request_id_repeated_keys_and_unknown_ids(api, seeded):
    result = api.get(
        "requests",
        [
            ("service_request_id", seeded["week"]),
            ("service_request_id", "999999999"),
            ("service_request_id", "not-a-number"),
        ],
        schema="requests",
    )
    assert ids(result) == [seeded["week"]]


def test_max_requests_caps_the_answer(api, app, session, monkeypatch):
    made = [add_request(session, when=NOW - dt.timedelta(minutes=i)) for i in range(5)]
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 3)
    result = api.get("requests", schema="requests")
    assert ids(result) == [str(r.id) for r in made[:3]]


def test_same_time_is_ordered_by_id_descending(api, session):
    when = NOW - dt.timedelta(minutes=5)
    first, second = add_request(session, when=when), add_request(session, when=when)
    assert ids(api.get("requests"))[:2] == [str(second.id), str(first.id)]


def test_pending_batch_requests_are_not_public(api, session):
    pending = add_request(session, code="HOMELESS-ENCAMPMENT", accepted=False, token="t-1")
    assert str(pending.id) not in ids(api.get("requests"))
    assert api.get(f"requests/{pending.id}").status == 404
    by_id = api.get("requests", {"service_request_id": str(pending.id)}, schema="requests")
    assert by_id.body == []


def test_requests_of_another_jurisdiction_stay_there(api, session):
    from tests.api.test_services import add_second_jurisdiction

    add_second_jurisdiction(session)
    other = add_request(
        session, code="POTHOLE", jurisdiction_id="example.org", lat=40.7, long=-74.0
    )
    la = add_request(session, code="OTHER")
    assert ids(api.get("requests", {"jurisdiction_id": "lacity.org"})) == [str(la.id)]
    result = api.get("requests", {"jurisdiction_id": "example.org"}, schema="requests")
    assert ids(result) == [str(other.id)]
    assert result.body[0]["requested_datetime"].endswith(("-05:00", "-04:00"))
    assert api.get(f"requests/{other.id}", {"jurisdiction_id": "lacity.org"}).status == 404
    assert api.get("requests").status == 400  # several jurisdictions: jurisdiction_id needed


@pytest.mark.parametrize(
    "params,named",
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2025-13-01"}, "end_date"),
        ({"start_date": "2025-02-30T10:00:00Z"}, "start_date"),
        ({"status": "pending"}, "status"),
        ({"status": "open,bogus"}, "status"),
        ({"service_code": "NOPE"}, "service_code"),
        ({"service_code": "GRAFFITI,NOPE"}, "NOPE"),
        ({"start_date": "2025-03-02", "end_date": "2025-03-01"}, "start_date"),
        ({"jurisdiction_id": "x" * 201}, "jurisdiction_id"),
        ({"service_request_id": ",".join(str(i) for i in range(1001))}, "service_request_id"),
    ],
)
def test_bad_parameters_are_400_naming_them(api, params, named):
    result = api.get("requests", params)
    assert result.status == 400, result.body
    assert named in error_text(result)


def test_unknown_jurisdiction_is_404(api):
    assert api.get("requests", {"jurisdiction_id": "nowhere.example"}).status == 404


def test_empty_parameters_are_absent(api, seeded):
    result = api.get(
        "requests",
        {
            "status": "",
            "service_code": "",
            "start_date": "",
            "end_date": "",
            "service_request_id": "",
        },
        schema="requests",
    )
    assert ids(result) == [seeded["today"], seeded["week"], seeded["month"]]


@pytest.mark.parametrize("bad_id", ["999999999", "abc", "-1", "1.5", "99999999999999999999999"])
def test_unknown_single_request_is_404(api, bad_id):
    result = api.get(f"requests/{bad_id}")
    assert result.status == 404
    assert "not found" in error_text(result)
