"""The closed vocabularies of the wire contract, each written once: the schemas validate
against them, the OpenAPI document lists them, the operations act on them."""

from __future__ import annotations

SERVICE_TYPES = ("realtime", "batch", "blackbox")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = frozenset({"singlevaluelist", "multivaluelist"})
STATUSES = ("open", "closed")
ENDPOINT_TYPES = ("production", "test")
# Where a service's requests are shown in public: at their point, at the centre of their
# cell of a grid of N metres, or nowhere (sensitive services).
LOCATION_PRIVACY = ("exact", "grid", "hidden")

# FixMyStreet's request-update statuses (POSTed in upper case) and the core status each maps
# onto; UNCHANGED keeps the request's status.
UPDATE_STATUSES: dict[str, str | None] = {
    "OPEN": "open",
    "INVESTIGATING": "open",
    "IN_PROGRESS": "open",
    "ACTION_SCHEDULED": "open",
    "FOR_TRIAGE": "open",
    "PLANNED": "open",
    "REOPEN": "open",
    "CLOSED": "closed",
    "FIXED": "closed",
    "DUPLICATE": "closed",
    "NOT_COUNCILS_RESPONSIBILITY": "closed",
    "NO_FURTHER_ACTION": "closed",
    "INTERNAL_REFERRAL": "closed",
    "CANCELLED": "closed",
    "UNCHANGED": None,
}
