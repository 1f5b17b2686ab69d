"""The bulk export (open data): every public request that GET requests' filters select, as
CSV, GeoJSON or newline-delimited GeoJSON, streamed; and its data dictionary."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from open311.caching import streamed
from open311.errors import Busy
from open311.extensions import db
from open311.formats import Format, render
from open311.links import url_for_path
from open311.operations import bulk as ops
from open311.operations.listing import RequestQuery
from open311.routes.common import blueprint, directory, errors, limits, session
from schemas.params import BulkRequestsQuery, JurisdictionQuery

blp = blueprint("bulk", "Open data: every public request, streamed (GeoReport Bulk columns).")

CSV = "text/csv; charset=utf-8; header=present"
GEOJSON = "application/geo+json; charset=utf-8"
NDJSON = "application/x-ndjson; charset=utf-8"


def _export(query: dict) -> ops.Export:
    """The export the query asks for; a refusal is raised here, before streaming starts."""
    query = {k: v for k, v in query.items() if k != "bom"}
    return ops.prepare_export(session(), RequestQuery(**query), limits(), directory())


def _room(app) -> threading.BoundedSemaphore:
    """The exports this worker may stream at once (EXPORTS_AT_ONCE): each holds a database
    connection for as long as its client reads, so slow clients could otherwise take the
    whole pool."""
    room = app.extensions.get(EXPORTS)
    if room is None:
        room = app.extensions.setdefault(
            EXPORTS, threading.BoundedSemaphore(app.config["EXPORTS_AT_ONCE"])
        )
    return room


EXPORTS = "open311_exports"


def _streamed(
    export: ops.Export,
    write: Callable[[Iterable[tuple[Any, ...]]], Iterable[bytes]],
    content_type: str,
    extension: str,
) -> BaseResponse:
    """A response that streams the export from a transaction of its own (a server-side
    cursor lives in one), opened as the first bytes are asked for and closed when the last
    are sent or the client goes away (the cursor with it). An unchanged export is a 304
    (caching.streamed); with EXPORTS_AT_ONCE already streaming, a 503."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    room = _room(app)
    held = False

    def release() -> None:  # once: when the body was sent, or when the response closed
        nonlocal held
        if held:
            held = False
            room.release()

    def body() -> Iterator[bytes]:
        own: Session = db.new_session(app)
        try:
            yield from write(ops.records(own, export))
        finally:
            own.close()
            release()

    def respond() -> Response:
        nonlocal held
        if not room.acquire(blocking=False):
            raise Busy("too many exports are streaming from this server at once; retry later")
        held = True
        response = Response(
            body(),
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
        response.call_on_close(release)  # the client went away before the end
        return response

    name = f"requests-{export.jurisdiction.jurisdiction_id}.{extension}"
    latest, bundle = ops.version(session(), export)
    # What the body follows: the requests' last change, the bundle, the query, the format.
    version = (
        f"{latest.isoformat() if latest else ''}|{bundle}|{request.query_string!r}|{extension}"
    )
    return streamed(respond, version, latest)


def _content(media: str, description: str) -> dict:
    return {"200": {"description": description, "content": {media: {"schema": {}}}}}


@blp.route("/bulk/requests.csv")
@blp.arguments(BulkRequestsQuery, location="query")
@blp.doc(responses=_content("text/csv", "RFC 4180 CSV, UTF-8, with a header row."))
@errors(blp, 400, 404, 503)
def requests_csv(query: dict):
    """Bulk export as CSV (open data)

    Every public request the filters select (those of GET requests; without dates, every
    date), newest first, in GeoReport Bulk's columns plus one `area_<layer>` column per area
    layer. Streamed: no page limit. The columns are described by `bulk/datapackage.json`.
    """
    export = _export(query)
    return _streamed(
        export,
        lambda rows: ops.csv_chunks(rows, export.columns, bom=query.get("bom", False)),
        CSV,
        "csv",
    )


@blp.route("/bulk/requests.geojson")
@blp.arguments(BulkRequestsQuery, location="query")
@blp.doc(
    responses=_content("application/geo+json", "An RFC 7946 FeatureCollection, one per request.")
)
@errors(blp, 400, 404, 503)
def requests_geojson(query: dict):
    """Bulk export as GeoJSON (open data)

    As the CSV, as one FeatureCollection: a Point per request (null geometry without a
    location), the columns as properties.
    """
    export = _export(query)
    return _streamed(
        export, lambda rows: ops.geojson_chunks(rows, export.columns), GEOJSON, "geojson"
    )


@blp.route("/bulk/requests.ndjson")
@blp.arguments(BulkRequestsQuery, location="query")
@blp.doc(responses=_content("application/x-ndjson", "Newline-delimited GeoJSON: a Feature a line."))
@errors(blp, 400, 404, 503)
def requests_ndjson(query: dict):
    """Bulk export as newline-delimited GeoJSON (open data)

    As the GeoJSON, one Feature per line (GDAL's GeoJSONSeq, `jq`, line-by-line readers).
    """
    export = _export(query)
    return _streamed(export, lambda rows: ops.ndjson_chunks(rows, export.columns), NDJSON, "ndjson")


@blp.route("/bulk/datapackage.json")
@blp.arguments(JurisdictionQuery, location="query")
@blp.doc(responses=_content("application/json", "A Frictionless data package: the CSV's columns."))
@errors(blp, 400, 404)
def datapackage(query: dict):
    """The bulk export's data dictionary (open data)

    A Frictionless Data Package describing the CSV export of a jurisdiction: each column's
    name, type and meaning.
    """
    export = ops.prepare_export(session(), RequestQuery(**query), limits(), directory())
    csv_path = request.path.rsplit("/", 1)[0] + "/requests.csv"
    query_string = urlencode({"jurisdiction_id": export.jurisdiction.jurisdiction_id})
    package = ops.datapackage(export, f"{url_for_path(csv_path)}?{query_string}")
    return render(package, "datapackage", Format.JSON)
