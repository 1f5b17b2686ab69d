"""Service discovery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from open311.repository import jurisdictions as repo

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]


def get_discovery(session: Session, *, endpoint_url: str, endpoint_type: str,
                  contact: str, key_service: str, max_requests: int) -> dict:
    """The discovery document. ``contact``/``key_service`` fall back on the jurisdictions'
    own when the operator has not configured them."""
    jurisdictions = repo.all_jurisdictions(session)
    changed = repo.changeset(session) or dt.datetime.now(dt.UTC)
    changeset = changed.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    if not contact:
        contact = " | ".join(f"{j.name}: {j.contact}" if len(jurisdictions) > 1 else j.contact
                             for j in jurisdictions if j.contact)
    if not key_service:
        key_service = " | ".join(dict.fromkeys(j.key_service for j in jurisdictions
                                               if j.key_service)) \
            or "Ask the operator of this server for an API key."
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": endpoint_url,
            "changeset": changeset,
            "type": endpoint_type,
            "formats": list(FORMATS),
            "max_requests": max_requests,
        }],
    }
