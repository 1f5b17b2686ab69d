"""Engine and sessions: one session per HTTP request, closed at teardown.

GET and HEAD requests get a read session whose connection is in autocommit: each statement
is its own snapshot and no BEGIN / ROLLBACK round trips are spent on a read (a GET that
needs one snapshot for two answers asks for them in one statement). Every other request,
and the CLI, gets an ordinary transactional session.

The session factory is replaceable (``db.set_session_factory(app, factory)``): the test
suite hands the app sessions bound to one connection whose transaction it rolls back
after each test.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "open311_db"
READ_METHODS = frozenset({"GET", "HEAD"})

# A pooled connection idle longer than this is checked with a round trip before use (the
# database may have restarted meanwhile); a busy worker's connections are not pinged.
PING_AFTER_IDLE_SECONDS = 10.0


class Database:
    def init_app(self, app: Flask, url: str | None) -> None:
        state: dict = {"engine": None, "factory": None, "read_factory": None}
        if url is not None:
            size, overflow = app.config["DB_POOL_SIZE"], app.config["DB_MAX_OVERFLOW"]
            engine = make_engine(url, size, overflow)
            # Reads have their own pool of connections that stay in autocommit (switching a
            # shared connection per checkout costs more than the read's own statement).
            reader = make_engine(url, size, overflow, isolation_level="AUTOCOMMIT")
            state["engine"], state["read_engine"] = engine, reader
            state["factory"] = sessionmaker(engine, expire_on_commit=False)
            state["read_factory"] = lambda: ReadSession(bind=reader.connect(),
                                                        expire_on_commit=False)
        app.extensions[EXTENSION] = state
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def set_session_factory(app: Flask, factory: Callable[[], Session] | None) -> None:
        """Replace both factories (reads and writes) with ``factory`` (None: no database)."""
        app.extensions[EXTENSION]["factory"] = factory
        app.extensions[EXTENSION]["read_factory"] = factory

    @staticmethod
    def engine(app: Flask | None = None) -> sa.Engine | None:
        return (app or current_app).extensions[EXTENSION]["engine"]

    @staticmethod
    def engines(app: Flask | None = None) -> list[sa.Engine]:
        """The engines of writes and reads (empty without a database)."""
        state = (app or current_app).extensions[EXTENSION]
        return [e for e in (state["engine"], state.get("read_engine")) if e is not None]

    def new_session(self, app: Flask | None = None, *, read: bool = False) -> Session:
        state = (app or current_app).extensions[EXTENSION]
        factory = state["read_factory" if read else "factory"]
        if factory is None:
            raise RuntimeError("no database configured")
        return factory()

    @property
    def session(self) -> Session:
        """The current request's (or CLI command's) session, opened on first use: a read
        session (autocommit) for GET and HEAD."""
        if "db_session" not in g:
            read = has_request_context() and request.method in READ_METHODS
            g.db_session = self.new_session(read=read)
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


class ReadSession(Session):
    """A GET request's session, bound to one autocommit connection checked out for it.
    ``connection()`` hands that connection over as it is, without opening a session
    transaction (the hot read paths run their statements on it); ORM queries use it too.
    Closing the session returns the connection to the pool."""

    def connection(self, bind_arguments=None, execution_options=None) -> sa.Connection:
        if bind_arguments is None and execution_options is None:
            return self.bind
        return super().connection(bind_arguments, execution_options)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.bind.close()


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10,
                **options) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow, **options)
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """``pool_pre_ping``, but only for connections that sat in the pool ``idle_seconds`` or
    more: a dead one is replaced before the request uses it (the pool retries the checkout).
    A connection that dies while in use is invalidated by SQLAlchemy, and with it every
    connection older than it."""

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as exc:  # any driver error: the connection is not usable
            raise sa.exc.DisconnectionError(f"pooled connection is dead: {exc}") from exc
