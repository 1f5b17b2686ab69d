"""Test helpers: call the API in one format, decode the body the same way for JSON and
XML, validate it against the spec's JSON Schemas, and build test data."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import sqlalchemy as sa
from PIL import ExifTags, Image
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from open311.formats import singular
from open311.models import Jurisdiction, Service, ServiceRequest
from open311.operations.keys import create_key
from open311.repository.privacy import (
    exact_only,
    public_point,
    refresh_public_view,
    search_vector,
)
from open311.repository.spatial import point
from schemas.json_validation import validate

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# XML elements whose children are list items (the Spark convention).
LIST_CONTAINERS = {
    "services",
    "service_requests",
    "errors",
    "attributes",
    "values",
    "endpoints",
    "formats",
    "addresses",
    "areas",
    "notes",
    "service_request_updates",
    "nearby_requests",
}
# Leaf types in JSON, by (parent element, element): XML carries text only.
LEAF_TYPES = {
    ("error", "code"): int,
    ("attribute", "order"): int,
    ("attribute", "variable"): bool,
    ("attribute", "required"): bool,
    ("service", "metadata"): bool,
    ("request", "lat"): float,
    ("request", "long"): float,
    ("endpoint", "max_requests"): int,
    ("address", "lat"): float,
    ("address", "long"): float,
    ("nearby_request", "distance_m"): float,
}
# The LA bundle's service codes, in catalogue order.
LA_CODES = [
    "GRAFFITI",
    "HOMELESS-ENCAMPMENT",
    "DEAD-ANIMAL",
    "BULKY-ITEMS",
    "E-WASTE",
    "ILLEGAL-DUMPING",
    "METAL-APPLIANCES",
    "STREETLIGHT-SINGLE",
    "STREETLIGHT-MULTIPLE",
    "WATER-WASTE",
    "OTHER",
    "FEEDBACK",
]

CITY_HALL = {"lat": "34.0537", "long": "-118.2428"}  # inside the City of Los Angeles
SANTA_MONICA = {"lat": "34.0195", "long": "-118.4912"}  # a separate city


def _leaf(parent: str, name: str, text: str | None):
    if text is None or text == "":
        return None
    kind = LEAF_TYPES.get((parent, name))
    if kind is bool:
        assert text in ("true", "false"), f"<{name}> is not a boolean: {text!r}"
        return text == "true"
    if kind is not None:
        return kind(text)
    return text


def decode_xml_element(element: ElementTree.Element, parent: str = "") -> Any:
    children = list(element)
    name = element.tag
    if name in LIST_CONTAINERS:
        item = singular(name)
        assert all(c.tag == item for c in children), (
            f"<{name}> holds {[c.tag for c in children]}, expected only <{item}>"
        )
        assert not (element.text or "").strip()
        return [decode_xml_element(c, name) for c in children]
    if children:
        tags = [c.tag for c in children]
        assert len(tags) == len(set(tags)), f"<{name}> repeats a child: {tags}"
        return {c.tag: decode_xml_element(c, name) for c in children}
    return _leaf(parent, name, element.text)


def decode_xml(body: bytes) -> tuple[str, Any]:
    """(root element name, payload) of an XML response, with the JSON leaf types."""
    text = body.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>'), text[:60]
    root = ElementTree.fromstring(body)
    assert "}" not in root.tag, "no XML namespace"
    return root.tag, decode_xml_element(root)


@dataclass
class Result:
    status: int
    content_type: str
    root: str | None
    body: Any
    headers: Any
    raw: bytes


class Api:
    """Calls /open311/v2/... in one format and decodes the answer (JSON or XML) to the same
    Python structure, checking the Content-Type on the way."""

    PREFIX = "/open311/v2"

    def __init__(self, client, fmt: str) -> None:
        self.client = client
        self.fmt = fmt

    def url(self, resource: str) -> str:
        return f"{self.PREFIX}/{resource}.{self.fmt}"

    def _result(self, response, root: str | None) -> Result:
        assert response.headers["Content-Type"] == CONTENT_TYPES[self.fmt], response.headers[
            "Content-Type"
        ]
        if self.fmt == "json":
            body = json.loads(response.data)
            found_root = None
        else:
            found_root, body = decode_xml(response.data)
            if root is not None and response.status_code < 400:
                assert found_root == root, f"root <{found_root}>, expected <{root}>"
            if response.status_code >= 400:
                assert found_root == "errors", found_root
        if response.status_code >= 400:
            validate("errors", body)
        return Result(
            response.status_code,
            response.headers["Content-Type"],
            found_root,
            body,
            response.headers,
            response.data,
        )

    def get(
        self,
        resource: str,
        params: Any = None,
        *,
        root: str | None = None,
        schema: str | None = None,
        headers: dict | None = None,
    ) -> Result:
        response = self.client.get(self.url(resource), query_string=params, headers=headers)
        result = self._result(response, root)
        if schema and result.status == 200:
            validate(schema, result.body)
        return result

    def follow(
        self,
        url: str,
        *,
        root: str | None = None,
        schema: str | None = None,
        headers: dict | None = None,
    ) -> Result:
        """GET a URL the server handed out (e.g. a Link header's), in whatever format it
        names (it must be this client's format)."""
        parts = urlsplit(url)
        assert parts.path.endswith(f".{self.fmt}"), url
        response = self.client.get(f"{parts.path}?{parts.query}", headers=headers)
        result = self._result(response, root)
        if schema and result.status == 200:
            validate(schema, result.body)
        return result

    def post(
        self,
        resource: str,
        data: Any = None,
        *,
        params: Any = None,
        headers: dict | None = None,
        schema: str | None = "post_response",
        root: str = "service_requests",
    ) -> Result:
        response = self.client.post(
            self.url(resource), data=data, query_string=params, headers=headers
        )
        result = self._result(response, root)
        if schema and result.status == 200:
            validate(schema, result.body)
        return result


def error_text(result: Result) -> str:
    return " | ".join(e["description"] for e in result.body)


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")


def parse_link_header(value: str | None) -> dict[str, str]:
    """An RFC 8288 ``Link`` header as ``{rel: url}`` (each rel of a link-value; a rel named
    twice is an error)."""
    links: dict[str, str] = {}
    for url, params in _LINK.findall(value or ""):
        for param in params.split(";"):
            name, _, rel = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for one in rel.strip().strip('"').split():
                    assert one not in links, f"rel={one} twice in {value!r}"
                    links[one] = url
    return links


# -- data -------------------------------------------------------------------------------------
def la(session: Session) -> Jurisdiction:
    return session.scalars(
        sa.select(Jurisdiction).where(Jurisdiction.jurisdiction_id == "lacity.org")
    ).one()


def service(session: Session, code: str, jurisdiction_id: str = "lacity.org") -> Service:
    return session.scalars(
        sa.select(Service)
        .join(Jurisdiction)
        .where(Jurisdiction.jurisdiction_id == jurisdiction_id, Service.service_code == code)
    ).one()


def new_key(session: Session, name: str = "test app") -> str:
    return create_key(session, name).key


def add_request(
    session: Session,
    *,
    code: str = "OTHER",
    when: dt.datetime | None = None,
    status: str = "open",
    lat: float | None = 34.0537,
    long: float | None = -118.2428,
    accepted: bool = True,
    jurisdiction_id: str = "lacity.org",
    **fields: Any,
) -> ServiceRequest:
    """A stored request (as if submitted earlier), committed to the test's savepoint."""
    svc = service(session, code, jurisdiction_id)
    when = when or dt.datetime.now(dt.UTC)
    privacy = sa.literal(svc.location_privacy, sa.String)
    request = ServiceRequest(
        jurisdiction_pk=svc.jurisdiction_pk,
        service_pk=svc.id,
        status=status,
        requested_datetime=when,
        updated_datetime=fields.pop("updated", when),
        location=point(long, lat) if lat is not None else None,
        public_location=(
            public_point(long, lat, privacy, sa.literal(svc.grid_metres, sa.Integer))
            if lat is not None
            else None
        ),
        closed_at=fields.pop("closed_at", when if status == "closed" else None),
        accepted_at=when if accepted else None,
        public=accepted,
        attributes={},
        search=search_vector(
            sa.literal(fields.get("description"), sa.Text),
            exact_only(sa.literal(fields.get("address"), sa.Text), privacy),
            svc.service_name,
            svc.group,
            sa.literal(list(svc.keywords or ()), ARRAY(sa.Text)),
        ),
        **fields,
    )
    session.add(request)
    session.commit()
    return request


def set_location_privacy(
    session: Session, code: str, privacy: str, grid_metres: int | None = None
) -> Service:
    """Set a service's location_privacy as a bundle load does (its requests' public view
    derived again), committed to the test's savepoint."""
    svc = service(session, code)
    svc.location_privacy, svc.grid_metres = privacy, grid_metres
    session.flush()
    refresh_public_view(session, [svc.id], dt.datetime.now(dt.UTC))
    session.commit()
    return svc


def row_counts(session: Session) -> dict[str, int]:
    """Rows in every table a POST writes to: compare before and after a refusal."""
    return {
        table: session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
        for table in ("service_request", "request_contact", "request_event", "api_key")
    }


def copy_bundle(source, dest, new_id: str, *, keep_geography: bool = False):
    """A copy of a bundle under another id. Unless ``keep_geography``, without its parent,
    areas and address points (loading those takes a second; most tests are about the
    catalogue, and a parent that is not loaded adds a note to every report)."""
    import re
    import shutil

    shutil.copytree(source, dest)
    path = dest / "jurisdiction.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^id: \S+", f"id: {new_id}", text, count=1, flags=re.M)
    if not keep_geography:
        text = re.sub(r"^parent: .*\n", "", text, flags=re.M)
        text = re.sub(
            r"\n(areas|addresses):.*?(?=\n(?:settings|services|boundary):|\Z)",
            "\n",
            text,
            flags=re.S,
        )
    path.write_text(text, encoding="utf-8")
    return dest


def refused(api, session, data, status: int, *needles: str, params=None, headers=None):
    """POST ``data`` to requests; assert the status, the spec error body naming every needle,
    and that nothing was stored."""
    before = row_counts(session)
    result = api.post("requests", data, params=params, headers=headers)
    assert result.status == status, (result.status, result.body)
    assert all(e["code"] == status for e in result.body), result.body
    text = error_text(result)
    for needle in needles:
        assert needle in text, text
    assert row_counts(session) == before
    return result


def created(api, data, **kwargs) -> str:
    """POST ``data`` to a realtime service; the new service_request_id."""
    result = api.post("requests", data, **kwargs)
    assert result.status == 200, result.body
    request_id = result.body[0]["service_request_id"]
    assert isinstance(request_id, str) and request_id.isdigit()
    return request_id


def edit(path, old: str, new: str) -> None:
    """Replace the first occurrence of ``old`` (which must be there) in a file."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def bad(result, status: int, *needles: str) -> None:
    """A spec errors body with this status whose text names every needle."""
    assert result.status == status, (result.status, result.body)
    assert all(e["code"] == status for e in result.body), result.body
    text = error_text(result)
    for needle in needles:
        assert needle in text, text


def stored(session, media_dir=None) -> dict:
    """Everything a POST may write: rows of every table, and files in the media folder."""
    counts = row_counts(session)
    for table in ("media", "idempotent_answer"):
        counts[table] = session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
    if media_dir is not None:
        counts["files"] = sorted(p.name for p in media_dir.rglob("*") if p.is_file())
    return counts


# -- photos ---------------------------------------------------------------------------------
GPS = {1: "N", 2: (34.0, 3.0, 13.0), 3: "W", 4: (118.0, 14.0, 34.0)}


def photo(
    kind: str = "JPEG",
    size=(64, 48),
    color=(200, 30, 30),
    *,
    gps: bool = True,
    noise: bool = False,
    **save,
) -> bytes:
    image = Image.effect_noise(size, 64).convert("RGB") if noise else Image.new("RGB", size, color)
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "ExampleCam"
        exif[ExifTags.IFD.GPSInfo] = GPS
        save["exif"] = exif
    out = io.BytesIO()
    image.save(out, kind, **save)
    data = out.getvalue()
    if gps:  # the upload really carries the position
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


def upload(data: bytes, name: str = "photo.jpg"):
    return io.BytesIO(data), name
