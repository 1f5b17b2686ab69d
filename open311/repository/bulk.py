"""The bulk export of public requests: GET requests' filters, no page limit, rows streamed
from a server-side cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey, Jurisdiction, RequestEvent, Service, ServiceRequest
from open311.repository.request_filters import Filters, clauses, conditions
from open311.repository.request_search import iso_text, last_change_query, use_timezone

SR = ServiceRequest


# When a closed request was closed: its latest event that left it closed.
_CLOSED_AT = (
    sa.select(sa.func.max(RequestEvent.at))
    .where(RequestEvent.request_pk == SR.id, RequestEvent.status == "closed")
    .correlate(SR)
    .scalar_subquery()
)

# The columns of a bulk row, labelled as GeoReport Bulk names them (docs/bulk-export.md).
BULK_COLUMNS: tuple[Any, ...] = (
    sa.cast(SR.id, sa.Text).label("service_request_id"),
    iso_text(SR.requested_datetime).label("requested_datetime"),
    iso_text(SR.updated_datetime).label("updated_datetime"),
    sa.case((SR.status == "closed", iso_text(_CLOSED_AT)), else_=None).label("closed_date"),
    SR.status.label("status_description"),
    SR.status_notes,
    ApiKey.name.label("source"),
    Service.service_name,
    Service.service_code,
    SR.description,
    SR.agency_responsible,
    SR.address,
    sa.func.ST_Y(SR.location).label("lat"),
    sa.func.ST_X(SR.location).label("long"),
    SR.area_pks,
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
) -> Iterator[sa.RowMapping]:
    """The statement's rows, read ``batch`` at a time from a server-side cursor (the
    session must be in a transaction); datetimes formatted in ``timezone``. Closing the
    iterator early closes the cursor."""
    connection = use_timezone(session, timezone)
    result = connection.execute(statement, values, execution_options={"yield_per": batch})
    try:
        yield from result.mappings()
    finally:
        result.close()


def export_version(session: Session, jurisdiction_pk: int) -> tuple[dt.datetime | None, str]:
    """What an export's content follows: the jurisdiction's latest change of a public
    request (exact), and its bundle as loaded (services and areas: the digests
    ``bundle_state`` keeps)."""
    latest = last_change_query(jurisdiction_pk).scalar_subquery()
    row = session.execute(
        sa.select(
            latest.label("latest"), sa.cast(Jurisdiction.bundle_state, sa.Text).label("bundle")
        ).where(Jurisdiction.id == jurisdiction_pk)
    ).one()
    return row.latest, row.bundle
