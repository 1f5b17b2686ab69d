"""The database fails under the server: a crash, an outage, a restart. On a cluster of its
own, made as `make run` makes the demo's (open311.pgcluster, durable by default), served by
the app's production sessions from several threads at once.

- Every request the server acknowledged survives a crash of PostgreSQL (``pg_ctl stop -m
  immediate``) under a POST load: the demo's cluster once ran with fsync,
  synchronous_commit and full_page_writes off, and such a crash lost acknowledged requests.
- While the database is down every answer is a 503 in the spec's format with Retry-After
  (not a 500), each logged on one line (no traceback); the server recovers by itself.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import create_app, migrate
from open311.db import Database, changes
from open311.operations.bundles import load_bundle
from open311.operations.keys import create_key
from open311.pgcluster import DURABLE, FAST, VAR, Cluster
from tests.helpers import CITY_HALL, decode_xml

LA_BUNDLE = Path(__file__).resolve().parents[2] / "jurisdictions" / "lacity.org"
GRAFFITI = {
    "service_code": "GRAFFITI",
    "attribute[SURFACE]": "FENCE",
    **CITY_HALL,
    "jurisdiction_id": "lacity.org",
}


def settings(url: str) -> dict[str, str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        found = {name: conn.exec_driver_sql(f"SHOW {name}").scalar() for name in DURABLE}
    engine.dispose()
    return found


@pytest.fixture(scope="module")
def cluster():
    """A cluster as `make run` starts one (Cluster's defaults), with the LA bundle."""
    data_dir = VAR / "pgfaults"
    shutil.rmtree(data_dir, ignore_errors=True)
    cluster = Cluster(data_dir)
    url = cluster.ensure_database("open311")
    migrate.upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        load_bundle(session, LA_BUNDLE)
        key = create_key(session, "faults").key
    engine.dispose()
    try:
        yield cluster, url, key
    finally:
        cluster.stop("immediate")
        shutil.rmtree(data_dir, ignore_errors=True)
        Path(cluster.log_file).unlink(missing_ok=True)


@pytest.fixture
def served(cluster):
    """The app on that cluster (production sessions and pools)."""
    _, url, key = cluster
    app = create_app({"DATABASE_URL": url, "CACHE_SECONDS": 5, "DB_POOL_SIZE": 10})
    try:
        yield app, key
    finally:
        changes(app).stop()
        for engine in Database.engines(app):
            engine.dispose()


def test_the_demo_cluster_is_durable_and_only_the_tests_trades_that(cluster, database_url):
    _, url, _ = cluster
    assert settings(url) == DURABLE
    assert settings(database_url) == FAST  # the suite's own cluster (made again every run)


def test_a_cluster_made_fast_is_made_durable_on_its_next_start(cluster):
    made, url, _ = cluster
    conf = made.pgdata / "postgresql.auto.conf"
    conf.write_text(conf.read_text() + "".join(f"{k} = off\n" for k in DURABLE))
    made.stop()
    made.start()
    assert settings(url) == DURABLE
    conf.write_text(conf.read_text() + "".join(f"{k} = off\n" for k in DURABLE))
    made.start()  # running: reloaded
    assert settings(url) == DURABLE


def assert_unavailable(response, fmt: str) -> None:
    """A 503 in the spec's errors format, in the URL's format, with Retry-After."""
    assert response.status_code == 503, (response.status_code, response.get_data()[:300])
    assert int(response.headers["Retry-After"]) > 0
    if fmt == "json":
        body = response.get_json()
    else:
        root, body = decode_xml(response.get_data())
        assert root == "errors"
    assert [e["code"] for e in body] == [503], body
    assert "unavailable" in body[0]["description"]


def test_every_acknowledged_request_survives_a_crash_under_load(cluster, served):
    made, url, _ = cluster
    app, key = served
    acknowledged: list[tuple[str, str]] = []
    refused: list = []
    stop = threading.Event()

    def submit(worker: int) -> None:
        client, sent = app.test_client(), 0
        while not stop.is_set():
            description = f"crash test {worker}-{sent}"
            response = client.post(
                "/open311/v2/requests.json",
                data={**GRAFFITI, "api_key": key, "description": description},
            )
            if response.status_code == 200:
                acknowledged.append((response.get_json()[0]["service_request_id"], description))
            else:
                refused.append(response)
            sent += 1

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    before_crash = len(acknowledged)
    for _ in range(2):
        made.stop("immediate")  # PostgreSQL dies: no shutdown checkpoint, WAL recovery
        time.sleep(0.5)
        made.start()
        time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join()

    assert before_crash > 20, "the load was running"
    assert len(acknowledged) > before_crash, "the server recovered by itself"
    assert refused, "some POSTs met the crash"
    for response in refused:
        assert_unavailable(response, "json")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        found = dict(
            conn.execute(
                sa.text("SELECT id::text, description FROM service_request WHERE id = ANY(:ids)"),
                {"ids": [int(i) for i, _ in acknowledged]},
            ).all()
        )
    engine.dispose()
    lost = [pair for pair in acknowledged if found.get(pair[0]) != pair[1]]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged requests lost"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_outage_is_a_503_logged_on_one_line_and_the_server_recovers(
    cluster, served, fmt, caplog
):
    made, _, key = cluster
    app, _ = served
    client = app.test_client()
    calls = [
        ("get", f"/open311/v2/requests.{fmt}", None),
        ("get", f"/open311/v2/requests/1.{fmt}", None),
        ("get", f"/open311/v2/services.{fmt}", None),
        ("get", f"/open311/v2/discovery.{fmt}", None),
        ("post", f"/open311/v2/requests.{fmt}", {**GRAFFITI, "api_key": key}),
    ]
    for method, path, data in calls:  # warm: pooled and kept connections exist
        assert getattr(client, method)(path, data=data).status_code in (200, 404)
    made.stop()
    try:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            failed = 0
            for _ in range(3):
                for method, path, data in calls:
                    assert_unavailable(getattr(client, method)(path, data=data), fmt)
                    failed += 1
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(problems) == failed, [r.getMessage() for r in problems]
        for record in problems:
            assert record.exc_info is None and "\n" not in record.getMessage(), record.getMessage()
            assert "database unavailable" in record.getMessage()
    finally:
        made.start()
    answers = Counter()
    for _ in range(3):
        for method, path, data in calls:
            answers[getattr(client, method)(path, data=data).status_code] += 1
    assert answers[503] <= 1 and answers[500] == 0, answers  # recovered by itself
    for method, path, data in calls:
        assert getattr(client, method)(path, data=data).status_code in (200, 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_pool_with_no_connection_free_is_a_503_after_the_pool_timeout(cluster, fmt):
    """Every pooled connection in use (a database that answers slowly, too many at once):
    a request waits OPEN311_DB_POOL_TIMEOUT seconds, then is a 503 with Retry-After."""
    _, url, key = cluster
    app = create_app(
        {"DATABASE_URL": url, "DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0, "DB_POOL_TIMEOUT": 1}
    )
    writes, reads = Database.engines(app)
    try:
        with reads.connect(), writes.connect():  # the pools' only connections, held
            client = app.test_client()
            started = time.monotonic()
            assert_unavailable(client.get(f"/open311/v2/requests.{fmt}"), fmt)
            assert time.monotonic() - started >= 1
            assert_unavailable(
                client.post(f"/open311/v2/requests.{fmt}", data={**GRAFFITI, "api_key": key}), fmt
            )
        assert app.test_client().get(f"/open311/v2/requests.{fmt}").status_code == 200
    finally:
        for engine in (writes, reads):
            engine.dispose()
