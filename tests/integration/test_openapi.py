"""The committed openapi.yaml is what the code generates (`make openapi` rewrites it)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_yaml_is_current(app):
    generated = app.extensions["open311_api"].spec.to_dict()
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert committed == generated, "openapi.yaml is stale: run `make openapi`"


def test_openapi_documents_every_resource(app):
    paths = app.extensions["open311_api"].spec.to_dict()["paths"]
    for path in [
        "/open311/v2/discovery.{fmt}",
        "/open311/discovery.{fmt}",
        "/open311/v2/services.{fmt}",
        "/open311/v2/services/{service_code}.{fmt}",
        "/open311/v2/service/{service_code}.{fmt}",
        "/open311/v2/requests.{fmt}",
        "/open311/v2/requests/{service_request_id}.{fmt}",
        "/open311/v2/tokens/{token}.{fmt}",
    ]:
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/open311/v2/requests.{fmt}"])
    assert "422" not in str(paths)


def test_every_answer_in_both_formats_is_documented(app):
    """Each response of a resource with a format suffix, errors included, in JSON and in
    XML as the server sends it (text/xml; charset=utf-8)."""
    spec = app.extensions["open311_api"].spec.to_dict()
    seen = 0
    for path, item in spec["paths"].items():
        if ".{fmt}" not in path:
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].split("/")[-1]]
                if "content" in response:
                    assert set(response["content"]) == {
                        "application/json",
                        "text/xml; charset=utf-8",
                    }, (path, method, status)
                    seen += 1
    assert seen > 40


def test_the_extensions_fields_are_documented(app):
    schemas = app.extensions["open311_api"].spec.to_dict()["components"]["schemas"]
    request = schemas["ServiceRequest"]
    assert {"extended_attributes", "notes", "attributes"} <= set(request["properties"])
    assert not {"extended_attributes", "notes", "attributes"} & set(request["required"])
    assert "extended_attributes" in schemas["PostResponse"]["properties"]
    assert "jurisdiction_id" in schemas["Service"]["properties"]
    assert "default_jurisdiction_id" in schemas["Endpoint"]["properties"]
    body = app.extensions["open311_api"].spec.to_dict()["paths"]["/open311/v2/requests.{fmt}"][
        "post"
    ]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "multipart/form-data"} <= set(body)
