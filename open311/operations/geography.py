"""Extensions for app developers: address autocomplete, boundaries and areas as GeoJSON."""

from __future__ import annotations

from sqlalchemy.orm import Session

from geo.addresses import normalize
from open311.errors import NotFound
from open311.operations.directory import DirectoryCache, jurisdiction_ref
from open311.repository import addresses, geojson
from open311.repository import geography as repo


def search_addresses(
    session: Session,
    jurisdiction_id: str | None,
    q: str,
    limit: int,
    directory: DirectoryCache | None = None,
) -> list[dict]:
    """Address suggestions for what a resident typed: exact prefixes of the normalised
    address first, then the most similar (pg_trgm); without jurisdiction_id, among every
    jurisdiction's addresses."""
    directory = directory or DirectoryCache(0)
    jurisdiction = jurisdiction_ref(directory, session, jurisdiction_id, by_location=True)
    known = directory.get(session).by_pk
    scope = [jurisdiction.id] if jurisdiction is not None else sorted(known)
    key = normalize(q).key or q.upper()
    return [
        {
            "address_id": row.address_id,
            "address": row.address,
            "zipcode": row.zipcode,
            "lat": row.lat,
            "long": row.long,
            "jurisdiction_id": known[row.jurisdiction_pk].jurisdiction_id,
        }
        for row in addresses.search_addresses(session, scope, key, limit)
    ]


def jurisdictions_geojson(session: Session) -> str:
    return geojson.jurisdictions_geojson(session)


def areas_geojson(
    session: Session,
    jurisdiction_id: str,
    layer: str | None,
    directory: DirectoryCache | None = None,
) -> str:
    jurisdiction = jurisdiction_ref(directory or DirectoryCache(0), session, jurisdiction_id)
    layers = repo.layers_of(session, jurisdiction.id)
    if layer and layer not in layers:
        raise NotFound(
            f"{jurisdiction_id} has no areas layer {layer!r} (layers: "
            f"{', '.join(layers) or 'none'})"
        )
    return geojson.areas_geojson(session, jurisdiction.id, layer)
