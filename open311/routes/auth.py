"""Who is calling: the API key of a third-party app, wherever the client sent it."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request

from open311.operations.keys import authenticate
from open311.routes.common import session


def api_key_from_request() -> str | None:
    """``api_key`` from the form or the query string, ``Authorization: Bearer`` or
    ``X-API-Key``."""
    for candidate in (
        request.form.get("api_key"),
        request.args.get("api_key"),
        request.headers.get("X-API-Key"),
    ):
        if candidate and candidate.strip():
            return candidate.strip()
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def require_api_key(view: Callable) -> Callable:
    """403 before anything else when the key is missing, unknown or revoked; the caller
    (the key's record) in ``g.api_key``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.api_key = authenticate(session(), api_key_from_request())
        return view(*args, **kwargs)

    return wrapper
