"""The change marks themselves (see open311.changes): memory shared by the processes forked
after this module is imported. gunicorn's master imports it through open311.serving, so it
imports the standard library only: a driver imported before the workers' gevent patches the
standard library would block them on every wait.

One mark for everything, and one per slot of request ids (a request's slot: its id modulo
SLOTS): a change to one request moves its slot's mark only, so what is kept of the others
stays in use."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable

SLOTS = 4096
_WIDTH = 8
_MARKS = mmap.mmap(-1, _WIDTH * (1 + SLOTS))  # anonymous and shared; [0]: everything


def mark(pk: int | None = None) -> bytes:
    """The marks an answer depends on: everything's, and with ``pk`` that request's slot's
    (compare them, nothing else)."""
    if pk is None:
        return _MARKS[:_WIDTH]
    at = _WIDTH * (1 + pk % SLOTS)
    return _MARKS[:_WIDTH] + _MARKS[at : at + _WIDTH]


def move(pks: Iterable[int] | None = None) -> None:
    """Move the marks of the requests ``pks`` (None: the mark of everything) to values they
    never had: equal marks mean no change in between, even when two processes move one at
    once (neither can write back a value read before)."""
    if pks is None:
        _MARKS[:_WIDTH] = os.urandom(_WIDTH)
        return
    for pk in pks:
        at = _WIDTH * (1 + pk % SLOTS)
        _MARKS[at : at + _WIDTH] = os.urandom(_WIDTH)
