"""One payload, two renderings."""

from __future__ import annotations

import json

from open311.formats import Format, render, singular, to_json, to_xml
from tests.helpers import decode_xml

PAYLOAD = [
    {
        "service_code": "A&B",
        "metadata": True,
        "description": None,
        "lat": 34.5,
        "order": 3,
        "values": [{"key": "K", "name": "<Name>"}],
        "keywords": "a, b",
        "attributes": [],
    }
]


def test_xml_follows_the_spark_convention():
    xml = to_xml(PAYLOAD, "services")
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?><services><service>')
    assert "<service_code>A&amp;B</service_code>" in xml
    assert "<metadata>true</metadata>" in xml
    assert "<description/>" in xml
    assert "<values><value><key>K</key><name>&lt;Name&gt;</name></value></values>" in xml
    assert "<attributes/>" in xml


def test_xml_and_json_carry_the_same_payload():
    root, decoded = decode_xml(to_xml(PAYLOAD, "services").encode())
    assert root == "services"
    expected = json.loads(to_json(PAYLOAD))
    # XML carries no types for these keys: compare their text
    decoded[0]["lat"] = float(decoded[0]["lat"])
    decoded[0]["order"] = int(decoded[0]["order"])
    assert decoded == expected


def test_empty_list_root():
    assert to_xml([], "service_requests").endswith("<service_requests/>")
    assert to_json([]) == "[]"


def test_singular_names():
    assert singular("service_requests") == "request"
    assert singular("service_request_updates") == "request_update"
    assert singular("errors") == "error"
    assert singular("notes") == "note"


def test_json_keeps_unicode_and_key_order():
    assert to_json({"b": "Gießen", "a": 1}) == '{"b":"Gießen","a":1}'


def test_render_sets_content_types():
    from flask import Flask

    with Flask(__name__).app_context():
        assert render([], "services", Format.JSON).content_type == "application/json; charset=utf-8"
        response = render([], "services", Format.XML, status=404)
        assert response.content_type == "text/xml; charset=utf-8"
        assert response.status_code == 404


def test_format_from_path():
    assert Format.from_path("/open311/v2/services.xml") is Format.XML
    assert Format.from_path("/open311/v2/services.XML") is Format.XML
    assert Format.from_path("/open311/v2/services.json") is Format.JSON
    assert Format.from_path("/open311/v2/services.html") is Format.JSON
