"""POST Service Request: success by service type, api_key, location, attributes, limits.

Every refusal is checked for its HTTP status, a spec errors body naming the problem, and
that nothing at all was stored (row counts of every table a POST writes to).
"""

from __future__ import annotations

import hashlib
import logging

import pytest
import sqlalchemy as sa

from open311.models import RequestContact, RequestEvent, ServiceRequest
from open311.operations.batch import accept_pending_requests
from open311.operations.keys import create_key, revoke_key
from tests.helpers import CITY_HALL, SANTA_MONICA, created, error_text, new_key, refused, row_counts

PACIFIC = {"lat": "33.5", "long": "-119.5"}  # open ocean, west of Catalina

OTHER = {"service_code": "OTHER", **CITY_HALL}
BULKY = {
    "service_code": "BULKY-ITEMS",
    **CITY_HALL,
    "attribute[ITEM_TYPES][]": ["MATTRESS", "SOFA"],
    "attribute[ITEM_COUNT]": "2",
    "attribute[LOCATION_TYPE]": "CURB",
}
ENCAMPMENT = {
    "service_code": "HOMELESS-ENCAMPMENT",
    **CITY_HALL,
    "attribute[LOCATION_TYPE]": "SIDEWALK",
}
WATER = {
    "service_code": "WATER-WASTE",
    **CITY_HALL,
    "attribute[WASTE_TYPE]": "RUNOFF",
    "attribute[OBSERVED_AT]": "2024-05-01T10:00:00Z",
}
STREETLIGHT = {"service_code": "STREETLIGHT-SINGLE", **CITY_HALL, "attribute[PROBLEM]": "OUT"}

PERSONAL = {
    "email": "zelda.quixote@example.net",
    "first_name": "Zelda",
    "last_name": "Quixotefield",
    "phone": "+1 213 555 0199",
    "device_id": "device-7f3a9c",
    "account_id": "acct-88421",
}


@pytest.fixture
def key(session) -> str:
    return new_key(session)


def without(data: dict, *names: str) -> dict:
    return {k: v for k, v in data.items() if k not in names}


def fetch(api, request_id: str) -> dict:
    result = api.get(f"requests/{request_id}", root="service_requests", schema="requests")
    assert result.status == 200, result.body
    assert len(result.body) == 1
    return result.body[0]


def stored_attributes(session, request_id: str) -> dict:
    return session.scalar(
        sa.select(ServiceRequest.attributes).where(ServiceRequest.id == int(request_id))
    )


# -- realtime success --------------------------------------------------------------------------
def test_realtime_request_answers_id_and_is_stored(api, session, key):
    before = row_counts(session)
    result = api.post(
        "requests",
        {
            **BULKY,
            "api_key": key,
            "description": "Old sofa",
            "address_string": "200 N Spring St, Los Angeles",
        },
    )
    assert result.status == 200
    assert result.body == [
        {
            "service_request_id": result.body[0]["service_request_id"],
            "service_notice": "Place items at the curb no earlier than the evening before your "
            "scheduled collection day.",
            "account_id": None,
        }
    ]
    request_id = result.body[0]["service_request_id"]
    assert isinstance(request_id, str) and request_id.isdigit()

    after = row_counts(session)
    assert after == {
        **before,
        "service_request": before["service_request"] + 1,
        "request_event": before["request_event"] + 1,
    }
    kinds = session.scalars(
        sa.select(RequestEvent.kind).where(RequestEvent.request_pk == int(request_id))
    ).all()
    assert kinds == ["opened"]

    item = fetch(api, request_id)
    assert item["service_request_id"] == request_id
    assert item["status"] == "open"
    assert item["service_code"] == "BULKY-ITEMS"
    assert item["lat"] == 34.0537 and item["long"] == -118.2428
    assert item["description"] == "Old sofa"
    assert item["address"] == "200 N Spring St, Los Angeles"


def test_service_without_attributes_needs_none(api, session, key):
    result = api.post("requests", {**OTHER, "api_key": key})
    assert result.status == 200
    assert result.body[0]["service_notice"] is None and result.body[0]["account_id"] is None
    assert fetch(api, result.body[0]["service_request_id"])["service_code"] == "OTHER"


def test_personal_fields_are_stored_apart_and_never_shown(api, session, key, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="open311")  # the app sets its own level
    result = api.post("requests", {**OTHER, "api_key": key, **PERSONAL})
    assert result.status == 200
    assert result.body[0]["account_id"] is None
    request_id = result.body[0]["service_request_id"]
    contact = session.get(RequestContact, int(request_id))
    assert {name: getattr(contact, name) for name in PERSONAL} == PERSONAL

    one = api.get(f"requests/{request_id}", schema="requests")
    listing = api.get("requests", schema="requests")
    assert request_id in [r["service_request_id"] for r in listing.body]
    for raw in (result.raw, one.raw, listing.raw):
        for value in PERSONAL.values():
            assert value.encode() not in raw
    # Nor in any log record, its message or its extras (the statement's parameters, which a
    # structured log handler would write out).
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    posted = [r for r in caplog.records if "INSERT INTO request_contact" in getattr(r, "sql", "")]
    assert posted, "the POST's statement was logged"
    assert set(posted[0].params.values()) == {"<hidden>"}
    for value in PERSONAL.values():
        assert value not in logged


def test_no_contact_row_without_personal_fields(api, session, key):
    before = row_counts(session)
    request_id = created(api, {**OTHER, "api_key": key, "email": "", "phone": ""})
    assert row_counts(session)["request_contact"] == before["request_contact"]
    assert session.get(RequestContact, int(request_id)) is None


# -- api_key -------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["form", "query", "bearer", "x-api-key"])
def test_api_key_accepted_from_every_place(api, key, where):
    data, params, headers = dict(OTHER), None, None
    if where == "form":
        data["api_key"] = key
    elif where == "query":
        params = {"api_key": key}
    elif where == "bearer":
        headers = {"Authorization": f"Bearer {key}"}
    else:
        headers = {"X-API-Key": key}
    created(api, data, params=params, headers=headers)


def test_missing_api_key_is_403(api, session, key):
    refused(api, session, OTHER, 403, "api_key")


def test_unknown_api_key_is_403(api, session, key):
    refused(api, session, {**OTHER, "api_key": key + "x"}, 403, "api_key")
    refused(api, session, OTHER, 403, "api_key", headers={"Authorization": "Bearer nope"})


def test_revoked_api_key_is_403(api, session):
    made = create_key(session, "revoked app")
    created(api, {**OTHER, "api_key": made.key})
    revoke_key(session, str(made.record.id))
    refused(api, session, {**OTHER, "api_key": made.key}, 403, "revoked")


def test_403_wins_over_bad_input(api, session, key):
    refused(api, session, {**OTHER, "lat": "abc"}, 403, "api_key")
    refused(api, session, {"service_code": "NOPE", "api_key": "wrong"}, 403, "api_key")


def test_api_key_is_stored_only_as_hash(api, session, key):
    created(api, {**OTHER, "api_key": key})
    rows = session.execute(sa.text("SELECT * FROM api_key")).mappings().all()
    assert rows
    secret = key.removeprefix("o311_")
    for row in rows:
        for value in row.values():
            assert secret not in str(value)
    hashes = [row["key_hash"] for row in rows]
    assert hashlib.sha256(key.encode()).hexdigest() in hashes


# -- location ------------------------------------------------------------------------------
@pytest.mark.parametrize(("drop", "missing"), [("long", "long"), ("lat", "lat")])
def test_lat_and_long_go_together(api, session, key, drop, missing):
    result = refused(api, session, {**without(OTHER, drop), "api_key": key}, 400, missing)
    assert f"{missing} is missing" in error_text(result)


def test_location_is_required(api, session, key):
    refused(api, session, {"service_code": "OTHER", "api_key": key}, 400, "location")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lat", "91", "must be between -90 and 90"),
        ("long", "-181", "must be between -180 and 180"),
        ("lat", "abc", "Not a valid number"),
        ("lat", "nan", "not permitted"),
        ("long", "inf", "not permitted"),
    ],
)
def test_bad_coordinate_is_400(api, session, key, field, value, message):
    result = refused(api, session, {**OTHER, "api_key": key, field: value}, 400, message)
    assert len(result.body) == 1
    assert f"{field}]: " in error_text(result) or error_text(result).startswith(f"{field}: ")


def test_field_error_names_the_parameter_as_sent(api, session, key):
    result = refused(api, session, {**OTHER, "api_key": key, "lat": "91"}, 400)
    assert result.body == [{"code": 400, "description": "lat: must be between -90 and 90"}]


@pytest.mark.parametrize("point", [SANTA_MONICA, PACIFIC], ids=["santa-monica", "pacific"])
def test_point_outside_jurisdiction_is_400(api, session, key, point):
    refused(api, session, {"service_code": "OTHER", "api_key": key, **point}, 400, "outside")


def test_address_string_alone_is_resolved_to_its_address_point(api, key):
    item = fetch(
        api,
        created(
            api,
            {
                "service_code": "OTHER",
                "api_key": key,
                "address_string": "1353 West Bellevue Avenue, Los Angeles, CA 90026",
            },
        ),
    )
    assert item["address"] == "1353 W BELLEVUE AVE, 90026"
    assert item["address_id"] == "1353 W BELLEVUE AVE 90026"
    assert item["zipcode"] == "90026"
    assert (item["lat"], item["long"]) == (34.0682207715, -118.255594359)


def test_unknown_address_is_400_and_nothing_stored(api, session, key):
    refused(
        api,
        session,
        {
            "service_code": "OTHER",
            "api_key": key,
            "address_string": "99999 Nowhere Blvd, Los Angeles",
        },
        400,
        "could not be found",
    )


def test_address_id_alone_is_resolved(api, key):
    item = fetch(
        api,
        created(
            api,
            {"service_code": "OTHER", "api_key": key, "address_id": "1353 W BELLEVUE AVE 90026"},
        ),
    )
    assert item["address"] == "1353 W BELLEVUE AVE, 90026"
    assert (item["lat"], item["long"]) == (34.0682207715, -118.255594359)


def test_unknown_address_id_is_400_and_nothing_stored(api, session, key):
    refused(
        api,
        session,
        {"service_code": "OTHER", "api_key": key, "address_id": "545483"},
        400,
        "address_id '545483'",
    )


# -- service and jurisdiction --------------------------------------------------------------
def test_missing_service_code_is_400(api, session, key):
    refused(api, session, {**CITY_HALL, "api_key": key}, 400, "service_code")


def test_unknown_service_code_is_404(api, session, key):
    refused(api, session, {**OTHER, "service_code": "NOPE", "api_key": key}, 404, "NOPE")


def test_unknown_jurisdiction_is_404(api, session, key):
    refused(
        api,
        session,
        {**OTHER, "api_key": key, "jurisdiction_id": "nowhere.example"},
        404,
        "nowhere.example",
    )


def test_right_jurisdiction_id_is_accepted(api, key):
    created(api, {**OTHER, "api_key": key, "jurisdiction_id": "lacity.org"})
    created(api, {**OTHER, "api_key": key}, params={"jurisdiction_id": "lacity.org"})


# -- attributes ----------------------------------------------------------------------------
def test_required_attribute_missing_is_400(api, session, key):
    refused(
        api,
        session,
        {**without(BULKY, "attribute[ITEM_COUNT]"), "api_key": key},
        400,
        "attribute[ITEM_COUNT] is required",
    )


def test_unknown_attribute_is_400(api, session, key):
    refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[COLOR]": "red"},
        400,
        "attribute[COLOR] is not an attribute",
    )


def test_informational_attribute_takes_no_value(api, session, key):
    refused(
        api,
        session,
        {**ENCAMPMENT, "api_key": key, "attribute[SAFETY_NOTICE]": "ok"},
        400,
        "attribute[SAFETY_NOTICE] is informational",
    )


def test_number_attribute_must_be_a_number(api, session, key):
    refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[ITEM_COUNT]": "many"},
        400,
        "attribute[ITEM_COUNT] must be a number",
    )


@pytest.mark.parametrize(("sent", "stored"), [("2", 2), ("2.5", 2.5)])
def test_number_attribute_accepted(api, session, key, sent, stored):
    request_id = created(api, {**BULKY, "api_key": key, "attribute[ITEM_COUNT]": sent})
    assert stored_attributes(session, request_id)["ITEM_COUNT"] == stored


def test_singlevaluelist_refuses_other_values_and_lists_keys(api, session, key):
    result = refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[LOCATION_TYPE]": "ROOF"},
        400,
        "attribute[LOCATION_TYPE]",
        "'ROOF'",
    )
    assert "(ALLEY, CURB)" in error_text(result)


def test_singlevaluelist_takes_one_value(api, session, key):
    refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[LOCATION_TYPE]": ["CURB", "ALLEY"]},
        400,
        "attribute[LOCATION_TYPE] takes one value",
    )


@pytest.mark.parametrize("spelling", ["brackets", "repeated"])
def test_multivaluelist_spellings_store_both_keys(api, session, key, spelling):
    name = "attribute[ITEM_TYPES][]" if spelling == "brackets" else "attribute[ITEM_TYPES]"
    data = {**without(BULKY, "attribute[ITEM_TYPES][]"), name: ["MATTRESS", "SOFA"]}
    request_id = created(api, {**data, "api_key": key})
    assert stored_attributes(session, request_id) == {
        "ITEM_TYPES": ["MATTRESS", "SOFA"],
        "ITEM_COUNT": 2,
        "LOCATION_TYPE": "CURB",
    }


def test_multivaluelist_single_value_is_a_list(api, session, key):
    data = {**without(BULKY, "attribute[ITEM_TYPES][]"), "attribute[ITEM_TYPES]": "CHAIR"}
    request_id = created(api, {**data, "api_key": key})
    assert stored_attributes(session, request_id)["ITEM_TYPES"] == ["CHAIR"]


def test_multivaluelist_unknown_key_is_400(api, session, key):
    refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[ITEM_TYPES][]": ["MATTRESS", "PIANO"]},
        400,
        "attribute[ITEM_TYPES]",
        "'PIANO'",
    )


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2024-05-01T10:00:00Z", "2024-05-01T03:00:00-07:00"),
        ("2024-05-01", "2024-05-01T00:00:00-07:00"),
        ("2024-01-15T09:30:00.250-05:00", "2024-01-15T06:30:00-08:00"),
    ],
)
def test_datetime_attribute_normalised_to_jurisdiction_zone(api, session, key, sent, stored):
    request_id = created(api, {**WATER, "api_key": key, "attribute[OBSERVED_AT]": sent})
    assert stored_attributes(session, request_id)["OBSERVED_AT"] == stored


@pytest.mark.parametrize("sent", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"])
def test_datetime_attribute_out_of_range_is_400(api, session, key, sent):
    refused(
        api,
        session,
        {**WATER, "api_key": key, "attribute[OBSERVED_AT]": sent},
        400,
        "attribute[OBSERVED_AT]",
    )


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2024-05-01T10:00:00.1234567Z", "2024-05-01T03:00:00-07:00"),
        ("2024-05-01T17:00:00+07", "2024-05-01T03:00:00-07:00"),
    ],
)
def test_datetime_attribute_accepts_any_iso_8601(api, session, key, sent, stored):
    request_id = created(api, {**WATER, "api_key": key, "attribute[OBSERVED_AT]": sent})
    assert stored_attributes(session, request_id)["OBSERVED_AT"] == stored


def test_datetime_attribute_refuses_prose(api, session, key):
    refused(
        api,
        session,
        {**WATER, "api_key": key, "attribute[OBSERVED_AT]": "yesterday"},
        400,
        "attribute[OBSERVED_AT] must be an ISO 8601 datetime",
    )


def test_string_attribute_refuses_line_breaks(api, session, key):
    refused(
        api,
        session,
        {**STREETLIGHT, "api_key": key, "attribute[POLE_NUMBER]": "1234\n56"},
        400,
        "attribute[POLE_NUMBER]",
        "line breaks",
    )


def test_text_attribute_keeps_line_breaks(api, session, key):
    request_id = created(
        api, {**WATER, "api_key": key, "attribute[DETAILS]": "Every morning\nat 6am"}
    )
    assert stored_attributes(session, request_id)["DETAILS"] == "Every morning\nat 6am"


def test_empty_attribute_is_unset(api, session, key):
    refused(
        api,
        session,
        {**BULKY, "api_key": key, "attribute[LOCATION_TYPE]": ""},
        400,
        "attribute[LOCATION_TYPE] is required",
    )
    request_id = created(api, {**STREETLIGHT, "api_key": key, "attribute[POLE_NUMBER]": ""})
    assert stored_attributes(session, request_id) == {"PROBLEM": "OUT"}


@pytest.mark.parametrize("name", ["attribute[ITEM_COUNT", "attribute", "attribute[]"])
def test_malformed_attribute_key_is_400(api, session, key, name):
    refused(
        api, session, {**BULKY, "api_key": key, name: "3"}, 400, f"{name}:", "not an attribute key"
    )


def test_attribute_code_with_control_character_is_refused_in_valid_xml(
    api, session, key, fmt, request
):
    refused(
        api, session, {**BULKY, "api_key": key, "attribute[\x01]": "1"}, 400, "not an attribute"
    )


def test_every_attribute_problem_is_reported(api, session, key):
    data = {
        **without(BULKY, "attribute[ITEM_TYPES][]"),
        "api_key": key,
        "attribute[ITEM_COUNT]": "many",
        "attribute[LOCATION_TYPE]": "ROOF",
        "attribute[COLOR]": "red",
    }
    result = refused(api, session, data, 400)
    descriptions = sorted(e["description"] for e in result.body)
    assert len(descriptions) == 4, descriptions
    assert descriptions[0].startswith("attribute[COLOR] is not an attribute")
    assert descriptions[1].startswith("attribute[ITEM_COUNT] must be a number")
    assert descriptions[2].startswith("attribute[ITEM_TYPES] is required")
    assert descriptions[3].startswith("attribute[LOCATION_TYPE]: 'ROOF'")


def test_every_field_problem_is_reported(api, session, key):
    data = {
        **OTHER,
        "api_key": key,
        "lat": "91",
        "email": "not-an-email",
        "media_url": "ftp://x/y.jpg",
    }
    result = refused(api, session, data, 400)
    descriptions = [e["description"] for e in result.body]
    assert len(descriptions) == 3, descriptions
    for name in ("lat", "email", "media_url"):
        assert sum(f"{name}]: " in d or d.startswith(f"{name}: ") for d in descriptions) == 1


# -- field limits --------------------------------------------------------------------------
def test_description_over_4000_characters_is_400(api, session, key):
    refused(
        api,
        session,
        {**OTHER, "api_key": key, "description": "x" * 4001},
        400,
        "description",
        "4000",
    )


def test_description_of_4000_characters_is_accepted(api, key):
    item = fetch(api, created(api, {**OTHER, "api_key": key, "description": "y" * 4000}))
    assert item["description"] == "y" * 4000


def test_description_keeps_line_breaks(api, key):
    item = fetch(api, created(api, {**OTHER, "api_key": key, "description": "one\ntwo"}))
    assert item["description"] == "one\ntwo"


@pytest.mark.parametrize(
    "text",
    [
        "Sofa on the kerb.\r\nSecond line\r\n",
        "  indented, and trailing spaces  ",
        "\tTabbed\r\n\r\nend",
        "ends with CR\r",
        "é ünïcödé\r\n— 🚮",
    ],
)
def test_description_is_stored_and_read_exactly_as_sent(api, session, key, text):
    """Stored as sent (no trimming), and read back the same in JSON and XML: an XML parser
    turns a raw CR LF into LF, so a CR is written as a character reference."""
    request_id = created(api, {**OTHER, "api_key": key, "description": text})
    assert (
        session.scalar(
            sa.select(ServiceRequest.description).where(ServiceRequest.id == int(request_id))
        )
        == text
    )
    for fmt in ("json", "xml"):
        other = type(api)(api.client, fmt)
        assert fetch(other, request_id)["description"] == text
        listed = other.get("requests", {"service_request_id": request_id}).body
        assert listed[0]["description"] == text
    if "\r" in text:
        raw = api.client.get(f"/open311/v2/requests/{request_id}.xml").data
        assert b"&#13;" in raw and b"\r" not in raw


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_description_with_control_character_is_400(api, session, key, char):
    refused(
        api,
        session,
        {**OTHER, "api_key": key, "description": f"bad{char}text"},
        400,
        "description",
        "control characters",
    )


def test_invalid_email_is_400_and_not_echoed(api, session, key):
    result = refused(api, session, {**OTHER, "api_key": key, "email": "not-an-email"}, 400, "email")
    assert b"not-an-email" not in result.raw


@pytest.mark.parametrize("url", ["ftp://x/y.jpg", "javascript:alert(1)", "not a url"])
def test_media_url_must_be_http(api, session, key, url):
    refused(api, session, {**OTHER, "api_key": key, "media_url": url}, 400, "media_url")


@pytest.mark.parametrize(
    "url", ["https://example.org/photo\x01.jpg", "https://example.org/\ufffe.jpg"]
)
def test_media_url_with_control_character_is_400(api, session, key, url):
    refused(api, session, {**OTHER, "api_key": key, "media_url": url}, 400, "media_url")


def test_media_url_is_stored_as_given(api, key):
    url = "https://images.example.org/311/photo.jpg?size=large&v=2"
    item = fetch(api, created(api, {**OTHER, "api_key": key, "media_url": url}))
    assert item["media_url"] == url


def test_body_over_max_content_length_is_413(api, session, key, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    refused(
        api,
        session,
        {**OTHER, "api_key": key, "description": "z" * 5000},
        413,
        "larger than 2000 bytes",
    )


def test_empty_optional_field_is_absent(api, key):
    item = fetch(
        api,
        created(
            api,
            {**OTHER, "api_key": key, "description": "", "media_url": "", "address_string": "  "},
        ),
    )
    assert item["description"] is None
    assert item["media_url"] is None
    assert item["address"] is None


# -- batch and blackbox services -----------------------------------------------------------
def test_batch_request_answers_token_until_accepted(api, session, key):
    result = api.post("requests", {**ENCAMPMENT, "api_key": key})
    assert result.status == 200
    answer = result.body[0]
    assert "service_request_id" not in answer
    token = answer["token"]
    assert answer["service_notice"].startswith("Your report is reviewed")

    pending = api.get(f"tokens/{token}", root="service_requests", schema="token")
    assert pending.status == 200
    assert pending.body == [{"service_request_id": None, "token": token}]
    pk = session.scalar(sa.select(ServiceRequest.id).where(ServiceRequest.token == token))
    assert api.get(f"requests/{pk}").status == 404
    listing = api.get("requests", schema="requests")
    assert str(pk) not in [r["service_request_id"] for r in listing.body]

    assert accept_pending_requests(session, tokens=[token]) == [(token, pk)]
    accepted = api.get(f"tokens/{token}", schema="token")
    assert accepted.body == [{"service_request_id": str(pk), "token": token}]
    assert fetch(api, str(pk))["service_code"] == "HOMELESS-ENCAMPMENT"


def test_unknown_token_is_404(api):
    result = api.get("tokens/no-such-token")
    assert result.status == 404
    assert "no-such-token" in error_text(result)


def test_blackbox_request_answers_neither_id_nor_token(api, session, key):
    before = row_counts(session)
    result = api.post(
        "requests",
        {"service_code": "FEEDBACK", **CITY_HALL, "api_key": key, "description": "Great service"},
    )
    assert result.status == 200
    assert result.body == [
        {
            "service_notice": "Thank you. Feedback is read by MyLA311 staff; no tracking number "
            "is issued.",
            "account_id": None,
        }
    ]
    assert row_counts(session)["service_request"] == before["service_request"] + 1


def test_blackbox_request_is_stored_but_never_published(api, session, key):
    result = api.post(
        "requests",
        {
            "service_code": "FEEDBACK",
            **CITY_HALL,
            "api_key": key,
            "description": "Thanks for fixing the light",
        },
    )
    assert result.status == 200
    stored = session.scalars(
        sa.select(ServiceRequest).order_by(ServiceRequest.id.desc()).limit(1)
    ).one()
    assert stored.description == "Thanks for fixing the light" and stored.public is False
    listed = api.get("requests", schema="requests")
    assert str(stored.id) not in [r["service_request_id"] for r in listed.body]
    assert api.get(f"requests/{stored.id}").status == 404
