"""The per-process directory cache (OPEN311_CACHE_SECONDS): jurisdictions, service codes,
tiers, and the records POST keeps; and the API served with the cache on (the rest of the
suite runs with it off so that each test's rolled-back data cannot outlive it)."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from open311 import create_app
from open311.db import Database
from open311.errors import BadRequest, NotFound
from open311.models import Jurisdiction, Service
from open311.operations.directory import (
    DirectoryCache,
    jurisdiction_ref,
    service_pks,
    tier_pks,
)
from tests.helpers import CITY_HALL, Api, created, error_text, new_key, refused


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_jurisdiction(
    session,
    code: str,
    *,
    parent: Jurisdiction | None = None,
    services: tuple[str, ...] = ("POTHOLE",),
) -> Jurisdiction:
    j = Jurisdiction(
        jurisdiction_id=code,
        name=code,
        timezone="America/New_York",
        contact="x",
        key_service="y",
        settings={},
        boundary=from_shape(MultiPolygon([box(-74.1, 40.6, -73.9, 40.8)]), 4326),
        parent_pk=parent.id if parent else None,
    )
    for position, service_code in enumerate(services, start=1):
        j.services.append(
            Service(
                service_code=service_code,
                service_name=service_code,
                type="realtime",
                keywords=[],
                group="Streets",
                position=position,
            )
        )
    session.add(j)
    session.flush()
    return j


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock) -> DirectoryCache:
    return DirectoryCache(60, clock=clock)


def test_remember_keeps_a_value_for_the_ttl_and_never_keeps_none(cache, clock):
    loads = []

    def load(value):
        def inner():
            loads.append(value)
            return value

        return inner

    assert cache.remember(("k",), load("first")) == "first"
    clock.now += 59
    assert cache.remember(("k",), load("second")) == "first"
    clock.now += 2
    assert cache.remember(("k",), load("third")) == "third"
    assert cache.remember(("missing",), load(None)) is None
    assert cache.remember(("missing",), load(None)) is None
    assert loads == ["first", "third", None, None]


def test_without_ttl_every_call_loads(clock):
    cache, loads = DirectoryCache(0, clock=clock), []
    for _ in range(3):
        cache.remember(("k",), lambda: loads.append(1) or "v")
    assert len(loads) == 3


def test_a_new_jurisdiction_is_served_at_once(session, cache):
    la = jurisdiction_ref(cache, session, "lacity.org")
    assert (la.jurisdiction_id, la.timezone) == ("lacity.org", "America/Los_Angeles")
    assert jurisdiction_ref(cache, session, None) == la  # the only one
    add_jurisdiction(session, "new.example")
    found = jurisdiction_ref(cache, session, "new.example")  # a miss reloads at once
    assert found.jurisdiction_id == "new.example"
    with pytest.raises(BadRequest, match="jurisdiction_id is required"):
        jurisdiction_ref(cache, session, None)  # the reload saw two
    with pytest.raises(NotFound, match="nowhere.example"):
        jurisdiction_ref(cache, session, "nowhere.example")


def test_a_removed_jurisdiction_goes_with_the_ttl(session, cache, clock):
    gone = add_jurisdiction(session, "gone.example", services=())
    assert jurisdiction_ref(cache, session, "gone.example").id == gone.id
    session.delete(gone)
    session.flush()
    assert jurisdiction_ref(cache, session, "gone.example").id == gone.id  # within the TTL
    clock.now += 61
    with pytest.raises(NotFound):
        jurisdiction_ref(cache, session, "gone.example")


def test_service_codes_resolve_and_new_ones_at_once(session, cache):
    la = jurisdiction_ref(cache, session, "lacity.org")
    first = service_pks(cache, session, la, ["GRAFFITI", "OTHER", "GRAFFITI"])
    assert len(first) == 2 and all(isinstance(pk, int) for pk in first)
    la_row = session.get(Jurisdiction, la.id)
    la_row.services.append(
        Service(
            service_code="NEW-ONE",
            service_name="New",
            type="realtime",
            keywords=[],
            group="X",
            position=99,
        )
    )
    session.flush()
    assert len(service_pks(cache, session, la, ["NEW-ONE"])) == 1
    with pytest.raises(BadRequest, match="'NOPE'"):
        service_pks(cache, session, la, ["GRAFFITI", "NOPE"])


def test_tiers_follow_the_parents(session, cache):
    county = add_jurisdiction(session, "county.example")
    city = add_jurisdiction(session, "city.example", parent=county)
    assert tier_pks(cache, session, city.id) == [city.id, county.id]
    assert tier_pks(cache, session, county.id) == [county.id]


# -- the API with the cache on ---------------------------------------------------------------
@pytest.fixture
def cached_api(connection, fmt):
    """An app with CACHE_SECONDS=60, its sessions inside the test's transaction."""

    app = create_app({"DATABASE_URL": None, "TESTING": True, "CACHE_SECONDS": 60})
    Database.bind(app, connection)
    return Api(app.test_client(), fmt)


BULKY = {
    "service_code": "BULKY-ITEMS",
    **CITY_HALL,
    "attribute[ITEM_TYPES][]": ["SOFA"],
    "attribute[ITEM_COUNT]": "1",
    "attribute[LOCATION_TYPE]": "CURB",
}


def test_posts_and_reads_with_cached_records(cached_api, session):
    """The second POST uses the jurisdiction and service (with its attributes) kept from the
    first, detached from the session that loaded them; checks still apply to them."""
    key = new_key(session)
    first = created(cached_api, {**BULKY, "api_key": key, "jurisdiction_id": "lacity.org"})
    second = created(cached_api, {**BULKY, "api_key": key, "jurisdiction_id": "lacity.org"})
    assert int(second) > int(first)
    refused(
        cached_api,
        session,
        {**BULKY, "attribute[ITEM_COUNT]": "many", "api_key": key, "jurisdiction_id": "lacity.org"},
        400,
        "ITEM_COUNT",
    )
    listing = cached_api.get(
        "requests",
        {"jurisdiction_id": "lacity.org", "service_code": "BULKY-ITEMS"},
        root="service_requests",
        schema="requests",
    )
    assert [r["service_request_id"] for r in listing.body][:2] == [second, first]
    one = cached_api.get(f"requests/{first}", root="service_requests", schema="requests")
    assert one.status == 200 and one.body[0]["service_code"] == "BULKY-ITEMS"


def test_revoked_key_is_refused_at_once_with_the_cache_on(cached_api, session):
    from open311.operations.keys import create_key, revoke_key

    new = create_key(session, "soon revoked")
    session.commit()
    created(cached_api, {**BULKY, "api_key": new.key, "jurisdiction_id": "lacity.org"})
    revoke_key(session, str(new.record.id))
    result = cached_api.post(
        "requests", {**BULKY, "api_key": new.key, "jurisdiction_id": "lacity.org"}
    )
    assert result.status == 403 and "revoked" in error_text(result)
