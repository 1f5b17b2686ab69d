"""Each GET requests filter: nothing when not asked for; when asked, its own condition with
every value bound as a parameter (never written into the SQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.dialects.postgresql import psycopg

from open311.repository import request_filters as rf
from open311.repository.request_search import public_statement

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
DIALECT = psycopg.dialect()


def sql(clause: rf.Clause) -> str:
    return " AND ".join(str(c.compile(dialect=DIALECT)) for c in rf.conditions(clause))


CASES = [  # filter, Filters asked, clause name, values, a piece of its SQL
    (rf.ids, rf.Filters(ids=[7]), "id", {"id": 7}, "service_request.id = %(id)s"),
    (rf.ids, rf.Filters(ids=[7, 8]), "ids", {"ids": [7, 8]}, "= any(%(ids)s"),
    (
        rf.services,
        rf.Filters(service_pks=[3, 3]),
        "service",
        {"service_pk": 3},
        "service_pk = %(service_pk)s",
    ),
    (
        rf.services,
        rf.Filters(service_pks=[3, 4, 3]),
        "services",
        {"service_pks": [3, 4]},
        "service_pk = any(%(service_pks)s",
    ),
    (
        rf.window,
        rf.Filters(start=T0, end_before=T1),
        "window",
        {"start": T0, "end_before": T1},
        "requested_datetime < %(end_before)s",
    ),
    (rf.window, rf.Filters(start=T0), "start", {"start": T0}, "requested_datetime >= %(start)s"),
    (
        rf.window,
        rf.Filters(end_before=T1),
        "end",
        {"end_before": T1},
        "requested_datetime < %(end_before)s",
    ),
    (
        rf.statuses,
        rf.Filters(statuses=["open", "open"]),
        "status",
        {"status": "open"},
        "status = %(status)s",
    ),
    (
        rf.changed,
        rf.Filters(updated_from=T0),
        "changed:updated_from",
        {"updated_from": T0, "updated_before": None},
        "updated_datetime >= %(updated_from)s",
    ),
    (
        rf.bbox,
        rf.Filters(bbox=(-118.3, 34.0, -118.2, 34.1)),
        "bbox",
        {"bbox_x0": -118.3, "bbox_y0": 34.0, "bbox_x1": -118.2, "bbox_y1": 34.1},
        "ST_MakeEnvelope(%(bbox_x0)s",
    ),
    (rf.area, rf.Filters(area_pk=12), "area", {"area_pk": 12}, "ST_Covers(area_part.geom"),
    (
        rf.text,
        rf.Filters(text="graffiti wall"),
        "text",
        {"text": "graffiti wall"},
        "websearch_to_tsquery",
    ),
    (
        rf.visible,
        rf.Filters(visible_by=T1),
        "visible",
        {"visible_by": T1},
        "accepted_at <= %(visible_by)s",
    ),
    (
        rf.keyset,
        rf.Filters(after=(T0, 99)),
        "after",
        {"after_at": T0, "after_pk": 99},
        "(service_request.requested_datetime, service_request.id) < (",
    ),
    (
        rf.keyset,
        rf.Filters(after=(T0, 99), sync=True),
        "after:sync",
        {"after_at": T0, "after_pk": 99},
        "(service_request.updated_datetime, service_request.id) > (",
    ),
]


@pytest.mark.parametrize(
    ("flt", "asked", "name", "values", "piece"),
    CASES,
    ids=[f"{c[0].__name__}-{c[2]}" for c in CASES],
)
def test_a_filter_adds_its_clause_with_bound_values(flt, asked, name, values, piece):
    clause = flt(asked)
    assert clause.name == name and clause.values == values
    text = sql(clause)
    assert piece in text
    for value in values.values():
        if isinstance(value, str):
            assert value not in text  # a parameter, never written in


@pytest.mark.parametrize("flt", [rf.ids, *rf.FILTERS], ids=lambda f: f.__name__)
def test_a_filter_not_asked_for_adds_nothing(flt):
    assert flt(rf.Filters()) is None


def test_both_statuses_are_no_filter():
    assert rf.statuses(rf.Filters(statuses=["open", "closed"])) is None


def test_near_bounds_the_circle_by_a_box_then_the_distance():
    clause = rf.near(rf.Filters(near=(-118.24, 34.05, 500.0)))
    assert clause.name == "near" and clause.values["near_metres"] == 500.0
    x0, y0, x1, y1 = (clause.values[k] for k in ("near_x0", "near_y0", "near_x1", "near_y1"))
    assert x0 < -118.24 < x1 and y0 < 34.05 < y1
    assert (y1 - y0) * 110_574 / 2 > 500  # the box holds the whole circle
    text = sql(clause)
    assert "&& ST_MakeEnvelope(%(near_x0)s" in text and "ST_DWithin(" in text


def test_ids_override_every_other_filter():
    f = rf.Filters(ids=[1, 2], bbox=(0, 0, 1, 1), text="x", statuses=["open"], sync=True)
    assert [c.name for c in rf.clauses(f)] == ["ids"]


def test_one_statement_per_shape_whatever_the_values():
    a, values_a = public_statement(1, rf.Filters(start=T0, service_pks=[3]), limit=10)
    b, values_b = public_statement(2, rf.Filters(start=T1, service_pks=[4]), limit=20)
    assert a is b
    assert (values_a["service_pk"], values_b["service_pk"]) == (3, 4)
    c, _ = public_statement(1, rf.Filters(start=T0, service_pks=[3, 4]), limit=10)
    assert c is not a


def test_a_window_from_a_days_second_midnight_reads_that_day_from_the_requests():
    """Atlantic/Azores falls back from 01:00 to 00:00 on 2025-10-26: a start at the second
    midnight (01:00Z) is an hour into the day, which the tally must not count whole."""
    import datetime as dt

    from open311.repository.statistics import split_window

    start = dt.datetime(2025, 10, 26, 1, tzinfo=dt.UTC)
    split = split_window(start, None, "Atlantic/Azores")
    assert split.first_day == dt.date(2025, 10, 27)
    [(since, _, day)] = split.edges
    assert since == start and day == ("<", dt.date(2025, 10, 27))
    first_midnight = dt.datetime(2025, 10, 26, 0, tzinfo=dt.UTC)  # 00:00 local, summer time (+00)
    assert split_window(first_midnight, None, "Atlantic/Azores").edges == ()
