"""The bulk export (issue 18, point 1): every public request that GET requests' filters
select, past the page limit, as RFC 4180 CSV, GeoJSON and newline-delimited GeoJSON,
streamed from a server-side cursor; its data dictionary; never a resident's personal data.
The GET requests it is compared with are read in JSON and XML (the ``api`` fixture)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from open311.models import RequestEvent
from open311.operations.bulk import BULK_FIELDS
from open311.repository.points import areas_at
from tests.helpers import CITY_HALL, Api, add_request, la, new_key, row_counts

BULK = "/open311/v2/bulk"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LAYERS = ("area_council_district", "area_neighborhood_council", "area_region")
COLUMNS = [c.name for c in BULK_FIELDS]
TRICKY = 'Couch, "free"\r\nsecond line — ñ'


@pytest.fixture
def made(session) -> dict[str, str]:
    """Requests of two services, one closed (with its closing event), one without a
    location, one submitted a year ago; their ids by name."""
    city_hall = [a.id for a in areas_at(session, [la(session).id], -118.2428, 34.0537)]
    requests = {
        "tricky": add_request(
            session,
            code="BULKY-ITEMS",
            when=NOW - dt.timedelta(hours=3),
            description=TRICKY,
            address="200 N Spring St",
            area_pks=city_hall,
        ),
        "closed": add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(hours=2),
            status="closed",
            status_notes="painted over",
            closed_at=NOW - dt.timedelta(minutes=30),
        ),
        "nowhere": add_request(
            session,
            code="GRAFFITI",
            when=NOW - dt.timedelta(hours=1),
            lat=None,
            long=None,
            address="City Hall",
        ),
        "old": add_request(session, code="GRAFFITI", when=NOW - dt.timedelta(days=400)),
    }
    session.add(
        RequestEvent(
            request_pk=requests["closed"].id,
            kind="closed",
            status="closed",
            at=NOW - dt.timedelta(minutes=30),
        )
    )
    session.commit()
    return {name: str(r.id) for name, r in requests.items()}


def rows_of(response) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_is_rfc4180_with_every_request_past_the_page_limit(app_with, made):
    client = app_with(MAX_REQUESTS=2).test_client()
    response = client.get(f"{BULK}/requests.csv")
    assert response.status_code == 200 and "Content-Length" not in response.headers  # streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    raw = response.get_data()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header, _, rest = raw.partition(b"\r\n")
    assert header.decode().split(",") == [*COLUMNS, *LAYERS]
    rows = {row["service_request_id"]: row for row in rows_of(response)}
    assert set(made.values()) <= set(rows)  # 4 requests, whatever the page limit (2)
    tricky = rows[made["tricky"]]
    assert tricky["description"] == TRICKY  # quoted, CR LF and all, as stored
    assert f'"{TRICKY.replace(chr(34), 2 * chr(34))}"'.encode() in rest
    assert tricky["service_code"] == "BULKY-ITEMS" and tricky["status_description"] == "open"
    assert tricky["lat"] == CITY_HALL["lat"] and tricky["long"] == CITY_HALL["long"]
    assert tricky["area_council_district"] and tricky["area_region"]
    assert tricky["closed_date"] == "" and tricky["source"] == ""
    closed = rows[made["closed"]]
    assert closed["status_description"] == "closed" and closed["status_notes"] == "painted over"
    assert dt.datetime.fromisoformat(closed["closed_date"]) == NOW - dt.timedelta(minutes=30)
    assert closed["closed_date"].endswith(("-08:00", "-07:00"))  # Los Angeles time
    nowhere = rows[made["nowhere"]]
    assert nowhere["lat"] == nowhere["long"] == "" and nowhere["area_region"] == ""
    order = [r for r in rows if r in made.values()]
    assert order == [made["nowhere"], made["closed"], made["tricky"], made["old"]]


def test_csv_with_a_byte_order_mark_for_excel(client, made):
    raw = client.get(f"{BULK}/requests.csv?bom=true").get_data()
    assert raw.startswith("\ufeffservice_request_id,".encode())


def test_geojson_is_one_feature_collection(client, made):
    response = client.get(f"{BULK}/requests.geojson")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/geo+json; charset=utf-8"
    document = json.loads(response.get_data())
    assert document["type"] == "FeatureCollection"
    features = {f["id"]: f for f in document["features"]}
    tricky = features[made["tricky"]]
    assert tricky["type"] == "Feature"
    assert tricky["geometry"] == {"type": "Point", "coordinates": [-118.2428, 34.0537]}
    assert list(tricky["properties"]) == [*COLUMNS, *LAYERS]
    assert tricky["properties"]["description"] == TRICKY
    assert features[made["nowhere"]]["geometry"] is None


def test_ndjson_is_a_feature_a_line(client, made):
    response = client.get(f"{BULK}/requests.ndjson?service_code=GRAFFITI")
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = response.get_data().decode().splitlines()
    features = [json.loads(line) for line in lines]
    assert all(f["type"] == "Feature" for f in features)
    ids = [f["id"] for f in features]
    assert made["closed"] in ids and made["tricky"] not in ids


@pytest.mark.parametrize(
    "params",
    [
        {"status": "open"},
        {"status": "closed"},
        {"service_code": "GRAFFITI"},
        {"start_date": (NOW - dt.timedelta(days=30)).isoformat()},
        {"bbox": "-118.25,34.05,-118.24,34.06"},
        {"lat": "34.0537", "long": "-118.2428", "radius": "200"},
        {"q": "couch"},
        {"area": "council_district:14"},
        {"updated_after": (NOW - dt.timedelta(days=30)).isoformat()},
    ],
    ids=lambda p: ",".join(p),
)
def test_filters_select_what_get_requests_selects(client, fmt, made, params):
    """The same filters, the same requests as GET requests (read in JSON and in XML), every
    one of them (no page limit)."""
    exported = {
        row["service_request_id"]
        for row in rows_of(client.get(f"{BULK}/requests.csv", query_string=params))
    }
    window = (
        {}
        if set(params) & {"start_date", "updated_after"}
        else {"start_date": (NOW - dt.timedelta(days=500)).isoformat()}
    )
    listed = Api(client, fmt).get("requests", params={**window, **params, "page_size": 1000})
    assert listed.status == 200
    assert exported == {r["service_request_id"] for r in listed.body}
    assert exported & set(made.values())  # each filter selects some of these


def test_without_dates_every_date(client, made):
    exported = {row["service_request_id"] for row in rows_of(client.get(f"{BULK}/requests.csv"))}
    assert made["old"] in exported  # GET requests shows the last 90 days only


def test_no_personal_data_and_no_unpublished_request(client, session, made):
    """Contact details sent with a request are never exported; nor is a batch request
    not yet accepted."""
    personal = {
        "email": "quill.ramsbottom@example.org",
        "first_name": "Quill",
        "last_name": "Ramsbottom",
        "phone": "+1 213 555 0147",
        "device_id": "device-bulk-5d2e",
        "account_id": "acct-bulk-9931",
    }
    posted = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": new_key(session, "Bulk Reporter"),
            "service_code": "OTHER",
            "description": "Leaking hydrant",
            **CITY_HALL,
            **personal,
        },
    )
    assert posted.status_code == 200
    pending = add_request(session, code="GRAFFITI", accepted=False)
    session.commit()
    for export in ("requests.csv", "requests.geojson", "requests.ndjson"):
        body = client.get(f"{BULK}/{export}").get_data()
        assert posted.json[0]["service_request_id"].encode() in body
        assert b"Bulk Reporter" in body  # the channel (the app's name) is public
        for value in personal.values():
            assert value.encode() not in body
        assert f'"{pending.id}"'.encode() not in body and f"\n{pending.id},".encode() not in body


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("requests.csv?bbox=1,2", 400, "bbox"),
        ("requests.geojson?status=pending", 400, "status"),
        ("requests.ndjson?service_code=NO-SUCH", 400, "NO-SUCH"),
        ("requests.csv?jurisdiction_id=nowhere.example", 404, "nowhere.example"),
        ("requests.csv?radius=100", 400, "radius"),
        ("datapackage.json?jurisdiction_id=nowhere.example", 404, "nowhere.example"),
    ],
)
def test_refusals_come_before_any_byte_in_the_spec_format(client, session, url, status, needle):
    before = row_counts(session)
    response = client.get(f"{BULK}/{url}")
    assert response.status_code == status and "Content-Length" in response.headers
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = response.json
    assert error["code"] == status and needle in error["description"]
    assert row_counts(session) == before


def test_the_data_package_describes_the_csv(client, made):
    package = client.get(f"{BULK}/datapackage.json?jurisdiction_id=lacity.org").json
    [resource] = package["resources"]
    assert (
        resource["path"]
        == "http://localhost/open311/v2/bulk/requests.csv?jurisdiction_id=lacity.org"
    )
    fields = resource["schema"]["fields"]
    header = client.get(f"{BULK}/requests.csv").get_data().split(b"\r\n")[0].decode()
    assert [f["name"] for f in fields] == header.split(",")
    assert all(f["description"] and f["type"] for f in fields)
    assert resource["schema"]["primaryKey"] == "service_request_id"


def test_the_export_streams_from_a_cursor_closed_when_the_client_goes_away(
    client, session, connection
):
    """The rows come from a server-side cursor, read as the bytes are sent (a few batches
    ahead: more rows than those here): a client that stops reading closes it (and the query
    with it)."""
    la_pk = session.scalar(
        sa.text("SELECT id FROM jurisdiction WHERE jurisdiction_id = 'lacity.org'")
    )
    service_pk = session.scalar(
        sa.text("SELECT id FROM service WHERE service_code = 'GRAFFITI' AND jurisdiction_pk = :j"),
        {"j": la_pk},
    )
    session.execute(
        sa.text(
            "INSERT INTO service_request (jurisdiction_pk, service_pk, status, description, "
            "requested_datetime, updated_datetime, accepted_at, public, attributes, area_pks) "
            "SELECT :j, :s, 'open', repeat('x', 200), now() - n * interval '1 minute', now(), "
            "now() - interval '1 day', true, '{}', '{}' FROM generate_series(1, 20000) AS n"
        ),
        {"j": la_pk, "s": service_pk},
    )
    session.commit()

    def cursors() -> int:  # on the connection itself: no savepoint amid the export's
        return connection.scalar(sa.text("SELECT count(*) FROM pg_cursors"))

    response = client.get(f"{BULK}/requests.csv")
    chunks = iter(response.response)
    first = next(chunks)
    assert first.startswith(b"service_request_id,") and len(first) < 20000 * 200
    assert cursors() == 1  # the query is still being read
    response.close()
    assert cursors() == 0


def test_an_unchanged_export_is_a_304_without_a_query(client, session, connection, made):
    """Validators known before the body: a weak ETag of what the export follows (the
    requests' last change, the bundle, the query, the format) and Last-Modified; the same
    export asked again with If-None-Match is a 304 with no body and no cursor; a change
    to a request, or another query, is a new ETag."""
    url = f"{BULK}/requests.csv?service_code=GRAFFITI"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.get_data()
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert connection.scalar(sa.text("SELECT count(*) FROM pg_cursors")) == 0
    for other in (f"{url}&status=open", url.replace(".csv", ".ndjson")):
        with client.get(other) as response:
            assert response.headers["ETag"] != etag
    add_request(session, code="OTHER")  # any public request of the jurisdiction changes it
    session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_data()


def test_exports_at_once_are_bounded_per_worker(app_with, made):
    """Each streaming export holds a database connection while its client reads: past
    EXPORTS_AT_ONCE, a 503 with Retry-After in the spec's format; the slot is free again
    once the export was sent or its client went away."""
    client = app_with(EXPORTS_AT_ONCE=1).test_client()
    reading = client.get(f"{BULK}/requests.csv")
    assert reading.status_code == 200
    busy = client.get(f"{BULK}/requests.geojson")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert busy.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = busy.json
    assert error["code"] == 503 and "exports" in error["description"]
    etag = reading.headers["ETag"]
    again = client.get(f"{BULK}/requests.csv", headers={"If-None-Match": etag})
    assert again.status_code == 304
    reading.close()  # the client went away
    assert client.get(f"{BULK}/requests.geojson").status_code == 200
