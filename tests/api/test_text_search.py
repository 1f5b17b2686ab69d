"""q: full-text search: an integrator extension (issue 4), in JSON and XML (the ``api``
fixture). Every bad value is a spec-format 400 (or 403/404/413) naming the parameter, and a
refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.integrators import (
    NOW,
    ids,
)
from tests.helpers import (
    add_request,
    bad,
)


@pytest.fixture
def texts(session) -> dict[str, str]:
    made = {
        "light": add_request(
            session,
            code="STREETLIGHT-SINGLE",
            when=NOW - dt.timedelta(hours=1),
            description="Streetlight flickering all night long",
            address="200 N Spring St, 90012",
        ),
        "tag": add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(hours=2),
            description="Tag on the side wall",
            address="1353 W Bellevue Ave, 90026",
        ),
        "hole": add_request(
            session,
            code="OTHER",
            when=NOW - dt.timedelta(hours=3),
            description="Deep hole near the school gate",
            address="100 W 1st St, 90012",
        ),
    }
    return {name: str(r.id) for name, r in made.items()}


@pytest.mark.parametrize(
    "q,expected",
    [
        ("flickering", ["light"]),  # a word of the description (stemmed: "flicker")
        ("flicker", ["light"]),
        ("bellevue", ["tag"]),  # a word of the address
        ("Spring", ["light"]),
        ("graffiti", ["tag"]),  # the service name (and its keywords)
        ("vandalism", ["tag"]),
        ('"near the school"', ["hole"]),  # a phrase
        ('"school near"', []),
        ("hole -school", []),
        ("wall OR hole", ["tag", "hole"]),
        ("xylophone", []),
        ("the", []),  # only stop words: nothing matches, not an error
        ("the of and", []),
    ],
)
def test_q(api, texts, q, expected):
    result = api.get("requests", {"q": q}, root="service_requests", schema="requests")
    assert result.status == 200, result.body
    assert ids(result) == [texts[name] for name in expected]


def test_q_words_of_the_service_name_and_the_address_combine(api, texts):
    assert ids(api.get("requests", {"q": "graffiti bellevue"})) == [texts["tag"]]


def test_q_exclusion_applies_to_requests_matched_by_service_name(api, texts):
    assert ids(api.get("requests", {"q": "graffiti -wall"})) == []


def test_q_too_long_is_400(api):
    bad(api.get("requests", {"q": "word " * 50}), 400, "q")


def test_q_combines_with_other_filters(api, texts):
    assert ids(api.get("requests", {"q": "wall OR hole", "service_code": "OTHER"})) == [
        texts["hole"]
    ]
