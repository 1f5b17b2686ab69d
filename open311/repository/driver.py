"""Statements sent straight to the driver (psycopg) on a SQLAlchemy connection: for the hot
paths, where SQLAlchemy's execution context and Row objects cost more than the statement.

Every statement run here is logged to ``open311.sql`` at DEBUG with its parameters (the
benchmark harness captures them this way to replay them as the RAW bound), except those a
caller names ``private`` (a resident's contact details): logged as ``<redacted>``.
"""

from __future__ import annotations

import collections
import functools
import logging

import sqlalchemy as sa

SQL_LOG = logging.getLogger("open311.sql")


class Rows(list):
    """Rows as the driver returns them (plain tuples), with their columns' positions."""

    def __init__(self, rows: list[tuple], names: list[str]):
        super().__init__(rows)
        self.names = names
        self.position = {name: index for index, name in enumerate(names)}

    def value(self, index: int, name: str):
        return self[index][self.position[name]]

    def named(self) -> list:
        """The rows as named tuples (``row.area_pks``), for the paths that read many."""
        record = collections.namedtuple("Record", self.names, rename=True)
        return [record._make(row) for row in self]


@functools.lru_cache(maxsize=512)
def _compiled(statement: sa.Select, dialect: sa.Dialect) -> tuple[sa.Compiled, list[str]]:
    return statement.compile(dialect=dialect), list(statement.selected_columns.keys())


REDACTED = "<redacted>"


def driver_rows(connection: sa.Connection, statement: sa.Select, values: dict, *,
                private: frozenset[str] = frozenset(), prepare: bool | None = None) -> Rows:
    """Run a prebuilt statement straight on the driver: compiled once per process, no
    SQLAlchemy execution context or Row objects per call (the hot GET paths). Binary
    results: PostgreSQL sends numbers without formatting them and the driver reads them
    without parsing (1000 requests: about a third less time on both sides).

    ``prepare``: None lets the driver prepare the statement after a few calls; False never
    prepares it, so PostgreSQL plans every call for its own values (a statement whose best
    plan depends on them: a prepared one may settle on a generic plan that is slow for
    many of them)."""
    compiled, names = _compiled(statement, connection.dialect)
    return Rows(_fetch(connection, compiled.string, compiled.construct_params(values),
                       binary=True, private=private, prepare=prepare), names)


def sql_rows(connection: sa.Connection, sql: str, params: dict) -> list[tuple]:
    """Run fixed SQL (a module constant, parameters bound as ``%(name)s``, never formatted
    in) straight on the driver; psycopg prepares it on the server after a few calls."""
    return _fetch(connection, sql, params, binary=False)


_CURSOR_KEYS = {True: "open311_binary_cursor", False: "open311_text_cursor"}


def _cursor(connection: sa.Connection, binary: bool):
    """The driver cursor this connection keeps for these statements, one per result format:
    made once per connection, not per statement (15-20 us of a 60-75 us lookup by id).

    Kept in the pool's ``info`` of the connection, which SQLAlchemy empties when it closes
    or invalidates the driver connection; a cursor is also replaced if it was closed or
    belongs to another driver connection. A connection serves one thread at a time, and
    each execute starts the cursor afresh; its last result stays with it until the next
    statement (one page's rows, at most max_requests)."""
    fairy = connection.connection
    raw = fairy.dbapi_connection
    key = _CURSOR_KEYS[binary]
    cursor = fairy.info.get(key)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = fairy.info[key] = raw.cursor(binary=binary)
    return cursor


def _fetch(connection: sa.Connection, sql: str, params: dict, *, binary: bool,
           private: frozenset[str] = frozenset(), prepare: bool | None = None) -> list[tuple]:
    if SQL_LOG.isEnabledFor(logging.DEBUG):
        logged = {name: REDACTED if name in private and value is not None else value
                  for name, value in params.items()} if private else params
        SQL_LOG.debug("%s", sql, extra={"sql": sql, "params": logged})
    cursor = _cursor(connection, binary)
    cursor.execute(sql, params, prepare=prepare)
    return cursor.fetchall()
