"""The change mark: a number that moves whenever an answer a worker keeps may have gone stale.

A worker keeps GET request by id answers (``operations.kept_answers``) and uses one only
while the mark is what it was before the answer was read. Two things move it:

- a write through any worker of this host, before its answer leaves (``ChangeFeed.changed``
  after every request that may write). The mark lives in memory shared by the host's
  workers (``open311.change_mark``, which gunicorn's master imports before it forks them),
  so a client never reads back what was there before its own write, whichever worker
  answers it;
- any other write (the CLI, another host, SQL by hand): triggers on the tables those answers
  read NOTIFY ``open311_changes`` as the write commits (migration 0007), and a thread of
  each process LISTENs and moves the mark. Until that listener is connected (at start, and
  again after its connection broke) nothing kept is used.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import sqlalchemy as sa

from open311.change_mark import mark, move
from open311.repository.driver import driver_connection

log = logging.getLogger(__name__)

LISTEN = sa.text("LISTEN open311_changes")
PING = sa.text("SELECT 1")


class ChangeFeed:
    """One app's view of the mark, and its listener (``connect``: a connection of the app's
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

    def mark(self) -> bytes:
        return mark()

    def changed(self) -> None:
        """Something an answer reads may have changed (a write request ended)."""
        move()

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
                    move()  # what was kept before listening may predate a missed notice
                    self._listening_in = pid
                    if failed:
                        log.info("change listener connected again: kept answers in use")
                    failed = False
                    notices = driver_connection(conn).notifies
                    while not self._stop.is_set():
                        for _notice in notices(timeout=self.check_seconds):
                            move()
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
                self._listening_in = None
                move()
            self._stop.wait(self.retry_seconds)
