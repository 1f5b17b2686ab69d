"""The runner of the hot read paths (GET requests and by id, API keys, point lookups): a
prebuilt Core statement, compiled once per process, run on a driver cursor the connection
keeps, because SQLAlchemy's execution context and Row objects cost more than the statement
on these paths (bench/RESULTS.md). Everything else runs through the session.

Values are bound as SQLAlchemy binds them (each type's bind processor: JSON, for one). Rows
come back as the driver's tuples with their columns' names (``Rows``); callers read them by
name. Driver errors are raised as SQLAlchemy's (``DBAPIError`` and its subclasses), as the
session would raise them. Every statement is logged to ``open311.sql`` at DEBUG, with its
parameters only when the caller says they are public (the benchmark replays those as its
RAW bound): a POST's carry a resident's contact details.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
from collections.abc import Iterator
from typing import Any, NamedTuple, cast

import psycopg
import sqlalchemy as sa

SQL_LOG = logging.getLogger("open311.sql")


class Rows(list):
    """Rows as the driver returns them (plain tuples), with their columns' names."""

    def __init__(self, rows: list[tuple], names: tuple[str, ...]):
        super().__init__(rows)
        self.names = names
        self.position = {name: index for index, name in enumerate(names)}

    def value(self, index: int, name: str) -> Any:
        """Column ``name`` of row ``index``."""
        return self[index][self.position[name]]

    def named(self) -> list:
        """The rows as named tuples (``row.area_pks``)."""
        record = _record(self.names)
        return [record._make(row) for row in self]


@functools.lru_cache(maxsize=256)
def _record(names: tuple[str, ...]):
    return collections.namedtuple("Record", names, rename=True)


class _Compiled(NamedTuple):
    sql: str
    compiled: sa.Compiled
    names: tuple[str, ...]  # the result's columns
    processors: dict[str, Any]  # by parameter name: the bind processors of types that have one


def _compile(statement: sa.Select, dialect: sa.Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    processors: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        kind = bind.type.dialect_impl(dialect)
        if isinstance(kind, sa.ARRAY) and kind.item_type.bind_processor(dialect) is None:
            continue  # a list of plain values goes to the driver as it is
        processor = kind.bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    names = tuple(statement.selected_columns.keys())
    return _Compiled(compiled.string, compiled, names, processors)


_compiled = functools.lru_cache(maxsize=512)(_compile)


def _params(prepared: _Compiled, values: dict) -> dict:
    params = dict(prepared.compiled.construct_params(values) or {})
    for name, processor in prepared.processors.items():
        if params.get(name) is not None:
            params[name] = processor(params[name])
    return params


HIDDEN = "<hidden>"


def driver_rows(
    connection: sa.Connection,
    statement: sa.Select,
    values: dict,
    *,
    prepare: bool | None = None,
    public_values: bool = False,
) -> Rows:
    """Run a prebuilt statement (built once, e.g. at import or per shape) on the driver.
    Binary results: PostgreSQL sends numbers without formatting them and the driver reads
    them without parsing.

    ``prepare``: None lets the driver prepare the statement after a few calls; False never
    prepares it, so PostgreSQL plans every call for its own values (a statement whose best
    plan depends on them: a prepared one may settle on a generic plan that is slow for
    many of them).

    ``public_values``: the values may be logged (public data; else they show as hidden)."""
    prepared = _compiled(statement, connection.dialect)
    sql, params = prepared.sql, _params(prepared, values)
    if SQL_LOG.isEnabledFor(logging.DEBUG):
        logged = params if public_values else dict.fromkeys(params, HIDDEN)
        SQL_LOG.debug("%s", sql, extra={"sql": sql, "params": logged})
    try:
        cursor = _cursor(connection)
        cursor.execute(sql, params, prepare=prepare)
        return Rows(cursor.fetchall(), prepared.names)
    except psycopg.Error as error:
        raise _as_sqlalchemy(connection, sql, params, error) from error


def driver_batches(
    connection: sa.Connection, statement: sa.Select, values: dict, *, batch: int
) -> tuple[tuple[str, ...], Iterator[list[tuple]]]:
    """A statement's column names and its rows, ``batch`` at a time, from a server-side
    cursor on the driver (binary results, plain tuples): the bulk export, whose rows
    SQLAlchemy's result would cost more to make than PostgreSQL to read. The connection
    must be in a transaction; closing the iterator closes the cursor. The values are public
    (logged at DEBUG)."""
    prepared = _compile(statement, connection.dialect)  # one per export: not kept
    sql, params = prepared.sql, _params(prepared, values)
    if SQL_LOG.isEnabledFor(logging.DEBUG):
        SQL_LOG.debug("%s", sql, extra={"sql": sql, "params": params})

    def rows() -> Iterator[list[tuple]]:
        try:
            with driver_connection(connection).cursor(
                name=f"open311_batches_{next(_CURSORS)}", binary=True
            ) as cursor:
                cursor.execute(sql, params)
                while found := cursor.fetchmany(batch):
                    yield found
        except psycopg.Error as error:
            raise _as_sqlalchemy(connection, sql, params, error) from error

    return prepared.names, rows()


_CURSORS = itertools.count()


def driver_connection(connection: sa.Connection) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy connection that is open."""
    raw = connection.connection.dbapi_connection
    if raw is None:
        raise sa.exc.ResourceClosedError("the connection is closed")
    return cast(psycopg.Connection, raw)


_CURSOR_KEY = "open311_binary_cursor"


def _cursor(connection: sa.Connection) -> Any:
    """The driver cursor this connection keeps for these statements: made once per
    connection, not per statement. Kept in the pool's ``info`` of the connection, which
    SQLAlchemy empties when it closes or invalidates the driver connection; replaced if it
    was closed or belongs to another driver connection."""
    fairy = connection.connection
    raw = driver_connection(connection)
    cursor = fairy.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed or cursor.connection is not raw:
        cursor = fairy.info[_CURSOR_KEY] = raw.cursor(binary=True)
    return cursor


def _as_sqlalchemy(
    connection: sa.Connection, sql: str, params: Any, error: psycopg.Error
) -> sa.exc.StatementError:
    """``error`` as SQLAlchemy raises it; a connection the error broke is invalidated, as
    SQLAlchemy does for its own statements, so the pool replaces it."""
    raw = connection.connection.dbapi_connection
    broken = raw is None or raw.closed or raw.broken
    wrapped = sa.exc.DBAPIError.instance(
        sql, params, error, psycopg.Error, hide_parameters=True, connection_invalidated=broken
    )
    if broken and not connection.invalidated:
        connection.invalidate(error)
    return wrapped
