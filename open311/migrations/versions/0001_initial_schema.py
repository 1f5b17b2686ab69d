"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:17:02.015084
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=254), nullable=True),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    op.create_geospatial_table('jurisdiction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('contact', sa.Text(), nullable=False),
    sa.Column('key_service', sa.Text(), nullable=False),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jurisdiction')),
    sa.UniqueConstraint('jurisdiction_id', name=op.f('uq_jurisdiction_jurisdiction_id'))
    )
    op.create_geospatial_index('ix_jurisdiction_boundary', 'jurisdiction', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_pk', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=100), nullable=False),
    sa.Column('service_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('keywords', postgresql.ARRAY(sa.String(length=100)), nullable=False),
    sa.Column('group', sa.String(length=200), nullable=True),
    sa.Column('agency_responsible', sa.String(length=200), nullable=True),
    sa.Column('service_notice', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type IN ('realtime', 'batch', 'blackbox')", name=op.f('ck_service_type')),
    sa.ForeignKeyConstraint(['jurisdiction_pk'], ['jurisdiction.id'], name=op.f('fk_service_jurisdiction_pk_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('jurisdiction_pk', 'service_code', name='uq_service_jurisdiction_code')
    )
    op.create_table('service_attribute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_pk', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('variable', sa.Boolean(), nullable=False),
    sa.Column('datatype', sa.String(length=20), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('datatype_description', sa.Text(), nullable=True),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('values', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint("datatype IN ('string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist')", name=op.f('ck_service_attribute_datatype')),
    sa.CheckConstraint('"order" > 0', name=op.f('ck_service_attribute_order_positive')),
    sa.ForeignKeyConstraint(['service_pk'], ['service.id'], name=op.f('fk_service_attribute_service_pk_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_attribute')),
    sa.UniqueConstraint('service_pk', 'code', name='uq_service_attribute_service_code')
    )
    op.create_geospatial_table('service_request',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('jurisdiction_pk', sa.Integer(), nullable=False),
    sa.Column('service_pk', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=6), nullable=False),
    sa.Column('status_notes', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('agency_responsible', sa.String(length=200), nullable=True),
    sa.Column('service_notice', sa.Text(), nullable=True),
    sa.Column('requested_datetime', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_datetime', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expected_datetime', sa.DateTime(timezone=True), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('address_id', sa.String(length=100), nullable=True),
    sa.Column('zipcode', sa.String(length=20), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('media_url', sa.String(length=2000), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('api_key_pk', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_service_request_status')),
    sa.ForeignKeyConstraint(['api_key_pk'], ['api_key.id'], name=op.f('fk_service_request_api_key_pk_api_key')),
    sa.ForeignKeyConstraint(['jurisdiction_pk'], ['jurisdiction.id'], name=op.f('fk_service_request_jurisdiction_pk_jurisdiction')),
    sa.ForeignKeyConstraint(['service_pk'], ['service.id'], name=op.f('fk_service_request_service_pk_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request')),
    sa.UniqueConstraint('token', name=op.f('uq_service_request_token'))
    )
    op.create_geospatial_index('ix_service_request_location', 'service_request', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_service_request_newest', 'service_request', ['jurisdiction_pk', sa.literal_column('requested_datetime DESC'), sa.literal_column('id DESC')], unique=False, postgresql_where=sa.text('public'))
    op.create_index('ix_service_request_queue', 'service_request', ['id'], unique=False, postgresql_where=sa.text('token IS NOT NULL AND accepted_at IS NULL'))
    op.create_index('ix_service_request_service_newest', 'service_request', ['service_pk', sa.literal_column('requested_datetime DESC'), sa.literal_column('id DESC')], unique=False, postgresql_where=sa.text('public'))
    op.create_table('request_contact',
    sa.Column('request_pk', sa.BigInteger(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('device_id', sa.String(length=200), nullable=True),
    sa.Column('account_id', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['request_pk'], ['service_request.id'], name=op.f('fk_request_contact_request_pk_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_pk', name=op.f('pk_request_contact'))
    )
    op.create_table('request_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('request_pk', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=6), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('api_key_pk', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_pk'], ['api_key.id'], name=op.f('fk_request_event_api_key_pk_api_key')),
    sa.ForeignKeyConstraint(['request_pk'], ['service_request.id'], name=op.f('fk_request_event_request_pk_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_event'))
    )
    op.create_index(op.f('ix_request_event_request_pk'), 'request_event', ['request_pk'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_request_event_request_pk'), table_name='request_event')
    op.drop_table('request_event')
    op.drop_table('request_contact')
    op.drop_index('ix_service_request_service_newest', table_name='service_request', postgresql_where=sa.text('public'))
    op.drop_index('ix_service_request_queue', table_name='service_request', postgresql_where=sa.text('token IS NOT NULL AND accepted_at IS NULL'))
    op.drop_index('ix_service_request_newest', table_name='service_request', postgresql_where=sa.text('public'))
    op.drop_geospatial_index('ix_service_request_location', table_name='service_request', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('service_request')
    op.drop_table('service_attribute')
    op.drop_table('service')
    op.drop_geospatial_index('ix_jurisdiction_boundary', table_name='jurisdiction', postgresql_using='gist', column_name='boundary')
    op.drop_geospatial_table('jurisdiction')
    op.drop_table('api_key')
