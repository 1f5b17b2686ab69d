"""The test harness: a real PostGIS (the project's private cluster, database
``open311_test``, recreated per run), migrated with Alembic once, and one transaction per
test that is rolled back at the end (the app gets sessions on savepoints inside it).

The LA demo jurisdiction is loaded once, committed, for the whole run: tests that need
more (a second jurisdiction, requests) add it inside their own transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from open311 import create_app, migrate
from open311.db import Database, make_engine
from open311.operations.bundles import load_bundle
from open311.pgcluster import TEST_DATA_DIR, Cluster
from open311.storage import LocalStorage
from tests.helpers import Api

ROOT = Path(__file__).resolve().parent.parent
LA_BUNDLE = ROOT / "jurisdictions" / "lacity.org"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("OPEN311_TEST_DATABASE_URL")
    if not url:
        url = Cluster(TEST_DATA_DIR, durable=False).ensure_database("open311_test", recreate=True)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)  # the server's own settings
    with Session(engine) as session:
        load_bundle(session, LA_BUNDLE)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(engine):
    # CACHE_SECONDS 0: each test's rolled-back data must not outlive it in the directory
    # cache (tests/integration/test_directory.py covers the cache itself).
    app = create_app({"DATABASE_URL": None, "TESTING": True, "CACHE_SECONDS": 0})
    return app


@pytest.fixture
def connection(engine, app):
    """One transaction per test, rolled back; the app's sessions live inside it."""
    conn = engine.connect()
    outer = conn.begin()
    Database.bind(app, conn)  # the server's own sessions, inside this transaction
    yield conn
    Database.bind(app, None)
    outer.rollback()
    conn.close()


@pytest.fixture
def app_with(connection):
    """Another app, made with these settings, its sessions in the test's transaction (as
    the suite's ``app``): for settings read when the app is made."""

    def make(**settings):
        other = create_app({"DATABASE_URL": None, "TESTING": True, "CACHE_SECONDS": 0, **settings})
        Database.bind(other, connection)
        return other

    return make


@pytest.fixture
def session(connection) -> Session:
    """A session for the test's own setup and checks, in the test's transaction."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
def client(app, connection):
    return app.test_client()


@pytest.fixture(params=["json", "xml"])
def fmt(request) -> str:
    return request.param


@pytest.fixture
def api(client, fmt) -> Api:
    return Api(client, fmt)


@pytest.fixture
def media_dir(app, tmp_path, monkeypatch):
    """Uploaded photos go to this test's own folder (the app is shared by the session)."""
    monkeypatch.setitem(app.extensions, "open311_storage", LocalStorage(tmp_path))
    return tmp_path
