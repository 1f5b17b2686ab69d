"""Which jurisdiction a call is about."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.errors import BadRequest, NotFound
from open311.models import Jurisdiction
from open311.repository import jurisdictions as repo


def resolve_jurisdiction(session: Session, jurisdiction_id: str | None) -> Jurisdiction:
    """The named jurisdiction (404 when unknown), or the only one this server has.

    ``jurisdiction_id`` is optional while the server serves one jurisdiction; with several
    it is required (400).
    """
    jurisdiction = optional_jurisdiction(session, jurisdiction_id)
    if jurisdiction is None:
        raise BadRequest("jurisdiction_id is required: this server serves several "
                         "jurisdictions (see discovery)")
    return jurisdiction


def optional_jurisdiction(session: Session, jurisdiction_id: str | None,
                          directory=None) -> Jurisdiction | None:
    """As resolve_jurisdiction, but None where several jurisdictions could be meant (the
    caller then decides by location). With ``directory`` (an operations.directory
    DirectoryCache), the records are kept there for its TTL."""
    def remember(key: tuple, load):
        return directory.remember(key, load) if directory is not None else load()

    if jurisdiction_id:
        jurisdiction = remember(("jurisdiction", jurisdiction_id),
                                lambda: repo.by_code(session, jurisdiction_id))
        if jurisdiction is None:
            raise NotFound(f"jurisdiction_id {jurisdiction_id!r} is not served here")
        return jurisdiction
    found = remember(("first_two",), lambda: repo.first_two(session) or None) or []
    if not found:
        raise NotFound("this server has no jurisdiction loaded yet")
    return found[0] if len(found) == 1 else None
