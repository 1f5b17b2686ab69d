"""POST Service Request on the app's real sessions (not the suite's rolled-back ones): it
runs in autocommit and writes everything in one statement, so it sends no BEGIN or COMMIT
and a write that fails stores nothing. The protocol messages are read from libpq's trace of
the connection."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from psycopg import pq
from sqlalchemy.orm import Session

from open311 import create_app
from open311.db import Database
from open311.operations.keys import create_key
from open311.repository import new_requests as requests_repo
from open311.storage import LocalStorage
from tests.helpers import CITY_HALL, photo

FORM = {
    "service_code": "GRAFFITI",
    "attribute[SURFACE]": "FENCE",
    **CITY_HALL,
    "description": "Tag on the fence",
    "email": "resident@example.org",
    "first_name": "Ada",
    "jurisdiction_id": "lacity.org",
}


class Key(NamedTuple):
    key: str
    pk: int


@pytest.fixture
def live(engine, database_url, tmp_path):
    """The app on the test database itself, as gunicorn runs it; every connection it opens
    is traced to a file. What it committed is deleted afterwards."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "CACHE_SECONDS": 0})
    app.extensions["open311_storage"] = LocalStorage(tmp_path / "media")
    trace_file = (tmp_path / "libpq.trace").open("w")

    def trace(dbapi_connection, _record) -> None:
        dbapi_connection.pgconn.trace(trace_file.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    for each in Database.engines(app):
        sa.event.listen(each, "connect", trace)
    with Session(engine) as session:
        new = create_key(session, "autocommit test")
        key = Key(new.key, new.record.id)
    try:
        yield app, key, trace_file, tmp_path / "libpq.trace"
    finally:
        Database.sessions(app).reads.release_all()
        for each in Database.engines(app):
            each.dispose()
        trace_file.close()
        with engine.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM service_request WHERE api_key_pk = :k"), {"k": key.pk}
            )
            conn.execute(sa.text("DELETE FROM api_key WHERE id = :k"), {"k": key.pk})


def messages(trace_file, path: Path) -> list[tuple[str, str, str]]:
    """(direction, type, text) of every protocol message traced so far."""
    trace_file.flush()
    # A message starts "F\t" (frontend) or "B\t" (backend); an SQL text may span lines.
    found = []
    for message in re.split(r"\n(?=[FB]\t)", path.read_text().strip()):
        direction, _length, kind, *rest = message.split("\t")
        found.append((direction, kind, "\t".join(rest)))
    return found


def statements(found) -> list[str]:
    return [
        text for direction, kind, text in found if direction == "F" and kind in ("Query", "Parse")
    ]


def stored(engine, key_pk: int) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT 'service_request', count(*) FROM service_request WHERE api_key_pk = :k "
                    "UNION ALL SELECT 'request_event', count(*) FROM request_event e "
                    "JOIN service_request r ON r.id = e.request_pk WHERE r.api_key_pk = :k "
                    "UNION ALL SELECT 'request_contact', count(*) FROM request_contact c "
                    "JOIN service_request r ON r.id = c.request_pk WHERE r.api_key_pk = :k "
                    "UNION ALL SELECT 'media', count(*) FROM media m "
                    "JOIN service_request r ON r.id = m.request_pk WHERE r.api_key_pk = :k "
                    "UNION ALL SELECT 'idempotent_answer', count(*) FROM idempotent_answer "
                    "WHERE api_key_pk = :k"
                ),
                {"k": key_pk},
            ).all()
        )


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_post_sends_no_begin_or_commit_and_writes_in_one_statement(live, engine, fmt):
    app, key, trace_file, path = live
    client = app.test_client()
    response = client.post(
        f"/open311/v2/requests.{fmt}",
        data={**FORM, "api_key": key.key, "media": (io.BytesIO(photo()), "a.jpg")},
        headers={"Idempotency-Key": f"autocommit-{fmt}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    found = messages(trace_file, path)
    sent = statements(found)
    assert sent, "the POST's connection was traced"
    assert not [s for s in sent if re.search(r'"(BEGIN|COMMIT|ROLLBACK)', s)], sent
    # Never inside a transaction block: every ReadyForQuery says idle ("I").
    assert {text.strip() for _, kind, text in found if kind == "ReadyForQuery"} == {"I"}
    writes = [s for s in sent if "INSERT INTO" in s]
    assert len(writes) == 1, writes
    for table in (
        "service_request",
        "request_event",
        "request_contact",
        "media",
        "idempotent_answer",
    ):
        assert f"INSERT INTO {table} " in writes[0]
    assert Database.engines(app)[0].pool.checkedout() == 0  # no transactional session used

    # All of it stored (committed: read from another connection), the answer with the id.
    assert stored(engine, key.pk) == {
        "service_request": 1,
        "request_event": 1,
        "request_contact": 1,
        "media": 1,
        "idempotent_answer": 1,
    }
    with engine.connect() as conn:
        request_pk, payload = conn.execute(
            sa.text(
                "SELECT r.id, a.payload FROM service_request r, idempotent_answer a "
                "WHERE r.api_key_pk = :k AND a.api_key_pk = :k"
            ),
            {"k": key.pk},
        ).one()
    assert payload[0]["service_request_id"] == str(request_pk)
    if fmt == "json":
        assert json.loads(response.get_data()) == payload
    else:
        assert f"<service_request_id>{request_pk}</service_request_id>" in response.get_data(
            as_text=True
        )
    again = client.post(
        f"/open311/v2/requests.{fmt}",
        data={**FORM, "api_key": key.key, "media": (io.BytesIO(photo()), "a.jpg")},
        headers={"Idempotency-Key": f"autocommit-{fmt}"},
    )
    assert again.get_data() == response.get_data()
    assert stored(engine, key.pk)["service_request"] == 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_write_that_fails_stores_nothing(live, engine, monkeypatch, fmt):
    """The request, its event and contact are written by the statement that then fails on
    the Idempotency-Key's answer (stored meanwhile by a concurrent POST): none of it stays,
    and the POST answers what the first one did."""
    app, key, _trace_file, _path = live
    client = app.test_client()
    data = {**FORM, "api_key": key.key}
    headers = {"Idempotency-Key": f"race-{fmt}"}
    first = client.post(f"/open311/v2/requests.{fmt}", data=data, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    before = stored(engine, key.pk)
    assert before["service_request"] == 1 and before["idempotent_answer"] == 1
    looked = []
    found = requests_repo.remembered_answer

    def not_yet_then_found(*args):
        looked.append(args)
        return None if len(looked) == 1 else found(*args)

    monkeypatch.setattr(requests_repo, "remembered_answer", not_yet_then_found)
    second = client.post(f"/open311/v2/requests.{fmt}", data=dict(data), headers=headers)
    assert second.status_code == 200, second.get_data(as_text=True)
    assert second.get_data() == first.get_data()
    assert len(looked) == 2
    assert stored(engine, key.pk) == before
