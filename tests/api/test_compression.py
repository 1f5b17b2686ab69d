"""gzip for large answers when the client accepts it (issue 18, point 6): exports streamed
compressed, statistics and long lists compressed whole; small answers, errors and documents
read in byte ranges as they are; the validators still earn a 304."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib

import pytest
import sqlalchemy as sa

from tests.helpers import add_request

GZIP = {"Accept-Encoding": "gzip, deflate"}
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def many(session) -> int:
    for minutes in range(60):  # one a day
        add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=minutes, minutes=1))
    return 60


def test_a_streamed_export_is_gzipped_as_it_goes(client, many):
    plain = client.get("/open311/v2/bulk/requests.csv").get_data()
    response = client.get("/open311/v2/bulk/requests.csv", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]
    chunks = list(response.response)
    assert len(chunks) >= 2  # flushed chunk by chunk, not gathered
    assert gzip.decompress(b"".join(chunks)) == plain
    # Each chunk is a complete flush: what arrived so far decodes without the rest.
    assert zlib.decompressobj(31).decompress(chunks[0]).startswith(b"service_request_id,")


@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/statistics.json?group_by=service,day",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/open311/v2/bulk/requests.geojson",
    ],
)
def test_large_answers_are_gzipped_and_decode_to_the_same(client, many, url):
    plain = client.get(url)
    response = client.get(url, headers=GZIP)
    assert response.status_code == plain.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data()) == plain.get_data()
    assert len(response.get_data()) < len(plain.get_data())


def test_without_accept_encoding_or_when_small_nothing_is_compressed(client, many):
    assert "Content-Encoding" not in client.get("/open311/v2/requests.json").headers
    refused = client.get("/open311/v2/requests.json?gzip=1", headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in refused.headers
    small = client.get("/open311/v2/discovery.json", headers=GZIP)
    assert "Content-Encoding" not in small.headers
    error = client.get("/open311/v2/requests.json?status=pending", headers=GZIP)
    assert error.status_code == 400 and "Content-Encoding" not in error.headers
    assert json.loads(error.get_data())[0]["code"] == 400
    no_gzip = client.get("/open311/v2/requests.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in no_gzip.headers


def test_documents_read_in_ranges_stay_identity(client):
    url = "/open311/v2/jurisdictions/lacity.org/areas.geojson"
    whole = client.get(url, headers=GZIP)
    assert whole.headers["Accept-Ranges"] == "bytes" and "Content-Encoding" not in whole.headers
    part = client.get(url, headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.get_data() == whole.get_data()[:100]


def test_a_gzipped_answer_still_earns_a_304(client, many):
    url = "/open311/v2/requests.json"
    first = client.get(url, headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')  # another encoding: a weak validator
    again = client.get(url, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    stats = "/open311/v2/statistics.json?group_by=service"
    etag = client.get(stats, headers=GZIP).headers["ETag"]
    assert client.get(stats, headers={**GZIP, "If-None-Match": etag}).status_code == 304


def test_a_client_gone_mid_export_closes_the_cursor(client, session, connection, many):
    session.execute(
        sa.text(
            "INSERT INTO service_request (jurisdiction_pk, service_pk, status, description, "
            "requested_datetime, updated_datetime, accepted_at, public, attributes, area_pks) "
            "SELECT j.id, s.id, 'open', md5(n::text) || repeat('x', 200), now(), now(), now(), "
            "true, '{}', '{}' FROM jurisdiction j JOIN service s ON s.jurisdiction_pk = j.id "
            "AND s.service_code = 'OTHER', generate_series(1, 20000) AS n "
            "WHERE j.jurisdiction_id = 'lacity.org'"
        )
    )
    session.commit()
    response = client.get("/open311/v2/bulk/requests.csv", headers=GZIP)
    chunks = iter(response.response)
    next(chunks)
    assert connection.scalar(sa.text("SELECT count(*) FROM pg_cursors")) == 1
    response.close()
    assert connection.scalar(sa.text("SELECT count(*) FROM pg_cursors")) == 0
