"""Connections: reads in autocommit, and a pooled connection found dead after idling is
replaced before a request uses it."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from open311.db import PING_AFTER_IDLE_SECONDS, HeldReadSessions, _ping_when_idle, make_engine

ONE = sa.select(sa.literal(1, sa.Integer).label("one"))


def _terminate(database_url: str, pid: int) -> None:
    """End a backend from another connection (as a database restart would)."""
    admin = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        admin.dispose()


def test_a_dead_idle_connection_is_replaced_on_checkout(database_url):
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    _ping_when_idle(engine, 0.0)  # every checkout after a checkin pings
    try:
        with engine.connect() as conn:
            first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        _terminate(database_url, first)
        with engine.connect() as conn:  # the ping fails, the pool connects again
            second = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert second != first
    finally:
        engine.dispose()


def test_busy_connections_are_not_pinged(database_url):
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    statements: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
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

    from open311.db import Database

    app = Flask("reads")
    app.config.update(DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=10)
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
        # The process keeps its read connection for its next GET; the write one went back.
        reads, writes = Database.engines(app)[1].pool, Database.engines(app)[0].pool
        assert (reads.checkedout(), writes.checkedout()) == (1, 0)
        Database.sessions(app).reads.release_all()
        assert reads.checkedout() == 0
    finally:
        for engine in Database.engines(app):
            engine.dispose()


def _backend(session) -> int:
    return session.connection().execute(sa.text("SELECT pg_backend_pid()")).scalar()


def test_the_process_keeps_one_read_session_from_one_get_to_the_next(database_url):
    """No checkout and no new Session per GET: the same session and connection, its ORM
    state emptied in between, whichever thread (or greenlet) serves the next GET."""
    from open311.models import Jurisdiction

    engine = make_engine(database_url, 2, 0, isolation_level="AUTOCOMMIT")
    held = HeldReadSessions(engine.connect, PING_AFTER_IDLE_SECONDS)
    try:
        first = held.get()
        pid = _backend(first)
        first.add(Jurisdiction(jurisdiction_id="never.stored"))  # ORM state (never flushed)
        assert len(first.new) == 1
        first.close()
        first.close()  # closing twice keeps it once
        assert engine.pool.checkedout() == 1
        second = held.get()
        assert second is first and _backend(second) == pid
        assert len(second.new) == 0 and len(second.identity_map) == 0
        other = held.get()  # a second session while the first is in use: its own connection
        assert other is not second and _backend(other) != pid
        other.close()  # one of the two is kept; the other goes back to the pool
        second.close()
        assert engine.pool.checkedout() == 1
        kept = _backend(held.kept_session)
        results: list[int] = []

        def another_thread() -> None:
            session = held.get()
            results.append(_backend(session))
            session.close()

        thread = threading.Thread(target=another_thread)
        thread.start()
        thread.join()
        assert results == [kept]  # the next GET takes it, in whatever thread
        assert engine.pool.checkedout() == 1
    finally:
        held.release_all()
        engine.dispose()


def test_a_kept_connection_is_pinged_after_idling_and_replaced_if_dead(database_url):
    engine = make_engine(database_url, 2, 0, isolation_level="AUTOCOMMIT")
    held = HeldReadSessions(engine.connect, 0.0)  # every reuse counts as after idling
    statements: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    try:
        session = held.get()
        pid = _backend(session)
        session.close()
        again = held.get()  # alive: pinged (by the driver, not through SQLAlchemy), kept
        assert again is session and _backend(again) == pid
        again.close()
        _terminate(database_url, pid)
        replaced = held.get()  # the ping fails: a new connection, before any use
        assert replaced is not session
        assert _backend(replaced) != pid
        replaced.close()
        assert engine.pool.checkedout() == 1
    finally:
        held.release_all()
        engine.dispose()


def test_a_connection_left_unsound_is_not_kept(database_url):
    """Invalidated (the server went away during the request), closed, or with a
    transaction left open: the session lets its connection go, and the next GET checks out
    another."""
    engine = make_engine(database_url, 3, 0, isolation_level="AUTOCOMMIT")
    held = HeldReadSessions(engine.connect, PING_AFTER_IDLE_SECONDS)
    try:
        session = held.get()
        session.connection().invalidate()
        session.close()
        assert held.kept_session is None
        assert engine.pool.checkedout() == 0

        session = held.get()
        pid = _backend(session)
        session.connection().exec_driver_sql("BEGIN")  # explicit, on an autocommit connection
        session.close()
        assert held.kept_session is None
        assert engine.pool.checkedout() == 0
        fresh = held.get()
        status = fresh.connection().connection.dbapi_connection.info.transaction_status
        assert status == TransactionStatus.IDLE  # whichever connection: no open transaction
        fresh.close()
        assert pid  # (the pool reset the one left in a transaction: rolled back)
    finally:
        held.release_all()
        engine.dispose()


def test_sessions_in_use_at_once_keep_one_connection_afterwards(database_url):
    """Many GETs at once (threads, or greenlets each serving a client connection): each
    has a connection while it runs; afterwards one is kept and the rest are back in the
    pool, so clients waiting between requests hold no database connection."""
    engine = make_engine(database_url, 5, 0, isolation_level="AUTOCOMMIT")
    held = HeldReadSessions(engine.connect, PING_AFTER_IDLE_SECONDS)
    try:
        sessions = [held.get() for _ in range(5)]
        assert len({_backend(session) for session in sessions}) == 5
        assert engine.pool.checkedout() == 5
        for session in sessions:
            session.close()
        assert engine.pool.checkedout() == 1
        assert held.kept_session in sessions
    finally:
        held.release_all()
        engine.dispose()
    assert engine.pool.checkedout() == 0


def test_a_connection_the_server_dropped_during_a_request_is_discarded(database_url, caplog):
    """A statement sent straight to the driver fails on a connection the server dropped
    (SQLAlchemy does not see it): the session is not kept, the connection is invalidated
    rather than reset (no pool error in the log), and the next GET gets a new one."""
    import logging

    import pytest

    from open311.repository.driver import driver_rows

    engine = make_engine(database_url, 1, 0, isolation_level="AUTOCOMMIT")
    held = HeldReadSessions(engine.connect, PING_AFTER_IDLE_SECONDS)
    try:
        session = held.get()
        pid = _backend(session)
        _terminate(database_url, pid)
        with pytest.raises(sa.exc.OperationalError) as raised:
            driver_rows(session.connection(), ONE, {})
        assert raised.value.connection_invalidated  # raised as SQLAlchemy raises its own
        with caplog.at_level(logging.ERROR, logger="sqlalchemy.pool"):
            session.close()
        assert held.kept_session is None
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        fresh = held.get()
        assert _backend(fresh) != pid
        fresh.close()
    finally:
        held.release_all()
        engine.dispose()


def test_statements_sent_to_the_driver_reuse_one_cursor_per_connection(database_url):
    """The driver path keeps one cursor per connection: the same cursor for the next
    statement, a fresh one when it was closed, and a fresh one on the connection that
    replaces a dropped one (the pool empties the connection's info). Rows are read by the
    names of the statement's columns."""
    import psycopg
    import pytest

    from open311.repository.driver import _cursor, driver_rows

    plus = sa.select((sa.bindparam("n", type_=sa.Integer) + 1).label("m"))
    engine = make_engine(database_url, 1, 0, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            rows = driver_rows(conn, plus, {"n": 1})
            assert rows == [(2,)] and rows.names == ("m",) and rows.value(0, "m") == 2
            cursor = _cursor(conn)
            assert cursor.format == psycopg.pq.Format.BINARY
            assert driver_rows(conn, plus, {"n": 2}).named()[0].m == 3
            assert _cursor(conn) is cursor
            cursor.close()
            assert driver_rows(conn, ONE, {}) == [(1,)]
            assert _cursor(conn) is not cursor
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            kept = _cursor(conn)
        with engine.connect() as conn:  # the same pooled connection: the same cursor
            assert _cursor(conn) is kept
            _terminate(database_url, pid)
            with pytest.raises(sa.exc.OperationalError):
                conn.execute(sa.text("SELECT 1"))  # SQLAlchemy sees it and invalidates
        with engine.connect() as conn:  # a new driver connection, a new cursor
            assert driver_rows(conn, ONE, {}) == [(1,)]
            assert _cursor(conn) is not kept
            assert _cursor(conn).connection is conn.connection.dbapi_connection
    finally:
        engine.dispose()


def test_lists_by_box_circle_area_or_text_are_planned_for_their_values(database_url):
    """The default list's statement is prepared after a few calls (one plan serves every
    call); a list by box, circle, area or text is never prepared, so PostgreSQL plans it
    for its own values each time instead of settling on one generic plan for every box."""
    import datetime as dt

    from sqlalchemy.orm import Session

    from open311.repository import request_filters, request_search

    engine = make_engine(database_url, 1, 0, isolation_level="AUTOCOMMIT")
    now = dt.datetime.now(dt.UTC)
    window = {"start": now - dt.timedelta(days=90), "visible_by": now}
    try:
        with Session(engine) as session:
            pk = 1  # no rows needed: a statement is prepared for its calls, not its rows
            by_value = [
                request_filters.Filters(bbox=(-118.3, 34.0, -118.2, 34.1), **window),
                request_filters.Filters(near=(-118.24, 34.05, 500.0), **window),
                request_filters.Filters(text="graffiti", **window),
            ]
            assert all(request_filters.plans_by_value(f) for f in by_value)
            assert not request_filters.plans_by_value(request_filters.Filters(**window))
            assert not request_filters.plans_by_value(
                request_filters.Filters(ids=[1], bbox=(0, 0, 1, 1))
            )
            for _ in range(8):  # psycopg prepares a statement on its 5th call
                for filters in [request_filters.Filters(**window), *by_value]:
                    request_search.public_rows(
                        session,
                        pk,
                        filters,
                        limit=1000,
                        timezone="America/Los_Angeles",
                        with_last_change=True,
                    )
            prepared = list(
                session.scalars(sa.text("SELECT statement FROM pg_prepared_statements"))
            )
        lists = [s for s in prepared if "FROM service_request JOIN service" in s]
        assert len(lists) == 1  # the default list's, and none of the others
        assert "requested_datetime >=" in lists[0]
        assert not [s for s in lists if "ST_MakeEnvelope" in s or "websearch" in s]
    finally:
        engine.dispose()


def test_the_servers_connections_run_without_jit_or_parallel_workers(database_url):
    """Both of the app's engines connect with SESSION_SETTINGS (JIT off, no parallel
    workers), after the options the URL gives."""
    from open311.db import SESSION_SETTINGS, session_options

    assert (
        session_options("postgresql+psycopg://u@/db?options=-c%20work_mem%3D8MB")
        == "-c work_mem=8MB -c jit=off -c max_parallel_workers_per_gather=0"
    )
    for isolation in ("READ COMMITTED", "AUTOCOMMIT"):
        engine = make_engine(database_url, 1, 0, isolation_level=isolation)
        try:
            with engine.connect() as conn:
                for name, value in SESSION_SETTINGS.items():
                    assert conn.exec_driver_sql(f"SHOW {name}").scalar() == value
        finally:
            engine.dispose()


def test_statement_logs_never_show_parameter_values(database_url, caplog):
    """With SQLAlchemy's statement log on (as an operator may turn it on), a statement is
    logged but its values are not: a resident's contact details travel as parameters."""
    import logging

    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    engine = make_engine(database_url, 1, 0)
    secret = "resident-7d1f@example.org"
    try:
        with engine.connect() as conn:
            echoed = conn.execute(
                sa.select(sa.bindparam("email", type_=sa.Text)), {"email": secret}
            ).scalar()
    finally:
        engine.dispose()
    assert echoed == secret
    assert "SELECT %(email)s" in caplog.text  # the statement was logged
    assert secret not in caplog.text
