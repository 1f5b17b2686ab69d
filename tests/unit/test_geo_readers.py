"""geo/readers.py on the real boundary files of /work/shared/data (see SOURCES.md section 2) and on
small files written to tmp_path: formats, reprojection, cleaning, TopoJSON. No database."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from geo.boundaries import Boundary, BoundaryError
from geo.readers import (
    Area,
    Feature,
    GeoReadError,
    clean_polygonal,
    read_areas,
    read_boundary,
    read_features,
    read_topojson,
)
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA
NYBB_ZIP = DATA / "nyc" / "nybb_16a.zip"
NYC_GEOJSON = DATA / "nyc" / "nyc_boroughs_nybb_16a_wgs84.geojson"
LA_COUNCILS = DATA / "la" / "la_neighborhood_councils_2021-01-22.geojson"
LA_COUNTY_V6 = DATA / "la" / "la_county_neighborhoods_v6.geojson"
SF_NEIGHBOURHOODS = DATA / "sf" / "sf_planning_neighborhoods_37.geojson"
US_COUNTIES = DATA / "us" / "us-atlas-3.0.1_counties-10m.topojson.json"
US_STATES = DATA / "us" / "us-atlas-3.0.1_states-10m.topojson.json"

needs_data = pytest.mark.skipif(
    not DATA.is_dir(),
    reason=f"shared data folder {DATA} is missing (the real boundary files these tests read)",
)

EMPIRE_STATE = Point(-73.9857, 40.7484)
LA_CITY_HALL = Point(-118.2428, 34.0537)
CHICAGO_LOOP = Point(-87.6298, 41.8781)
BOROUGHS = {"Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island"}
GEOD = Geod(ellps="WGS84")


def km2(geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 1e6


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def feature(geometry, **properties) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": shapely.geometry.mapping(geometry) if geometry is not None else None,
    }


def by_name(features) -> dict:
    return {f.name: f for f in features}


def write_layer(path: Path, geometries, names, crs, *, layer=None, driver=None) -> Path:
    """A small layer written with pyogrio: one string field "name"."""
    pyogrio.raw.write(
        path,
        np.array(shapely.to_wkb(geometries), dtype=object),
        [np.array(names, dtype=object)],
        ["name"],
        layer=layer,
        driver=driver,
        crs=crs,
        geometry_type="Polygon",
    )
    return path


# -- NYC boroughs: shapefile in EPSG:2263, zipped --------------------------------------------------
@pytest.fixture(scope="module")
def nyc_reference():
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} is missing")
    return by_name(read_features(NYC_GEOJSON, name_field="BoroName"))


@pytest.fixture(scope="module")
def nyc_raw():
    """The shapefile as GDAL has it: EPSG:2263 WKB and the attribute columns."""
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} is missing")
    meta, _, wkb, columns = pyogrio.raw.read(NYBB_ZIP)
    assert meta["crs"] == "EPSG:2263"
    return meta, wkb, columns


def assert_same_boroughs(features, reference):
    boroughs = by_name(features)
    assert set(boroughs) == BOROUGHS
    for name, borough in boroughs.items():
        expected = reference[name].geometry
        assert expected.covers(borough.geometry.representative_point()), name
        assert borough.geometry.area == pytest.approx(expected.area, rel=0.005), name


@needs_data
def test_nyc_shapefile_is_read_from_the_zip_and_reprojected(nyc_reference):
    features = read_features(NYBB_ZIP, name_field="BoroName", id_field="BoroCode")
    assert len(features) == 5
    assert {f.id for f in features} == {"1", "2", "3", "4", "5"}
    assert set(features[0].properties) == {"BoroCode", "BoroName", "Shape_Leng", "Shape_Area"}
    minx, miny, maxx, maxy = shapely.total_bounds([f.geometry for f in features])
    assert -74.3 < minx < maxx < -73.6 and 40.4 < miny < maxy < 41.0  # lon/lat, not US feet
    assert_same_boroughs(features, nyc_reference)


@needs_data
def test_empire_state_building_is_in_manhattan_not_brooklyn():
    areas = {a.name: a for a in read_areas(NYBB_ZIP, name_field="BoroName")}
    assert areas["Manhattan"].geometry.covers(EMPIRE_STATE)
    assert not areas["Brooklyn"].geometry.covers(EMPIRE_STATE)
    assert all(
        isinstance(a, Area) and a.id == a.name and a.geometry.is_valid and not a.notes
        for a in areas.values()
    )


@needs_data
def test_nyc_boundary_is_the_union_of_the_boroughs(nyc_reference):
    boundary = read_boundary(NYBB_ZIP)
    assert isinstance(boundary, Boundary) and isinstance(boundary.geometry, MultiPolygon)
    assert boundary.geometry.is_valid and boundary.notes == []
    total = sum(f.geometry.area for f in nyc_reference.values())
    assert boundary.geometry.area == pytest.approx(total, rel=0.005)
    assert boundary.geometry.covers(EMPIRE_STATE)


@needs_data
def test_unzipped_shapefile_folder_and_shp_file_are_read(tmp_path, nyc_reference):
    with zipfile.ZipFile(NYBB_ZIP) as archive:
        archive.extractall(tmp_path / "nybb")
    assert_same_boroughs(read_features(tmp_path / "nybb", name_field="BoroName"), nyc_reference)
    assert_same_boroughs(
        read_features(tmp_path / "nybb" / "nybb.shp", name_field="BoroName"), nyc_reference
    )


@needs_data
def test_geopackage_in_state_plane_feet_reads_back_the_same(tmp_path, nyc_raw, nyc_reference):
    meta, wkb, columns = nyc_raw
    gpkg = tmp_path / "nyc.gpkg"
    for layer in ("boroughs", "copy"):
        pyogrio.raw.write(
            gpkg,
            wkb,
            columns,
            meta["fields"],
            layer=layer,
            driver="GPKG",
            crs="EPSG:2263",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
        )
    with pytest.raises(GeoReadError) as exc:
        read_features(gpkg)
    assert str(exc.value) == (
        f"{gpkg}: holds 2 layers ('boroughs', 'copy'); pass layer= to pick one"
    )
    with pytest.raises(GeoReadError, match="no layer 'nope'; layers: 'boroughs', 'copy'"):
        read_features(gpkg, layer="nope")
    from_gpkg = read_features(gpkg, layer="boroughs", name_field="BoroName")
    assert_same_boroughs(from_gpkg, nyc_reference)
    from_zip = by_name(read_features(NYBB_ZIP, name_field="BoroName"))
    for borough in from_gpkg:
        assert shapely.equals_exact(borough.geometry, from_zip[borough.name].geometry, 1e-9)


@needs_data
def test_geojson_with_a_legacy_crs_member_is_reprojected(tmp_path, nyc_raw, nyc_reference):
    meta, wkb, columns = nyc_raw
    path = tmp_path / "nyc_2263.geojson"
    pyogrio.raw.write(
        path,
        wkb,
        columns,
        meta["fields"],
        driver="GeoJSON",
        crs="EPSG:2263",
        geometry_type="MultiPolygon",
        promote_to_multi=True,
    )
    assert json.loads(path.read_text())["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::2263"
    assert_same_boroughs(read_features(path, name_field="BoroName"), nyc_reference)


# -- small layers written here ---------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_but_lon_lat_bounds_is_accepted(tmp_path, caplog):
    square = box(-118.3, 34.0, -118.2, 34.1)
    path = write_layer(tmp_path / "nocrs.shp", [square], ["Square"], crs=None)
    assert not (tmp_path / "nocrs.prj").exists()
    (only,) = read_features(path, name_field="name")
    assert only.name == "Square" and only.geometry.equals(square)
    assert "has no CRS; its coordinates fit longitude/latitude: taken as WGS84" in caplog.text


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_and_projected_coordinates_is_refused(tmp_path):
    path = write_layer(
        tmp_path / "nocrs.shp", [box(400000, 4000000, 401000, 4001000)], ["x"], crs=None
    )
    with pytest.raises(GeoReadError) as exc:
        read_features(path)
    assert str(exc.value) == (
        f"{path}: no CRS and the coordinates are not longitude/latitude "
        "(bounds (400000.0, 4000000.0, 401000.0, 4001000.0)); a shapefile "
        "gives its CRS in its .prj file"
    )


def test_projected_layer_with_a_crs_is_reprojected(tmp_path):
    to_utm = Transformer.from_crs(4326, 32611, always_xy=True)
    x, y = to_utm.transform(LA_CITY_HALL.x, LA_CITY_HALL.y)
    path = write_layer(
        tmp_path / "utm.gpkg",
        [box(x - 500, y - 500, x + 500, y + 500)],
        ["City Hall"],
        crs="EPSG:32611",
        driver="GPKG",
    )
    (only,) = read_areas(path, name_field="name")
    assert only.geometry.covers(LA_CITY_HALL)
    assert km2(only.geometry) == pytest.approx(1.0, rel=0.01)


def test_zip_or_folder_with_several_shapefiles_needs_a_layer(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    write_layer(folder / "east.shp", [box(1, 0, 2, 1)], ["east"], crs="EPSG:4326")
    write_layer(folder / "west.shp", [box(-2, 0, -1, 1)], ["west"], crs="EPSG:4326")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in folder.iterdir():
            zipped.write(file, f"inner/{file.name}")
    for path in (folder, archive):
        with pytest.raises(GeoReadError, match=r"holds 2 shapefiles \('east', 'west'\); pass "):
            read_features(path)
        (west,) = read_features(path, layer="west", name_field="name")
        assert west.name == "west" and west.geometry.bounds == (-2, 0, -1, 1)


def test_zip_and_folder_without_a_shapefile_are_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "nothing here")
    with pytest.raises(GeoReadError, match="holds no shapefile .* it holds: readme.txt"):
        read_features(archive)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeoReadError, match="the folder holds no shapefile"):
        read_features(tmp_path / "empty")
    not_a_zip = write_json(tmp_path / "fake.zip", {})
    with pytest.raises(GeoReadError, match="cannot read the zip archive"):
        read_features(not_a_zip)


# -- GeoJSON refusals ------------------------------------------------------------------------------
SQUARE = box(-118.3, 34.0, -118.2, 34.1)


def test_point_feature_is_refused_naming_its_type(tmp_path):
    path = write_json(
        tmp_path / "b.geojson",
        collection(feature(SQUARE, name="Square"), feature(Point(-118.25, 34.05), name="Pin")),
    )
    with pytest.raises(GeoReadError) as exc:
        read_boundary(path)
    assert str(exc.value) == (
        f"{path}: feature 1 is a Point; a boundary or area must be a Polygon or MultiPolygon"
    )
    with pytest.raises(GeoReadError, match="feature 'Pin' is a Point"):
        read_areas(path, name_field="name")
    with pytest.raises(BoundaryError):  # callers of geo.boundaries catch it too
        read_boundary(path)


def test_empty_feature_collection_is_refused(tmp_path):
    path = write_json(tmp_path / "b.geojson", collection())
    assert read_features(path) == []
    with pytest.raises(GeoReadError, match="no feature found"):
        read_boundary(path)
    with pytest.raises(GeoReadError, match="no feature found"):
        read_areas(path, name_field="name")


def test_projected_geojson_without_crs_is_refused(tmp_path):
    path = write_json(
        tmp_path / "utm.geojson",
        collection(feature(box(400000, 4000000, 401000, 4001000), name="x")),
    )
    with pytest.raises(GeoReadError) as exc:
        read_boundary(path)
    message = str(exc.value)
    assert message.startswith(
        f"{path}: no CRS and the coordinates are not longitude/latitude "
        "(bounds (400000.0, 4000000.0, 401000.0, 4001000.0))"
    )
    assert "RFC 7946" in message and '"crs" member' in message


def test_legacy_epsg_crs_member_is_honoured_and_unknown_ones_refused(tmp_path):
    to_utm = Transformer.from_crs(4326, 32611, always_xy=True)
    x, y = to_utm.transform(LA_CITY_HALL.x, LA_CITY_HALL.y)
    document = collection(feature(box(x - 500, y - 500, x + 500, y + 500), name="Hall"))
    document["crs"] = {"type": "EPSG", "properties": {"code": 32611}}
    assert read_boundary(write_json(tmp_path / "a.geojson", document)).geometry.covers(LA_CITY_HALL)
    document["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::99999"}}
    with pytest.raises(GeoReadError, match="unknown CRS 'urn:ogc:def:crs:EPSG::99999'"):
        read_boundary(write_json(tmp_path / "b.geojson", document))
    document["crs"] = {"type": "link", "properties": {"href": "http://example.org/crs"}}
    with pytest.raises(GeoReadError, match='unsupported "crs" member'):
        read_boundary(write_json(tmp_path / "c.geojson", document))


def test_z_coordinates_are_dropped(tmp_path):
    square_z = Polygon([(x, y, 12.5) for x, y in SQUARE.exterior.coords])
    (only,) = read_features(write_json(tmp_path / "z.geojson", collection(feature(square_z))))
    assert not shapely.has_z(only.geometry) and only.geometry.equals(SQUARE)


@pytest.mark.parametrize(
    "content,message",
    [
        ("[]", "not a GeoJSON or TopoJSON object (the file holds a JSON list)"),
        ("null", "the file holds a JSON NoneType"),
        ('{"type": "FeatureCollection", ', "cannot read JSON"),
        ('{"type": "FeatureCollection", "features": [1]}', "feature 0 is not a JSON object"),
        ('{"type": "Bogus"}', "not GeoJSON (type 'Bogus'"),
        ('{"type": "Polygon", "coordinates": [[1, 2]]}', "feature 0 has an unreadable geometry"),
    ],
    ids=["array", "null", "broken", "feature-not-object", "bad-type", "bad-coordinates"],
)
def test_malformed_geojson_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GeoReadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_features(path)


def test_unknown_format_and_missing_file_are_refused(tmp_path):
    kml = tmp_path / "b.kml"
    kml.write_text("<kml/>", encoding="utf-8")
    with pytest.raises(GeoReadError) as exc:
        read_features(kml)
    assert "unknown format '.kml'; supported: .geojson .json .shp .zip .gpkg" in str(exc.value)
    with pytest.raises(GeoReadError, match="no such file or folder"):
        read_features(tmp_path / "absent.geojson")
    geojson = write_json(tmp_path / "b.geojson", collection(feature(SQUARE)))
    with pytest.raises(GeoReadError, match="a GeoJSON file has a single layer"):
        read_features(geojson, layer="x")


def test_missing_name_field_lists_the_fields(tmp_path):
    path = write_json(
        tmp_path / "b.geojson", collection(feature(SQUARE, label="A", meta={"code": 1}))
    )
    with pytest.raises(GeoReadError) as exc:
        read_areas(path, name_field="name")
    assert str(exc.value) == f"{path}: no field 'name'; the fields are: label, meta, meta.code"


def test_missing_names_ids_and_duplicate_ids_are_refused(tmp_path):
    blank = write_json(
        tmp_path / "a.geojson",
        collection(feature(SQUARE, name="A"), feature(SQUARE, name=" "), feature(SQUARE, name="B")),
    )
    with pytest.raises(GeoReadError, match=r"feature 1 has no name \(field 'name'\)$"):
        read_areas(blank, name_field="name")
    nameless = write_json(
        tmp_path / "b.geojson",
        collection(
            feature(SQUARE), feature(SQUARE, x=None), feature(SQUARE, x="n"), feature(SQUARE)
        ),
    )
    with pytest.raises(GeoReadError, match=r"3 features \(0, 1, 3\) have no name \(field 'x'\)"):
        read_areas(nameless, name_field="x")
    path = write_json(
        tmp_path / "c.geojson",
        collection(
            feature(SQUARE, name="A", code="1"),
            feature(SQUARE, name="B", code=2.0),
            feature(SQUARE, name="A", code="3"),
            feature(SQUARE, name="C", code="1"),
            feature(SQUARE, name="D", code=2),
        ),
    )
    with pytest.raises(GeoReadError) as exc:
        read_areas(path, name_field="name")
    assert str(exc.value) == (
        f"{path}: duplicate ids from the names (field 'name'): 'A'; give "
        "an id_field with unique values"
    )
    with pytest.raises(GeoReadError) as exc:
        read_areas(path, name_field="name", id_field="code")
    assert str(exc.value) == f"{path}: duplicate ids from field 'code': '1', '2'"
    missing = write_json(
        tmp_path / "d.geojson",
        collection(feature(SQUARE, name="A", code="1"), feature(SQUARE, name="B")),
    )
    with pytest.raises(GeoReadError, match=r"feature 1 has no id \(field 'code'\)$"):
        read_areas(missing, name_field="name", id_field="code")
    unique = write_json(
        tmp_path / "e.geojson",
        collection(feature(SQUARE, name="A", code=1), feature(SQUARE, name="A", code=2.0)),
    )
    assert [(a.id, a.name) for a in read_areas(unique, name_field="name", id_field="code")] == [
        ("1", "A"),
        ("2", "A"),
    ]


def test_id_field_id_falls_back_to_the_feature_id_member(tmp_path):
    document = collection(feature(SQUARE, name="A"), feature(SQUARE, name="B"))
    document["features"][0]["id"] = 7
    document["features"][1]["id"] = "b"
    path = write_json(tmp_path / "b.geojson", document)
    assert [f.id for f in read_features(path)] == ["7", "b"]
    assert [(a.id, a.name) for a in read_areas(path, name_field="name", id_field="id")] == [
        ("7", "A"),
        ("b", "B"),
    ]


# -- clean_polygonal -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "geometry,message",
    [
        (None, "feature 'Elm' has no geometry"),
        (
            Point(0, 0),
            "feature 'Elm' is a Point; a boundary or area must be a Polygon or MultiPolygon",
        ),
        (LineString([(0, 0), (1, 1)]), "feature 'Elm' is a LineString; a boundary or area must be"),
        (
            GeometryCollection([box(0, 0, 1, 1)]),
            "feature 'Elm' is a GeometryCollection; a boundary or area",
        ),
        (Polygon(), "feature 'Elm' is an empty Polygon"),
        (MultiPolygon(), "feature 'Elm' is an empty MultiPolygon"),
        (
            Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]),
            "feature 'Elm' is invalid (Self-intersection[1 1]) and has no area left after repair "
            "(make_valid)",
        ),
    ],
    ids=["none", "point", "line", "collection", "empty", "empty-multi", "collapsed"],
)
def test_clean_polygonal_refuses(geometry, message):
    with pytest.raises(GeoReadError) as exc:
        clean_polygonal(geometry, "Elm")
    assert str(exc.value).startswith(message)


def test_clean_polygonal_keeps_valid_polygons_as_multipolygons():
    result, notes = clean_polygonal(box(0, 0, 1, 1), 3)
    assert isinstance(result, MultiPolygon) and len(result.geoms) == 1
    assert result.geoms[0].equals(box(0, 0, 1, 1))
    assert notes == []


def test_clean_polygonal_repairs_a_bow_tie_with_a_note():
    bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    result, notes = clean_polygonal(bow_tie, "Bow")
    assert result.is_valid and len(result.geoms) == 2 and result.area == pytest.approx(2.0)
    assert notes == [
        "feature 'Bow' was invalid (Self-intersection[1 1]) and has been repaired (make_valid)"
    ]
    _, notes = clean_polygonal(bow_tie, 4)
    assert notes[0].startswith("feature 4 was invalid")


def test_clean_polygonal_repairs_a_multipolygon_with_a_part_collapsed_to_a_point():
    """GEOS's make_valid refuses this whole ("Overlay input is mixed-dimension"); quantized
    TopoJSON (us-atlas) produces it: repaired part by part."""
    collapsed = Polygon([(5, 5)] * 4)
    result, notes = clean_polygonal(MultiPolygon([box(0, 0, 1, 1), collapsed]), "Arapahoe")
    assert result.equals(MultiPolygon([box(0, 0, 1, 1)]))
    assert notes == [
        "feature 'Arapahoe' was invalid (Too few points in geometry component[5 5]) "
        "and has been repaired (make_valid)"
    ]


# -- real boundary files: LA, SF -------------------------------------------------------------------
@needs_data
def test_la_neighbourhood_councils():
    areas = read_areas(LA_COUNCILS, name_field="name", id_field="nc_id")
    assert len(areas) == 99 and len({a.id for a in areas}) == 99
    assert all(a.geometry.is_valid for a in areas)
    notes = [(a.name, note) for a in areas for note in a.notes]
    assert len(notes) == 1
    name, note = notes[0]
    assert name == "HARBOR GATEWAY SOUTH NC"
    assert note.startswith("feature 'HARBOR GATEWAY SOUTH NC' was invalid (Ring Self-intersection[")
    assert note.endswith(") and has been repaired (make_valid)")
    assert any(a.geometry.covers(LA_CITY_HALL) for a in areas)


@needs_data
def test_la_county_neighbourhoods_with_a_nested_name():
    areas = read_areas(LA_COUNTY_V6, name_field="metadata.name")
    assert len(areas) == 318
    assert [a.name for a in areas] == [a.name for a in read_areas(LA_COUNTY_V6, name_field="name")]
    repaired = sorted(a.name for a in areas if a.notes)
    assert repaired == [
        "Northeast Antelope Valley",
        "Placentia",
        "Ridge Route",
        "Unincorporated Santa Susana Mountains",
    ]
    features = read_features(LA_COUNTY_V6, name_field="metadata.name", id_field="metadata.slug")
    assert features[0].properties["metadata"]["type"] in {
        "standalone-city",
        "segment-of-a-city",
        "unincorporated-area",
    }
    assert features[0].id == "acton"


@needs_data
def test_sf_planning_neighbourhoods():
    areas = read_areas(SF_NEIGHBOURHOODS, name_field="neighborho")
    assert len(areas) == 37
    assert sorted(a.name for a in areas if a.notes) == [
        "Downtown/Civic Center",
        "Marina",
        "North Beach",
    ]
    boundary = read_boundary(SF_NEIGHBOURHOODS, name_field="neighborho")
    assert len(boundary.notes) == 3 and boundary.geometry.is_valid


# -- TopoJSON --------------------------------------------------------------------------------------
# Two squares A = [0,4]x[0,4] (with a hole [1,2]x[1,2]) and B = [-4,0]x[0,4] sharing the edge x=0
# (arc 0, B walks it reversed: ~0), an island filling A's hole (arc 3 reversed), a point, a null.
# Quantized: x' = 0.5 x + 10, y' = 0.25 y + 20; arcs delta-encoded.
TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [10, 20]},
    "arcs": [
        [[0, 0], [0, 4]],
        [[0, 4], [4, 0], [0, -4], [-4, 0]],
        [[0, 0], [-4, 0], [0, 4], [4, 0]],
        [[1, 1], [1, 0], [0, 1], [-1, 0], [0, -1]],
    ],
    "objects": {
        "shapes": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0, 1], [3]], "id": "A", "properties": {"name": "A"}},
                {"type": "Polygon", "arcs": [[-1, 2]], "id": "B", "properties": {"name": "B"}},
                {"type": "MultiPolygon", "arcs": [[[-4]]], "id": "C", "properties": {"name": "C"}},
                {"type": "Point", "coordinates": [2, 2], "id": "P"},
                {"type": None, "id": "N"},
            ],
        },
        "other": {"type": "GeometryCollection", "geometries": []},
    },
}


def test_topojson_decoding(tmp_path):
    path = write_json(tmp_path / "shapes.topojson.json", TOPOLOGY)
    features = {f.id: f for f in read_topojson(path, "shapes", name_field="name")}
    a, b, c = features["A"].geometry, features["B"].geometry, features["C"].geometry
    assert a.equals(
        Polygon(
            [(10, 20), (10, 21), (12, 21), (12, 20)],
            [[(10.5, 20.25), (11, 20.25), (11, 20.5), (10.5, 20.5)]],
        )
    )
    assert b.equals(box(8, 20, 10, 21)) and b.is_valid
    assert c.equals(MultiPolygon([box(10.5, 20.25, 11, 20.5)]))
    assert a.area == pytest.approx(2 - 0.125) and a.touches(b)
    assert features["P"].geometry.equals(Point(11, 20.5)) and features["P"].name is None
    assert features["N"].geometry is None
    assert features["A"].name == "A" and features["A"].properties == {"name": "A"}
    merged = shapely.union_all([a, b, c])
    assert merged.area == pytest.approx(4.0) and shapely.get_num_interior_rings(merged) == 0


def test_unquantized_topojson_and_object_choice(tmp_path):
    topology = {
        "type": "Topology",
        "arcs": [[[0, 0], [1, 0], [1, 1]], [[1, 1], [0, 1], [0, 0]]],
        "objects": {
            "one": {"type": "Polygon", "arcs": [[0, 1]], "id": 5},
            "two": {"type": "GeometryCollection", "geometries": []},
        },
    }
    path = write_json(tmp_path / "t.json", topology)
    with pytest.raises(GeoReadError, match=r"holds 2 TopoJSON objects \('one', 'two'\)"):
        read_features(path)
    with pytest.raises(GeoReadError, match="no layer 'three'; TopoJSON objects: 'one', 'two'"):
        read_topojson(path, "three")
    (only,) = read_features(path, layer="one")
    assert only.id == "5" and only.geometry.equals(box(0, 0, 1, 1))


@pytest.fixture(scope="module")
def counties() -> dict[str, Feature]:
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} is missing")
    return {f.id: f for f in read_topojson(US_COUNTIES, "counties", name_field="name")}


@needs_data
def test_us_counties_ids_and_names(counties):
    assert len(counties) == 3231
    assert all(len(fid) == 5 and fid.isdigit() for fid in counties)
    assert counties["06037"].name == "Los Angeles"
    assert counties["17031"].name == "Cook"
    assert counties["06037"].properties == {"name": "Los Angeles"}


@needs_data
def test_us_counties_cover_known_places_with_plausible_areas(counties):
    los_angeles, _ = clean_polygonal(counties["06037"].geometry, "Los Angeles")
    cook, _ = clean_polygonal(counties["17031"].geometry, "Cook")
    assert los_angeles.covers(LA_CITY_HALL) and not los_angeles.covers(CHICAGO_LOOP)
    assert cook.covers(CHICAGO_LOOP) and not cook.covers(LA_CITY_HALL)
    assert 10_000 < km2(los_angeles) < 11_000  # 10,510 km2 of land, with Catalina & San Clemente
    assert 2_300 < km2(cook) < 2_600  # 2,448 km2 of land (the lake is not in)


@needs_data
def test_us_counties_are_valid_or_repairable_and_tile_the_nation(counties):
    cleaned, notes, refused = {}, [], []
    for fid, county in counties.items():
        try:
            cleaned[fid], county_notes = clean_polygonal(county.geometry, county.name)
        except GeoReadError as exc:
            refused.append((fid, str(exc)))
            continue
        notes.extend(county_notes)
        if county_notes:  # a repair changes no county's area by more than 0.1 %
            assert km2(cleaned[fid]) == pytest.approx(km2(county.geometry), rel=1e-3)
    # Falls Church (VA, 5 km2) is collapsed in the 10m atlas itself: arcs 3133 + 3134 go A->B->A
    assert refused == [
        (
            "51610",
            "feature 'Falls Church' is invalid (Too few points in geometry "
            "component[-77.1719083665837 38.8929905907959]) and has no area "
            "left after repair (make_valid)",
        )
    ]
    assert len(notes) < 50
    (nation,) = read_topojson(US_COUNTIES, "nation")
    total = sum(km2(g) for g in cleaned.values())
    assert total == pytest.approx(km2(nation.geometry), rel=1e-4)
    assert 9.2e6 < total < 9.5e6  # the 50 states, DC and Puerto Rico, land and inland water
    california = {s.id: s for s in read_topojson(US_STATES, "states")}["06"]
    assert sum(km2(g) for fid, g in cleaned.items() if fid.startswith("06")) == pytest.approx(
        km2(california.geometry), rel=1e-4
    )


@needs_data
def test_us_counties_as_areas_refuse_the_collapsed_county():
    with pytest.raises(GeoReadError, match="feature 'Falls Church' is invalid"):
        read_areas(US_COUNTIES, layer="counties", name_field="name", id_field="id")
