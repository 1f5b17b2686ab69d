"""Jurisdiction bundles: check a folder (``jurisdictions/<id>/``) and sync it into the
database. Loading is idempotent: a second load of the same bundle changes nothing, and a
changed bundle is updated in place with a report of what changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from geoalchemy2.shape import from_shape, to_shape
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from geo.boundaries import BoundaryError
from geo.readers import read_boundary
from open311.models import Jurisdiction, Service, ServiceAttribute
from open311.repository import jurisdictions as jurisdictions_repo
from schemas.bundle import JurisdictionFile, ServicesFile, flatten

SERVICE_FIELDS = ("service_name", "description", "type", "keywords", "group",
                  "agency_responsible", "service_notice")
ATTRIBUTE_FIELDS = ("code", "variable", "datatype", "required", "datatype_description",
                    "order", "description", "values")
JURISDICTION_FIELDS = ("name", "timezone", "contact", "key_service", "settings")


class BundleError(ValueError):
    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


@dataclass
class Bundle:
    path: Path
    jurisdiction: dict[str, Any]
    services: list[dict[str, Any]]
    boundary: Any  # shapely MultiPolygon
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


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{path.name}: cannot read ({exc.strerror})")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML ({exc})")
    return None


def read_bundle(path: Path) -> Bundle:
    """Parse and check every file of a bundle; BundleError lists every problem found."""
    path = Path(path)
    problems: list[str] = []
    if not path.is_dir():
        raise BundleError(path, ["not a folder"])
    raw = _read_yaml(path / "jurisdiction.yaml", problems)
    if problems:
        raise BundleError(path, problems)
    try:
        jurisdiction = JurisdictionFile().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        raise BundleError(path, [f"jurisdiction.yaml: {line}"
                                 for line in flatten(exc.messages)]) from None

    services: list[dict] = []
    services_path = path / jurisdiction["services"]
    known = len(problems)
    raw_services = _read_yaml(services_path, problems)
    if raw_services is None and len(problems) == known:
        problems.append(f"{services_path.name}: is empty; it needs a `services:` list")
    elif raw_services is not None:
        try:
            services = ServicesFile().load(raw_services if isinstance(raw_services, dict)
                                           else {})["services"]
        except ValidationError as exc:
            problems.extend(f"{services_path.name}: {line}" for line in _named(exc, raw_services))

    boundary, notes = None, []
    try:
        loaded = read_boundary(path / jurisdiction["boundary"])
        boundary, notes = loaded.geometry, loaded.notes
    except BoundaryError as exc:
        problems.append(str(exc).replace(str(path) + "/", ""))
    if problems:
        raise BundleError(path, problems)
    return Bundle(path, jurisdiction, services, boundary, notes)


def _named(exc: ValidationError, raw: Any) -> list[str]:
    """Messages whose service index is replaced by its service_code, for readability."""
    lines = flatten(exc.messages)
    try:
        entries = raw["services"]
        for index, entry in enumerate(entries):
            code = entry.get("service_code") if isinstance(entry, dict) else None
            if code:
                lines = [line.replace(f"services.{index}.", f"services[{code}].", 1)
                         if line.startswith(f"services.{index}.") else line for line in lines]
    except (TypeError, KeyError, AttributeError):
        pass
    return lines


def _attribute_rows(service: dict) -> list[dict]:
    """The attributes in definition order (as stored and compared)."""
    return [{name: a[name] for name in ATTRIBUTE_FIELDS}
            for a in sorted(service["attributes"], key=lambda a: a["order"])]


def _existing_attributes(service: Service) -> list[dict]:
    return [{name: getattr(a, name) for name in ATTRIBUTE_FIELDS} for a in service.attributes]


def _sync_services(session: Session, jurisdiction: Jurisdiction, services: list[dict],
                   report: LoadReport, now: dt.datetime) -> None:
    existing = {s.service_code: s for s in jurisdiction.services}
    for position, spec in enumerate(services, start=1):
        code = spec["service_code"]
        service = existing.pop(code, None)
        if service is None:
            service = Service(service_code=code, position=position, active=True,
                              **{k: spec[k] for k in SERVICE_FIELDS})
            service.attributes = [ServiceAttribute(**row) for row in _attribute_rows(spec)]
            jurisdiction.services.append(service)
            report.changes.append(f"service {code}: added")
            continue
        changed = [k for k in SERVICE_FIELDS if getattr(service, k) != spec[k]]
        for name in changed:
            setattr(service, name, spec[name])
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


def load_bundle(session: Session, path: Path, *, dry_run: bool = False) -> LoadReport:
    """Sync a bundle into the database (commit), or with ``dry_run`` only report what
    would change (roll back)."""
    bundle = read_bundle(path)
    spec = bundle.jurisdiction
    now = dt.datetime.now(dt.UTC)
    report = LoadReport(spec["id"], notes=list(bundle.notes))
    jurisdiction = jurisdictions_repo.by_code(session, spec["id"])
    if jurisdiction is None:
        jurisdiction = Jurisdiction(jurisdiction_id=spec["id"],
                                    boundary=from_shape(bundle.boundary, srid=4326),
                                    **{k: spec[k] for k in JURISDICTION_FIELDS})
        session.add(jurisdiction)
        session.flush()
        report.created = True
    else:
        changed = [k for k in JURISDICTION_FIELDS if getattr(jurisdiction, k) != spec[k]]
        for name in changed:
            setattr(jurisdiction, name, spec[name])
        if not to_shape(jurisdiction.boundary).equals_exact(bundle.boundary, 1e-9):
            jurisdiction.boundary = from_shape(bundle.boundary, srid=4326)
            changed.append("boundary")
        if changed:
            jurisdiction.updated_at = now
            report.changes.append(f"jurisdiction: {', '.join(changed)} changed")
    _sync_services(session, jurisdiction, bundle.services, report, now)
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return report
