"""OGC API - Features for GIS staff: a jurisdiction's requests, area layers, jurisdictions
and services as collections; this module holds the documents (landing page, conformance,
collections, queryables) and the CRSs offered; ``feature_items`` the features themselves,
positions in CRS84, EPSG:4326, EPSG:3857 or the jurisdiction's own CRS. Requests are selected
by GET requests' filters and shown as the bulk export shows them (no personal data, the
place as the service's location privacy says)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.models.base import WGS84
from open311.operations.directory import DirectoryCache, JurisdictionRef, jurisdiction_ref
from open311.repository import cql2_filters
from open311.repository import features as repo
from open311.repository import geography as geo_repo

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# The CRSs positions are given and boxes taken in: (SRID, latitude first).
CRSS: dict[str, tuple[int, bool]] = {
    CRS84: (WGS84, False),
    EPSG + "4326": (WGS84, True),
    EPSG + "3857": (3857, False),
}
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 and CQL2: the requests collection's filter (QGIS sends filters only when these
    # five are declared).
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
)
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GEOJSON = "application/geo+json"
JSON = "application/json"
REQUESTS, SERVICES, JURISDICTIONS, AREAS = "requests", "services", "jurisdictions", "areas_"


@dataclass(frozen=True)
class Site:
    """Where a jurisdiction's OGC API lives (its landing page, absolute) and who it is."""

    base: str
    jurisdiction: JurisdictionRef

    @property
    def crss(self) -> dict[str, tuple[int, bool]]:
        """The CRSs offered: CRS84, EPSG:4326, EPSG:3857 and the jurisdiction's own
        (settings.local_crs, e.g. EPSG:2263 for New York City), easting first."""
        local = self.jurisdiction.setting("local_crs", None)
        return CRSS | ({f"{EPSG}{local}": (int(local), False)} if local else {})

    def url(self, path: str = "", **query: Any) -> str:
        given = {k: v for k, v in query.items() if v is not None}
        return self.base + path + (f"?{urlencode(given)}" if given else "")


def site(session: Session, jurisdiction_id: str, base: str, directory: DirectoryCache) -> Site:
    return Site(base, jurisdiction_ref(directory, session, jurisdiction_id))


def link(href: str, rel: str, kind: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": kind}
    return link | ({"title": title} if title else {})


def landing(place: Site, openapi_url: str) -> dict[str, Any]:
    name = place.jurisdiction.name
    return {
        "title": f"{name}: service requests (OGC API - Features)",
        "description": f"The public 311 service requests of {name}, its areas, jurisdictions "
        "and services, for GIS clients. No personal data.",
        "links": [
            link(place.url(), "self", JSON, "This document"),
            link(
                openapi_url,
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "The API definition",
            ),
            link(place.url("/conformance"), "conformance", JSON, "Conformance classes"),
            link(place.url("/collections"), "data", JSON, "The collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: bool = True
    bbox: tuple[float, ...] | None = None
    interval: tuple[str | None, str | None] | None = None
    layer: str | None = None


def _collections(session: Session, place: Site) -> list[Collection]:
    pk = place.jurisdiction.id
    box = repo.jurisdiction_extent(session, pk)
    first, last = repo.request_extent(session, pk)
    name = place.jurisdiction.name
    found = [
        Collection(
            REQUESTS,
            "Service requests",
            f"The public service requests of {name}: the bulk export's columns.",
            bbox=box,
            interval=(
                first.isoformat() if first else None,
                last.isoformat() if last else None,
            ),
        ),
    ]
    for layer in repo.layer_extents(session, pk):
        found.append(
            Collection(
                AREAS + layer["layer"],
                str(layer["title"]),
                f"The {layer['areas']} areas of {name}'s {layer['layer']} layer.",
                bbox=(layer["x0"], layer["y0"], layer["x1"], layer["y1"]),
                layer=layer["layer"],
            )
        )
    found += [
        Collection(JURISDICTIONS, "Jurisdictions", "The boundaries this server serves."),
        Collection(
            SERVICES,
            "Services",
            f"The service catalogue of {name} (no geometry).",
            geometry=False,
        ),
    ]
    return found


def find_collection(session: Session, place: Site, collection_id: str) -> Collection:
    """A collection by id, without its extents (an items call needs only what it is)."""
    layers = geo_repo.layers_of(session, place.jurisdiction.id)
    if collection_id in (REQUESTS, JURISDICTIONS, SERVICES):
        return Collection(collection_id, collection_id, "", geometry=collection_id != SERVICES)
    layer = collection_id[len(AREAS) :] if collection_id.startswith(AREAS) else None
    if layer in layers:
        return Collection(collection_id, layer, "", layer=layer)
    raise NotFound(f"no collection {collection_id[:60]!r} (see {place.url('/collections')})")


def _describe(place: Site, c: Collection) -> dict[str, Any]:
    items = place.url(f"/collections/{c.id}/items")
    described: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "links": [
            link(place.url(f"/collections/{c.id}"), "self", JSON, c.title),
            link(items, "items", GEOJSON, "The items"),
        ],
    }
    if c.id == REQUESTS:
        described["links"].append(
            link(
                place.url(f"/collections/{c.id}/queryables"),
                QUERYABLES_REL,
                "application/schema+json",
                "What a filter may name",
            )
        )
    if c.geometry:
        described["crs"] = list(place.crss)
        described["storageCrs"] = CRS84
    extent: dict[str, Any] = {}
    if c.bbox is not None:
        extent["spatial"] = {"bbox": [list(c.bbox)], "crs": CRS84}
    if c.interval is not None:
        extent["temporal"] = {
            "interval": [list(c.interval)],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    if extent:
        described["extent"] = extent
    return described


def collections(session: Session, place: Site) -> dict[str, Any]:
    return {
        "links": [link(place.url("/collections"), "self", JSON, "The collections")],
        "collections": [_describe(place, c) for c in _collections(session, place)],
        "crs": list(place.crss),
    }


def collection(session: Session, place: Site, collection_id: str) -> dict[str, Any]:
    find_collection(session, place, collection_id)  # a 404 for a collection that is not here
    [described] = [c for c in _collections(session, place) if c.id == collection_id]
    return _describe(place, described)


# -- items ------------------------------------------------------------------------------------


def queryables(place: Site, collection_id: str) -> dict[str, Any]:
    """The JSON Schema of what a filter of the collection may name (requests only)."""
    if collection_id != REQUESTS:
        raise NotFound(f"{collection_id[:60]!r} has no queryables (only requests takes a filter)")
    types = {
        "string": {"type": "string"},
        "date-time": {"type": "string", "format": "date-time"},
        "geometry": {"$ref": "https://geojson.org/schema/Point.json"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": place.url(f"/collections/{collection_id}/queryables"),
        "type": "object",
        "title": "Service requests",
        "properties": {
            name: {"title": name.replace("_", " "), **types[kind]}
            for name, (_column, kind) in cql2_filters.QUERYABLES.items()
        },
        "additionalProperties": False,
    }
