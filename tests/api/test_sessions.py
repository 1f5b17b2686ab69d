"""The API tests run the server's own sessions: the harness binds them to the test's
rolled-back connection (Database.bind), it does not swap them for plain ones."""

from __future__ import annotations

from flask import g
from sqlalchemy.orm import Session

from open311.db import Database, ReadSession
from tests.api.integrators import now_iso
from tests.helpers import CITY_HALL, Api

OTHER = {"service_code": "OTHER", **CITY_HALL}


def test_each_request_gets_the_session_the_server_gives_it(
    app_with, fmt, key, backoffice, reported
):
    """GET: a read session (autocommit in production); POST requests, a view marked
    @autocommit whose key check opens the session first: a read session too; another write
    (a request update): a transactional session."""
    app = app_with()
    seen: list[type] = []

    @app.teardown_appcontext
    def _record(_exc):  # runs before the session closes (teardowns run newest first)
        if "db_session" in g:
            seen.append(type(g.db_session))

    api = Api(app.test_client(), fmt)
    assert api.get("services").status == 200
    assert api.post("requests", {**OTHER, "api_key": key}).status == 200
    update = api.post(
        "servicerequestupdates",
        {
            "api_key": backoffice,
            "service_request_id": str(reported.id),
            "update_id": "s-1",
            "status": "FIXED",
            "updated_datetime": now_iso(),
            "description": "done",
        },
        schema=None,
        root="service_request_updates",
    )
    assert update.status == 200, update.body
    assert all(issubclass(kind, Session) for kind in seen)
    assert [issubclass(kind, ReadSession) for kind in seen] == [True, True, False]
    assert Database.sessions(app).reads is not None and not Database.sessions(app).reads.owned
