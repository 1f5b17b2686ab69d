"""The Idempotency-Key of a POST: what a retry must repeat to get the first answer back."""

from __future__ import annotations

import hashlib
import re

from flask import request

from open311.errors import BadRequest

KEY = re.compile(r"[\x21-\x7e]{1,255}")


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (400 when it is not 1 to 255 printable ASCII
    characters), or None."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key: 1 to 255 printable ASCII characters")
    return key


def fingerprint(uploads: list[bytes]) -> str:
    """What identifies a POST for its Idempotency-Key: its fields and files (not the key)."""
    # The path without its format: a retry may ask for the answer in the other format.
    digest = hashlib.sha256(request.path.rsplit(".", 1)[0].encode())
    for source, items in (
        ("q", request.args.items(multi=True)),
        ("f", request.form.items(multi=True)),
    ):
        for key, value in sorted(items):
            if key != "api_key":
                digest.update(f"\x00{source}{key}\x01{value}".encode())
    for data in uploads:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()
