"""Statistics for dashboards (issue 18, point 4): counts by service, status, area, channel and
period; median and 90th-percentile time to close; on-time share against each service's target
(hours or business days); open backlog by age; every GET requests filter; JSON and CSV; the
same answer a 304 while nothing changed; every refusal a spec 400/404 storing nothing. Every
test runs twice: counted from the requests (percentiles exact), and from the kept tally
(``STATISTICS_EXACT_UP_TO`` 0: percentiles estimated within 2 %)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from open311.models import Service
from open311.operations.keys import create_key
from open311.repository.points import areas_at
from tests.api.integrators import post_update
from tests.helpers import CITY_HALL, add_request, la, row_counts, service

STATS = "/open311/v2/statistics"
LA = ZoneInfo("America/Los_Angeles")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
HALL = (float(CITY_HALL["long"]), float(CITY_HALL["lat"]))


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LA)


def ago(**kwargs: float) -> dt.datetime:
    return NOW - dt.timedelta(**kwargs)


@pytest.fixture(autouse=True, params=["requests", "tally"])
def path(request, app):
    """Where the answers come from: the requests themselves, or the tally where it answers."""
    before = app.config["STATISTICS_EXACT_UP_TO"]
    app.config["STATISTICS_EXACT_UP_TO"] = 0 if request.param == "tally" else 10**9
    yield request.param
    app.config["STATISTICS_EXACT_UP_TO"] = before


def hours(answer: dict, value: float | None, expected: float) -> bool:
    """A percentile as the answer says it is: exact, or estimated within 2 % (and rounding)."""
    if answer["percentiles"] == "exact":
        return value == expected
    return value is not None and abs(value - expected) <= 0.02 * expected + 0.05


@pytest.fixture
def made(session) -> dict[str, object]:
    """OTHER aims at 48 hours, GRAFFITI at 2 business days; requests of both (and a hidden
    HOMELESS-ENCAMPMENT one) through two channels, open and closed, on time and late."""
    service(session, "OTHER").target_hours = 48
    service(session, "GRAFFITI").target_business_days = 2
    session.commit()
    hall_areas = [a.id for a in areas_at(session, [la(session).id], *HALL)]
    phone = create_key(session, "FixMyPhone").record.id
    web = create_key(session, "City website").record.id

    def made(code: str, when: dt.datetime, key: int, **fields):
        """At City Hall (add_request's place), in its areas."""
        return add_request(
            session, code=code, when=when, api_key_pk=key, area_pks=hall_areas, **fields
        )

    def closed(code: str, start: dt.datetime, end: dt.datetime, key: int):
        return made(code, start, key, status="closed", closed_at=end)

    requests = {
        "other_new": made("OTHER", ago(hours=1), phone),
        "other_5d": made("OTHER", ago(days=5), web),
        # 24 hours (on time) and 72 hours (late): median 48, p90 24 + 0.9 * 48 = 67.2.
        "other_fast": closed("OTHER", ago(days=10), ago(days=9), phone),
        "other_slow": closed("OTHER", ago(days=20), ago(days=17), phone),
        # Friday to Tuesday: Monday and Tuesday, 2 business days (on time); Friday to
        # Wednesday: 3 (late). The weekend never counts.
        "graffiti_ok": closed("GRAFFITI", local(2026, 11, 20, 10), local(2026, 11, 24, 9), web),
        "graffiti_late": closed("GRAFFITI", local(2026, 11, 13, 10), local(2026, 11, 18, 9), web),
        "graffiti_40d": made("GRAFFITI", ago(days=40), web),
        "hidden": made("HOMELESS-ENCAMPMENT", ago(days=2), phone),
        "old": made("GRAFFITI", ago(days=120), web),
    }
    return {name: str(r.id) for name, r in requests.items()}


def stats(client, **params):
    response = client.get(f"{STATS}.json", query_string=params)
    assert response.status_code == 200, response.get_data()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json["percentiles"] in ("exact", "estimated")
    return response.json


def groups_by(answer: dict, *keys: str) -> dict:
    return {tuple(g[k] for k in keys): g for g in answer["groups"]}


def test_by_service_counts_time_to_close_on_time_and_backlog(client, made):
    answer = stats(client, group_by="service")
    assert answer["jurisdiction_id"] == "lacity.org" and answer["group_by"] == ["service"]
    assert answer["time_zone"] == "America/Los_Angeles" and answer["as_of"].endswith(
        ("-08:00", "-07:00")
    )
    by = groups_by(answer, "service_code")
    other = by[("OTHER",)]
    assert other["service_name"] == "Other"
    assert (other["requests"], other["open"], other["closed"]) == (4, 2, 2)
    assert hours(answer, other["median_hours_to_close"], 48.0)
    assert hours(answer, other["p90_hours_to_close"], 67.2)
    assert (other["closed_with_target"], other["closed_on_time"]) == (2, 1)
    assert other["on_time_share"] == 0.5
    assert [other[f"backlog_{b}_days"] for b in ("0_2", "3_7", "8_30", "31_90", "over_90")] == [
        1,
        1,
        0,
        0,
        0,
    ]
    graffiti = by[("GRAFFITI",)]  # the 120-day-old one is outside the default window
    assert (graffiti["requests"], graffiti["closed_on_time"], graffiti["on_time_share"]) == (
        3,
        1,
        0.5,
    )
    assert graffiti["backlog_31_90_days"] == 1
    hidden = by[("HOMELESS-ENCAMPMENT",)]  # no target: no share
    assert (hidden["requests"], hidden["closed_with_target"], hidden["on_time_share"]) == (
        1,
        0,
        None,
    )
    assert hidden["median_hours_to_close"] is None
    total = answer["total"]
    assert total["requests"] == 8 and total["closed"] == 4 and total["closed_on_time"] == 2
    assert "service_code" not in total


def test_every_date_counts_the_old_backlog(client, made):
    total = stats(client, start_date="2020-01-01")["total"]
    assert total["requests"] == 9 and total["backlog_over_90_days"] == 1


def test_by_status_channel_and_area(client, made):
    by_status = groups_by(stats(client, group_by="status"), "status")
    assert {k: g["requests"] for k, g in by_status.items()} == {("closed",): 4, ("open",): 4}
    by_channel = groups_by(stats(client, group_by="channel,service"), "channel", "service_code")
    assert by_channel[("FixMyPhone", "OTHER")]["requests"] == 3
    assert by_channel[("City website", "GRAFFITI")]["requests"] == 3
    by_area = stats(client, group_by="area:council_district")
    [district] = by_area["groups"]  # all at City Hall; the hidden one in no area
    assert district["area_id"] == "14" and district["requests"] == 7
    assert district["area_name"]
    assert by_area["total"]["requests"] == 7


def test_by_period_in_local_time(client, made):
    weeks = groups_by(stats(client, group_by="week", service_code="GRAFFITI"), "week")
    # Local Mondays: 2026-11-16 (the Friday the 20th), 2026-11-09 (the 13th).
    assert weeks[("2026-11-16",)]["requests"] == 1 and weeks[("2026-11-09",)]["requests"] == 1
    assert all(dt.date.fromisoformat(w).weekday() == 0 for (w,) in weeks)
    months = groups_by(stats(client, group_by="month"), "month")
    assert all(m.endswith("-01") for (m,) in months)
    assert sum(g["requests"] for g in months.values()) == 8
    days = stats(client, group_by="day", service_code="GRAFFITI", start_date="2026-11-20")
    assert groups_by(days, "day")[("2026-11-20",)]["requests"] == 1


def test_filters_select_what_get_requests_selects(client, made):
    assert stats(client, service_code="OTHER")["total"]["requests"] == 4
    assert stats(client, status="open")["total"]["requests"] == 4
    near = stats(client, lat=HALL[1], long=HALL[0], radius=50)["total"]
    assert near["requests"] == 7  # all at City Hall (add_request), but not the hidden one
    assert stats(client, area="council_district:14")["total"]["requests"] == 7
    empty = stats(client, service_code="DEAD-ANIMAL")
    assert empty["groups"] == [] and empty["total"]["requests"] == 0


def test_an_update_that_closes_and_reopens_moves_the_time_to_close(client, session, made):
    backoffice = create_key(session, "FMS", scopes=("backoffice",)).key
    from tests.helpers import Api

    api = Api(client, "json")
    closed_at = NOW.astimezone(LA).isoformat()
    assert post_update(api, backoffice, made["other_5d"], "FIXED", "c1").status == 200
    answer = stats(client, group_by="service")
    other = groups_by(answer, "service_code")[("OTHER",)]
    assert other["closed"] == 3 and other["closed_with_target"] == 3
    assert hours(answer, other["median_hours_to_close"], 72.0)  # 24, 72 and 5 days: 120 h
    assert closed_at  # the update's time is when it closed
    assert post_update(api, backoffice, made["other_5d"], "IN_PROGRESS", "r1").status == 200
    answer = stats(client, group_by="service")
    other = groups_by(answer, "service_code")[("OTHER",)]
    assert other["closed"] == 2 and hours(answer, other["median_hours_to_close"], 48.0)


def test_csv_has_a_row_per_group(client, made):
    response = client.get(f"{STATS}.csv", query_string={"group_by": "service,status"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    json_groups = stats(client, group_by="service,status")["groups"]
    assert len(rows) == len(json_groups) > 0
    assert list(rows[0]) == [*json_groups[0]]
    assert [r["service_code"] for r in rows] == [g["service_code"] for g in json_groups]
    other_closed = next(r for r in rows if (r["service_code"], r["status"]) == ("OTHER", "closed"))
    answer = stats(client, group_by="service,status")
    assert hours(answer, float(other_closed["median_hours_to_close"]), 48.0)
    assert other_closed["on_time_share"] == "0.5"


def test_an_unchanged_answer_is_a_304(client, session, made):
    url = f"{STATS}.json?group_by=service"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"] and first.headers["Cache-Control"] == "no-cache"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get(f"{url}&status=open").headers["ETag"] != etag
    add_request(session, code="OTHER")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    # A changed target changes the on-time share: a new ETag too.
    etag = client.get(url).headers["ETag"]
    session.execute(
        sa.update(Service)
        .where(Service.id == service(session, "OTHER").id)
        .values(target_hours=100, updated_at=sa.func.clock_timestamp())
    )
    session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert groups_by(changed.json, "service_code")[("OTHER",)]["on_time_share"] == 1.0


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("group_by=colour", 400, "colour"),
        ("group_by=service,service", 400, "twice"),
        ("group_by=day,week", 400, "one period"),
        ("group_by=service,status,channel,week", 400, "at most 3"),
        ("group_by=area:planets", 400, "area:council_district"),
        ("group_by=area:region,area:council_district", 400, "one area layer"),
        ("group_by=" + "x" * 201, 400, "group_by"),
        ("status=pending", 400, "status"),
        ("service_code=NO-SUCH", 400, "NO-SUCH"),
        ("bbox=1,2", 400, "bbox"),
        ("start_date=2026-12-01&end_date=2026-11-01", 400, "start_date"),
        ("jurisdiction_id=nowhere.example", 404, "nowhere.example"),
    ],
)
@pytest.mark.parametrize("extension", ["json", "csv"])
def test_refusals_are_spec_errors(client, session, made, query, status, needle, extension):
    before = row_counts(session)
    response = client.get(f"{STATS}.{extension}?{query}")
    assert response.status_code == status, response.get_data()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = response.json
    assert error["code"] == status and needle in error["description"], error
    assert row_counts(session) == before
