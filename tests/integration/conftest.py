"""Fixtures of the integration tests that talk to the app over HTTP, as GIS clients do."""

from __future__ import annotations

import logging
import threading

import pytest
from werkzeug.serving import make_server

from open311 import create_app
from open311.db import Database


@pytest.fixture(scope="session")
def served(engine, database_url):
    """The app on a local port; the statuses of the answers it gave."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    statuses: list[int] = []

    @app.after_request
    def record(response):
        statuses.append(response.status_code)
        return response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/open311/v2", statuses
    finally:
        server.shutdown()
        for engine in Database.engines(app):
            engine.dispose()


SERVE = """
import logging, sys
from werkzeug.serving import make_server
from open311 import create_app
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": sys.argv[1]}), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="session")
def served_apart(engine, database_url):
    """The app on a local port in a process of its own: a client that holds the GIL while
    it waits for an answer (GDAL reading pages through pyogrio) cannot starve it. The
    GeoReport endpoint's URL."""
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, database_url],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        base = f"http://127.0.0.1:{port}/open311/v2"
        urllib.request.urlopen(f"http://127.0.0.1:{port}/open311/health.json", timeout=30).close()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
