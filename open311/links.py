"""The server's public URLs: discovery's endpoint, Link headers, photos' media_url.

They are built from OPEN311_BASE_URL when it is set, and otherwise from the request's Host
header, which a client chooses: the app then serves only the hosts of
OPEN311_ALLOWED_HOSTS (Flask's TRUSTED_HOSTS; any other Host is a 400), so a forged Host
never reaches a link. Nothing stored is built from a request: an uploaded photo is stored
as a path under the endpoint (``media/<name>``) and made absolute as it is served.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app, request

from open311.operations.payloads import MEDIA_PATH

PREFIX = "/open311/v2"


def base_url() -> str:
    """The GeoReport endpoint's public URL (ending in /open311/v2, no slash)."""
    configured = current_app.config["BASE_URL"]
    if configured:
        return configured.rstrip("/")
    return request.host_url.rstrip("/") + PREFIX


def url_for_path(path: str) -> str:
    """The public URL of this request's resource at ``path`` (a path of this server)."""
    if not path.startswith(PREFIX):
        raise ValueError(path)
    return base_url() + path[len(PREFIX) :]


ROOT = "/open311"


def root_url(path: str) -> str:
    """The public URL of a path of this server under /open311 (the OGC API, the OpenAPI
    document): beside the GeoReport endpoint."""
    if not path.startswith(ROOT):
        raise ValueError(path)
    return base_url().removesuffix(PREFIX[len(ROOT) :]) + path[len(ROOT) :]


def absolute_media(items: Iterable[Any]) -> None:
    """Make the media_url of request items (structs or dicts) absolute, in place."""
    base = None
    for item in items:
        stored = item["media_url"]
        if stored is not None and stored.startswith(MEDIA_PATH):
            base = base or base_url()
            if isinstance(item, dict):
                item["media_url"] = f"{base}/{stored}"
            else:
                item.media_url = f"{base}/{stored}"


def trusted_hosts(config: dict) -> list[str] | None:
    """Flask's TRUSTED_HOSTS for these settings: none needed when the public URL is
    configured (the Host header is then never used)."""
    hosts = [h.strip() for h in str(config["ALLOWED_HOSTS"]).split(",") if h.strip()]
    return None if config["BASE_URL"] or "*" in hosts else hosts
