"""Marshmallow fields for GeoReport parameters."""

from __future__ import annotations

import re
from typing import Any, cast

from marshmallow import ValidationError, fields, validate

from schemas.datetimes import parse_iso8601

# C0 controls other than tab/newline/carriage return, DEL, C1 controls, and the two
# non-characters XML 1.0 cannot carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_LINE_BREAK = re.compile(r"[\r\n\t]")
# The same rules as ECMA-262 patterns (the OpenAPI document's): no control characters, and
# in a single line no tab or line break either.
MULTILINE_PATTERN = (
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ufffe\\uffff]*$"
)
LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\ufffe\\uffff]*$"


class Text(fields.String):
    """A string with a length limit and no control characters: a single line, trimmed, or
    (``multiline``) line breaks allowed and kept exactly as sent, spaces included. An empty
    value is treated as absent by the parser."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline
        metadata = cast(dict[str, Any], self.metadata)  # a dict, typed as a Mapping
        metadata.setdefault("maxLength", max_length)
        # What the OpenAPI document says of the value (for clients and schema-driven tools).
        metadata.setdefault("pattern", MULTILINE_PATTERN if multiline else LINE_PATTERN)
        if self.required and not any(isinstance(v, validate.Length) for v in self.validators):
            metadata.setdefault("minLength", 1)  # empty is absent

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.multiline:
            text = text.strip()
        no_control_characters(text)
        if not self.multiline and _LINE_BREAK.search(text):
            raise ValidationError("must be a single line")
        if len(text) > self.max_length:
            raise ValidationError(
                f"must be at most {self.max_length} characters ({len(text)} given)"
            )
        return text


class CommaList(fields.List):
    """A list parameter given as a comma list, repeated keys, or both (``a,b&x=c``)."""

    is_multiple = True

    def __init__(self, inner: fields.Field, *, max_items: int = 1000, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        raw = value if isinstance(value, list | tuple) else [value]
        parts: list[str] = []
        for item in raw:
            if not isinstance(item, str):
                raise ValidationError("must be a comma-separated list")
            parts.extend(p.strip() for p in item.split(","))
        parts = [p for p in parts if p]
        if len(parts) > self.max_items:
            raise ValidationError(f"at most {self.max_items} values are accepted")
        result = super()._deserialize(parts, attr, data, **kwargs)
        # keep the first occurrence of each value, in order
        return list(dict.fromkeys(result))


class DateTimeParam(fields.Field):
    """An ISO 8601 datetime (``Z`` or an offset, fractions allowed) or a bare date.

    Returns an aware ``datetime``, a naive one (no offset given: the caller reads it in
    the jurisdiction's time zone) or a ``date`` (a bare date).
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any):
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return parse_iso8601(value)
        except ValueError:
            raise ValidationError(
                f"{str(value)[:40]!r} is not an ISO 8601 datetime (e.g. "
                "2024-01-31T17:00:00-08:00, 2024-01-31T17:00:00Z or 2024-01-31)"
            ) from None

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any):
        return None if value is None else value.isoformat()


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def printable(name: str, limit: int = 120) -> str:
    """A name a client sent, as an error message may quote it: ASCII, at most ``limit``."""
    return _UNPRINTABLE.sub("?", name[:limit])


def no_control_characters(value: str) -> None:
    """A validator: refuse control characters (XML 1.0 cannot carry most of them)."""
    if _CONTROL.search(value):
        raise ValidationError("must not contain control characters")


class Box(fields.Field):
    """OGC API's ``bbox``: ``minX,minY,maxX,maxY`` in its CRS (``bbox-crs``), finite numbers
    with min < max; the CRS's own ranges are checked where it is known."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any):
        parts = str(value).split(",") if isinstance(value, str) and len(value) <= 200 else []
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(n == n and abs(n) != float("inf") for n in numbers):
            raise ValidationError("must be minX,minY,maxX,maxY (four numbers)")
        if not (numbers[0] < numbers[2] and numbers[1] < numbers[3]):
            raise ValidationError("each minimum must be less than its maximum")
        return tuple(numbers)


class BBox(Box):
    """``minLong,minLat,maxLong,maxLat`` (GeoJSON/OGC order), WGS84 degrees."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any):
        try:
            min_long, min_lat, max_long, max_lat = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError("must be minLong,minLat,maxLong,maxLat (four numbers)") from None
        if not (-180 <= min_long < max_long <= 180):
            raise ValidationError("longitudes must be within -180..180 with minLong < maxLong")
        if not (-90 <= min_lat < max_lat <= 90):
            raise ValidationError("latitudes must be within -90..90 with minLat < maxLat")
        return (min_long, min_lat, max_long, max_lat)
