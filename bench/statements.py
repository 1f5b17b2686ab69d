"""What the app sends to PostgreSQL, as the DBAPI cursor receives it: SQL text and parameters,
for the RAW bounds of bench/run.py and bench/geo_points.py."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def recorded(engines: Iterable[sa.Engine]) -> Iterator[list[tuple[str, dict]]]:
    """Every statement sent meanwhile, in order: through SQLAlchemy on ``engines``
    (``before_cursor_execute``) and straight to the driver (the ``open311.sql`` log,
    open311/repository/driver.py)."""
    seen: list[tuple[str, dict]] = []
    engines = list(engines)

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, dict(parameters or {})))

    class Driver(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.sql, dict(record.params or {})))

    handler, sql_log = Driver(logging.DEBUG), logging.getLogger("open311.sql")
    level = sql_log.level
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", listener)
    sql_log.addHandler(handler)
    sql_log.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", listener)
        sql_log.removeHandler(handler)
        sql_log.setLevel(level)
