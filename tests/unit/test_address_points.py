"""Reading address points from CSV and GeoJSON (geo.address_points)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.address_points import AddressFileError, read_address_points

LA_ADDRESSES = (
    Path(__file__).resolve().parents[2] / "jurisdictions" / "lacity.org" / "addresses.csv"
)
CSV_FIELDS = {
    "address_field": "address",
    "lat_field": "lat",
    "long_field": "lon",
    "zipcode_field": "zipcode",
}


def test_the_la_file_loads_with_normalised_keys():
    loaded = read_address_points(LA_ADDRESSES, **CSV_FIELDS)
    assert len(loaded.rows) == 20_798
    assert loaded.skipped_count == 67  # intersections written in both street orders
    assert all("duplicate address id" in line for line in loaded.skipped)
    row = next(r for r in loaded.rows if r.address == "1353 W BELLEVUE AVE, 90026")
    assert (
        row.address_id,
        row.key,
        row.house_number,
        row.street_name,
        row.predirection,
        row.street_type,
        row.zipcode,
    ) == (
        "1353 W BELLEVUE AVE 90026",
        "1353 W BELLEVUE AVE",
        "1353",
        "BELLEVUE",
        "W",
        "AVE",
        "90026",
    )
    assert (row.long, row.lat) == (-118.255594359, 34.0682207715)  # x is the longitude


def test_the_digest_changes_with_the_file_and_the_mapping(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("address,lat,lon\n1 Main St,34.05,-118.25\n", encoding="utf-8")
    first = read_address_points(
        path, address_field="address", lat_field="lat", long_field="lon"
    ).digest
    again = read_address_points(
        path, address_field="address", lat_field="lat", long_field="lon"
    ).digest
    other_mapping = read_address_points(
        path, address_field="address", lat_field="lat", long_field="lon", zipcode_field="address"
    ).digest
    path.write_text("address,lat,lon\n2 Main St,34.05,-118.25\n", encoding="utf-8")
    changed = read_address_points(
        path, address_field="address", lat_field="lat", long_field="lon"
    ).digest
    assert first == again and len({first, other_mapping, changed}) == 3


def test_geojson_points_with_an_id_field(tmp_path):
    path = tmp_path / "points.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-118.2428, 34.0537]},
                        "properties": {
                            "addr": "200 N Spring Street, Los Angeles, CA 90012",
                            "apn": "5161",
                        },
                    },
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                        "properties": {"addr": "1 Line Rd", "apn": "1"},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    loaded = read_address_points(path, address_field="addr", id_field="apn")
    assert [(r.address_id, r.key, r.zipcode, r.long, r.lat) for r in loaded.rows] == [
        ("5161", "200 N SPRING ST", "90012", -118.2428, 34.0537)
    ]
    assert loaded.skipped_count == 1 and "no valid lat/long" in loaded.skipped[0]


def test_rows_without_address_or_position_are_skipped(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "address,lat,lon\n"
        "1 Main St,34.05,-118.25\n"
        ",34.05,-118.25\n"
        "2 Main St,,\n"
        "3 Main St,95,-118.25\n"
        "4 Main St,nan,-118.25\n",
        encoding="utf-8",
    )
    loaded = read_address_points(path, address_field="address", lat_field="lat", long_field="lon")
    assert [r.key for r in loaded.rows] == ["1 MAIN ST"]
    assert loaded.skipped_count == 4
    assert loaded.skipped == [
        "a.csv row 3: no address",
        "a.csv row 4: no valid lat/long",
        "a.csv row 5: no valid lat/long",
        "a.csv row 6: no valid lat/long",
    ]


@pytest.mark.parametrize(
    "name,content,fields,message",
    [
        ("a.csv", "addr,lat,lon\n1 Main St,34,-118\n", CSV_FIELDS, "no column 'address'"),
        ("a.csv", "address,lat,lon,zipcode\n", CSV_FIELDS, "no usable address point"),
        (
            "a.csv",
            "address\n1 Main St\n",
            {"address_field": "address"},
            "a CSV needs lat_field and long_field",
        ),
        ("a.txt", "1 Main St", CSV_FIELDS, "read from .csv or .geojson"),
        ("a.geojson", "[]", {"address_field": "address"}, "not a GeoJSON FeatureCollection"),
        ("a.geojson", "{nope", {"address_field": "address"}, "cannot read JSON"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, name, content, fields, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AddressFileError, match=message):
        read_address_points(path, **fields)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(AddressFileError, match="no such file"):
        read_address_points(tmp_path / "none.csv", **CSV_FIELDS)
