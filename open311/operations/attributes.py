"""Checking a POST's attributes against the service definition."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from open311.errors import ValidationFailed
from open311.operations.directory import AttributeRef
from schemas.datetimes import parse_iso8601

STRING_MAX = 1000
TEXT_MAX = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _one(code: str, values: list[str]) -> str:
    if len(values) > 1:
        raise ValueError(f"attribute[{code}] takes one value, {len(values)} were sent")
    return values[0]


def _check(attribute: AttributeRef, values: list[str], tz: ZoneInfo):
    code = attribute.code
    if any(_CONTROL.search(v) for v in values):
        raise ValueError(f"attribute[{code}] must not contain control characters")
    kind = attribute.datatype
    if kind == "multivaluelist":
        keys = {v["key"] for v in attribute.values}
        unknown = [v for v in values if v not in keys]
        if unknown:
            raise ValueError(
                f"attribute[{code}]: {', '.join(map(repr, unknown))} "
                f"{'is' if len(unknown) == 1 else 'are'} not among its values "
                f"({', '.join(sorted(keys))})"
            )
        return list(dict.fromkeys(values))
    value = _one(code, values)
    if kind == "singlevaluelist":
        keys = {v["key"] for v in attribute.values}
        if value not in keys:
            raise ValueError(
                f"attribute[{code}]: {value!r} is not among its values ({', '.join(sorted(keys))})"
            )
        return value
    if kind == "number":
        if not _NUMBER.fullmatch(value.strip()):
            raise ValueError(f"attribute[{code}] must be a number, not {value[:50]!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"attribute[{code}] must be a finite number")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "datetime":
        try:
            parsed = parse_iso8601(value)
        except ValueError:
            raise ValueError(
                f"attribute[{code}] must be an ISO 8601 datetime between the "
                "years 1900 and 2200, e.g. 2024-01-31T17:00:00-08:00, not "
                f"{value[:50]!r}"
            ) from None
        if not isinstance(parsed, dt.datetime):  # a bare date: its local midnight
            parsed = dt.datetime.combine(parsed, dt.time())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(tz).replace(microsecond=0).isoformat()
    if kind == "string":
        if "\n" in value or "\r" in value:
            raise ValueError(f"attribute[{code}] is a string: line breaks are not allowed")
        if len(value) > STRING_MAX:
            raise ValueError(f"attribute[{code}] must be at most {STRING_MAX} characters")
        return value
    # text
    if len(value) > TEXT_MAX:
        raise ValueError(f"attribute[{code}] must be at most {TEXT_MAX} characters")
    return value


def check_attributes(
    definition: Sequence[AttributeRef], submitted: dict[str, list[str]], tz: ZoneInfo
) -> dict:
    """The submitted values, checked and normalised, as ``{code: value or [values]}``.

    Raises ValidationFailed naming every attribute that is unknown, informational
    (``variable: false``), missing while required, or not of its datatype.
    """
    by_code = {a.code: a for a in definition}
    problems: list[str] = []
    clean: dict = {}
    for code, values in submitted.items():
        attribute = by_code.get(code)
        if attribute is None:
            problems.append(f"attribute[{code}] is not an attribute of this service")
            continue
        if not attribute.variable:
            problems.append(f"attribute[{code}] is informational and takes no value")
            continue
        try:
            clean[code] = _check(attribute, values, tz)
        except ValueError as exc:
            problems.append(str(exc))
    for attribute in definition:
        if attribute.variable and attribute.required and attribute.code not in submitted:
            problems.append(f"attribute[{attribute.code}] is required: {attribute.description}")
    if problems:
        raise ValidationFailed(problems)
    return clean
