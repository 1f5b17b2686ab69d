"""The change marks: numbers that move whenever an answer a worker keeps may have gone stale.

A worker keeps GET request by id answers (``operations.kept_answers``) and uses one only
while the marks it depends on (everything's, and its request's) are what they were before
the answer was read. Two things move them:

- a write through any worker of this host, before its answer leaves (``ChangeFeed.changed``
  after every request that may write): the marks of the requests it changed, when its
  session says which (``will_change``), else everything's. The marks live in memory shared
  by the host's workers (``open311.change_mark``, which gunicorn's master imports before it
  forks them), so a client never reads back what was there before its own write, whichever
  worker answers it;
- any other write (the CLI, another host, SQL by hand): triggers on the tables those answers
  read NOTIFY ``open311_changes`` as the write commits, with the ids of the requests changed
  or deleted, or nothing for everything (migration 0007), and a thread of each process
  LISTENs and moves the marks. Until that listener is connected (at start, and again after
  its connection broke) nothing kept is used.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.change_mark import mark, move
from open311.repository.driver import driver_connection

log = logging.getLogger(__name__)

CHANGED = "open311_changed_requests"  # a session's info: the requests its writes change

LISTEN = sa.text("LISTEN open311_changes")
PING = sa.text("SELECT 1")


class ChangeFeed:
    """One app's view of the marks, and its listener (``connect``: a connection of the app's
    own in autocommit, as notices reach a connection between transactions only, which the
    listener keeps; None: the app has none, as under the test harness, whose writes roll
    back and notify nobody, so nothing kept is ever used there).

    ``check_seconds``: how often a quiet listener checks its connection with a round trip;
    ``retry_seconds``: how long it waits before connecting again after a failure."""

    def __init__(
        self,
        connect: Callable[[], sa.Connection] | None,
        *,
        check_seconds: float = 5.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.connect = connect
        self.check_seconds = check_seconds
        self.retry_seconds = retry_seconds
        self._started_in: int | None = None  # the process whose listener was started
        self._listening_in: int | None = None  # the process whose listener is connected
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def mark(self, pk: int | None = None) -> bytes:
        return mark(pk)

    def changed(self, pks: Iterable[int] | None = None) -> None:
        """The requests ``pks`` changed (None: anything may have)."""
        move(pks)

    def listening(self) -> bool:
        """True while this process's listener is connected: kept answers may be used. The
        first call in a process (a worker, after the fork) starts its listener."""
        pid = os.getpid()
        if self._started_in != pid and self.connect is not None:
            self._start(pid)
        return self._listening_in == pid

    def stop(self) -> None:
        """End the listener (within ``check_seconds``) and use nothing kept from now on."""
        self._stop.set()
        self._listening_in = None
        move()

    def _start(self, pid: int) -> None:
        with self._lock:
            if self._started_in == pid or self._stop.is_set():
                return
            self._started_in = pid
            threading.Thread(
                target=self._listen, args=(pid,), name="open311-changes", daemon=True
            ).start()

    def _listen(self, pid: int) -> None:
        assert self.connect is not None
        failed = False
        while not self._stop.is_set():
            try:
                with self.connect() as conn:
                    conn.execute(LISTEN)
                    move()  # what was kept while it was away may predate a missed notice
                    self._listening_in = pid
                    if failed:
                        log.info("change listener connected again: kept answers in use")
                    failed = False
                    notices = driver_connection(conn).notifies
                    while not self._stop.is_set():
                        for notice in notices(timeout=self.check_seconds):
                            move(noticed(notice.payload))
                        conn.execute(PING)  # a connection gone quietly is found here
            except Exception as exc:  # any failure: stop trusting, connect again
                # INFO: the requests failing meanwhile log the outage, one line each
                if not failed:
                    log.info(
                        "change listener lost its connection (%s): kept answers unused",
                        type(exc).__name__,
                    )
                failed = True
            finally:
                if self._listening_in is not None:  # once, as it stops listening
                    self._listening_in = None
                    move()
            self._stop.wait(self.retry_seconds)


def noticed(payload: str) -> list[int] | None:
    """The requests a change notice names (None: everything, as an empty or unreadable
    notice says)."""
    try:
        return [int(pk) for pk in payload.split(",")] if payload else None
    except ValueError:
        return None


def will_change(session: Session, pks: Iterable[int] = ()) -> None:
    """Note that this session's writes change the requests ``pks`` and nothing else any
    kept answer shows (a new request: none). A write request whose session noted nothing
    moves everything's mark."""
    session.info.setdefault(CHANGED, set()).update(pks)


def changed_by(session: Session) -> set[int] | None:
    """What ``will_change`` noted (None: nothing noted), forgotten for the session's next
    request (a read session is kept from one request to the next)."""
    return session.info.pop(CHANGED, None)
