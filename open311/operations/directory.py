"""The jurisdictions and services a call names, kept per worker process for a few seconds.

Every call names a jurisdiction (or none) and maybe service codes; resolving them from the
database costs a round trip per call, for data that changes when an operator loads a
bundle. A ``DirectoryCache`` keeps a ``Directory`` (every jurisdiction's ``JurisdictionRef``;
every service's code and id) for ``OPEN311_CACHE_SECONDS``. A name it does not know makes
it reload at once before the answer is a 404 or 400, so a newly loaded jurisdiction or
service is served at once; a renamed or removed one (or a changed time zone) is seen within
the TTL. With a TTL of 0 every call reads the database (the test suite's setting).

POST keeps the service (with its attributes) it names the same way
(``DirectoryCache.remember``). Everything kept is plain frozen data, never an ORM object:
a cached object bound to a session would be expired by that session's rollback and fail
in every later request. API keys are never cached: a revoked key is refused at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import BadRequest, NotFound, Open311Error
from open311.repository import catalogue
from open311.repository import jurisdictions as repo

T = TypeVar("T")


@dataclass(frozen=True)
class JurisdictionRef:
    """What a call needs of a jurisdiction (plain data: safe to keep across requests)."""

    id: int
    jurisdiction_id: str
    timezone: str
    parent_pk: int | None = None
    name: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def setting(self, name: str, default: Any) -> Any:
        return self.settings.get(name, default)


@dataclass(frozen=True)
class AttributeRef:
    """One attribute of a service definition, as POST checks values against it."""

    code: str
    datatype: str
    required: bool
    variable: bool
    order: int
    values: tuple[Mapping[str, str], ...] = ()
    description: str = ""
    datatype_description: str | None = None


@dataclass(frozen=True)
class ServiceRef:
    """What POST needs of a service, with its attributes (plain data)."""

    id: int
    jurisdiction_pk: int
    service_code: str
    service_name: str
    type: str
    group: str | None = None
    keywords: tuple[str, ...] = ()
    agency_responsible: str | None = None
    service_notice: str | None = None
    location_privacy: str = "exact"
    grid_metres: int | None = None
    coverage: Mapping[str, Any] | None = field(default=None, compare=False)
    attributes: tuple[AttributeRef, ...] = ()


def _frozen(mapping: Mapping | None) -> Mapping | None:
    return None if mapping is None else MappingProxyType(dict(mapping))


def service_ref(service) -> ServiceRef:
    """A snapshot of an ORM ``Service`` loaded with its attributes."""
    return ServiceRef(
        id=service.id,
        jurisdiction_pk=service.jurisdiction_pk,
        service_code=service.service_code,
        service_name=service.service_name,
        type=service.type,
        group=service.group,
        keywords=tuple(service.keywords or ()),
        agency_responsible=service.agency_responsible,
        service_notice=service.service_notice,
        location_privacy=service.location_privacy,
        grid_metres=service.grid_metres,
        coverage=_frozen(service.coverage),
        attributes=tuple(
            AttributeRef(
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                variable=a.variable,
                order=a.order,
                values=tuple(MappingProxyType(dict(v)) for v in a.values or ()),
                description=a.description,
                datatype_description=a.datatype_description,
            )
            for a in service.attributes
        ),
    )


@dataclass(frozen=True)
class Directory:
    by_code: dict[str, JurisdictionRef]
    first_two: tuple[JurisdictionRef, ...]  # by id: tells "exactly one" from "several"
    services: dict[tuple[int, str], int] = field(default_factory=dict)  # (j pk, code) -> pk
    loaded_at: float = 0.0
    by_pk: dict[int, JurisdictionRef] = field(default_factory=dict)

    def tiers(self, jurisdiction_pk: int) -> list[int] | None:
        """The jurisdiction and the tiers above it, nearest first (None: not known)."""
        by_pk = self.by_pk
        chain = [jurisdiction_pk]
        while chain[-1] in by_pk and len(chain) < 20:
            parent = by_pk[chain[-1]].parent_pk
            if parent is None:
                break
            chain.append(parent)
        return chain if all(pk in by_pk for pk in chain) else None


def load_directory(session: Session, now: float = 0.0) -> Directory:
    refs = [
        JurisdictionRef(
            id=row.id,
            jurisdiction_id=row.jurisdiction_id,
            timezone=row.timezone,
            parent_pk=row.parent_pk,
            name=row.name,
            settings=MappingProxyType(dict(row.settings or {})),
        )
        for row in repo.refs(session)
    ]
    return Directory(
        by_code={r.jurisdiction_id: r for r in refs},
        first_two=tuple(sorted(refs, key=lambda r: r.id)[:2]),
        services=catalogue.service_refs(session),
        loaded_at=now,
        by_pk={r.id: r for r in refs},
    )


class DirectoryCache:
    """``default_jurisdiction``: the jurisdiction_id reads without one use on a server of
    several jurisdictions (OPEN311_DEFAULT_JURISDICTION; empty: none, such a read is a
    400)."""

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        default_jurisdiction: str = "",
    ):
        self.seconds = seconds
        self.clock = clock
        self.default_jurisdiction = default_jurisdiction
        self._directory: Directory | None = None
        self._memo: dict[tuple, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def remember(self, key: tuple, load: Callable[[], T]) -> T:
        """``load()``'s value, kept for the TTL under ``key``. Only what was found is kept
        (None is not), so the keys are bounded by what exists, whatever clients ask for.
        Values must be plain data: an ORM object is refused (see the module's text)."""
        if self.seconds <= 0:
            return load()
        now = self.clock()
        hit = self._memo.get(key)
        if hit is not None and now - hit[1] < self.seconds:
            return hit[0]
        value = load()
        if value is not None:
            if sa.inspect(value, raiseerr=False) is not None:
                raise TypeError(
                    f"{type(value).__name__} is bound to a session: cache a snapshot of it instead"
                )
            with self._lock:
                self._memo[key] = (value, now)
        return value

    def current(self) -> Directory | None:
        """The cached directory while younger than the TTL (None: none, or too old)."""
        current = self._directory
        if current is None or self.seconds <= 0:
            return None
        return current if self.clock() - current.loaded_at < self.seconds else None

    def get(self, session: Session, *, fresh: bool = False) -> Directory:
        """The cached directory, or a new one when it is older than the TTL (or ``fresh``)."""
        now = self.clock()
        current = self._directory
        if (
            not fresh
            and current is not None
            and self.seconds > 0
            and now - current.loaded_at < self.seconds
        ):
            return current
        loaded = load_directory(session, now)
        if self.seconds > 0:
            with self._lock:
                self._directory = loaded
        return loaded


def _find(
    cache: DirectoryCache, session: Session, find: Callable[[Directory], T | None]
) -> tuple[T | None, Directory]:
    """``find`` on the cached directory; on a miss, on a reloaded one (a miss may be news)."""
    directory = cache.get(session)
    found = find(directory)
    if found is None and cache.seconds > 0:
        directory = cache.get(session, fresh=True)
        found = find(directory)
    return found, directory


@overload
def jurisdiction_ref(
    cache: DirectoryCache,
    session: Session,
    jurisdiction_id: str | None,
    *,
    by_location: Literal[False] = False,
) -> JurisdictionRef: ...


@overload
def jurisdiction_ref(
    cache: DirectoryCache,
    session: Session,
    jurisdiction_id: str | None,
    *,
    by_location: bool,
) -> JurisdictionRef | None: ...


def jurisdiction_ref(
    cache: DirectoryCache,
    session: Session,
    jurisdiction_id: str | None,
    *,
    by_location: bool = False,
) -> JurisdictionRef | None:
    """The jurisdiction a call is about: the named one (404 when unknown); unnamed, the only
    one this server has; on a server of several, the configured default jurisdiction, or
    else a 400 (jurisdiction_id is then required). ``by_location`` (a POST, routed by its
    point): unnamed on a server of several is None, whatever the default."""
    default = "" if by_location else cache.default_jurisdiction

    def find(directory: Directory) -> JurisdictionRef | None:
        if jurisdiction_id:
            return directory.by_code.get(jurisdiction_id)
        if len(directory.first_two) == 1:
            return directory.first_two[0]
        return directory.by_code.get(default) if default else None

    found, directory = _find(cache, session, find)
    if found is not None:
        return found
    if by_location and not jurisdiction_id and directory.first_two:
        return None
    raise unresolved(jurisdiction_id, bool(directory.first_two))


def unresolved(jurisdiction_id: str | None, any_loaded: bool) -> Open311Error:
    """Why a call's jurisdiction could not be resolved: an unknown jurisdiction_id (404), no
    jurisdiction at all (404), or none named where several are served (400)."""
    if jurisdiction_id:
        return NotFound(f"jurisdiction_id {jurisdiction_id!r} is not served here")
    if not any_loaded:
        return NotFound("this server has no jurisdiction loaded yet")
    return BadRequest(
        "jurisdiction_id is required: this server serves several jurisdictions (see discovery)"
    )


def tier_pks(cache: DirectoryCache, session: Session, jurisdiction_pk: int) -> list[int]:
    """The ids of the jurisdiction and of the tiers above it, nearest first."""
    found, _ = _find(cache, session, lambda directory: directory.tiers(jurisdiction_pk))
    return found or [jurisdiction_pk]


def jurisdiction_by_pk(
    cache: DirectoryCache, session: Session, jurisdiction_pk: int
) -> JurisdictionRef:
    """A jurisdiction by its primary key (one a stored request names)."""
    found, _ = _find(cache, session, lambda directory: directory.by_pk.get(jurisdiction_pk))
    if found is None:
        raise NotFound("jurisdiction not found")
    return found


def service_pks(
    cache: DirectoryCache, session: Session, jurisdiction: JurisdictionRef, codes: list[str]
) -> list[int]:
    """The ids of these services of the jurisdiction (active or not); 400 naming any code
    it does not have."""

    def find(directory: Directory) -> list[int] | None:
        pks = [directory.services.get((jurisdiction.id, code)) for code in codes]
        found = [pk for pk in pks if pk is not None]
        return list(dict.fromkeys(found)) if len(found) == len(pks) else None

    found, directory = _find(cache, session, find)
    if found is not None:
        return found
    unknown = [c for c in codes if (jurisdiction.id, c) not in directory.services]
    raise BadRequest(
        f"service_code {', '.join(map(repr, unknown))}: not a service of "
        f"{jurisdiction.jurisdiction_id}"
    )


def active_service(
    cache: DirectoryCache, session: Session, jurisdiction_pk: int, service_code: str
) -> ServiceRef | None:
    """The active service with its attributes, kept for the TTL (a snapshot)."""

    def load() -> ServiceRef | None:
        service = catalogue.service_by_code(
            session, jurisdiction_pk, service_code, with_attributes=True
        )
        return None if service is None else service_ref(service)

    return cache.remember(("service", jurisdiction_pk, service_code), load)
