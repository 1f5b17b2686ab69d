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
    post_load,
    validate,
    validates,
    validates_schema,
)

from schemas.vocabulary import DATATYPES, LIST_DATATYPES, LOCATION_PRIVACY, SERVICE_TYPES

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
ATTRIBUTE_CODE = re.compile(r"^[A-Z0-9_]{1,100}\Z")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Value(Strict):
    key = fields.String(required=True, validate=validate.Length(1, 100))
    name = fields.String(required=True, validate=validate.Length(1, 200))


class AttributeDef(Strict):
    code = fields.String(
        required=True,
        validate=validate.Regexp(ATTRIBUTE_CODE, error="use upper-case letters, digits and _ only"),
    )
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
            raise ValidationError(f"a {data.get('datatype')} attribute takes no values", "values")
        if data.get("variable") is False and data.get("required"):
            raise ValidationError(
                "an informational attribute (variable: false) cannot be required", "required"
            )


class Coverage(Strict):
    layer = fields.String(required=True, validate=validate.Length(1, 50))
    ids = fields.List(
        fields.String(validate=validate.Length(1, 100)),
        load_default=None,
        validate=validate.Length(min=1),
    )


class Target(Strict):
    """The time to close a service aims at: hours, or business days (Monday to Friday in the
    jurisdiction's time zone; holidays are not known)."""

    hours = fields.Integer(strict=True, validate=validate.Range(1, 100_000))
    business_days = fields.Integer(strict=True, validate=validate.Range(1, 10_000))

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("give one of hours or business_days")


class ServiceDef(Strict):
    service_code = fields.String(
        required=True,
        validate=validate.Regexp(CODE, error="use letters, digits, '.', '_' and '-' (at most 100)"),
    )
    service_name = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(required=True, validate=validate.Length(1, 4000))
    type = fields.String(required=True, validate=validate.OneOf(SERVICE_TYPES))
    keywords = fields.List(
        fields.String(
            validate=[
                validate.Length(1, 100),
                validate.Regexp(r"^[^,]*$", error="a keyword must not contain a comma"),
            ]
        ),
        required=True,
    )
    group = fields.String(required=True, validate=validate.Length(1, 200))
    agency_responsible = fields.String(required=True, validate=validate.Length(1, 200))
    service_notice = fields.String(load_default=None, allow_none=True)
    attributes = fields.List(fields.Nested(AttributeDef), load_default=list)
    coverage = fields.Nested(Coverage, load_default=None, allow_none=True)
    location_privacy = fields.String(
        load_default=LOCATION_PRIVACY[0], validate=validate.OneOf(LOCATION_PRIVACY)
    )
    grid_metres = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(10, 100_000)
    )
    target = fields.Nested(Target, load_default=None, allow_none=True)

    @validates_schema
    def _grid(self, data: dict[str, Any], **_: Any) -> None:
        grid = data.get("location_privacy") == "grid"
        if grid and data.get("grid_metres") is None:
            raise ValidationError("location_privacy grid needs grid_metres", "grid_metres")
        if not grid and data.get("grid_metres") is not None:
            raise ValidationError("grid_metres is only for location_privacy grid", "grid_metres")

    @post_load
    def _target(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        target = data.pop("target", None) or {}
        data["target_hours"] = target.get("hours")
        data["target_business_days"] = target.get("business_days")
        return data

    @validates_schema(skip_on_field_errors=False)
    def _unique(self, data: dict[str, Any], **_: Any) -> None:
        attributes = [a for a in data.get("attributes") or [] if isinstance(a, dict)]
        codes = [a["code"] for a in attributes if "code" in a]
        orders = [a["order"] for a in attributes if "order" in a]
        if len(set(codes)) != len(codes):
            raise ValidationError("attribute codes must be unique within a service", "attributes")
        if len(set(orders)) != len(orders):
            raise ValidationError("attribute orders must be unique within a service", "attributes")


class ServicesFile(Strict):
    services = fields.List(fields.Nested(ServiceDef), required=True)

    @validates("services")
    def _unique(self, value: list[dict], **_: Any) -> None:
        codes = [s["service_code"] for s in value if isinstance(s, dict) and "service_code" in s]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValidationError(f"service_code must be unique: {', '.join(duplicates)}")


LAYER = re.compile(r"^[a-z][a-z0-9_]{0,49}\Z")


class FileRef(fields.Field):
    """A data file: a path relative to the bundle, or ``{file: path, layer: name}``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict:
        if isinstance(value, str) and value.strip():
            return {"file": value.strip(), "layer": None}
        if (
            isinstance(value, dict)
            and set(value) <= {"file", "layer"}
            and isinstance(value.get("file"), str)
            and value["file"].strip()
            and isinstance(value.get("layer"), str | None)
        ):
            return {"file": value["file"].strip(), "layer": value.get("layer")}
        raise ValidationError("a file path, or a mapping {file: path, layer: name}")


class AreaLayerDef(Strict):
    layer = fields.String(
        required=True,
        validate=validate.Regexp(
            LAYER, error="use lower-case letters, digits and _ (starting with a letter)"
        ),
    )
    title = fields.String(required=True, validate=validate.Length(1, 200))
    file = fields.String(required=True, validate=validate.Length(min=1))
    name_field = fields.String(required=True, validate=validate.Length(min=1))
    id_field = fields.String(load_default=None, allow_none=True)
    layer_in_file = fields.String(load_default=None, allow_none=True)
    where = fields.Dict(keys=fields.String(), load_default=None, allow_none=True)


class AddressesDef(Strict):
    file = fields.String(required=True, validate=validate.Length(min=1))
    address_field = fields.String(required=True)
    lat_field = fields.String(load_default=None, allow_none=True)
    long_field = fields.String(load_default=None, allow_none=True)
    zipcode_field = fields.String(load_default=None, allow_none=True)
    id_field = fields.String(load_default=None, allow_none=True)


class SettingsDef(Strict):
    accept_unverified_addresses = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    reverse_geocode_distance_m = fields.Float(load_default=50.0, validate=validate.Range(0, 1000))
    address_match_threshold = fields.Float(load_default=0.5, validate=validate.Range(0.1, 1.0))
    # The EPSG code of the city's own projected CRS (its State Plane zone...): OGC API
    # clients may ask for positions and boxes in it.
    local_crs = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1024, 32767)
    )


class JurisdictionFile(Strict):
    id = fields.String(
        required=True,
        validate=validate.Regexp(
            CODE, error="use letters, digits, '.', '_' and '-' (e.g. lacity.org)"
        ),
    )
    name = fields.String(required=True, validate=validate.Length(1, 200))
    timezone = fields.String(required=True)
    contact = fields.String(required=True, validate=validate.Length(min=1))
    key_service = fields.String(required=True, validate=validate.Length(min=1))
    boundary = FileRef(required=True)
    services = fields.String(required=True)
    languages = fields.List(
        fields.String(
            validate=validate.Regexp(
                r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*\Z", error="a BCP 47 language tag, e.g. en, es"
            )
        ),
        load_default=lambda: ["en"],
        validate=validate.Length(min=1),
    )
    parent = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(CODE, error="a jurisdiction id"),
    )
    areas = fields.List(fields.Nested(AreaLayerDef), load_default=list)
    addresses = fields.Nested(AddressesDef, load_default=None, allow_none=True)
    settings = fields.Nested(SettingsDef, load_default=lambda: SettingsDef().load({}))

    @validates_schema(skip_on_field_errors=False)
    def _layers(self, data: dict[str, Any], **_: Any) -> None:
        layers = [
            a["layer"] for a in data.get("areas") or [] if isinstance(a, dict) and "layer" in a
        ]
        duplicates = sorted({name for name in layers if layers.count(name) > 1})
        if duplicates:
            raise ValidationError(f"area layers must be unique: {', '.join(duplicates)}", "areas")
        if data.get("parent") and data.get("parent") == data.get("id"):
            raise ValidationError("a jurisdiction cannot be its own parent", "parent")

    @validates("timezone")
    def _timezone(self, value: str, **_: Any) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValidationError(
                f"{value!r} is not an IANA time zone (e.g. America/Los_Angeles)"
            ) from None


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
