"""GET Service List and GET Service Definition."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.operations.jurisdictions import resolve_jurisdiction
from open311.repository import catalogue as repo


def get_service_list(session: Session, jurisdiction_id: str | None) -> list[dict]:
    jurisdiction = resolve_jurisdiction(session, jurisdiction_id)
    return [
        {
            "service_code": service.service_code,
            "service_name": service.service_name,
            "description": service.description,
            "metadata": has_attributes,
            "type": service.type,
            "keywords": ", ".join(service.keywords) if service.keywords else None,
            "group": service.group,
        }
        for service, has_attributes in repo.active_services(session, jurisdiction.id)
    ]


def get_service_definition(session: Session, jurisdiction_id: str | None,
                           service_code: str) -> dict:
    jurisdiction = resolve_jurisdiction(session, jurisdiction_id)
    service = repo.service_by_code(session, jurisdiction.id, service_code,
                                   with_attributes=True)
    if service is None:
        raise NotFound(f"service_code {service_code!r} is not a service of "
                       f"{jurisdiction.jurisdiction_id}")
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
