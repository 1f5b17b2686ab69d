from __future__ import annotations

from open311.formats import Format, render
from open311.operations.lookup import get_request_id_from_token
from open311.routes.common import blueprint, directory, errors, session
from schemas import resources
from schemas.params import JurisdictionQuery

blp = blueprint("tokens", "Tokens of batch requests.")


@blp.route("/tokens/<token>.<fmt:fmt>")
@blp.arguments(JurisdictionQuery, location="query", as_kwargs=True)
@blp.response(200, resources.TokenResponse(many=True))
@errors(blp, 400, 404)
def token(fmt: Format, token: str, jurisdiction_id: str | None = None):
    """GET service_request_id from a token

    `service_request_id` is null while the request waits to be accepted; poll again later.
    """
    return render(
        get_request_id_from_token(session(), jurisdiction_id, token, directory()),
        "service_requests",
        fmt,
    )
