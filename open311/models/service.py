from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from open311.models.base import Base, Timestamps


class Service(Timestamps, Base):
    """An Open311 service (a request type) of one jurisdiction."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("jurisdiction.id", ondelete="CASCADE")
    )
    service_code: Mapped[str] = mapped_column(sa.String(100))
    service_name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    type: Mapped[str] = mapped_column(sa.String(16), default="realtime")
    keywords: Mapped[list[str]] = mapped_column(ARRAY(sa.String(100)), default=list)
    group: Mapped[str | None] = mapped_column(sa.String(200))
    agency_responsible: Mapped[str | None] = mapped_column(sa.String(200))
    service_notice: Mapped[str | None] = mapped_column(sa.Text)
    # Position in the jurisdiction's catalogue (the service list's order).
    position: Mapped[int] = mapped_column(default=0)
    # Services removed from a bundle are deactivated, never deleted: requests keep them.
    active: Mapped[bool] = mapped_column(default=True)
    # Where inside the jurisdiction the service is offered: {"layer": ..., "ids": [...]}
    # (areas of the jurisdiction); NULL: everywhere in it.
    coverage: Mapped[dict | None] = mapped_column(JSONB)
    # Where requests are shown in public (schemas.vocabulary.LOCATION_PRIVACY); for "grid",
    # the grid's cell size in metres.
    location_privacy: Mapped[str] = mapped_column(sa.String(8), server_default="exact")
    grid_metres: Mapped[int | None] = mapped_column()
    # The time to close the city aims at (statistics' on-time share): hours or business days.
    target_hours: Mapped[int | None] = mapped_column()
    target_business_days: Mapped[int | None] = mapped_column()

    jurisdiction = relationship("Jurisdiction", back_populates="services")
    attributes = relationship(
        "ServiceAttribute",
        back_populates="service",
        order_by="ServiceAttribute.order",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.UniqueConstraint("jurisdiction_pk", "service_code", name="uq_service_jurisdiction_code"),
        sa.CheckConstraint(sa.text("type IN ('realtime', 'batch', 'blackbox')"), name="type"),
        sa.CheckConstraint(
            sa.text(
                "location_privacy IN ('exact', 'hidden') AND grid_metres IS NULL"
                " OR location_privacy = 'grid' AND grid_metres BETWEEN 10 AND 100000"
            ),
            name="location_privacy",
        ),
        sa.CheckConstraint(
            sa.text("target_hours IS NULL OR target_business_days IS NULL"), name="one_target"
        ),
    )


class ServiceAttribute(Base):
    """One attribute of a service definition."""

    __tablename__ = "service_attribute"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_pk: Mapped[int] = mapped_column(sa.ForeignKey("service.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(100))
    variable: Mapped[bool] = mapped_column(default=True)
    datatype: Mapped[str] = mapped_column(sa.String(20))
    required: Mapped[bool] = mapped_column(default=False)
    datatype_description: Mapped[str | None] = mapped_column(sa.Text)
    order: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # [{"key": ..., "name": ...}] for the two list datatypes, else [].
    values: Mapped[list] = mapped_column(JSONB, default=list)

    service = relationship("Service", back_populates="attributes")

    __table_args__ = (
        sa.UniqueConstraint("service_pk", "code", name="uq_service_attribute_service_code"),
        sa.CheckConstraint(
            sa.text(
                "datatype IN ('string', 'number', 'datetime', 'text', 'singlevaluelist', "
                "'multivaluelist')"
            ),
            name="datatype",
        ),
        sa.CheckConstraint(sa.text('"order" > 0'), name="order_positive"),
    )
