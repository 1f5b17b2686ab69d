"""The GET requests item: its fields, in the spec's order, from the query's first columns."""

from __future__ import annotations

from open311.operations.payloads import REQUEST_FIELDS, request_payload
from open311.repository.requests import PAYLOAD_WIDTH, PUBLIC_COLUMNS


def test_payload_fields_follow_the_query_columns_in_order():
    assert PAYLOAD_WIDTH == len(REQUEST_FIELDS) == 17
    assert tuple(c.key for c in PUBLIC_COLUMNS[:PAYLOAD_WIDTH]) == REQUEST_FIELDS


def test_request_payload_maps_each_column_to_its_field():
    row = tuple(f"value {i}" for i in range(PAYLOAD_WIDTH)) + ("pk", "requested", "updated")
    item = request_payload(row)
    assert list(item) == list(REQUEST_FIELDS)
    assert list(item.values()) == [f"value {i}" for i in range(PAYLOAD_WIDTH)]
