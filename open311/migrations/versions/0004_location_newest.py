"""location and time in one GiST index

The newest public requests in a box, circle or area (map views): one GiST index on
(location, requested_datetime) WHERE public answers the box and the time window together
(btree_gist gives GiST the timestamp's operators), where the location-only index made the
plan intersect the box's whole history with the window's newest-first index. It replaces
``ix_service_request_location``: every query by location is on public requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:20:00
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A trusted extension (PostgreSQL 13+): the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE INDEX ix_service_request_location_newest ON service_request "
               "USING gist (location, requested_datetime) WHERE public")
    op.execute("DROP INDEX IF EXISTS ix_service_request_location")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_service_request_location ON service_request "
               "USING gist (location)")
    op.execute("DROP INDEX IF EXISTS ix_service_request_location_newest")
