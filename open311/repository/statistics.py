"""Statistics of public requests for dashboards: counts, time to close, on-time share and open
backlog, grouped by service, status, channel, area or period, over the requests that GET
requests' filters select.

Two statements answer. ``statistics_statement`` aggregates the requests themselves (any
filter, exact percentiles; GROUPING SETS adds the total). ``tally_statement`` reads the cells
``request_tally`` keeps per local day (migration 0008) for the whole days of the window, the
requests themselves for its partial first and last days and the open requests younger than
each backlog bound on its day, and adds them up per group; the times to close come as each
group's histogram, whose percentiles the caller estimates. It answers only what the cells
carry: ``tally_answers`` says when."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session, aliased

from open311.models import ApiKey, Area, RequestTally, Service, ServiceRequest
from open311.repository.driver import driver_rows
from open311.repository.privacy import public_area_pks
from open311.repository.request_filters import (
    Clause,
    Filters,
    clauses,
    conditions,
    services,
    statuses,
)
from open311.repository.request_search import use_timezone

SR = ServiceRequest
T = RequestTally
PERIODS = ("day", "week", "month")
# Open backlog by age in whole days at the time of the answer: (label, from, to) inclusive.
BACKLOG_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("backlog_0_2_days", 0, 2),
    ("backlog_3_7_days", 3, 7),
    ("backlog_8_30_days", 8, 30),
    ("backlog_31_90_days", 31, 90),
    ("backlog_over_90_days", 91, None),
)
BACKLOG_LABELS = tuple(label for label, _, _ in BACKLOG_BUCKETS)
# Times to close in the tally's histograms (open311_close_bucket, migration 0008): bucket 0
# under BUCKET_SECONDS, bucket i from BUCKET_SECONDS * BUCKET_RATIO ** (i - 1) up to
# BUCKET_SECONDS * BUCKET_RATIO ** i; the last, BUCKETS - 1, has no end.
BUCKET_SECONDS = 60.0
BUCKET_RATIO = 1.02
BUCKETS = 800
# The filters the tally's cells carry (with the jurisdiction); any other reads the requests.
TALLY_FILTERS = frozenset({"service_pks", "start", "end_before", "statuses"})
TIME = sa.DateTime(timezone=True)
DAY = dt.timedelta(days=1)


def _period_start(name: str) -> sa.ColumnElement:
    """The local date a period (day, week, month) of requested_datetime starts on."""
    return sa.cast(sa.func.date_trunc(name, SR.requested_datetime), sa.Date)


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
        return (_period_start(name).label(name),)
    if name.startswith("area:"):
        return (Area.area_id.label("area_id"), Area.name.label("area_name"))
    raise ValueError(f"no grouping {name!r}")


def _with_target() -> sa.ColumnElement:
    return sa.or_(Service.target_hours.is_not(None), Service.target_business_days.is_not(None))


def _on_time() -> sa.ColumnElement:
    """Closed within the service's target (open311_on_time: the tally's definition too)."""
    return sa.func.open311_on_time(
        SR.requested_datetime,
        SR.closed_at,
        sa.bindparam("timezone", type_=sa.String),
        Service.target_hours,
        Service.target_business_days,
    )


def _aged(days: int) -> sa.BindParameter:
    return sa.bindparam(f"aged_{days}", type_=TIME)


def backlog_values(as_of: dt.datetime) -> dict[str, dt.datetime]:
    """The backlog's bounds: requested no later than this is at least so many days old (24
    hours each: the ages are elapsed time, not calendar days)."""
    return {f"aged_{days}": as_of - dt.timedelta(days=days) for days in _bounds()}


def _backlog(*, known_open: bool = False) -> list[sa.ColumnElement]:
    """Open requests by age in whole days (``backlog_values``); ``known_open``: the rows are
    open requests already."""
    count = sa.func.count()
    backlog: list[sa.ColumnElement] = []
    for label, low, high in BACKLOG_BUCKETS:
        condition = [] if known_open else [SR.status == "open"]
        condition.append(SR.requested_datetime <= _aged(low))
        if high is not None:
            condition.append(SR.requested_datetime > _aged(high + 1))
        backlog.append(count.filter(sa.and_(*condition)).label(label))
    return backlog


def measures() -> tuple[sa.ColumnElement, ...]:
    """The aggregates of a group, labelled as the answer names them."""
    closed = SR.status == "closed"
    # A close recorded before the request (a back office's clock behind ours) took no time:
    # 0, as the tally's first bucket has it.
    elapsed = sa.func.extract("epoch", SR.closed_at - SR.requested_datetime)
    hours = sa.case((elapsed < 0, 0), else_=elapsed) / 3600.0  # NULL while open
    count = sa.func.count()
    return (
        count.label("requests"),
        count.filter(SR.status == "open").label("open"),
        count.filter(closed).label("closed"),
        # NULL while open: not in the percentiles
        sa.func.percentile_cont(0.5).within_group(hours).label("median_hours_to_close"),
        sa.func.percentile_cont(0.9).within_group(hours).label("p90_hours_to_close"),
        count.filter(sa.and_(closed, _with_target())).label("closed_with_target"),
        count.filter(sa.and_(closed, _with_target(), _on_time())).label("closed_on_time"),
        *_backlog(),
    )


def statistics_statement(
    jurisdiction_pk: int,
    f: Filters,
    groupings: Sequence[str],
    *,
    timezone: str,
    area_layer: str | None = None,
) -> tuple[sa.Select, dict]:
    """The aggregate over the public requests the filters select, one row per group and a
    total row (``is_total``), and its parameter values (``backlog_values`` are the
    caller's)."""
    keys = [column for name in groupings for column in grouping(name)]
    query = (
        sa.select(*keys, *measures())
        .select_from(SR)
        .join(Service, Service.id == SR.service_pk)
        .where(SR.jurisdiction_pk == sa.bindparam("jurisdiction_pk", type_=sa.Integer), SR.public)
    )
    values: dict[str, Any] = {"jurisdiction_pk": jurisdiction_pk, "timezone": timezone}
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
        query = query.add_columns((total > 0).label("is_total")).group_by(
            sa.func.grouping_sets(sa.tuple_(*keys), sa.tuple_())
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
    """The statistics' rows (periods in ``timezone``), the total among them."""
    statement, values = statistics_statement(
        jurisdiction_pk, f, groupings, timezone=timezone, area_layer=area_layer
    )
    values |= backlog_values(as_of)
    connection = use_timezone(session, timezone)
    return list(connection.execute(statement, values).mappings())


# -- the tally ------------------------------------------------------------------------------


def tally_answers(f: Filters, area_layer: str | None) -> bool:
    """Whether the tally's cells answer these filters and groupings: a window (always given to
    statistics), services, a status; no area grouping (areas are not in the cells)."""
    if area_layer is not None or f.start is None:
        return False
    default = Filters()
    return all(
        getattr(f, field.name) == getattr(default, field.name)
        for field in dataclasses.fields(Filters)
        if field.name not in TALLY_FILTERS
    )


@dataclasses.dataclass(frozen=True)
class Split:
    """A window [start, end_before) as the tally reads it: whole local days [first_day,
    before_day) from the cells (None: none), and up to two partial days from the requests,
    each (from, before, local-day condition: ("<", day) or (">=", day) or None)."""

    first_day: dt.date | None
    before_day: dt.date | None
    edges: tuple[tuple[dt.datetime, dt.datetime | None, tuple[str, dt.date] | None], ...]


def split_window(start: dt.datetime, end_before: dt.datetime | None, timezone: str) -> Split:
    """Each edge's time range is a day wider than its local day needs (a day that does not
    begin at midnight, in some zones); its local-day condition makes it exact."""
    tz = ZoneInfo(timezone)

    def midnight(day: dt.date) -> dt.datetime:
        return _midnight(day, tz)

    local_start = start.astimezone(tz)
    # The instant, not the wall clock: where clocks fall back at midnight (Atlantic/Azores),
    # the day's second midnight is an hour into it. Compared in UTC: Python's == between
    # zones is False for a wall-clock time that occurs twice.
    at_midnight = start.astimezone(dt.UTC) == midnight(local_start.date()).astimezone(dt.UTC)
    first = local_start.date() + (dt.timedelta() if at_midnight else DAY)
    before = end_before.astimezone(tz).date() if end_before is not None else None
    if before is not None and first >= before:
        return Split(None, None, ((start, end_before, None),))

    edges: list[tuple[dt.datetime, dt.datetime | None, tuple[str, dt.date] | None]] = []
    if not at_midnight:
        edges.append((start, midnight(first) + DAY, ("<", first)))
    if (
        end_before is not None
        and before is not None
        and end_before.astimezone(dt.UTC) != midnight(before).astimezone(dt.UTC)
    ):
        edges.append((max(start, midnight(before) - DAY), end_before, (">=", before)))
    return Split(first, before, tuple(edges))


def _midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The day's first midnight (a day without one, where clocks spring forward at 00:00:
    an instant within a day of its start, which the local-day conditions make exact)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def _empty(item: type[sa.types.TypeEngine]) -> sa.ColumnElement:
    return sa.cast(sa.literal_column("'{}'"), ARRAY(item))


def _cell_keys(
    groupings: Sequence[str], service: Any, status: Any, channel: Any, period: Any
) -> list[sa.ColumnElement]:
    """A cell's key columns, labelled as the tally statement's parts share them (ids, not
    names): from the tally or from the requests (``period``: a period name -> its start)."""
    columns = {"service": service, "status": status, "channel": channel}
    labels = {"service": "service_pk", "status": "status", "channel": "channel_pk"}
    return [
        columns[name].label(labels[name]) if name in columns else period(name).label(name)
        for name in groupings
    ]


def _tally_keys(groupings: Sequence[str]) -> list[sa.ColumnElement]:
    def local_period(name: str) -> sa.ColumnElement:
        return sa.cast(sa.func.date_trunc(name, sa.cast(T.day, sa.DateTime)), sa.Date)

    return _cell_keys(groupings, T.service_pk, T.status, T.channel_pk, local_period)


def _request_keys(groupings: Sequence[str]) -> list[sa.ColumnElement]:
    channel = sa.func.coalesce(SR.api_key_pk, sa.literal_column("0"))
    return _cell_keys(groupings, SR.service_pk, SR.status, channel, _period_start)


def _aged_day(days: int) -> sa.BindParameter:
    return sa.bindparam(f"aged_day_{days}", type_=sa.Date)


def _tally_backlog() -> list[sa.ColumnElement]:
    """The open requests of the whole days, by age bucket; a day with a bucket's bound in it
    (``aged_day_*``) counted whole in the older bucket (``_moved_across`` moves its younger
    part)."""
    backlog: list[sa.ColumnElement] = []
    for label, low, high in BACKLOG_BUCKETS:
        condition = [T.status == "open", T.day <= _aged_day(low)]
        if high is not None:
            condition.append(T.day > _aged_day(high + 1))
        backlog.append(sa.case((sa.and_(*condition), T.requests), else_=0).label(label))
    return backlog


def _bounds() -> list[int]:
    """The ages (days) where a backlog bucket begins or ends."""
    lows = {low for _, low, _ in BACKLOG_BUCKETS}
    return sorted(lows | {high + 1 for _, _, high in BACKLOG_BUCKETS if high is not None})


class Shape(NamedTuple):
    """What a tally statement is built of (its values aside): one statement per shape."""

    groupings: tuple[str, ...]
    whole_days: bool
    before_day: bool  # the whole days end
    edges: tuple[tuple[bool, str | None], ...]  # each partial day: (ends, its day's condition)
    services: int  # services filtered: 0, 1 or more (2)
    status: str | None  # the status filtered


def _services_clause(shape: Shape) -> Clause | None:
    """The services filter of GET requests, as this shape has it (its values are the call's)."""
    if not shape.services:
        return None
    return services(Filters(service_pks=[0] if shape.services == 1 else [0, 1]))


def _whole_days(shape: Shape) -> sa.Select:
    query = (
        sa.select(
            *_tally_keys(shape.groupings),
            T.status.label("cell_status"),
            T.requests.label("requests"),
            sa.case((sa.and_(T.status == "closed", _with_target()), T.requests), else_=0).label(
                "closed_with_target"
            ),
            T.on_time.label("closed_on_time"),
            T.buckets.label("buckets"),
            T.counts.label("counts"),
            *_tally_backlog(),
        )
        .join(Service, Service.id == T.service_pk)
        .where(
            T.jurisdiction_pk == sa.bindparam("jurisdiction_pk", type_=sa.Integer),
            T.day >= sa.bindparam("first_day", type_=sa.Date),
        )
    )
    if shape.before_day:
        query = query.where(T.day < sa.bindparam("before_day", type_=sa.Date))
    if shape.services:
        pks = sa.bindparam("tally_service_pks", type_=ARRAY(sa.Integer))
        query = query.where(T.service_pk == sa.func.any(pks))
    if shape.status is not None:
        query = query.where(T.status == sa.bindparam("tally_status", type_=sa.String))
    return query


def _requests_where(query: sa.Select, shape: Shape, *, status: bool = True) -> sa.Select:
    """The jurisdiction's public requests of the filters' services (and status)."""
    query = query.where(
        SR.jurisdiction_pk == sa.bindparam("jurisdiction_pk", type_=sa.Integer), SR.public
    )
    if (clause := _services_clause(shape)) is not None:
        query = query.where(*conditions(clause))
    if status and shape.status is not None:
        query = query.where(*conditions(statuses(Filters(statuses=[shape.status]))))  # type: ignore[arg-type]
    return query


def _partial_day(shape: Shape, n: int) -> sa.Select:
    """A partial day's requests, as cells: per group, status and bucket of time to close."""
    ends, day = shape.edges[n]
    bucket = sa.func.open311_close_bucket(SR.requested_datetime, SR.closed_at)
    count = sa.func.count()
    keys = _request_keys(shape.groupings)
    query = (
        sa.select(
            *keys,
            SR.status.label("cell_status"),
            count.label("requests"),
            count.filter(sa.and_(SR.status == "closed", _with_target())).label(
                "closed_with_target"
            ),
            count.filter(sa.and_(SR.status == "closed", _with_target(), _on_time())).label(
                "closed_on_time"
            ),
            sa.case((bucket.is_(None), _empty(sa.SmallInteger)), else_=array([bucket])).label(
                "buckets"
            ),
            sa.case(
                (bucket.is_(None), _empty(sa.Integer)),
                else_=array([sa.cast(count, sa.Integer)]),
            ).label("counts"),
            *_backlog(),
        )
        .select_from(SR)
        .join(Service, Service.id == SR.service_pk)
        .where(SR.requested_datetime >= sa.bindparam(f"edge{n}_from", type_=TIME))
        .group_by(*keys, SR.status, bucket)
    )
    if ends:
        query = query.where(SR.requested_datetime < sa.bindparam(f"edge{n}_before", type_=TIME))
    if day is not None:
        local_day = sa.cast(SR.requested_datetime, sa.Date)
        bound = sa.bindparam(f"edge{n}_day", type_=sa.Date)
        query = query.where(local_day < bound if day == "<" else local_day >= bound)
    return _requests_where(query, shape)


def _moved_across(shape: Shape) -> sa.Select:
    """The open requests of the whole days with a backlog bucket's bound in them, younger
    than the bound: each moves from the older bucket (where ``_tally_backlog`` counts its
    day) to the younger (none for the bound ``as_of`` itself: requested after it). From
    ix_service_request_open alone: one index range per bound (a nested loop of index-only
    scans), from the bound to its day's end (a day later than it needs: the local day
    condition is exact); the literal 'open' lets the planner use the index."""
    named = dict(zip(shape.groupings, _request_keys(shape.groupings), strict=False))
    grouped = [column for name, column in named.items() if name != "status"]
    keys = [  # grouped by status: 'open' (a constant: not a key of GROUP BY)
        sa.literal_column("'open'").label("status") if name == "status" else column
        for name, column in named.items()
    ]
    local_day = sa.cast(SR.requested_datetime, sa.Date)
    bound = (
        sa.func.unnest(
            sa.cast(sa.bindparam("bound_ages", type_=ARRAY(sa.Integer)), ARRAY(sa.Integer)),
            sa.cast(sa.bindparam("bound_times", type_=ARRAY(TIME)), ARRAY(TIME)),
            sa.cast(sa.bindparam("bound_ends", type_=ARRAY(TIME)), ARRAY(TIME)),
            sa.cast(sa.bindparam("bound_days", type_=ARRAY(sa.Date)), ARRAY(sa.Date)),
        )
        .table_valued("age", "since", "before", "day")
        .render_derived("bound")
    )
    count = sa.func.count()
    moved = []
    for label, low, high in BACKLOG_BUCKETS:
        younger = count.filter(bound.c.age == high + 1) if high is not None else 0
        moved.append((younger - count.filter(bound.c.age == low)).label(label))
    query = (
        sa.select(
            *keys,
            sa.literal_column("'open'").label("cell_status"),
            *(
                sa.literal_column("0").label(name)
                for name in ("requests", "closed_with_target", "closed_on_time")
            ),
            _empty(sa.SmallInteger).label("buckets"),
            _empty(sa.Integer).label("counts"),
            *moved,
        )
        .select_from(bound)
        .join(
            SR,
            sa.and_(
                SR.requested_datetime > bound.c.since,
                SR.requested_datetime < bound.c.before,
                local_day == bound.c.day,
            ),
        )
        .where(
            SR.status == sa.literal_column("'open'"),
            local_day >= sa.bindparam("first_day", type_=sa.Date),
        )
        .group_by(*grouped)
    )
    if shape.before_day:
        query = query.where(local_day < sa.bindparam("before_day", type_=sa.Date))
    return _requests_where(query, shape, status=False)


def _added(column: Any, where: Any = None) -> sa.ColumnElement:
    total = sa.func.sum(column)
    return sa.cast(
        sa.func.coalesce(total if where is None else total.filter(where), 0), sa.BigInteger
    )


@functools.lru_cache(maxsize=256)
def _tally_shape(shape: Shape) -> sa.Select:
    parts = [_whole_days(shape)] if shape.whole_days else []
    parts += [_partial_day(shape, n) for n in range(len(shape.edges))]
    if shape.whole_days and shape.status in (None, "open"):
        parts.append(_moved_across(shape))
    cell = sa.union_all(*parts).subquery("cell")
    # Each cell with the answer's keys (names: two API keys of one name are one channel).
    named = aliased(Service, name="named_service")
    key_columns: list[Any] = []
    for name in shape.groupings:
        if name == "service":
            key_columns += [named.service_code, named.service_name]
        elif name == "channel":
            key_columns.append(ApiKey.name.label("channel"))
        else:
            key_columns.append(cell.c[name])
    measured = ("cell_status", "requests", "closed_with_target", "closed_on_time")
    # Each group numbered (gid): the histograms' entries are added up and ranked by numbers,
    # not by the names (sorting text by collation cost most of the statement).
    gid = sa.func.dense_rank().over(order_by=key_columns) if key_columns else sa.literal(1)
    keyed_query = sa.select(
        *key_columns,
        gid.label("gid"),
        *(cell.c[n] for n in (*measured, *BACKLOG_LABELS, "buckets", "counts")),
    ).select_from(cell)
    if "service" in shape.groupings:
        keyed_query = keyed_query.join(named, named.id == cell.c.service_pk)
    if "channel" in shape.groupings:
        keyed_query = keyed_query.outerjoin(ApiKey, ApiKey.id == cell.c.channel_pk)
    keyed = keyed_query.cte("keyed")
    keys = [keyed.c[c.name] for c in key_columns]
    requests = keyed.c.requests
    counted_query = sa.select(
        keyed.c.gid,
        *keys,
        _added(requests).label("requests"),
        _added(requests, keyed.c.cell_status == "open").label("open"),
        _added(requests, keyed.c.cell_status == "closed").label("closed"),
        *(
            _added(keyed.c[name]).label(name)
            for name in ("closed_with_target", "closed_on_time", *BACKLOG_LABELS)
        ),
        (sa.func.grouping(keyed.c.gid) > 0).label("is_total"),
    ).group_by(sa.func.grouping_sets(sa.tuple_(keyed.c.gid, *keys), sa.tuple_()))
    # Cells of requests since deleted stay, at 0: not a group.
    counted = counted_query.having(
        sa.or_(sa.func.grouping(keyed.c.gid) > 0, sa.func.sum(requests) > 0)
    ).cte("counted")
    # The cells' histogram entries, one row each (two unnest in the select list: zipped).
    entry = sa.select(
        keyed.c.gid,
        sa.func.unnest(keyed.c.buckets).label("b"),
        sa.func.unnest(keyed.c.counts).label("n"),
    ).subquery("entry")
    entries = (
        sa.select(
            entry.c.gid,
            entry.c.b,
            sa.func.sum(entry.c.n).label("n"),
            (sa.func.grouping(entry.c.gid) > 0).label("is_total"),
        )
        .group_by(sa.func.grouping_sets(sa.tuple_(entry.c.gid, entry.c.b), sa.tuple_(entry.c.b)))
        .cte("entries")
    )
    # Each group's histogram, in no order (the caller sorts its few entries and estimates
    # the percentiles: sorting each group's here cost a fifth of the statement).
    e = entries.c
    hists = (
        sa.select(
            e.gid,
            e.is_total,
            sa.func.array_agg(e.b).label("buckets"),
            sa.func.array_agg(e.n).label("counts"),
        )
        .group_by(e.gid, e.is_total)
        .cte("hists")
    )
    c, h = counted.c, hists.c
    joined = sa.and_(c.is_total == h.is_total, c.gid.is_not_distinct_from(h.gid))
    answer = sa.select(
        *(c[k.name] for k in key_columns),
        *(c[name] for name in ("requests", "open", "closed", "closed_with_target")),
        c.closed_on_time,
        *(c[name] for name in BACKLOG_LABELS),
        h.buckets,
        h.counts,
        c.is_total,
    ).select_from(counted.outerjoin(hists, joined))
    return answer if key_columns else answer.where(c.is_total)  # ungrouped: the total alone


def tally_statement(
    jurisdiction_pk: int,
    f: Filters,
    groupings: Sequence[str],
    *,
    timezone: str,
    as_of: dt.datetime,
) -> tuple[sa.Select, dict]:
    """The answer from the window's cells (``tally_answers`` must hold): a row per group
    (the answer's key columns) and the total (``is_total``), with the counts of
    ``statistics_statement`` (the backlog at ``as_of``) and, for the percentiles, the
    group's histogram of times to close: ``buckets`` and their ``counts``, in no order
    (None: none closed); periods in ``timezone`` (the connection's)."""
    assert f.start is not None
    split = split_window(f.start, f.end_before, timezone)
    service_clause, status_clause = services(f), statuses(f)
    status = status_clause.values["status"] if status_clause is not None else None
    shape = Shape(
        groupings=tuple(sorted(groupings)),  # columns are read by name: one shape per set
        whole_days=split.first_day is not None,
        before_day=split.before_day is not None,
        edges=tuple((before is not None, day and day[0]) for _, before, day in split.edges),
        services=0 if service_clause is None else 1 if service_clause.name == "service" else 2,
        status=status,
    )
    values: dict[str, Any] = {
        "jurisdiction_pk": jurisdiction_pk,
        "timezone": timezone,
        "first_day": split.first_day,
        "before_day": split.before_day,
        "tally_status": status,
        **backlog_values(as_of),
    }
    tz = ZoneInfo(timezone)
    bounds = [as_of - dt.timedelta(days=age) for age in _bounds()]
    days = [bound.astimezone(tz).date() for bound in bounds]
    values |= {f"aged_day_{age}": day for age, day in zip(_bounds(), days, strict=True)}
    values |= {
        "bound_ages": _bounds(),
        "bound_times": bounds,
        "bound_ends": [_midnight(day, tz) + 2 * DAY for day in days],
        "bound_days": days,
    }
    if service_clause is not None:
        values |= service_clause.values
        values["tally_service_pks"] = list(dict.fromkeys(f.service_pks or ()))
    if status_clause is not None:
        values |= status_clause.values
    for n, (start, before, day) in enumerate(split.edges):
        values |= {f"edge{n}_from": start, f"edge{n}_before": before}
        values[f"edge{n}_day"] = day[1] if day else None
    return _tally_shape(shape), values


def tally_rows(
    session: Session,
    jurisdiction_pk: int,
    f: Filters,
    groupings: Sequence[str],
    *,
    as_of: dt.datetime,
    timezone: str,
) -> list[dict[str, Any]]:
    """The statistics' rows from the tally (``tally_statement``), the total among them; run
    by the lean runner (one compiled statement per shape)."""
    statement, values = tally_statement(
        jurisdiction_pk, f, groupings, timezone=timezone, as_of=as_of
    )
    connection = use_timezone(session, timezone)
    rows = driver_rows(connection, statement, values, public_values=True)
    return [dict(zip(rows.names, row, strict=True)) for row in rows]
