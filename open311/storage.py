"""Where uploaded media are kept. A small interface so that S3-style storage can be added
beside the local directory (set ``app.extensions["open311_storage"]``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class MediaStorage(Protocol):
    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` (idempotent: the same name holds the same bytes)."""

    def get(self, name: str) -> bytes | None:
        """The bytes stored under ``name``, or None."""


class LocalStorage:
    """Files in one directory; names are content hashes, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, name: str) -> Path:
        if not name.replace(".", "").isalnum() or name.startswith("."):
            raise ValueError(f"not a media name: {name!r}")
        return self.directory / name[:2] / name

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def get(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except (OSError, ValueError):
            return None
