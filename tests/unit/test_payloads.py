"""The GET requests item: its fields, in the spec's order, read from the query's columns by
name; the struct renders as the dict would, in both formats."""

from __future__ import annotations

import orjson
import pytest

from open311.formats import json_bytes, to_xml
from open311.operations.payloads import REQUEST_FIELDS, RequestItem, request_items, request_payload
from open311.repository.driver import Rows
from open311.repository.request_search import PUBLIC_COLUMNS

WIDTH = len(REQUEST_FIELDS)
NAMES = (*REQUEST_FIELDS, "pk", "requested", "updated")


def rows(*values: tuple, names: tuple[str, ...] = NAMES) -> Rows:
    return Rows(list(values), names)


def test_the_query_labels_its_columns_as_the_payload_names_its_fields():
    assert WIDTH == 17
    assert tuple(c.key for c in PUBLIC_COLUMNS) == REQUEST_FIELDS


ROW = tuple(f"value {i}" for i in range(WIDTH)) + ("pk", "requested", "updated")


def test_request_payload_maps_each_column_to_its_field():
    item = request_payload(rows(ROW).named()[0])
    assert list(item) == list(REQUEST_FIELDS)
    assert list(item.values()) == [f"value {i}" for i in range(WIDTH)]


def test_request_items_map_each_column_to_its_field_and_read_like_a_dict():
    [item] = request_items(rows(ROW))
    assert isinstance(item, RequestItem)
    assert [item[name] for name in REQUEST_FIELDS] == [f"value {i}" for i in range(WIDTH)]
    assert item["media_url"] == item.media_url == "value 16"
    with pytest.raises(KeyError):
        item["extended_attributes"]


def test_request_items_read_columns_by_name_in_any_order():
    """A statement that selects other columns first, or the fields in another order, still
    fills each field from its own column."""
    names = ("extra", *reversed(REQUEST_FIELDS))
    row = ("x", *(f"value {i}" for i in reversed(range(WIDTH))))
    [item] = request_items(rows(row, names=names))
    assert [item[name] for name in REQUEST_FIELDS] == [f"value {i}" for i in range(WIDTH)]


ODD = (
    "7",
    "open",
    None,
    "Graffiti «Süd»",
    "GRAFFITI",
    'He said "hi" & <left>\n\ttab',
    None,
    "",
    "2026-01-02T03:04:05-08:00",
    "2026-01-02T03:04:05-08:00",
    None,
    "200 N Spring St",
    None,
    "90012",
    34.0537,
    -118.2428000001,
    None,
)


def test_a_struct_renders_exactly_as_its_dict_in_json():
    structs = request_items(rows(ODD + ("pk", "r", "u"), ROW))
    dicts = [request_payload(row) for row in rows(ODD + ("pk", "r", "u"), ROW).named()]
    assert json_bytes(structs) == orjson.dumps(dicts)
    assert orjson.loads(json_bytes(structs))[0]["description"] == ODD[5]


def test_a_struct_renders_exactly_as_its_dict_in_xml():
    structs = request_items(rows(ODD + ("pk", "r", "u"), ROW))
    dicts = [request_payload(row) for row in rows(ODD + ("pk", "r", "u"), ROW).named()]
    assert to_xml(structs, "service_requests") == to_xml(dicts, "service_requests")
    xml = to_xml(structs, "service_requests")
    assert '<description>He said "hi" &amp; &lt;left&gt;\n\ttab</description>' in xml
    assert "<status_notes/><service_name>Graffiti «Süd»</service_name>" in xml
    assert "<lat>34.0537</lat><long>-118.2428000001</long><media_url/></request>" in xml
