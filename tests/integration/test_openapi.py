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
    for path in ["/open311/v2/discovery.{fmt}", "/open311/discovery.{fmt}",
                 "/open311/v2/services.{fmt}", "/open311/v2/services/{service_code}.{fmt}",
                 "/open311/v2/service/{service_code}.{fmt}", "/open311/v2/requests.{fmt}",
                 "/open311/v2/requests/{service_request_id}.{fmt}",
                 "/open311/v2/tokens/{token}.{fmt}"]:
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/open311/v2/requests.{fmt}"])
    assert "422" not in str(paths)
