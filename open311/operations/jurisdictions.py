"""Which jurisdiction a call is about."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.models import Jurisdiction
from open311.operations.directory import DirectoryCache, unresolved
from open311.repository import jurisdictions as repo


def resolve_jurisdiction(session: Session, jurisdiction_id: str | None) -> Jurisdiction:
    """The named jurisdiction (404 when unknown), or the only one this server has.

    ``jurisdiction_id`` is optional while the server serves one jurisdiction; with several
    it is required (400).
    """
    jurisdiction = optional_jurisdiction(session, jurisdiction_id)
    if jurisdiction is None:
        raise unresolved(None, True)
    return jurisdiction


def optional_jurisdiction(session: Session, jurisdiction_id: str | None,
                          directory: DirectoryCache | None = None) -> Jurisdiction | None:
    """As resolve_jurisdiction, but None where several jurisdictions could be meant (the
    caller then decides by location). With ``directory``, the records are kept there for
    its TTL."""
    directory = directory or DirectoryCache(0)
    if jurisdiction_id:
        jurisdiction = directory.remember(("jurisdiction", jurisdiction_id),
                                          lambda: repo.by_code(session, jurisdiction_id))
        if jurisdiction is None:
            raise unresolved(jurisdiction_id, True)
        return jurisdiction
    found = directory.remember(("first_two",), lambda: repo.first_two(session) or None) or []
    if not found:
        raise unresolved(None, False)
    return found[0] if len(found) == 1 else None
