"""Request updates (FixMyStreet's servicerequestupdates): an integrator extension (issue 4), in
JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or 403/404/413)
naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from open311.operations.keys import create_key
from tests.api.integrators import (
    NOW,
    events_of,
    extended,
    now_iso,
    post_update,
)
from tests.helpers import (
    add_request,
    bad,
    stored,
)


def test_fixed_closes_the_request(api, session, backoffice, reported):
    before = extended(api, str(reported.id))
    result = post_update(
        api, backoffice, reported.id, "FIXED", "fms-1", description="Bench replaced"
    )
    assert result.status == 200, result.body
    assert result.root in (None, "service_request_updates")
    [answer] = result.body
    assert set(answer) == {"update_id"} and answer["update_id"].isdigit()
    item = extended(api, str(reported.id))
    assert item["status"] == "closed"
    assert item["status_notes"] == "Bench replaced"
    assert item["extended_attributes"]["detailed_status"] == "fixed"
    assert dt.datetime.fromisoformat(item["updated_datetime"]) > dt.datetime.fromisoformat(
        before["updated_datetime"]
    )
    assert item["notes"][-1] == {
        "datetime": item["notes"][-1]["datetime"],
        "type": "closed",
        "status": "closed",
        "detailed_status": "fixed",
        "description": "Bench replaced",
    }


def test_in_progress_reopens_a_closed_request(api, session, backoffice, reported):
    assert post_update(api, backoffice, reported.id, "CLOSED", "fms-1").status == 200
    assert extended(api, str(reported.id))["status"] == "closed"
    assert (
        post_update(
            api,
            backoffice,
            reported.id,
            "IN_PROGRESS",
            "fms-2",
            description="Reopened: crew assigned",
        ).status
        == 200
    )
    item = extended(api, str(reported.id))
    assert item["status"] == "open"
    assert item["extended_attributes"]["detailed_status"] == "in_progress"
    assert item["notes"][-1]["type"] == "reopened"


def test_in_progress_keeps_an_open_request_open(api, session, backoffice, reported):
    assert post_update(api, backoffice, reported.id, "IN_PROGRESS", "fms-1").status == 200
    item = extended(api, str(reported.id))
    assert (item["status"], item["extended_attributes"]["detailed_status"]) == (
        "open",
        "in_progress",
    )


@pytest.mark.parametrize("first,status", [("FIXED", "closed"), ("INVESTIGATING", "open")])
def test_unchanged_keeps_the_status_and_records_the_note(
    api, session, backoffice, reported, first, status
):
    assert post_update(api, backoffice, reported.id, first, "fms-1").status == 200
    events = events_of(session, reported.id)
    assert (
        post_update(
            api, backoffice, reported.id, "UNCHANGED", "fms-2", description="Waiting for parts"
        ).status
        == 200
    )
    assert events_of(session, reported.id) == events + 1
    item = extended(api, str(reported.id))
    assert item["status"] == status
    assert item["extended_attributes"]["detailed_status"] == first.lower()
    assert item["status_notes"] == "Waiting for parts"
    assert item["notes"][-1]["description"] == "Waiting for parts"


def test_same_update_id_is_answered_again_without_a_second_event(
    api, session, backoffice, reported
):
    first = post_update(api, backoffice, reported.id, "FIXED", "fms-7", description="Done")
    events = events_of(session, reported.id)
    again = post_update(api, backoffice, reported.id, "FIXED", "fms-7", description="Done")
    assert again.status == 200 and again.body == first.body and again.raw == first.raw
    assert events_of(session, reported.id) == events
    # another back office may use the same update_id for its own update
    other = create_key(session, "Back office 2", scopes=("backoffice",)).key
    third = post_update(api, other, reported.id, "UNCHANGED", "fms-7")
    assert third.status == 200 and third.body != first.body
    assert events_of(session, reported.id) == events + 1


def _refused_update(
    api, session, request_id, status, data_key, update_status, update_id, *needles, **fields
):
    before = stored(session)
    result = post_update(api, data_key, request_id, update_status, update_id, **fields)
    bad(result, status, *needles)
    assert stored(session) == before
    return result


def test_update_needs_a_backoffice_key(api, session, key, reported):
    _refused_update(api, session, reported.id, 403, key, "FIXED", "x-1", "backoffice")
    result = api.post(
        "servicerequestupdates",
        {
            "service_request_id": str(reported.id),
            "update_id": "x-2",
            "status": "FIXED",
            "updated_datetime": now_iso(),
            "description": "",
        },
        schema=None,
        root="service_request_updates",
    )
    bad(result, 403, "api_key")
    assert extended(api, str(reported.id))["status"] == "open"


@pytest.mark.parametrize(
    "request_id,status,update_id,fields,code,needles",
    [
        ("999999999", "FIXED", "u", {}, 404, ["999999999"]),
        ("abc", "FIXED", "u", {}, 404, ["abc"]),
        (None, "fixed", "u", {}, 400, ["status"]),
        (None, "SOLVED", "u", {}, 400, ["status"]),
        (None, "FIXED", "", {}, 400, ["update_id"]),
        (None, "FIXED", "u", {"updated_datetime": "tomorrow"}, 400, ["updated_datetime"]),
        (
            None,
            "FIXED",
            "u",
            {"updated_datetime": "2999-01-01T00:00:00Z"},
            400,
            ["updated_datetime"],
        ),
        (None, "FIXED", "u", {"media_url": "ftp://x/y.jpg"}, 400, ["media_url"]),
        (None, "FIXED", "u", {"description": "x" * 4001}, 400, ["description"]),
        (None, "FIXED", "u" * 101, {}, 400, ["update_id"]),
    ],
)
def test_bad_update_is_refused_and_changes_nothing(
    api, session, backoffice, reported, request_id, status, update_id, fields, code, needles
):
    _refused_update(
        api,
        session,
        request_id or reported.id,
        code,
        backoffice,
        status,
        update_id,
        *needles,
        **fields,
    )
    assert extended(api, str(reported.id))["status"] == "open"


def test_missing_update_fields_are_400(api, session, backoffice, reported):
    before = stored(session)
    for missing in ("service_request_id", "update_id", "status", "updated_datetime"):
        data = {
            "api_key": backoffice,
            "service_request_id": str(reported.id),
            "update_id": "u-9",
            "status": "FIXED",
            "updated_datetime": now_iso(),
        }
        del data[missing]
        result = api.post(
            "servicerequestupdates", data, schema=None, root="service_request_updates"
        )
        bad(result, 400, missing)
    assert stored(session) == before


def test_get_updates_lists_them_oldest_first(api, session, backoffice, reported):
    other = add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=2))
    t1, t2, t3 = (NOW - dt.timedelta(hours=h) for h in (3, 2, 1))
    answers = [
        post_update(
            api,
            backoffice,
            reported.id,
            "IN_PROGRESS",
            "g-1",
            updated_datetime=t1.isoformat(),
            description="Crew assigned",
        ),
        post_update(
            api,
            backoffice,
            other.id,
            "NOT_COUNCILS_RESPONSIBILITY",
            "g-2",
            updated_datetime=t2.isoformat(),
            description="Private property",
            external_status_code="NCR",
            media_url="https://img.example/1.jpg",
        ),
        post_update(
            api,
            backoffice,
            reported.id,
            "FIXED",
            "g-3",
            updated_datetime=t3.isoformat(),
            description="Bench replaced",
        ),
    ]
    update_ids = [a.body[0]["update_id"] for a in answers]
    result = api.get("servicerequestupdates", root="service_request_updates")
    assert result.status == 200, result.body
    assert [u["update_id"] for u in result.body] == update_ids
    assert result.body[1] == {
        "update_id": update_ids[1],
        "service_request_id": str(other.id),
        "status": "not_councils_responsibility",
        "updated_datetime": result.body[1]["updated_datetime"],
        "description": "Private property",
        "media_url": "https://img.example/1.jpg",
        "external_status_code": "NCR",
    }
    assert [u["status"] for u in result.body] == [
        "in_progress",
        "not_councils_responsibility",
        "fixed",
    ]
    for update, at in zip(result.body, (t1, t2, t3), strict=True):
        assert dt.datetime.fromisoformat(update["updated_datetime"]) == at
    window = api.get(
        "servicerequestupdates",
        {
            "start_date": (NOW - dt.timedelta(minutes=150)).isoformat(),
            "end_date": (NOW - dt.timedelta(minutes=90)).isoformat(),
            "api_key": "any",
        },
        root="service_request_updates",
    )
    assert [u["update_id"] for u in window.body] == [update_ids[1]]
    since = api.get(
        "servicerequestupdates", {"start_date": (NOW - dt.timedelta(minutes=90)).isoformat()}
    )
    assert [u["update_id"] for u in since.body] == [update_ids[2]]
    if api.fmt == "xml":
        assert b"<service_request_updates><request_update><update_id>" in result.raw


def test_get_updates_empty_and_bad_dates(api):
    result = api.get("servicerequestupdates", root="service_request_updates")
    assert result.status == 200 and result.body == []
    bad(
        api.get("servicerequestupdates", {"start_date": "2026-01-02", "end_date": "2026-01-01"}),
        400,
        "start_date",
    )
    bad(api.get("servicerequestupdates", {"start_date": "whenever"}), 400, "start_date")
    bad(api.get("servicerequestupdates", {"end_date": "2026-13-01"}), 400, "end_date")
