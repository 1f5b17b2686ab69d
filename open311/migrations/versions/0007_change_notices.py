"""change notices: NOTIFY open311_changes as a write to what GET request by id reads commits

Workers keep GET request by id answers while nothing they show has changed
(``open311.changes``). A write through a worker of the same host moves their shared marks
itself; these triggers tell every server's listener of any other write (the CLI, another
host, SQL by hand). A notice names the requests updated or deleted (at most 300 ids, which
fit PostgreSQL's 8000-byte payload), or nothing for everything: more rows, a TRUNCATE, any
change to a service or a jurisdiction. A new request needs no notice (nothing kept shows
it). Statement-level: a bulk write notifies once, and PostgreSQL folds a transaction's
identical notices into one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATEMENTS = (
    "CREATE FUNCTION open311_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('open311_changes', ''); RETURN NULL; END $$",
    # changed_rows: the rows updated or deleted, as they were (OLD TABLE: an id updated too
    # names the request whose answer is kept)
    "CREATE FUNCTION open311_notify_requests() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE n integer; ids text; "
    "BEGIN "
    "SELECT count(*), string_agg(id::text, ',') INTO n, ids "
    "FROM (SELECT id FROM changed_rows LIMIT 301) AS s; "
    "IF n > 300 THEN ids := ''; END IF; "
    "IF n > 0 THEN PERFORM pg_notify('open311_changes', ids); END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER service_request_updated AFTER UPDATE ON service_request "
    "REFERENCING OLD TABLE AS changed_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_requests()",
    "CREATE TRIGGER service_request_deleted AFTER DELETE ON service_request "
    "REFERENCING OLD TABLE AS changed_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_requests()",
    "CREATE TRIGGER service_request_truncated AFTER TRUNCATE ON service_request "
    "FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()",
    "CREATE TRIGGER service_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service "
    "FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()",
    "CREATE TRIGGER jurisdiction_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON jurisdiction FOR EACH STATEMENT EXECUTE FUNCTION open311_notify_change()",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS service_request_updated ON service_request")
    op.execute("DROP TRIGGER IF EXISTS service_request_deleted ON service_request")
    op.execute("DROP TRIGGER IF EXISTS service_request_truncated ON service_request")
    op.execute("DROP TRIGGER IF EXISTS service_changes ON service")
    op.execute("DROP TRIGGER IF EXISTS jurisdiction_changes ON jurisdiction")
    op.execute("DROP FUNCTION IF EXISTS open311_notify_requests()")
    op.execute("DROP FUNCTION IF EXISTS open311_notify_change()")
