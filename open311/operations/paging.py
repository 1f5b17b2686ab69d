"""Paging of GET requests: the keyset cursor a page's Link header carries."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from open311.errors import BadRequest
from open311.models.base import BIGINT_MAX


def encode_cursor(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict:
    """A cursor's fields, checked as strictly as the values it feeds into SQL: aware
    datetimes, and a request id that a bigint can hold."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(cursor)
        for key in ("s", "v"):
            if key in data:
                data[key] = dt.datetime.fromisoformat(data[key])
                if data[key].tzinfo is None:
                    raise ValueError(cursor)
        if "v" in data or "i" in data:
            pk = data.get("i")
            if (
                type(pk) is not int
                or not 0 < pk <= BIGINT_MAX
                or "v" not in data
                or data.get("m") not in ("n", "u")
            ):
                raise ValueError(cursor)
        return data
    except (ValueError, TypeError, binascii.Error):
        raise BadRequest(
            "cursor: not a cursor this server made; follow the Link header as given"
        ) from None
