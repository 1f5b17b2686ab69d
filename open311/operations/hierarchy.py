"""Tiers of jurisdictions: a region or county above its member cities."""

from __future__ import annotations

from sqlalchemy.orm import Session

from open311.repository import jurisdictions as repo


def link_hierarchy(session: Session, about: str | None = None) -> list[str]:
    """Link every jurisdiction to the parent its bundle names (when that one is loaded) and
    set each one's depth. Bundles may be loaded in any order. Returns notes (on ``about``
    only, when given) on parents that are not loaded yet; a cycle is broken and reported."""
    jurisdictions = repo.all_jurisdictions(session)
    by_code = {j.jurisdiction_id: j for j in jurisdictions}
    notes = []
    for j in jurisdictions:
        parent = by_code.get(j.parent_id) if j.parent_id else None
        if j.parent_id and parent is None and about in (None, j.jurisdiction_id):
            notes.append(
                f"{j.jurisdiction_id}: parent {j.parent_id} is not loaded yet; it is "
                "linked when it is"
            )
        j.parent_pk = parent.id if parent else None
    for j in jurisdictions:
        depth, seen, current = 0, {j.id}, j
        while current.parent_pk is not None:
            current = next(p for p in jurisdictions if p.id == current.parent_pk)
            if current.id in seen:
                notes.append(f"{j.jurisdiction_id}: its parents form a cycle; unlinked")
                j.parent_pk, depth = None, 0
                break
            seen.add(current.id)
            depth += 1
        j.depth = depth
    session.flush()
    return notes
