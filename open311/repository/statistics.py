"""Statistics of public requests for dashboards: counts, time to close, on-time share and open
backlog, grouped by service, status, channel, area or period, over the requests that GET
requests' filters select; one aggregate statement (GROUPING SETS adds the total)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey, Area, Service, ServiceRequest
from open311.repository.privacy import public_area_pks
from open311.repository.request_filters import Filters, clauses, conditions
from open311.repository.request_search import use_timezone

SR = ServiceRequest
PERIODS = ("day", "week", "month")
# Open backlog by age in whole days at the time of the answer: (label, from, to) inclusive.
BACKLOG_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("backlog_0_2_days", 0, 2),
    ("backlog_3_7_days", 3, 7),
    ("backlog_8_30_days", 8, 30),
    ("backlog_31_90_days", 31, 90),
    ("backlog_over_90_days", 91, None),
)
# A Monday: business days are counted from it (date - date is a number of days).
MONDAY = dt.date(1970, 1, 5)


def grouping(name: str) -> tuple[Any, ...]:
    """A dimension's columns, labelled as the answer names them. Periods and dates are the
    jurisdiction's (the connection's TimeZone: ``statistics_rows`` sets it)."""
    if name == "service":
        return (Service.service_code, Service.service_name)
    if name == "status":
        return (SR.status,)
    if name == "channel":
        return (ApiKey.name.label("channel"),)
    if name in PERIODS:
        start = sa.cast(sa.func.date_trunc(name, SR.requested_datetime), sa.Date)
        return (start.label(name),)
    if name.startswith("area:"):
        return (Area.area_id.label("area_id"), Area.name.label("area_name"))
    raise ValueError(f"no grouping {name!r}")


def _business_days(start: Any, end: Any) -> sa.ColumnElement:
    """Monday-to-Friday days after ``start``'s day up to ``end``'s day (local dates)."""

    def weekdays_before(moment: Any) -> sa.ColumnElement:
        # Weekdays in [MONDAY, the day after moment's): 5 a week, then the week's rest.
        days = sa.type_coerce(
            sa.cast(moment, sa.Date) - sa.literal(MONDAY, sa.Date) + 1, sa.Integer
        )
        return 5 * sa.func.div(days, 7) + sa.func.least(sa.func.mod(days, 7), 5)

    return weekdays_before(end) - weekdays_before(start)


def _hours(interval: Any) -> sa.ColumnElement:
    return sa.func.extract("epoch", interval) / 3600.0


def measures(as_of: Any) -> tuple[sa.ColumnElement, ...]:
    """The aggregates of a group, labelled as the answer names them."""
    closed = SR.status == "closed"
    hours = _hours(SR.closed_at - SR.requested_datetime)  # NULL while open: not in percentiles
    on_time = sa.or_(
        SR.closed_at
        <= SR.requested_datetime + sa.func.make_interval(0, 0, 0, 0, Service.target_hours),
        _business_days(SR.requested_datetime, SR.closed_at) <= Service.target_business_days,
    )
    with_target = sa.or_(
        Service.target_hours.is_not(None), Service.target_business_days.is_not(None)
    )
    count = sa.func.count()
    age = sa.func.extract("epoch", as_of - SR.requested_datetime) / 86400.0
    backlog = []
    for label, low, high in BACKLOG_BUCKETS:
        condition = [SR.status == "open", age >= low]
        if high is not None:
            condition.append(age < high + 1)
        backlog.append(count.filter(sa.and_(*condition)).label(label))
    return (
        count.label("requests"),
        count.filter(SR.status == "open").label("open"),
        count.filter(closed).label("closed"),
        sa.func.percentile_cont(0.5).within_group(hours).label("median_hours_to_close"),
        sa.func.percentile_cont(0.9).within_group(hours).label("p90_hours_to_close"),
        count.filter(sa.and_(closed, with_target)).label("closed_with_target"),
        count.filter(sa.and_(closed, with_target, on_time)).label("closed_on_time"),
        *backlog,
    )


def statistics_statement(
    jurisdiction_pk: int,
    f: Filters,
    groupings: Sequence[str],
    *,
    area_layer: str | None = None,
) -> tuple[sa.Select, dict]:
    """The aggregate over the public requests the filters select, one row per group and a
    total row (``is_total``), and its parameter values (``as_of`` is the caller's)."""
    as_of = sa.bindparam("as_of", type_=sa.DateTime(timezone=True))
    keys = [column for name in groupings for column in grouping(name)]
    query = (
        sa.select(*keys, *measures(as_of))
        .select_from(SR)
        .join(Service, Service.id == SR.service_pk)
        .where(SR.jurisdiction_pk == sa.bindparam("jurisdiction_pk", type_=sa.Integer), SR.public)
    )
    values: dict[str, Any] = {"jurisdiction_pk": jurisdiction_pk}
    if "channel" in groupings:
        query = query.outerjoin(ApiKey, ApiKey.id == SR.api_key_pk)
    if area_layer is not None:
        shown = sa.func.unnest(public_area_pks()).table_valued("pk").render_derived("shown_area")
        query = query.join(shown, sa.true()).join(
            Area,
            sa.and_(
                Area.id == shown.c.pk, Area.layer == sa.bindparam("area_layer", type_=sa.String)
            ),
        )
        values["area_layer"] = area_layer
    for clause in clauses(f):
        query = query.where(*conditions(clause))
        values.update(clause.values)
    if keys:
        total = sa.func.grouping(*keys)
        query = (
            query.add_columns((total > 0).label("is_total"))
            .group_by(sa.func.grouping_sets(sa.tuple_(*keys), sa.tuple_()))
            .order_by(total, *keys)
        )
    else:
        query = query.add_columns(sa.true().label("is_total"))
    return query, values


def statistics_rows(
    session: Session,
    jurisdiction_pk: int,
    f: Filters,
    groupings: Sequence[str],
    *,
    as_of: dt.datetime,
    timezone: str,
    area_layer: str | None = None,
) -> list[sa.RowMapping]:
    """The statistics' rows (periods in ``timezone``), the total last."""
    statement, values = statistics_statement(jurisdiction_pk, f, groupings, area_layer=area_layer)
    values["as_of"] = as_of
    connection = use_timezone(session, timezone)
    return list(connection.execute(statement, values).mappings())
