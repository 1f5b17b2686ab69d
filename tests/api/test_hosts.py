"""The Host header is a client's to choose: it never reaches a stored value, and reaches an
answer's links only when it names one of OPEN311_ALLOWED_HOSTS (else the answer is a 400);
with OPEN311_BASE_URL it is not used at all. Uploaded photos are stored as paths and made
absolute as they are served; their answers tell browsers not to sniff another type."""

from __future__ import annotations

import sqlalchemy as sa

from open311.models import ServiceRequest
from open311.storage import LocalStorage
from tests.helpers import (
    CITY_HALL,
    Api,
    add_request,
    bad,
    new_key,
    parse_link_header,
    photo,
    stored,
    upload,
)

OTHER = {"service_code": "OTHER", **CITY_HALL}
EVIL = {"Host": "evil.example"}


def stored_media_url(session, request_id: str) -> str | None:
    return session.scalar(
        sa.select(ServiceRequest.media_url).where(ServiceRequest.id == int(request_id))
    )


def test_a_host_not_allowed_is_refused_and_nothing_is_stored(api, session, media_dir):
    key = new_key(session)
    before = stored(session, media_dir)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(photo())}, headers=EVIL)
    bad(result, 400, "Host", "OPEN311_ALLOWED_HOSTS")
    assert stored(session, media_dir) == before
    bad(api.get("discovery", headers=EVIL), 400, "Host")
    bad(api.get("requests", headers=EVIL), 400, "Host")


def test_a_photo_is_stored_as_a_path_and_served_from_the_readers_host(
    app_with, session, fmt, media_dir
):
    app = app_with(ALLOWED_HOSTS="localhost,311.example.gov")
    app.extensions["open311_storage"] = LocalStorage(media_dir)
    api = Api(app.test_client(), fmt)
    key = new_key(session)
    result = api.post(
        "requests",
        {**OTHER, "api_key": key, "media": upload(photo())},
        headers={"Host": "311.example.gov"},
    )
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    path = stored_media_url(session, request_id)
    assert path.startswith("media/") and path.endswith(".jpg"), path
    for host in ("localhost", "311.example.gov"):
        item = api.get(f"requests/{request_id}", headers={"Host": host}).body[0]
        assert item["media_url"] == f"http://{host}/open311/v2/{path}"
        listed = api.get(
            "requests", {"service_request_id": request_id}, headers={"Host": host}
        ).body[0]
        assert listed["media_url"] == item["media_url"]
    extended = api.get(f"requests/{request_id}", {"extensions": "true"}).body[0]
    assert extended["media_url"] == f"http://localhost/open311/v2/{path}"


def test_with_a_base_url_the_host_header_is_never_used(app_with, session, fmt, media_dir):
    app = app_with(BASE_URL="https://311.example.gov/open311/v2")
    app.extensions["open311_storage"] = LocalStorage(media_dir)
    api = Api(app.test_client(), fmt)
    key = new_key(session)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(photo())}, headers=EVIL)
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    path = stored_media_url(session, request_id)
    assert path.startswith("media/")
    item = api.get(f"requests/{request_id}", headers=EVIL).body[0]
    assert item["media_url"] == f"https://311.example.gov/open311/v2/{path}"
    discovery = api.get("discovery", headers=EVIL).body
    assert discovery["endpoints"][0]["url"] == "https://311.example.gov/open311/v2"
    for _ in range(3):
        add_request(session)
    page = api.get("requests", {"page_size": 1}, headers=EVIL)
    assert parse_link_header(page.headers["Link"])["next"].startswith(
        f"https://311.example.gov/open311/v2/requests.{fmt}?"
    )


def test_a_client_media_url_is_kept_as_sent(api, session):
    key = new_key(session)
    url = "https://images.example.org/p/1.jpg"
    result = api.post("requests", {**OTHER, "api_key": key, "media_url": url})
    request_id = result.body[0]["service_request_id"]
    assert stored_media_url(session, request_id) == url
    assert api.get(f"requests/{request_id}").body[0]["media_url"] == url


def test_media_answers_are_not_sniffed(api, session, media_dir):
    key = new_key(session)
    result = api.post("requests", {**OTHER, "api_key": key, "media": upload(photo())})
    item = api.get(f"requests/{result.body[0]['service_request_id']}").body[0]
    response = api.client.get(item["media_url"].removeprefix("http://localhost"))
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
