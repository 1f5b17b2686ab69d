"""GET Service List and GET Service Definition."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.errors import BadRequest, NotFound
from open311.models import Service
from open311.operations.directory import DirectoryCache, jurisdiction_by_pk, jurisdiction_ref
from open311.operations.locating import offered_at
from open311.repository import catalogue as repo
from open311.repository import points as geo_repo


def _service_item(service: Service, has_attributes: bool) -> dict:
    return {
        "service_code": service.service_code,
        "service_name": service.service_name,
        "description": service.description,
        "metadata": has_attributes,
        "type": service.type,
        "keywords": ", ".join(service.keywords) if service.keywords else None,
        "group": service.group,
    }


def get_service_list(
    session: Session,
    jurisdiction_id: str | None,
    lat: float | None = None,
    long: float | None = None,
    directory: DirectoryCache | None = None,
) -> list[dict]:
    """The catalogue. With ``lat``/``long`` (an extension): the services offered at that
    point, across every tier of jurisdictions covering it (without ``jurisdiction_id``) or
    of the named one; per service_code the deepest tier's, each item naming its
    ``jurisdiction_id``."""
    directory = directory or DirectoryCache(0)
    if lat is None or long is None:
        jurisdiction = jurisdiction_ref(directory, session, jurisdiction_id)
        return [
            _service_item(service, has_attributes)
            for service, has_attributes in repo.active_services(session, jurisdiction.id)
        ]
    if jurisdiction_id:
        jurisdiction = jurisdiction_ref(directory, session, jurisdiction_id)
        if not geo_repo.jurisdiction_covers(session, jurisdiction.id, long, lat):
            raise BadRequest(
                f"the location lat={lat}, long={long} is outside the boundary "
                f"of {jurisdiction.name} ({jurisdiction.jurisdiction_id})"
            )
        covering = [jurisdiction]
    else:
        covering = [
            jurisdiction_by_pk(directory, session, pk)
            for pk in geo_repo.jurisdiction_pks_at(session, long, lat)
        ]
    areas = geo_repo.areas_at(session, [j.id for j in covering], long, lat)
    seen: set[str] = set()
    items = []
    for jurisdiction in covering:  # deepest first
        for service, has_attributes in repo.active_services(session, jurisdiction.id):
            if service.service_code in seen or not offered_at(session, service, areas):
                continue
            seen.add(service.service_code)
            items.append(
                {
                    **_service_item(service, has_attributes),
                    "jurisdiction_id": jurisdiction.jurisdiction_id,
                }
            )
    return items


def get_service_definition(
    session: Session,
    jurisdiction_id: str | None,
    service_code: str,
    directory: DirectoryCache | None = None,
) -> dict:
    jurisdiction = jurisdiction_ref(directory or DirectoryCache(0), session, jurisdiction_id)
    service = repo.service_by_code(session, jurisdiction.id, service_code, with_attributes=True)
    if service is None:
        raise NotFound(
            f"service_code {service_code!r} is not a service of {jurisdiction.jurisdiction_id}"
        )
    return {
        "service_code": service.service_code,
        "attributes": [
            {
                "variable": attribute.variable,
                "code": attribute.code,
                "datatype": attribute.datatype,
                "required": attribute.required,
                "datatype_description": attribute.datatype_description,
                "order": attribute.order,
                "description": attribute.description,
                "values": [{"key": v["key"], "name": v["name"]} for v in attribute.values],
            }
            for attribute in service.attributes
        ],
    }
