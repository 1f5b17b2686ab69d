"""Bulk export of public requests (GeoReport Bulk columns): CSV, GeoJSON and newline-delimited
GeoJSON, streamed, with every GET requests filter and no page limit; and its data dictionary
(a Frictionless data package)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from open311.errors import BadRequest
from open311.operations.directory import DirectoryCache, JurisdictionRef, jurisdiction_ref
from open311.operations.listing import Limits, RequestQuery, filters_of
from open311.repository import bulk as repo
from open311.repository import geography as geo_repo
from open311.repository import request_search as search_repo
from open311.repository.request_filters import Filters


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a Frictionless Table Schema type
    description: str


# GeoReport Bulk's fields, as its field table spells them (closed_date, status_description),
# plus service_code, which GeoReport v2 clients join on.
BULK_FIELDS: tuple[Column, ...] = (
    Column("service_request_id", "string", "The request's id, as GeoReport v2 answers it."),
    Column("requested_datetime", "datetime", "When the request was made (ISO 8601, offset)."),
    Column("updated_datetime", "datetime", "When the request last changed."),
    Column("closed_date", "datetime", "When a closed request was closed; empty while open."),
    Column("status_description", "string", "open or closed."),
    Column("status_notes", "string", "Why the status is what it is, as the city wrote it."),
    Column("source", "string", "The app the request came through (its API key's name)."),
    Column("service_name", "string", "The service's name."),
    Column("service_code", "string", "The service's code (GeoReport v2 service_code)."),
    Column("description", "string", "What the resident wrote, as sent."),
    Column("agency_responsible", "string", "The agency the request went to."),
    Column("address", "string", "The address, as resolved against the city's points."),
    Column("lat", "number", "Latitude, WGS84 (EPSG:4326); empty without a location."),
    Column("long", "number", "Longitude, WGS84 (EPSG:4326); empty without a location."),
)
AREA_PREFIX = "area_"  # a column per area layer of the jurisdiction: the area's name


@dataclass(frozen=True)
class Export:
    """What an export selects, resolved (and refused, as a 400 or 404) before a byte is
    sent."""

    jurisdiction: JurisdictionRef
    filters: Filters
    layers: tuple[str, ...]  # the jurisdiction's area layers, one column each
    areas: dict[int, tuple[str, str]]  # area pk -> (layer, name)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*(c.name for c in BULK_FIELDS), *(AREA_PREFIX + layer for layer in self.layers))


def prepare_export(
    session: Session,
    query: RequestQuery,
    limits: Limits,
    directory: DirectoryCache | None = None,
    now: dt.datetime | None = None,
) -> Export:
    """Resolve the jurisdiction and the filters of GET requests; without dates, every
    request (no date window, no page limit)."""
    if query.service_request_id:
        raise BadRequest("service_request_id: not a filter of the bulk export; use GET requests")
    directory = directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, query.jurisdiction_id)
    now = now or dt.datetime.now(dt.UTC)
    filters = filters_of(session, directory, jurisdiction, query, limits, now, window=False)
    filters.visible_by = now
    areas = {
        area.id: (area.layer, area.name) for area in geo_repo.areas_of(session, jurisdiction.id)
    }
    layers = tuple(sorted({layer for layer, _ in areas.values()}))
    return Export(jurisdiction, filters, layers, areas)


def records(session: Session, export: Export) -> Iterator[tuple[Any, ...]]:
    """The export's rows, streamed, each a tuple in the order of ``export.columns``."""
    statement, values = repo.bulk_statement(export.jurisdiction.id, export.filters)
    names, rows = repo.stream_rows(
        session, statement, values, timezone=export.jurisdiction.timezone
    )
    # Each field's position, found by its name once (not per row).
    position = {name: i for i, name in enumerate(names)}
    pick = operator.itemgetter(*(position[c.name] for c in BULK_FIELDS))
    at_areas = position["area_pks"]
    layer_at = {layer: i for i, layer in enumerate(export.layers)}
    for row in rows:
        areas: list[str | None] = [None] * len(layer_at)
        for pk in row[at_areas] or ():
            found = export.areas.get(pk)
            if found is not None:
                areas[layer_at[found[0]]] = found[1]
        yield pick(row) + tuple(areas)


def version(session: Session, export: Export) -> tuple[dt.datetime | None, str]:
    """What the export's content follows (its validators): the jurisdiction's latest
    change of a public request (in UTC: the connection's TimeZone varies), and its bundle
    as loaded."""
    latest, bundle = search_repo.published_version(session, export.jurisdiction.id)
    return (latest.astimezone(dt.UTC) if latest is not None else None), bundle


CHUNK = 64 * 1024  # bytes sent at a time


def csv_chunks(
    rows: Iterable[Sequence[Any]], columns: Sequence[str], *, bom: bool = False
) -> Iterator[bytes]:
    """RFC 4180 CSV in UTF-8 (CRLF line ends, a header row of ``columns``, then each row's
    values in that order; with ``bom``, the byte order mark Excel looks for)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)  # the csv module writes None as ""
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def feature(row: dict[str, Any]) -> dict[str, Any]:
    """A request as an RFC 7946 Feature: a Point, or null geometry without a location."""
    geometry = (
        {"type": "Point", "coordinates": [row["long"], row["lat"]]}
        if row["lat"] is not None and row["long"] is not None
        else None
    )
    return {
        "type": "Feature",
        "id": row["service_request_id"],
        "geometry": geometry,
        "properties": row,
    }


def geojson_chunks(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> Iterator[bytes]:
    """One RFC 7946 FeatureCollection, written as the rows come."""
    parts = [b'{"type":"FeatureCollection","features":[']
    size, first = 0, True
    for row in rows:
        part = orjson.dumps(feature(dict(zip(columns, row, strict=True))))
        parts.append(part if first else b"," + part)
        first = False
        size += len(part)
        if size >= CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"]}\n")
    yield b"".join(parts)


def ndjson_chunks(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> Iterator[bytes]:
    """Newline-delimited GeoJSON: one Feature per line."""
    parts: list[bytes] = []
    size = 0
    for row in rows:
        part = orjson.dumps(feature(dict(zip(columns, row, strict=True)))) + b"\n"
        parts.append(part)
        size += len(part)
        if size >= CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    yield b"".join(parts)


def datapackage(export: Export, csv_url: str) -> dict[str, Any]:
    """The data dictionary of a jurisdiction's export: a Frictionless data package whose
    one resource is the CSV (every column: name, type, meaning)."""
    fields: list[dict[str, Any]] = [
        {"name": c.name, "type": c.type, "description": c.description}
        # ISO 8601 with the jurisdiction's offset, not only the default's UTC "Z"
        | ({"format": "any"} if c.type == "datetime" else {})
        for c in BULK_FIELDS
    ]
    fields += [
        {
            "name": AREA_PREFIX + layer,
            "type": "string",
            "description": f"The name of the {layer} area the request is in.",
        }
        for layer in export.layers
    ]
    return {
        "profile": "tabular-data-package",
        "name": f"open311-requests-{export.jurisdiction.jurisdiction_id}".lower().replace(".", "-"),
        "title": f"Service requests of {export.jurisdiction.name}",
        "description": (
            "Public 311 service requests, GeoReport Bulk columns; no personal data (contact "
            "details are never published)."
        ),
        "resources": [
            {
                "name": "requests",
                "path": csv_url,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
                "schema": {"fields": fields, "primaryKey": "service_request_id"},
            }
        ],
    }
