"""Errors: always the spec's errors body, in the URL's format, with the right status."""

from __future__ import annotations

import json
import logging

import pytest

from open311 import create_app
from open311.db import Database
from tests.helpers import CONTENT_TYPES, Api, decode_xml, error_text


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/services.html",
        "/open311/v2/services.JSON5",
        "/open311/v2/services",
        "/open311/v2/requests.csv",
        "/open311/v2/nothing.json",
        "/open311/v3/services.json",
        "/",
    ],
)
def test_unknown_resource_or_suffix_is_404_in_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == CONTENT_TYPES["json"]
    body = json.loads(response.data)
    assert body[0]["code"] == 404 and path in body[0]["description"]


def test_unknown_xml_resource_is_404_in_xml(client):
    response = client.get("/open311/v2/nothing.xml")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == CONTENT_TYPES["xml"]
    root, body = decode_xml(response.data)
    assert root == "errors" and body[0]["code"] == 404


@pytest.mark.parametrize(
    "method,resource,allowed",
    [
        ("DELETE", "requests", {"GET", "POST"}),
        ("PUT", "services", {"GET"}),
        ("POST", "services", {"GET"}),
        ("PATCH", "requests/1", {"GET"}),
        ("POST", "discovery", {"GET"}),
    ],
)
def test_wrong_method_is_405_with_allow(client, fmt, method, resource, allowed):
    response = client.open(f"/open311/v2/{resource}.{fmt}", method=method)
    api = Api(client, fmt)
    result = api._result(response, None)
    assert result.status == 405
    assert method in error_text(result)
    assert allowed <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_unexpected_failure_is_a_generic_500(fmt, engine, caplog):
    app = create_app({"DATABASE_URL": None, "TESTING": False})

    def broken_session():
        raise RuntimeError("connection to secret-host:5432 refused, password=hunter2")

    Database.set_session_factory(app, broken_session)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="open311"):
        result = Api(client, fmt).get("services")
    assert result.status == 500
    assert result.body == [{"code": 500, "description": "internal server error"}]
    assert b"hunter2" not in result.raw and b"Traceback" not in result.raw
    assert "secret-host" in caplog.text  # the detail goes to the log only


def test_bad_query_parameter_is_400_never_422(api):
    result = api.get("requests", {"start_date": "not a date"})
    assert result.status == 400
    assert "start_date" in error_text(result)


def test_error_body_code_matches_status(api):
    result = api.get("services/NOPE")
    assert result.status == 404
    assert [e["code"] for e in result.body] == [404]
