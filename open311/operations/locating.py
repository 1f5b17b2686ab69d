"""Where a request is, and whose it is: address resolution, boundary checks, multi-tier
routing, named areas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from geo.addresses import normalize
from open311.errors import BadRequest, NotFound
from open311.models import Service
from open311.operations.directory import (
    DirectoryCache,
    JurisdictionRef,
    ServiceRef,
    active_service,
    jurisdiction_by_pk,
    tier_pks,
)
from open311.repository import addresses, points
from open311.repository import jurisdictions as jurisdictions_repo

DEFAULT_MATCH_THRESHOLD = 0.5


@dataclass
class Place:
    """A resolved location: the point and the address it came from or was matched to."""

    long: float | None = None
    lat: float | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    verified: bool | None = None  # None: no address involved
    jurisdiction_pk: int | None = None  # whose address point matched


@dataclass
class Routed:
    jurisdiction: JurisdictionRef
    service: ServiceRef
    place: Place
    area_pks: list[int] = field(default_factory=list)
    # The nearest address point, when routing already looked it up (see fill_address).
    nearest: points.AddressAt | None = None
    nearest_known: bool = False


def _setting(jurisdiction: JurisdictionRef | None, name: str, default):
    return default if jurisdiction is None else jurisdiction.setting(name, default)


def _address_scope(session: Session, jurisdiction: JurisdictionRef | None) -> list[int]:
    """Whose address points to search: every jurisdiction's, the named one's first."""
    pks = [j.id for j in jurisdictions_repo.all_jurisdictions(session)]
    if jurisdiction is not None:
        pks.remove(jurisdiction.id)
        pks.insert(0, jurisdiction.id)
    return pks


def _place(row, *, verified: bool) -> Place:
    return Place(
        long=row.long,
        lat=row.lat,
        address=row.address,
        address_id=row.address_id,
        zipcode=row.zipcode,
        verified=verified,
        jurisdiction_pk=row.jurisdiction_pk,
    )


def resolve_address(
    session: Session,
    jurisdiction: JurisdictionRef | None,
    *,
    address_string: str | None,
    address_id: str | None,
) -> Place | None:
    """The address point an ``address_id`` (exactly) or ``address_string`` (normalised,
    then fuzzily with pg_trgm) names, or None."""
    scope = _address_scope(session, jurisdiction)
    if address_id:
        row = addresses.address_by_id(session, scope, address_id)
        if row is not None:
            place = _place(row, verified=True)
            if address_string:
                place.address = address_string
            return place
        if not address_string:
            return None
    normal = normalize(address_string or "")
    if not normal.key:
        return None
    row = addresses.address_by_key(session, scope, normal.key, normal.zipcode)
    if row is None and normal.house_number and normal.street_name:
        row = _match_street(session, scope, jurisdiction, normal)
    return _place(row, verified=True) if row is not None else None


_DIGITS = re.compile(r"\d+")


def _match_street(session: Session, scope: list[int], jurisdiction: JurisdictionRef | None, normal):
    """A house on a street, when the exact key did not match. A street the city knows is
    matched by its parts (a missing direction or type is filled in when that leaves one
    address); only a street it does not know is matched fuzzily, never to a street whose
    numbers differ (8TH is not 88TH) and never with another house number."""
    if addresses.street_known(session, scope, normal.street_name):
        found = addresses.addresses_on_street(
            session,
            scope,
            house_number=normal.house_number,
            street_name=normal.street_name,
            predirection=normal.predirection,
            street_type=normal.street_type,
            zipcode=normal.zipcode,
            limit=2,
        )
        return found[0] if found and len({row.key for row in found}) == 1 else None
    threshold = _setting(jurisdiction, "address_match_threshold", DEFAULT_MATCH_THRESHOLD)
    digits = _DIGITS.findall(normal.street_name)
    for row in addresses.similar_streets(
        session,
        scope,
        house_number=normal.house_number,
        street_name=normal.street_name,
        threshold=threshold,
        limit=5,
    ):
        if _DIGITS.findall(row.street_name) == digits:
            return row
    return None


def locate(
    session: Session,
    jurisdiction: JurisdictionRef | None,
    *,
    lat: float | None,
    long: float | None,
    address_string: str | None,
    address_id: str | None,
) -> Place:
    """The request's place. Coordinates win; otherwise the address must resolve, unless the
    jurisdiction accepts unverified addresses (then the place has no point)."""
    if lat is not None and long is not None:
        return Place(long=long, lat=lat, address=address_string, address_id=address_id)
    place = resolve_address(
        session, jurisdiction, address_string=address_string, address_id=address_id
    )
    if place is not None:
        return place
    given = (
        f"address_id {address_id!r}"
        if address_id and not address_string
        else f"address_string {address_string!r}"
    )
    if jurisdiction is not None and _setting(jurisdiction, "accept_unverified_addresses", False):
        return Place(address=address_string, address_id=address_id, verified=False)
    raise BadRequest(
        f"{given} could not be found among the known addresses; send lat and "
        "long, or a full street address (house number, street, ZIP code)"
    )


def offered_at(session: Session, service: Service | ServiceRef, areas: list) -> bool:
    """Whether the service is offered at a point lying in ``areas``."""
    coverage = service.coverage
    if not coverage:
        return True
    return any(
        a.jurisdiction_pk == service.jurisdiction_pk
        and a.layer == coverage["layer"]
        and (not coverage.get("ids") or a.area_id in coverage["ids"])
        for a in areas
    )


def route(
    session: Session,
    jurisdiction: JurisdictionRef | None,
    service_code: str,
    place: Place,
    directory: DirectoryCache | None = None,
) -> Routed:
    """Whose request it is. With a jurisdiction: its service, and the point must lie inside
    it. Without: the deepest jurisdiction covering the point that offers the service there.
    ``directory`` knows the tiers above each jurisdiction (None: read them per call)."""
    directory = directory or DirectoryCache(0)
    if place.long is None or place.lat is None:  # an unverified address: no point to check
        if jurisdiction is None:
            raise BadRequest(
                "jurisdiction_id is required when the location is an address "
                "that cannot be resolved"
            )
        service = _service_of(session, directory, jurisdiction, service_code)
        return Routed(jurisdiction, service, place)

    if jurisdiction is not None:
        service = _service_of(session, directory, jurisdiction, service_code)
        # The boundary, the areas and the nearest address: one round trip.
        distance = _reverse_geocode_distance(jurisdiction, place)
        facts = points.point_facts(
            session,
            jurisdiction.id,
            tier_pks(directory, session, jurisdiction.id),
            place.long,
            place.lat,
            distance,
        )
        if not facts.inside:
            raise BadRequest(
                f"the location lat={place.lat}, long={place.long} is outside the "
                f"boundary of {jurisdiction.name} ({jurisdiction.jurisdiction_id})"
            )
        if not offered_at(session, service, facts.areas):
            raise BadRequest(
                f"service_code {service_code!r} is not offered at this location "
                f"by {jurisdiction.jurisdiction_id}"
            )
        return Routed(
            jurisdiction,
            service,
            place,
            [a.id for a in facts.areas],
            nearest=facts.nearest,
            nearest_known=True,
        )

    covering = [
        jurisdiction_by_pk(directory, session, pk)
        for pk in points.jurisdiction_pks_at(session, place.long, place.lat)
    ]
    if not covering:
        raise BadRequest(
            f"the location lat={place.lat}, long={place.long} is outside every "
            "jurisdiction served here"
        )
    areas = points.areas_at(session, [j.id for j in covering], place.long, place.lat)
    offering_elsewhere = False
    for candidate in covering:  # deepest first
        offered = active_service(directory, session, candidate.id, service_code)
        if offered is None:
            continue
        if offered_at(session, offered, areas):
            tiers = set(tier_pks(directory, session, candidate.id))
            return Routed(
                candidate, offered, place, [a.id for a in areas if a.jurisdiction_pk in tiers]
            )
        offering_elsewhere = True
    names = ", ".join(j.jurisdiction_id for j in covering)
    if offering_elsewhere:
        raise BadRequest(
            f"service_code {service_code!r} is not offered at this location "
            f"(jurisdictions here: {names})"
        )
    raise NotFound(
        f"service_code {service_code!r} is not a service of any jurisdiction at "
        f"this location ({names})"
    )


def _service_of(
    session: Session, directory: DirectoryCache, jurisdiction: JurisdictionRef, service_code: str
) -> ServiceRef:
    service = active_service(directory, session, jurisdiction.id, service_code)
    if service is None:
        raise NotFound(
            f"service_code {service_code!r} is not a service of {jurisdiction.jurisdiction_id}"
        )
    return service


def _reverse_geocode_distance(jurisdiction: JurisdictionRef, place: Place) -> float:
    """How far to look for the nearest address point (0: not at all: the request came with
    an address, or without a point, or the jurisdiction does not fill addresses in)."""
    if place.address or place.address_id or place.long is None:
        return 0.0
    return max(0.0, float(_setting(jurisdiction, "reverse_geocode_distance_m", 50.0)))


def fill_address(session: Session, routed: Routed) -> None:
    """A request sent with coordinates only gets the address (and ZIP code) of the nearest
    address point within the jurisdiction's distance."""
    place = routed.place
    distance = _reverse_geocode_distance(routed.jurisdiction, place)
    if distance <= 0 or place.long is None or place.lat is None:
        return
    row = (
        routed.nearest
        if routed.nearest_known
        else points.nearest_address(session, place.long, place.lat, distance)
    )
    if row is not None:
        place.address, place.address_id, place.zipcode = row.address, row.address_id, row.zipcode
        place.verified = True
