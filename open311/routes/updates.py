"""Request updates (FixMyStreet's servicerequestupdates extension)."""

from __future__ import annotations

from typing import Any

from flask import g

from open311.formats import Format, render
from open311.operations import updates as ops
from open311.routes.auth import require_api_key
from open311.routes.common import blueprint, directory, errors, session, setting
from schemas import resources
from schemas.params import PostUpdateForm, UpdatesQuery

blp = blueprint("updates", "Extension: request updates (FixMyStreet's servicerequestupdates).")


@blp.route("/servicerequestupdates.<fmt:fmt>", methods=["GET"])
@blp.arguments(UpdatesQuery, location="query", as_kwargs=True)
@blp.response(200, resources.RequestUpdate(many=True))
@errors(blp, 400, 404)
def request_updates(
    fmt: Format,
    jurisdiction_id: str | None = None,
    start_date=None,
    end_date=None,
    api_key: str | None = None,
):
    """GET request updates (extension)

    Status changes with their notes, oldest first; statuses in lower case (fixed,
    in_progress...). Without dates, the last
    `OPEN311_DEFAULT_WINDOW_DAYS` days (90 unless configured); at most max_requests.
    """
    payload = ops.get_updates(
        session(),
        jurisdiction_id,
        start_date,
        end_date,
        limit=setting("MAX_REQUESTS"),
        window_days=setting("DEFAULT_WINDOW_DAYS"),
        directory=directory(),
    )
    return render(payload, "service_request_updates", fmt)


@blp.route("/servicerequestupdates.<fmt:fmt>", methods=["POST"])
@require_api_key
@blp.arguments(PostUpdateForm, location="form")
@blp.response(200, resources.UpdateAnswer(many=True))
@errors(blp, 400, 403, 404)
def post_request_update(form: dict, fmt: Format):
    """POST a request update (extension; keys with the backoffice scope)

    `status` in upper case (OPEN, INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FOR_TRIAGE,
    PLANNED, REOPEN map onto open; CLOSED, FIXED, DUPLICATE, NOT_COUNCILS_RESPONSIBILITY,
    NO_FURTHER_ACTION, INTERNAL_REFERRAL, CANCELLED onto closed; UNCHANGED keeps the status).
    Idempotent on `update_id`.
    """
    fields: dict[str, Any] = {
        k: form.get(k)
        for k in (
            "service_request_id",
            "update_id",
            "status",
            "updated_datetime",
            "description",
            "jurisdiction_id",
            "media_url",
            "external_status_code",
        )
    }
    new = ops.NewUpdate(**fields)
    return render(
        ops.post_update(session(), new, g.api_key, directory=directory()),
        "service_request_updates",
        fmt,
    )
