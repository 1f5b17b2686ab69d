"""integrators

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:14:16.178842
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotent_answer',
    sa.Column('api_key_pk', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('payload', postgresql.JSON(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['api_key_pk'], ['api_key.id'], name=op.f('fk_idempotent_answer_api_key_pk_api_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('api_key_pk', 'key', name=op.f('pk_idempotent_answer'))
    )
    op.create_index(op.f('ix_idempotent_answer_created_at'), 'idempotent_answer', ['created_at'], unique=False)
    op.create_table('media',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('request_pk', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('extension', sa.String(length=8), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['request_pk'], ['service_request.id'], name=op.f('fk_media_request_pk_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media'))
    )
    op.create_index(op.f('ix_media_name'), 'media', ['name'], unique=False)
    op.create_index(op.f('ix_media_request_pk'), 'media', ['request_pk'], unique=False)
    op.add_column('api_key', sa.Column('scopes', postgresql.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False))
    op.add_column('request_event', sa.Column('detailed_status', sa.String(length=40), nullable=True))
    op.add_column('request_event', sa.Column('client_update_id', sa.String(length=100), nullable=True))
    op.add_column('request_event', sa.Column('external_status_code', sa.String(length=100), nullable=True))
    op.add_column('request_event', sa.Column('media_url', sa.String(length=2000), nullable=True))
    op.create_index('ix_request_event_at', 'request_event', ['at'], unique=False)
    op.create_unique_constraint('uq_request_event_api_key_client_update_id', 'request_event', ['api_key_pk', 'client_update_id'])
    op.add_column('service_request', sa.Column('detailed_status', sa.String(length=40), server_default='open', nullable=False))
    op.add_column('service_request', sa.Column('duplicate_of', sa.BigInteger(), nullable=True))
    op.add_column('service_request', sa.Column('search', postgresql.TSVECTOR(), server_default=sa.text("''::tsvector"), nullable=False))
    op.create_index('ix_service_request_search', 'service_request', ['search'], unique=False, postgresql_using='gin')
    op.create_index('ix_service_request_service_status_newest', 'service_request', ['service_pk', 'status', sa.literal_column('requested_datetime DESC'), sa.literal_column('id DESC')], unique=False, postgresql_where=sa.text('public'))
    op.create_index('ix_service_request_duplicate_of', 'service_request', ['duplicate_of'], unique=False, postgresql_where=sa.text('duplicate_of IS NOT NULL'))
    # Requests stored before this revision become searchable too.
    op.execute("UPDATE service_request sr SET search = to_tsvector('english', concat_ws(' ', "
               "sr.description, sr.address, s.service_name, s.\"group\", "
               "array_to_string(s.keywords, ' '))) "
               "FROM service s WHERE s.id = sr.service_pk")
    op.create_index('ix_service_request_updated', 'service_request', ['jurisdiction_pk', 'updated_datetime', 'id'], unique=False, postgresql_where=sa.text('public'))
    op.create_foreign_key(op.f('fk_service_request_duplicate_of_service_request'), 'service_request', 'service_request', ['duplicate_of'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_service_request_duplicate_of_service_request'), 'service_request', type_='foreignkey')
    op.drop_index('ix_service_request_updated', table_name='service_request', postgresql_where=sa.text('public'))
    op.drop_index('ix_service_request_duplicate_of', table_name='service_request', postgresql_where=sa.text('duplicate_of IS NOT NULL'))
    op.drop_index('ix_service_request_service_status_newest', table_name='service_request', postgresql_where=sa.text('public'))
    op.drop_index('ix_service_request_search', table_name='service_request', postgresql_using='gin')
    op.drop_column('service_request', 'search')
    op.drop_column('service_request', 'duplicate_of')
    op.drop_column('service_request', 'detailed_status')
    op.drop_constraint('uq_request_event_api_key_client_update_id', 'request_event', type_='unique')
    op.drop_index('ix_request_event_at', table_name='request_event')
    op.drop_column('request_event', 'media_url')
    op.drop_column('request_event', 'external_status_code')
    op.drop_column('request_event', 'client_update_id')
    op.drop_column('request_event', 'detailed_status')
    op.drop_column('api_key', 'scopes')
    op.drop_index(op.f('ix_media_request_pk'), table_name='media')
    op.drop_index(op.f('ix_media_name'), table_name='media')
    op.drop_table('media')
    op.drop_index(op.f('ix_idempotent_answer_created_at'), table_name='idempotent_answer')
    op.drop_table('idempotent_answer')
