"""Kept GET request by id answers (operations.kept_answers, open311.changes): an app with its
own connections on committed data, as a worker runs. A kept answer is given while nothing it
shows changed, and never after: a write through the app moves the change mark before its
answer leaves; a write from anywhere else (here: SQL on another connection, as the CLI or
another host writes) reaches the app's listener through the database's change notices;
while the listener is not connected nothing kept is used."""

from __future__ import annotations

import multiprocessing
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import change_mark, create_app
from open311.change_mark import SLOTS
from open311.changes import noticed
from open311.db import Database, changes
from open311.extensions import db
from open311.models import ApiKey, Service, ServiceRequest
from open311.operations.keys import create_key
from open311.repository.driver import driver_connection
from tests.helpers import CITY_HALL, Api, add_request

KEY_APP = "kept answers test"
GRAFFITI = {"service_code": "GRAFFITI", "attribute[SURFACE]": "FENCE", **CITY_HALL}
LISTENER = sa.text(
    "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN open311_changes' "
    "AND datname = current_database()"
)


def backoffice_key(engine) -> str:
    with Session(engine) as session:
        key = create_key(session, KEY_APP, scopes=("backoffice",)).key
        session.commit()
    return key


def update(client, key: str, request_id: int, n: int, status: str) -> None:
    """The back office's update ``n`` of a request, through the app."""
    answer = client.post(
        "/open311/v2/servicerequestupdates.json",
        data={
            "api_key": key,
            "service_request_id": str(request_id),
            "update_id": f"kept-{request_id}-{n}",
            "status": status,
            "updated_datetime": f"2026-12-06T1{n}:00:00Z",
            "description": status,
        },
    )
    assert answer.status_code == 200, answer.data


def made(engine, **fields) -> ServiceRequest:
    with Session(engine, expire_on_commit=False) as session:
        return add_request(session, code="GRAFFITI", **fields)


@pytest.fixture
def worker(engine, database_url):
    """An app as a worker runs it (its own pools and listener), and the requests the test
    committed, deleted afterwards."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    created: list[int] = []
    yield app, created
    changes(app).stop()
    for each in Database.engines(app):
        each.dispose()
    with engine.begin() as conn:
        conn.execute(sa.delete(ServiceRequest).where(ServiceRequest.id.in_(created)))
        conn.execute(sa.delete(ApiKey).where(ApiKey.name == KEY_APP))


@pytest.fixture
def updatable(worker, engine):
    """The worker's test client, listening; a committed request; a back-office key."""
    app, created = worker
    request = made(engine)
    created.append(request.id)
    listening(app)
    return app.test_client(), request, backoffice_key(engine)


def listening(app, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not changes(app).listening():
        assert time.monotonic() < deadline, "the change listener did not connect"
        time.sleep(0.02)


def seen(read, expected, seconds: float = 5.0):
    """Poll ``read()`` until it gives ``expected``; what it gave."""
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.005)
    return value


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_second_read_is_kept_and_the_same(worker, engine, fmt):
    app, created = worker
    request = made(engine, description="kept once, read twice")
    created.append(request.id)
    api = Api(app.test_client(), fmt)
    kept = app.extensions["open311_kept_answers"]
    listening(app)
    first = api.get(f"requests/{request.id}", params={"jurisdiction_id": "lacity.org"})
    hits = kept.hits
    again = api.get(f"requests/{request.id}", params={"jurisdiction_id": "lacity.org"})
    assert first.status == again.status == 200
    assert kept.hits == hits + 1
    assert again.raw == first.raw and again.headers["ETag"] == first.headers["ETag"]
    assert again.body[0]["description"] == "kept once, read twice"
    padded = api.get(f"requests/00{request.id}", params={"jurisdiction_id": "lacity.org"})
    assert padded.raw == first.raw and kept.hits == hits + 2  # one request, one answer
    # extensions read more than the request row: never kept
    api.get(
        f"requests/{request.id}", params={"jurisdiction_id": "lacity.org", "extensions": "true"}
    )
    api.get(
        f"requests/{request.id}", params={"jurisdiction_id": "lacity.org", "extensions": "true"}
    )
    assert kept.hits == hits + 2


def test_a_write_through_the_app_moves_the_marks_before_it_answers(updatable, engine):
    """The writer's own path, without the listener: once an update's answer is back, the
    updated request's mark differs (so no worker of the host uses what it kept of it), and
    no other mark does. A GET, a refused POST and a new request move none."""
    client, request, key = updatable
    other = made(engine)
    try:
        assert request.id % SLOTS != other.id % SLOTS
        before = (change_mark.mark(), change_mark.mark(request.id), change_mark.mark(other.id))
        assert client.get(f"/open311/v2/requests/{request.id}.json").status_code == 200
        assert client.post("/open311/v2/requests.json", data={}).status_code == 403
        created = client.post(
            "/open311/v2/requests.json",
            data={**GRAFFITI, "api_key": key, "jurisdiction_id": "lacity.org"},
        )
        assert created.status_code == 200, created.data
        assert (change_mark.mark(), change_mark.mark(request.id), change_mark.mark(other.id)) == (
            before
        )
        update(client, key, request.id, 0, "FIXED")
        assert change_mark.mark() == before[0]
        assert change_mark.mark(request.id) != before[1]
        assert change_mark.mark(other.id) == before[2]
        # The same update_id, answered again: it notes that nothing changed, so everything's
        # mark stays (its request's may still move, as the first update's notice arrives).
        update(client, key, request.id, 0, "FIXED")
        assert change_mark.mark() == before[0]
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.delete(ServiceRequest).where(
                    (ServiceRequest.id == other.id)
                    | ServiceRequest.api_key_pk.in_(
                        sa.select(ApiKey.id).where(ApiKey.name == KEY_APP)
                    )
                )
            )


def test_an_update_retires_only_its_request(updatable, engine):
    """Another request's kept answer is still given after an update (by the app, then by
    SQL on another connection); a change to a service retires every answer."""
    client, request, key = updatable
    other = made(engine)
    try:
        kept = client.application.extensions["open311_kept_answers"]
        path = f"/open311/v2/requests/{other.id}.json"
        assert client.get(path).status_code == 200
        hits = kept.hits
        update(client, key, request.id, 0, "FIXED")
        assert client.get(path).status_code == 200
        assert kept.hits == hits + 1
        with engine.begin() as conn:
            conn.execute(
                sa.update(ServiceRequest)
                .where(ServiceRequest.id == request.id)
                .values(status_notes="by SQL")
            )
        own = f"/open311/v2/requests/{request.id}.json"
        assert seen(lambda: client.get(own).json[0]["status_notes"], "by SQL") == "by SQL"
        assert client.get(path).status_code == 200
        assert kept.hits >= hits + 2
        hits = kept.hits
        with engine.begin() as conn:
            conn.execute(
                sa.update(Service)
                .where(Service.id == other.service_pk)
                .values(service_name=Service.service_name)
            )
        deadline = time.monotonic() + 5
        while client.get(path).status_code == 200 and kept.hits > hits:
            assert time.monotonic() < deadline, "a service's change retired nothing"
            hits = kept.hits
            time.sleep(0.01)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(ServiceRequest).where(ServiceRequest.id == other.id))


def test_the_notices_name_the_requests_changed(engine):
    """What the triggers send: the ids of the requests an UPDATE or a DELETE changed; for
    more than 300 of them, or a change to a service, nothing (everything); for an INSERT,
    no notice at all."""
    listener = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        listener.execute(sa.text("LISTEN open311_changes"))
        raw = driver_connection(listener)

        def notices() -> list[str]:
            return [n.payload for n in raw.notifies(timeout=0.5)]

        few = [made(engine).id for _ in range(2)]
        with Session(engine, expire_on_commit=False) as session:
            many = [add_request(session, code="GRAFFITI").id for _ in range(301)]
        assert notices() == []  # new requests
        with engine.begin() as conn:
            conn.execute(
                sa.update(ServiceRequest)
                .where(ServiceRequest.id.in_(few))
                .values(status_notes="noticed")
            )
        assert [sorted(noticed(p) or []) for p in notices()] == [sorted(few)]
        moved = few[0] + 10_000_000  # an id updated: the notice names the old one
        with engine.begin() as conn:
            conn.execute(
                sa.update(ServiceRequest).where(ServiceRequest.id == few[0]).values(id=moved)
            )
        assert [noticed(p) for p in notices()] == [[few[0]]]
        few[0] = moved
        with engine.begin() as conn:
            conn.execute(sa.delete(ServiceRequest).where(ServiceRequest.id.in_(many + few)))
        assert notices() == [""]
        with engine.begin() as conn:
            conn.execute(sa.update(Service).where(sa.false()).values(service_name="x"))
        assert notices() == [""]
        assert noticed("") is None and noticed("1,22") == [1, 22] and noticed("1,x") is None
    finally:
        listener.close()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_status_changed_through_the_app_is_read_back_at_once(updatable, fmt):
    client, request, key = updatable
    api = Api(client, fmt)

    def status() -> str:
        return api.get(f"requests/{request.id}").body[0]["status"]

    for n, (sent, shown) in enumerate(
        [("FIXED", "closed"), ("IN_PROGRESS", "open"), ("FIXED", "closed"), ("OPEN", "open")]
    ):
        assert status() != shown
        assert status() != shown  # kept
        update(client, key, request.id, n, sent)
        assert status() == shown  # no wait


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_write_made_elsewhere_reaches_the_kept_answers(worker, engine, fmt):
    """SQL on another connection, as the CLI or another host writes: the request's own row,
    then its service's name (read by the answer through a join)."""
    app, created = worker
    request = made(engine, status_notes="before")
    created.append(request.id)
    api = Api(app.test_client(), fmt)
    listening(app)

    def read(field: str):
        return api.get(f"requests/{request.id}", {"jurisdiction_id": "lacity.org"}).body[0][field]

    assert read("status_notes") == read("status_notes") == "before"
    with engine.begin() as conn:
        conn.execute(
            sa.update(ServiceRequest)
            .where(ServiceRequest.id == request.id)
            .values(status_notes="after")
        )
    assert seen(lambda: read("status_notes"), "after") == "after"

    name = read("service_name")
    with engine.begin() as conn:
        conn.execute(
            sa.update(Service)
            .where(Service.id == request.service_pk)
            .values(service_name=Service.service_name + " (renamed)")
        )
    try:
        assert seen(lambda: read("service_name"), f"{name} (renamed)") == f"{name} (renamed)"
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.update(Service).where(Service.id == request.service_pk).values(service_name=name)
            )


def test_nothing_kept_is_used_while_the_listener_is_away(worker, engine):
    """The listener's connection is cut (a database restart or a network fault): until it is
    connected again, every read goes to the database, and a write made meanwhile is seen."""
    app, created = worker
    request = made(engine, status_notes="before")
    created.append(request.id)
    client = app.test_client()
    kept = app.extensions["open311_kept_answers"]
    listening(app)
    path = f"/open311/v2/requests/{request.id}.json?jurisdiction_id=lacity.org"
    client.get(path)
    with engine.connect() as conn:
        pids = conn.execute(LISTENER).scalars().all()
        assert pids, "no listener connection"
        for pid in pids:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    deadline = time.monotonic() + 5
    while changes(app).listening():
        assert time.monotonic() < deadline, "the listener did not notice"
        time.sleep(0.005)
    hits = kept.hits
    with engine.begin() as conn:
        conn.execute(
            sa.update(ServiceRequest)
            .where(ServiceRequest.id == request.id)
            .values(status_notes="while away")
        )
    assert client.get(path).json[0]["status_notes"] == "while away"
    assert kept.hits == hits
    listening(app)  # connected again by itself
    client.get(path)
    client.get(path)
    assert kept.hits > hits


def test_kept_answers_are_bounded_and_copies(worker, engine):
    """At most KEPT_ANSWERS; the caller's changes (absolute media URLs) never reach what is
    kept: the same answer twice has the media URL once prefixed."""
    app, created = worker
    kept = app.extensions["open311_kept_answers"]
    kept.size = 3
    requests = [made(engine, media_url="media/kept-photo.jpg") for _ in range(5)]
    created.extend(r.id for r in requests)
    client = app.test_client()
    listening(app)
    urls = set()
    for request in requests + requests:
        item = client.get(f"/open311/v2/requests/{request.id}.json").json[0]
        urls.add(item["media_url"])
    assert len(kept) <= 3
    assert urls == {"http://localhost/open311/v2/media/kept-photo.jpg"}


def test_the_marks_are_one_for_the_processes_forked_after_them():
    """gunicorn's workers are forked from its master after it made the marks: a move in one
    is the move in all."""
    before = change_mark.mark(), change_mark.mark(7)
    child = multiprocessing.get_context("fork").Process(target=change_mark.move)
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert change_mark.mark() != before[0]
    child = multiprocessing.get_context("fork").Process(target=change_mark.move, args=([7],))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert change_mark.mark(7)[8:] != before[1][8:]


def test_a_command_moves_the_marks_as_it_ends(worker):
    """A CLI command (an app context without a request) that used the database moves
    everything's mark as it ends, so this process's kept answers never wait for the notice
    of what it wrote (an API key's table notifies nobody: only the command's end moves it)."""
    app, _ = worker
    before = change_mark.mark()
    with app.app_context():
        db.session.execute(sa.update(ApiKey).where(ApiKey.name == KEY_APP).values(contact=None))
        db.session.commit()
        assert change_mark.mark() == before
    assert change_mark.mark() != before


def test_an_answer_lives_no_longer_than_the_directory_it_was_read_with(worker, engine):
    """The time zone an answer is written in comes from the worker's directory of
    jurisdictions (OPEN311_CACHE_SECONDS): once that directory is too old, the answer is
    read again, with a directory read again."""
    app, created = worker
    request = made(engine)
    created.append(request.id)
    client = app.test_client()
    kept = app.extensions["open311_kept_answers"]
    places = app.extensions["open311_directory"]
    listening(app)
    path = f"/open311/v2/requests/{request.id}.json"
    client.get(path)
    hits = kept.hits
    client.get(path)
    assert kept.hits == hits + 1
    later = time.monotonic() + places.seconds + 1
    places.clock = lambda: later  # the directory's time has run out
    assert places.current() is None
    client.get(path)
    assert kept.hits == hits + 1  # read again
    assert places.current() is not None  # with a directory read again
    client.get(path)
    assert kept.hits == hits + 2
