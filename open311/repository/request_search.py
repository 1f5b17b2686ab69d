"""GET requests and GET request by id: the public rows of one jurisdiction, selected by the
named filters of ``request_filters``."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Jurisdiction, Service, ServiceRequest
from open311.repository.driver import Rows, driver_connection, driver_rows
from open311.repository.privacy import exact_only, public_area_pks, unless_hidden
from open311.repository.request_filters import (
    Filters,
    clauses,
    conditions,
    plans_by_value,
    sort_key,
)

SR = ServiceRequest

# Datetimes are formatted by PostgreSQL in the session's TimeZone, which ``public_rows`` sets to
# the jurisdiction's (``use_timezone``): YYYY-MM-DDThh:mm:ss+hh:mm, to the second.
ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
# Keys for cursors and Last-Modified, exact to the microsecond, as text (one string parsed in
# Python costs less than the driver making a datetime of every row's).
EXACT_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def iso_text(column) -> sa.ColumnElement:
    """A datetime as ISO 8601 text, to the second, with the session TimeZone's offset."""
    return sa.func.to_char(column, ISO_FORMAT)


def _exact(column) -> sa.ColumnElement:
    return sa.func.to_char(sa.func.timezone("UTC", column), EXACT_FORMAT)


def parse_exact(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


# The columns of a GET requests item, labelled as the payload names its fields; the place as
# the service's location_privacy shows it.
PUBLIC_COLUMNS: tuple[Any, ...] = (
    sa.cast(SR.id, sa.Text).label("service_request_id"),
    SR.status,
    SR.status_notes,
    Service.service_name,
    Service.service_code,
    SR.description,
    SR.agency_responsible,
    SR.service_notice,
    iso_text(SR.requested_datetime).label("requested_datetime"),
    iso_text(SR.updated_datetime).label("updated_datetime"),
    iso_text(SR.expected_datetime).label("expected_datetime"),
    exact_only(SR.address).label("address"),
    exact_only(SR.address_id).label("address_id"),
    unless_hidden(SR.zipcode).label("zipcode"),
    sa.func.ST_Y(SR.public_location).label("lat"),
    sa.func.ST_X(SR.public_location).label("long"),
    exact_only(SR.media_url).label("media_url"),
)
# The extensions' columns (extensions=true).
EXTENDED_COLUMNS = (
    public_area_pks().label("area_pks"),
    SR.detailed_status,
    SR.duplicate_of,
    SR.attributes,
    SR.api_key_pk,
)
# A sync page's cursor key, read with its rows (updated_datetime changes). Newest first, the
# key (requested_datetime, which never changes) is read for the last row only: requested_key.
SYNC_KEY = _exact(SR.updated_datetime).label("updated_at")


def last_change_query(jurisdiction_pk, *, exact_text: bool = False) -> sa.Select:
    """The newest updated_datetime of the jurisdiction's public requests (``exact_text``:
    formatted as the cursors' keys, inside the query: once, not once per row)."""
    latest = sa.func.max(SR.updated_datetime)
    return sa.select(_exact(latest) if exact_text else latest).where(
        SR.jurisdiction_pk == jurisdiction_pk, SR.public
    )


# Statements by shape (the clauses' names and the options): built once per process, so the
# driver runs each one's compiled form (and PostgreSQL its prepared plan) without a rebuild.
_STATEMENTS: dict[tuple, sa.Select] = {}


def public_statement(
    jurisdiction_pk: int,
    f: Filters,
    *,
    limit: int | None = None,
    offset: int = 0,
    extended: bool = False,
    with_last_change: bool = False,
) -> tuple[sa.Select, dict]:
    """The SELECT behind GET requests (public rows of one jurisdiction) and its parameter
    values. With ``with_last_change``, every row also carries ``last_change``: the
    jurisdiction's latest change of any public request (exact text), read in the same
    snapshot as the rows. Without ``limit``: the server's maximum is the caller's to set."""
    chosen = clauses(f)
    sync = f.sync and f.ids is None
    shape = (tuple(c.name for c in chosen), sync, extended, with_last_change, offset > 0)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS.setdefault(
            shape,
            _build(
                chosen,
                sync=sync,
                extended=extended,
                with_last_change=with_last_change,
                offset=offset > 0,
            ),
        )
    values: dict = {"jurisdiction_pk": jurisdiction_pk, "limit": limit, "offset": offset}
    for clause in chosen:
        values.update(clause.values)
    return statement, values


def _build(
    chosen, *, sync: bool, extended: bool, with_last_change: bool, offset: bool
) -> sa.Select:
    columns = (*PUBLIC_COLUMNS, *EXTENDED_COLUMNS) if extended else PUBLIC_COLUMNS
    if sync:
        columns = (*columns, SYNC_KEY)
    jurisdiction_pk = sa.bindparam("jurisdiction_pk", type_=sa.Integer)
    if with_last_change:
        latest = last_change_query(jurisdiction_pk, exact_text=True).scalar_subquery()
        columns = (*columns, latest.label("last_change"))
    query = (
        sa.select(*columns)
        .join(Service, Service.id == SR.service_pk)
        .where(SR.jurisdiction_pk == jurisdiction_pk, SR.public)
    )
    for clause in chosen:
        query = query.where(*conditions(clause))
    key = sort_key(sync)
    query = (query.order_by(*key) if sync else query.order_by(*(c.desc() for c in key))).limit(
        sa.bindparam("limit", type_=sa.Integer)
    )
    return query.offset(sa.bindparam("offset", type_=sa.Integer)) if offset else query


def public_query(
    jurisdiction_pk: int, f: Filters, *, limit: int = 1000, extended: bool = False
) -> sa.Select:
    """public_statement with its values bound in (for EXPLAIN and tools)."""
    statement, values = public_statement(jurisdiction_pk, f, limit=limit, extended=extended)
    return statement.params(values)


def use_timezone(session: Session, timezone: str) -> sa.Connection:
    """The session's connection, its TimeZone set to ``timezone`` (a round trip only when it
    differs: the driver tracks the server's setting, rollbacks included)."""
    connection = session.connection()
    status = driver_connection(connection).info.parameter_status("TimeZone")
    if status != timezone:
        connection.execute(sa.select(sa.func.set_config("TimeZone", timezone, False)))
    return connection


def public_rows(
    session: Session,
    jurisdiction_pk: int,
    filters: Filters,
    *,
    limit: int,
    timezone: str,
    offset: int = 0,
    extended: bool = False,
    with_last_change: bool = False,
) -> Rows:
    """Public requests of a jurisdiction, datetimes formatted in ``timezone``
    (``extended``: with the extension columns; ``with_last_change``: see public_statement)."""
    statement, values = public_statement(
        jurisdiction_pk,
        filters,
        limit=limit,
        offset=offset,
        extended=extended,
        with_last_change=with_last_change,
    )
    return driver_rows(
        use_timezone(session, timezone),
        statement,
        values,
        prepare=False if plans_by_value(filters) else None,
        public_values=True,
    )


_REQUESTED_KEY = sa.select(_exact(SR.requested_datetime).label("requested_at")).where(
    SR.id == sa.bindparam("pk", type_=sa.BigInteger)
)


def requested_key(session: Session, pk: int) -> str | None:
    """A request's requested_datetime, exact text (a keyset cursor's key; it never changes);
    None if the request is gone (deleted by an operator since the page was read)."""
    rows = driver_rows(session.connection(), _REQUESTED_KEY, {"pk": pk}, public_values=True)
    return rows.value(0, "requested_at") if rows else None


def last_change(session: Session, jurisdiction_pk: int) -> dt.datetime | None:
    """The newest updated_datetime of the jurisdiction's public requests (an index probe)."""
    return session.scalar(last_change_query(jurisdiction_pk))


def jurisdiction_of_request(session: Session, pk: int) -> int | None:
    """The jurisdiction (pk) of a public request, or None."""
    return session.scalar(sa.select(SR.jurisdiction_pk).where(SR.id == pk, SR.public))


@functools.cache
def _published_version_statement() -> sa.Select:
    jurisdiction_pk = sa.bindparam("jurisdiction_pk", type_=sa.Integer)
    latest = last_change_query(jurisdiction_pk).scalar_subquery()
    services = (
        sa.select(sa.func.max(Service.updated_at))
        .where(Service.jurisdiction_pk == jurisdiction_pk)
        .scalar_subquery()
    )
    return sa.select(
        latest.label("latest"),
        sa.func.concat_ws(
            "|",
            _exact(Jurisdiction.updated_at),
            _exact(services),
            sa.cast(Jurisdiction.bundle_state, sa.Text),
        ).label("bundle"),
    ).where(Jurisdiction.id == jurisdiction_pk)


def published_version(session: Session, jurisdiction_pk: int) -> tuple[dt.datetime | None, str]:
    """What a whole-jurisdiction answer (an export, statistics) follows: the jurisdiction's
    latest change of a public request (exact), and as text its bundle as loaded (its own and
    its services' last changes, and the digests ``bundle_state`` keeps). One statement,
    built once (building it cost more than running it)."""
    row = session.execute(
        _published_version_statement(), {"jurisdiction_pk": jurisdiction_pk}
    ).one()
    return row.latest, row.bundle
