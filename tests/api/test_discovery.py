"""Service discovery, at both URLs, in both formats."""

from __future__ import annotations

import pytest

from tests.helpers import Api


@pytest.mark.parametrize("path", ["/open311/v2/discovery", "/open311/discovery"])
def test_discovery_document(client, fmt, path):
    response = client.get(f"{path}.{fmt}")
    api = Api(client, fmt)
    result = api._result(response, "discovery")
    assert result.status == 200
    from schemas.json_validation import validate

    validate("discovery", result.body)
    endpoint = result.body["endpoints"][0]
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] == "production"
    assert endpoint["max_requests"] == 1000
    assert "MyLA311" in result.body["contact"]  # from jurisdiction.yaml
    assert "API key" in result.body["key_service"]


def test_discovery_advertises_configured_limits(client, fmt, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 250)
    monkeypatch.setitem(app.config, "BASE_URL", "https://311.example.gov/open311/v2/")
    monkeypatch.setitem(app.config, "ENDPOINT_TYPE", "test")
    monkeypatch.setitem(app.config, "CONTACT", "Open data team, 311@example.gov")
    result = Api(client, fmt).get("discovery", root="discovery", schema="discovery")
    endpoint = result.body["endpoints"][0]
    assert endpoint["max_requests"] == 250
    assert endpoint["url"] == "https://311.example.gov/open311/v2"
    assert endpoint["type"] == "test"
    assert result.body["contact"] == "Open data team, 311@example.gov"


def test_several_jurisdictions_share_one_discovery(client, fmt, session):
    from tests.api.test_services import add_second_jurisdiction
    from tests.helpers import la

    other = add_second_jurisdiction(session)
    other.key_service = la(session).key_service
    session.commit()
    result = Api(client, fmt).get("discovery", root="discovery", schema="discovery")
    assert result.body["key_service"] == la(session).key_service  # once, not twice
    assert "Example Town: x" in result.body["contact"]
    assert "City of Los Angeles: MyLA311" in result.body["contact"]


def test_health_answers_without_the_database(fmt, engine):
    from open311 import create_app
    from open311.db import Database

    app = create_app({"DATABASE_URL": None})

    def no_database():
        raise AssertionError("health must not open a session")

    Database.set_session_factory(app, no_database)
    result = Api(app.test_client(), fmt)._result(
        app.test_client().get(f"/open311/health.{fmt}"), "health"
    )
    assert result.status == 200 and result.body == {"status": "ok"}
