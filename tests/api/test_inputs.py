"""Inputs that once reached a 500, and refusals the HTTP layer makes: each answers a spec
400/404/413 in the URL's format, and a refused POST stores nothing (rows and photo files).

Ids are ASCII digits only (``int()`` reads other scripts' digits: ``int("١٢")`` is 12); a
NUL cannot reach PostgreSQL text; a forged cursor is checked like any other input; photos
are refused by their header, before a pixel is decoded; a urlencoded form is held to the
form limit (werkzeug applies only the body limit to it); an empty answer is not text/html.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest
from PIL import ImageFile

from open311.operations.keys import create_key
from tests.helpers import (
    CITY_HALL,
    add_request,
    bad,
    created,
    new_key,
    photo,
    row_counts,
    stored,
    upload,
)

OTHER = {"service_code": "OTHER", **CITY_HALL}
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def key(session) -> str:
    return new_key(session)


def cursor(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- ids are ASCII digits ----------------------------------------------------------------------
@pytest.mark.parametrize("written", ["%C2%B3", "%C2%B9%C2%B2", "1%C2%B3"])
def test_superscript_digits_in_an_id_are_404(api, written):
    result = api.client.get(f"/open311/v2/requests/{written}.{api.fmt}")
    bad(api._result(result, None), 404, "not found")


@pytest.mark.parametrize("script", [ARABIC_INDIC, FULLWIDTH])
def test_other_scripts_digits_never_name_a_request(api, session, script):
    request = add_request(session)
    written = str(request.id).translate(script)
    assert written != str(request.id) and int(written) == request.id  # what int() does
    bad(api.get(f"requests/{written}"), 404, "not found")
    assert api.get(f"requests/{request.id}").status == 200
    listed = api.get("requests", {"service_request_id": written}, root="service_requests")
    assert listed.status == 200 and listed.body == []


def test_other_scripts_digits_never_name_a_request_to_update(api, session):
    request = add_request(session)
    backoffice = create_key(session, "FMS", scopes=("backoffice",)).key
    before = row_counts(session)
    result = api.post(
        "servicerequestupdates",
        {
            "api_key": backoffice,
            "service_request_id": str(request.id).translate(ARABIC_INDIC),
            "update_id": "u-1",
            "status": "FIXED",
            "updated_datetime": "2026-01-01T10:00:00Z",
            "description": "done",
        },
        schema=None,
        root="service_request_updates",
    )
    bad(result, 404, "not found")
    assert row_counts(session) == before


# -- NUL characters ----------------------------------------------------------------------------
def test_a_nul_in_a_path_is_a_400_in_json(client):
    response = client.get("/open311/v2/jurisdictions/%00/areas.geojson")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.get_json() == [
        {"code": 400, "description": "the path must not contain a NUL character (%00)"}
    ]


@pytest.mark.parametrize("path", ["requests/%00", "tokens/%00", "services/A%00B"])
def test_a_nul_in_a_path_segment_is_a_400(api, path):
    bad(api._result(api.client.get(f"/open311/v2/{path}.{api.fmt}"), None), 400, "NUL")


@pytest.mark.parametrize(
    "params",
    [
        {"jurisdiction_id": "la\x00"},
        {"q": "pot\x00hole"},
        {"service_code": "GRAFFITI,\x00"},
        {"x\x00": "1"},
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400(api, params):
    bad(api.get("requests", params), 400, "control characters")


@pytest.mark.parametrize("field", ["address_string", "first_name", "attribute[SURFACE]"])
def test_a_nul_in_a_form_field_is_a_400_and_nothing_stored(api, session, key, field):
    before = row_counts(session)
    bad(api.post("requests", {**OTHER, "api_key": key, field: "a\x00b"}), 400, "control characters")
    assert row_counts(session) == before


# -- cursors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "forged",
    [
        {"s": "2026-01-01T00:00:00+00:00", "m": "n", "v": "2026-01-01T00:00:00+00:00", "i": 2**63},
        {"s": "2026-01-01T00:00:00+00:00", "m": "n", "v": "2026-01-01T00:00:00+00:00", "i": 10**30},
        {"s": "2026-01-01T00:00:00+00:00", "m": "n", "v": "2026-01-01T00:00:00+00:00", "i": 0},
        {"s": "2026-01-01T00:00:00+00:00", "m": "n", "v": "2026-01-01T00:00:00+00:00", "i": True},
        {"s": "2026-01-01T00:00:00+00:00", "m": "n", "v": "2026-01-01T00:00:00", "i": 5},
        {"s": "2026-01-01T00:00:00", "m": "n"},
    ],
)
def test_a_forged_cursor_is_a_400(api, forged):
    bad(api.get("requests", {"cursor": cursor(forged)}), 400, "cursor")


# -- photos, refused by their header -------------------------------------------------------------
def png_header(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims width x height pixels."""
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        bytes([component, 0x11, 0]) for component in (1, 2, 3)
    )
    table = b"\x00" + bytes(range(1, 65))
    return (
        b"\xff\xd8\xff\xdb"
        + struct.pack(">H", len(table) + 2)
        + table
        + b"\xff\xc0"
        + struct.pack(">H", len(frame) + 2)
        + frame
        + b"\xff\xd9"
    )


@pytest.fixture
def no_decoding(monkeypatch):
    """Decoding a picture fails the test: the limits are checked on the header."""

    def load(self):
        raise AssertionError("a picture was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize(
    "data",
    [
        png_header(20000, 20000),
        jpeg_header(65000, 65000),
        png_header(6320, 6320),
        png_header(24_000_001, 1),
    ],
    ids=["png-20000", "jpeg-65000", "png-6320", "png-wide"],
)
def test_a_picture_of_too_many_pixels_is_refused_before_decoding(
    api, session, key, media_dir, no_decoding, data
):
    before = stored(session, media_dir)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(data, "a.png")})
    bad(result, 400, "media", "more than 24000000 pixels")
    assert stored(session, media_dir) == before


def test_a_picture_within_the_limits_is_decoded(api, key, media_dir):
    result = api.post(
        "requests", {**OTHER, "api_key": key, "media": upload(photo(size=(640, 480)))}
    )
    assert result.status == 200, result.body


# -- request sizes -------------------------------------------------------------------------------
def test_a_urlencoded_form_over_the_form_limit_is_413_naming_it(api, session, key):
    before = row_counts(session)
    result = api.post("requests", {**OTHER, "api_key": key, "filler": "x" * (3 * 1024 * 1024)})
    bad(result, 413, "the form is larger than 1048576 bytes")
    assert row_counts(session) == before


def test_the_form_limit_is_the_configured_one(api, app, session, key, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FORM_MEMORY_SIZE", 5000)
    before = row_counts(session)
    bad(
        api.post("requests", {**OTHER, "api_key": key, "filler": "x" * 6000}),
        413,
        "the form is larger than 5000 bytes",
    )
    assert row_counts(session) == before
    assert created(api, {**OTHER, "api_key": key, "filler": "x" * 4000})


def test_a_multipart_field_over_the_form_limit_is_413_naming_it(
    api, app, session, key, media_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_FORM_MEMORY_SIZE", 5000)
    before = stored(session, media_dir)
    result = api.post(
        "requests", {**OTHER, "api_key": key, "description": "x" * 6000, "media": upload(photo())}
    )
    bad(result, 413, "a form field is larger than 5000 bytes")
    assert stored(session, media_dir) == before


def test_a_multipart_body_over_the_body_limit_is_413_naming_it(
    api, app, session, key, media_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    before = stored(session, media_dir)
    data = photo(size=(300, 300), noise=True, gps=False)
    assert len(data) > 20_000
    bad(
        api.post("requests", {**OTHER, "api_key": key, "media": upload(data)}),
        413,
        "the request body is larger than 20000 bytes",
    )
    assert stored(session, media_dir) == before


# -- empty answers are not HTML --------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/requests.json",
        "/open311/v2/services.xml",
        "/open311/discovery.json",
        "/open311/v2/jurisdictions.geojson",
    ],
)
def test_options_answers_carry_no_html(client, path):
    plain = client.options(path)
    assert plain.status_code == 200 and plain.data == b""
    assert "Allow" in plain.headers
    preflight = client.options(
        path, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    for response in (plain, preflight):
        assert "text/html" not in response.headers.get("Content-Type", "")
