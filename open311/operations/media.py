"""Stored photos (GET media)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.repository import requests as repo


def get_media(session: Session, stem: str, extension: str):
    """A published photo's record (its content type), or None."""
    found = repo.published_media(session, stem) if len(stem) == 32 else None
    return found if found is not None and found.extension == extension else None
