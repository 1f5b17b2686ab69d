"""Configuration: defaults -> instance file -> OPEN311_* environment -> a mapping (tests).

Every setting is documented in README.md ("Configuration"). Environment variables carry the
``OPEN311_`` prefix: ``OPEN311_MAX_REQUESTS=500`` sets ``MAX_REQUESTS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Where the data lives. Empty: the project's private PostGIS cluster (var/pgdata).
    "DATABASE_URL": "",
    # The most requests one GET requests answer holds (advertised in discovery).
    "MAX_REQUESTS": 1000,
    # The window GET requests covers when no dates are given, in days.
    "DEFAULT_WINDOW_DAYS": 90,
    # The largest request body accepted, in bytes (larger: 413); photos included.
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    # The largest form (every field but uploaded files), in bytes (larger: 413).
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    # The jurisdiction_id reads without one use on a server of several jurisdictions (named
    # in discovery); empty: such a read is a 400. POST routes by location either way.
    "DEFAULT_JURISDICTION": "",
    # Discovery: who runs this endpoint, how to get a key, what kind of endpoint it is.
    "CONTACT": "",
    # Empty: the jurisdictions' own texts (jurisdiction.yaml).
    "KEY_SERVICE": "",
    "ENDPOINT_TYPE": "production",
    # The public base URL of the GeoReport endpoint as clients reach it (behind a proxy).
    # Empty: derived from each request's Host header, which must then be one of
    # ALLOWED_HOSTS (comma separated; a leading dot allows subdomains; "*" any host, unsafe:
    # a forged Host would reach the links the server answers).
    "BASE_URL": "",
    "ALLOWED_HOSTS": "localhost,127.0.0.1,[::1]",
    # Logging level of the application loggers.
    "LOG_LEVEL": "INFO",
    # Incremental sync: changes younger than this wait for the next poll (seconds).
    "SYNC_LAG_SECONDS": 1,
    # Possible duplicates ("already reported"): open requests of the same service within
    # this distance (metres) and this many days.
    "DUPLICATE_RADIUS_M": 50,
    "DUPLICATE_WINDOW_DAYS": 30,
    # Browser apps: origins allowed to read the GET endpoints (CORS), comma separated; "*"
    # for any; empty for none.
    "CORS_ORIGINS": "*",
    # Photos uploaded with POST requests (multipart `media`).
    "MEDIA_DIR": "",  # empty: var/media in the project folder
    "MEDIA_MAX_BYTES": 10 * 1024 * 1024,  # per file (larger: 413)
    # Per image (larger: 400, refused before decoding): a 24-megapixel photo (6000x4000).
    # Decoding costs time in proportion (a 6320x6320 PNG of 116 KB: 1.2 s).
    "MEDIA_MAX_PIXELS": 24_000_000,
    "MEDIA_MAX_FILES": 5,
    # How long a worker keeps the jurisdictions and service codes it resolves GET calls with
    # (seconds; 0: read them per call). New ones are seen at once; renamed or removed ones
    # within this time.
    "CACHE_SECONDS": 5,
    # GET request by id answers a worker keeps while nothing they read has changed (entries;
    # 0: none). An update retires its request's; a change to a service or a jurisdiction,
    # all of them (open311/changes.py).
    "KEPT_ANSWERS": 10_000,
    # Database pool (per worker process).
    "DB_POOL_SIZE": 5,
    "DB_MAX_OVERFLOW": 10,
    # Seconds a request waits for a pooled connection when all are in use (then a 503).
    "DB_POOL_TIMEOUT": 10,
    # Bulk exports streaming at once per worker process (each holds a database connection
    # while its client reads; more: a 503 with Retry-After).
    "EXPORTS_AT_ONCE": 2,
    # Statistics of more requests than this, where the kept tally answers (services,
    # status, dates): percentiles estimated from its histograms (within 2 %), every count
    # still exact; up to it, percentiles exact from the requests themselves.
    "STATISTICS_EXACT_UP_TO": 20_000,
}

INT_SETTINGS = {
    "MAX_REQUESTS",
    "DEFAULT_WINDOW_DAYS",
    "MAX_CONTENT_LENGTH",
    "MAX_FORM_MEMORY_SIZE",
    "DB_POOL_SIZE",
    "DB_POOL_TIMEOUT",
    "DB_MAX_OVERFLOW",
    "SYNC_LAG_SECONDS",
    "DUPLICATE_RADIUS_M",
    "DUPLICATE_WINDOW_DAYS",
    "MEDIA_MAX_BYTES",
    "MEDIA_MAX_PIXELS",
    "MEDIA_MAX_FILES",
    "CACHE_SECONDS",
    "KEPT_ANSWERS",
    "EXPORTS_AT_ONCE",
    "STATISTICS_EXACT_UP_TO",
}
PREFIX = "OPEN311_"


def load_config(
    overrides: Mapping[str, Any] | None = None,
    instance_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the settings mapping; later sources win over earlier ones."""
    config = dict(DEFAULTS)
    environ = environ if environ is not None else os.environ
    instance_file = instance_file or environ.get(f"{PREFIX}CONFIG_FILE")
    if instance_file:
        namespace: dict[str, Any] = {}
        with open(instance_file, encoding="utf-8") as fh:
            exec(compile(fh.read(), instance_file, "exec"), namespace)  # noqa: S102 - operator's file
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    for key, value in environ.items():
        if key.startswith(PREFIX) and key != f"{PREFIX}CONFIG_FILE":
            config[key[len(PREFIX) :]] = value
    if overrides:
        config.update(overrides)
    for key in INT_SETTINGS:
        try:
            config[key] = int(config[key])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{PREFIX}{key} must be an integer, not {config[key]!r}") from exc
    if config["MAX_REQUESTS"] < 1:
        raise ValueError(f"{PREFIX}MAX_REQUESTS must be at least 1")
    if not str(config["ALLOWED_HOSTS"]).strip(", ") and not config["BASE_URL"]:
        raise ValueError(
            f"{PREFIX}ALLOWED_HOSTS is empty: name the hosts clients reach this "
            f"server by, or set {PREFIX}BASE_URL"
        )
    if config["ENDPOINT_TYPE"] not in ("production", "test"):
        raise ValueError(f"{PREFIX}ENDPOINT_TYPE must be 'production' or 'test'")
    return config


def database_url(config: Mapping[str, Any]) -> str:
    """The configured database, or the private cluster's. Making the app starts nothing:
    ``open311 db upgrade`` (``make run``) starts the private cluster and makes its database."""
    if config.get("DATABASE_URL"):
        return str(config["DATABASE_URL"])
    from open311.pgcluster import Cluster

    return Cluster().url("open311")
