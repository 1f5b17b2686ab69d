"""CORS for browser apps and HTTP caching (ETag, Last-Modified, 304): an integrator extension
(issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or
403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from open311 import create_app
from open311.db import Database
from tests.api.integrators import (
    NOW,
    OTHER,
    UTC,
    post_update,
)
from tests.helpers import (
    add_request,
)


def test_cors_on_get(api, five):
    response = api.client.get(
        api.url("requests"),
        query_string={"page_size": 2},
        headers={"Origin": "https://app.example"},
    )
    assert response.status_code == 200
    # any origin: flask-cors echoes the Origin, so caches must key on it
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    if response.headers["Access-Control-Allow-Origin"] != "*":
        assert "origin" in response.headers.get("Vary", "").lower()
    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"link", "etag", "last-modified"} <= exposed


def test_cors_preflight_allows_get_not_post(api):
    get = api.client.options(
        api.url("requests"),
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert get.status_code in (200, 204)
    assert get.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    assert "GET" in get.headers["Access-Control-Allow-Methods"]
    assert "POST" not in get.headers["Access-Control-Allow-Methods"]
    assert "if-none-match" in get.headers["Access-Control-Allow-Headers"].lower()
    post = api.client.options(
        api.url("requests"),
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert "POST" not in post.headers.get("Access-Control-Allow-Methods", "")


def test_post_answer_is_not_shared_cross_origin(api, session, key):
    response = api.client.post(
        api.url("requests"),
        data={**OTHER, "api_key": key},
        headers={"Origin": "https://app.example"},
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.fixture(scope="module")
def restricted_app(engine):
    return create_app({"DATABASE_URL": None, "TESTING": True, "CORS_ORIGINS": "https://ok.example"})


@pytest.fixture
def restricted_client(restricted_app, connection):
    Database.bind(restricted_app, connection)
    yield restricted_app.test_client()
    Database.bind(restricted_app, None)


def test_cors_origins_can_be_restricted(restricted_client, fmt):
    url = f"/open311/v2/requests.{fmt}"
    ok = restricted_client.get(url, headers={"Origin": "https://ok.example"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    other = restricted_client.get(url, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200  # the browser, not the server, withholds the body
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = restricted_client.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def _conditional(api, resource, params=None, **headers):
    """A conditional GET (headers as keywords: If_None_Match=...), undecoded: a 304 has no
    body to decode."""
    return api.client.get(
        api.url(resource),
        query_string=params,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


def test_etag_and_last_modified_on_one_request(api, session, backoffice, reported):
    resource = f"requests/{reported.id}"
    first = api.get(resource, schema="requests")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    modified = email.utils.parsedate_to_datetime(first.headers["Last-Modified"])
    assert modified == dt.datetime.fromisoformat(first.body[0]["updated_datetime"])

    cached = _conditional(api, resource, If_None_Match=etag)
    assert cached.status_code == 304 and cached.data == b""
    future = email.utils.format_datetime(dt.datetime.now(UTC) + dt.timedelta(days=1), usegmt=True)
    assert _conditional(api, resource, If_Modified_Since=future).status_code == 304
    past = email.utils.format_datetime(modified - dt.timedelta(minutes=1), usegmt=True)
    assert _conditional(api, resource, If_Modified_Since=past).status_code == 200

    assert post_update(api, backoffice, reported.id, "FIXED", "c-1").status == 200
    stale = _conditional(api, resource, If_None_Match=etag)
    assert stale.status_code == 200 and stale.data
    assert stale.headers["ETag"] != etag
    assert email.utils.parsedate_to_datetime(stale.headers["Last-Modified"]) > modified
    assert _conditional(api, resource, If_None_Match=stale.headers["ETag"]).status_code == 304


def test_etag_on_the_list(api, session, backoffice, reported):
    first = api.get("requests", schema="requests")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    cached = _conditional(api, "requests", If_None_Match=etag)
    assert cached.status_code == 304 and cached.data == b""
    assert _conditional(api, "requests", If_Modified_Since=modified).status_code == 304
    assert post_update(api, backoffice, reported.id, "IN_PROGRESS", "c-1").status == 200
    changed = _conditional(api, "requests", If_None_Match=etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # another representation of the same data has another ETag
    other = _conditional(api, "requests", {"extensions": "true"})
    assert other.headers["ETag"] != changed.headers["ETag"]


def test_if_modified_since_sees_a_request_leave_a_filtered_list(api, session, backoffice):
    add_request(session, when=NOW - dt.timedelta(days=1), updated=NOW - dt.timedelta(hours=2))
    leaving = add_request(
        session, when=NOW - dt.timedelta(days=1), updated=NOW - dt.timedelta(hours=1)
    )
    first = api.get("requests", {"status": "open"})
    assert len(first.body) == 2
    assert post_update(api, backoffice, leaving.id, "FIXED", "ims-1").status == 200
    again = _conditional(
        api, "requests", {"status": "open"}, If_Modified_Since=first.headers["Last-Modified"]
    )
    assert again.status_code == 200


def test_etag_of_an_empty_list(api):
    first = api.get("requests")
    assert first.body == [] and "ETag" in first.headers
    assert _conditional(api, "requests", If_None_Match=first.headers["ETag"]).status_code == 304
