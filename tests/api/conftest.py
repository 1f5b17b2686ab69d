"""Fixtures of the API tests: the API keys the integrator-extension tests post with, and
the requests they read."""

from __future__ import annotations

import datetime as dt

import pytest

from open311.models import ServiceRequest
from open311.operations.keys import create_key
from tests.api.integrators import NOW, idlist
from tests.helpers import add_request


@pytest.fixture
def key(session) -> str:
    return create_key(session, "FixMyPhone").key


@pytest.fixture
def backoffice(session) -> str:
    return create_key(session, "FMS", scopes=("backoffice",)).key


@pytest.fixture
def five(session) -> list[str]:
    """Five public requests, newest first."""
    return idlist(*[add_request(session, when=NOW - dt.timedelta(minutes=m)) for m in range(1, 6)])


@pytest.fixture
def reported(session) -> ServiceRequest:
    return add_request(
        session, code="OTHER", when=NOW - dt.timedelta(days=1), description="Broken bench"
    )
