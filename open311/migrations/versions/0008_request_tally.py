"""request tally: the statistics' counts and close-time histograms, kept per local day

Statistics over a window of hundreds of thousands of requests cost ~650 ms read from the
table (the local week of each row and two exact percentiles per group). ``request_tally``
keeps, per jurisdiction, local day of ``requested_datetime``, service, channel (API key, 0
for none) and status: the public requests, how many of them closed on time against their
service's target, and a histogram of their times to close (``buckets``: the bucket numbers
of ``open311_close_bucket``, ``counts``: how many in each). Statement-level triggers add
what a write changes (ordered by key: concurrent writers lock cells in one order); a change
of a service's target or a jurisdiction's time zone recounts what it touches.
``ix_service_request_open`` reads the open backlog (ages to the minute) from the open
requests alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:15:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# A time to close's bucket: 0 under a minute, then 2 % wide (repository/statistics.py
# estimates percentiles from these bounds: keep both the same).
CLOSE_BUCKET = (
    "CREATE FUNCTION open311_close_bucket(requested timestamptz, closed timestamptz) "
    "RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT CASE WHEN closed IS NULL THEN NULL "
    "WHEN closed - requested < interval '60 seconds' THEN 0 "
    "ELSE least(799, 1 + floor(ln(extract(epoch FROM closed - requested)::float8 / 60) "
    "/ ln(1.02::float8)))::smallint END $$"
)
# Closed within the service's target: hours, or business days (Monday to Friday after the
# local day it was requested, up to the local day it closed; 1970-01-05 was a Monday).
ON_TIME = (
    "CREATE FUNCTION open311_on_time(requested timestamptz, closed timestamptz, tz text, "
    "target_hours integer, target_business_days integer) "
    "RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$ "
    "SELECT closed <= requested + make_interval(hours => target_hours) "
    "OR (5 * div((closed AT TIME ZONE tz)::date - date '1970-01-05' + 1, 7) "
    "+ least(mod((closed AT TIME ZONE tz)::date - date '1970-01-05' + 1, 7), 5)) "
    "- (5 * div((requested AT TIME ZONE tz)::date - date '1970-01-05' + 1, 7) "
    "+ least(mod((requested AT TIME ZONE tz)::date - date '1970-01-05' + 1, 7), 5)) "
    "<= target_business_days $$"
)
# The statement that adds rows of service_request to the tally ({source}: a subquery of
# them with a ``sign``, +1 or -1): one text for the triggers (static, so PL/pgSQL keeps its
# plan: planned per write it cost a POST 0.9 ms) and the recount (dynamic: its own scope).
TALLY_SQL = r"""
INSERT INTO request_tally AS t
    (jurisdiction_pk, day, service_pk, channel_pk, status, requests, on_time, buckets, counts)
SELECT jurisdiction_pk, day, service_pk, channel_pk, status, sum(n)::integer,
    sum(on_time)::integer,
    coalesce(array_agg(bucket ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL AND n <> 0),
        '{}')::smallint[],
    coalesce(array_agg(n ORDER BY bucket) FILTER (WHERE bucket IS NOT NULL AND n <> 0),
        '{}')::integer[]
FROM (
    SELECT * FROM (
        SELECT s.jurisdiction_pk, (s.requested_datetime AT TIME ZONE j.timezone)::date AS day,
            s.service_pk, coalesce(s.api_key_pk, 0) AS channel_pk, s.status,
            open311_close_bucket(s.requested_datetime, s.closed_at) AS bucket,
            sum(s.sign)::integer AS n,
            coalesce(sum(s.sign) FILTER (WHERE s.status = 'closed' AND open311_on_time(
                s.requested_datetime, s.closed_at, j.timezone, v.target_hours,
                v.target_business_days)), 0)::integer AS on_time
        FROM {source} AS s
        JOIN jurisdiction AS j ON j.id = s.jurisdiction_pk
        JOIN service AS v ON v.id = s.service_pk
        WHERE s.public
        GROUP BY 1, 2, 3, 4, 5, 6
    ) AS cell WHERE n <> 0 OR on_time <> 0
) AS delta
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (jurisdiction_pk, day, service_pk, channel_pk, status) DO UPDATE SET
    requests = t.requests + excluded.requests,
    on_time = t.on_time + excluded.on_time,
    (buckets, counts) = (
        SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(c ORDER BY b), '{}')
        FROM (
            SELECT b, sum(c)::integer AS c
            FROM unnest(t.buckets || excluded.buckets, t.counts || excluded.counts) AS h(b, c)
            GROUP BY b HAVING sum(c) <> 0
        ) AS merged
    )
"""
TALLY_STATEMENT = (
    "CREATE FUNCTION open311_tally_statement(source text) RETURNS text "
    "LANGUAGE sql IMMUTABLE AS $f$ SELECT format($q$"
    + TALLY_SQL.replace("{source}", "%s")
    + "$q$, source) $f$"
)
# Recount a jurisdiction's or a service's cells (NULL: every one) from the table; each case
# its own condition, so that a service's recount reads its rows by index. It first waits for
# the writers of service_request in flight and holds new ones until its transaction ends
# (SHARE): a write meanwhile would count with the old time zone or target, or be counted
# twice (its cell new, committed between the recount's DELETE and INSERT).
TALLY_RECOUNT = """
CREATE FUNCTION open311_tally_recount(of_jurisdiction integer, of_service integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE scope text := 'r.public'
    || CASE WHEN of_jurisdiction IS NULL THEN '' ELSE ' AND r.jurisdiction_pk = $1' END
    || CASE WHEN of_service IS NULL THEN '' ELSE ' AND r.service_pk = $2' END;
BEGIN
    LOCK TABLE service_request IN SHARE MODE;
    DELETE FROM request_tally
    WHERE (of_jurisdiction IS NULL OR jurisdiction_pk = of_jurisdiction)
        AND (of_service IS NULL OR service_pk = of_service);
    EXECUTE open311_tally_statement(
        '(SELECT r.*, 1 AS sign FROM service_request AS r WHERE ' || scope || ')')
    USING of_jurisdiction, of_service;
END $$
"""
# The transition tables are visible to the trigger function's own statements only: each
# event its function. An update that leaves every counted column as it was (a status note,
# a new updated_datetime) changes no cell and writes none.
COUNTED = "jurisdiction_pk, requested_datetime, service_pk, api_key_pk, status, closed_at, public"
TALLY_TRIGGERS = (
    "CREATE FUNCTION open311_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + TALLY_SQL.replace("{source}", "(SELECT n.*, 1 AS sign FROM new_rows AS n)")
    + "; RETURN NULL; END $$",
    "CREATE FUNCTION open311_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + TALLY_SQL.replace("{source}", "(SELECT o.*, -1 AS sign FROM old_rows AS o)")
    + "; RETURN NULL; END $$",
    "CREATE FUNCTION open311_tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF EXISTS (SELECT {COUNTED} FROM old_rows EXCEPT ALL SELECT {COUNTED} FROM new_rows) "
    "THEN "
    + TALLY_SQL.replace(
        "{source}",
        "(SELECT o.*, -1 AS sign FROM old_rows AS o UNION ALL "
        "SELECT n.*, 1 AS sign FROM new_rows AS n)",
    )
    + "; END IF; RETURN NULL; END $$",
)
RECOUNT_TRIGGERS = """
CREATE FUNCTION open311_tally_recount_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM open311_tally_recount(NULL, NEW.id); RETURN NULL; END $$;
CREATE FUNCTION open311_tally_recount_jurisdiction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM open311_tally_recount(NEW.id, NULL); RETURN NULL; END $$;
CREATE FUNCTION open311_tally_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM request_tally; RETURN NULL; END $$;
CREATE TRIGGER service_request_tally_inserted AFTER INSERT ON service_request
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open311_tally_inserted();
CREATE TRIGGER service_request_tally_updated AFTER UPDATE ON service_request
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open311_tally_updated();
CREATE TRIGGER service_request_tally_deleted AFTER DELETE ON service_request
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION open311_tally_deleted();
CREATE TRIGGER service_request_tally_truncated AFTER TRUNCATE ON service_request
    FOR EACH STATEMENT EXECUTE FUNCTION open311_tally_clear();
CREATE TRIGGER service_target_tally AFTER UPDATE OF target_hours, target_business_days
    ON service FOR EACH ROW
    WHEN (OLD.target_hours IS DISTINCT FROM NEW.target_hours
        OR OLD.target_business_days IS DISTINCT FROM NEW.target_business_days)
    EXECUTE FUNCTION open311_tally_recount_service();
CREATE TRIGGER jurisdiction_timezone_tally AFTER UPDATE OF timezone ON jurisdiction
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION open311_tally_recount_jurisdiction();
"""


def upgrade() -> None:
    op.create_table(
        "request_tally",
        sa.Column("jurisdiction_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service_pk", sa.Integer(), nullable=False),
        sa.Column("channel_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=6), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("buckets", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("counts", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint(
            "jurisdiction_pk", "day", "service_pk", "channel_pk", "status",
            name=op.f("pk_request_tally"),
        ),
    )
    op.create_index(
        "ix_service_request_open",
        "service_request",
        ["jurisdiction_pk", "requested_datetime"],
        unique=False,
        postgresql_include=["service_pk", "api_key_pk"],
        postgresql_where=sa.text("public AND status = 'open'"),
    )
    for statement in (CLOSE_BUCKET, ON_TIME, TALLY_STATEMENT, TALLY_RECOUNT, *TALLY_TRIGGERS):
        op.execute(statement)
    op.execute(RECOUNT_TRIGGERS)
    op.execute("SELECT open311_tally_recount(NULL, NULL)")


def downgrade() -> None:
    for trigger, table in (
        ("service_request_tally_inserted", "service_request"),
        ("service_request_tally_updated", "service_request"),
        ("service_request_tally_deleted", "service_request"),
        ("service_request_tally_truncated", "service_request"),
        ("service_target_tally", "service"),
        ("jurisdiction_timezone_tally", "jurisdiction"),
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in (
        "open311_tally_clear()",
        "open311_tally_recount_jurisdiction()",
        "open311_tally_recount_service()",
        "open311_tally_inserted()",
        "open311_tally_updated()",
        "open311_tally_deleted()",
        "open311_tally_recount(integer, integer)",
        "open311_tally_statement(text)",
        "open311_on_time(timestamptz, timestamptz, text, integer, integer)",
        "open311_close_bucket(timestamptz, timestamptz)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_index("ix_service_request_open", table_name="service_request")
    op.drop_table("request_tally")
