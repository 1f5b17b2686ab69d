"""Geography beyond the boundary itself: subdivided boundary parts (fast point-in-polygon
at any polygon size), named areas, and address points."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from open311.models.base import WGS84, Base

# Boundaries and areas are cut into pieces of at most this many vertices (ST_Subdivide) so
# that a point-in-polygon test reads one small piece through the GiST index, whatever the
# size of the whole polygon. Smaller polygons stay whole.
SUBDIVIDE_VERTICES = 256


class JurisdictionPart(Base):
    """A piece of a jurisdiction's boundary (ST_Subdivide), for point-in-polygon tests."""

    __tablename__ = "jurisdiction_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("jurisdiction.id", ondelete="CASCADE"), index=True
    )
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=WGS84, spatial_index=False))

    __table_args__ = (sa.Index("ix_jurisdiction_part_geom", "geom", postgresql_using="gist"),)


class Area(Base):
    """A named area of a jurisdiction: a district, a neighbourhood, a member city..."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("jurisdiction.id", ondelete="CASCADE")
    )
    layer: Mapped[str] = mapped_column(sa.String(50))
    layer_title: Mapped[str] = mapped_column(sa.String(200))
    area_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    # Deferred: large, and read only by the loader and the GeoJSON export.
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=WGS84, spatial_index=False), deferred=True
    )

    parts = relationship("AreaPart", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        sa.UniqueConstraint(
            "jurisdiction_pk", "layer", "area_id", name="uq_area_jurisdiction_layer_id"
        ),
    )


class AreaPart(Base):
    """A piece of an area (ST_Subdivide), for point-in-polygon tests."""

    __tablename__ = "area_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_pk: Mapped[int] = mapped_column(sa.ForeignKey("area.id", ondelete="CASCADE"), index=True)
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=WGS84, spatial_index=False))

    __table_args__ = (sa.Index("ix_area_part_geom", "geom", postgresql_using="gist"),)


class AddressPoint(Base):
    """A jurisdiction's address point: where an address is, for address resolution."""

    __tablename__ = "address_point"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    jurisdiction_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("jurisdiction.id", ondelete="CASCADE")
    )
    address_id: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(500))
    # The normalised match key ("2111 W BELLEVUE AVE"), see geo.addresses.
    key: Mapped[str] = mapped_column(sa.String(300))
    house_number: Mapped[str | None] = mapped_column(sa.String(30))
    # The street's name alone ("BELLEVUE"; an intersection: its key), its direction and type.
    street_name: Mapped[str] = mapped_column(sa.String(200))
    predirection: Mapped[str | None] = mapped_column(sa.String(2))
    street_type: Mapped[str | None] = mapped_column(sa.String(10))
    zipcode: Mapped[str | None] = mapped_column(sa.String(10))
    location: Mapped[Any] = mapped_column(Geometry("POINT", srid=WGS84, spatial_index=False))

    __table_args__ = (
        sa.UniqueConstraint(
            "jurisdiction_pk", "address_id", name="uq_address_point_jurisdiction_address_id"
        ),
        sa.Index("ix_address_point_key", "jurisdiction_pk", "key"),
        sa.Index("ix_address_point_street", "jurisdiction_pk", "street_name", "house_number"),
        sa.Index(
            "ix_address_point_key_trgm",
            "key",
            postgresql_using="gin",
            postgresql_ops={"key": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_address_point_street_trgm",
            "street_name",
            postgresql_using="gin",
            postgresql_ops={"street_name": "gin_trgm_ops"},
        ),
        sa.Index("ix_address_point_location", "location", postgresql_using="gist"),
    )
