"""GET request by id answers a worker keeps while nothing they were read from has changed.

A lookup by id is mostly the round trip to PostgreSQL, so a client polling its request's
status (the common read) is answered from memory. An answer is used only while the change
marks of everything and of its request (``open311.changes``) are what they were before the
answer was read: a write through this host's workers moves them before its answer leaves,
and the database's change notices move them for every other write, so nothing kept
outlives a change to what it shows. The jurisdiction's time zone comes from the worker's
directory (``OPEN311_CACHE_SECONDS``): an answer lives no longer than the directory it was
read with, so it is never staler than an answer read from the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

import msgspec

from open311.changes import ChangeFeed
from open311.operations.directory import Directory, DirectoryCache
from open311.operations.payloads import RequestItem


class KeptAnswers:
    """At most ``size`` answers (0: none kept), the oldest dropped first."""

    def __init__(self, feed: ChangeFeed, size: int) -> None:
        self.feed = feed
        self.size = size
        self.hits = 0  # answers given from memory (tests, operators)
        self._kept: dict[Hashable, tuple[bytes, Directory, list[RequestItem]]] = {}
        self._lock = threading.Lock()  # held for dict changes only, never across I/O

    def __len__(self) -> int:
        return len(self._kept)

    def answer(
        self,
        key: Hashable,
        pk: int,
        read: Callable[[], list[RequestItem]],
        directory: DirectoryCache,
    ) -> list[RequestItem]:
        """The items kept under ``key`` (the answer of request ``pk``) if its marks still
        stand and the directory it was read with (the jurisdiction's time zone) is still the
        current one, else ``read()``'s (kept). Copies: the caller may change them (absolute
        media URLs)."""
        if self.size <= 0 or not self.feed.listening():
            return read()
        mark = self.feed.mark(pk)  # before the read: a change during it retires the answer
        places = directory.current()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == mark and places is not None and kept[1] is places:
            self.hits += 1
            return [msgspec.structs.replace(item) for item in kept[2]]
        items = read()
        after = directory.current()
        # Read with ``places``, or (none before) with one loaded by this read: kept with it.
        if after is not None and (places is None or after is places):
            with self._lock:
                self._kept.pop(key, None)
                self._kept[key] = (mark, after, items)
                if len(self._kept) > self.size:
                    del self._kept[next(iter(self._kept))]
        return [msgspec.structs.replace(item) for item in items]
