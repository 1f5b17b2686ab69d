"""Engine and sessions: one session per HTTP request (and CLI command), closed at teardown.

GET and HEAD requests get a read session whose connection is in autocommit: each statement
is its own snapshot and no BEGIN / ROLLBACK round trips are spent on a read (a GET that
needs one snapshot for two answers asks for them in one statement). So does a view marked
``@autocommit``, whose writes are one statement (POST Service Request: atomic on its own,
no BEGIN / COMMIT round trips). The process keeps one idle read session, and the
connection under it, for the next such request (``HeldReadSessions``). Every other
request, and the CLI, gets an ordinary transactional session.

The test suite runs these same sessions inside one connection whose transaction it rolls
back after each test (``Database.bind``); a test that injects a fault replaces them
(``Database.set_session_factory``).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request
from psycopg.pq import TransactionStatus
from sqlalchemy.orm import Session, sessionmaker

from open311.changes import ChangeFeed, changed_by
from open311.repository.driver import driver_connection

EXTENSION = "open311_db"
CHANGES = "open311_changes"
READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A pooled connection idle longer than this is checked with a round trip before use (the
# database may have restarted meanwhile); a busy worker's connections are not pinged.
PING_AFTER_IDLE_SECONDS = 10.0
IDLE = TransactionStatus.IDLE


@dataclass
class Sessions:
    """Where an app's sessions come from: ``write`` (transactional) and ``read`` (autocommit:
    GET, HEAD and ``@autocommit`` views); ``engines``: the pools under them, if the app owns
    them; ``reads``: the kept read session, if any."""

    write: Callable[[], Session]
    read: Callable[[], Session]
    engines: tuple[sa.Engine, ...] = ()
    reads: HeldReadSessions | None = None


class Database:
    def init_app(self, app: Flask, url: str | None) -> None:
        sessions = None
        if url is not None:
            size, overflow = app.config["DB_POOL_SIZE"], app.config["DB_MAX_OVERFLOW"]
            wait = app.config["DB_POOL_TIMEOUT"]
            engine = make_engine(url, size, overflow, pool_timeout=wait)
            # Reads have their own pool of connections that stay in autocommit (switching a
            # shared connection per checkout costs more than the read's own statement).
            reader = make_engine(
                url, size, overflow, pool_timeout=wait, isolation_level="AUTOCOMMIT"
            )
            held = HeldReadSessions(reader.connect, PING_AFTER_IDLE_SECONDS)
            sessions = Sessions(
                sessionmaker(engine, expire_on_commit=False), held.get, (engine, reader), held
            )
        app.extensions[EXTENSION] = sessions
        app.extensions[CHANGES] = ChangeFeed(
            None if sessions is None else _listener_connection(sessions.engines[-1])
        )
        app.after_request(_marks_moved)
        app.teardown_request(_writes_end)
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def bind(app: Flask, connection: sa.Connection | None) -> None:
        """Run the app's sessions, the same classes as with its own pools, inside
        ``connection``'s transaction (the test harness rolls it back after each test); each
        session works in a savepoint of it. None: no database."""
        if connection is None:
            app.extensions[EXTENSION] = None
            return
        held = HeldReadSessions(
            lambda: connection,
            PING_AFTER_IDLE_SECONDS,
            owned=False,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        write = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        app.extensions[EXTENSION] = Sessions(write, held.get, (), held)

    @staticmethod
    def set_session_factory(app: Flask, factory: Callable[[], Session]) -> None:
        """Replace the app's sessions, reads and writes, with ``factory``'s (a test that
        injects a fault)."""
        app.extensions[EXTENSION] = Sessions(factory, factory)

    @staticmethod
    def sessions(app: Flask | None = None) -> Sessions | None:
        return (app or current_app).extensions[EXTENSION]

    @classmethod
    def engine(cls, app: Flask | None = None) -> sa.Engine | None:
        """The engine of writes (None without a database of the app's own)."""
        engines = cls.engines(app)
        return engines[0] if engines else None

    @classmethod
    def engines(cls, app: Flask | None = None) -> list[sa.Engine]:
        """The engines of writes and reads (empty without a database of the app's own)."""
        sessions = cls.sessions(app)
        return list(sessions.engines) if sessions is not None else []

    def new_session(self, app: Flask | None = None, *, read: bool = False) -> Session:
        sessions = self.sessions(app)
        if sessions is None:
            raise RuntimeError("no database configured")
        return sessions.read() if read else sessions.write()

    @property
    def session(self) -> Session:
        """The current request's (or CLI command's) session, opened on first use: a read
        session (autocommit) for GET and HEAD, and for a view marked ``@autocommit``."""
        if "db_session" not in g:
            read = has_request_context() and (
                request.method in READ_METHODS or _view_is_autocommit()
            )
            g.db_session = self.new_session(read=read)
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if not g.get("open311_request_ended"):
                # A CLI command: this process may keep answers its writes changed; others
                # learn of them from the change notices.
                changes().changed(changed_by(session))
            session.close()


def changes(app: Flask | None = None) -> ChangeFeed:
    """The app's change feed (open311.changes)."""
    return (app or current_app).extensions[CHANGES]


def _marks_moved(response: Response) -> Response:
    """A write request moves the change marks before its answer leaves (its transaction
    ended in the view): those of the requests its session noted, else everything's; a
    refusal none (it stored nothing: the suite proves it of every refusal); a failure
    everything's."""
    if request.method in WRITE_METHODS:
        session = g.get("db_session")
        noted = changed_by(session) if session is not None else set()
        if response.status_code >= 500:
            noted = None
        elif response.status_code >= 400:
            noted = set()
        changes().changed(noted)
        g.open311_marks_moved = True
    return response


def _writes_end(_exc: BaseException | None) -> None:
    """A write request whose answer was not made (an error escaped every handler) moves
    everything's mark; the session forgets what it noted (a read session is kept from one
    request to the next)."""
    g.open311_request_ended = True
    session = g.get("db_session")
    if session is not None:
        changed_by(session)
    if request.method in WRITE_METHODS and not g.get("open311_marks_moved"):
        changes().changed()


def _listener_connection(engine: sa.Engine) -> Callable[[], sa.Connection]:
    """Connections for the change listener: in autocommit, and out of the pool, which it
    would hold forever."""

    def connect() -> sa.Connection:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn.detach()
        return conn

    return connect


AUTOCOMMIT = "open311_autocommit"


def autocommit(view: Callable) -> Callable:
    """Mark a view whose request runs on an autocommit session, as a GET does: each
    statement commits on its own. Only for a view that writes in ONE statement (or none): a
    write of several statements would not be atomic. The view's ``session.commit()`` still
    runs (a no-op in autocommit; a savepoint released under the test harness). The mark is
    an attribute of the view, which decorators written with functools.wraps carry: it is
    read when the request's session opens, whichever decorator opens it."""
    setattr(view, AUTOCOMMIT, True)
    return view


def _view_is_autocommit() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, AUTOCOMMIT, False))


class ReadSession(Session):
    """A GET request's session, bound to one autocommit connection checked out for it.
    ``connection()`` hands that connection over as it is, without opening a session
    transaction (the hot paths run their statements on it); ORM queries use it too.
    Closing the session ends its ORM state (objects, session transaction); the connection
    goes back to the pool, unless ``holder`` keeps both for the process's next GET."""

    def __init__(self, conn: sa.Connection, *, holder: HeldReadSessions, **kwargs) -> None:
        super().__init__(bind=conn, **kwargs)
        self.conn = conn
        self.holder = holder

    def connection(self, bind_arguments=None, execution_options=None) -> sa.Connection:
        # Under the test harness (a lent connection) the session's savepoint, so a statement
        # that fails undoes only its own work, as it does in autocommit.
        if bind_arguments is None and execution_options is None and self.holder.owned:
            return self.conn
        return super().connection(bind_arguments, execution_options)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self.holder.keep(self):
                self.release()

    def release(self) -> None:
        """Give the connection back to the pool (not one the holder does not own). One
        that broke was invalidated as its statement failed (by SQLAlchemy, or by the lean
        runner as SQLAlchemy does), so the pool discards it."""
        if self.holder.owned:
            self.conn.close()


class HeldReadSessions:
    """The process keeps one idle read session, and the connection under it, from one GET
    to the next: a GET takes it (no pool checkout and no new Session) and gives it back as
    it closes. A GET that finds it in use opens its own, and of those closing together only
    one is kept, so an idle client connection (a greenlet under gevent, waiting for its
    next request) never holds a database connection.

    A kept session is used again only when sound: a connection that SQLAlchemy invalidated
    during a request (the server went away) or that was closed is dropped, and the next GET
    checks out another. One that sat ``idle_seconds`` or more is pinged before use, as the
    pool pings its idle connections (``_ping_when_idle``), and replaced if dead.

    ``connect``: a new connection (the read pool's checkout). ``owned`` False: connections
    lent by the caller (the test harness's), never kept nor closed here."""

    def __init__(
        self,
        connect: Callable[[], sa.Connection],
        idle_seconds: float,
        *,
        owned: bool = True,
        **session_options: Any,
    ) -> None:
        self.connect = connect
        self.idle_seconds = idle_seconds
        self.owned = owned
        self.session_options = session_options or {"expire_on_commit": False}
        self._lock = threading.Lock()  # held for a swap only, never across I/O
        self._kept: ReadSession | None = None
        self._idle_since = 0.0

    @property
    def kept_session(self) -> ReadSession | None:
        """The session kept for the next GET (None while it is in use)."""
        return self._kept

    def get(self) -> ReadSession:
        with self._lock:
            session, self._kept = self._kept, None
            idle_since = self._idle_since
        if session is not None:
            if time.monotonic() - idle_since < self.idle_seconds or _alive(
                session.conn.connection.dbapi_connection
            ):
                return session
            session.conn.invalidate()
            session.release()
        return ReadSession(self.connect(), holder=self, **self.session_options)

    def keep(self, session: ReadSession) -> bool:
        """Called as ``session`` closes: keep it for the next GET (True) if none is kept
        and its connection is sound and idle on the server (no statement or transaction
        left open), else let it go (False): the pool's reset or invalidation then deals
        with the connection."""
        bind = session.conn
        if (
            not self.owned
            or bind.closed
            or bind.invalidated
            or driver_connection(bind).info.transaction_status != IDLE
        ):
            return False
        with self._lock:
            if self._kept is not None:
                return self._kept is session  # closed twice: kept once
            self._kept, self._idle_since = session, time.monotonic()
        return True

    def release_all(self) -> None:
        """Give the kept connection back to the pool (tests, shutdown)."""
        with self._lock:
            session, self._kept = self._kept, None
        if session is not None:
            session.release()


# Settings of the server's own connections (sent when each connects, no round trip): JIT
# compilation and parallel workers cost an API's many small queries more than they save
# (bench/RESULTS.md). The benchmark's RAW bound runs with them too.
SESSION_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0"}


def session_options(url: str | sa.URL) -> str:
    """libpq ``options`` for SESSION_SETTINGS, after any the URL already gives."""
    given = sa.make_url(url).query.get("options")
    ours = " ".join(f"-c {name}={value}" for name, value in SESSION_SETTINGS.items())
    given = " ".join(given) if isinstance(given, tuple) else given
    return f"{given} {ours}" if given else ours


# A database that does not answer (a host gone, a network partition) fails a request after
# this long, as a 503, instead of holding it for the operating system's TCP timeout.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10, **options) -> sa.Engine:
    connect_args = {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # Over TCP, a server gone without a word (a partition) is found within a minute,
        # not the system's 15 (the change listener waits on its connection for good).
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
        **options.pop("connect_args", {}),
        "options": session_options(url),
    }
    # hide_parameters: SQLAlchemy's statement logs and errors never show a value (a
    # resident's contact details travel as parameters).
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
        hide_parameters=True,
        **options,
    )
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
        if not _alive(dbapi_connection):
            raise sa.exc.DisconnectionError("pooled connection is dead")


def _alive(dbapi_connection) -> bool:
    """One round trip: does the server still answer on this connection?"""
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()
    except Exception:  # any driver error: the connection is not usable
        return False
    return True


# What a database that is down, restarting or out of connections raises: from SQLAlchemy
# (its own pool timeout, or the driver's error wrapped) or straight from the driver.
_UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sa.exc.DisconnectionError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (a 503), not that a query or
    the code is wrong."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _UNAVAILABLE)


def describe_error(error: BaseException) -> str:
    """One log line about ``error``: its type and where it was raised. Of a database error,
    its SQLSTATE and constraint, and the server's message only when it is about the
    connection: never the statement, its parameters or a message quoting a value, which
    may carry personal data."""
    cause = error.orig if isinstance(error, sa.exc.StatementError) and error.orig else error
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else ""
    if isinstance(cause, psycopg.Error):
        text = f"{type(cause).__name__}{' ' + cause.sqlstate if cause.sqlstate else ''}{where}"
        if cause.diag.constraint_name:
            text += f" (constraint {cause.diag.constraint_name})"
        if database_unavailable(cause):
            text += f": {' '.join(str(cause).split())[:200]}"
        return text
    if isinstance(cause, sa.exc.StatementError):  # its text quotes the parameters
        return f"{type(cause).__name__}{where}"
    return f"{type(cause).__name__}{where}: {' '.join(str(cause).split())[:200]}"
