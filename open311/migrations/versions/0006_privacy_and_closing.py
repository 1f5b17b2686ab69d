"""location privacy per service, close times, service targets

A service's requests are shown in public at their point, at the centre of a grid cell of N
metres, or nowhere (``service.location_privacy``, ``grid_metres``); ``public_location`` holds
that public point, and every public answer and filter reads it (the map index moves to it).
``closed_at`` keeps when a request was closed (statistics' time to close, the export's
closed_date) instead of a search of its events per row; a closed request without a closing
event (imported data) takes its last update. ``target_hours`` / ``target_business_days``: the
time to close a service aims at. ``ix_service_request_statistics``: statistics read a window of
requests from the index alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('service', sa.Column('location_privacy', sa.String(length=8),
                                       server_default='exact', nullable=False))
    op.add_column('service', sa.Column('grid_metres', sa.Integer(), nullable=True))
    op.add_column('service', sa.Column('target_hours', sa.Integer(), nullable=True))
    op.add_column('service', sa.Column('target_business_days', sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f('ck_service_location_privacy'), 'service',
        "location_privacy IN ('exact', 'hidden') AND grid_metres IS NULL"
        " OR location_privacy = 'grid' AND grid_metres BETWEEN 10 AND 100000")
    op.create_check_constraint(
        op.f('ck_service_one_target'), 'service', 'target_hours IS NULL OR target_business_days IS NULL')
    op.add_column('service_request', sa.Column(
        'public_location',
        Geometry(geometry_type='POINT', srid=4326, spatial_index=False), nullable=True))
    op.add_column('service_request', sa.Column('closed_at', sa.DateTime(timezone=True),
                                               nullable=True))
    op.execute("DROP INDEX IF EXISTS ix_service_request_location_newest")
    op.execute("""
        UPDATE service_request AS r
           SET public_location = r.location,
               closed_at = CASE WHEN r.status = 'closed' THEN
                   coalesce((SELECT max(e.at) FROM request_event e
                              WHERE e.request_pk = r.id AND e.kind = 'closed'),
                            r.updated_datetime) END
    """)
    op.execute("CREATE INDEX ix_service_request_location_newest ON service_request "
               "USING gist (public_location, requested_datetime) WHERE public")
    op.execute("CREATE INDEX ix_service_request_statistics ON service_request "
               "(jurisdiction_pk, requested_datetime) "
               "INCLUDE (service_pk, status, closed_at, api_key_pk) WHERE public")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_service_request_statistics")
    op.execute("DROP INDEX IF EXISTS ix_service_request_location_newest")
    op.drop_column('service_request', 'closed_at')
    op.drop_column('service_request', 'public_location')
    op.execute("CREATE INDEX ix_service_request_location_newest ON service_request "
               "USING gist (location, requested_datetime) WHERE public")
    op.drop_constraint('ck_service_one_target', 'service', type_='check')
    op.drop_constraint('ck_service_location_privacy', 'service', type_='check')
    op.drop_column('service', 'target_business_days')
    op.drop_column('service', 'target_hours')
    op.drop_column('service', 'grid_metres')
    op.drop_column('service', 'location_privacy')
