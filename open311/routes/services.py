from __future__ import annotations

from open311.formats import Format, render
from open311.operations.catalogue import get_service_definition, get_service_list
from open311.routes.common import blueprint, directory, errors, session
from schemas import resources
from schemas.params import JurisdictionQuery, ServicesQuery

blp = blueprint("services", "The service catalogue: what residents can request.")


@blp.route("/services.<fmt:fmt>")
@blp.arguments(ServicesQuery, location="query", as_kwargs=True)
@blp.response(200, resources.Service(many=True))
@errors(blp, 400, 404)
def service_list(
    fmt: Format,
    jurisdiction_id: str | None = None,
    lat: float | None = None,
    long: float | None = None,
):
    """GET Service List

    Extension: with `lat` and `long`, the services offered at that point across every tier
    of jurisdictions covering it (jurisdiction_id optional); each item then names its
    `jurisdiction_id`.
    """
    return render(
        get_service_list(session(), jurisdiction_id, lat, long, directory()), "services", fmt
    )


def _definition(fmt: Format, service_code: str, jurisdiction_id: str | None):
    payload = get_service_definition(session(), jurisdiction_id, service_code, directory())
    return render(payload, "service_definition", fmt)


@blp.route("/services/<service_code>.<fmt:fmt>")
@blp.arguments(JurisdictionQuery, location="query", as_kwargs=True)
@blp.response(200, resources.ServiceDefinition)
@errors(blp, 400, 404)
def service_definition(fmt: Format, service_code: str, jurisdiction_id: str | None = None):
    """GET Service Definition"""
    return _definition(fmt, service_code, jurisdiction_id)


@blp.route("/service/<service_code>.<fmt:fmt>")
@blp.arguments(JurisdictionQuery, location="query", as_kwargs=True)
@blp.response(200, resources.ServiceDefinition)
@errors(blp, 400, 404)
def service_definition_alias(fmt: Format, service_code: str, jurisdiction_id: str | None = None):
    """GET Service Definition (singular alias, as the PyPI open311 client asks)"""
    return _definition(fmt, service_code, jurisdiction_id)
