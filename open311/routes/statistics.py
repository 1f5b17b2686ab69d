"""Statistics for dashboards (open data): counts, time to close, on-time share and open
backlog, grouped, over the requests GET requests' filters select; JSON and CSV."""

from __future__ import annotations

from flask import Response, request

from open311.caching import streamed
from open311.formats import Format, render
from open311.operations import bulk as bulk_ops
from open311.operations import statistics as ops
from open311.operations.listing import RequestQuery
from open311.repository import request_search
from open311.routes.common import blueprint, directory, errors, limits, session
from schemas.params import StatisticsQuery

blp = blueprint("statistics", "Statistics for dashboards: counts, time to close, backlog.")

CSV = "text/csv; charset=utf-8; header=present"


def _ask(query: dict) -> ops.Ask:
    group_by = query.get("group_by")
    query = {k: v for k, v in query.items() if k != "group_by"}
    return ops.prepare(session(), RequestQuery(**query), group_by, limits(), directory())


def _answer(ask: ops.Ask, make, extension: str):
    """Validators before the aggregate runs: a current copy is a 304 without it."""
    latest, bundle = request_search.published_version(session(), ask.jurisdiction.id)
    version = (
        f"{latest.isoformat() if latest else ''}|{bundle}|{ask.as_of.isoformat()}|"
        f"{request.query_string!r}|{extension}"
    )
    return streamed(make, version, latest)


@blp.route("/statistics.json")
@blp.arguments(StatisticsQuery, location="query")
@blp.doc(
    responses={
        "200": {
            "description": "The groups and the total.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
@errors(blp, 400, 404, 503)
def statistics_json(query: dict):
    """Statistics of requests, as JSON (open data)

    Groups by `group_by` (service, status, channel, day, week, month, `area:<layer>`) the
    public requests that GET requests' filters select (without dates: the default window,
    as GET requests). For each group and the total: `requests`, `open`, `closed`;
    `median_hours_to_close` and `p90_hours_to_close` (of the closed ones);
    `closed_with_target`, `closed_on_time` and `on_time_share` (against the service's target
    in the catalogue); the open backlog by age in days at `as_of` (`backlog_0_2_days` ...
    `backlog_over_90_days`). Periods and business days are the jurisdiction's local time. A
    place hidden by its service's location privacy counts in no area. Counts are exact;
    `percentiles` says whether the two percentiles are `exact` or `estimated` (within 2 %,
    from the kept tally's histograms: above `OPEN311_STATISTICS_EXACT_UP_TO` requests, when
    no filter or grouping the tally does not carry is asked for)."""
    ask = _ask(query)
    return _answer(
        ask, lambda: render(ops.compute(session(), ask), "statistics", Format.JSON), "json"
    )


@blp.route("/statistics.csv")
@blp.arguments(StatisticsQuery, location="query")
@blp.doc(
    responses={
        "200": {
            "description": "RFC 4180 CSV, UTF-8: a header row, a row per group (no total).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
)
@errors(blp, 400, 404, 503)
def statistics_csv(query: dict):
    """Statistics of requests, as CSV (open data)

    As `statistics.json`: a header row, then a row per group (the total is not a row).
    """
    ask = _ask(query)

    def make() -> Response:
        answer = ops.compute(session(), ask)
        rows = ([group[c] for c in ask.columns] for group in answer["groups"])
        body = b"".join(bulk_ops.csv_chunks(rows, ask.columns))
        name = f"statistics-{ask.jurisdiction.jurisdiction_id}.csv"
        return Response(
            body,
            content_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return _answer(ask, make, "csv")
