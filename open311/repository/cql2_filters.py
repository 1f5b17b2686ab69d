"""CQL2 filters of OGC API requests as SQL: the queryables (public fields only, each to its
column) and the tree of ``schemas.cql2`` as one condition, every literal a bound parameter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from open311.models import ApiKey, Service, ServiceRequest
from open311.models.base import WGS84
from open311.repository.privacy import exact_only

SR = ServiceRequest

# What a CQL2 filter may name: public fields only, each to its column and JSON Schema type
# (a filter never reaches a column by a name the client chooses).
QUERYABLES: dict[str, tuple[Any, str]] = {
    "service_request_id": (sa.cast(SR.id, sa.Text), "string"),
    "service_code": (Service.service_code, "string"),
    "service_name": (Service.service_name, "string"),
    "status_description": (SR.status, "string"),
    "status_notes": (SR.status_notes, "string"),
    "description": (SR.description, "string"),
    "agency_responsible": (SR.agency_responsible, "string"),
    "source": (ApiKey.name, "string"),
    "address": (exact_only(SR.address), "string"),
    "requested_datetime": (SR.requested_datetime, "date-time"),
    "updated_datetime": (SR.updated_datetime, "date-time"),
    "closed_date": (SR.closed_at, "date-time"),
    "geometry": (SR.public_location, "geometry"),
}


class UnknownQueryable(ValueError):
    """A filter names a property that is not a queryable."""


def _column(name: str) -> tuple[Any, str]:
    if name not in QUERYABLES:
        raise UnknownQueryable(name)
    return QUERYABLES[name]


def _literal(value: Any, kind: str, tz: dt.tzinfo) -> Any:
    """A filter's literal as a bound parameter of the property's type (ValueError when
    they do not match)."""
    if kind == "date-time":
        if isinstance(value, dt.datetime):
            return sa.literal(value, sa.DateTime(timezone=True))
        if isinstance(value, dt.date):  # a day: its first moment, the jurisdiction's
            return sa.literal(dt.datetime.combine(value, dt.time(), tz), sa.DateTime(timezone=True))
        if isinstance(value, str):  # an RFC 3339 string (what GDAL's CQL sends for a time)
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"a time property compares with TIMESTAMP, DATE or an RFC 3339 string, "
                    f"not {value!r:.40}"
                ) from None
            return _literal(parsed if parsed.tzinfo else parsed.replace(tzinfo=tz), kind, tz)
        raise ValueError(f"a time property compares with TIMESTAMP or DATE, not {value!r:.40}")
    if kind == "string" and isinstance(value, str):
        return sa.literal(value, sa.Text)
    raise ValueError(f"a {kind} property does not compare with {value!r:.40}")


def cql2_condition(node: Any, tz: dt.tzinfo) -> sa.ColumnElement:
    """A CQL2 tree (schemas.cql2.Node) as a condition on the public requests: columns only
    from QUERYABLES, every literal a bound parameter."""
    kind = node.kind
    if kind in ("and", "or"):
        parts = [cql2_condition(part, tz) for part in node.args]
        return sa.and_(*parts) if kind == "and" else sa.or_(*parts)
    if kind == "not":
        return sa.not_(cql2_condition(node.args[0], tz))
    column, column_kind = _column(node.prop)
    if kind == "null":
        condition = column.is_(None)
    elif column_kind == "geometry":
        if kind != "spatial":
            raise ValueError(f"{node.prop} takes a spatial function (S_INTERSECTS...)")
        shape = sa.func.ST_GeomFromText(sa.literal(node.args[0].wkt, sa.Text), WGS84)
        condition = {
            "s_intersects": sa.func.ST_Intersects(column, shape),
            "s_within": sa.func.ST_Within(column, shape),
            "s_contains": sa.func.ST_Contains(column, shape),
            "s_disjoint": sa.not_(sa.func.ST_Intersects(column, shape)),
        }[node.op]
    elif kind == "spatial":
        raise ValueError(f"{node.prop} is not a geometry")
    elif kind == "temporal":
        if column_kind != "date-time":
            raise ValueError(f"{node.prop} is not a time")
        condition = _temporal(node.op, column, node.args, tz)
    elif kind == "compare":
        value = _literal(node.args[0], column_kind, tz)
        condition = {
            "=": column == value,
            "<>": column != value,
            "<": column < value,
            "<=": column <= value,
            ">": column > value,
            ">=": column >= value,
        }[node.op]
    elif kind == "like":
        condition = column.like(_literal(node.args[0], column_kind, tz))
    elif kind == "in":
        condition = column.in_([_literal(v, column_kind, tz) for v in node.args])
    elif kind == "between":
        low, high = (_literal(v, column_kind, tz) for v in node.args)
        condition = column.between(low, high)
    else:
        raise ValueError(f"{kind} is not read here")
    return sa.not_(condition) if node.negated else condition


def _temporal(op: str, column: Any, period: tuple, tz: dt.tzinfo) -> sa.ColumnElement:
    start, end = (None if t is None else _literal(t, "date-time", tz) for t in period)
    if op == "t_after":
        return column > end if end is not None else sa.false()
    if op == "t_before":
        return column < start if start is not None else sa.false()
    if op == "t_equals":
        return column == start if start is not None else sa.false()
    low, high = (
        (column >= start, column <= end)
        if op == "t_intersects"
        else (
            column > start,
            column < end,
        )
    )
    return sa.and_(low if start is not None else sa.true(), high if end is not None else sa.true())
