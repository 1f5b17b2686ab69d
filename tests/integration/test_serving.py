"""The server as `make run` starts it (`open311 serve`: gunicorn with open311/serving.py's
settings, 2 workers) on a socket, facing clients that hold connections: 50 that connect and
send nothing, 10 that send their headers a byte a second, 20 that keep their connection
open after an answer. Health and a GET by id still answer at once (with sync workers two
idle connections stopped the whole API); the waiting ones are closed after the keep-alive
time. What gunicorn refuses itself is the spec's errors body, not an HTML page."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from open311 import serving
from open311.models import ApiKey, RequestEvent, ServiceRequest
from open311.operations.keys import create_key
from tests.helpers import add_request

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(engine, database_url):
    """``open311 serve`` on a free port, and a committed request to look up."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        request_id = add_request(session).id
    port = free_port()
    env = {**os.environ, "OPEN311_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "open311"), "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(port, "/open311/health.json")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield port, request_id
    finally:
        proc.terminate()
        proc.wait(30)
        with engine.begin() as conn:
            conn.execute(sa.delete(ServiceRequest).where(ServiceRequest.id == request_id))


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes, float]:
    """(status, body, milliseconds) of one GET on a new connection."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, body, (time.perf_counter() - started) * 1000


def raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the answer's status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def test_slow_and_idle_clients_hold_no_worker(server):
    port, request_id = server
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    kept = []
    for _ in range(20):  # an answer read, the connection kept open and silent
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/open311/health.json")
        assert connection.getresponse().read() == b'{"status":"ok"}'
        kept.append(connection.sock)
    closed_after: list[float] = []
    stop = threading.Event()

    def trickle() -> None:
        head = (
            b"GET /open311/health.json HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
            + b"a" * 100
            + b"\r\n\r\n"
        )
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for byte in head:
                if stop.is_set():
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(1)
            closed_after.append(time.monotonic() - started)

    slow = [threading.Thread(target=trickle) for _ in range(10)]
    for thread in slow:
        thread.start()
    time.sleep(0.5)
    try:
        timings = {"health": [], "by id": []}
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            for name, path in (
                ("health", "/open311/health.json"),
                ("by id", f"/open311/v2/requests/{request_id}.json"),
            ):
                status, body, ms = get(port, path, timeout=1.0)  # a held worker: a timeout
                assert status == 200, body
                timings[name].append(ms)
            time.sleep(0.05)
        for name, values in timings.items():
            assert statistics.median(values) < 100, (name, values)  # answered at once
        # The held connections are closed by the server after its keep-alive time.
        time.sleep(serving.keepalive + 1.5)
        for sock in idle + kept:
            sock.settimeout(2)
            assert sock.recv(1) == b"", "an idle connection is closed"
        stop.set()
        for thread in slow:
            thread.join(5)
        assert len(closed_after) == 10
        assert max(closed_after) < serving.keepalive + 3, closed_after
    finally:
        stop.set()
        for sock in idle + kept:
            sock.close()


def test_a_long_request_line_is_414_in_the_spec_format(server):
    port, _ = server
    status, headers, body = raw(
        port,
        b"GET /open311/v2/requests.json?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    assert status == 414
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == [{"code": 414, "description": serving.DESCRIPTIONS[414]}]


@pytest.mark.parametrize(
    "headers",
    [b"X-Big: " + b"b" * 9000 + b"\r\n", b"".join(b"X-%d: 1\r\n" % i for i in range(150))],
)
def test_too_large_headers_are_431_in_the_spec_format(server, headers):
    port, _ = server
    status, answer_headers, body = raw(
        port, b"GET /open311/health.json HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n"
    )
    assert status == 431
    assert answer_headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body)[0]["code"] == 431


def test_an_unreadable_request_is_400_in_the_spec_format(server):
    port, _ = server
    status, headers, body = raw(port, b"GET /open311/health.json HTTP/9\r\n\r\n")
    assert status == 400
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == [{"code": 400, "description": serving.DESCRIPTIONS[400]}]


def test_kept_alive_readers_hold_no_database_connection(server):
    """40 clients that read a request and keep their connection open: more than a worker's
    pool of database connections (5 + 10 overflow); the next reader is answered at once."""
    port, request_id = server
    path = f"/open311/v2/requests/{request_id}.json"
    held = []
    try:
        for _ in range(40):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200 and response.read()
            held.append(connection)
        status, body, _ms = get(port, path, timeout=1.0)
        assert status == 200, body
    finally:
        for connection in held:
            connection.close()


def post(port: int, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
    """(status, body) of one form POST on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST",
            path,
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_change_is_read_back_from_every_worker_at_once(server, engine):
    """Both workers keep the request's answer; a status update through either is read back
    by the next GET, on whichever worker it lands (the kept answers' shared change mark)."""
    from sqlalchemy.orm import Session

    port, request_id = server
    with Session(engine) as session:
        key = create_key(session, "serving test", scopes=("backoffice",)).key
        session.commit()
    path = f"/open311/v2/requests/{request_id}.json"
    try:
        for n in range(12):
            sent, status = ("FIXED", "closed") if n % 2 == 0 else ("IN_PROGRESS", "open")
            for _ in range(6):  # kept by both workers
                assert json.loads(get(port, path)[1])[0]["status"] != status
            answer = post(
                port,
                "/open311/v2/servicerequestupdates.json",
                {
                    "api_key": key,
                    "service_request_id": str(request_id),
                    "update_id": f"serving-{request_id}-{n}",
                    "status": sent,
                    "updated_datetime": f"2026-12-06T10:{n:02d}:00Z",
                    "description": sent,
                },
            )
            assert answer[0] == 200, answer
            for _ in range(6):
                assert json.loads(get(port, path)[1])[0]["status"] == status
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(RequestEvent).where(RequestEvent.request_pk == request_id))
            conn.execute(sa.delete(ApiKey).where(ApiKey.name == "serving test"))
