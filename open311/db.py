"""Engine and sessions: one session per HTTP request, closed at teardown.

The session factory is replaceable (``db.set_session_factory(app, factory)``): the test
suite hands the app sessions bound to one connection whose transaction it rolls back
after each test.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "open311_db"


class Database:
    def init_app(self, app: Flask, url: str | None) -> None:
        state: dict = {"engine": None, "factory": None}
        if url is not None:
            state["engine"] = make_engine(url, app.config["DB_POOL_SIZE"],
                                          app.config["DB_MAX_OVERFLOW"])
            state["factory"] = sessionmaker(state["engine"], expire_on_commit=False)
        app.extensions[EXTENSION] = state
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def set_session_factory(app: Flask, factory: Callable[[], Session]) -> None:
        app.extensions[EXTENSION]["factory"] = factory

    @staticmethod
    def engine(app: Flask | None = None) -> sa.Engine | None:
        return (app or current_app).extensions[EXTENSION]["engine"]

    def new_session(self, app: Flask | None = None) -> Session:
        factory = (app or current_app).extensions[EXTENSION]["factory"]
        if factory is None:
            raise RuntimeError("no database configured")
        return factory()

    @property
    def session(self) -> Session:
        """The current request's (or CLI command's) session, opened on first use."""
        if "db_session" not in g:
            g.db_session = self.new_session()
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10) -> sa.Engine:
    return sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                            pool_pre_ping=True)
