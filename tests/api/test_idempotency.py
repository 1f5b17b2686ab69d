"""Idempotency-Key: a retried POST answers what the first one did: an integrator extension
(issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or
403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import pytest

from tests.api.integrators import (
    OTHER,
    created,
)
from tests.helpers import (
    bad,
    new_key,
    stored,
)


def test_same_idempotency_key_and_form_answer_the_first_answer(api, session, key):
    before = stored(session)
    data = {**OTHER, "api_key": key, "description": "Broken bench"}
    headers = {"Idempotency-Key": "retry-0001"}
    first = api.post("requests", data, headers=headers)
    assert first.status == 200, first.body
    second = api.post("requests", dict(data), headers=headers)
    assert second.status == 200
    assert second.raw == first.raw  # byte for byte
    after = stored(session)
    assert after["service_request"] == before["service_request"] + 1
    assert after["request_event"] == before["request_event"] + 1
    assert after["idempotent_answer"] == before["idempotent_answer"] + 1
    # the same key sent as Bearer instead of in the form is the same request
    third = api.post(
        "requests",
        {k: v for k, v in data.items() if k != "api_key"},
        headers={**headers, "Authorization": f"Bearer {key}"},
    )
    assert third.raw == first.raw and stored(session) == after


def test_same_idempotency_key_with_another_form_is_400(api, session, key):
    headers = {"Idempotency-Key": "retry-0002"}
    assert (
        api.post(
            "requests", {**OTHER, "api_key": key, "description": "Broken bench"}, headers=headers
        ).status
        == 200
    )
    before = stored(session)
    result = api.post(
        "requests", {**OTHER, "api_key": key, "description": "Broken swing"}, headers=headers
    )
    bad(result, 400, "Idempotency-Key")
    assert stored(session) == before


def test_idempotency_key_belongs_to_one_app(api, session, key):
    headers = {"Idempotency-Key": "shared-key"}
    data = {**OTHER, "description": "Broken bench"}
    first = created(api, {**data, "api_key": key}, headers=headers)
    other = created(api, {**data, "api_key": new_key(session, "another app")}, headers=headers)
    assert first != other


def test_idempotency_key_sees_the_jurisdiction_in_the_query_string(api, session, key):
    from tests.api.test_services import add_second_jurisdiction

    add_second_jurisdiction(session)
    headers = {"Idempotency-Key": "retry-0004"}
    data = {**OTHER, "api_key": key}
    created(api, data, params={"jurisdiction_id": "lacity.org"}, headers=headers)
    before = stored(session)
    again = api.post("requests", data, params={"jurisdiction_id": "example.org"}, headers=headers)
    bad(again, 400, "Idempotency-Key")
    assert stored(session) == before


def test_a_refused_post_does_not_use_up_the_key(api, session, key):
    headers = {"Idempotency-Key": "retry-0003"}
    before = stored(session)
    bad(api.post("requests", {**OTHER, "api_key": key, "lat": "91"}, headers=headers), 400, "lat")
    assert stored(session) == before
    assert created(api, {**OTHER, "api_key": key}, headers=headers)


def test_a_concurrent_post_with_the_same_key_answers_as_the_first_did(
    api, session, key, monkeypatch
):
    """Two POSTs with one Idempotency-Key at once: both find no answer yet, the first
    stores its request and answer, the second's one statement then fails on the answer and
    stores nothing; it answers what the first did."""
    from open311.repository import new_requests as requests_repo

    headers = {"Idempotency-Key": "retry-0005"}
    data = {**OTHER, "api_key": key, "description": "Broken bench"}
    first = api.post("requests", data, headers=headers)
    assert first.status == 200, first.body
    before = stored(session)
    checks = []
    found = requests_repo.remembered_answer

    def not_yet_then_found(*args):  # as if the first committed after the second looked
        checks.append(args)
        return None if len(checks) == 1 else found(*args)

    monkeypatch.setattr(requests_repo, "remembered_answer", not_yet_then_found)
    second = api.post("requests", dict(data), headers=headers)
    assert second.status == 200, second.body
    assert second.raw == first.raw
    assert len(checks) == 2  # looked again after the write failed
    assert stored(session) == before


@pytest.mark.parametrize("value", ["k" * 256, "clé-1", "two words", "", "tab\there"])
def test_bad_idempotency_key_is_400(api, session, key, value):
    before = stored(session)
    bad(
        api.post("requests", {**OTHER, "api_key": key}, headers={"Idempotency-Key": value}),
        400,
        "Idempotency-Key",
    )
    assert stored(session) == before


def test_idempotency_key_of_255_characters_is_fine(api, key):
    assert created(api, {**OTHER, "api_key": key}, headers={"Idempotency-Key": "k" * 255})
