from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from open311.models.base import WGS84, Base

TZ = sa.DateTime(timezone=True)


class ServiceRequest(Base):
    """The public record of a service request. Personal data lives in RequestContact."""

    __tablename__ = "service_request"

    # The public service_request_id is this number, as a string.
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    jurisdiction_pk: Mapped[int] = mapped_column(sa.ForeignKey("jurisdiction.id"))
    service_pk: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    status: Mapped[str] = mapped_column(sa.String(6), default="open")
    # The richer workflow state (open, in_progress, fixed, duplicate...), mapped onto status.
    detailed_status: Mapped[str] = mapped_column(sa.String(40), server_default="open")
    duplicate_of: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("service_request.id", ondelete="SET NULL")
    )
    status_notes: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    agency_responsible: Mapped[str | None] = mapped_column(sa.String(200))
    service_notice: Mapped[str | None] = mapped_column(sa.Text)
    requested_datetime: Mapped[dt.datetime] = mapped_column(TZ, server_default=sa.func.now())
    updated_datetime: Mapped[dt.datetime] = mapped_column(TZ, server_default=sa.func.now())
    # When it was last closed (its closing event's time); NULL while open.
    closed_at: Mapped[dt.datetime | None] = mapped_column(TZ)
    expected_datetime: Mapped[dt.datetime | None] = mapped_column(TZ)
    address: Mapped[str | None] = mapped_column(sa.String(500))
    address_id: Mapped[str | None] = mapped_column(sa.String(100))
    zipcode: Mapped[str | None] = mapped_column(sa.String(20))
    location: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=WGS84, spatial_index=False), nullable=True
    )
    # Where the public sees it, by its service's location_privacy: the point, the centre of
    # its grid cell, or NULL (hidden). Every public answer and filter reads this one.
    public_location: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=WGS84, spatial_index=False), nullable=True
    )
    media_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # Whether `address` was matched to an address point (NULL: no address was involved).
    address_verified: Mapped[bool | None] = mapped_column()
    # The named areas (area.id) the point falls in, of its jurisdiction and the tiers above.
    area_pks: Mapped[list[int]] = mapped_column(ARRAY(sa.Integer), server_default=sa.text("'{}'"))
    # The submitted attribute values, {code: value or [values]}.
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict)
    # The app (API key) that submitted it.
    api_key_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id"))
    # Batch services: the token answered to the POST, resolvable at tokens/{token}.
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # What q= searches: description, address, service name and group (set on insert).
    search: Mapped[Any] = mapped_column(
        TSVECTOR, server_default=sa.text("''::tsvector"), deferred=True
    )
    # When a batch request was accepted (NULL while it waits in the queue); others: created.
    accepted_at: Mapped[dt.datetime | None] = mapped_column(TZ)
    # Whether GET requests publishes it: not while a batch request waits, never for a
    # blackbox service (reported, but with no number to follow).
    public: Mapped[bool] = mapped_column(default=True)

    service = relationship("Service")
    jurisdiction = relationship("Jurisdiction")

    __table_args__ = (
        sa.CheckConstraint(sa.text("status IN ('open', 'closed')"), name="status"),
        # GET requests: newest first within a jurisdiction, public rows only.
        sa.Index(
            "ix_service_request_newest",
            "jurisdiction_pk",
            sa.text("requested_datetime DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("public"),
        ),
        sa.Index(
            "ix_service_request_service_newest",
            "service_pk",
            sa.text("requested_datetime DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("public"),
        ),
        # The filtered list: one service, one status, newest first.
        sa.Index(
            "ix_service_request_service_status_newest",
            "service_pk",
            "status",
            sa.text("requested_datetime DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("public"),
        ),
        # duplicate_of is ON DELETE SET NULL: deleting a request must not scan the table.
        sa.Index(
            "ix_service_request_duplicate_of",
            "duplicate_of",
            postgresql_where=sa.text("duplicate_of IS NOT NULL"),
        ),
        # The batch queue.
        sa.Index(
            "ix_service_request_queue",
            "id",
            postgresql_where=sa.text("token IS NOT NULL AND accepted_at IS NULL"),
        ),
        # Map views: the newest public requests in a box, circle or area. One GiST index on
        # (point, requested_datetime) (btree_gist) answers the box and the time window
        # together: a small box of the last 90 days reads hundreds of rows, not the box's
        # whole history.
        sa.Index(
            "ix_service_request_location_newest",
            "public_location",
            "requested_datetime",
            postgresql_using="gist",
            postgresql_where=sa.text("public"),
        ),
        sa.Index("ix_service_request_area_pks", "area_pks", postgresql_using="gin"),
        sa.Index("ix_service_request_search", "search", postgresql_using="gin"),
        # Statistics: a window of a jurisdiction's requests read from the index alone (the
        # columns the aggregates group and count by), not from the table's pages.
        sa.Index(
            "ix_service_request_statistics",
            "jurisdiction_pk",
            "requested_datetime",
            postgresql_include=["service_pk", "status", "closed_at", "api_key_pk"],
            postgresql_where=sa.text("public"),
        ),
        # Statistics' open backlog: the open requests of a window, from the index alone.
        sa.Index(
            "ix_service_request_open",
            "jurisdiction_pk",
            "requested_datetime",
            postgresql_include=["service_pk", "api_key_pk"],
            postgresql_where=sa.text("public AND status = 'open'"),
        ),
        # Incremental sync: updated_after/updated_before, oldest change first.
        sa.Index(
            "ix_service_request_updated",
            "jurisdiction_pk",
            "updated_datetime",
            "id",
            postgresql_where=sa.text("public"),
        ),
    )


class RequestContact(Base):
    """Personal data sent with a request. Never part of any public output or log."""

    __tablename__ = "request_contact"

    request_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(sa.String(254))
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    device_id: Mapped[str | None] = mapped_column(sa.String(200))
    account_id: Mapped[str | None] = mapped_column(sa.String(200))


# The personal fields a POST may carry: stored in RequestContact only, never shown or logged.
PERSONAL_FIELDS = tuple(c.name for c in RequestContact.__table__.columns if c.name != "request_pk")


class RequestEvent(Base):
    """The history of a request: opened, accepted, updates (status changes with a note).

    An update POSTed by a back office (servicerequestupdates) carries the client's own
    ``client_update_id``; the pair (app, client_update_id) is unique, so a retried POST
    changes nothing. Its public ``update_id`` is this row's id."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    request_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("service_request.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(6))
    detailed_status: Mapped[str | None] = mapped_column(sa.String(40))
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(TZ, server_default=sa.func.now())
    api_key_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id"))
    client_update_id: Mapped[str | None] = mapped_column(sa.String(100))
    external_status_code: Mapped[str | None] = mapped_column(sa.String(100))
    media_url: Mapped[str | None] = mapped_column(sa.String(2000))

    __table_args__ = (
        sa.UniqueConstraint(
            "api_key_pk", "client_update_id", name="uq_request_event_api_key_client_update_id"
        ),
        sa.Index("ix_request_event_at", "at"),
    )
