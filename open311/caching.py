"""HTTP caching for browser apps and dashboards: ETag and Last-Modified, 304 answers."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import Response, request


def conditional(response: Response, last_modified: dt.datetime | None) -> Response:
    """Give a GET answer an ETag (a digest of its body) and a Last-Modified, and turn it
    into a 304 when the client's copy is current (``If-None-Match``, or
    ``If-Modified-Since`` when no ETag is sent). For a list, ``last_modified`` is the
    jurisdiction's latest change of any request, so a request leaving a filtered list
    (closed, say) changes it too."""
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = "no-cache"  # cache, but revalidate every time
    return response.make_conditional(request)
