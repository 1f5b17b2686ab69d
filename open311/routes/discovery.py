from __future__ import annotations

from open311.api import Open311Blueprint
from open311.formats import Format, render
from open311.links import base_url
from open311.operations.discovery import get_discovery
from open311.routes.common import directory, session, setting
from schemas import resources

blp = Open311Blueprint(
    "discovery",
    __name__,
    url_prefix="/open311",
    description="Service discovery: where the endpoint is and what it speaks.",
)


def _discovery(fmt: Format):
    payload = get_discovery(
        session(),
        endpoint_url=base_url(),
        endpoint_type=setting("ENDPOINT_TYPE"),
        contact=setting("CONTACT"),
        key_service=setting("KEY_SERVICE"),
        max_requests=setting("MAX_REQUESTS"),
        default_jurisdiction=directory().default_jurisdiction,
    )
    return render(payload, "discovery", fmt)


@blp.route("/v2/discovery.<fmt:fmt>")
@blp.response(200, resources.Discovery)
def discovery(fmt: Format):
    """Service discovery"""
    return _discovery(fmt)


@blp.route("/discovery.<fmt:fmt>")
@blp.response(200, resources.Discovery)
def root_discovery(fmt: Format):
    """Service discovery (the same document, one level up)"""
    return _discovery(fmt)


@blp.route("/health.<fmt:fmt>")
@blp.response(
    200,
    description="The server is up (liveness for load balancers; it does not touch the database).",
)
def health(fmt: Format):
    """Liveness (extension)"""
    return render({"status": "ok"}, "health", fmt)
