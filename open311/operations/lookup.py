"""GET Service Request (by id) and GET request id from a token."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.operations.directory import (
    DirectoryCache,
    JurisdictionRef,
    jurisdiction_by_pk,
    jurisdiction_ref,
)
from open311.operations.ids import public_pks
from open311.operations.kept_answers import KeptAnswers
from open311.operations.payloads import RequestItem, zone
from open311.operations.request_items import items_of
from open311.repository import request_search as search
from open311.repository import requests as repo
from open311.repository.driver import Rows
from open311.repository.request_filters import Filters


def _owner(
    session: Session,
    directory: DirectoryCache,
    jurisdiction_id: str | None,
    jurisdiction_pk: int | None,
) -> JurisdictionRef | None:
    """The jurisdiction a single request or token is looked up in: the named one, else the
    one that holds it (ids and tokens are unique across the server, so a client that knows
    only the base URL follows what it submitted wherever it was routed); None: not held."""
    if jurisdiction_id:
        return jurisdiction_ref(directory, session, jurisdiction_id)
    return (
        None if jurisdiction_pk is None else jurisdiction_by_pk(directory, session, jurisdiction_pk)
    )


def get_service_request(
    session: Session,
    jurisdiction_id: str | None,
    service_request_id: str,
    extensions: bool = False,
    directory: DirectoryCache | None = None,
    kept: KeptAnswers | None = None,
) -> list[RequestItem] | list[dict]:
    """``kept``: the worker's kept answers, used for the standard answer (not the
    extensions', which read the request's history, areas and channel too)."""

    pks = public_pks([service_request_id])

    def read() -> list[RequestItem] | list[dict]:
        rows, tz = _public_row(
            session, jurisdiction_id, service_request_id, pks, extensions, directory
        )
        return items_of(session, rows, tz, extensions)

    if kept is None or directory is None or extensions or not pks:
        return read()
    key = (jurisdiction_id, pks[0])  # "042" and "42": one answer
    return kept.answer(key, pks[0], read, directory)  # type: ignore[arg-type]


def _public_row(
    session: Session,
    jurisdiction_id: str | None,
    service_request_id: str,
    ids: list[int],
    extensions: bool,
    directory: DirectoryCache | None,
) -> tuple[Rows, ZoneInfo]:
    """The request's public row (``ids``: its id as read, or none when unreadable) and the
    time zone of its jurisdiction."""
    holder = (
        search.jurisdiction_of_request(session, ids[0]) if ids and not jurisdiction_id else None
    )
    jurisdiction = _owner(session, directory or DirectoryCache(0), jurisdiction_id, holder)
    if jurisdiction is None or not ids:
        raise NotFound(f"service request {service_request_id!r} not found")
    rows = search.public_rows(
        session,
        jurisdiction.id,
        Filters(ids=ids),
        limit=1,
        timezone=jurisdiction.timezone,
        extended=extensions,
    )
    if not rows:
        raise NotFound(f"service request {service_request_id!r} not found")
    return rows, zone(jurisdiction.timezone)


def get_request_id_from_token(
    session: Session,
    jurisdiction_id: str | None,
    token: str,
    directory: DirectoryCache | None = None,
) -> list[dict]:
    """``service_request_id`` is null while a batch request waits to be accepted (clients
    poll, as with Chicago's endpoint)."""
    request = repo.by_token(session, token)
    owner = _owner(
        session,
        directory or DirectoryCache(0),
        jurisdiction_id,
        request.jurisdiction_pk if request is not None else None,
    )
    if request is None or owner is None or request.jurisdiction_pk != owner.id:
        raise NotFound(f"token {token!r} not found")
    return [
        {
            "service_request_id": str(request.id) if request.accepted_at else None,
            "token": request.token,
        }
    ]
