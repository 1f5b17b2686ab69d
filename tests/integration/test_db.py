"""Connections: reads in autocommit, and a pooled connection found dead after idling is
replaced before a request uses it."""

from __future__ import annotations

import sqlalchemy as sa

from open311.db import PING_AFTER_IDLE_SECONDS, _ping_when_idle, make_engine


def test_a_dead_idle_connection_is_replaced_on_checkout(database_url):
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    _ping_when_idle(engine, 0.0)  # every checkout after a checkin pings
    try:
        with engine.connect() as conn:
            first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with make_engine(database_url).connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            admin.commit()
        with engine.connect() as conn:  # the ping fails, the pool connects again
            second = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert second != first
    finally:
        engine.dispose()


def test_busy_connections_are_not_pinged(database_url):
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statements.append(statement))
    try:
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1 AS one"))
        assert statements == ["SELECT 1 AS one"] * 3  # no ping within the idle time
        assert PING_AFTER_IDLE_SECONDS >= 1
    finally:
        engine.dispose()


def test_reads_run_in_autocommit(database_url):
    """A GET's session runs on an autocommit connection: no BEGIN is sent (the server's
    transaction status stays idle after a statement), and closing it returns the connection
    to the pool."""
    from flask import Flask
    from psycopg.pq import TransactionStatus

    from open311.db import Database

    app = Flask("reads")
    app.config.update(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0)
    database = Database()
    database.init_app(app, database_url)
    try:
        for method, autocommit in (("GET", True), ("HEAD", True), ("POST", False)):
            with app.test_request_context("/open311/v2/requests.json", method=method):
                connection = database.session.connection()
                raw = connection.connection.dbapi_connection
                assert raw.autocommit is autocommit, method
                assert connection.execute(sa.text("SELECT 1")).scalar() == 1
                idle = raw.info.transaction_status == TransactionStatus.IDLE
                assert idle is autocommit, method  # a write session did BEGIN
        pool = Database.engines(app)[1].pool
        assert pool.checkedout() == 0  # every read connection went back
    finally:
        for engine in Database.engines(app):
            engine.dispose()
