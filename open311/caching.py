"""HTTP caching for browser apps and dashboards: ETag and Last-Modified, 304 answers."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import Response, request


def conditional(response: Response, items: list[dict]) -> Response:
    """Give a GET answer an ETag (a digest of its body) and a Last-Modified (the newest
    ``updated_datetime`` in it), and turn it into a 304 when the client's copy is current
    (``If-None-Match``, or ``If-Modified-Since`` when no ETag is sent)."""
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    stamps = [item.get("updated_datetime") for item in items if item.get("updated_datetime")]
    if stamps:
        response.last_modified = max(dt.datetime.fromisoformat(s) for s in stamps)
    response.headers["Cache-Control"] = "no-cache"  # cache, but revalidate every time
    return response.make_conditional(request)
