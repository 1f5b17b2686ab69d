"""Photos uploaded with a request: checked, stripped, stored, served: an integrator extension
(issue 4), in JSON and XML (the ``api`` fixture). Every bad value is a spec-format 400 (or
403/404/413) naming the parameter, and a refused POST stores nothing."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from open311.models import Media
from schemas.json_validation import validate
from tests.api.integrators import (
    OTHER,
    created,
)
from tests.helpers import (
    bad,
    photo,
    stored,
    upload,
)

MEDIA_URL = re.compile(r"^http://localhost/open311/v2/media/([0-9a-f]{32})\.(jpg|png|webp)$")


def fetch_media(client, url: str):
    return client.get(url.removeprefix("http://localhost"))


def test_jpeg_is_stored_and_served_without_exif(api, session, key, media_dir):
    before = stored(session, media_dir)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(photo())})
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    item = api.get(f"requests/{request_id}", schema="requests").body[0]
    match = MEDIA_URL.match(item["media_url"])
    assert match and match.group(2) == "jpg", item["media_url"]
    after = stored(session, media_dir)
    assert after["media"] == before["media"] + 1
    assert after["files"] == [f"{match.group(1)}.jpg"]

    response = fetch_media(api.client, item["media_url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    served = Image.open(io.BytesIO(response.data))
    assert served.format == "JPEG" and served.size == (64, 48)
    assert dict(served.getexif()) == {}
    assert served.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"ExampleCam" not in response.data and b"Exif" not in response.data
    media = session.scalars(sa.select(Media).where(Media.request_pk == int(request_id))).one()
    assert (media.content_type, media.width, media.height, media.position) == (
        "image/jpeg",
        64,
        48,
        1,
    )


def test_jpeg_comment_does_not_survive(api, session, key, media_dir):
    data = photo(comment=b"Jane Doe, 1353 W Bellevue Ave")
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert result.status == 200, result.body
    item = api.get(f"requests/{result.body[0]['service_request_id']}").body[0]
    response = fetch_media(api.client, item["media_url"])
    assert b"Jane Doe" not in response.data
    assert "comment" not in Image.open(io.BytesIO(response.data)).info


@pytest.mark.parametrize(
    "kind,extension,content_type", [("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")]
)
def test_png_and_webp_are_accepted(api, session, key, media_dir, kind, extension, content_type):
    data = photo(kind)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(data, "picture.bin")})
    assert result.status == 200, result.body
    item = api.get(f"requests/{result.body[0]['service_request_id']}").body[0]
    match = MEDIA_URL.match(item["media_url"])
    assert match and match.group(2) == extension, item["media_url"]
    response = fetch_media(api.client, item["media_url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    served = Image.open(io.BytesIO(response.data))
    assert served.format == kind
    assert served.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"ExampleCam" not in response.data


def _refused_upload(api, session, media_dir, data, status, *needles):
    before = stored(session, media_dir)
    result = api.post("requests", data)
    bad(result, status, *needles)
    assert stored(session, media_dir) == before
    assert before["files"] == []
    return result


def test_text_file_named_jpg_is_400(api, session, key, media_dir):
    _refused_upload(
        api,
        session,
        media_dir,
        {**OTHER, "api_key": key, "media": upload(b"just some text, honest\n" * 20, "a.jpg")},
        400,
        "media",
    )


def test_truncated_jpeg_is_400(api, session, key, media_dir):
    data = photo(size=(300, 300), noise=True, gps=False)
    _refused_upload(
        api,
        session,
        media_dir,
        {**OTHER, "api_key": key, "media": upload(data[: len(data) // 3])},
        400,
        "media",
    )


def test_too_large_file_is_413(api, app, session, key, media_dir, monkeypatch):
    data = photo(size=(200, 200), noise=True)
    monkeypatch.setitem(app.config, "MEDIA_MAX_BYTES", len(data) - 1)
    _refused_upload(
        api, session, media_dir, {**OTHER, "api_key": key, "media": upload(data)}, 413, "media"
    )


def test_too_many_pixels_is_400(api, app, session, key, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_PIXELS", 64 * 48 - 1)
    _refused_upload(
        api,
        session,
        media_dir,
        {**OTHER, "api_key": key, "media": upload(photo())},
        400,
        "media",
        "pixels",
    )


def test_too_many_files_is_400(api, app, session, key, media_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_FILES", 2)
    files = [upload(photo(color=(i * 40, 0, 0)), f"p{i}.jpg") for i in range(3)]
    _refused_upload(
        api, session, media_dir, {**OTHER, "api_key": key, "media": files}, 400, "media"
    )


def test_one_bad_file_of_two_refuses_both(api, session, key, media_dir):
    files = [upload(photo()), upload(b"GIF89a not really", "b.jpg")]
    _refused_upload(
        api, session, media_dir, {**OTHER, "api_key": key, "media": files}, 400, "media"
    )


def test_two_files_are_both_stored_and_the_first_is_media_url(api, session, key, media_dir):
    first, second = photo(color=(10, 200, 10)), photo("PNG", color=(10, 10, 200))
    result = api.post(
        "requests",
        {**OTHER, "api_key": key, "media": [upload(first, "1.jpg"), upload(second, "2.png")]},
    )
    assert result.status == 200, result.body
    request_id = int(result.body[0]["service_request_id"])
    rows = session.scalars(
        sa.select(Media).where(Media.request_pk == request_id).order_by(Media.position)
    ).all()
    assert [(m.position, m.extension) for m in rows] == [(1, "jpg"), (2, "png")]
    item = api.get(f"requests/{request_id}").body[0]
    assert item["media_url"].endswith(f"/media/{rows[0].name}.jpg")
    assert sorted(p.name for p in media_dir.rglob("*") if p.is_file()) == sorted(
        [f"{rows[0].name}.jpg", f"{rows[1].name}.png"]
    )
    second_url = item["media_url"].replace(f"{rows[0].name}.jpg", f"{rows[1].name}.png")
    assert fetch_media(api.client, second_url).headers["Content-Type"] == "image/png"


def test_the_same_photo_may_illustrate_two_requests(api, session, key, media_dir):
    data = photo()
    first = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert first.status == 200, first.body
    second = api.post("requests", {**OTHER, "api_key": key, "media": upload(data)})
    assert second.status == 200, second.body
    urls = [
        api.get(f"requests/{r.body[0]['service_request_id']}").body[0]["media_url"]
        for r in (first, second)
    ]
    assert urls[0] == urls[1]


def test_the_same_photo_twice_in_one_request(api, session, key, media_dir):
    data = photo()
    result = api.post(
        "requests",
        {**OTHER, "api_key": key, "media": [upload(data, "a.jpg"), upload(data, "b.jpg")]},
    )
    assert result.status in (200, 400), result.body


def test_client_media_url_is_stored_as_given(api, session, key, media_dir):
    url = "https://images.example.org/311/photo.jpg?size=large"
    request_id = created(api, {**OTHER, "api_key": key, "media_url": url})
    assert api.get(f"requests/{request_id}").body[0]["media_url"] == url
    assert stored(session, media_dir)["files"] == []
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(Media).where(Media.request_pk == int(request_id))
        )
        == 0
    )


@pytest.mark.parametrize(
    "name", ["0" * 32 + ".jpg", "f" * 32 + ".png", "nope.jpg", "..", "%2e%2e%2fetc%2fpasswd"]
)
def test_unknown_media_is_404_in_json(client, session, media_dir, name):
    response = client.get(f"/open311/v2/media/{name}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.data)
    validate("errors", body)
    assert body[0]["code"] == 404


def test_stored_media_with_another_extension_is_404(api, session, key, media_dir):
    request_id = created(api, {**OTHER, "api_key": key, "media": upload(photo())})
    url = api.get(f"requests/{request_id}").body[0]["media_url"]
    assert fetch_media(api.client, url).status_code == 200
    assert fetch_media(api.client, url.replace(".jpg", ".png")).status_code == 404
