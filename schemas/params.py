"""What clients send: query strings and the POST form, as marshmallow schemas.

The parser hands these schemas a plain dict in which an empty parameter is already absent
(the spec: "a passed-but-empty parameter must be treated exactly as an absent one"), list
parameters are lists, and the POST form's ``attribute[...]`` keys are folded into
``attributes`` (``{code: [values]}``) by :func:`fold_attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from schemas.fields import (
    BBox,
    Box,
    CommaList,
    DateTimeParam,
    Text,
    no_control_characters,
    printable,
)
from schemas.vocabulary import STATUSES, UPDATE_STATUSES

# Field length limits (documented in README "Conformance notes").
LIMITS = {
    "jurisdiction_id": 200,
    "service_code": 100,
    "service_request_id": 40,
    "api_key": 200,
    "address_string": 500,
    "address_id": 100,
    "email": 254,
    "device_id": 200,
    "account_id": 200,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "description": 4000,
    "media_url": 2000,
    "attribute_value": 4000,
    "attribute_values": 100,
    "attributes": 100,
    "token": 100,
}

ATTRIBUTE_KEY = re.compile(r"^attribute\[([A-Za-z0-9_.:-]{1,100})\](\[\])?$")


class Params(Schema):
    class Meta:
        unknown = EXCLUDE


class JurisdictionQuery(Params):
    jurisdiction_id = Text(
        max_length=LIMITS["jurisdiction_id"],
        metadata={
            "description": "The jurisdiction. Optional when the server serves one jurisdiction."
        },
    )


def _point_pair(data: dict[str, Any]) -> None:
    if ("lat" in data) != ("long" in data):
        missing = "long" if "lat" in data else "lat"
        raise ValidationError(f"lat and long go together: {missing} is missing", missing)


LAT: dict[str, Any] = {
    "validate": validate.Range(-90, 90, error="must be between -90 and 90"),
    "allow_nan": False,
    "metadata": {"description": "WGS84 latitude"},
}
LONG: dict[str, Any] = {
    "validate": validate.Range(-180, 180, error="must be between -180 and 180"),
    "allow_nan": False,
    "metadata": {"description": "WGS84 longitude"},
}


class ServicesQuery(JurisdictionQuery):
    lat = fields.Float(**LAT)
    long = fields.Float(**LONG)

    @validates_schema
    def _pair(self, data: dict[str, Any], **_: Any) -> None:
        _point_pair(data)


class AddressSearchQuery(JurisdictionQuery):
    q = Text(
        max_length=200,
        required=True,
        validate=validate.Length(min=2),
        error_messages={"required": "is required (the address typed so far)"},
        metadata={"description": "The address typed so far (at least 2 characters)."},
    )
    limit = fields.Integer(
        load_default=10,
        validate=validate.Range(1, 50),
        metadata={"description": "How many suggestions (1-50)."},
    )


class AreasQuery(Params):
    layer = Text(max_length=50, metadata={"description": "Only the areas of this layer."})


class ExtensionsQuery(JurisdictionQuery):
    extensions = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: add extended_attributes (the named areas the request lies in)."
        },
    )


class ServiceRequestsQuery(ExtensionsQuery):
    service_request_id = CommaList(
        Text(max_length=LIMITS["service_request_id"]),
        max_items=1000,
        metadata={
            "description": "Comma list (or repeated keys) of ids; overrides every "
            "other filter, including the date window."
        },
    )
    service_code = CommaList(
        Text(max_length=LIMITS["service_code"]),
        max_items=200,
        metadata={"description": "Comma list (or repeated keys) of service codes."},
    )
    start_date = DateTimeParam(
        metadata={
            "description": "Earliest requested_datetime (inclusive), ISO 8601. Without dates the "
            "last OPEN311_DEFAULT_WINDOW_DAYS days (90 unless configured) are returned.",
            "type": "string",
            "format": "date-time",
        }
    )
    end_date = DateTimeParam(
        metadata={
            "description": "Latest requested_datetime (inclusive; a bare date covers that whole "
            "day), ISO 8601.",
            "type": "string",
            "format": "date-time",
        }
    )
    status = CommaList(
        fields.String(validate=validate.OneOf(STATUSES, error="must be open or closed")),
        max_items=2,
        metadata={"description": "open, closed, or both (comma list)."},
    )
    # -- extensions ---------------------------------------------------------------------
    page = fields.Integer(
        validate=validate.Range(1, 1_000_000),
        metadata={
            "description": "Extension: the page (1-based). Follow the Link header's next/prev "
            "rather than counting pages yourself."
        },
    )
    page_size = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "description": "Extension: requests per page, at most max_requests (the default)."
        },
    )
    cursor = Text(
        max_length=500,
        metadata={"description": "Extension: an opaque position the server put in a Link header."},
    )
    updated_after = DateTimeParam(
        metadata={
            "description": "Extension (sync): updated_datetime on or after this; the answer is "
            "then oldest change first.",
            "type": "string",
            "format": "date-time",
        }
    )
    updated_before = DateTimeParam(
        metadata={
            "description": "Extension (sync): updated_datetime on or before this.",
            "type": "string",
            "format": "date-time",
        }
    )
    bbox = BBox(
        metadata={
            "description": "Extension: minLong,minLat,maxLong,maxLat.",
            "type": "string",
            "example": "-118.30,34.03,-118.22,34.07",
        }
    )
    lat = fields.Float(**LAT)
    long = fields.Float(**LONG)
    radius = fields.Float(
        validate=validate.Range(
            0, 100_000, min_inclusive=False, error="must be more than 0 and at most 100000 metres"
        ),
        allow_nan=False,
        metadata={"description": "Extension: metres around lat/long.", "exclusiveMinimum": True},
    )
    area = Text(
        max_length=160,
        metadata={
            "description": "Extension: a named area of the jurisdiction, `layer:id` or `id` "
            "(see jurisdictions/{id}/areas.geojson)."
        },
    )
    q = Text(
        max_length=200,
        metadata={
            "description": "Extension: full-text search over description, address and service "
            'name (web-search syntax: words, "phrases", -not, or).'
        },
    )
    nearby = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Extension: with lat, long and one service_code, the open requests of "
            "that service nearby (possible duplicates)."
        },
    )

    @validates_schema
    def _pair(self, data: dict[str, Any], **_: Any) -> None:
        _point_pair(data)


class BulkRequestsQuery(ServiceRequestsQuery):
    """The bulk export: GET requests' filters, without paging (no page limit) or the ids
    filter; without dates, every request."""

    class Meta:
        exclude = ("service_request_id", "page", "page_size", "cursor", "extensions", "nearby")

    bom = fields.Boolean(
        load_default=False,
        metadata={
            "description": "CSV only: true starts the file with a UTF-8 byte order mark, which "
            "Excel needs to read it as UTF-8."
        },
    )


class StatisticsQuery(ServiceRequestsQuery):
    """Statistics: GET requests' filters (without dates, the same default window), without
    paging or the ids filter, plus the groupings."""

    class Meta:
        exclude = ("service_request_id", "page", "page_size", "cursor", "extensions", "nearby")

    group_by = Text(
        max_length=200,
        load_default=None,
        metadata={
            "description": "Comma list of at most 3 groupings: service, status, channel, day, "
            "week, month (one period), area:<layer> (one layer, e.g. area:council_district). "
            "Without it: the total only.",
            "example": "service,week",
        },
    )


class PostServiceRequestForm(JurisdictionQuery):
    """POST requests: ``application/x-www-form-urlencoded`` (``api_key`` and
    ``jurisdiction_id`` may also come in the query string)."""

    api_key = Text(
        max_length=LIMITS["api_key"],
        load_default=None,
        metadata={
            "description": "Your app's key; may also be sent as `Authorization: Bearer KEY`, "
            "`X-API-Key: KEY` or in the query string."
        },
    )
    service_code = Text(
        max_length=LIMITS["service_code"], required=True, error_messages={"required": "is required"}
    )
    lat = fields.Float(**LAT)
    long = fields.Float(**LONG)
    address_string = Text(max_length=LIMITS["address_string"])
    address_id = Text(max_length=LIMITS["address_id"])
    email = fields.Email(validate=validate.Length(max=LIMITS["email"]))
    device_id = Text(max_length=LIMITS["device_id"])
    account_id = Text(max_length=LIMITS["account_id"])
    first_name = Text(max_length=LIMITS["first_name"])
    last_name = Text(max_length=LIMITS["last_name"])
    phone = Text(max_length=LIMITS["phone"])
    description = Text(max_length=LIMITS["description"], multiline=True)
    media_url = fields.Url(
        schemes={"http", "https"},
        require_tld=False,
        metadata={"format": "uri"},
        validate=[validate.Length(max=LIMITS["media_url"]), no_control_characters],
    )
    extensions = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Extension: true adds extended_attributes.nearby_requests to the "
            "answer (open requests of the same service nearby: possible "
            "duplicates)."
        },
    )
    attributes = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        load_default=dict,
        metadata={
            "description": "Sent as `attribute[CODE]=value`; for a multivaluelist "
            "`attribute[CODE][]=v1&attribute[CODE][]=v2` or repeated "
            "`attribute[CODE]=v`."
        },
    )

    @validates_schema
    def _location(self, data: dict[str, Any], **_: Any) -> None:
        _point_pair(data)
        if not ("lat" in data or data.get("address_string") or data.get("address_id")):
            raise ValidationError(
                "a location is required: lat and long, address_string or address_id", "location"
            )


def fold_attributes(items: Iterable[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Collect ``attribute[CODE]``, ``attribute[CODE][]`` and repeated keys into
    ``{CODE: [values]}``; an empty value is unset. Returns (attributes, problems)."""
    attributes: dict[str, list[str]] = {}
    problems: list[str] = []
    for key, value in items:
        if not key.startswith("attribute"):
            continue
        match = ATTRIBUTE_KEY.match(key)
        if not match:
            shown = printable(key)
            problems.append(
                f"{shown}: not an attribute key; use attribute[CODE]=value with a "
                "CODE of letters, digits, '_', '.', ':' or '-'"
            )
            continue
        code = match.group(1).strip()
        values = attributes.setdefault(code, [])
        value = value.strip()
        if value:
            values.append(value)
    attributes = {code: values for code, values in attributes.items() if values}
    if len(attributes) > LIMITS["attributes"]:
        problems.append(f"attribute: at most {LIMITS['attributes']} attributes are accepted")
    for code, values in attributes.items():
        if len(values) > LIMITS["attribute_values"]:
            problems.append(
                f"attribute[{code}]: at most {LIMITS['attribute_values']} values are accepted"
            )
        if any(len(v) > LIMITS["attribute_value"] for v in values):
            problems.append(
                f"attribute[{code}]: a value is longer than {LIMITS['attribute_value']} characters"
            )
    return attributes, problems


class UpdatesQuery(JurisdictionQuery):
    """GET servicerequestupdates (FixMyStreet's extension)."""

    start_date = DateTimeParam(
        metadata={
            "description": "Updates at or after this.",
            "type": "string",
            "format": "date-time",
        }
    )
    end_date = DateTimeParam(
        metadata={
            "description": "Updates at or before this.",
            "type": "string",
            "format": "date-time",
        }
    )
    api_key = Text(
        max_length=LIMITS["api_key"],
        metadata={"description": "Accepted for FixMyStreet compatibility; reading needs no key."},
    )


class PostUpdateForm(JurisdictionQuery):
    """POST servicerequestupdates (FixMyStreet's extension), form-encoded."""

    api_key = Text(
        max_length=LIMITS["api_key"],
        load_default=None,
        metadata={"description": "A key with the backoffice scope (also as Bearer/X-API-Key)."},
    )
    service_request_id = Text(
        max_length=LIMITS["service_request_id"],
        required=True,
        error_messages={"required": "is required"},
    )
    update_id = Text(
        max_length=100,
        required=True,
        error_messages={"required": "is required"},
        metadata={
            "description": "Your id of the update: a second POST with the "
            "same update_id changes nothing."
        },
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            list(UPDATE_STATUSES),
            error="must be one of the FixMyStreet statuses in upper case (OPEN, FIXED, "
            "IN_PROGRESS, ...)",
        ),
        error_messages={"required": "is required"},
    )
    updated_datetime = DateTimeParam(
        required=True,
        error_messages={"required": "is required"},
        metadata={"type": "string", "format": "date-time"},
    )
    description = Text(max_length=LIMITS["description"], multiline=True, load_default="")
    media_url = fields.Url(
        schemes={"http", "https"},
        require_tld=False,
        metadata={"format": "uri"},
        validate=[validate.Length(max=LIMITS["media_url"]), no_control_characters],
    )
    external_status_code = Text(max_length=100)


class FeaturesQuery(Params):
    """OGC API - Features: the query of a landing page, conformance or collections
    document (``f``: the one format served)."""

    f = fields.String(
        validate=validate.OneOf(["json", "geojson", "html"]),
        metadata={
            "description": "The format: JSON (GeoJSON for items) or html; without it, the "
            "Accept header decides (a browser gets HTML)."
        },
    )


class FeatureQuery(FeaturesQuery):
    """One item: its CRS."""

    crs = Text(
        max_length=200,
        metadata={"description": "The CRS of the positions (default CRS84: longitude, latitude)."},
    )


class ItemsQuery(FeatureQuery):
    """OGC API - Features items: paging, box, time and property filters."""

    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, 10_000),
        metadata={"description": "Items per page (at most 10000)."},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(0, 100_000_000),
        metadata={"description": "Items to skip (the next links of requests page by cursor)."},
    )
    bbox = Box(
        metadata={
            "description": "minX,minY,maxX,maxY in bbox-crs (default CRS84: minLong,minLat,...)."
        }
    )
    bbox_crs = Text(
        max_length=200, data_key="bbox-crs", metadata={"description": "The CRS of bbox."}
    )
    datetime = Text(
        max_length=100,
        metadata={
            "description": "requests: requested_datetime at an instant or in an interval "
            "(start/end, '..' for an open end), RFC 3339."
        },
    )
    cursor = Text(
        max_length=200, metadata={"description": "requests: the next page (from a next link)."}
    )
    service_code = CommaList(
        Text(max_length=LIMITS["service_code"]),
        max_items=200,
        metadata={"description": "requests: these services only (comma list)."},
    )
    status = CommaList(
        fields.String(validate=validate.OneOf(STATUSES, error="must be open or closed")),
        max_items=2,
        metadata={"description": "requests: open or closed."},
    )
    filter = Text(
        max_length=8000,
        metadata={
            "description": "requests: a CQL2 filter on the queryables (see the collection's "
            "queryables), e.g. service_code = 'GRAFFITI' AND requested_datetime > "
            "TIMESTAMP('2026-01-01T00:00:00Z')."
        },
    )
    filter_lang = fields.String(
        data_key="filter-lang",
        validate=validate.OneOf(["cql2-text", "cql2-json", "cql-text"]),
        metadata={
            "description": "The filter's encoding: cql2-text (default) or cql2-json; cql-text "
            "(the draft's name, which GDAL sends) is read as cql2-text."
        },
    )
    filter_crs = Text(
        max_length=200,
        data_key="filter-crs",
        metadata={"description": "The CRS of the filter's geometries: CRS84 only."},
    )
