"""OGC API - Features (open data for GIS clients: QGIS, ArcGIS Pro, GDAL): one API per
jurisdiction, at /open311/ogc/<jurisdiction_id>."""

from __future__ import annotations

import copy

from flask import Response, current_app, request

from open311.api import Open311Blueprint
from open311.caching import conditional
from open311.formats import json_bytes
from open311.links import root_url
from open311.operations import feature_items as items_ops
from open311.operations import features as ops
from open311.repository.request_search import last_change
from open311.routes.common import directory, errors, limits, session
from open311.routes.features_html import page
from schemas.params import FeatureQuery, FeaturesQuery, ItemsQuery

OGC = "/open311/ogc"
blp = Open311Blueprint(
    "features",
    __name__,
    url_prefix=OGC,
    description="OGC API - Features: requests, areas, jurisdictions and services for GIS.",
)
JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
HTML_TYPE = "text/html; charset=utf-8"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def _site(jurisdiction_id: str) -> ops.Site:
    return ops.site(session(), jurisdiction_id, root_url(f"{OGC}/{jurisdiction_id}"), directory())


def _wants_html() -> bool:
    """f=html, or a browser's Accept (text/html before JSON); JSON otherwise (*/* too)."""
    asked = request.args.get("f")
    if asked is not None:
        return asked == "html"
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
    return best == HTML


def _answer(
    payload: dict, content_type: str, place: ops.Site, crs: str | None = None, html: bool = True
):
    if html and _wants_html():
        response = Response(page(payload, place.jurisdiction.name), content_type=HTML_TYPE)
    else:
        response = Response(json_bytes(payload), content_type=content_type)
    response.vary.add("Accept")
    if crs is not None:
        response.headers["Content-Crs"] = f"<{crs}>"
    return conditional(response, last_change(session(), place.jurisdiction.id))


PREFIX = OGC + "/{jurisdiction_id}"
# GDAL reads an OGC API's definition by the paths OGC names them (/collections/{collectionId}/
# items): the page size from limit's maximum, the filter encodings from filter-lang's enum.
RENAMED = {"{collection_id}": "{collectionId}", "{item_id}": "{featureId}"}
PARAMETER_NAMES = {"collection_id": "collectionId", "item_id": "featureId"}


def _renamed(parameters: list[dict]) -> list[dict]:
    """Path parameters as OGC names them, without the jurisdiction (in the landing page)."""
    kept = []
    for parameter in parameters:
        name, where = parameter.get("name"), parameter.get("in")
        if where == "path" and name == "jurisdiction_id":
            continue
        if where == "path" and name in PARAMETER_NAMES:
            parameter = {**parameter, "name": PARAMETER_NAMES[name]}
        kept.append(parameter)
    return kept


def _definition(landing: str) -> dict:
    """This jurisdiction's OGC API as an OpenAPI 3.0 document of its own: the server's
    definition of these routes, paths relative to the landing page."""
    spec = current_app.extensions["open311_api"].spec.to_dict()
    paths = {}
    for path, operations in spec["paths"].items():
        if not path.startswith(PREFIX):
            continue
        relative = path[len(PREFIX) :] or "/"
        for old, new in RENAMED.items():
            relative = relative.replace(old, new)
        operations = copy.deepcopy(operations)
        for key, value in operations.items():
            if key == "parameters":
                operations[key] = _renamed(value)
            elif isinstance(value, dict) and "parameters" in value:
                value["parameters"] = _renamed(value["parameters"])
        paths[relative] = operations
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "title": "OGC API - Features"},
        "servers": [{"url": landing}],
        "paths": paths,
        "components": spec.get("components", {}),
    }


def _doc(description: str, content_type: str, html: bool = True) -> dict:
    """A 200 in ``content_type``, and (``html``) as an HTML page for ``f=html`` or a
    browser."""
    content: dict = {content_type: {"schema": {}}}
    if html:
        content[HTML] = {"schema": {"type": "string"}}
    return {"200": {"description": description, "content": content}}


@blp.route("/<jurisdiction_id>", strict_slashes=False)  # OWSLib asks with a slash
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("The landing page: links to the API definition and the data.", JSON))
@errors(blp, 400, 404)
def landing(query: dict, jurisdiction_id: str):
    """OGC API landing page of a jurisdiction"""
    place = _site(jurisdiction_id)
    return _answer(ops.landing(place, place.url("/api")), JSON, place)


@blp.route("/<jurisdiction_id>/api")
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("The OpenAPI 3.0 definition of this OGC API.", OPENAPI, html=False))
@errors(blp, 400, 404)
def definition(query: dict, jurisdiction_id: str):
    """OGC API definition (OpenAPI 3.0), paths relative to the landing page"""
    place = _site(jurisdiction_id)
    return _answer(_definition(place.url()), OPENAPI, place, html=False)


@blp.route("/<jurisdiction_id>/conformance")
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("The conformance classes this API implements.", JSON))
@errors(blp, 400, 404)
def conformance(query: dict, jurisdiction_id: str):
    """OGC API conformance classes"""
    place = _site(jurisdiction_id)
    return _answer(ops.conformance(), JSON, place)


@blp.route("/<jurisdiction_id>/collections")
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("The collections, with their extents and CRSs.", JSON))
@errors(blp, 400, 404)
def collections(query: dict, jurisdiction_id: str):
    """OGC API collections: requests, each area layer, jurisdictions, services"""
    place = _site(jurisdiction_id)
    return _answer(ops.collections(session(), place), JSON, place)


@blp.route("/<jurisdiction_id>/collections/<collection_id>")
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("One collection.", JSON))
@errors(blp, 400, 404)
def collection(query: dict, jurisdiction_id: str, collection_id: str):
    """OGC API collection"""
    place = _site(jurisdiction_id)
    return _answer(ops.collection(session(), place, collection_id), JSON, place)


@blp.route("/<jurisdiction_id>/collections/<collection_id>/items")
@blp.arguments(ItemsQuery, location="query")
@blp.doc(responses=_doc("A page of features (GeoJSON FeatureCollection).", GEOJSON))
@errors(blp, 400, 404)
def items(query: dict, jurisdiction_id: str, collection_id: str):
    """OGC API items: a page of a collection's features

    `bbox` (in `bbox-crs`), `datetime`, `limit`, `offset`; for requests also the property
    filters `service_code` and `status`, and the `cursor` of a next link (keyset paging;
    `offset` pages too). `crs`: the CRS of the positions (`Content-Crs` says which).
    `numberMatched` is exact up to 10000, above it the planner's estimate
    (`numberMatchedIsEstimate`). `filter` (requests): CQL2 text or JSON (`filter-lang`) on
    the queryables.
    """
    place = _site(jurisdiction_id)
    params = {k: v for k, v in request.args.items()}
    ask = items_ops.ItemsQuery(
        limit=query["limit"],
        offset=query["offset"],
        bbox=query.get("bbox"),
        bbox_crs=query.get("bbox_crs"),
        crs=query.get("crs"),
        datetime=query.get("datetime"),
        cursor=query.get("cursor"),
        properties={k: query[k] for k in ("service_code", "status") if query.get(k)},
        filter=query.get("filter"),
        filter_lang=query.get("filter_lang"),
        filter_crs=query.get("filter_crs"),
    )
    payload, crs = items_ops.items(
        session(), place, collection_id, ask, params, limits(), directory()
    )
    return _answer(payload, GEOJSON, place, crs)


@blp.route("/<jurisdiction_id>/collections/<collection_id>/queryables")
@blp.arguments(FeaturesQuery, location="query")
@blp.doc(responses=_doc("A JSON Schema of the queryables.", "application/schema+json"))
@errors(blp, 400, 404)
def queryables(query: dict, jurisdiction_id: str, collection_id: str):
    """OGC API queryables: what a CQL2 filter of requests may name (public fields only)"""
    place = _site(jurisdiction_id)
    return _answer(ops.queryables(place, collection_id), "application/schema+json", place)


@blp.route("/<jurisdiction_id>/collections/<collection_id>/items/<item_id>")
@blp.arguments(FeatureQuery, location="query")
@blp.doc(responses=_doc("One feature (GeoJSON).", GEOJSON))
@errors(blp, 400, 404)
def feature(query: dict, jurisdiction_id: str, collection_id: str, item_id: str):
    """OGC API item: one feature"""
    place = _site(jurisdiction_id)
    payload, crs = items_ops.item(session(), place, collection_id, item_id, query.get("crs"))
    return _answer(payload, GEOJSON, place, crs)
