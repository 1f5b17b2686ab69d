"""geography

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:28:30.216786
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_geospatial_table('address_point',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('jurisdiction_pk', sa.Integer(), nullable=False),
    sa.Column('address_id', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('house_number', sa.String(length=30), nullable=True),
    sa.Column('street_name', sa.String(length=200), nullable=False),
    sa.Column('predirection', sa.String(length=2), nullable=True),
    sa.Column('street_type', sa.String(length=10), nullable=True),
    sa.Column('zipcode', sa.String(length=10), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_pk'], ['jurisdiction.id'], name=op.f('fk_address_point_jurisdiction_pk_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_point')),
    sa.UniqueConstraint('jurisdiction_pk', 'address_id', name='uq_address_point_jurisdiction_address_id')
    )
    op.create_index('ix_address_point_key', 'address_point', ['jurisdiction_pk', 'key'], unique=False)
    op.create_index('ix_address_point_key_trgm', 'address_point', ['key'], unique=False, postgresql_using='gin', postgresql_ops={'key': 'gin_trgm_ops'})
    op.create_index('ix_address_point_street', 'address_point', ['jurisdiction_pk', 'street_name', 'house_number'], unique=False)
    op.create_index('ix_address_point_street_trgm', 'address_point', ['street_name'], unique=False, postgresql_using='gin', postgresql_ops={'street_name': 'gin_trgm_ops'})
    op.create_geospatial_index('ix_address_point_location', 'address_point', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_pk', sa.Integer(), nullable=False),
    sa.Column('layer', sa.String(length=50), nullable=False),
    sa.Column('layer_title', sa.String(length=200), nullable=False),
    sa.Column('area_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_pk'], ['jurisdiction.id'], name=op.f('fk_area_jurisdiction_pk_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area')),
    sa.UniqueConstraint('jurisdiction_pk', 'layer', 'area_id', name='uq_area_jurisdiction_layer_id')
    )
    op.create_geospatial_table('jurisdiction_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_pk', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_pk'], ['jurisdiction.id'], name=op.f('fk_jurisdiction_part_jurisdiction_pk_jurisdiction'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jurisdiction_part'))
    )
    op.create_geospatial_index('ix_jurisdiction_part_geom', 'jurisdiction_part', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_jurisdiction_part_jurisdiction_pk'), 'jurisdiction_part', ['jurisdiction_pk'], unique=False)
    op.create_geospatial_table('area_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_pk', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['area_pk'], ['area.id'], name=op.f('fk_area_part_area_pk_area'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_area_part'))
    )
    op.create_index(op.f('ix_area_part_area_pk'), 'area_part', ['area_pk'], unique=False)
    op.create_geospatial_index('ix_area_part_geom', 'area_part', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.add_column('jurisdiction', sa.Column('languages', postgresql.ARRAY(sa.String(length=35)), server_default=sa.text("'{en}'"), nullable=False))
    op.add_column('jurisdiction', sa.Column('parent_id', sa.String(length=200), nullable=True))
    op.add_column('jurisdiction', sa.Column('parent_pk', sa.Integer(), nullable=True))
    op.add_column('jurisdiction', sa.Column('depth', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('jurisdiction', sa.Column('bundle_state', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'"), nullable=False))
    op.create_foreign_key(op.f('fk_jurisdiction_parent_pk_jurisdiction'), 'jurisdiction', 'jurisdiction', ['parent_pk'], ['id'], ondelete='SET NULL')
    op.add_column('service', sa.Column('coverage', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('service_request', sa.Column('address_verified', sa.Boolean(), nullable=True))
    op.add_column('service_request', sa.Column('area_pks', postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'"), nullable=False))
    op.create_index('ix_service_request_area_pks', 'service_request', ['area_pks'], unique=False, postgresql_using='gin')
    # Boundaries loaded before this revision get their subdivided parts.
    op.execute("INSERT INTO jurisdiction_part (jurisdiction_pk, geom) "
               "SELECT id, ST_Subdivide(boundary, 256) FROM jurisdiction")


def downgrade() -> None:
    op.drop_index('ix_service_request_area_pks', table_name='service_request', postgresql_using='gin')
    op.drop_column('service_request', 'area_pks')
    op.drop_column('service_request', 'address_verified')
    op.drop_column('service', 'coverage')
    op.drop_constraint(op.f('fk_jurisdiction_parent_pk_jurisdiction'), 'jurisdiction', type_='foreignkey')
    op.drop_column('jurisdiction', 'bundle_state')
    op.drop_column('jurisdiction', 'depth')
    op.drop_column('jurisdiction', 'parent_pk')
    op.drop_column('jurisdiction', 'parent_id')
    op.drop_column('jurisdiction', 'languages')
    op.drop_geospatial_index('ix_area_part_geom', table_name='area_part', postgresql_using='gist', column_name='geom')
    op.drop_index(op.f('ix_area_part_area_pk'), table_name='area_part')
    op.drop_geospatial_table('area_part')
    op.drop_index(op.f('ix_jurisdiction_part_jurisdiction_pk'), table_name='jurisdiction_part')
    op.drop_geospatial_index('ix_jurisdiction_part_geom', table_name='jurisdiction_part', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('jurisdiction_part')
    op.drop_geospatial_table('area')
    op.drop_geospatial_index('ix_address_point_location', table_name='address_point', postgresql_using='gist', column_name='location')
    op.drop_index('ix_address_point_street_trgm', table_name='address_point', postgresql_using='gin', postgresql_ops={'street_name': 'gin_trgm_ops'})
    op.drop_index('ix_address_point_street', table_name='address_point')
    op.drop_index('ix_address_point_key_trgm', table_name='address_point', postgresql_using='gin', postgresql_ops={'key': 'gin_trgm_ops'})
    op.drop_index('ix_address_point_key', table_name='address_point')
    op.drop_geospatial_table('address_point')
