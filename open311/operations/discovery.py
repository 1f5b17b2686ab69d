"""Service discovery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from open311.repository import jurisdictions as repo

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]


def get_discovery(
    session: Session,
    *,
    endpoint_url: str,
    endpoint_type: str,
    contact: str,
    key_service: str,
    max_requests: int,
    default_jurisdiction: str = "",
) -> dict:
    """The discovery document. ``contact``/``key_service`` fall back on the jurisdictions'
    own when the operator has not configured them. The endpoint names the jurisdiction a
    read without jurisdiction_id is about (extension; null: such a read must name one)."""
    jurisdictions = repo.all_jurisdictions(session)
    codes = [j.jurisdiction_id for j in jurisdictions]
    default = (
        codes[0]
        if len(codes) == 1
        else (default_jurisdiction if default_jurisdiction in codes else None)
    )
    changed = repo.changeset(session) or dt.datetime.now(dt.UTC)
    changeset = changed.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    if not contact:
        contact = " | ".join(
            f"{j.name}: {j.contact}" if len(jurisdictions) > 1 else j.contact
            for j in jurisdictions
            if j.contact
        )
    if not key_service:
        key_service = (
            " | ".join(dict.fromkeys(j.key_service for j in jurisdictions if j.key_service))
            or "Ask the operator of this server for an API key."
        )
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": endpoint_type,
                "formats": list(FORMATS),
                "max_requests": max_requests,
                "default_jurisdiction_id": default,
            }
        ],
    }
