"""POST Service Request: checks first, then one write; an Idempotency-Key's repeat
answers as the first did."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from open311.changes import will_change
from open311.config import DEFAULTS
from open311.errors import BadRequest
from open311.imaging import ImageRejected, clean_image, off_the_loop
from open311.models.request import PERSONAL_FIELDS
from open311.operations.attributes import check_attributes
from open311.operations.directory import DirectoryCache, jurisdiction_ref
from open311.operations.keys import Caller
from open311.operations.locating import fill_address, locate, route
from open311.operations.payloads import MEDIA_PATH, format_datetime, zone
from open311.repository import new_requests as writes
from open311.repository import requests as repo

logger = logging.getLogger(__name__)


@dataclass
class NewRequest:
    """POST requests fields, as parsed from the form."""

    service_code: str
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    personal: dict[str, str | None] = field(default_factory=dict)
    extensions: bool = False  # answer with possible duplicates nearby
    media: list[bytes] = field(default_factory=list)  # uploaded photos, as sent

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> NewRequest:
        return cls(
            service_code=form["service_code"],
            jurisdiction_id=form.get("jurisdiction_id"),
            lat=form.get("lat"),
            long=form.get("long"),
            address_string=form.get("address_string"),
            address_id=form.get("address_id"),
            description=form.get("description"),
            media_url=form.get("media_url"),
            attributes=form.get("attributes") or {},
            personal={name: form.get(name) for name in PERSONAL_FIELDS},
            extensions=bool(form.get("extensions")),
        )


@dataclass
class PostContext:
    """What a POST needs besides its fields: where photos go and how they are reached,
    the limits, and the Idempotency-Key (with a fingerprint of what was sent)."""

    storage: Any = None  # open311.storage.MediaStorage
    media_max_pixels: int = DEFAULTS["MEDIA_MAX_PIXELS"]
    duplicate_radius_m: float = DEFAULTS["DUPLICATE_RADIUS_M"]
    duplicate_window_days: int = DEFAULTS["DUPLICATE_WINDOW_DAYS"]
    idempotency_key: str | None = None
    fingerprint: str = ""
    directory: DirectoryCache | None = None  # the tiers above each jurisdiction


def post_service_request(
    session: Session,
    new: NewRequest,
    api_key: Caller,
    context: PostContext | None = None,
    now: dt.datetime | None = None,
) -> list[dict]:
    """Store a request; answer its id (realtime), a token (batch) or neither (blackbox).

    A batch request is published once accepted; a blackbox one is kept for the city's
    staff and never published (it has no number to follow).

    Without ``jurisdiction_id`` on a server of several jurisdictions, the request goes to
    the deepest jurisdiction whose boundary covers the point and which offers the service
    there. An address is resolved against the address points; coordinates alone get the
    nearest address filled in. Photos are checked and stripped of metadata. Every check runs
    before anything is written; a refusal raises and stores nothing. With an
    Idempotency-Key, a repeated POST answers what the first one did.
    """
    context = context or PostContext()
    if context.idempotency_key:
        replay = _replay(session, api_key, context)
        if replay is not None:
            will_change(session)  # an answer repeated: nothing written
            return replay
    directory = context.directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, new.jurisdiction_id, by_location=True)
    place = locate(
        session,
        jurisdiction,
        lat=new.lat,
        long=new.long,
        address_string=new.address_string,
        address_id=new.address_id,
    )
    routed = route(session, jurisdiction, new.service_code, place, directory)
    jurisdiction, service = routed.jurisdiction, routed.service
    tz = zone(jurisdiction.timezone)
    attributes = check_attributes(service.attributes, new.attributes, tz)
    images = _clean_images(new.media, context)
    fill_address(session, routed)

    now = now or dt.datetime.now(dt.UTC)
    batch = service.type == "batch"
    unique: dict[str, Any] = {}  # the same photo twice is one photo
    for image in images:
        unique.setdefault(f"{hashlib.sha256(image.data).hexdigest()[:32]}.{image.extension}", image)
    media_url = f"{MEDIA_PATH}{next(iter(unique))}" if unique else new.media_url
    token = secrets.token_urlsafe(16) if batch else None
    # An answer stored for an Idempotency-Key names the request: its id is taken first.
    request_pk = writes.new_request_id(session) if context.idempotency_key else None

    answer: dict[str, Any] = {}
    if service.type == "realtime":
        answer["service_request_id"] = None if request_pk is None else str(request_pk)
    elif batch:
        answer["token"] = token
    answer["service_notice"] = service.service_notice
    answer["account_id"] = None
    # Read before this request exists.
    if new.extensions and place.long is not None and place.lat is not None:
        answer["extended_attributes"] = {
            "nearby_requests": [
                {
                    "service_request_id": str(row.id),
                    "status": row.status,
                    "requested_datetime": format_datetime(row.requested_datetime, tz),
                    "distance_m": round(row.distance, 1),
                }
                for row in repo.nearby_open(
                    session,
                    service.id,
                    place.long,
                    place.lat,
                    context.duplicate_radius_m,
                    now - dt.timedelta(days=context.duplicate_window_days),
                )
            ]
        }
    payload = [answer]

    for name, image in unique.items():
        context.storage.put(name, image.data)
    remember = (
        writes.Remember(context.idempotency_key, context.fingerprint, payload)
        if context.idempotency_key
        else None
    )
    try:
        # One statement (the request, its event, contact, photos, the key's answer): atomic
        # without a transaction, so the POST's session may be an autocommit one.
        request_pk = writes.add_request(
            session,
            jurisdiction_pk=jurisdiction.id,
            service=service,
            place=place,
            area_pks=routed.area_pks,
            description=new.description,
            media_url=media_url,
            attributes=attributes,
            api_key_pk=api_key.id,
            token=token,
            accepted_at=None if batch else now,
            public=service.type == "realtime",
            now=now,
            personal=new.personal,
            media=list(unique.items()),
            remember=remember,
            request_pk=request_pk,
        )
        session.commit()
    except writes.AnswerExists:
        # The same Idempotency-Key, stored meanwhile by a concurrent POST: answer as it did.
        session.rollback()
        replay = _replay(session, api_key, context)
        if replay is None:
            raise
        return replay
    if "service_request_id" in answer:
        answer["service_request_id"] = str(request_pk)
    logger.info(
        "request %s created: %s/%s by app %s",
        request_pk,
        jurisdiction.jurisdiction_id,
        service.service_code,
        api_key.id,
    )
    return payload


def _replay(session: Session, api_key: Caller, context: PostContext) -> list[dict] | None:
    if context.idempotency_key is None:
        return None
    stored = writes.remembered_answer(session, api_key.id, context.idempotency_key)
    if stored is None:
        return None
    if stored.fingerprint != context.fingerprint:
        raise BadRequest(
            "Idempotency-Key: already used for a different request; use a new "
            "key for each new request"
        )
    return stored.payload


def _clean_images(media: list[bytes], context: PostContext) -> list:
    images = []
    for index, data in enumerate(media, start=1):
        label = "media" if len(media) == 1 else f"media (file {index})"
        try:
            images.append(
                off_the_loop(clean_image, data, max_pixels=context.media_max_pixels, label=label)
            )
        except ImageRejected as exc:
            raise BadRequest(str(exc)) from None
    return images
