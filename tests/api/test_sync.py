"""Incremental sync: updated_after / updated_before, oldest change first: an integrator
extension (issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format
400 (or 403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from open311.operations.batch import accept_pending_requests
from tests.api.integrators import (
    ENCAMPMENT,
    NOW,
    UTC,
    all_pages,
    cursor_of,
    idlist,
    ids,
    links,
    post_update,
)
from tests.helpers import (
    add_request,
    bad,
)


@pytest.fixture
def changes(session) -> dict[str, str]:
    """Requests whose last change is not in the order they were made."""
    made = {
        "a": add_request(
            session, when=NOW - dt.timedelta(days=10), updated=NOW - dt.timedelta(minutes=30)
        ),
        "b": add_request(
            session, when=NOW - dt.timedelta(days=2), updated=NOW - dt.timedelta(minutes=50)
        ),
        # made long before the default 90-day window, changed recently: sync has it
        "c": add_request(
            session, when=NOW - dt.timedelta(days=200), updated=NOW - dt.timedelta(minutes=40)
        ),
        "d": add_request(
            session, when=NOW - dt.timedelta(days=3), updated=NOW - dt.timedelta(hours=3)
        ),
    }
    return {name: str(r.id) for name, r in made.items()}


def test_updated_after_lists_oldest_change_first(api, changes):
    result = api.get(
        "requests",
        {"updated_after": (NOW - dt.timedelta(hours=1)).isoformat()},
        root="service_requests",
        schema="requests",
    )
    assert ids(result) == [changes["b"], changes["c"], changes["a"]]


def test_updated_after_and_before_are_inclusive(api, changes):
    result = api.get(
        "requests",
        {
            "updated_after": (NOW - dt.timedelta(minutes=50)).isoformat(),
            "updated_before": (NOW - dt.timedelta(minutes=40)).isoformat(),
        },
        schema="requests",
    )
    assert ids(result) == [changes["b"], changes["c"]]


def test_updated_before_alone(api, changes):
    result = api.get(
        "requests",
        {"updated_before": (NOW - dt.timedelta(minutes=45)).isoformat()},
        schema="requests",
    )
    assert ids(result) == [changes["d"], changes["b"]]


def test_recent_changes_wait_for_the_sync_lag(api, app, session, monkeypatch):
    now = dt.datetime.now(UTC)
    settled = add_request(
        session, when=now - dt.timedelta(days=1), updated=now - dt.timedelta(seconds=60)
    )
    fresh = add_request(
        session, when=now - dt.timedelta(days=1), updated=now - dt.timedelta(seconds=10)
    )
    params = {"updated_after": (now - dt.timedelta(hours=1)).isoformat()}
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 30)
    assert ids(api.get("requests", params)) == [str(settled.id)]
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 0)
    assert ids(api.get("requests", params)) == [str(settled.id), str(fresh.id)]


def test_default_sync_lag_holds_back_a_change_made_just_now(api, session):
    now = dt.datetime.now(UTC)
    add_request(session, when=now - dt.timedelta(days=1), updated=now)
    assert (
        ids(api.get("requests", {"updated_after": (now - dt.timedelta(minutes=5)).isoformat()}))
        == []
    )


def test_sync_sees_updates_and_acceptances(api, app, session, key, backoffice, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_LAG_SECONDS", 0)
    old = add_request(session, when=NOW - dt.timedelta(days=5), updated=NOW - dt.timedelta(days=5))
    token = api.post("requests", {**ENCAMPMENT, "api_key": key}).body[0]["token"]
    since = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    params = {"updated_after": since.isoformat()}
    assert ids(api.get("requests", params)) == []
    assert post_update(api, backoffice, old.id, "FIXED", "s-1").status == 200
    [(_, accepted)] = accept_pending_requests(session, tokens=[token])
    result = api.get("requests", params, schema="requests")
    assert ids(result) == [str(old.id), str(accepted)]
    assert result.body[0]["status"] == "closed"


@pytest.mark.parametrize("page_size", [1, 2])
def test_ties_to_the_microsecond_are_all_delivered_across_pages(api, session, page_size):
    tie = NOW - dt.timedelta(minutes=20) + dt.timedelta(microseconds=123_456)
    made = [
        add_request(
            session, when=NOW - dt.timedelta(days=1), updated=NOW - dt.timedelta(minutes=30)
        ),
        add_request(session, when=NOW - dt.timedelta(days=2), updated=tie),
        add_request(session, when=NOW - dt.timedelta(days=3), updated=tie),
        add_request(session, when=NOW - dt.timedelta(days=4), updated=tie),
        add_request(
            session, when=NOW - dt.timedelta(days=5), updated=NOW - dt.timedelta(minutes=10)
        ),
    ]
    pages, results = all_pages(
        api, {"page_size": page_size, "updated_after": (NOW - dt.timedelta(hours=1)).isoformat()}
    )
    assert sum(pages, []) == idlist(*made)
    assert all(len(p) == page_size for p in pages[:-1])
    assert all("updated_after=" in url for r in results for url in links(r).values())


@pytest.mark.parametrize(
    "params,named",
    [
        ({"updated_after": "2026-01-02", "updated_before": "2026-01-01"}, "updated_after"),
        (
            {"updated_after": "2026-01-01T10:00:00Z", "updated_before": "2026-01-01T09:00:00Z"},
            "updated_after",
        ),
        ({"updated_after": "soon"}, "updated_after"),
        ({"updated_before": "2026-02-30"}, "updated_before"),
    ],
)
def test_bad_sync_bounds_are_400(api, params, named):
    bad(api.get("requests", params), 400, named)


def test_cursor_of_one_ordering_is_refused_by_the_other(api, changes):
    since = (NOW - dt.timedelta(hours=5)).isoformat()
    newest = cursor_of(links(api.get("requests", {"page_size": 1}))["next"])
    sync = cursor_of(links(api.get("requests", {"page_size": 1, "updated_after": since}))["next"])
    bad(
        api.get("requests", {"page_size": 1, "page": 2, "updated_after": since, "cursor": newest}),
        400,
        "cursor",
    )
    bad(api.get("requests", {"page_size": 1, "page": 2, "cursor": sync}), 400, "cursor")
