"""Extensions for app developers: address autocomplete, boundaries and areas as GeoJSON."""

from __future__ import annotations

from open311.caching import document
from open311.formats import Format, render
from open311.operations import geography as ops
from open311.routes.common import blueprint, directory, errors, session
from schemas import resources
from schemas.params import AddressSearchQuery, AreasQuery

blp = blueprint("geography", "Extensions: address search, jurisdiction boundaries and areas.")
GEOJSON = "application/geo+json; charset=utf-8"


@blp.route("/addresses.<fmt:fmt>")
@blp.arguments(AddressSearchQuery, location="query", as_kwargs=True)
@blp.response(200, resources.AddressSuggestion(many=True))
@errors(blp, 400, 404)
def addresses(fmt: Format, q: str, limit: int, jurisdiction_id: str | None = None):
    """Address search (extension), for autocomplete

    The known addresses that best match what was typed: exact prefixes first, then the
    most similar. Send the chosen `address_id` (or its lat/long) with POST requests.
    """
    return render(
        ops.search_addresses(session(), jurisdiction_id, q, limit, directory()), "addresses", fmt
    )


@blp.route("/jurisdictions.geojson")
@blp.response(
    200,
    description="A GeoJSON FeatureCollection: one feature per jurisdiction.",
    content_type="application/geo+json",
)
def jurisdictions():
    """Jurisdiction boundaries as GeoJSON (extension)"""
    return document(ops.jurisdictions_geojson(session()), GEOJSON)


@blp.route("/jurisdictions/<jurisdiction_id>/areas.geojson")
@blp.arguments(AreasQuery, location="query", as_kwargs=True)
@blp.response(
    200,
    description="A GeoJSON FeatureCollection: one feature per named area.",
    content_type="application/geo+json",
)
@errors(blp, 400, 404)
def areas(jurisdiction_id: str, layer: str | None = None):
    """A jurisdiction's named areas as GeoJSON (extension)"""
    return document(ops.areas_geojson(session(), jurisdiction_id, layer, directory()), GEOJSON)
