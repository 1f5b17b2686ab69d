"""API keys of third-party apps: created once, stored hashed, revocable.

Keys are 256-bit random tokens, so a single SHA-256 is a safe hash at rest (unlike
passwords, they cannot be guessed from a dictionary) and lets a POST find its key with
one indexed lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from open311.errors import BadRequest, Forbidden, NotFound
from open311.models import ApiKey
from open311.repository import keys as repo

KEY_PREFIX = "o311_"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class NewKey:
    key: str  # shown once, never stored
    record: ApiKey


SCOPES = ("backoffice",)


def create_key(
    session: Session,
    name: str,
    contact: str | None = None,
    *,
    replace: bool = False,
    scopes: tuple[str, ...] = (),
) -> NewKey:
    """Create a key for the app ``name``; ``replace`` revokes its other active keys.
    ``scopes``: what it may do beyond submitting requests ("backoffice": post updates)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("an app name of 1 to 200 characters is required")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise BadRequest(f"unknown scope {', '.join(unknown)} (scopes: {', '.join(SCOPES)})")
    if replace:
        now = dt.datetime.now(dt.UTC)
        for old in repo.active_named(session, name):
            repo.revoke(old, now)
    raw = new_raw_key()
    record = repo.add(
        session,
        name=name,
        contact=contact or None,
        prefix=raw[len(KEY_PREFIX) : len(KEY_PREFIX) + 8],
        key_hash=hash_key(raw),
        scopes=sorted(set(scopes)),
    )
    session.commit()
    return NewKey(raw, record)


def new_raw_key() -> str:
    """A new secret key. Its display prefix (the 8 characters after KEY_PREFIX) never starts
    with "-", so that `open311 keys revoke <prefix>` is not read as an option."""
    while True:
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        if raw[len(KEY_PREFIX)] != "-":
            return raw


def list_keys(session: Session) -> list[ApiKey]:
    return repo.all_keys(session)


def revoke_key(session: Session, ident: str) -> ApiKey:
    """Revoke the key whose id or prefix is ``ident``."""
    found = repo.matching(session, ident)
    if not found:
        raise NotFound(f"no key with id or prefix {ident!r}")
    if len(found) > 1:
        raise BadRequest(f"{ident!r} matches several keys: use the id")
    repo.revoke(found[0], dt.datetime.now(dt.UTC))
    session.commit()
    return found[0]


class Caller(Protocol):
    """The key a call was made with, as ``authenticate`` answers it (a row, not an ORM
    object: every POST asks)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def scopes(self) -> list[str] | None: ...
    @property
    def revoked_at(self) -> dt.datetime | None: ...


def authenticate(session: Session, raw: str | None) -> Caller:
    """The active key ``raw`` names, or 403."""
    if not raw:
        raise Forbidden("api_key is required to submit a request")
    key = repo.by_hash(session, hash_key(raw))
    if key is None:
        raise Forbidden("invalid api_key")
    if key.revoked_at is not None:
        raise Forbidden("this api_key has been revoked")
    return key
