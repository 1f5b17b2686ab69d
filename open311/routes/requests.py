from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from open311.formats import Format, render
from open311.operations import requests as ops
from open311.operations.keys import authenticate
from open311.routes.common import blueprint, errors, session, setting
from schemas import resources
from schemas.params import ExtensionsQuery, PostServiceRequestForm, ServiceRequestsQuery

blp = blueprint("requests", "Service requests: submit, list, look up.")


def api_key_from_request() -> str | None:
    """``api_key`` from the form or the query string, ``Authorization: Bearer`` or
    ``X-API-Key``."""
    for candidate in (request.form.get("api_key"), request.args.get("api_key"),
                      request.headers.get("X-API-Key")):
        if candidate and candidate.strip():
            return candidate.strip()
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def require_api_key(view: Callable) -> Callable:
    """403 before anything else when the key is missing, unknown or revoked."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.api_key = authenticate(session(), api_key_from_request())
        return view(*args, **kwargs)
    return wrapper


def _limits() -> ops.Limits:
    return ops.Limits(max_requests=setting("MAX_REQUESTS"),
                      window_days=setting("DEFAULT_WINDOW_DAYS"))


@blp.route("/requests.<fmt:fmt>", methods=["GET"])
@blp.arguments(ServiceRequestsQuery, location="query")
@blp.response(200, resources.ServiceRequest(many=True))
@errors(blp, 400, 404)
def service_requests(query: dict, fmt: Format):
    """GET Service Requests

    Newest first, at most `max_requests` (see discovery). Without dates, the last 90 days.
    """
    payload = ops.get_service_requests(session(), ops.RequestQuery(**query), _limits())
    return render(payload, "service_requests", fmt)


@blp.route("/requests.<fmt:fmt>", methods=["POST"])
@require_api_key
@blp.arguments(PostServiceRequestForm, location="form")
@blp.response(200, resources.PostResponse(many=True))
@errors(blp, 400, 403, 404)
def post_service_request(form: dict, fmt: Format):
    """POST Service Request

    Answers `service_request_id` (realtime services), `token` (batch) or neither (blackbox).
    Without `jurisdiction_id` on a multi-jurisdiction server, the request goes to the
    deepest jurisdiction covering the point that offers the service there.
    """
    payload = ops.post_service_request(session(), ops.NewRequest.from_form(form), g.api_key)
    return render(payload, "service_requests", fmt)


@blp.route("/requests/<service_request_id>.<fmt:fmt>")
@blp.arguments(ExtensionsQuery, location="query", as_kwargs=True)
@blp.response(200, resources.ServiceRequest(many=True))
@errors(blp, 400, 404)
def service_request(fmt: Format, service_request_id: str, jurisdiction_id: str | None = None,
                    extensions: bool = False):
    """GET Service Request"""
    payload = ops.get_service_request(session(), jurisdiction_id, service_request_id,
                                      extensions)
    return render(payload, "service_requests", fmt)
