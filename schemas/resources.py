"""What the server sends, for the OpenAPI document.

The server builds each payload as plain data and renders it to JSON or XML
(``open311.formats``); these schemas describe that JSON for ``openapi.yaml``. The exact
wire contract, checked against every response in the test suite, is in ``json/``.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from schemas.vocabulary import DATATYPES, ENDPOINT_TYPES, SERVICE_TYPES, STATUSES

DATETIME = {"type": "string", "format": "date-time", "example": "2024-01-31T17:05:09-08:00"}


class SpecError(Schema):
    code = fields.Integer(required=True)
    description = fields.String(required=True)


class Endpoint(Schema):
    specification = fields.String(required=True)
    url = fields.String(required=True)
    changeset = fields.String(required=True, metadata=DATETIME)
    type = fields.String(required=True, metadata={"enum": list(ENDPOINT_TYPES)})
    formats = fields.List(fields.String(), required=True)
    max_requests = fields.Integer(
        required=True,
        metadata={"description": "Extension: the most requests one GET requests answer holds."},
    )
    default_jurisdiction_id = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Extension: the jurisdiction a read without jurisdiction_id is "
            "about (the only one, or the configured default); null: such a read "
            "must name one. A POST without it is routed by its location."
        },
    )


class Discovery(Schema):
    changeset = fields.String(required=True, metadata=DATETIME)
    contact = fields.String(required=True)
    key_service = fields.String(required=True)
    endpoints = fields.List(fields.Nested(Endpoint), required=True)


class Service(Schema):
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    metadata = fields.Boolean(required=True)
    type = fields.String(required=True, metadata={"enum": list(SERVICE_TYPES)})
    keywords = fields.String(allow_none=True, required=True)
    group = fields.String(allow_none=True, required=True)
    jurisdiction_id = fields.String(
        metadata={
            "description": "Extension: with lat and long, the jurisdiction offering it there."
        }
    )


class AttributeValue(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)


class Attribute(Schema):
    variable = fields.Boolean(required=True)
    code = fields.String(required=True)
    datatype = fields.String(required=True, metadata={"enum": list(DATATYPES)})
    required = fields.Boolean(required=True)
    datatype_description = fields.String(allow_none=True, required=True)
    order = fields.Integer(required=True)
    description = fields.String(required=True)
    values = fields.List(fields.Nested(AttributeValue), required=True)


class ServiceDefinition(Schema):
    service_code = fields.String(required=True)
    attributes = fields.List(fields.Nested(Attribute), required=True)


class Area(Schema):
    jurisdiction_id = fields.String(required=True)
    layer = fields.String(required=True)
    id = fields.String(required=True)
    name = fields.String(required=True)


class ExtendedAttributes(Schema):
    detailed_status = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "The workflow state (open, in_progress, fixed, duplicate...) that "
            "status maps onto open/closed."
        },
    )
    channel = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The app (API key) that submitted the request."},
    )
    areas = fields.List(
        fields.Nested(Area),
        required=True,
        metadata={"description": "The named areas the request lies in, of every tier."},
    )
    duplicate_of = fields.String(
        metadata={"description": "The request this one duplicates (when staff marked it so)."}
    )


class Note(Schema):
    datetime = fields.String(required=True, metadata=DATETIME)
    type = fields.String(
        required=True, metadata={"description": "opened, accepted, update, closed or reopened"}
    )
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    detailed_status = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)


class SubmittedAttribute(Schema):
    code = fields.String(required=True)
    values = fields.List(fields.String(), required=True)


class ServiceRequest(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    status_notes = fields.String(allow_none=True, required=True)
    service_name = fields.String(allow_none=True, required=True)
    service_code = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    agency_responsible = fields.String(allow_none=True, required=True)
    service_notice = fields.String(allow_none=True, required=True)
    requested_datetime = fields.String(required=True, metadata=DATETIME)
    updated_datetime = fields.String(allow_none=True, required=True, metadata=DATETIME)
    expected_datetime = fields.String(allow_none=True, required=True, metadata=DATETIME)
    address = fields.String(allow_none=True, required=True)
    address_id = fields.String(allow_none=True, required=True)
    zipcode = fields.String(allow_none=True, required=True)
    lat = fields.Float(allow_none=True, required=True)
    long = fields.Float(allow_none=True, required=True)
    media_url = fields.String(allow_none=True, required=True)
    # -- extensions: only with extensions=true --------------------------------------------
    extended_attributes = fields.Nested(
        ExtendedAttributes,
        metadata={"description": "Extension (extensions=true): workflow state, channel, areas."},
    )
    notes = fields.List(
        fields.Nested(Note),
        metadata={
            "description": "Extension (extensions=true): the request's history, oldest first."
        },
    )
    attributes = fields.List(
        fields.Nested(SubmittedAttribute),
        metadata={"description": "Extension (extensions=true): the attribute values submitted."},
    )


class NearbyRequest(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    requested_datetime = fields.String(required=True, metadata=DATETIME)
    distance_m = fields.Float(required=True)


class PostExtendedAttributes(Schema):
    nearby_requests = fields.List(
        fields.Nested(NearbyRequest),
        required=True,
        metadata={"description": "Open requests of the same service nearby: possible duplicates."},
    )


class PostResponse(Schema):
    service_request_id = fields.String(metadata={"description": "realtime services only"})
    token = fields.String(metadata={"description": "batch services only"})
    service_notice = fields.String(allow_none=True, required=True)
    account_id = fields.String(allow_none=True, required=True)
    extended_attributes = fields.Nested(
        PostExtendedAttributes, metadata={"description": "Extension (extensions=true)."}
    )


class TokenResponse(Schema):
    service_request_id = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "null while the request waits to be accepted"},
    )
    token = fields.String(required=True)


class AddressSuggestion(Schema):
    address_id = fields.String(required=True)
    address = fields.String(required=True)
    zipcode = fields.String(allow_none=True, required=True)
    lat = fields.Float(required=True)
    long = fields.Float(required=True)
    jurisdiction_id = fields.String(required=True)


class RequestUpdate(Schema):
    update_id = fields.String(required=True)
    service_request_id = fields.String(required=True)
    status = fields.String(required=True)
    updated_datetime = fields.String(required=True, metadata=DATETIME)
    description = fields.String(allow_none=True, required=True)
    media_url = fields.String(allow_none=True, required=True)
    external_status_code = fields.String(allow_none=True, required=True)


class UpdateAnswer(Schema):
    update_id = fields.String(required=True)
