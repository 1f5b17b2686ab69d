"""The bundle file schemas (schemas/bundle.py) and the boundary reader (geo/boundaries.py),
on small files written to tmp_path. No database."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from marshmallow import ValidationError
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from geo.boundaries import BoundaryError, polygonal
from geo.readers import read_boundary
from schemas.bundle import AttributeDef, JurisdictionFile, ServicesFile, flatten

JURISDICTION_YAML = """\
id: example.org
name: Example Town
timezone: America/New_York
contact: "Call 311"
key_service: "Ask us for a key"
boundary: boundary.geojson
services: services.yaml
"""

SERVICE_YAML = """\
services:
  - service_code: POTHOLE
    service_name: Pothole
    description: A hole in the road.
    type: realtime
    keywords: [road, hole]
    group: Streets
    agency_responsible: Streets Department
    attributes:
      - code: SIZE
        order: 1
        description: How big is it?
        datatype: singlevaluelist
        required: true
        values:
          - {key: SMALL, name: Small}
          - {key: "YES", name: "Yes"}
      - code: DEPTH
        order: 2
        description: How deep, in inches?
        datatype: number
        required: false
        datatype_description: "1-20"
"""


def read_yaml(tmp_path: Path, text: str, name: str = "file.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def errors_of(schema, data) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        schema.load(data)
    return flatten(exc.value.messages)


def service(**changes) -> dict:
    base = {
        "service_code": "POTHOLE",
        "service_name": "Pothole",
        "description": "A hole.",
        "type": "realtime",
        "keywords": ["road"],
        "group": "Streets",
        "agency_responsible": "Streets Department",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def attribute(**changes) -> dict:
    base = {
        "code": "SIZE",
        "order": 1,
        "description": "How big?",
        "datatype": "string",
        "required": False,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


# -- jurisdiction.yaml -------------------------------------------------------------------------
def test_jurisdiction_file_loads_all_keys_and_defaults_settings(tmp_path):
    loaded = JurisdictionFile().load(read_yaml(tmp_path, JURISDICTION_YAML))
    assert loaded == {
        "id": "example.org",
        "name": "Example Town",
        "timezone": "America/New_York",
        "contact": "Call 311",
        "key_service": "Ask us for a key",
        "boundary": {"file": "boundary.geojson", "layer": None},
        "services": "services.yaml",
        "languages": ["en"],
        "parent": None,
        "areas": [],
        "addresses": None,
        "settings": {
            "accept_unverified_addresses": False,
            "reverse_geocode_distance_m": 50.0,
            "address_match_threshold": 0.5,
            "local_crs": None,
        },
    }


@pytest.mark.parametrize(
    "key", ["id", "name", "timezone", "contact", "key_service", "boundary", "services"]
)
def test_jurisdiction_file_requires_each_key(tmp_path, key):
    raw = read_yaml(tmp_path, JURISDICTION_YAML)
    del raw[key]
    assert errors_of(JurisdictionFile(), raw) == [f"{key}: Missing data for required field."]


def test_jurisdiction_file_refuses_unknown_keys(tmp_path):
    raw = read_yaml(tmp_path, JURISDICTION_YAML + "wards: wards.geojson\n")
    assert errors_of(JurisdictionFile(), raw) == ["wards: Unknown field."]


@pytest.mark.parametrize("zone", ["PST", "-08:00", "america/los_angeles", "Mars/Olympus"])
def test_jurisdiction_file_refuses_a_non_iana_time_zone(tmp_path, zone):
    raw = read_yaml(tmp_path, JURISDICTION_YAML.replace("America/New_York", f'"{zone}"'))
    assert errors_of(JurisdictionFile(), raw) == [
        f"timezone: {zone!r} is not an IANA time zone (e.g. America/Los_Angeles)"
    ]


def test_jurisdiction_file_refuses_a_time_zone_folder_name(tmp_path):
    raw = read_yaml(tmp_path, JURISDICTION_YAML.replace("America/New_York", "America"))
    assert errors_of(JurisdictionFile(), raw) == [
        "timezone: 'America' is not an IANA time zone (e.g. America/Los_Angeles)"
    ]


def test_jurisdiction_file_refuses_empty_contact_and_bad_id(tmp_path):
    raw = read_yaml(
        tmp_path,
        JURISDICTION_YAML.replace('"Call 311"', '""').replace("id: example.org", "id: example org"),
    )
    assert sorted(errors_of(JurisdictionFile(), raw)) == [
        "contact: Shorter than minimum length 1.",
        "id: use letters, digits, '.', '_' and '-' (e.g. lacity.org)",
    ]


# -- services.yaml -----------------------------------------------------------------------------
def test_services_file_loads_with_defaults(tmp_path):
    loaded = ServicesFile().load(read_yaml(tmp_path, SERVICE_YAML))
    [pothole] = loaded["services"]
    assert pothole["service_notice"] is None
    assert pothole["keywords"] == ["road", "hole"]
    size, depth = pothole["attributes"]
    assert size["variable"] is True and size["required"] is True
    assert size["values"] == [{"key": "SMALL", "name": "Small"}, {"key": "YES", "name": "Yes"}]
    assert size["datatype_description"] is None
    assert depth["values"] == [] and depth["datatype_description"] == "1-20"


def test_services_file_without_attributes_gets_an_empty_list():
    loaded = ServicesFile().load({"services": [service()]})
    assert loaded["services"][0]["attributes"] == []


def test_services_file_requires_the_services_key():
    assert errors_of(ServicesFile(), {}) == ["services: Missing data for required field."]


def test_duplicate_service_codes_are_named():
    data = {
        "services": [
            service(),
            service(service_name="Other"),
            service(service_code="X"),
            service(service_code="X"),
        ]
    }
    assert errors_of(ServicesFile(), data) == ["services: service_code must be unique: POTHOLE, X"]


@pytest.mark.parametrize(
    "field", ["service_name", "description", "type", "keywords", "group", "agency_responsible"]
)
def test_each_required_service_key_is_required(field):
    data = {"services": [service(**{field: ...})]}
    assert errors_of(ServicesFile(), data) == [
        f"services.0.{field}: Missing data for required field."
    ]


def test_service_type_must_be_one_of_three():
    data = {"services": [service(type="instant")]}
    assert errors_of(ServicesFile(), data) == [
        "services.0.type: Must be one of: realtime, batch, blackbox."
    ]


def test_missing_service_code_is_reported():
    data = {"services": [service(service_code=...)]}
    assert errors_of(ServicesFile(), data) == [
        "services.0.service_code: Missing data for required field."
    ]


def test_service_that_is_not_a_mapping_is_reported_with_the_others():
    data = {"services": ["POTHOLE", service(), service(type="x"), service()]}
    assert errors_of(ServicesFile(), data) == [
        "services.0: Invalid input type.",
        "services.2.type: Must be one of: realtime, batch, blackbox.",
        "services: service_code must be unique: POTHOLE",
    ]


@pytest.mark.parametrize("code", ["BULKY ITEMS", "-LEADING", "A" * 101, "ÉCOLE"])
def test_service_code_refuses_bad_characters_and_length(code):
    messages = errors_of(ServicesFile(), {"services": [service(service_code=code)]})
    assert messages == [
        "services.0.service_code: use letters, digits, '.', '_' and '-' (at most 100)"
    ]


def test_service_code_of_100_characters_is_accepted():
    loaded = ServicesFile().load({"services": [service(service_code="A" * 100)]})
    assert loaded["services"][0]["service_code"] == "A" * 100


def test_service_code_with_a_trailing_newline_is_refused(tmp_path):
    raw = read_yaml(
        tmp_path, SERVICE_YAML.replace("service_code: POTHOLE", 'service_code: "POTHOLE\\n"')
    )
    assert raw["services"][0]["service_code"] == "POTHOLE\n"
    assert errors_of(ServicesFile(), raw) == [
        "services.0.service_code: use letters, digits, '.', '_' and '-' (at most 100)"
    ]


def test_attribute_code_with_a_trailing_newline_is_refused():
    assert errors_of(AttributeDef(), attribute(code="SIZE\n")) == [
        "code: use upper-case letters, digits and _ only"
    ]


def test_keyword_with_a_comma_is_refused(tmp_path):
    raw = read_yaml(tmp_path, SERVICE_YAML.replace("[road, hole]", '[road, "hole, pit"]'))
    assert errors_of(ServicesFile(), raw) == [
        "services.0.keywords.1: a keyword must not contain a comma"
    ]


def test_empty_keyword_list_is_allowed():
    loaded = ServicesFile().load({"services": [service(keywords=[])]})
    assert loaded["services"][0]["keywords"] == []


def test_unquoted_yes_value_key_is_a_boolean_and_refused(tmp_path):
    raw = read_yaml(
        tmp_path, SERVICE_YAML.replace('{key: "YES", name: "Yes"}', "{key: YES, name: Yes}")
    )
    assert raw["services"][0]["attributes"][0]["values"][1] == {"key": True, "name": True}
    assert errors_of(ServicesFile(), raw) == [
        "services.0.attributes.0.values.1.key: Not a valid string.",
        "services.0.attributes.0.values.1.name: Not a valid string.",
    ]


def test_unquoted_number_value_key_is_refused(tmp_path):
    raw = read_yaml(
        tmp_path, SERVICE_YAML.replace("{key: SMALL, name: Small}", "{key: 10, name: 10 or more}")
    )
    assert errors_of(ServicesFile(), raw) == [
        "services.0.attributes.0.values.0.key: Not a valid string."
    ]


def test_unknown_service_key_is_refused():
    data = {"services": [service(areas=["north"])]}
    assert errors_of(ServicesFile(), data) == ["services.0.areas: Unknown field."]


def test_duplicate_attribute_codes_are_refused():
    data = {"services": [service(attributes=[attribute(), attribute(order=2)])]}
    assert errors_of(ServicesFile(), data) == [
        "services.0.attributes: attribute codes must be unique within a service"
    ]


def test_duplicate_attribute_orders_are_refused():
    data = {"services": [service(attributes=[attribute(), attribute(code="OTHER")])]}
    assert errors_of(ServicesFile(), data) == [
        "services.0.attributes: attribute orders must be unique within a service"
    ]


# -- attributes --------------------------------------------------------------------------------
@pytest.mark.parametrize("datatype", ["singlevaluelist", "multivaluelist"])
def test_list_datatype_needs_values(datatype):
    assert errors_of(AttributeDef(), attribute(datatype=datatype)) == [
        f"values: a {datatype} needs values"
    ]
    assert errors_of(AttributeDef(), attribute(datatype=datatype, values=[])) == [
        f"values: a {datatype} needs values"
    ]


@pytest.mark.parametrize("datatype", ["string", "number", "datetime", "text"])
def test_values_on_a_non_list_datatype_are_refused(datatype):
    data = attribute(datatype=datatype, values=[{"key": "A", "name": "A"}])
    assert errors_of(AttributeDef(), data) == [f"values: a {datatype} attribute takes no values"]


def test_duplicate_value_keys_are_refused():
    data = attribute(
        datatype="singlevaluelist",
        values=[{"key": "A", "name": "A"}, {"key": "A", "name": "Again"}],
    )
    assert errors_of(AttributeDef(), data) == ["values: value keys must be unique"]


def test_informational_attribute_cannot_be_required():
    assert errors_of(AttributeDef(), attribute(variable=False, required=True)) == [
        "required: an informational attribute (variable: false) cannot be required"
    ]


def test_informational_attribute_that_is_not_required_is_accepted():
    loaded = AttributeDef().load(attribute(variable=False, required=False))
    assert loaded["variable"] is False and loaded["required"] is False


@pytest.mark.parametrize("code", ["size", "ITEM-TYPES", "A B", "", "A" * 101])
def test_attribute_code_must_be_upper_case_digits_underscore(code):
    assert errors_of(AttributeDef(), attribute(code=code)) == [
        "code: use upper-case letters, digits and _ only"
    ]


@pytest.mark.parametrize(
    "order,message",
    [
        (0, "order: Must be greater than or equal to 1."),
        (-2, "order: Must be greater than or equal to 1."),
        (1.5, "order: Not a valid integer."),
        ("1", "order: Not a valid integer."),
        (True, "order: Not a valid integer."),
    ],
)
def test_attribute_order_is_a_positive_integer(order, message):
    assert errors_of(AttributeDef(), attribute(order=order)) == [message]


def test_attribute_datatype_must_be_one_of_six():
    assert errors_of(AttributeDef(), attribute(datatype="boolean")) == [
        "datatype: Must be one of: string, number, datetime, text, singlevaluelist, multivaluelist."
    ]


def test_attribute_required_is_required():
    assert errors_of(AttributeDef(), attribute(required=...)) == [
        "required: Missing data for required field."
    ]


# -- flatten -----------------------------------------------------------------------------------
def test_flatten_writes_dotted_paths_and_schema_errors_under_their_parent():
    messages = {
        "services": {0: {"type": ["bad type"], "_schema": ["whole service"]}},
        "_schema": ["whole file"],
    }
    assert flatten(messages) == [
        "services.0.type: bad type",
        "services.0: whole service",
        "file: whole file",
    ]


# -- boundaries --------------------------------------------------------------------------------
SQUARE = [[[-118.3, 34.0], [-118.2, 34.0], [-118.2, 34.1], [-118.3, 34.1], [-118.3, 34.0]]]


def write_geojson(tmp_path: Path, document) -> Path:
    path = tmp_path / "boundary.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def feature(geometry) -> dict:
    return {"type": "Feature", "properties": {"name": "x"}, "geometry": geometry}


def collection(*geometries) -> dict:
    return {"type": "FeatureCollection", "features": [feature(g) for g in geometries]}


@pytest.mark.parametrize(
    "document",
    [
        collection({"type": "Polygon", "coordinates": SQUARE}),
        feature({"type": "Polygon", "coordinates": SQUARE}),
        {"type": "Polygon", "coordinates": SQUARE},
        collection({"type": "MultiPolygon", "coordinates": [SQUARE]}),
    ],
    ids=["feature-collection", "feature", "bare-geometry", "multipolygon"],
)
def test_boundary_is_one_multipolygon(tmp_path, document):
    boundary = read_boundary(write_geojson(tmp_path, document))
    assert isinstance(boundary.geometry, MultiPolygon)
    assert len(boundary.geometry.geoms) == 1
    assert boundary.geometry.bounds == pytest.approx((-118.3, 34.0, -118.2, 34.1))
    assert boundary.notes == []


def test_boundary_features_are_merged(tmp_path):
    west = [[[-118.3, 34.0], [-118.25, 34.0], [-118.25, 34.1], [-118.3, 34.1], [-118.3, 34.0]]]
    east = [[[-118.25, 34.0], [-118.2, 34.0], [-118.2, 34.1], [-118.25, 34.1], [-118.25, 34.0]]]
    far = [[[-117.0, 33.0], [-116.9, 33.0], [-116.9, 33.1], [-117.0, 33.0]]]
    boundary = read_boundary(
        write_geojson(
            tmp_path,
            collection(
                {"type": "Polygon", "coordinates": west},
                {"type": "Polygon", "coordinates": east},
                {"type": "Polygon", "coordinates": far},
            ),
        )
    )
    assert len(boundary.geometry.geoms) == 2  # the touching halves become one polygon
    assert boundary.geometry.area == pytest.approx(0.01 + 0.005)


def test_boundary_keeps_holes(tmp_path):
    hole = [
        [-118.26, 34.04],
        [-118.24, 34.04],
        [-118.24, 34.06],
        [-118.26, 34.06],
        [-118.26, 34.04],
    ]
    boundary = read_boundary(
        write_geojson(tmp_path, collection({"type": "Polygon", "coordinates": [SQUARE[0], hole]}))
    )
    assert not boundary.geometry.contains(Point(-118.25, 34.05))
    assert boundary.geometry.contains(Point(-118.29, 34.05))


def test_bow_tie_boundary_is_repaired_with_a_note(tmp_path):
    bow_tie = [[[-118.3, 34.0], [-118.2, 34.1], [-118.2, 34.0], [-118.3, 34.1], [-118.3, 34.0]]]
    boundary = read_boundary(
        write_geojson(tmp_path, collection({"type": "Polygon", "coordinates": bow_tie}))
    )
    assert boundary.geometry.is_valid
    assert len(boundary.geometry.geoms) == 2
    assert boundary.geometry.area == pytest.approx(0.005)
    assert len(boundary.notes) == 1
    assert boundary.notes[0].startswith("feature 0 was invalid (Self-intersection")
    assert boundary.notes[0].endswith("and has been repaired (make_valid)")


@pytest.mark.parametrize(
    "geometry,kind",
    [
        ({"type": "Point", "coordinates": [-118.25, 34.05]}, "Point"),
        ({"type": "LineString", "coordinates": [[-118.3, 34.0], [-118.2, 34.1]]}, "LineString"),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Polygon", "coordinates": SQUARE}],
            },
            "GeometryCollection",
        ),
    ],
)
def test_non_polygon_boundary_is_refused(tmp_path, geometry, kind):
    path = write_geojson(tmp_path, collection(geometry))
    with pytest.raises(BoundaryError) as exc:
        read_boundary(path)
    assert str(exc.value) == (
        f"{path}: feature 0 is a {kind}; a boundary or area must be a Polygon or MultiPolygon"
    )


def test_empty_feature_collection_is_refused(tmp_path):
    path = write_geojson(tmp_path, {"type": "FeatureCollection", "features": []})
    with pytest.raises(BoundaryError, match="no feature found"):
        read_boundary(path)


def test_feature_without_geometry_is_refused(tmp_path):
    path = write_geojson(
        tmp_path, {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}
    )
    with pytest.raises(BoundaryError, match="feature 0 has no geometry"):
        read_boundary(path)


def test_empty_polygon_is_refused(tmp_path):
    path = write_geojson(tmp_path, collection({"type": "Polygon", "coordinates": []}))
    with pytest.raises(BoundaryError, match="feature 0 is an empty Polygon"):
        read_boundary(path)


def test_missing_and_malformed_files_are_refused(tmp_path):
    with pytest.raises(BoundaryError, match="no such file or folder"):
        read_boundary(tmp_path / "absent.geojson")
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", ', encoding="utf-8")
    with pytest.raises(BoundaryError, match="cannot read JSON"):
        read_boundary(broken)


@pytest.mark.parametrize(
    "document",
    [[], None, {"type": "FeatureCollection", "features": [1]}],
    ids=["array", "null", "feature-not-an-object"],
)
def test_boundary_that_is_not_a_geojson_object_is_refused(tmp_path, document):
    with pytest.raises(BoundaryError):
        read_boundary(write_geojson(tmp_path, document))


@pytest.mark.parametrize(
    "coordinates",
    [
        [
            [
                [400000, 4000000],
                [401000, 4000000],
                [401000, 4001000],
                [400000, 4001000],
                [400000, 4000000],
            ]
        ],
        [[[34.0, -118.3], [34.1, -118.3], [34.1, -118.2], [34.0, -118.2], [34.0, -118.3]]],
    ],
    ids=["projected-metres", "lat-long-swapped"],
)
def test_non_wgs84_coordinates_are_refused(tmp_path, coordinates):
    path = write_geojson(tmp_path, collection({"type": "Polygon", "coordinates": coordinates}))
    with pytest.raises(BoundaryError, match="the coordinates are not longitude/latitude"):
        read_boundary(path)


def test_polygonal_keeps_only_polygons():
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    mixed = GeometryCollection([square, LineString([(2, 2), (3, 3)]), Point(5, 5)])
    result = polygonal(mixed)
    assert isinstance(result, MultiPolygon)
    assert list(result.geoms) == [square]
    assert polygonal(square).geoms[0] == square


# -- location privacy and targets ----------------------------------------------------------------
def test_privacy_and_target_default_to_exact_and_none():
    loaded = ServicesFile().load({"services": [service()]})["services"][0]
    assert loaded["location_privacy"] == "exact" and loaded["grid_metres"] is None
    assert (loaded["target_hours"], loaded["target_business_days"]) == (None, None)


def test_a_grid_and_a_target_load_flat():
    data = {
        "services": [
            service(location_privacy="grid", grid_metres=250, target={"business_days": 5}),
            service(service_code="TREE", location_privacy="hidden", target={"hours": 48}),
        ]
    }
    grid, hidden = ServicesFile().load(data)["services"]
    assert (grid["location_privacy"], grid["grid_metres"]) == ("grid", 250)
    assert (grid["target_hours"], grid["target_business_days"]) == (None, 5)
    assert (hidden["location_privacy"], hidden["target_hours"]) == ("hidden", 48)
    assert "target" not in grid


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"location_privacy": "fuzzy"}, "location_privacy: Must be one of: exact, grid, hidden."),
        ({"location_privacy": "grid"}, "grid_metres: location_privacy grid needs grid_metres"),
        (
            {"location_privacy": "hidden", "grid_metres": 100},
            "grid_metres: grid_metres is only for location_privacy grid",
        ),
        (
            {"location_privacy": "grid", "grid_metres": 5},
            "grid_metres: Must be greater than or equal to 10 and less than or equal to 100000.",
        ),
        (
            {"target": {"hours": 4, "business_days": 1}},
            "target: give one of hours or business_days",
        ),
        ({"target": {}}, "target: give one of hours or business_days"),
        ({"target": {"days": 3}}, "target.days: Unknown field."),
        ({"target": {"hours": 0}}, "target.hours: Must be greater than or equal to 1"),
    ],
)
def test_bad_privacy_or_target_is_named(changes, message):
    errors = errors_of(ServicesFile(), {"services": [service(**changes)]})
    assert any(e.startswith(f"services.0.{message}") for e in errors), errors
