"""The bulk export of public requests: GET requests' filters, no page limit, rows streamed
from a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey, Service, ServiceRequest
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
) -> Iterator[sa.Row]:
    """The statement's rows (tuples in its columns' order: ``column_names``), read
    ``batch`` at a time from a server-side cursor (the session must be in a transaction);
    datetimes formatted in ``timezone``. Closing the iterator early closes the cursor."""
    connection = use_timezone(session, timezone)
    result = connection.execute(statement, values, execution_options={"yield_per": batch})
    try:
        yield from result
    finally:
        result.close()


def column_names(statement: sa.Select) -> list[str]:
    """The labels of a statement's columns, in order (its rows' positions, by name)."""
    return [column.name for column in statement.selected_columns]
