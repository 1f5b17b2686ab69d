"""The filters of GET requests, one small function each.

A filter reads ``Filters`` and answers None (not asked for) or a ``Clause``: its name in the
statement's shape, the condition it adds (built once per shape, every value a bound
parameter) and the values of those parameters. ``clauses`` lists the ones a call uses; the
request search, exports, OGC API and statistics all select through them. Adding a filter is
one function here, listed in FILTERS, and its test.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from open311.models import Area, AreaPart, ServiceRequest
from open311.repository.spatial import as_geography, envelope, point

SR = ServiceRequest
TIME = sa.DateTime(timezone=True)


@dataclass
class Filters:
    """What GET requests selects. ``ids`` overrides everything else."""

    ids: Sequence[int] | None = None
    service_pks: Sequence[int] | None = None
    start: dt.datetime | None = None  # requested_datetime >= start
    end_before: dt.datetime | None = None  # requested_datetime < end_before
    statuses: Sequence[str] | None = None
    updated_from: dt.datetime | None = None  # updated_datetime >= updated_from
    updated_before: dt.datetime | None = None  # updated_datetime < updated_before
    bbox: tuple[float, float, float, float] | None = None  # minLong, minLat, maxLong, maxLat
    near: tuple[float, float, float] | None = None  # long, lat, metres
    area_pk: int | None = None
    text: str | None = None  # a web-search query (websearch_to_tsquery)
    sync: bool = False  # oldest change first (updated_datetime, id) instead of newest first
    after: tuple[dt.datetime, int] | None = None  # keyset: continue after this (time, id)
    visible_by: dt.datetime | None = None  # snapshot: public (accepted) no later than this


class Clause(NamedTuple):
    name: str  # the clause's part of the statement's shape (its cache key)
    condition: Callable[[], Any]  # the condition(s), with bound parameters
    values: dict[str, Any]  # the parameters' values for this call


def _p(name: str, type_=None) -> sa.BindParameter:
    return sa.bindparam(name, type_=type_)


def ids(f: Filters) -> Clause | None:
    """service_request_id: one id by equality, several by ANY."""
    if f.ids is None:
        return None
    if len(f.ids) == 1:
        return Clause("id", lambda: SR.id == _p("id", sa.BigInteger), {"id": f.ids[0]})
    return Clause(
        "ids", lambda: SR.id == sa.func.any(_p("ids", ARRAY(sa.BigInteger))), {"ids": list(f.ids)}
    )


def services(f: Filters) -> Clause | None:
    """service_code: one service by equality (so the ordered index scan applies)."""
    if not f.service_pks:
        return None
    pks = list(dict.fromkeys(f.service_pks))
    if len(pks) == 1:
        return Clause(
            "service", lambda: SR.service_pk == _p("service_pk", sa.Integer), {"service_pk": pks[0]}
        )
    return Clause(
        "services",
        lambda: SR.service_pk == sa.func.any(_p("service_pks", ARRAY(sa.Integer))),
        {"service_pks": pks},
    )


def window(f: Filters) -> Clause | None:
    """start_date / end_date: requested in [start, end_before)."""
    if f.start is not None and f.end_before is not None:
        return Clause(
            "window",
            lambda: (
                SR.requested_datetime >= _p("start", TIME),
                SR.requested_datetime < _p("end_before", TIME),
            ),
            {"start": f.start, "end_before": f.end_before},
        )
    if f.start is not None:
        return Clause(
            "start", lambda: SR.requested_datetime >= _p("start", TIME), {"start": f.start}
        )
    if f.end_before is not None:
        return Clause(
            "end",
            lambda: SR.requested_datetime < _p("end_before", TIME),
            {"end_before": f.end_before},
        )
    return None


def statuses(f: Filters) -> Clause | None:
    """status: one status narrows; both statuses are no filter."""
    if not f.statuses or len(set(f.statuses)) != 1:
        return None
    return Clause("status", lambda: SR.status == _p("status", sa.String), {"status": f.statuses[0]})


def changed(f: Filters) -> Clause | None:
    """updated_after / updated_before (sync): updated in [updated_from, updated_before)."""
    parts = []
    if f.updated_from is not None:
        parts.append(("updated_from", lambda: SR.updated_datetime >= _p("updated_from", TIME)))
    if f.updated_before is not None:
        parts.append(("updated_before", lambda: SR.updated_datetime < _p("updated_before", TIME)))
    if not parts:
        return None
    builds = [build for _, build in parts]
    return Clause(
        "changed:" + ",".join(name for name, _ in parts),
        lambda: tuple(build() for build in builds),
        {"updated_from": f.updated_from, "updated_before": f.updated_before},
    )


def bbox(f: Filters) -> Clause | None:
    """bbox: the location in the box (the GiST index answers it)."""
    if f.bbox is None:
        return None
    names = ("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1")
    return Clause(
        "bbox",
        lambda: SR.public_location.op("&&")(envelope(*(_p(n, sa.Float) for n in names))),
        dict(zip(names, f.bbox, strict=True)),
    )


def near_box(long: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A box in degrees a little larger than the circle of ``metres`` around the point."""
    dlat = metres / 110_574 * 1.01 + 1e-6
    dlong = metres / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01 + 1e-6
    return (
        max(long - dlong, -180),
        max(lat - dlat, -90),
        min(long + dlong, 180),
        min(lat + dlat, 90),
    )


def within_conditions(box: tuple, here: tuple, metres) -> tuple[sa.ColumnElement, ...]:
    """Requests shown within ``metres`` of the point ``here``: the ``box`` around it (the
    GiST index answers it), then the exact distance on the spheroid."""
    return (
        SR.public_location.op("&&")(envelope(*box)),
        sa.func.ST_DWithin(as_geography(SR.public_location), as_geography(point(*here)), metres),
    )


def near(f: Filters) -> Clause | None:
    """lat / long / radius: within the circle."""
    if f.near is None:
        return None
    long, lat, metres = f.near
    box = ("near_x0", "near_y0", "near_x1", "near_y1")
    values = dict(zip(box, near_box(long, lat, metres), strict=True))
    values.update(near_long=long, near_lat=lat, near_metres=metres)
    return Clause(
        "near",
        lambda: within_conditions(
            tuple(_p(n, sa.Float) for n in box),
            (_p("near_long", sa.Float), _p("near_lat", sa.Float)),
            _p("near_metres", sa.Float),
        ),
        values,
    )


def area(f: Filters) -> Clause | None:
    """area: the area's envelope drives the GiST index; its subdivided parts decide."""
    if f.area_pk is None:
        return None

    def condition():
        area_pk = _p("area_pk", sa.Integer)
        area_box = (
            sa.select(sa.func.ST_Envelope(Area.geom)).where(Area.id == area_pk).scalar_subquery()
        )
        return (
            SR.public_location.op("&&")(area_box),
            sa.exists().where(
                AreaPart.area_pk == area_pk, sa.func.ST_Covers(AreaPart.geom, SR.public_location)
            ),
        )

    return Clause("area", condition, {"area_pk": f.area_pk})


def text(f: Filters) -> Clause | None:
    """q: a web-search query on the request's text (the GIN index)."""
    if not f.text:
        return None
    return Clause(
        "text",
        lambda: SR.search.op("@@")(sa.func.websearch_to_tsquery("english", _p("text", sa.Text))),
        {"text": f.text},
    )


def visible(f: Filters) -> Clause | None:
    """A paging snapshot: requests made public no later than its time."""
    if f.visible_by is None:
        return None
    return Clause(
        "visible", lambda: SR.accepted_at <= _p("visible_by", TIME), {"visible_by": f.visible_by}
    )


def sort_key(sync: bool) -> tuple[Any, Any]:
    """The order of a list: oldest change first (sync), else newest first."""
    return (SR.updated_datetime, SR.id) if sync else (SR.requested_datetime, SR.id)


def keyset(f: Filters) -> Clause | None:
    """cursor: the rows after the last one of the previous page, in the list's order."""
    if f.after is None:
        return None
    sync = f.sync

    def condition():
        bound = sa.tuple_(_p("after_at", TIME), _p("after_pk", sa.BigInteger))
        key = sa.tuple_(*sort_key(sync))
        return key > bound if sync else key < bound

    return Clause(
        "after:sync" if sync else "after",
        condition,
        {"after_at": f.after[0], "after_pk": f.after[1]},
    )


FILTERS: tuple[Callable[[Filters], Clause | None], ...] = (
    services,
    window,
    statuses,
    changed,
    bbox,
    near,
    area,
    text,
    visible,
    keyset,
)


def clauses(f: Filters) -> list[Clause]:
    """The clauses these filters ask for (the ids alone when ids are given)."""
    if f.ids is not None:
        return [ids(f)]  # type: ignore[list-item]
    return [c for c in (flt(f) for flt in FILTERS) if c is not None]


def conditions(clause: Clause) -> tuple[sa.ColumnElement, ...]:
    """A clause's condition(s), as a tuple for ``Select.where``."""
    built = clause.condition()
    return built if isinstance(built, tuple) else (built,)


def plans_by_value(f: Filters) -> bool:
    """Whether the best plan of these filters depends on their values: a box, a circle, an
    area or a text search (a small box wants the GiST index, a large one the newest-first
    scan; a rare word the text index). Such a statement is planned for its values on every
    call, never prepared (a prepared one settles on one generic plan for every box)."""
    return f.ids is None and (
        f.bbox is not None or f.near is not None or f.area_pk is not None or bool(f.text)
    )
