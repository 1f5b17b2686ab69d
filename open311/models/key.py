from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base


class ApiKey(Base):
    """A third-party app's API key. Only its SHA-256 is stored; the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    contact: Mapped[str | None] = mapped_column(sa.String(254))
    # The first characters of the key, to tell keys apart in `open311 keys list`.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # What the key may do beyond submitting requests: "backoffice" posts request updates.
    scopes: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)), server_default=sa.text("'{}'"))
