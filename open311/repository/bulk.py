"""The bulk export of public requests: GET requests' filters, no page limit, rows streamed
from a server-side cursor."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey, Service, ServiceRequest
from open311.repository.driver import driver_batches
from open311.repository.privacy import exact_only, public_area_pks
from open311.repository.request_filters import Filters, clauses, conditions
from open311.repository.request_search import iso_text, use_timezone

SR = ServiceRequest


# The columns of a bulk row, labelled as GeoReport Bulk names them (docs/bulk-export.md); the
# place as the service's location_privacy shows it.
BULK_COLUMNS: tuple[Any, ...] = (
    sa.cast(SR.id, sa.Text).label("service_request_id"),
    iso_text(SR.requested_datetime).label("requested_datetime"),
    iso_text(SR.updated_datetime).label("updated_datetime"),
    iso_text(SR.closed_at).label("closed_date"),
    SR.status.label("status_description"),
    SR.status_notes,
    ApiKey.name.label("source"),
    Service.service_name,
    Service.service_code,
    SR.description,
    SR.agency_responsible,
    exact_only(SR.address).label("address"),
    sa.func.ST_Y(SR.public_location).label("lat"),
    sa.func.ST_X(SR.public_location).label("long"),
    # psycopg reads an int[] as a list already: no SQLAlchemy processing of each row's array
    sa.type_coerce(public_area_pks(), sa.types.NullType()).label("area_pks"),
)


def bulk_statement(jurisdiction_pk: int, f: Filters) -> tuple[sa.Select, dict]:
    """The SELECT of a bulk export and its parameter values: the public requests of one
    jurisdiction that the filters select, newest first."""
    query = (
        sa.select(*BULK_COLUMNS)
        .join(Service, Service.id == SR.service_pk)
        .outerjoin(ApiKey, ApiKey.id == SR.api_key_pk)
        .where(SR.jurisdiction_pk == sa.bindparam("jurisdiction_pk", type_=sa.Integer), SR.public)
    )
    values: dict[str, Any] = {"jurisdiction_pk": jurisdiction_pk}
    for clause in clauses(f):
        query = query.where(*conditions(clause))
        values.update(clause.values)
    return query.order_by(SR.requested_datetime.desc(), SR.id.desc()), values


def stream_rows(
    session: Session, statement: sa.Select, values: dict, *, timezone: str, batch: int = 2000
) -> tuple[tuple[str, ...], Iterator[tuple]]:
    """The statement's column names and rows (plain tuples in that order), read ``batch``
    at a time from a server-side cursor by the lean runner (the session must be in a
    transaction); datetimes formatted in ``timezone``. Closing the iterator early closes
    the cursor.

    A reader thread (a greenlet under gevent) asks PostgreSQL for the next batch while the
    caller formats this one, so the two work at once (bench/RESULTS.md: the export's rows/s
    against COPY's); at most two batches wait, so memory stays flat."""
    connection = use_timezone(session, timezone)
    names, batches = driver_batches(connection, statement, values, batch=batch)
    return names, _read_ahead(batches)


def _read_ahead(batches: Iterator[list[tuple]]) -> Iterator[tuple]:
    ahead: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            for rows in batches:
                if stop.is_set():
                    return
                put(rows)
            put(_DONE)
        except BaseException as error:  # raised again where the rows are read
            put(error)
        finally:
            # The cursor's close fails on a broken connection: the error that broke it was
            # raised to the reader already.
            with contextlib.suppress(Exception):
                batches.close()  # type: ignore[attr-defined]

    reader = threading.Thread(target=read, name="open311-export-reader", daemon=True)
    reader.start()
    try:
        while (rows := ahead.get()) is not _DONE:
            if isinstance(rows, BaseException):
                raise rows
            yield from rows
    finally:
        stop.set()
        reader.join()


_DONE = object()
