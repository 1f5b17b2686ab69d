"""The batch queue: requests of batch services wait for the city to accept them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from open311.operations.directory import DirectoryCache, jurisdiction_ref
from open311.repository import requests as repo


def accept_pending_requests(
    session: Session,
    *,
    jurisdiction_id: str | None = None,
    tokens: list[str] | None = None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[str | None, int]]:
    """Accept batch requests waiting in the queue: each gets its public id, appears in
    GET requests, and its token resolves. Returns (token, service_request_id) pairs."""
    jurisdiction_pk = None
    if jurisdiction_id:
        jurisdiction_pk = jurisdiction_ref(DirectoryCache(0), session, jurisdiction_id).id
    now = now or dt.datetime.now(dt.UTC)
    pending = repo.pending(session, jurisdiction_pk=jurisdiction_pk, tokens=tokens, limit=limit)
    # One statement for them all: the statistics' tally then locks its cells in one order
    # (row by row, two acceptors at once could each hold a cell the other waits for).
    repo.accept(session, [request.id for request in pending], now)
    for request in pending:
        repo.add_event(session, request.id, kind="accepted", status=request.status, at=now)
    session.commit()
    return [(request.token, request.id) for request in pending]
