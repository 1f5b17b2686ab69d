"""Request updates (FixMyStreet's servicerequestupdates extension): back-office systems
post status changes with a note; anyone can read them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from open311.changes import will_change
from open311.errors import BadRequest, Forbidden, NotFound
from open311.models import RequestEvent
from open311.operations.directory import DirectoryCache, jurisdiction_by_pk, jurisdiction_ref
from open311.operations.ids import public_pk
from open311.operations.keys import Caller
from open311.operations.payloads import format_datetime, time_bound, zone
from open311.repository import updates as repo
from schemas.vocabulary import UPDATE_STATUSES

BACKOFFICE = "backoffice"


@dataclass
class NewUpdate:
    service_request_id: str
    update_id: str
    status: str
    updated_datetime: dt.datetime | dt.date
    description: str
    jurisdiction_id: str | None = None
    media_url: str | None = None
    external_status_code: str | None = None


def _event_payload(event: RequestEvent, photo_shown: bool, tz) -> dict:
    return {
        "update_id": str(event.id),
        "service_request_id": str(event.request_pk),
        "status": (event.detailed_status or event.status).lower(),
        "updated_datetime": format_datetime(event.at, tz),
        "description": event.note,
        "media_url": event.media_url if photo_shown else None,
        "external_status_code": event.external_status_code,
    }


def post_update(
    session: Session,
    new: NewUpdate,
    api_key: Caller,
    now: dt.datetime | None = None,
    directory: DirectoryCache | None = None,
) -> list[dict]:
    """Record an update: the request takes the new status (detailed status kept, mapped onto
    open/closed) and the note. A second POST with the same ``update_id`` from the same app
    changes nothing and answers the same, also when both arrive at once. Without
    ``jurisdiction_id`` the request is found in whichever jurisdiction holds it."""
    if BACKOFFICE not in (api_key.scopes or []):
        raise Forbidden("this api_key may not post request updates (it needs the backoffice scope)")
    directory = directory or DirectoryCache(0)
    named = (
        jurisdiction_ref(directory, session, new.jurisdiction_id) if new.jurisdiction_id else None
    )
    if new.status not in UPDATE_STATUSES:
        raise BadRequest(f"status: {new.status!r} is not one of {', '.join(UPDATE_STATUSES)}")
    existing = repo.client_update(session, api_key.id, new.update_id)
    if existing is not None:
        will_change(session)  # an update repeated: nothing written
        return [{"update_id": str(existing)}]
    pk = public_pk(new.service_request_id)
    request = (
        None if pk is None else repo.request_to_update(session, pk, named.id if named else None)
    )
    if request is None:
        raise NotFound(f"service request {new.service_request_id!r} not found")
    tz = zone((named or jurisdiction_by_pk(directory, session, request.jurisdiction_pk)).timezone)
    at = new.updated_datetime
    if not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time())
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    now = now or dt.datetime.now(dt.UTC)
    if at > now + dt.timedelta(minutes=5):
        raise BadRequest("updated_datetime: is in the future")
    status = UPDATE_STATUSES[new.status] or request.status
    detailed = request.detailed_status if new.status == "UNCHANGED" else new.status.lower()
    kind = "closed" if status == "closed" and request.status != "closed" else "update"
    if status == "open" and request.status == "closed":
        kind = "reopened"
    event_id = repo.add_client_update(
        session,
        request_pk=request.id,
        kind=kind,
        status=status,
        detailed_status=detailed,
        note=new.description or None,
        at=at,
        api_key_pk=api_key.id,
        client_update_id=new.update_id,
        external_status_code=new.external_status_code,
        media_url=new.media_url,
    )
    if event_id is None:  # the same update_id, stored meanwhile by a concurrent POST
        session.rollback()
        return [{"update_id": str(repo.client_update(session, api_key.id, new.update_id))}]
    request.status, request.detailed_status = status, detailed
    if kind == "closed":
        request.closed_at = at
    elif kind == "reopened":
        request.closed_at = None
    if new.description:
        request.status_notes = new.description
    request.updated_datetime = now
    session.commit()
    return [{"update_id": str(event_id)}]


def get_updates(
    session: Session,
    jurisdiction_id: str | None,
    start: dt.datetime | dt.date | None,
    end: dt.datetime | dt.date | None,
    limit: int,
    window_days: int,
    now: dt.datetime | None = None,
    directory: DirectoryCache | None = None,
) -> list[dict]:
    """Updates (status changes with their notes) of public requests, oldest first, between
    ``start`` and ``end`` (default: the last ``window_days`` days)."""
    jurisdiction = jurisdiction_ref(directory or DirectoryCache(0), session, jurisdiction_id)
    tz = zone(jurisdiction.timezone)
    now = now or dt.datetime.now(dt.UTC)
    since = time_bound(start, tz, end=False) if start else None
    until = time_bound(end, tz, end=True) if end else None
    if since and until and since >= until:
        raise BadRequest("start_date must be before end_date")
    if since is None:
        since = (until or now) - dt.timedelta(days=window_days)
    return [
        _event_payload(event, photo_shown, tz)
        for event, photo_shown in repo.published_updates(
            session, jurisdiction.id, since, until, limit
        )
    ]
