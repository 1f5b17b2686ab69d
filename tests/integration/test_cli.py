"""The `open311` command line (open311/cli.py) and the batch queue it drives
(accept_pending_requests).

Commands run through ``app.test_cli_runner()`` with the app wrapped in a FlaskGroup, as
``open311.cli.main`` does (the group pushes the app context the commands need). With the
``connection`` fixture active the commands' sessions live in the test's transaction, so they
see the test's data and everything they write is rolled back."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.cli import FlaskGroup

from open311.errors import Forbidden, NotFound
from open311.models import ApiKey, Jurisdiction, RequestEvent, ServiceRequest
from open311.operations.batch import accept_pending_requests
from open311.operations.keys import authenticate, create_key
from open311.operations.lookup import get_request_id_from_token, get_service_request
from open311.repository.jurisdictions import by_code
from tests.conftest import LA_BUNDLE
from tests.helpers import add_request, copy_bundle, edit

TEST_ID = "test.lacity.org"
FULL_KEY = re.compile(r"o311_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def cli(app, connection):
    """Run `open311 ARGS...` in the test's transaction; returns click's Result."""
    group = FlaskGroup(create_app=lambda: app, add_version_option=False, load_dotenv=False)
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(group, args=[str(a) for a in args])

    return run


@pytest.fixture
def bundle(tmp_path) -> Path:
    return copy_bundle(LA_BUNDLE, tmp_path / TEST_ID, TEST_ID)


def counts(session) -> dict[str, int]:
    return {
        table: session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
        for table in ("jurisdiction", "service", "service_attribute", "api_key")
    }


def key_row(session, key_id: int) -> ApiKey:
    session.expunge_all()
    return session.get(ApiKey, key_id)


def pending(session, token: str, **fields) -> ServiceRequest:
    return add_request(session, code="HOMELESS-ENCAMPMENT", accepted=False, token=token, **fields)


def events(session, request_pk: int) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in session.execute(
            sa.select(RequestEvent.kind, RequestEvent.status)
            .where(RequestEvent.request_pk == request_pk)
            .order_by(RequestEvent.id)
        )
    ]


def reread(session, request_pk: int) -> ServiceRequest:
    session.expunge_all()
    return session.get(ServiceRequest, request_pk)


# -- accept_pending_requests -------------------------------------------------------------------
NOW = dt.datetime(2024, 3, 1, 17, 30, tzinfo=dt.UTC)
EARLIER = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_accept_sets_accepted_at_and_updated_datetime_and_records_an_event(session):
    request = pending(session, "tok-1", when=EARLIER)
    assert request.accepted_at is None and request.public is False

    accepted = accept_pending_requests(session, now=NOW)

    assert accepted == [("tok-1", request.id)]
    stored = reread(session, request.id)
    assert stored.accepted_at == NOW
    assert stored.public is True
    assert stored.updated_datetime == NOW
    assert stored.requested_datetime == EARLIER
    assert stored.status == "open"
    event = session.scalars(
        sa.select(RequestEvent).where(RequestEvent.request_pk == request.id)
    ).one()
    assert (event.kind, event.status, event.at, event.api_key_pk) == ("accepted", "open", NOW, None)


def test_accepted_request_becomes_public_and_its_token_resolves(session):
    request = pending(session, "tok-1")
    assert get_request_id_from_token(session, "lacity.org", "tok-1") == [
        {"service_request_id": None, "token": "tok-1"}
    ]
    with pytest.raises(NotFound):
        get_service_request(session, "lacity.org", str(request.id))

    accept_pending_requests(session)

    assert get_request_id_from_token(session, "lacity.org", "tok-1") == [
        {"service_request_id": str(request.id), "token": "tok-1"}
    ]
    [payload] = get_service_request(session, "lacity.org", str(request.id))
    assert payload["service_request_id"] == str(request.id)
    assert payload["service_code"] == "HOMELESS-ENCAMPMENT"


def test_accept_keeps_a_closed_requests_status_in_the_event(session):
    request = pending(session, "tok-1", status="closed")
    accept_pending_requests(session, now=NOW)
    assert events(session, request.id) == [("accepted", "closed")]
    assert reread(session, request.id).status == "closed"


def test_accept_only_the_given_tokens(session):
    one, two, three = (pending(session, t) for t in ("tok-1", "tok-2", "tok-3"))

    accepted = accept_pending_requests(session, tokens=["tok-2", "tok-3", "no-such-token"], now=NOW)

    assert accepted == [("tok-2", two.id), ("tok-3", three.id)]
    assert reread(session, one.id).accepted_at is None
    assert reread(session, one.id).public is False
    assert events(session, one.id) == []
    assert reread(session, two.id).accepted_at == NOW


def test_accept_respects_the_limit_oldest_first(session):
    requests = [pending(session, f"tok-{n}") for n in range(1, 4)]

    first = accept_pending_requests(session, limit=2, now=NOW)
    assert first == [("tok-1", requests[0].id), ("tok-2", requests[1].id)]
    assert reread(session, requests[2].id).accepted_at is None

    second = accept_pending_requests(session, limit=2, now=NOW)
    assert second == [("tok-3", requests[2].id)]


def test_accept_leaves_already_accepted_requests_alone(session):
    old = pending(session, "tok-old", when=EARLIER)
    accept_pending_requests(session, now=EARLIER)
    realtime = add_request(session, code="GRAFFITI", when=EARLIER)
    new = pending(session, "tok-new")

    accepted = accept_pending_requests(session, now=NOW)

    assert accepted == [("tok-new", new.id)]
    stored_old = reread(session, old.id)
    assert (stored_old.accepted_at, stored_old.updated_datetime) == (EARLIER, EARLIER)
    assert events(session, old.id) == [("accepted", "open")]
    assert reread(session, realtime.id).accepted_at == EARLIER
    assert events(session, realtime.id) == []
    assert accept_pending_requests(session, now=NOW) == []


def test_accept_filters_by_jurisdiction(session):
    request = pending(session, "tok-1")
    assert accept_pending_requests(session, jurisdiction_id="lacity.org") == [("tok-1", request.id)]
    with pytest.raises(NotFound, match="'nowhere.example' is not served here"):
        accept_pending_requests(session, jurisdiction_id="nowhere.example")


# -- keys --------------------------------------------------------------------------------------
def test_keys_create_prints_the_key_once(cli, session):
    result = cli("keys", "create", "--name", "Fix My Street", "--contact", "dev@example.org")

    assert result.exit_code == 0, result.output
    keys = FULL_KEY.findall(result.output)
    assert len(keys) == 1
    key = keys[0]
    lines = result.stdout.splitlines()
    match = re.fullmatch(r"key (\d+) for Fix My Street \(prefix (\S{8})\):", lines[0])
    assert match, lines[0]
    assert lines[1] == key
    assert lines[2] == "Store it now: it is not shown again (only its hash is kept)."
    record = authenticate(session, key)
    assert record.id == int(match.group(1))
    assert record.prefix == match.group(2) == key[5:13]
    assert (record.name, record.contact) == ("Fix My Street", "dev@example.org")


def test_keys_create_quiet_prints_only_the_key(cli, session):
    result = cli("keys", "create", "--name", "Quiet App", "--quiet")
    assert result.exit_code == 0, result.output
    assert FULL_KEY.fullmatch(result.stdout.strip())
    assert result.stdout == result.stdout.strip() + "\n"
    assert authenticate(session, result.stdout.strip()).name == "Quiet App"


def test_keys_create_replace_revokes_the_apps_older_key(cli, session):
    old = create_key(session, "App")
    other = create_key(session, "Other App")
    result = cli("keys", "create", "--name", "App", "--replace", "--quiet")
    assert result.exit_code == 0, result.output
    with pytest.raises(Forbidden, match="revoked"):
        authenticate(session, old.key)
    assert authenticate(session, other.key).name == "Other App"
    assert authenticate(session, result.stdout.strip()).name == "App"


def test_keys_create_without_a_name_fails_clearly(cli, session):
    before = counts(session)
    result = cli("keys", "create", "--name", "   ")
    assert result.exit_code == 1
    assert result.stderr == "Error: an app name of 1 to 200 characters is required\n"
    assert counts(session) == before


def test_keys_list_shows_prefix_and_name_but_never_a_key(cli, session):
    active = create_key(session, "Listed App", "a@example.org")
    revoked = create_key(session, "Gone App")
    revoked_result = cli("keys", "revoke", revoked.record.id)
    assert revoked_result.exit_code == 0

    result = cli("keys", "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id\tprefix\tname\tcontact\tcreated\trevoked\tscopes"
    rows = {int(line.split("\t")[0]): line.split("\t") for line in lines[1:]}
    assert rows[active.record.id][1:4] == [active.record.prefix, "Listed App", "a@example.org"]
    assert rows[active.record.id][5:7] == ["-", "-"]
    assert rows[revoked.record.id][1:4] == [revoked.record.prefix, "Gone App", "-"]
    assert rows[revoked.record.id][5] != "-"
    assert active.key not in result.output and revoked.key not in result.output
    assert active.key[5:] not in result.output
    assert FULL_KEY.search(result.output) is None


def test_keys_revoke_by_id(cli, session):
    new = create_key(session, "App")
    result = cli("keys", "revoke", new.record.id)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"key {new.record.id} ({new.record.prefix}, App) revoked\n"
    assert key_row(session, new.record.id).revoked_at is not None
    with pytest.raises(Forbidden, match="revoked"):
        authenticate(session, new.key)


def test_keys_revoke_by_prefix(cli, session):
    new = create_key(session, "App")
    result = cli("keys", "revoke", new.record.prefix)
    assert result.exit_code == 0, result.output
    assert key_row(session, new.record.id).revoked_at is not None


def test_keys_revoke_unknown_id_fails_clearly(cli, session):
    new = create_key(session, "App")
    result = cli("keys", "revoke", "999999999")
    assert result.exit_code == 1
    assert result.stderr == "Error: no key with id or prefix '999999999'\n"
    assert result.stdout == ""
    assert key_row(session, new.record.id).revoked_at is None


# -- jurisdictions -----------------------------------------------------------------------------
def test_jurisdictions_list_shows_lacity(cli):
    result = cli("jurisdictions", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout == "lacity.org\tCity of Los Angeles\tAmerica/Los_Angeles\n"


def test_jurisdictions_load_twice_is_up_to_date_the_second_time(cli, session, bundle):
    first = cli("jurisdictions", "load", bundle)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == f"{TEST_ID}: was created"
    assert lines[1] == f"{TEST_ID}: service GRAFFITI: added"
    assert len(lines) == 13
    assert by_code(session, TEST_ID) is not None

    second = cli("jurisdictions", "load", bundle)
    assert second.exit_code == 0, second.output
    assert second.stdout == f"{TEST_ID}: up to date, nothing changed\n"

    listed = cli("jurisdictions", "list")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["lacity.org", TEST_ID]


def test_jurisdictions_load_reports_a_change(cli, session, bundle):
    assert cli("jurisdictions", "load", bundle).exit_code == 0
    edit(
        bundle / "services.yaml", "service_name: Graffiti Removal", "service_name: Graffiti Cleanup"
    )
    result = cli("jurisdictions", "load", bundle)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{TEST_ID}: service GRAFFITI: service_name changed\n"


def test_jurisdictions_check_of_a_good_bundle_reports_and_changes_nothing(cli, session, bundle):
    before = counts(session)

    result = cli("jurisdictions", "check", bundle)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{TEST_ID}: would be created"
    assert f"{TEST_ID}: service FEEDBACK: added" in lines
    assert counts(session) == before
    session.expunge_all()
    assert by_code(session, TEST_ID) is None


def test_jurisdictions_check_of_the_loaded_la_bundle_is_up_to_date(cli):
    result = cli("jurisdictions", "check", LA_BUNDLE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "lacity.org: up to date, nothing changed"
    assert all(line.startswith("note: ") for line in lines[:-1])  # repairs, skipped rows


def test_jurisdictions_check_of_a_changed_bundle_changes_nothing(cli, session, bundle):
    assert cli("jurisdictions", "load", bundle).exit_code == 0
    edit(bundle / "jurisdiction.yaml", "America/Los_Angeles", "America/Chicago")

    result = cli("jurisdictions", "check", bundle)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{TEST_ID}: jurisdiction: timezone changed\n"
    session.expunge_all()
    assert by_code(session, TEST_ID).timezone == "America/Los_Angeles"


def test_jurisdictions_check_of_a_broken_bundle_lists_every_problem(cli, session, bundle):
    edit(
        bundle / "services.yaml",
        "[graffiti, tagging, vandalism, paint]",
        '[graffiti, "tagging, vandalism", paint]',
    )
    edit(bundle / "services.yaml", "type: blackbox", "type: inbox")
    (bundle / "boundary.geojson").write_text(
        '{"type": "Point", "coordinates": [-118.24, 34.05]}', encoding="utf-8"
    )
    before = counts(session)

    result = cli("jurisdictions", "check", bundle)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bundle}: 3 problem(s):",
        "  - services.yaml: services[GRAFFITI].keywords.1: a keyword must not contain a comma",
        "  - services.yaml: services[FEEDBACK].type: Must be one of: realtime, batch, blackbox.",
        "  - boundary.geojson: feature 0 is a Point; a boundary or area must be a Polygon or "
        "MultiPolygon",
    ]
    assert counts(session) == before


def test_jurisdictions_load_of_a_broken_bundle_exits_1_and_stores_nothing(cli, session, bundle):
    edit(bundle / "jurisdiction.yaml", "America/Los_Angeles", "Pacific Time")
    before = counts(session)
    result = cli("jurisdictions", "load", bundle)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bundle}: 1 problem(s):",
        "  - jurisdiction.yaml: timezone: 'Pacific Time' is not an IANA time zone "
        "(e.g. America/Los_Angeles)",
    ]
    assert counts(session) == before


def test_jurisdictions_load_prints_repair_notes(cli, session, bundle):
    (bundle / "boundary.geojson").write_text(
        '{"type": "Polygon", "coordinates": [[[-118.3, 34.0], [-118.2, 34.1], [-118.2, 34.0], '
        "[-118.3, 34.1], [-118.3, 34.0]]]}",
        encoding="utf-8",
    )
    result = cli("jurisdictions", "load", bundle)
    assert result.exit_code == 0, result.output
    note, created = result.stdout.splitlines()[:2]
    assert note.startswith("note: feature 0 was invalid (Self-intersection")
    assert note.endswith("and has been repaired (make_valid)")
    assert created == f"{TEST_ID}: was created"


# -- requests accept ---------------------------------------------------------------------------
def test_requests_accept_prints_the_accepted_tokens(cli, session):
    one = pending(session, "tok-1")
    two = pending(session, "tok-2")

    result = cli("requests", "accept")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"accepted token tok-1 as service request {one.id}",
        f"accepted token tok-2 as service request {two.id}",
        "2 request(s) accepted",
    ]
    assert reread(session, one.id).accepted_at is not None
    assert events(session, two.id) == [("accepted", "open")]


def test_requests_accept_only_the_given_token_and_limit(cli, session):
    one, two, three = (pending(session, t) for t in ("tok-1", "tok-2", "tok-3"))

    result = cli("requests", "accept", "--token", "tok-3", "--token", "tok-2", "--limit", "1")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"accepted token tok-2 as service request {two.id}",
        "1 request(s) accepted",
    ]
    assert reread(session, one.id).accepted_at is None
    assert reread(session, three.id).accepted_at is None


def test_requests_accept_with_an_empty_queue(cli, session):
    add_request(session, code="GRAFFITI")
    result = cli("requests", "accept")
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 request(s) accepted\n"


def test_requests_accept_unknown_jurisdiction_fails_clearly(cli, session):
    request = pending(session, "tok-1")
    result = cli("requests", "accept", "--jurisdiction", "nowhere.example")
    assert result.exit_code == 1
    assert result.stderr == "Error: jurisdiction_id 'nowhere.example' is not served here\n"
    assert reread(session, request.id).accepted_at is None


def test_requests_accept_refuses_a_zero_limit(cli, session):
    request = pending(session, "tok-1")
    result = cli("requests", "accept", "--limit", "0")
    assert result.exit_code == 2
    assert "--limit" in result.stderr
    assert reread(session, request.id).accepted_at is None


# -- the installed console script --------------------------------------------------------------
def test_open311_console_script_lists_the_command_groups(database_url):
    script = Path(sys.executable).with_name("open311")
    assert script.exists(), script
    env = {**os.environ, "OPEN311_DATABASE_URL": database_url}
    env.pop("OPEN311_CONFIG_FILE", None)

    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: open311 ")
    commands = done.stdout.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert {"db", "jurisdictions", "keys", "requests", "serve"} <= listed
    assert "API keys of third-party apps (stored hashed)." in commands


def test_open311_keys_help_lists_its_commands(database_url):
    script = Path(sys.executable).with_name("open311")
    env = {**os.environ, "OPEN311_DATABASE_URL": database_url}
    done = subprocess.run(
        [str(script), "keys", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.split("Commands:", 1)[1]
    assert {line.split()[0] for line in commands.splitlines() if line.strip()} == {
        "create",
        "list",
        "revoke",
    }


def test_jurisdiction_rows_are_not_left_behind(session):
    """The CLI tests above ran in rolled-back transactions: only LA remains."""
    assert session.scalars(sa.select(Jurisdiction.jurisdiction_id)).all() == ["lacity.org"]


def test_the_private_clusters_database_is_recognised_as_an_engine_renders_it(tmp_path):
    """`open311 db upgrade` makes the private cluster's database when it is missing (a
    fresh clone's `make run`); the engine's URL names its socket directory percent-encoded."""
    from open311.cli import is_private
    from open311.db import make_engine
    from open311.pgcluster import Cluster

    cluster = Cluster(data_dir=tmp_path / "pgdata")
    engine = make_engine(cluster.url("open311"))
    rendered = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    assert "%2F" in rendered  # what made a string comparison fail
    assert is_private(rendered, cluster)
    assert not is_private(cluster.url("other"), cluster)
    assert not is_private("postgresql+psycopg://u@db.example/open311", cluster)
