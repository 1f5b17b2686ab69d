"""What every resource module shares: the blueprint factory and error documentation."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from open311.api import Open311Blueprint
from open311.extensions import db
from open311.links import PREFIX
from open311.operations.listing import Limits
from schemas import resources

ERROR_TEXT = {
    400: "Bad request: a parameter is missing or invalid (the description names it).",
    403: "Missing, unknown or revoked api_key.",
    404: "Unknown jurisdiction, service, request or token.",
    503: "Busy (too many exports at once) or the database unreachable: retry after the "
    "Retry-After header's seconds.",
}


def blueprint(name: str, description: str) -> Open311Blueprint:
    return Open311Blueprint(name, __name__, url_prefix=PREFIX, description=description)


def errors(blp: Open311Blueprint, *codes: int) -> Callable:
    """Document the spec error bodies a view may answer."""

    def decorate(func: Callable) -> Callable:
        for code in reversed(codes):
            func = blp.alt_response(
                code, schema=resources.SpecError(many=True), description=ERROR_TEXT[code]
            )(func)
        return func

    return decorate


def session():
    return db.session


def directory():
    """The worker's cache of jurisdictions and service codes (operations.directory)."""
    return current_app.extensions["open311_directory"]


def kept_answers():
    """The worker's kept GET request by id answers (operations.kept_answers)."""
    return current_app.extensions["open311_kept_answers"]


def setting(name: str):
    return current_app.config[name]


def limits() -> Limits:
    """The app's settings for GET requests and the bulk export."""
    return Limits(
        max_requests=setting("MAX_REQUESTS"),
        window_days=setting("DEFAULT_WINDOW_DAYS"),
        sync_lag_seconds=setting("SYNC_LAG_SECONDS"),
        duplicate_radius_m=setting("DUPLICATE_RADIUS_M"),
        duplicate_window_days=setting("DUPLICATE_WINDOW_DAYS"),
        statistics_exact_up_to=setting("STATISTICS_EXACT_UP_TO"),
    )
