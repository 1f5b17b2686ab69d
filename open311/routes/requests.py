from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Response, current_app, g, request

from open311.caching import conditional
from open311.db import autocommit
from open311.errors import BadRequest, NotFound, PayloadTooLarge
from open311.formats import Format, render
from open311.links import absolute_media, url_for_path
from open311.operations import lookup, submit
from open311.operations.listing import Listing, RequestQuery, get_service_requests
from open311.operations.media import get_media
from open311.routes.auth import require_api_key
from open311.routes.common import (
    blueprint,
    directory,
    errors,
    kept_answers,
    limits,
    session,
    setting,
)
from open311.routes.idempotency import fingerprint, idempotency_key
from schemas import resources
from schemas.params import ExtensionsQuery, PostServiceRequestForm, ServiceRequestsQuery

blp = blueprint("requests", "Service requests: submit, list, look up.")


def _link(listing: Listing) -> str | None:
    """RFC 8288 Link header: the next and previous pages, with every other parameter kept."""
    args = [
        (k, v)
        for k, v in request.args.items(multi=True)
        if k not in ("page", "page_size", "cursor")
    ]
    links = []
    for rel, page, cursor in (
        ("next", listing.page + 1, listing.next_cursor),
        ("prev", listing.page - 1, listing.prev_cursor),
    ):
        if cursor is None:
            continue
        query = urlencode(
            [*args, ("page", page), ("page_size", listing.page_size), ("cursor", cursor)]
        )
        links.append(f'<{url_for_path(request.path)}?{query}>; rel="{rel}"')
    return ", ".join(links) or None


@blp.route("/requests.<fmt:fmt>", methods=["GET"])
@blp.arguments(ServiceRequestsQuery, location="query")
@blp.response(200, resources.ServiceRequest(many=True))
@errors(blp, 400, 404)
def service_requests(query: dict, fmt: Format):
    """GET Service Requests

    Newest first, at most `max_requests` (see discovery). Without dates, the last
    `OPEN311_DEFAULT_WINDOW_DAYS` days (90 unless configured).
    """
    listing = get_service_requests(
        session(), RequestQuery(**query), limits(), directory=directory()
    )
    link = _link(listing)
    absolute_media(listing.items)
    return conditional(
        render(listing.items, "service_requests", fmt, headers={"Link": link} if link else None),
        listing.last_modified,
    )


def _uploads() -> list[bytes]:
    """The photos of a multipart POST (``media`` or ``media[]``), size-checked."""
    files = request.files.getlist("media") + request.files.getlist("media[]")
    files = [f for f in files if f.filename or f.content_length]
    if len(files) > setting("MEDIA_MAX_FILES"):
        raise BadRequest(f"media: at most {setting('MEDIA_MAX_FILES')} files per request")
    limit = setting("MEDIA_MAX_BYTES")
    uploads = []
    for upload in files:
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"media: a file is larger than {limit} bytes")
        if data:
            uploads.append(data)
    return uploads


@blp.route("/requests.<fmt:fmt>", methods=["POST"])
@autocommit  # its writes are one statement (repository.new_requests.add_request)
@require_api_key
@blp.arguments(PostServiceRequestForm, location="form")
@blp.response(200, resources.PostResponse(many=True))
@errors(blp, 400, 403, 404)
def post_service_request(form: dict, fmt: Format):
    """POST Service Request

    Answers `service_request_id` (realtime services), `token` (batch) or neither (blackbox).
    Without `jurisdiction_id` on a multi-jurisdiction server, the request goes to the
    deepest jurisdiction covering the point that offers the service there.

    Extensions: photos as multipart `media` files (JPEG, PNG, WebP; stripped of EXIF; the
    first becomes `media_url`); an `Idempotency-Key` header makes a retried POST answer
    what the first did; `extensions=true` lists possible duplicates nearby.
    """
    key = idempotency_key()
    uploads = _uploads()
    new = submit.NewRequest.from_form(form)
    new.media = uploads
    context = submit.PostContext(
        storage=current_app.extensions["open311_storage"],
        media_max_pixels=setting("MEDIA_MAX_PIXELS"),
        duplicate_radius_m=setting("DUPLICATE_RADIUS_M"),
        duplicate_window_days=setting("DUPLICATE_WINDOW_DAYS"),
        idempotency_key=key,
        fingerprint=fingerprint(uploads) if key else "",
        directory=directory(),
    )
    payload = submit.post_service_request(session(), new, g.api_key, context)
    return render(payload, "service_requests", fmt)


@blp.route("/media/<name>")
@blp.response(
    200, description="The photo (image/jpeg, image/png or image/webp).", content_type="image/jpeg"
)
@blp.doc(
    responses={
        "200": {
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/jpeg", "image/png", "image/webp")
            }
        }
    }
)
@errors(blp, 404)
def media(name: str):
    """A photo uploaded with a request (extension): its stable `media_url`"""
    stem, _, extension = name.partition(".")
    found = get_media(session(), stem, extension)
    data = current_app.extensions["open311_storage"].get(name) if found else None
    if data is None:
        raise NotFound(f"media {name!r} not found")
    response = Response(data, content_type=found.content_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(stem)
    return response.make_conditional(request)


@blp.route("/requests/<service_request_id>.<fmt:fmt>")
@blp.arguments(ExtensionsQuery, location="query", as_kwargs=True)
@blp.response(200, resources.ServiceRequest(many=True))
@errors(blp, 400, 404)
def service_request(
    fmt: Format,
    service_request_id: str,
    jurisdiction_id: str | None = None,
    extensions: bool = False,
):
    """GET Service Request"""
    payload = lookup.get_service_request(
        session(),
        jurisdiction_id,
        service_request_id,
        extensions,
        directory=directory(),
        kept=kept_answers(),
    )
    absolute_media(payload)
    return conditional(
        render(payload, "service_requests", fmt),
        dt.datetime.fromisoformat(payload[0]["updated_datetime"]),
    )
