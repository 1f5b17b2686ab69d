from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import ApiKey

# What a call needs of its key (every POST asks): columns, not an ORM object.
_BY_HASH = sa.select(ApiKey.id, ApiKey.name, ApiKey.contact, ApiKey.prefix, ApiKey.scopes,
                     ApiKey.revoked_at).where(
    ApiKey.key_hash == sa.bindparam("key_hash", type_=ApiKey.key_hash.type))


def by_hash(session: Session, key_hash: str) -> sa.Row | None:
    """The key with this hash as a row (id, name, contact, prefix, scopes, revoked_at)."""
    return session.connection().execute(_BY_HASH, {"key_hash": key_hash}).first()


def add(session: Session, *, name: str, contact: str | None, prefix: str,
        key_hash: str, scopes: list[str] | None = None) -> ApiKey:
    key = ApiKey(name=name, contact=contact, prefix=prefix, key_hash=key_hash,
                 scopes=scopes or [])
    session.add(key)
    session.flush()
    return key


def all_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.id)))


def matching(session: Session, ident: str) -> list[ApiKey]:
    """Keys whose id or prefix is `ident`."""
    query = sa.select(ApiKey).where(ApiKey.prefix == ident)
    if ident.isdigit():
        query = sa.select(ApiKey).where(sa.or_(ApiKey.prefix == ident, ApiKey.id == int(ident)))
    return list(session.scalars(query))


def active_named(session: Session, name: str) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).where(ApiKey.name == name,
                                                        ApiKey.revoked_at.is_(None))))


def revoke(key: ApiKey, when: dt.datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at = when


def names(session: Session, pks: set[int]) -> dict[int, str]:
    """App names of these keys (the channel a request came through)."""
    if not pks:
        return {}
    return {pk: name for pk, name in session.execute(
        sa.select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(pks)))}
