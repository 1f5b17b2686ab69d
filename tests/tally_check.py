"""The statistics' tally as the requests say it should be, counted in Python (the tests of
migration 0008's triggers, alone and under concurrent writes)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from open311.models import Jurisdiction, RequestTally, Service, ServiceRequest
from open311.repository.statistics import BUCKET_RATIO, BUCKET_SECONDS, BUCKETS


def bucket_of(seconds: float) -> int:
    """The bucket of a time to close, from repository.statistics' bounds."""
    if seconds < BUCKET_SECONDS:
        return 0
    return min(BUCKETS - 1, 1 + math.floor(math.log(seconds / BUCKET_SECONDS, BUCKET_RATIO)))


def business_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days after ``start`` up to ``end``."""
    days = (end - start).days
    return sum((start + dt.timedelta(d)).weekday() < 5 for d in range(1, days + 1))


def expected_cells(session) -> dict[tuple, tuple[int, int, Counter]]:
    """The tally as the requests say it should be, counted in Python."""
    zones = {j.id: ZoneInfo(j.timezone) for j in session.scalars(sa.select(Jurisdiction))}
    services = {s.id: s for s in session.scalars(sa.select(Service))}
    cells: dict[tuple, list] = defaultdict(lambda: [0, 0, Counter()])
    for r in session.scalars(sa.select(ServiceRequest).where(ServiceRequest.public)):
        tz = zones[r.jurisdiction_pk]
        key = (
            r.jurisdiction_pk,
            r.requested_datetime.astimezone(tz).date(),
            r.service_pk,
            r.api_key_pk or 0,
            r.status,
        )
        cell = cells[key]
        cell[0] += 1
        if r.closed_at is not None:
            cell[2][bucket_of((r.closed_at - r.requested_datetime).total_seconds())] += 1
        target = services[r.service_pk]
        if r.status == "closed" and r.closed_at is not None:
            by_hours = target.target_hours is not None and r.closed_at <= (
                r.requested_datetime + dt.timedelta(hours=target.target_hours)
            )
            by_days = target.target_business_days is not None and (
                business_days(
                    r.requested_datetime.astimezone(tz).date(), r.closed_at.astimezone(tz).date()
                )
                <= target.target_business_days
            )
            cell[1] += by_hours or by_days
    return {k: (v[0], v[1], v[2]) for k, v in cells.items()}


def kept_cells(session) -> dict[tuple, tuple[int, int, Counter]]:
    """The tally as kept (cells of requests since gone stay, at 0: left out)."""
    session.expire_all()
    kept = {}
    for t in session.scalars(sa.select(RequestTally)):
        assert len(t.buckets) == len(t.counts) and all(c != 0 for c in t.counts)
        if t.requests or t.on_time or t.buckets:
            key = (t.jurisdiction_pk, t.day, t.service_pk, t.channel_pk, t.status)
            kept[key] = (
                t.requests,
                t.on_time,
                Counter(dict(zip(t.buckets, t.counts, strict=True))),
            )
    return kept


def assert_tally_true(session) -> None:
    session.flush()
    assert kept_cells(session) == expected_cells(session)
