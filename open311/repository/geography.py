"""Boundaries and named areas: their subdivided parts, and the areas of a jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Area, AreaPart, Jurisdiction, JurisdictionPart
from open311.models.geography import SUBDIVIDE_VERTICES


# -- subdivided parts ------------------------------------------------------------------------
def replace_jurisdiction_parts(session: Session, jurisdiction_pk: int) -> None:
    session.execute(
        sa.delete(JurisdictionPart).where(JurisdictionPart.jurisdiction_pk == jurisdiction_pk)
    )
    session.execute(
        sa.insert(JurisdictionPart).from_select(
            ["jurisdiction_pk", "geom"],
            sa.select(
                Jurisdiction.id, sa.func.ST_Subdivide(Jurisdiction.boundary, SUBDIVIDE_VERTICES)
            ).where(Jurisdiction.id == jurisdiction_pk),
        )
    )


def replace_area_parts(session: Session, area_pks: Sequence[int]) -> None:
    if not area_pks:
        return
    session.execute(sa.delete(AreaPart).where(AreaPart.area_pk.in_(area_pks)))
    session.execute(
        sa.insert(AreaPart).from_select(
            ["area_pk", "geom"],
            sa.select(Area.id, sa.func.ST_Subdivide(Area.geom, SUBDIVIDE_VERTICES)).where(
                Area.id.in_(area_pks)
            ),
        )
    )


def areas_by_pk(session: Session, pks: Sequence[int]) -> dict[int, Area]:
    if not pks:
        return {}
    return {a.id: a for a in session.scalars(sa.select(Area).where(Area.id.in_(pks)))}


def areas_named(session: Session, jurisdiction_pk: int, area_id: str) -> list[Area]:
    return list(
        session.scalars(
            sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk, Area.area_id == area_id)
        )
    )


def layers_of(session: Session, jurisdiction_pk: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(Area.layer)
            .distinct()
            .where(Area.jurisdiction_pk == jurisdiction_pk)
            .order_by(Area.layer)
        )
    )


def areas_of(session: Session, jurisdiction_pk: int, layer: str | None = None) -> list[Area]:
    query = sa.select(Area).where(Area.jurisdiction_pk == jurisdiction_pk)
    if layer:
        query = query.where(Area.layer == layer)
    return list(session.scalars(query.order_by(Area.layer, Area.area_id)))


_SPATIAL_REF_SYS = sa.table("spatial_ref_sys", sa.column("srid", sa.Integer))


def crs_known(session: Session, srid: int) -> bool:
    """Whether PostGIS can transform to and from this SRID (its spatial_ref_sys has it)."""
    return bool(
        session.scalar(sa.select(sa.literal(True)).where(_SPATIAL_REF_SYS.c.srid == srid).limit(1))
    )
