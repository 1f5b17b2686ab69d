"""Open311 GeoReport v2 server: the Flask application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # open311.serving is imported by gunicorn's master: Flask only in workers
    from flask import Flask

API_TITLE = "Open311 GeoReport v2"
API_VERSION = "v2"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, routes, errors, CLI. Nothing happens at import.

    ``config`` overrides every other source; ``DATABASE_URL=None`` leaves the database
    unbound (the tests bind their own session factory).
    """
    from flask import Flask

    from open311 import compression
    from open311.api import FormatConverter, Open311Api
    from open311.cli import register_commands
    from open311.config import database_url, load_config
    from open311.extensions import db
    from open311.links import trusted_hosts
    from open311.routes import register

    settings = load_config(config)
    app = Flask(__name__)
    app.config.update(settings)
    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/open311",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "A standards-conformant Open311 GeoReport v2 server on PostGIS. "
                "Every resource answers in JSON (`.json`) and XML (`.xml`).",
                "license": {"name": "AGPL-3.0-or-later"},
            },
        },
        JSON_SORT_KEYS=False,
        TRUSTED_HOSTS=trusted_hosts(app.config),
    )
    logging.getLogger("open311").setLevel(app.config["LOG_LEVEL"])
    app.url_map.converters["fmt"] = FormatConverter

    url = (
        None
        if config and "DATABASE_URL" in config and config["DATABASE_URL"] is None
        else database_url(app.config)
    )
    # First registered, last to run: it compresses what every other hook has finished.
    compression.register(app)
    db.init_app(app, url)
    from open311.operations.directory import DirectoryCache

    app.extensions["open311_directory"] = DirectoryCache(
        app.config["CACHE_SECONDS"], default_jurisdiction=app.config["DEFAULT_JURISDICTION"]
    )
    from open311.db import changes
    from open311.operations.kept_answers import KeptAnswers

    app.extensions["open311_kept_answers"] = KeptAnswers(changes(app), app.config["KEPT_ANSWERS"])
    api = Open311Api(app)
    api.register_converter(FormatConverter, lambda _c: {"type": "string", "enum": ["json", "xml"]})
    app.extensions["open311_api"] = api
    register(api)
    _cors(app)
    _storage(app)
    register_commands(app)
    return app


def _cors(app: Flask) -> None:
    """Browser apps may read the GET endpoints from the configured origins. POST stays
    server-to-server (it carries an API key): its answers carry no CORS header."""
    from open311.cors import register

    origins = [o.strip() for o in str(app.config["CORS_ORIGINS"]).split(",") if o.strip()]
    if origins:
        register(app, origins)


def _storage(app: Flask) -> None:
    from pathlib import Path

    from open311.storage import LocalStorage

    directory = app.config["MEDIA_DIR"] or Path(__file__).resolve().parent.parent / "var" / "media"
    app.extensions.setdefault("open311_storage", LocalStorage(Path(directory)))
