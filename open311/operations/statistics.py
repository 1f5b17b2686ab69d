"""Statistics for dashboards: how many requests, how fast they close, how many close on time
and how old the open ones are, grouped by service, status, channel, area or period, over the
requests GET requests' filters select (without dates: the default window).

Where the tally's cells answer (services, status, dates; no area), they do; a selection of
more than ``Limits.statistics_exact_up_to`` requests keeps their answer: counts exact,
percentiles estimated from the cells' histograms (within 2 %). Smaller ones, and any other filter,
are counted from the requests themselves, percentiles exact. The answer says which."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from open311.errors import BadRequest
from open311.operations import close_times
from open311.operations.directory import DirectoryCache, JurisdictionRef, jurisdiction_ref
from open311.operations.listing import Limits, RequestQuery, filters_of
from open311.operations.payloads import format_datetime, zone
from open311.repository import geography as geo_repo
from open311.repository import statistics as repo
from open311.repository.request_filters import Filters

GROUPINGS = ("service", "status", "channel", *repo.PERIODS)  # and area:<layer>
MAX_GROUPINGS = 3
AREA = "area:"

# Each grouping's columns in the answer.
GROUPING_COLUMNS: dict[str, tuple[str, ...]] = {
    "service": ("service_code", "service_name"),
    "status": ("status",),
    "channel": ("channel",),
    **{period: (period,) for period in repo.PERIODS},
    AREA: ("area_id", "area_name"),
}
BACKLOG = tuple(label for label, _, _ in repo.BACKLOG_BUCKETS)
MEASURES: tuple[str, ...] = (
    "requests",
    "open",
    "closed",
    "median_hours_to_close",
    "p90_hours_to_close",
    "closed_with_target",
    "closed_on_time",
    "on_time_share",
    *BACKLOG,
)


@dataclass(frozen=True)
class Ask:
    """What a statistics call selects, resolved (and refused, as a 400 or 404) before the
    aggregate runs."""

    jurisdiction: JurisdictionRef
    filters: Filters
    group_by: tuple[str, ...]
    area_layer: str | None
    as_of: dt.datetime  # the backlog's ages are counted at this time
    exact_up_to: int  # a larger selection that the tally answers: estimated percentiles

    @property
    def columns(self) -> tuple[str, ...]:
        keys = [c for name in self.group_by for c in GROUPING_COLUMNS[_kind(name)]]
        return (*keys, *MEASURES)


def _kind(name: str) -> str:
    return AREA if name.startswith(AREA) else name


def parse_group_by(
    text: str | None, layers: Callable[[], list[str]]
) -> tuple[tuple[str, ...], str | None]:
    """``group_by``: comma-separated groupings (400 naming what is wrong); the area layer
    (``layers``: the jurisdiction's, read only when an area is asked for)."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    if len(names) > MAX_GROUPINGS:
        raise BadRequest(f"group_by: at most {MAX_GROUPINGS} groupings")
    if len(set(names)) != len(names):
        raise BadRequest("group_by: a grouping is named twice")
    area_layer = None
    for name in names:
        if name.startswith(AREA):
            layer, known_layers = name[len(AREA) :], layers()
            if layer not in known_layers:
                known = ", ".join(AREA + layer for layer in known_layers) or "none"
                raise BadRequest(f"group_by: no area layer {layer!r} (this jurisdiction: {known})")
            if area_layer is not None:
                raise BadRequest("group_by: one area layer at a time")
            area_layer = layer
        elif name not in GROUPINGS:
            raise BadRequest(
                f"group_by: {name[:40]!r} is not one of {', '.join(GROUPINGS)}, area:<layer>"
            )
    if sum(name in repo.PERIODS for name in names) > 1:
        raise BadRequest("group_by: one period (day, week or month) at a time")
    return names, area_layer


def prepare(
    session: Session,
    query: RequestQuery,
    group_by: str | None,
    limits: Limits,
    directory: DirectoryCache | None = None,
    now: dt.datetime | None = None,
) -> Ask:
    directory = directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, query.jurisdiction_id)
    now = now or dt.datetime.now(dt.UTC)
    names, area_layer = parse_group_by(
        group_by, lambda: geo_repo.layers_of(session, jurisdiction.id)
    )
    filters = filters_of(session, directory, jurisdiction, query, limits, now)
    # Ages to the minute: an answer stays the same (and cacheable) within it.
    as_of = now.replace(second=0, microsecond=0)
    return Ask(jurisdiction, filters, names, area_layer, as_of, limits.statistics_exact_up_to)


def _shares(out: dict[str, Any]) -> dict[str, Any]:
    """The measures in the answer's order, rounded; the on-time share."""
    for name in ("median_hours_to_close", "p90_hours_to_close"):
        if out[name] is not None:
            out[name] = round(float(out[name]), 1)
    with_target = out["closed_with_target"]
    out["on_time_share"] = round(out["closed_on_time"] / with_target, 4) if with_target else None
    return {name: out[name] for name in MEASURES}


def _order(value: Any) -> tuple[bool, Any]:
    return (value is None, value)  # as PostgreSQL orders: NULL last


def _rows(session: Session, ask: Ask, *, tally: bool) -> list[Any]:
    """The statistics' rows: from the tally, or from the requests themselves."""
    j, tz = ask.jurisdiction, ask.jurisdiction.timezone
    if tally:
        return repo.tally_rows(
            session, j.id, ask.filters, ask.group_by, as_of=ask.as_of, timezone=tz
        )
    return repo.statistics_rows(
        session,
        j.id,
        ask.filters,
        ask.group_by,
        as_of=ask.as_of,
        timezone=tz,
        area_layer=ask.area_layer,
    )


def _groups(rows: list[Any], keys: list[str]) -> tuple[list[dict], dict]:
    if rows and "buckets" in rows[0]:  # the tally's: percentiles from its histograms
        estimated = close_times.percentiles(
            [(row["buckets"], row["counts"]) for row in rows], (0.5, 0.9)
        )
        rows = [
            row | {"median_hours_to_close": median, "p90_hours_to_close": p90}
            for row, (median, p90) in zip(rows, estimated, strict=True)
        ]
    groups, total = [], {}
    for row in rows:
        measures = _shares({name: row[name] for name in MEASURES if name in row})
        if row["is_total"]:
            total = measures
        else:
            groups.append({k: row[k] for k in keys} | measures)
    return groups, total


def compute(session: Session, ask: Ask) -> dict[str, Any]:
    """The answer: each group's columns and measures, and the total."""
    keys = [c for c in ask.columns if c not in MEASURES]
    percentiles = "exact"
    if repo.tally_answers(ask.filters, ask.area_layer):
        groups, total = _groups(_rows(session, ask, tally=True), keys)
        if total["requests"] > ask.exact_up_to:
            percentiles = "estimated"
    if percentiles == "exact":
        groups, total = _groups(_rows(session, ask, tally=False), keys)
    groups.sort(key=lambda group: [_order(group[k]) for k in keys])
    for group in groups:
        for k in keys:
            if isinstance(group[k], dt.date):
                group[k] = group[k].isoformat()
    tz = zone(ask.jurisdiction.timezone)
    return {
        "jurisdiction_id": ask.jurisdiction.jurisdiction_id,
        "time_zone": ask.jurisdiction.timezone,
        "as_of": format_datetime(ask.as_of, tz),
        "group_by": list(ask.group_by),
        "percentiles": percentiles,
        "groups": groups,
        "total": total,
    }
