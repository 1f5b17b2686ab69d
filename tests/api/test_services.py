"""GET Service List and GET Service Definition on the LA demo catalogue."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from open311.models import Jurisdiction, Service
from tests.helpers import LA_CODES, error_text


def add_second_jurisdiction(session, jurisdiction_id="example.org"):
    j = Jurisdiction(
        jurisdiction_id=jurisdiction_id,
        name="Example Town",
        timezone="America/New_York",
        contact="x",
        key_service="y",
        boundary=from_shape(MultiPolygon([box(-74.1, 40.6, -73.9, 40.8)]), 4326),
        settings={},
    )
    j.services.append(
        Service(
            service_code="POTHOLE",
            service_name="Pothole",
            type="realtime",
            keywords=["road"],
            group="Streets",
            position=1,
        )
    )
    session.add(j)
    session.commit()
    return j


def test_service_list(api):
    result = api.get("services", root="services", schema="services")
    assert result.status == 200
    assert [s["service_code"] for s in result.body] == LA_CODES
    by_code = {s["service_code"]: s for s in result.body}
    assert by_code["BULKY-ITEMS"]["metadata"] is True
    assert by_code["OTHER"]["metadata"] is False
    assert by_code["HOMELESS-ENCAMPMENT"]["type"] == "batch"
    assert by_code["FEEDBACK"]["type"] == "blackbox"
    assert by_code["GRAFFITI"]["keywords"] == "graffiti, tagging, vandalism, paint"
    assert by_code["GRAFFITI"]["group"] == "Graffiti"


def test_service_list_with_jurisdiction_id(api):
    result = api.get("services", {"jurisdiction_id": "lacity.org"}, schema="services")
    assert result.status == 200 and len(result.body) == 12


def test_empty_jurisdiction_id_is_absent(api):
    result = api.get("services", {"jurisdiction_id": ""}, schema="services")
    assert result.status == 200 and len(result.body) == 12


def test_unknown_jurisdiction_is_404(api):
    result = api.get("services", {"jurisdiction_id": "nowhere.example"})
    assert result.status == 404
    assert "nowhere.example" in error_text(result)


def test_jurisdiction_id_required_with_several(api, session):
    add_second_jurisdiction(session)
    result = api.get("services")
    assert result.status == 400
    assert "jurisdiction_id is required" in error_text(result)
    other = api.get("services", {"jurisdiction_id": "example.org"}, schema="services")
    assert [s["service_code"] for s in other.body] == ["POTHOLE"]
    assert other.body[0]["description"] is None
    la = api.get("services", {"jurisdiction_id": "lacity.org"}, schema="services")
    assert len(la.body) == 12


def test_no_jurisdiction_loaded_is_404(api, session):
    session.execute(Service.__table__.delete())
    session.execute(Jurisdiction.__table__.delete())
    session.commit()
    result = api.get("services")
    assert result.status == 404
    assert "no jurisdiction" in error_text(result)


def test_deactivated_service_leaves_the_list(api, session):
    from tests.helpers import service

    service(session, "GRAFFITI").active = False
    session.commit()
    result = api.get("services", schema="services")
    assert "GRAFFITI" not in [s["service_code"] for s in result.body]
    assert api.get("services/GRAFFITI").status == 404


@pytest.mark.parametrize("resource", ["services", "service"])
def test_service_definition(api, resource):
    result = api.get(
        f"{resource}/BULKY-ITEMS", root="service_definition", schema="service_definition"
    )
    assert result.status == 200
    body = result.body
    assert body["service_code"] == "BULKY-ITEMS"
    codes = [a["code"] for a in body["attributes"]]
    assert codes == ["ITEM_TYPES", "ITEM_COUNT", "LOCATION_TYPE"]
    items = body["attributes"][0]
    assert items["datatype"] == "multivaluelist" and items["required"] is True
    assert items["variable"] is True and items["order"] == 1
    assert {"key": "MATTRESS", "name": "Mattress"} in items["values"]
    count = body["attributes"][1]
    assert count["datatype"] == "number" and count["values"] == []
    assert count["datatype_description"] == "1-10"


def test_catalogue_uses_all_six_datatypes_and_informational(api):
    seen, informational = set(), []
    for svc in api.get("services").body:
        if not svc["metadata"]:
            continue
        for attribute in api.get(
            f"services/{svc['service_code']}", schema="service_definition"
        ).body["attributes"]:
            seen.add(attribute["datatype"])
            if not attribute["variable"]:
                informational.append(attribute["code"])
    assert seen == {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
    assert "SAFETY_NOTICE" in informational


def test_definition_of_service_without_attributes(api):
    result = api.get("services/OTHER", schema="service_definition")
    assert result.status == 200
    assert result.body == {"service_code": "OTHER", "attributes": []}


def test_unknown_service_is_404(api):
    result = api.get("services/NOPE")
    assert result.status == 404
    assert "NOPE" in error_text(result)


def test_service_of_another_jurisdiction_is_404(api, session):
    add_second_jurisdiction(session)
    result = api.get("services/POTHOLE", {"jurisdiction_id": "lacity.org"})
    assert result.status == 404
