"""gzip for large answers when the client accepts it: exports, statistics, long lists.

Streamed answers are compressed as they go (each chunk flushed, so the first bytes still
leave at once). Not compressed: small answers (the header costs more than it saves), errors,
partial content, and whole documents served in byte ranges (a client that reads ranges, such
as GDAL's /vsicurl/, counts offsets in the identity bytes).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

from flask import Flask, Response, request

MIN_SIZE = 1400  # about one TCP segment: smaller answers go as they are
LEVEL = 5  # zlib's speed/size sweet spot for JSON and CSV
COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/x-ndjson",
        "application/schema+json",
        "application/vnd.oai.openapi+json",
        "text/xml",
        "text/csv",
        "text/html",
        "text/plain",
    }
)


def _streamed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    encoder = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    try:
        for chunk in chunks:
            if chunk:
                yield encoder.compress(chunk) + encoder.flush(zlib.Z_SYNC_FLUSH)
        yield encoder.flush()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:  # a client gone: the body's own cleanup runs now
            close()


def compress(response: Response) -> Response:
    """gzip ``response`` if the client accepts it and it is worth it (after_request)."""
    if (
        response.status_code != 200
        or response.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in response.headers
        or response.headers.get("Accept-Ranges", "none") != "none"
        or request.method != "GET"
    ):
        return response
    response.vary.add("Accept-Encoding")  # a cache keeps one copy per encoding
    if not request.accept_encodings["gzip"]:
        return response
    if response.is_streamed:
        response.response = _streamed(response.iter_encoded())
        response.headers.pop("Content-Length", None)
    else:
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        response.set_data(gzip.compress(data, LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    # Another encoding, another representation: a strong validator of the identity bytes
    # becomes weak (If-None-Match compares weakly, so the client's copy still earns a 304).
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def register(app: Flask) -> None:
    app.after_request(compress)
