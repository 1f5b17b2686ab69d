"""HTTP caching for browser apps and dashboards: ETag and Last-Modified, 304 answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import xxhash
from flask import Response, request
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Response as BaseResponse


def conditional(response: Response, last_modified: dt.datetime | None) -> BaseResponse:
    """Give a GET answer an ETag (a digest of its body) and a Last-Modified, and turn it
    into a 304 when the client's copy is current (``If-None-Match``, or
    ``If-Modified-Since`` when no ETag is sent). For a list, ``last_modified`` is the
    jurisdiction's latest change of any request, so a request leaving a filtered list
    (closed, say) changes it too."""
    headers = response.headers
    # XXH3-128: a change detector, not a signature (nobody gains by forging a collision of
    # a public answer), and far cheaper than a cryptographic digest.
    headers["ETag"] = f'"{xxhash.xxh3_128_hexdigest(response.get_data())}"'
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    headers["Cache-Control"] = "no-cache"  # cache, but revalidate every time
    if "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers:
        return response  # nothing to compare: the common case, without werkzeug's checks
    return response.make_conditional(request)


def document(body: str | bytes, content_type: str) -> BaseResponse:
    """A whole document (a GeoJSON layer) that clients may read in parts: an ETag, and HTTP
    Range requests answered (206 with Content-Range; GDAL's /vsicurl/ reads a large
    document so), 304 when the client's copy is current."""
    response = Response(body, content_type=content_type)
    response.headers["ETag"] = f'"{xxhash.xxh3_128_hexdigest(response.get_data())}"'
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(
        request, accept_ranges=True, complete_length=response.content_length
    )


def streamed(
    make: Callable[[], Response], version: str, last_modified: dt.datetime | None
) -> BaseResponse:
    """An answer whose validators are known before its body (a streamed export,
    statistics): a weak ETag of ``version`` (all the body follows, exactly) and
    Last-Modified; a 304 without making the body when the client's copy is current, else
    ``make()``'s answer."""
    etag = xxhash.xxh3_128_hexdigest(version.encode())
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        response = make()
    response.set_etag(etag, weak=True)
    if last_modified is not None:
        response.headers["Last-Modified"] = http_date(last_modified)
    response.headers["Cache-Control"] = "no-cache"
    return response
