"""Jurisdiction bundles (open311/operations/bundles.py) against PostGIS: first load, idempotent
reloads, in-place updates, deactivation, dry runs, refusals that store nothing, boundaries.

Every test works on a copy of jurisdictions/lacity.org in tmp_path whose id is
``test.lacity.org``, so it never touches the LA jurisdiction loaded for the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from open311.models import Jurisdiction, Service, ServiceAttribute, ServiceRequest
from open311.operations.bundles import BundleError, load_bundle, read_bundle
from open311.repository import catalogue
from open311.repository.jurisdictions import by_code
from open311.repository.points import jurisdiction_covers as covers
from tests.conftest import LA_BUNDLE
from tests.helpers import LA_CODES, copy_bundle, edit, la

TEST_ID = "test.lacity.org"
LA_ATTRIBUTE_COUNT = 3 + 4 + 3 + 3 + 3 + 4 + 3 + 2 + 3 + 3 + 0 + 0
CITY_HALL = (-118.2428, 34.0537)  # (long, lat)
SANTA_MONICA = (-118.4912, 34.0195)
BEVERLY_HILLS = (-118.4004, 34.0736)  # a city enclosed by Los Angeles: a hole
VAN_NUYS = (-118.4490, 34.1867)
DOWNTOWN_BOX = [
    [[-118.30, 34.00], [-118.20, 34.00], [-118.20, 34.10], [-118.30, 34.10], [-118.30, 34.00]]
]


# -- helpers -----------------------------------------------------------------------------------
@pytest.fixture
def bundle(tmp_path) -> Path:
    """A copy of the LA bundle with the id test.lacity.org."""
    return copy_bundle(LA_BUNDLE, tmp_path / TEST_ID, TEST_ID)


def edit_services(bundle: Path, change: Callable[[list[dict]], None]) -> None:
    """Change services.yaml as data (read, change, write back as YAML)."""
    path = bundle / "services.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["services"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def spec(services: list[dict], code: str) -> dict:
    return next(s for s in services if s["service_code"] == code)


def write_boundary(bundle: Path, geometry: dict | None, *, features: list | None = None) -> None:
    if features is None:
        features = [{"type": "Feature", "properties": {"name": "test"}, "geometry": geometry}]
    (bundle / "boundary.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )


def counts(session) -> dict[str, int]:
    return {
        table: session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
        for table in ("jurisdiction", "service", "service_attribute")
    }


def reload(session, path: Path, **kwargs):
    """Load as a separate run would: nothing cached from an earlier load."""
    session.expunge_all()
    return load_bundle(session, path, **kwargs)


def stored(session) -> Jurisdiction:
    session.expunge_all()
    jurisdiction = by_code(session, TEST_ID)
    assert jurisdiction is not None
    return jurisdiction


def stored_service(session, code: str) -> Service:
    """The service as stored (read afresh from the database)."""
    session.expunge_all()
    return session.scalars(
        sa.select(Service)
        .join(Jurisdiction)
        .where(Jurisdiction.jurisdiction_id == TEST_ID, Service.service_code == code)
    ).one()


def timestamps(session) -> dict[str, object]:
    rows = session.execute(
        sa.select(Service.service_code, Service.updated_at)
        .join(Jurisdiction)
        .where(Jurisdiction.jurisdiction_id == TEST_ID)
    ).all()
    result = {code: updated for code, updated in rows}
    result["<jurisdiction>"] = session.scalar(
        sa.select(Jurisdiction.updated_at).where(Jurisdiction.jurisdiction_id == TEST_ID)
    )
    return result


def added(codes: list[str]) -> list[str]:
    return [f"service {code}: added" for code in codes]


# -- first load --------------------------------------------------------------------------------
def test_first_load_creates_the_jurisdiction_and_twelve_services(session, bundle):
    before = counts(session)
    report = load_bundle(session, bundle)

    assert report.jurisdiction_id == TEST_ID
    assert report.created is True and report.changed is True
    assert report.changes == added(LA_CODES)
    assert report.notes == []
    assert counts(session) == {
        "jurisdiction": before["jurisdiction"] + 1,
        "service": before["service"] + 12,
        "service_attribute": before["service_attribute"] + LA_ATTRIBUTE_COUNT,
    }

    jurisdiction = stored(session)
    assert jurisdiction.name == "City of Los Angeles"
    assert jurisdiction.timezone == "America/Los_Angeles"
    assert jurisdiction.contact.startswith("MyLA311, City of Los Angeles: call 311")
    assert jurisdiction.key_service.startswith("API keys are issued on request")
    assert jurisdiction.settings == {
        "accept_unverified_addresses": False,
        "reverse_geocode_distance_m": 50.0,
        "address_match_threshold": 0.5,
        "local_crs": 2229,
    }
    services = jurisdiction.services
    assert [s.service_code for s in services] == LA_CODES
    assert [s.position for s in services] == list(range(1, 13))
    assert all(s.active for s in services)


def test_first_load_stores_service_and_attribute_values(session, bundle):
    load_bundle(session, bundle)
    stored(session)

    graffiti = stored_service(session, "GRAFFITI")
    assert graffiti.service_name == "Graffiti Removal"
    assert graffiti.type == "realtime"
    assert graffiti.keywords == ["graffiti", "tagging", "vandalism", "paint"]
    assert graffiti.group == "Graffiti"
    assert graffiti.agency_responsible == "Office of Community Beautification"
    assert graffiti.service_notice is None
    assert graffiti.description.startswith("Report graffiti on a wall, fence, pole")
    assert "\n" not in graffiti.description  # folded YAML text
    surface, offensive, area = graffiti.attributes
    assert (surface.code, surface.order, surface.datatype, surface.required, surface.variable) == (
        "SURFACE",
        1,
        "singlevaluelist",
        True,
        True,
    )
    assert surface.values[0] == {"key": "BUILDING", "name": "Building wall"}
    assert len(surface.values) == 7
    assert offensive.values == [{"key": "YES", "name": "Yes"}, {"key": "NO", "name": "No"}]
    assert (area.code, area.datatype, area.values, area.datatype_description) == (
        "AREA_SQFT",
        "number",
        [],
        "Square feet, e.g. 20",
    )

    homeless = stored_service(session, "HOMELESS-ENCAMPMENT")
    assert homeless.type == "batch"
    assert homeless.service_notice.startswith("Your report is reviewed before")
    notice = homeless.attributes[0]
    assert (notice.code, notice.variable, notice.required, notice.datatype_description) == (
        "SAFETY_NOTICE",
        False,
        False,
        None,
    )

    printer = stored_service(session, "E-WASTE").attributes[0].values[3]
    assert printer == {"key": "PRINTER", "name": "Printer, scanner or fax"}
    assert stored_service(session, "FEEDBACK").type == "blackbox"
    assert stored_service(session, "OTHER").attributes == []


def test_service_list_metadata_follows_the_attributes(session, bundle, client):
    load_bundle(session, bundle)
    listed = catalogue.active_services(session, stored(session).id)
    metadata = {service.service_code: flag for service, flag in listed}
    assert metadata == {code: code not in ("OTHER", "FEEDBACK") for code in LA_CODES}

    response = client.get("/open311/v2/services.json", query_string={"jurisdiction_id": TEST_ID})
    assert response.status_code == 200
    body = response.get_json()
    assert [s["service_code"] for s in body] == LA_CODES
    assert {s["service_code"]: s["metadata"] for s in body} == metadata
    assert body[0]["keywords"] == "graffiti, tagging, vandalism, paint"


def test_loaded_boundary_equals_the_la_boundary(session, bundle):
    load_bundle(session, bundle)
    test_pk = stored(session).id
    same = session.scalar(
        sa.select(
            sa.func.ST_Equals(
                sa.select(Jurisdiction.boundary)
                .where(Jurisdiction.id == test_pk)
                .scalar_subquery(),
                sa.select(Jurisdiction.boundary)
                .where(Jurisdiction.id == la(session).id)
                .scalar_subquery(),
            )
        )
    )
    assert same is True
    assert covers(session, test_pk, *CITY_HALL) is True
    assert covers(session, test_pk, *SANTA_MONICA) is False


# -- the LA boundary ---------------------------------------------------------------------------
def test_la_boundary_covers_city_hall_and_the_valley(session):
    assert covers(session, la(session).id, *CITY_HALL) is True
    assert covers(session, la(session).id, *VAN_NUYS) is True


def test_la_boundary_excludes_santa_monica_and_beverly_hills(session):
    assert covers(session, la(session).id, *SANTA_MONICA) is False
    assert covers(session, la(session).id, *BEVERLY_HILLS) is False


def test_la_boundary_is_a_valid_multipolygon_in_wgs84(session):
    row = session.execute(
        sa.select(
            sa.func.ST_GeometryType(Jurisdiction.boundary),
            sa.func.ST_SRID(Jurisdiction.boundary),
            sa.func.ST_IsValid(Jurisdiction.boundary),
        ).where(Jurisdiction.id == la(session).id)
    ).one()
    assert tuple(row) == ("ST_MultiPolygon", 4326, True)


# -- idempotence -------------------------------------------------------------------------------
def test_second_load_of_the_same_bundle_changes_nothing(session, bundle):
    load_bundle(session, bundle)
    before_counts, before_times = counts(session), timestamps(session)

    report = reload(session, bundle)

    assert report.changed is False
    assert report.created is False and report.changes == []
    assert counts(session) == before_counts
    assert timestamps(session) == before_times


def test_second_load_in_the_same_session_changes_nothing(session, bundle):
    load_bundle(session, bundle)
    before_times = timestamps(session)
    report = load_bundle(session, bundle)
    assert report.changed is False
    assert timestamps(session) == before_times


def test_yaml_rewritten_with_the_same_data_changes_nothing(session, bundle):
    load_bundle(session, bundle)
    edit_services(bundle, lambda services: None)  # comments and quoting change, data does not
    assert reload(session, bundle).changed is False


def test_attributes_listed_out_of_order_reload_without_change(session, bundle):
    def swap(services):
        surface, offensive = spec(services, "GRAFFITI")["attributes"][:2]
        surface["order"], offensive["order"] = 2, 1  # listed 2, 1, 3

    edit_services(bundle, swap)
    load_bundle(session, bundle)
    session.expunge_all()
    assert [a.code for a in stored_service(session, "GRAFFITI").attributes] == [
        "OFFENSIVE",
        "SURFACE",
        "AREA_SQFT",
    ]
    assert reload(session, bundle).changes == []


# -- updates in place --------------------------------------------------------------------------
def test_renamed_service_is_updated_in_place(session, bundle):
    load_bundle(session, bundle)
    graffiti_id = stored_service(session, "GRAFFITI").id
    before = timestamps(session)
    edit(
        bundle / "services.yaml", "service_name: Graffiti Removal", "service_name: Graffiti Cleanup"
    )

    report = reload(session, bundle)

    assert report.changed is True and report.created is False
    assert report.changes == ["service GRAFFITI: service_name changed"]
    graffiti = stored_service(session, "GRAFFITI")
    assert graffiti.id == graffiti_id
    assert graffiti.service_name == "Graffiti Cleanup"
    after = timestamps(session)
    assert after["GRAFFITI"] > before["GRAFFITI"]
    assert {k: v for k, v in after.items() if k != "GRAFFITI"} == {
        k: v for k, v in before.items() if k != "GRAFFITI"
    }


def test_edited_attribute_is_updated_in_place(session, bundle):
    load_bundle(session, bundle)
    graffiti_id = stored_service(session, "GRAFFITI").id
    before_counts, before = counts(session), timestamps(session)
    edit(
        bundle / "services.yaml",
        'datatype_description: "Square feet, e.g. 20"',
        'datatype_description: "Square feet, e.g. 25"',
    )

    report = reload(session, bundle)

    assert report.changes == ["service GRAFFITI: attributes changed"]
    graffiti = stored_service(session, "GRAFFITI")
    assert graffiti.id == graffiti_id
    assert [a.datatype_description for a in graffiti.attributes] == [
        None,
        None,
        "Square feet, e.g. 25",
    ]
    assert counts(session) == before_counts
    assert timestamps(session)["GRAFFITI"] > before["GRAFFITI"]


def test_added_attribute_value_and_notice_are_reported_together(session, bundle):
    load_bundle(session, bundle)

    def change(services):
        graffiti = spec(services, "GRAFFITI")
        graffiti["attributes"][0]["values"].append({"key": "BRIDGE", "name": "Bridge"})
        graffiti["service_notice"] = "Thanks!"
        graffiti["keywords"] = ["graffiti"]

    edit_services(bundle, change)

    report = reload(session, bundle)

    assert report.changes == ["service GRAFFITI: keywords, service_notice, attributes changed"]
    graffiti = stored_service(session, "GRAFFITI")
    assert graffiti.attributes[0].values[-1] == {"key": "BRIDGE", "name": "Bridge"}
    assert graffiti.service_notice == "Thanks!"
    assert graffiti.keywords == ["graffiti"]


def test_changed_time_zone_is_updated_in_place(session, bundle):
    load_bundle(session, bundle)
    jurisdiction_pk, before = stored(session).id, timestamps(session)
    edit(bundle / "jurisdiction.yaml", "America/Los_Angeles", "America/Denver")

    report = reload(session, bundle)

    assert report.changes == ["jurisdiction: timezone changed"]
    jurisdiction = stored(session)
    assert jurisdiction.id == jurisdiction_pk
    assert jurisdiction.timezone == "America/Denver"
    after = timestamps(session)
    assert after["<jurisdiction>"] > before["<jurisdiction>"]
    assert after["GRAFFITI"] == before["GRAFFITI"]


def test_changed_boundary_is_updated_in_place(session, bundle):
    load_bundle(session, bundle)
    jurisdiction_pk = stored(session).id
    write_boundary(bundle, {"type": "Polygon", "coordinates": DOWNTOWN_BOX})

    report = reload(session, bundle)

    assert report.changes == ["jurisdiction: boundary changed"]
    assert stored(session).id == jurisdiction_pk
    assert covers(session, jurisdiction_pk, *CITY_HALL) is True
    assert covers(session, jurisdiction_pk, *VAN_NUYS) is False  # outside the new box
    assert covers(session, jurisdiction_pk, -118.30, 34.05) is True  # on the edge
    assert reload(session, bundle).changed is False


def test_reordered_services_get_new_positions(session, bundle):
    load_bundle(session, bundle)
    edit_services(bundle, lambda services: services.insert(0, services.pop()))  # FEEDBACK first

    report = reload(session, bundle)

    assert report.changes == [
        f"service {code}: position changed" for code in ["FEEDBACK", *LA_CODES[:-1]]
    ]
    assert [s.service_code for s in stored(session).services] == ["FEEDBACK", *LA_CODES[:-1]]


def test_added_service_is_appended(session, bundle):
    load_bundle(session, bundle)
    edit_services(
        bundle,
        lambda services: services.append(
            {
                "service_code": "POTHOLE",
                "service_name": "Pothole",
                "description": "A hole.",
                "type": "realtime",
                "keywords": [],
                "group": "Streets",
                "agency_responsible": "Bureau of Street Services",
            }
        ),
    )

    report = reload(session, bundle)

    assert report.changes == ["service POTHOLE: added"]
    pothole = stored_service(session, "POTHOLE")
    assert (pothole.position, pothole.active, pothole.keywords) == (13, True, [])


# -- deactivation ------------------------------------------------------------------------------
def test_removed_service_is_deactivated_and_kept(session, bundle):
    load_bundle(session, bundle)
    feedback_id = stored_service(session, "FEEDBACK").id
    before_counts = counts(session)
    edit_services(bundle, lambda services: services.remove(spec(services, "FEEDBACK")))

    report = reload(session, bundle)

    assert report.changes == ["service FEEDBACK: deactivated (no longer in the bundle)"]
    feedback = stored_service(session, "FEEDBACK")
    assert feedback.id == feedback_id
    assert feedback.active is False
    assert feedback.service_name == "Feedback"
    assert counts(session) == before_counts
    listed = [s.service_code for s, _ in catalogue.active_services(session, stored(session).id)]
    assert listed == LA_CODES[:-1]
    assert reload(session, bundle).changed is False  # already inactive: nothing to do


def test_service_put_back_is_reactivated(session, bundle, tmp_path):
    load_bundle(session, bundle)
    original = (bundle / "services.yaml").read_text(encoding="utf-8")
    feedback_id = stored_service(session, "FEEDBACK").id
    edit_services(bundle, lambda services: services.remove(spec(services, "FEEDBACK")))
    reload(session, bundle)
    (bundle / "services.yaml").write_text(original, encoding="utf-8")

    report = reload(session, bundle)

    assert len(report.changes) == 1
    assert report.changes[0].startswith("service FEEDBACK: ")
    assert "reactivated" in report.changes[0]
    feedback = stored_service(session, "FEEDBACK")
    assert (feedback.id, feedback.active, feedback.position) == (feedback_id, True, 12)


# -- dry run -----------------------------------------------------------------------------------
def test_check_of_a_new_bundle_reports_creation_and_stores_nothing(session, bundle):
    before = counts(session)

    report = load_bundle(session, bundle, dry_run=True)

    assert report.created is True
    assert report.changes == added(LA_CODES)
    assert counts(session) == before
    session.expunge_all()
    assert by_code(session, TEST_ID) is None


def test_check_reports_changes_without_making_them(session, bundle):
    load_bundle(session, bundle)
    before_counts, before = counts(session), timestamps(session)
    edit(
        bundle / "services.yaml", "service_name: Graffiti Removal", "service_name: Graffiti Cleanup"
    )
    edit(bundle / "jurisdiction.yaml", "America/Los_Angeles", "America/Denver")
    edit(
        bundle / "services.yaml",
        'datatype_description: "Square feet, e.g. 20"',
        'datatype_description: "Square feet"',
    )
    edit_services(bundle, lambda services: services.remove(spec(services, "FEEDBACK")))

    report = reload(session, bundle, dry_run=True)

    assert report.changes == [
        "jurisdiction: timezone changed",
        "service GRAFFITI: service_name, attributes changed",
        "service FEEDBACK: deactivated (no longer in the bundle)",
    ]
    assert counts(session) == before_counts
    assert timestamps(session) == before
    assert stored(session).timezone == "America/Los_Angeles"
    graffiti = stored_service(session, "GRAFFITI")
    assert graffiti.service_name == "Graffiti Removal"
    assert graffiti.attributes[2].datatype_description == "Square feet, e.g. 20"
    assert stored_service(session, "FEEDBACK").active is True

    applied = reload(session, bundle)
    assert applied.changes == report.changes


def test_check_of_an_unchanged_bundle_reports_no_change(session, bundle):
    load_bundle(session, bundle)
    report = reload(session, bundle, dry_run=True)
    assert report.changed is False and report.changes == []


# -- refusals ----------------------------------------------------------------------------------
def _without_values(services):
    del spec(services, "GRAFFITI")["attributes"][1]["values"]


def _values_on_number(services):
    spec(services, "GRAFFITI")["attributes"][2]["values"] = [{"key": "BIG", "name": "Big"}]


def _informational_required(services):
    spec(services, "HOMELESS-ENCAMPMENT")["attributes"][0]["required"] = True


def _remove(name):
    return lambda bundle: (bundle / name).unlink()


POINT = {"type": "Point", "coordinates": [-118.2428, 34.0537]}
LINE = {"type": "LineString", "coordinates": [[-118.3, 34.0], [-118.2, 34.1]]}
PROJECTED = {
    "type": "Polygon",
    "coordinates": [
        [
            [400000, 4000000],
            [401000, 4000000],
            [401000, 4001000],
            [400000, 4001000],
            [400000, 4000000],
        ]
    ],
}

REFUSALS = {
    "invalid-yaml-services": (
        lambda b: edit(b / "services.yaml", "keywords: [graffiti,", "keywords: [graffiti: ["),
        "services.yaml: not valid YAML",
    ),
    "invalid-yaml-jurisdiction": (
        lambda b: edit(b / "jurisdiction.yaml", "name: City", "name: [City"),
        "jurisdiction.yaml: not valid YAML",
    ),
    "missing-jurisdiction-key": (
        lambda b: edit(b / "jurisdiction.yaml", "key_service:", "# key_service:"),
        "jurisdiction.yaml: key_service: Missing data for required field.",
    ),
    "unknown-jurisdiction-key": (
        lambda b: edit(b / "jurisdiction.yaml", "boundary:", "wards: wards.geojson\nboundary:"),
        "jurisdiction.yaml: wards: Unknown field.",
    ),
    "missing-service-key": (
        lambda b: edit(b / "services.yaml", "    group: Graffiti\n", ""),
        "services.yaml: services[GRAFFITI].group: Missing data for required field.",
    ),
    "bad-time-zone": (
        lambda b: edit(b / "jurisdiction.yaml", "America/Los_Angeles", "PST"),
        "jurisdiction.yaml: timezone: 'PST' is not an IANA time zone (e.g. America/Los_Angeles)",
    ),
    "duplicate-service-code": (
        lambda b: edit(b / "services.yaml", "service_code: DEAD-ANIMAL", "service_code: GRAFFITI"),
        "services.yaml: services: service_code must be unique: GRAFFITI",
    ),
    "duplicate-attribute-code": (
        lambda b: edit(b / "services.yaml", "code: AREA_SQFT", "code: SURFACE"),
        "services.yaml: services[GRAFFITI].attributes: attribute codes must be unique within "
        "a service",
    ),
    "duplicate-attribute-order": (
        lambda b: edit(
            b / "services.yaml",
            "code: AREA_SQFT\n        order: 3",
            "code: AREA_SQFT\n        order: 2",
        ),
        "services.yaml: services[GRAFFITI].attributes: attribute orders must be unique within "
        "a service",
    ),
    "list-without-values": (
        lambda b: edit_services(b, _without_values),
        "services.yaml: services[GRAFFITI].attributes.1.values: a singlevaluelist needs values",
    ),
    "values-on-number": (
        lambda b: edit_services(b, _values_on_number),
        "services.yaml: services[GRAFFITI].attributes.2.values: a number attribute takes no values",
    ),
    "keyword-with-comma": (
        lambda b: edit(
            b / "services.yaml",
            "[graffiti, tagging, vandalism, paint]",
            '[graffiti, "tagging, vandalism", paint]',
        ),
        "services.yaml: services[GRAFFITI].keywords.1: a keyword must not contain a comma",
    ),
    "informational-required": (
        lambda b: edit_services(b, _informational_required),
        "services.yaml: services[HOMELESS-ENCAMPMENT].attributes.0.required: an informational "
        "attribute (variable: false) cannot be required",
    ),
    "unquoted-yes-key": (
        lambda b: edit(b / "services.yaml", '{key: "YES", name: "Yes"}', '{key: YES, name: "Yes"}'),
        "services.yaml: services[GRAFFITI].attributes.1.values.0.key: Not a valid string.",
    ),
    "boundary-point": (
        lambda b: write_boundary(b, POINT),
        "boundary.geojson: feature 0 is a Point; a boundary or area must be a Polygon or "
        "MultiPolygon",
    ),
    "boundary-linestring": (
        lambda b: write_boundary(b, LINE),
        "boundary.geojson: feature 0 is a LineString; a boundary or area must be a Polygon or "
        "MultiPolygon",
    ),
    "boundary-empty-collection": (
        lambda b: write_boundary(b, None, features=[]),
        "boundary.geojson: no feature found",
    ),
    "boundary-file-missing": (
        _remove("boundary.geojson"),
        "boundary.geojson: no such file or folder",
    ),
    "boundary-path-wrong": (
        lambda b: edit(
            b / "jurisdiction.yaml", "boundary: boundary.geojson", "boundary: nowhere.geojson"
        ),
        "nowhere.geojson: no such file or folder",
    ),
    "boundary-projected": (
        lambda b: write_boundary(b, PROJECTED),
        "boundary.geojson: no CRS and the coordinates are not longitude/latitude (bounds "
        "(400000.0, 4000000.0, 401000.0, 4001000.0))",
    ),
    "services-file-missing": (
        _remove("services.yaml"),
        "services.yaml: cannot read (No such file or directory)",
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_broken_bundle_is_refused_and_nothing_is_stored(session, bundle, name):
    mutate, expected = REFUSALS[name]
    mutate(bundle)
    before = counts(session)

    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)

    assert exc.value.path == bundle
    assert len(exc.value.problems) == 1, exc.value.problems
    assert exc.value.problems[0].startswith(expected), exc.value.problems
    assert expected in str(exc.value)
    assert counts(session) == before
    session.expunge_all()
    assert by_code(session, TEST_ID) is None


def test_broken_edit_of_a_loaded_bundle_changes_nothing(session, bundle):
    load_bundle(session, bundle)
    before_counts, before = counts(session), timestamps(session)
    edit(
        bundle / "services.yaml", "service_name: Graffiti Removal", "service_name: Graffiti Cleanup"
    )
    edit(bundle / "services.yaml", "type: blackbox", "type: inbox")

    with pytest.raises(BundleError) as exc:
        reload(session, bundle)

    assert exc.value.problems == [
        "services.yaml: services[FEEDBACK].type: Must be one of: realtime, batch, blackbox."
    ]
    assert counts(session) == before_counts and timestamps(session) == before
    assert stored_service(session, "GRAFFITI").service_name == "Graffiti Removal"


def test_a_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(BundleError) as exc:
        read_bundle(tmp_path / "absent")
    assert exc.value.problems == ["not a folder"]


def test_several_problems_are_reported_together(session, bundle):
    edit(
        bundle / "services.yaml",
        "[graffiti, tagging, vandalism, paint]",
        '[graffiti, "tagging, vandalism", paint]',
    )
    edit_services(bundle, _informational_required)
    edit(bundle / "services.yaml", "service_code: DEAD-ANIMAL", "service_code: GRAFFITI")
    write_boundary(bundle, POINT)
    before = counts(session)

    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)

    assert sorted(exc.value.problems) == sorted(
        [
            "services.yaml: services[GRAFFITI].keywords.1: a keyword must not contain a comma",
            "services.yaml: services[HOMELESS-ENCAMPMENT].attributes.0.required: an informational "
            "attribute (variable: false) cannot be required",
            "services.yaml: services: service_code must be unique: GRAFFITI",
            "boundary.geojson: feature 0 is a Point; a boundary or area must be a Polygon or "
            "MultiPolygon",
        ]
    )
    assert counts(session) == before


def test_duplicate_attribute_code_is_reported_with_another_problem_of_the_service(session, bundle):
    edit(bundle / "services.yaml", "code: AREA_SQFT", "code: SURFACE")
    edit(bundle / "services.yaml", "    group: Graffiti\n", "")
    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)
    assert sorted(exc.value.problems) == [
        "services.yaml: services[GRAFFITI].attributes: attribute codes must be unique within "
        "a service",
        "services.yaml: services[GRAFFITI].group: Missing data for required field.",
    ]


def test_missing_service_code_is_refused(session, bundle):
    edit(
        bundle / "services.yaml", "  - service_code: FEEDBACK\n    service_name", "  - service_name"
    )
    before = counts(session)
    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)
    assert exc.value.problems == [
        "services.yaml: services.11.service_code: Missing data for required field."
    ]
    assert counts(session) == before


def test_time_zone_that_names_a_folder_is_refused(session, bundle):
    edit(bundle / "jurisdiction.yaml", "America/Los_Angeles", "America")
    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)
    assert exc.value.problems == [
        "jurisdiction.yaml: timezone: 'America' is not an IANA time zone (e.g. America/Los_Angeles)"
    ]


def test_empty_services_file_is_refused(session, bundle):
    load_bundle(session, bundle)
    (bundle / "services.yaml").write_text("# the catalogue\n", encoding="utf-8")
    with pytest.raises(BundleError) as exc:
        reload(session, bundle)
    assert "services.yaml: is empty" in str(exc.value)
    assert all(s.active for s in stored(session).services)


def test_boundary_with_altitudes_is_loaded_in_2d_or_refused(session, bundle):
    write_boundary(
        bundle, {"type": "Polygon", "coordinates": [[[x, y, 0.0] for x, y in DOWNTOWN_BOX[0]]]}
    )
    try:
        report = load_bundle(session, bundle)
    except BundleError as exc:
        assert any("boundary.geojson" in p for p in exc.problems)
    else:
        assert report.created is True
        assert covers(session, stored(session).id, *CITY_HALL) is True


# -- repaired boundaries -----------------------------------------------------------------------
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[-118.3, 34.0], [-118.2, 34.1], [-118.2, 34.0], [-118.3, 34.1], [-118.3, 34.0]]
    ],
}


def test_self_intersecting_boundary_is_repaired_and_noted(session, bundle):
    write_boundary(bundle, BOW_TIE)

    report = load_bundle(session, bundle)

    assert report.created is True
    assert len(report.notes) == 1
    assert report.notes[0].startswith("feature 0 was invalid (Self-intersection")
    assert report.notes[0].endswith("and has been repaired (make_valid)")
    pk = stored(session).id
    valid, parts = session.execute(
        sa.select(
            sa.func.ST_IsValid(Jurisdiction.boundary),
            sa.func.ST_NumGeometries(Jurisdiction.boundary),
        ).where(Jurisdiction.id == pk)
    ).one()
    assert (valid, parts) == (True, 2)
    assert covers(session, pk, -118.29, 34.05) is True  # left triangle
    assert covers(session, pk, -118.21, 34.05) is True  # right triangle
    assert covers(session, pk, -118.25, 34.09) is False  # between the two
    again = reload(session, bundle)
    assert again.changed is False
    assert again.notes == report.notes


def test_boundary_features_are_merged_into_one_multipolygon(session, bundle):
    west = [
        [[-118.30, 34.00], [-118.25, 34.00], [-118.25, 34.10], [-118.30, 34.10], [-118.30, 34.00]]
    ]
    east = [
        [[-118.25, 34.00], [-118.20, 34.00], [-118.20, 34.10], [-118.25, 34.10], [-118.25, 34.00]]
    ]
    write_boundary(
        bundle,
        None,
        features=[
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": c}}
            for c in (west, east)
        ],
    )
    load_bundle(session, bundle)
    pk = stored(session).id
    kind, parts = session.execute(
        sa.select(
            sa.func.ST_GeometryType(Jurisdiction.boundary),
            sa.func.ST_NumGeometries(Jurisdiction.boundary),
        ).where(Jurisdiction.id == pk)
    ).one()
    assert (kind, parts) == ("ST_MultiPolygon", 1)
    assert covers(session, pk, -118.25, 34.05) is True


def test_attribute_rows_belong_to_their_service(session, bundle):
    load_bundle(session, bundle)
    rows = session.execute(
        sa.select(Service.service_code, sa.func.count(ServiceAttribute.id))
        .join(Jurisdiction)
        .outerjoin(ServiceAttribute)
        .where(Jurisdiction.jurisdiction_id == TEST_ID)
        .group_by(Service.service_code)
    ).all()
    assert dict(rows) == {
        "GRAFFITI": 3,
        "HOMELESS-ENCAMPMENT": 4,
        "DEAD-ANIMAL": 3,
        "BULKY-ITEMS": 3,
        "E-WASTE": 3,
        "ILLEGAL-DUMPING": 4,
        "METAL-APPLIANCES": 3,
        "STREETLIGHT-SINGLE": 2,
        "STREETLIGHT-MULTIPLE": 3,
        "WATER-WASTE": 3,
        "OTHER": 0,
        "FEEDBACK": 0,
    }


def test_a_privacy_change_derives_the_requests_public_view_again(session, bundle):
    load_bundle(session, bundle)
    graffiti = stored_service(session, "GRAFFITI")
    here = "SRID=4326;POINT(-118.2428 34.0537)"
    request = ServiceRequest(
        jurisdiction_pk=graffiti.jurisdiction_pk,
        service_pk=graffiti.id,
        location=here,
        public_location=here,
        address="200 N Spring St",
    )
    session.add(request)
    session.commit()
    request_pk, updated = request.id, request.updated_datetime

    def to_grid(services: list[dict]) -> None:
        spec(services, "GRAFFITI").update(location_privacy="grid", grid_metres=300)

    edit_services(bundle, to_grid)
    report = reload(session, bundle)
    assert report.changes == [
        "service GRAFFITI: public view of 1 requests derived again",
        "service GRAFFITI: location_privacy, grid_metres changed",
    ]
    moved = session.get(ServiceRequest, request_pk)
    assert moved is not None and moved.updated_datetime > updated
    exact, shown = session.execute(
        sa.select(
            sa.func.ST_AsText(ServiceRequest.location),
            sa.func.ST_AsText(ServiceRequest.public_location),
        ).where(ServiceRequest.id == request_pk)
    ).one()
    assert exact == "POINT(-118.2428 34.0537)" and shown != exact
    assert stored_service(session, "GRAFFITI").grid_metres == 300
    assert reload(session, bundle).changes == []  # a second load changes nothing


def test_a_renamed_area_moves_the_jurisdictions_timestamp(session, tmp_path):
    """Areas carry no timestamp: the jurisdiction's says the published areas changed (the
    exports' and statistics' validators follow it)."""
    bundle = copy_bundle(LA_BUNDLE, tmp_path / TEST_ID, TEST_ID, keep_geography=True)
    load_bundle(session, bundle)
    before = timestamps(session)
    edit(bundle / "areas" / "la_city_regions_7_latimes.geojson", '"Harbor"', '"The Harbor"')
    report = reload(session, bundle)
    assert report.changes and all(c.startswith("areas[region]") for c in report.changes)
    after = timestamps(session)
    assert after["<jurisdiction>"] > before["<jurisdiction>"]
    assert reload(session, bundle).changes == []
    assert timestamps(session)["<jurisdiction>"] == after["<jurisdiction>"]


def test_a_local_crs_postgis_does_not_know_is_refused(session, bundle):
    """An OGC client asking for positions in it would get a transform error: refused at
    load, nothing stored."""
    path = bundle / "jurisdiction.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("local_crs: 2229", "local_crs: 1025"), encoding="utf-8")
    before = counts(session)
    with pytest.raises(BundleError) as exc:
        load_bundle(session, bundle)
    assert "settings.local_crs: EPSG:1025" in str(exc.value)
    assert counts(session) == before
