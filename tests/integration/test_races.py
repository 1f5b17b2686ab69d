"""Concurrent calls on the app's real sessions (committed, as in production; what a test
stores is deleted afterwards), with the worker's directory cache on.

After concurrent POSTs with one Idempotency-Key, the ones that lost the race answered the
first one's answer after a rollback; that rollback used to expire the jurisdiction the cache
kept (an ORM object), and every later POST of that worker failed with a 500 for the cache's
TTL. Concurrent request updates with one update_id all answer the same update."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import create_app
from open311.db import Database
from open311.operations.directory import DirectoryCache
from open311.operations.keys import create_key
from open311.repository import new_requests as requests_repo
from tests.helpers import CITY_HALL
from tests.tally_check import assert_tally_true

GRAFFITI = {
    "service_code": "GRAFFITI",
    "attribute[SURFACE]": "FENCE",
    **CITY_HALL,
    "jurisdiction_id": "lacity.org",
}
BULKY = {
    "service_code": "BULKY-ITEMS",
    **CITY_HALL,
    "attribute[ITEM_TYPES][]": "SOFA",
    "attribute[ITEM_COUNT]": "1",
    "attribute[LOCATION_TYPE]": "CURB",
}


class Keys(NamedTuple):
    app: str
    backoffice: str
    pks: tuple[int, int]


@pytest.fixture
def live(engine, database_url, media_dir):
    """The app on the test database itself, as gunicorn runs it, its cache on."""
    app = create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "CACHE_SECONDS": 60, "DB_POOL_SIZE": 20}
    )
    with Session(engine) as session:
        plain = create_key(session, "race app")
        backoffice = create_key(session, "race back office", scopes=("backoffice",))
        keys = Keys(plain.key, backoffice.key, (plain.record.id, backoffice.record.id))
    try:
        yield app, keys
    finally:
        for each in Database.engines(app):
            each.dispose()
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM service_request WHERE api_key_pk = ANY(:k)"),
                {"k": list(keys.pks)},
            )
            conn.execute(
                sa.text("DELETE FROM request_event WHERE api_key_pk = ANY(:k)"),
                {"k": list(keys.pks)},
            )
            conn.execute(sa.text("DELETE FROM api_key WHERE id = ANY(:k)"), {"k": list(keys.pks)})


def at_once(count: int, call):
    """``call(i)`` from ``count`` threads released together; their results."""
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_concurrent_posts_with_one_key_then_more_posts(live, engine, fmt):
    app, keys = live
    url = f"/open311/v2/requests.{fmt}"

    def post(index):
        response = app.test_client().post(
            url, data={**GRAFFITI, "api_key": keys.app}, headers={"Idempotency-Key": f"race-{fmt}"}
        )
        return response.status_code, response.get_data()

    answers = at_once(8, post)
    assert {status for status, _ in answers} == {200}, answers
    assert len({body for _, body in answers}) == 1  # every one answers the first's answer
    with engine.connect() as conn:
        assert (
            conn.scalar(
                sa.text("SELECT count(*) FROM service_request WHERE api_key_pk = :k"),
                {"k": keys.pks[0]},
            )
            == 1
        )
    for data in (GRAFFITI, {**BULKY, "jurisdiction_id": "lacity.org"}, BULKY):
        later = app.test_client().post(url, data={**data, "api_key": keys.app})
        assert later.status_code == 200, later.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_post_that_lost_the_race_leaves_the_cache_sound(live, database_url, monkeypatch, fmt):
    """The losing branch every time (the answer not found before the write, found after),
    on a worker whose cache that POST fills."""
    app, keys = live
    client = app.test_client()
    url = f"/open311/v2/requests.{fmt}"
    headers = {"Idempotency-Key": f"lost-{fmt}"}
    other_worker = create_app({"DATABASE_URL": database_url, "TESTING": True})
    first = other_worker.test_client().post(
        url, data={**GRAFFITI, "api_key": keys.app}, headers=headers
    )
    for each in Database.engines(other_worker):
        each.dispose()
    assert first.status_code == 200
    found, looked = requests_repo.remembered_answer, []

    def not_yet_then_found(*args):
        looked.append(args)
        return None if len(looked) == 1 else found(*args)

    monkeypatch.setattr(requests_repo, "remembered_answer", not_yet_then_found)
    again = client.post(url, data={**GRAFFITI, "api_key": keys.app}, headers=headers)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    monkeypatch.undo()
    for data in (GRAFFITI, BULKY, {**BULKY, "jurisdiction_id": "lacity.org"}):
        later = client.post(url, data={**data, "api_key": keys.app})
        assert later.status_code == 200, later.get_data(as_text=True)
    for path in ("services", "requests", "services/BULKY-ITEMS"):
        assert client.get(f"/open311/v2/{path}.{fmt}").status_code == 200


def test_the_cache_refuses_what_a_session_holds(session):
    from open311.models import Jurisdiction

    cache = DirectoryCache(60)
    bound = session.scalars(sa.select(Jurisdiction)).first()
    with pytest.raises(TypeError, match="bound to a session"):
        cache.remember(("jurisdiction",), lambda: bound)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_concurrent_updates_with_one_update_id_answer_the_same(live, engine, fmt):
    app, keys = live
    created = app.test_client().post(
        "/open311/v2/requests.json", data={**GRAFFITI, "api_key": keys.app}
    )
    request_id = created.get_json()[0]["service_request_id"]

    def update(index):
        response = app.test_client().post(
            f"/open311/v2/servicerequestupdates.{fmt}",
            data={
                "api_key": keys.backoffice,
                "service_request_id": request_id,
                "update_id": f"fms-{fmt}",
                "status": "FIXED",
                "updated_datetime": "2026-01-01T10:00:00Z",
                "description": "painted over",
            },
        )
        return response.status_code, response.get_data()

    answers = at_once(16, update)
    assert {status for status, _ in answers} == {200}, answers
    assert len({body for _, body in answers}) == 1
    with engine.connect() as conn:
        events = conn.execute(
            sa.text("SELECT kind, status FROM request_event WHERE request_pk = :r ORDER BY id"),
            {"r": int(request_id)},
        ).all()
    assert events == [("opened", "open"), ("closed", "closed")]


def test_concurrent_posts_and_updates_keep_the_tally_true(live, engine):
    """Statistics' tally (migration 0008) under concurrent writes to the same cells: 8
    clients POST at once (one service, one day), then 8 close different requests at once,
    then 8 reopen them; after each round the tally is what the committed requests say."""
    app, keys = live

    def check() -> None:
        with Session(engine) as session:
            assert_tally_true(session)

    def post(index):
        data = GRAFFITI if index % 2 else {**BULKY, "jurisdiction_id": "lacity.org"}
        response = app.test_client().post(
            "/open311/v2/requests.json", data={**data, "api_key": keys.app}
        )
        return response.status_code, response.get_json()

    posted = [at_once(8, post) for _ in range(2)]
    assert {status for round_ in posted for status, _ in round_} == {200}
    ids = [body[0]["service_request_id"] for round_ in posted for _, body in round_]
    check()

    def update(status: str):
        def call(index):
            answer = app.test_client().post(
                "/open311/v2/servicerequestupdates.json",
                data={
                    "api_key": keys.backoffice,
                    "service_request_id": ids[index],
                    "update_id": f"tally-{status}-{index}",
                    "status": status,
                    "updated_datetime": dt.datetime.now(dt.UTC).isoformat(),
                    "description": "race",
                },
            )
            return answer.status_code, answer.get_data(as_text=True)

        return call

    fixed = at_once(8, update("FIXED"))
    assert {status for status, _ in fixed} == {200}, fixed
    check()
    assert {status for status, _ in at_once(8, update("IN_PROGRESS"))} == {200}
    check()


def test_a_write_during_a_target_change_is_counted_with_the_new_target(engine):
    """A service's target changes (its tally recounted) while a request of it is written:
    the write waits for the recount's transaction, then counts on time against the new
    target; nothing is counted twice."""
    with engine.begin() as conn:
        la, graffiti, before = conn.execute(
            sa.text(
                "SELECT j.id, s.id, s.target_hours FROM service s JOIN jurisdiction j "
                "ON j.id = s.jurisdiction_pk WHERE j.jurisdiction_id = 'lacity.org' "
                "AND s.service_code = 'GRAFFITI'"
            )
        ).one()
    written = threading.Event()
    made: list[int] = []

    def write() -> None:
        with engine.begin() as conn:
            made.append(
                conn.execute(
                    sa.text(
                        "INSERT INTO service_request (jurisdiction_pk, service_pk, status, "
                        "attributes, public, requested_datetime, closed_at) VALUES (:j, :s, "
                        "'closed', '{}', true, now() - interval '30 hours', now()) RETURNING id"
                    ),
                    {"j": la, "s": graffiti},
                ).scalar_one()
            )
        written.set()

    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE service SET target_hours = 48 WHERE id = :s"), {"s": graffiti}
            )
            writer = threading.Thread(target=write)
            writer.start()
            assert not written.wait(1)  # held until the recount commits
        writer.join(30)
        assert written.is_set()
        with Session(engine) as session:
            assert_tally_true(session)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM service_request WHERE id = ANY(:r)"), {"r": made})
            conn.execute(
                sa.text("UPDATE service SET target_hours = :t WHERE id = :s"),
                {"t": before, "s": graffiti},
            )
