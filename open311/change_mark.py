"""The change mark itself (see open311.changes): 8 bytes of memory shared by the processes
forked after this module is imported. gunicorn's master imports it through open311.serving,
so it imports the standard library only: a driver imported before the workers' gevent
patches the standard library would block them on every wait."""

from __future__ import annotations

import mmap
import os

_MARK = mmap.mmap(-1, 8)  # anonymous and shared


def mark() -> bytes:
    """The mark as it stands (compare it, nothing else)."""
    return _MARK[:8]


def move() -> None:
    """Move the mark to a value it never had: equal marks mean no change in between, even
    when two processes move it at once (neither can write back a value read before)."""
    _MARK[:8] = os.urandom(8)
