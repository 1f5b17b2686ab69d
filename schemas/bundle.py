"""The jurisdiction bundle files (``jurisdictions/<id>/``), as marshmallow schemas.

See ``jurisdictions/README.md`` for the format city staff edit.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

DATATYPES = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_DATATYPES = {"singlevaluelist", "multivaluelist"}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
ATTRIBUTE_CODE = re.compile(r"^[A-Z0-9_]{1,100}\Z")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Value(Strict):
    key = fields.String(required=True, validate=validate.Length(1, 100))
    name = fields.String(required=True, validate=validate.Length(1, 200))


class AttributeDef(Strict):
    code = fields.String(required=True, validate=validate.Regexp(
        ATTRIBUTE_CODE, error="use upper-case letters, digits and _ only"))
    order = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    description = fields.String(required=True, validate=validate.Length(1, 2000))
    datatype = fields.String(required=True, validate=validate.OneOf(DATATYPES))
    required = fields.Boolean(required=True, truthy={True}, falsy={False})
    variable = fields.Boolean(load_default=True, truthy={True}, falsy={False})
    datatype_description = fields.String(load_default=None, allow_none=True)
    values = fields.List(fields.Nested(Value), load_default=list)

    @validates_schema
    def _values(self, data: dict[str, Any], **_: Any) -> None:
        values = data.get("values") or []
        if data.get("datatype") in LIST_DATATYPES:
            if not values:
                raise ValidationError(f"a {data['datatype']} needs values", "values")
            keys = [v["key"] for v in values]
            if len(set(keys)) != len(keys):
                raise ValidationError("value keys must be unique", "values")
        elif values:
            raise ValidationError(f"a {data.get('datatype')} attribute takes no values",
                                  "values")
        if data.get("variable") is False and data.get("required"):
            raise ValidationError("an informational attribute (variable: false) cannot be "
                                  "required", "required")


class ServiceDef(Strict):
    service_code = fields.String(required=True, validate=validate.Regexp(
        CODE, error="use letters, digits, '.', '_' and '-' (at most 100)"))
    service_name = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(required=True, validate=validate.Length(1, 4000))
    type = fields.String(required=True,
                         validate=validate.OneOf(["realtime", "batch", "blackbox"]))
    keywords = fields.List(fields.String(validate=[
        validate.Length(1, 100),
        validate.Regexp(r"^[^,]*$", error="a keyword must not contain a comma")]),
        required=True)
    group = fields.String(required=True, validate=validate.Length(1, 200))
    agency_responsible = fields.String(required=True, validate=validate.Length(1, 200))
    service_notice = fields.String(load_default=None, allow_none=True)
    attributes = fields.List(fields.Nested(AttributeDef), load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        attributes = [a for a in data.get("attributes") or [] if isinstance(a, dict)]
        codes = [a["code"] for a in attributes if "code" in a]
        orders = [a["order"] for a in attributes if "order" in a]
        if len(set(codes)) != len(codes):
            raise ValidationError("attribute codes must be unique within a service",
                                  "attributes")
        if len(set(orders)) != len(orders):
            raise ValidationError("attribute orders must be unique within a service",
                                  "attributes")


class ServicesFile(Strict):
    services = fields.List(fields.Nested(ServiceDef), required=True)

    @validates("services")
    def _unique(self, value: list[dict], **_: Any) -> None:
        codes = [s["service_code"] for s in value if isinstance(s, dict) and "service_code" in s]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValidationError(f"service_code must be unique: {', '.join(duplicates)}")


class JurisdictionFile(Strict):
    id = fields.String(required=True, validate=validate.Regexp(
        CODE, error="use letters, digits, '.', '_' and '-' (e.g. lacity.org)"))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    timezone = fields.String(required=True)
    contact = fields.String(required=True, validate=validate.Length(min=1))
    key_service = fields.String(required=True, validate=validate.Length(min=1))
    boundary = fields.String(required=True)
    services = fields.String(required=True)
    settings = fields.Dict(load_default=dict)

    @validates("timezone")
    def _timezone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValidationError(f"{value!r} is not an IANA time zone "
                                  "(e.g. America/Los_Angeles)") from None


def flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as ``path: message`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "file"
            out.extend(flatten(value, path))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten(m, prefix)]
    return [f"{prefix}: {messages}"]
