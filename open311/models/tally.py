from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base


class RequestTally(Base):
    """What the statistics count, kept per cell: a jurisdiction's public requests of one local
    day (of requested_datetime, in the jurisdiction's time zone), service, channel (API key;
    0: none) and status. Derived: the triggers of migration 0008 keep it as the requests
    change; never written by the application."""

    __tablename__ = "request_tally"

    jurisdiction_pk: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    service_pk: Mapped[int] = mapped_column(primary_key=True)
    channel_pk: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    requests: Mapped[int] = mapped_column()
    # Closed within their service's target (its current one: a change recounts).
    on_time: Mapped[int] = mapped_column()
    # Times to close: how many (counts) in each bucket (open311_close_bucket).
    buckets: Mapped[list[int]] = mapped_column(ARRAY(sa.SmallInteger))
    counts: Mapped[list[int]] = mapped_column(ARRAY(sa.Integer))
