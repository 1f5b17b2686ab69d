"""open311/serving.py without a server: which answers close their connection, and the bytes
gunicorn's own refusals are written as."""

from __future__ import annotations

import json
from types import SimpleNamespace

from open311 import serving


def request() -> SimpleNamespace:
    return SimpleNamespace(must_close=False)


def test_a_request_that_meets_another_in_the_app_closes_its_connection():
    worker = SimpleNamespace(in_app=0)
    first, second, third = request(), request(), request()
    serving.pre_request(worker, first)
    serving.pre_request(worker, second)  # while the first is in the app
    assert (first.must_close, second.must_close, worker.in_app) == (False, True, 2)
    serving.post_request(worker, second, {}, None)
    serving.post_request(worker, first, {}, None)
    serving.pre_request(worker, third)  # alone again: its connection is kept alive
    assert (third.must_close, worker.in_app) == (False, 1)


def test_refusals_are_the_spec_errors_body():
    head, _, body = serving.error_bytes(431, "Request Header Fields Too Large").partition(
        b"\r\n\r\n"
    )
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert "Content-Type: application/json; charset=utf-8" in lines
    assert "Connection: close" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == [{"code": 431, "description": serving.DESCRIPTIONS[431]}]
    unknown = serving.error_bytes(418, "I'm a teapot").partition(b"\r\n\r\n")[2]
    assert json.loads(unknown) == [{"code": 418, "description": "I'm a teapot"}]


def test_open311_serve_allows_the_address_it_listens_on():
    import socket

    from open311.cli import bound_hosts

    assert bound_hosts("10.1.2.3:8000") == ["10.1.2.3"]
    assert bound_hosts("[2001:db8::1]:8000") == ["[2001:db8::1]"]
    assert bound_hosts("localhost") == ["localhost"]
    assert bound_hosts("unix:/run/open311.sock") == []
    everywhere = bound_hosts("0.0.0.0:8000")
    assert everywhere[0] == socket.gethostname()
    assert bound_hosts("[::]:8000")[0] == socket.gethostname()
