"""How the server faces clients: gunicorn settings (``gunicorn -c python:open311.serving``,
what ``open311 serve`` and the benchmarks run) and its worker.

Slow and idle clients must hold no worker. gunicorn's sync workers serve one connection at a
time and wait for its request without a limit: two connections that sent nothing stopped
the whole API. Its threaded workers give a new connection a thread for up to 5 s before
they look at another, and a client sending its headers a byte a second keeps the thread.
The gevent worker serves each connection on a greenlet of its own: a connection waiting
costs a little memory, never the worker. gunicorn times out the reading of a request's
head (request line and headers) after ``keepalive`` seconds, idle or slow alike, and here
every read or write of a connection after ``IO_TIMEOUT`` seconds without progress (a body
sent or an answer read a byte at a time). psycopg waits for PostgreSQL cooperatively under
gevent, so one request's query does not hold the others.

What the HTTP server refuses before the app sees a request (a request line or headers too
long, an unparseable request) is answered in the spec's errors format, in JSON (the URL's
format is not known then), instead of gunicorn's HTML page.

In production, put a reverse proxy in front (README: "Serving"), for TLS, request
buffering and per-client limits; this keeps the server standing without one.
"""

from __future__ import annotations

import json

from gunicorn import util
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

# Imported here, in the master, before it forks: its workers share one change mark.
import open311.change_mark  # noqa: F401

# gunicorn settings (module-level names are read by ``-c python:open311.serving``).
worker_class = "open311.serving.Worker"
worker_connections = 1000  # connections one worker serves at once
keepalive = 5  # seconds: the reading of a request head (gunicorn's async workers)
timeout = 30  # seconds: a worker that stops answering its master is restarted
graceful_timeout = 20
limit_request_line = 4094  # bytes of "GET /url HTTP/1.1": longer is a 414
limit_request_fields = 100  # headers: more, or one longer than the next, is a 431
limit_request_field_size = 8190
control_socket_disable = True  # gunicornc's socket: one path per user, shared by servers
# The access log (where one is asked for: `open311 serve` writes it to stdout) has the
# path without the query string: a key sent as ?api_key= never reaches it.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

IO_TIMEOUT = 20  # seconds without progress on a connection's read or write


def pre_request(worker, req) -> None:
    """A request that starts while another of this worker is in the app is answered with
    ``Connection: close``. A kept-alive connection stays with the worker that accepted it,
    so two busy clients could share one worker (and one core) while the other idled.
    Closed, the client comes back on a new connection, which any worker may accept:
    connections settle one per worker and keep alive there (cheaper than closing after
    every answer, as sync workers do; bench/RESULTS.md, sixth session)."""
    if worker.in_app:
        req.must_close = True
    worker.in_app += 1


def post_request(worker, req, environ, resp) -> None:
    worker.in_app -= 1


DESCRIPTIONS = {
    400: "the request could not be read as HTTP/1.1",
    403: "forbidden",
    414: f"the request line (method, URL and version) is longer than {limit_request_line} bytes",
    417: "expectation failed",
    431: f"the request's header fields are too large (at most {limit_request_fields} "
    f"fields of at most {limit_request_field_size} bytes each)",
    500: "internal server error",
    501: "the request's transfer coding is not supported",
}


def error_bytes(status: int, reason: str) -> bytes:
    """A whole HTTP answer: the spec's errors body (JSON), closing the connection."""
    body = json.dumps(
        [{"code": status, "description": DESCRIPTIONS.get(status, reason)}], separators=(",", ":")
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering the spec's body instead of HTML."""
    util.write_nonblock(sock, error_bytes(status_int, reason))


class Worker(GeventWorker):
    """gunicorn's gevent worker, with a time limit on every read and write of a connection
    and the spec's errors body for what gunicorn itself refuses."""

    in_app = 0  # requests of this worker between pre_request and post_request

    def init_process(self) -> None:
        util.write_error = write_error  # the worker's own gunicorn (handle_error calls it)
        super().init_process()

    def handle(self, listener, client, addr) -> None:
        client.settimeout(IO_TIMEOUT)  # GeventWorker.handle would make it block forever
        AsyncWorker.handle(self, listener, client, addr)
