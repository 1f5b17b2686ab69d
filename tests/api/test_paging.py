"""Paging with an RFC 8288 Link header and a keyset cursor: an integrator extension (issue 4),
in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or 403/404/413)
naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from open311.operations.batch import accept_pending_requests
from tests.api.integrators import (
    NOW,
    UTC,
    all_pages,
    cursor_of,
    idlist,
    ids,
    links,
    make_cursor,
)
from tests.helpers import (
    add_request,
    bad,
)


def test_pages_of_two_follow_link_next_to_the_end(api, five):
    pages, results = all_pages(api, {"page_size": 2})
    assert pages == [five[:2], five[2:4], five[4:]]
    assert sum(pages, []) == five  # nothing skipped or repeated
    assert set(links(results[0])) == {"next"}
    assert set(links(results[1])) == {"next", "prev"}
    assert set(links(results[2])) == {"prev"}  # the last page has no rel="next"
    for result in results:  # the Link points at this format's URL, other params kept
        for url in links(result).values():
            assert url.startswith(f"http://localhost/open311/v2/requests.{api.fmt}?")
            assert "page_size=2" in url and "cursor=" in url


def test_a_page_whose_last_request_vanished_still_leads_on(api, five, monkeypatch):
    """The newest-first cursor reads its last row's exact time after the page; if that
    request was deleted meanwhile (by an operator), the cursor uses the time shown, rounded
    up to the second: the next pages may repeat a row, never skip one."""
    from open311.repository import request_search

    monkeypatch.setattr(request_search, "requested_key", lambda session, pk: None)
    pages, _ = all_pages(api, {"page_size": 2})
    seen = sum(pages, [])
    assert set(seen) == set(five) and seen[:2] == five[:2]


def test_link_keeps_the_other_filters(api, session, five):
    graffiti = idlist(
        *[
            add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(hours=h))
            for h in (1, 2, 3)
        ]
    )
    pages, results = all_pages(api, {"page_size": 2, "service_code": "GRAFFITI"})
    assert pages == [graffiti[:2], graffiti[2:]]
    assert "service_code=GRAFFITI" in links(results[0])["next"]


def test_prev_link_of_page_two_gives_page_one(api, five):
    first = api.get("requests", {"page_size": 2})
    second = api.follow(links(first)["next"], schema="requests")
    back = api.follow(links(second)["prev"], root="service_requests", schema="requests")
    assert ids(back) == ids(first) == five[:2]
    assert "prev" not in links(back)


def test_new_request_between_pages_appears_on_no_later_page(api, session, five):
    first = api.get("requests", {"page_size": 2})
    newer = add_request(session, when=dt.datetime.now(UTC))
    second = api.follow(links(first)["next"], schema="requests")
    third = api.follow(links(second)["next"], schema="requests")
    assert ids(first) + ids(second) + ids(third) == five
    assert "next" not in links(third)
    assert ids(api.get("requests", {"page_size": 2}))[0] == str(newer.id)  # a fresh listing


def test_batch_request_accepted_between_pages_does_not_appear_mid_list(api, session, five):
    waiting = add_request(
        session,
        code="HOMELESS-ENCAMPMENT",
        accepted=False,
        token="tok-paging",
        when=NOW - dt.timedelta(minutes=3, seconds=30),
    )
    first = api.get("requests", {"page_size": 2})
    assert accept_pending_requests(session, tokens=["tok-paging"]) == [("tok-paging", waiting.id)]
    second = api.follow(links(first)["next"], schema="requests")
    third = api.follow(links(second)["next"], schema="requests")
    assert ids(first) + ids(second) + ids(third) == five
    back = api.follow(links(third)["prev"], schema="requests")  # same snapshot: same page 2
    assert ids(back) == ids(second)
    fresh = sum(all_pages(api, {"page_size": 2})[0], [])  # a new listing has it, in place
    assert fresh == five[:3] + [str(waiting.id)] + five[3:]


def test_page_without_cursor_is_an_offset(api, five):
    result = api.get("requests", {"page": 2, "page_size": 2}, schema="requests")
    assert ids(result) == five[2:4]
    assert set(links(result)) == {"next", "prev"}
    third = api.follow(links(result)["next"], schema="requests")
    assert ids(third) == five[4:]
    assert ids(api.get("requests", {"page": 4, "page_size": 2})) == []


def test_page_size_defaults_to_max_requests(api, app, monkeypatch, five):
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 3)
    result = api.get("requests")
    assert ids(result) == five[:3]
    assert "page_size=3" in links(result)["next"]


@pytest.mark.parametrize(
    "params,named",
    [
        ({"page_size": 4}, "page_size"),  # more than max_requests (3 here)
        ({"page_size": 0}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
    ],
)
def test_bad_paging_is_400(api, app, monkeypatch, params, named):
    monkeypatch.setitem(app.config, "MAX_REQUESTS", 3)
    bad(api.get("requests", params), 400, named)


CURSOR_TIME = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: c[: len(c) // 2], id="truncated"),
        pytest.param(lambda c: "@@@@", id="not-base64"),
        pytest.param(lambda c: "x" * 40, id="garbage"),
        pytest.param(lambda c: make_cursor([1, 2]), id="json-list"),
        pytest.param(
            lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": "yesterday", "i": 1}),
            id="bad-time",
        ),
        pytest.param(
            lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": CURSOR_TIME, "i": "7"}),
            id="string-id",
        ),
        pytest.param(lambda c: make_cursor({"s": 5}), id="number-snapshot"),
        pytest.param(
            lambda c: make_cursor({"s": CURSOR_TIME, "m": "n", "v": CURSOR_TIME}), id="missing-id"
        ),
    ],
)
def test_tampered_cursor_is_400(api, five, tamper):
    real = cursor_of(links(api.get("requests", {"page_size": 2}))["next"])
    result = api.get("requests", {"page": 2, "page_size": 2, "cursor": tamper(real)})
    bad(result, 400, "cursor")
