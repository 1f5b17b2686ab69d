"""A schema-driven fuzzer over every operation of ``openapi.yaml`` (schemathesis on the app,
seeded, bounded): inputs the document allows and inputs it does not, in both formats (the
``fmt`` path parameter), with a valid API key sent as a header (a generated ``api_key``
parameter comes first, so POSTs meet the refusals and the acceptances alike).

Every answer: no 5xx; the status, Content-Type, headers and JSON body as ``openapi.yaml``
documents them; every error the spec's errors body (its status as its code) in the format
the URL asked for, XML included (which schemathesis does not read). Each operation runs in
the test's rolled-back transaction, like every API test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as builtin
from schemathesis.specs.openapi import checks as openapi_checks

from tests.helpers import add_request, decode_xml, new_key

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_dict(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
EXAMPLES = 300  # per operation; seeded (derandomize), so every run sends the same


@schemathesis.check
def spec_errors(ctx, response, case) -> bool | None:
    """A 4xx/5xx carries the spec's errors body, in the format the URL asked for."""
    if response.status_code < 400:
        return None
    path = response.request.url.split("?", 1)[0]
    if path.endswith(".xml"):
        assert response.headers.get("content-type") == ["text/xml; charset=utf-8"], (
            response.headers.get("content-type")
        )
        root = ElementTree.fromstring(response.content)
        assert root.tag == "errors" and len(root) >= 1, response.text[:200]
        errors = [{child.tag: child.text for child in error} for error in root]
        assert all(error.tag == "error" for error in root)
        codes = [int(error["code"]) for error in errors]
    else:
        assert response.headers.get("content-type") == ["application/json; charset=utf-8"], (
            response.headers.get("content-type")
        )
        errors = json.loads(response.content)
        assert isinstance(errors, list) and errors, errors
        codes = [error["code"] for error in errors]
        assert all(set(error) == {"code", "description"} for error in errors), errors
    assert codes == [response.status_code] * len(codes), (codes, response.status_code)
    assert all(error["description"] for error in errors), errors
    return True


@schemathesis.check
def one_payload_two_renderings(ctx, response, case) -> bool | None:
    """A GET answered in XML holds what the same GET answers in JSON (which the schema
    checks validate), decoded by the Spark rules."""
    url = response.request.url
    path, _, query = url.partition("?")
    if case.method != "GET" or response.status_code != 200 or not path.endswith(".xml"):
        return None
    client = ctx.internals.transport_kwargs["app"].test_client()
    twin = client.get(
        path.removeprefix("http://localhost")[:-4] + ".json",
        query_string=query,
        headers={
            "X-API-Key": ctx.internals.headers.get("X-API-Key", "") if ctx.internals.headers else ""
        },
    )
    assert twin.status_code == 200, twin.status_code
    _root, decoded = decode_xml(response.content)
    assert decoded == json.loads(twin.data), (decoded, twin.data[:300])
    return True


CHECKS = [
    builtin.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    spec_errors,
    one_payload_two_renderings,
]


@pytest.fixture
def fuzz_key(session) -> str:
    """A key; and requests to be listed (open and closed, with and without an address),
    made an hour ago: a sync list (updated_after) leaves out changes younger than the sync
    lag, so rows made during the run would enter it between a GET in XML and its twin in
    JSON."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    add_request(session, code="GRAFFITI", when=when, description="Tag on the wall\r\nsecond line")
    add_request(
        session,
        code="OTHER",
        when=when,
        status="closed",
        address="200 N Spring St",
        status_notes="done & <closed>",
    )
    add_request(session, code="BULKY-ITEMS", when=when, lat=None, long=None, address="City Hall")
    return new_key(session, "fuzzer")


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, app, connection, fuzz_key):
    # identity: the WSGI transport hands the checks the bytes as sent, and gzip is
    # tests/api/test_compression.py's
    headers = {"X-API-Key": fuzz_key, "Accept-Encoding": "identity"}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
