from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base


class Media(Base):
    """An image uploaded with a request: checked, stripped of metadata, stored."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    # The content's name: 32 hex characters of its SHA-256 (its URL is media/{name}.{ext});
    # the same photo on two requests is stored once.
    name: Mapped[str] = mapped_column(sa.String(32), index=True)
    request_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    content_type: Mapped[str] = mapped_column(sa.String(40))
    extension: Mapped[str] = mapped_column(sa.String(8))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


class IdempotentAnswer(Base):
    """The first answer to a POST with an Idempotency-Key, returned again for the same key
    and app instead of creating a second request."""

    __tablename__ = "idempotent_answer"

    api_key_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    # SHA-256 of what was sent: the same key with other parameters is refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    # JSON, not JSONB: the answer is replayed exactly, key order included.
    payload: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
