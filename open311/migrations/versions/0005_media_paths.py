"""uploaded photos' media_url stored as paths

An uploaded photo's media_url was stored as an absolute URL built from the POST's Host
header (a POST sent with ``Host: evil.example`` stored a link to that host, served to
everyone). It is now stored as ``media/<name>`` under the GeoReport endpoint and made
absolute from the configured base URL (or an allowed Host) as it is served. The URLs stored
before, of photos this server holds, become such paths, whatever host they named.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
        UPDATE service_request AS r
           SET media_url = 'media/' || substring(r.media_url
                                                 FROM '/media/([0-9a-f]{32}\.[a-z]+)$')
         WHERE r.media_url ~ '^https?://[^/]*/.*/media/[0-9a-f]{32}\.(jpg|png|webp)$'
           AND EXISTS (SELECT 1 FROM media m
                        WHERE m.request_pk = r.id
                          AND m.name = substring(r.media_url FROM '/media/([0-9a-f]{32})\.')
                          AND m.extension = substring(r.media_url FROM '\.([a-z]+)$'))
    """)


def downgrade() -> None:
    pass  # a path is served as the absolute URL it stood for; nothing to undo
