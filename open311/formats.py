"""One payload, two renderings: JSON (the Spark convention) and XML.

A payload is plain data: dicts (key order kept), lists, str, int, float, bool and None,
and msgspec structs, rendered as dicts of their fields in order (the GET requests items,
``payloads.RequestItem``). JSON is ``json.dumps`` of it. XML follows the Spark mapping the
spec's JSON was derived from: the root element wraps the payload; a list becomes repeated
children named by the singular of its container (``services/service``,
``service_requests/request``, ``errors/error``, ``attributes/attribute``, ``values/value``);
booleans are ``true``/``false``; ``None`` is an empty element.
"""

from __future__ import annotations

import enum
import re
from typing import Any
from xml.sax.saxutils import escape

import msgspec
import orjson
from flask import Response

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

# Container element -> element of each item. Others strip a trailing "s".
SINGULAR = {
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "addresses": "address",
    "areas": "area",
    "notes": "note",
}


class Format(enum.StrEnum):
    JSON = "json"
    XML = "xml"

    @property
    def content_type(self) -> str:
        if self is Format.JSON:
            return "application/json; charset=utf-8"
        return "text/xml; charset=utf-8"

    @classmethod
    def from_path(cls, path: str) -> Format:
        """The format a URL asks for: XML for ``*.xml``, JSON for anything else."""
        return cls.XML if path.lower().endswith(".xml") else cls.JSON


def singular(container: str) -> str:
    if container in SINGULAR:
        return SINGULAR[container]
    return container[:-1] if container.endswith("s") else container


# Characters XML 1.0 cannot carry: input refuses them; this keeps stored data from older
# sources from ever breaking a document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    text = value if value.__class__ is str else str(value)
    if not text.isprintable():  # rare: line breaks, tabs or characters XML cannot carry
        text = _NOT_XML.sub("\ufffd", text)
    if "&" in text or "<" in text or ">" in text:
        text = escape(text)
    if "\r" in text:  # a raw CR would reach an XML parser's reader as LF (XML 1.0 2.11)
        text = text.replace("\r", "&#13;")
    return text


def _fields(value: msgspec.Struct):
    return zip(value.__struct_fields__, msgspec.structs.astuple(value), strict=True)


def _xml(name: str, value: Any, out: list[str]) -> None:
    # The hot path: a list of flat dicts or structs (1000 requests) renders without a call
    # per field: strings that need no escaping (nearly all), None and numbers are inline.
    is_struct = isinstance(value, msgspec.Struct)
    if is_struct or isinstance(value, dict):
        out.append(f"<{name}>")
        for key, item in _fields(value) if is_struct else value.items():
            cls = item.__class__
            if cls is str:
                if not item:
                    out.append(f"<{key}/>")
                elif item.isprintable() and "&" not in item and "<" not in item and ">" not in item:
                    out.append(f"<{key}>{item}</{key}>")
                else:
                    out.append(f"<{key}>{_scalar(item)}</{key}>")
            elif item is None:
                out.append(f"<{key}/>")
            elif cls is float or cls is int:
                out.append(f"<{key}>{item!r}</{key}>")
            elif isinstance(item, dict | list | msgspec.Struct):
                _xml(key, item, out)
            else:
                out.append(f"<{key}>{_scalar(item)}</{key}>")
        out.append(f"</{name}>")
    elif isinstance(value, list):
        if not value:
            out.append(f"<{name}/>")
            return
        out.append(f"<{name}>")
        child = singular(name)
        for item in value:
            _xml(child, item, out)
        out.append(f"</{name}>")
    else:
        text = _scalar(value)
        out.append(f"<{name}>{text}</{name}>" if text else f"<{name}/>")


def to_xml(payload: Any, root: str) -> str:
    out: list[str] = [XML_DECLARATION]
    _xml(root, payload, out)
    return "".join(out)


_STRUCTS = msgspec.json.Encoder()


def json_bytes(payload: Any) -> bytes:
    """The JSON of a payload: a list of structs by msgspec (it writes a struct without a
    call per field and knows its field names already encoded), anything else by orjson
    (faster than msgspec for dicts). Both write UTF-8, no spaces, floats in their
    shortest exact form."""
    if payload.__class__ is list and payload and isinstance(payload[0], msgspec.Struct):
        return _STRUCTS.encode(payload)
    return orjson.dumps(payload)


def to_json(payload: Any) -> str:
    return json_bytes(payload).decode("utf-8")


def render(
    payload: Any, root: str, fmt: Format, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = to_xml(payload, root).encode("utf-8") if fmt is Format.XML else json_bytes(payload)
    return Response(body, status=status, headers=headers, content_type=fmt.content_type)
