"""Jurisdiction bundles: check a folder (``jurisdictions/<id>/``) and sync it into the
database. Loading is idempotent: a second load of the same bundle changes nothing, and a
changed bundle is updated in place with a report of what changed.

A bundle holds the jurisdiction (``jurisdiction.yaml``), its boundary, its service
catalogue, and optionally named areas and address points (see jurisdictions/README.md).
Boundaries and areas may be GeoJSON, Shapefile or GeoPackage in any CRS (``geo.readers``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from geoalchemy2.shape import from_shape, to_shape
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from geo.address_points import AddressFile, AddressFileError, read_address_points
from geo.readers import Area as AreaShape
from geo.readers import GeoReadError, read_areas, read_boundary
from open311.models import Area, Jurisdiction, Service, ServiceAttribute
from open311.models.base import WGS84
from open311.operations.hierarchy import link_hierarchy
from open311.repository import addresses as addresses_repo
from open311.repository import geography as geo_repo
from open311.repository import jurisdictions as jurisdictions_repo
from open311.repository import privacy
from schemas.bundle import JurisdictionFile, ServicesFile, flatten

SERVICE_FIELDS = (
    "service_name",
    "description",
    "type",
    "keywords",
    "group",
    "agency_responsible",
    "service_notice",
    "coverage",
    "location_privacy",
    "grid_metres",
    "target_hours",
    "target_business_days",
)
# What the public sees of a service's requests: when one changes, their public view is
# derived again (privacy.refresh_public_view).
PRIVACY_FIELDS = frozenset({"location_privacy", "grid_metres"})
ATTRIBUTE_FIELDS = (
    "code",
    "variable",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
)
JURISDICTION_FIELDS = ("name", "timezone", "contact", "key_service", "settings", "languages")


class BundleError(ValueError):
    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


@dataclass
class AreaLayer:
    layer: str
    title: str
    areas: list[AreaShape]


@dataclass
class Bundle:
    path: Path
    jurisdiction: dict[str, Any]
    services: list[dict[str, Any]]
    boundary: Any  # shapely MultiPolygon
    layers: list[AreaLayer] = field(default_factory=list)
    addresses: AddressFile | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    jurisdiction_id: str
    created: bool = False
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


# -- reading ----------------------------------------------------------------------------------
def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{path.name}: cannot read ({exc.strerror})")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML ({exc})")
    return None


def _short(path: Path, message: str) -> str:
    return message.replace(f"{path}/", "")


def _named(exc: ValidationError, raw: Any) -> list[str]:
    """Messages whose service index is replaced by its service_code, for readability."""
    lines = flatten(exc.messages)
    try:
        for index, entry in enumerate(raw["services"]):
            code = entry.get("service_code") if isinstance(entry, dict) else None
            if code:
                lines = [
                    line.replace(f"services.{index}.", f"services[{code}].", 1)
                    if line.startswith(f"services.{index}.")
                    else line
                    for line in lines
                ]
    except (TypeError, KeyError, AttributeError):
        pass
    return lines


def _read_services(path: Path, spec: dict, problems: list[str]) -> list[dict]:
    services_path = path / spec["services"]
    known = len(problems)
    raw = _read_yaml(services_path, problems)
    if raw is None:
        if len(problems) == known:
            problems.append(f"{services_path.name}: is empty; it needs a `services:` list")
        return []
    try:
        return ServicesFile().load(raw if isinstance(raw, dict) else {})["services"]
    except ValidationError as exc:
        problems.extend(f"{services_path.name}: {line}" for line in _named(exc, raw))
        return []


def _read_layers(path: Path, spec: dict, problems: list[str], notes: list[str]) -> list[AreaLayer]:
    layers = []
    for layer in spec["areas"]:
        try:
            areas = read_areas(
                path / layer["file"],
                name_field=layer["name_field"],
                id_field=layer["id_field"],
                where=layer["where"],
                layer=layer["layer_in_file"],
            )
        except GeoReadError as exc:
            problems.append(f"areas[{layer['layer']}]: {_short(path, str(exc))}")
            continue
        for area in areas:
            notes.extend(f"areas[{layer['layer']}]: {note}" for note in area.notes)
        layers.append(AreaLayer(layer["layer"], layer["title"], areas))
    return layers


def _check_coverage(services: list[dict], layers: list[AreaLayer], problems: list[str]) -> None:
    ids_by_layer = {layer.layer: {a.id for a in layer.areas} for layer in layers}
    for service in services:
        coverage = service.get("coverage")
        if not coverage:
            continue
        code = service["service_code"]
        if coverage["layer"] not in ids_by_layer:
            problems.append(
                f"services.yaml: services[{code}].coverage: no areas layer "
                f"{coverage['layer']!r} in jurisdiction.yaml"
            )
            continue
        unknown = sorted(set(coverage["ids"] or []) - ids_by_layer[coverage["layer"]])
        if unknown:
            problems.append(
                f"services.yaml: services[{code}].coverage: no area "
                f"{', '.join(map(repr, unknown))} in layer {coverage['layer']!r}"
            )


def read_bundle(path: Path) -> Bundle:
    """Parse and check every file of a bundle; BundleError lists every problem found."""
    path = Path(path)
    problems: list[str] = []
    notes: list[str] = []
    if not path.is_dir():
        raise BundleError(path, ["not a folder"])
    raw = _read_yaml(path / "jurisdiction.yaml", problems)
    if problems:
        raise BundleError(path, problems)
    try:
        spec = JurisdictionFile().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        raise BundleError(
            path, [f"jurisdiction.yaml: {line}" for line in flatten(exc.messages)]
        ) from None

    services = _read_services(path, spec, problems)
    boundary = None
    try:
        loaded = read_boundary(path / spec["boundary"]["file"], layer=spec["boundary"]["layer"])
        boundary = loaded.geometry
        notes.extend(loaded.notes)
    except GeoReadError as exc:
        problems.append(_short(path, str(exc)))
    layers = _read_layers(path, spec, problems, notes)
    _check_coverage(services, layers, problems)
    addresses = None
    if spec["addresses"]:
        try:
            addresses = read_address_points(
                path / spec["addresses"].pop("file"), **spec["addresses"]
            )
        except AddressFileError as exc:
            problems.append(f"addresses: {exc}")
    if problems:
        raise BundleError(path, problems)
    if addresses and addresses.skipped_count:
        notes.append(
            f"addresses: {addresses.skipped_count} row(s) skipped, e.g. "
            + "; ".join(addresses.skipped[:3])
        )
    return Bundle(path, spec, services, boundary, layers, addresses, notes)


# -- syncing ----------------------------------------------------------------------------------
def _attribute_rows(service: dict) -> list[dict]:
    """The attributes in definition order (as stored and compared)."""
    return [
        {name: a[name] for name in ATTRIBUTE_FIELDS}
        for a in sorted(service["attributes"], key=lambda a: a["order"])
    ]


def _existing_attributes(service: Service) -> list[dict]:
    return [{name: getattr(a, name) for name in ATTRIBUTE_FIELDS} for a in service.attributes]


def _sync_services(
    session: Session,
    jurisdiction: Jurisdiction,
    services: list[dict],
    report: LoadReport,
    now: dt.datetime,
) -> None:
    existing = {s.service_code: s for s in jurisdiction.services}
    for position, spec in enumerate(services, start=1):
        code = spec["service_code"]
        service = existing.pop(code, None)
        if service is None:
            service = Service(
                service_code=code,
                position=position,
                active=True,
                **{k: spec[k] for k in SERVICE_FIELDS},
            )
            service.attributes = [ServiceAttribute(**row) for row in _attribute_rows(spec)]
            jurisdiction.services.append(service)
            report.changes.append(f"service {code}: added")
            continue
        changed = [k for k in SERVICE_FIELDS if getattr(service, k) != spec[k]]
        for name in changed:
            setattr(service, name, spec[name])
        if PRIVACY_FIELDS.intersection(changed):
            session.flush()
            shown = privacy.refresh_public_view(session, [service.id], now)
            report.changes.append(f"service {code}: public view of {shown} requests derived again")
        if service.position != position:
            service.position = position
            changed.append("position")
        reactivated = not service.active
        service.active = True
        if _existing_attributes(service) != _attribute_rows(spec):
            service.attributes.clear()
            session.flush()  # delete the old rows before their codes are inserted again
            service.attributes.extend(ServiceAttribute(**row) for row in _attribute_rows(spec))
            changed.append("attributes")
        if changed or reactivated:
            service.updated_at = now
        if reactivated:
            report.changes.append(f"service {code}: reactivated")
        if changed:
            report.changes.append(f"service {code}: {', '.join(changed)} changed")
    for code, service in existing.items():
        if service.active:
            service.active = False
            service.updated_at = now
            report.changes.append(f"service {code}: deactivated (no longer in the bundle)")


def _sync_areas(
    session: Session, jurisdiction: Jurisdiction, layers: list[AreaLayer], report: LoadReport
) -> None:
    stored = {(a.layer, a.area_id): a for a in geo_repo.areas_of(session, jurisdiction.id)}
    touched: list[Area] = []
    for layer in layers:
        added = updated = 0
        for shape in layer.areas:
            area = stored.pop((layer.layer, shape.id), None)
            if area is None:
                area = Area(
                    jurisdiction_pk=jurisdiction.id,
                    layer=layer.layer,
                    layer_title=layer.title,
                    area_id=shape.id,
                    name=shape.name,
                    geom=from_shape(shape.geometry, srid=WGS84),
                )
                session.add(area)
                touched.append(area)
                added += 1
                continue
            changed = False
            if (area.name, area.layer_title) != (shape.name, layer.title):
                area.name, area.layer_title = shape.name, layer.title
                changed = True
            if not to_shape(area.geom).equals_exact(shape.geometry, 1e-9):
                area.geom = from_shape(shape.geometry, srid=WGS84)
                touched.append(area)
                changed = True
            updated += changed
        if added or updated:
            report.changes.append(
                f"areas[{layer.layer}]: {added} added, {updated} updated "
                f"({len(layer.areas)} in all)"
            )
    removed: dict[str, int] = {}
    for (layer_name, _), area in stored.items():
        session.delete(area)
        removed[layer_name] = removed.get(layer_name, 0) + 1
    for layer_name, count in sorted(removed.items()):
        report.changes.append(f"areas[{layer_name}]: {count} removed")
    session.flush()
    geo_repo.replace_area_parts(session, [a.id for a in touched])


def _sync_addresses(
    session: Session, jurisdiction: Jurisdiction, addresses: AddressFile | None, report: LoadReport
) -> None:
    digest = addresses.digest if addresses else None
    state = dict(jurisdiction.bundle_state or {})
    if state.get("addresses") == digest:
        return
    before = addresses_repo.count_address_points(session, jurisdiction.id)
    addresses_repo.replace_address_points(
        session, jurisdiction.id, addresses.rows if addresses else []
    )
    state["addresses"] = digest
    jurisdiction.bundle_state = state
    after = len(addresses.rows) if addresses else 0
    report.changes.append(f"addresses: {after} address points loaded (was {before})")


def load_bundle(session: Session, path: Path, *, dry_run: bool = False) -> LoadReport:
    """Sync a bundle into the database (commit), or with ``dry_run`` only report what
    would change (roll back)."""
    bundle = read_bundle(path)
    spec = bundle.jurisdiction
    values = {
        "name": spec["name"],
        "timezone": spec["timezone"],
        "contact": spec["contact"],
        "key_service": spec["key_service"],
        "settings": spec["settings"],
        "languages": spec["languages"],
    }
    local_crs = spec["settings"].get("local_crs")
    if local_crs is not None and not geo_repo.crs_known(session, local_crs):
        raise BundleError(
            path,
            [f"jurisdiction.yaml: settings.local_crs: EPSG:{local_crs} is not a CRS PostGIS knows"],
        )
    now = dt.datetime.now(dt.UTC)
    report = LoadReport(spec["id"], notes=list(bundle.notes))
    jurisdiction = jurisdictions_repo.by_code(session, spec["id"])
    if jurisdiction is None:
        jurisdiction = Jurisdiction(
            jurisdiction_id=spec["id"],
            parent_id=spec["parent"],
            boundary=from_shape(bundle.boundary, srid=WGS84),
            bundle_state={},
            **values,
        )
        session.add(jurisdiction)
        session.flush()
        geo_repo.replace_jurisdiction_parts(session, jurisdiction.id)
        report.created = True
    else:
        changed = [k for k in JURISDICTION_FIELDS if getattr(jurisdiction, k) != values[k]]
        for name in changed:
            setattr(jurisdiction, name, values[name])
        if jurisdiction.parent_id != spec["parent"]:
            jurisdiction.parent_id = spec["parent"]
            changed.append("parent")
        if not to_shape(jurisdiction.boundary).equals_exact(bundle.boundary, 1e-9):
            jurisdiction.boundary = from_shape(bundle.boundary, srid=WGS84)
            session.flush()
            geo_repo.replace_jurisdiction_parts(session, jurisdiction.id)
            changed.append("boundary")
        if changed:
            jurisdiction.updated_at = now
            report.changes.append(f"jurisdiction: {', '.join(changed)} changed")
    _sync_services(session, jurisdiction, bundle.services, report, now)
    before = len(report.changes)
    _sync_areas(session, jurisdiction, bundle.layers, report)
    if len(report.changes) > before and not report.created:
        # Areas carry no timestamp: the jurisdiction's says its published areas changed
        # (the exports' and statistics' validators follow it).
        jurisdiction.updated_at = now
    _sync_addresses(session, jurisdiction, bundle.addresses, report)
    report.notes.extend(link_hierarchy(session, about=spec["id"]))
    if report.changed:
        # Fresh statistics, or the planner guesses on the new parts and lookups crawl
        # until autovacuum comes by.
        session.execute(sa.text("ANALYZE jurisdiction_part, area, area_part, address_point"))
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return report
