"""change notices: NOTIFY open311_changes as a write to what GET request by id reads commits

Workers keep GET request by id answers while nothing they read has changed
(``open311.changes``). A write through a worker of the same host moves their shared mark
itself; these triggers tell every server's listener of any other write (the CLI, another
host, SQL by hand). Statement-level: a bulk write notifies once, and PostgreSQL folds the
notices of one transaction into one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# On the tables a GET request by id answer (without extensions) is read from.
TRIGGERS = (
    (
        "CREATE TRIGGER service_request_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON service_request FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()"
    ),
    (
        "CREATE TRIGGER service_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON service FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()"
    ),
    (
        "CREATE TRIGGER jurisdiction_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON jurisdiction FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()"
    ),
)


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION open311_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('open311_changes', ''); RETURN NULL; END $$"
    )
    for create in TRIGGERS:
        op.execute(create)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS service_request_changes ON service_request")
    op.execute("DROP TRIGGER IF EXISTS service_changes ON service")
    op.execute("DROP TRIGGER IF EXISTS jurisdiction_changes ON jurisdiction")
    op.execute("DROP FUNCTION IF EXISTS open311_notify_change()")
