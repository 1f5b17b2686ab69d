"""The kept tally of statistics (migration 0008, issue 18 point 4: fast on millions of rows).

Its cells are checked against the requests themselves, counted here in Python, after every
kind of write (new, closed, reopened, moved to another service, hidden, deleted, a target
or a time zone changed, a TRUNCATE); its answers against the exact statement's for every
grouping and the filters it carries, window edges mid-day and at midnight included: every
count equal, percentiles within their buckets' 2 %."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from open311.models import ApiKey, Jurisdiction, RequestTally, ServiceRequest
from open311.operations.keys import create_key
from open311.repository.statistics import BUCKET_RATIO, BUCKETS
from tests.helpers import add_request, service
from tests.tally_check import assert_tally_true, bucket_of

STATS = "/open311/v2/statistics.json"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CODES = ("OTHER", "GRAFFITI", "BULKY-ITEMS", "DEAD-ANIMAL")


def test_the_tally_follows_every_write(session):
    assert_tally_true(session)  # the suite's own data, counted by the migration
    service(session, "OTHER").target_hours = 48
    session.commit()
    phone = create_key(session, "Tally phone").record.id
    made = [
        add_request(session, code="OTHER", when=NOW - dt.timedelta(hours=5), api_key_pk=phone),
        add_request(session, code="OTHER", when=NOW - dt.timedelta(days=3)),
        add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(days=9),
            status="closed",
            closed_at=NOW - dt.timedelta(days=8, hours=1),
        ),
        add_request(session, code="OTHER", when=NOW - dt.timedelta(seconds=30)),
    ]
    assert_tally_true(session)
    first, second, third, fourth = made
    # Closed (on time, and late), reopened, moved, hidden, within seconds.
    first.status, first.closed_at = "closed", NOW
    second.status, second.closed_at = "closed", NOW
    fourth.status, fourth.closed_at = "closed", NOW
    session.commit()
    assert_tally_true(session)
    third.status, third.closed_at = "open", None
    second.service_pk = service(session, "GRAFFITI").id
    first.public = False
    session.commit()
    assert_tally_true(session)
    # A statement over many rows at once, and one that changes nothing counted.
    session.execute(
        sa.update(ServiceRequest)
        .where(ServiceRequest.id.in_([r.id for r in made]))
        .values(status="closed", closed_at=sa.func.now() + sa.text("interval '2 days'"))
    )
    session.execute(sa.update(ServiceRequest).values(status_notes="seen"))
    assert_tally_true(session)
    session.execute(sa.delete(ServiceRequest).where(ServiceRequest.id == second.id))
    assert_tally_true(session)


def test_a_target_or_a_time_zone_changed_recounts(session):
    for days in (1, 2, 6, 13):
        add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(days=days, hours=7),
            status="closed",
            closed_at=NOW - dt.timedelta(hours=7),
        )
    assert_tally_true(session)
    graffiti = service(session, "GRAFFITI")
    graffiti.target_business_days = 3
    session.commit()
    assert_tally_true(session)
    graffiti.target_business_days, graffiti.target_hours = None, 36
    session.commit()
    assert_tally_true(session)
    la = session.scalar(sa.select(Jurisdiction).where(Jurisdiction.jurisdiction_id == "lacity.org"))
    la.timezone = "Asia/Tokyo"  # the local days move
    session.commit()
    assert_tally_true(session)


def test_a_truncate_empties_it(session):
    add_request(session, code="OTHER")
    session.execute(sa.text("TRUNCATE service_request CASCADE"))
    assert session.scalar(sa.select(sa.func.count()).select_from(RequestTally)) == 0


def test_the_database_buckets_as_the_estimates_read_them(session):
    seconds = [0, 1, 59.9, 60, 61, 90, 3_600, 86_400, 1e6, 3e7, 4.4e8, 1e10]
    seconds += [60 * BUCKET_RATIO ** (i + 0.5) for i in range(0, BUCKETS, 7)]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    given = sa.values(sa.column("n", sa.Integer), sa.column("s", sa.Float), name="given")
    given = given.data(list(enumerate(seconds)))
    closed = sa.literal(start) + sa.func.make_interval(0, 0, 0, 0, 0, 0, given.c.s)
    got = session.scalars(
        sa.select(sa.func.open311_close_bucket(sa.literal(start), closed)).order_by(given.c.n)
    )
    assert list(got) == [bucket_of(s) for s in seconds]
    assert session.scalar(sa.select(sa.func.open311_close_bucket(sa.literal(start), None))) is None


@pytest.fixture
def spread(session) -> None:
    """200 requests over 120 days (seeded): four services (targets in hours and business
    days), three channels, open and closed after minutes to weeks; and open ones two hours
    either side of each backlog bucket's bound (one of them requested in the future)."""
    service(session, "OTHER").target_hours = 48
    service(session, "GRAFFITI").target_business_days = 2
    session.commit()
    channels = [None, create_key(session, "Spread web").record.id]
    channels.append(create_key(session, "Spread phone").record.id)
    for age in (0, 3, 8, 31, 91):  # open on both sides of each backlog bucket's bound
        for hours in (-2, 2):
            when = NOW - dt.timedelta(days=age, hours=hours)
            add_request(session, code="OTHER", when=when, api_key_pk=channels[1])
    # Closed "before" it was made (a back office's clock behind ours): it took no time.
    add_request(
        session,
        code="GRAFFITI",
        when=NOW - dt.timedelta(days=4),
        status="closed",
        closed_at=NOW - dt.timedelta(days=4, hours=2),
    )
    chance = random.Random(18)
    for _ in range(200):
        when = NOW - dt.timedelta(minutes=chance.randrange(120 * 24 * 60))
        closing = dt.timedelta(minutes=round(chance.lognormvariate(7, 2)))
        closed = chance.random() < 0.7 and when + closing < NOW
        add_request(
            session,
            code=chance.choice(CODES),
            when=when,
            api_key_pk=chance.choice(channels),
            status="closed" if closed else "open",
            closed_at=when + closing if closed else None,
        )


COUNTS = (
    "requests",
    "open",
    "closed",
    "closed_with_target",
    "closed_on_time",
    "on_time_share",
    "backlog_0_2_days",
    "backlog_3_7_days",
    "backlog_8_30_days",
    "backlog_31_90_days",
    "backlog_over_90_days",
)
LA = ZoneInfo("America/Los_Angeles")
MIDDAY = (NOW - dt.timedelta(days=40)).astimezone(LA).replace(hour=13, minute=17, second=5)
MIDNIGHT = (NOW - dt.timedelta(days=75)).astimezone(LA).date().isoformat()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"group_by": "service"},
        {"group_by": "status"},
        {"group_by": "channel"},
        {"group_by": "day"},
        {"group_by": "service,week"},
        {"group_by": "month,channel,status"},
        {"group_by": "week", "start_date": MIDNIGHT},
        {"group_by": "service", "start_date": MIDDAY.isoformat()},
        {"group_by": "day", "start_date": MIDNIGHT, "end_date": MIDDAY.isoformat()},
        {
            "start_date": MIDDAY.isoformat(),
            "end_date": (MIDDAY + dt.timedelta(hours=30)).isoformat(),
        },
        {
            "group_by": "day",
            "start_date": MIDDAY.isoformat(),
            "end_date": (MIDDAY + dt.timedelta(days=4)).isoformat(),
        },
        {"group_by": "week", "start_date": "2020-01-01", "end_date": MIDNIGHT},
        # Los Angeles leaves daylight time on 2026-11-01 (a 25-hour day; 01:30 comes twice).
        {"group_by": "day", "start_date": "2026-11-01", "end_date": "2026-11-02T05:30:00-08:00"},
        {"group_by": "week", "start_date": "2026-11-01T01:30:00-07:00"},
        {"group_by": "service", "service_code": "OTHER,GRAFFITI"},
        {"group_by": "week", "service_code": "GRAFFITI", "status": "closed"},
        {"group_by": "channel", "status": "open"},
    ],
)
def test_the_tally_answers_as_the_requests_do(client, app, spread, query):
    def answer(exact_up_to: int) -> dict:
        app.config["STATISTICS_EXACT_UP_TO"] = exact_up_to
        try:
            response = client.get(STATS, query_string={"jurisdiction_id": "lacity.org", **query})
        finally:
            app.config["STATISTICS_EXACT_UP_TO"] = 20_000
        assert response.status_code == 200, response.get_data()
        return response.json

    exact, tallied = answer(10**9), answer(0)
    assert exact["percentiles"] == "exact"
    assert tallied["percentiles"] == ("estimated" if exact["total"]["requests"] else "exact")
    assert exact["total"]["requests"] > 0 or "end_date" in query  # a short window may be empty
    keys = [k for k in (exact["groups"] or [{}])[0] if k not in (*COUNTS, "median_hours_to_close")]
    keys = [k for k in keys if k != "p90_hours_to_close"]
    assert [[g[k] for k in keys] for g in tallied["groups"]] == [
        [g[k] for k in keys] for g in exact["groups"]
    ]
    for mine, truth in zip(
        [*tallied["groups"], tallied["total"]], [*exact["groups"], exact["total"]], strict=True
    ):
        assert {k: mine[k] for k in COUNTS} == {k: truth[k] for k in COUNTS}
        for name in ("median_hours_to_close", "p90_hours_to_close"):
            if truth[name] is None:
                assert mine[name] is None
            else:
                assert abs(mine[name] - truth[name]) <= 0.02 * abs(truth[name]) + 0.05, name


def test_other_filters_and_areas_are_counted_from_the_requests(client, app, spread):
    app.config["STATISTICS_EXACT_UP_TO"] = 0
    try:
        for query in (
            {"group_by": "area:council_district"},
            {"q": "pothole"},
            {"bbox": "-119,33,-117,35"},
        ):
            response = client.get(STATS, query_string={"jurisdiction_id": "lacity.org", **query})
            assert response.status_code == 200 and response.json["percentiles"] == "exact"
    finally:
        app.config["STATISTICS_EXACT_UP_TO"] = 20_000


def test_channels_of_one_name_are_one_group(client, app, session, spread):
    """Grouped by channel, as the exact statement groups: by the key's name."""
    names = session.scalars(sa.select(ApiKey).where(ApiKey.name.like("Spread %"))).all()
    for key in names:
        key.name = "Spread"
    session.commit()
    app.config["STATISTICS_EXACT_UP_TO"] = 0
    try:
        response = client.get(STATS, query_string={"group_by": "channel"})
    finally:
        app.config["STATISTICS_EXACT_UP_TO"] = 20_000
    channels = [g["channel"] for g in response.json["groups"]]
    assert channels.count("Spread") == 1 and channels[-1] is None
