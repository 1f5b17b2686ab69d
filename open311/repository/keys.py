from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey
from open311.repository.driver import driver_rows


class KeyRow(NamedTuple):
    """What a call needs of its key (every POST asks): columns, not an ORM object."""

    id: int
    name: str
    contact: str | None
    prefix: str
    scopes: list[str] | None
    revoked_at: dt.datetime | None


_BY_HASH = sa.select(*(getattr(ApiKey, name) for name in KeyRow._fields)).where(
    ApiKey.key_hash == sa.bindparam("key_hash", type_=ApiKey.key_hash.type)
)


def by_hash(session: Session, key_hash: str) -> KeyRow | None:
    """The key with this hash (every authenticated request: the hot read path's runner)."""
    rows = driver_rows(session.connection(), _BY_HASH, {"key_hash": key_hash})
    return KeyRow(**rows.named()[0]._asdict()) if rows else None


def add(
    session: Session,
    *,
    name: str,
    contact: str | None,
    prefix: str,
    key_hash: str,
    scopes: list[str] | None = None,
) -> ApiKey:
    key = ApiKey(name=name, contact=contact, prefix=prefix, key_hash=key_hash, scopes=scopes or [])
    session.add(key)
    session.flush()
    return key


def all_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.id)))


def matching(session: Session, ident: str) -> list[ApiKey]:
    """Keys whose id or prefix is `ident`."""
    query = sa.select(ApiKey).where(ApiKey.prefix == ident)
    if ident.isascii() and ident.isdigit() and len(ident) < 19:
        query = sa.select(ApiKey).where(sa.or_(ApiKey.prefix == ident, ApiKey.id == int(ident)))
    return list(session.scalars(query))


def active_named(session: Session, name: str) -> list[ApiKey]:
    return list(
        session.scalars(sa.select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    )


def revoke(key: ApiKey, when: dt.datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at = when


def names(session: Session, pks: set[int]) -> dict[int, str]:
    """App names of these keys (the channel a request came through)."""
    if not pks:
        return {}
    return {
        pk: name
        for pk, name in session.execute(sa.select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(pks)))
    }
