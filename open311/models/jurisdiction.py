from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from open311.models.base import WGS84, Base, Timestamps


class Jurisdiction(Timestamps, Base):
    """A city, county or region served by this server, with its boundary."""

    __tablename__ = "jurisdiction"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The GeoReport jurisdiction_id (e.g. "lacity.org").
    jurisdiction_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    contact: Mapped[str] = mapped_column(sa.Text, default="")
    key_service: Mapped[str] = mapped_column(sa.Text, default="")
    # Deferred: large, and read only by the bundle loader (lookups use jurisdiction_part).
    boundary: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=WGS84, spatial_index=False), deferred=True
    )
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    languages: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(35)), server_default=sa.text("'{en}'")
    )
    # The jurisdiction one tier up, as the bundle names it, and the link once it is loaded.
    parent_id: Mapped[str | None] = mapped_column(sa.String(200))
    parent_pk: Mapped[int | None] = mapped_column(
        sa.ForeignKey("jurisdiction.id", ondelete="SET NULL")
    )
    # 0 for a top tier; a member city of a county is 1 (routing prefers the deepest).
    depth: Mapped[int] = mapped_column(server_default=sa.text("0"))
    # What the last load read (file digests), so an unchanged bundle changes nothing.
    bundle_state: Mapped[dict] = mapped_column(JSONB, server_default=sa.text("'{}'"))

    services = relationship("Service", back_populates="jurisdiction", order_by="Service.position")

    __table_args__ = (sa.Index("ix_jurisdiction_boundary", "boundary", postgresql_using="gist"),)
