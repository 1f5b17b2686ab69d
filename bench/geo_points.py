#!/usr/bin/env python3
"""Benchmark: what is at a point? (issue 3, point 9; not part of the test suite.)

Times the server's own point lookups against the raw SQL they stand on, on two data sets:

- ``nyc``: the ``jurisdictions/nyc.gov`` bundle (5 boroughs, 76k vertices, Queens 29k), and
- ``us``: the 3,230 US counties of ``shared/data/us`` (us-atlas 3.0.1, 10m; Falls Church VA,
  51610, has no area left after repair and is left out) as the areas of a throwaway
  jurisdiction ``us-counties`` whose boundary is their union (a bundle written to /tmp and
  loaded with the app's own ``load_bundle``: same reader, repair, subdivision).

For N seeded random points in each data set's bounding box (some fall outside: water, New
Jersey, Canada, Mexico, the oceans), one point per call, warm, timed with
``time.perf_counter`` around each call:

- OURS: ``open311.repository.geography.jurisdictions_at`` and ``areas_at`` through a
  SQLAlchemy Session, as the server calls them per request (the identity map is emptied
  between calls, untimed, as a new request's session would be).
- RAW: the very SQL text and parameters OURS sends (captured from the cursor), run with
  psycopg directly as a server-side prepared statement, rows fetched.
- RAW_UNSUBDIVIDED: the same statement with ``ST_Covers`` on the whole polygons
  (``area.geom`` / ``jurisdiction.boundary``, each with a GiST index: the bench adds one on
  ``area.geom`` in its own database) instead of the subdivided ``*_part`` pieces.

OURS is measured in variants, by temporarily monkeypatching the repository function
(``geography.areas_at`` / ``jurisdictions_at``) for a slice of points at a time:

- ``as is (working tree)``: the function as it is in the checkout, not patched;
- ``geometry loaded (1d667d3)``: the code as of commit 1d667d3, whose ORM loaded every
  matching Area / Jurisdiction with its whole polygon (a4796cf deferred those columns in the
  models; timed on every ``--slow-every``-th point only);
- ``geometry deferred``: the same statement without the polygon column;
- ``prebuilt stmt, ORM objects``: the statement built once at import with bind parameters
  (long, lat, an expanding list of jurisdiction pks) instead of on every call;
- ``prebuilt stmt, columns``: that, selecting only id, jurisdiction_pk, layer, area_id and
  name (rows; what the callers read) through the Session;
- ``prebuilt Core, connection``: the same as a plain Core statement on
  ``Session.connection()``;
- ``fixed SQL, exec_driver_sql``: a fixed SQL string through
  ``Session.connection().exec_driver_sql``: the least SQLAlchemy can add.

Every variant must return the same rows as the others for the first ``--check`` points. The
lookups are also timed once right after the load, before ANALYZE (``before_analyze``).

Usage: ``.venv/bin/python bench/geo_points.py [--points N] [--seed S]`` or ``make bench``.
It creates (drops and recreates) the database ``open311_bench`` in the project's private
cluster, unless ``OPEN311_BENCH_DATABASE_URL`` names another one. Prints one table and writes
``bench/results/geo_points.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: open311 and geo are top-level

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import shapely  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from shapely.geometry import mapping  # noqa: E402
from sqlalchemy.orm import Session, defer, undefer  # noqa: E402

from geo.readers import GeoReadError, clean_polygonal, read_topojson  # noqa: E402
from open311 import migrate  # noqa: E402
from open311.db import make_engine  # noqa: E402
from open311.models import Area, AreaPart, Jurisdiction, JurisdictionPart  # noqa: E402
from open311.operations.bundles import load_bundle  # noqa: E402
from open311.pgcluster import Cluster  # noqa: E402
from open311.repository import points as geography  # noqa: E402

NYC_BUNDLE = ROOT / "jurisdictions" / "nyc.gov"
COUNTIES = ROOT.parent / "shared" / "data" / "us" / "us-atlas-3.0.1_counties-10m.topojson.json"
RESULTS = ROOT / "bench" / "results" / "geo_points.json"
US_ID = "us-counties"
# The conterminous United States: the counties' own box spans the antimeridian (Aleutians)
# and the Pacific; here a little over half the points fall in a county (the rest: ocean,
# Canada, Mexico).
US_BOX = (-125.0, 24.4, -66.9, 49.4)


# -- setup ---------------------------------------------------------------------------------------
def database_url() -> str:
    url = os.environ.get("OPEN311_BENCH_DATABASE_URL")
    if not url:
        url = Cluster().ensure_database("open311_bench", recreate=True)
    migrate.upgrade(url)
    return url


def write_us_bundle(folder: Path) -> dict:
    """A bundle of the US counties: counties.geojson (areas and, unioned, the boundary)."""
    features, skipped = [], []
    for feature in read_topojson(COUNTIES, "counties", name_field="name"):
        try:
            clean_polygonal(feature.geometry, feature.name or feature.id)
        except GeoReadError as exc:  # Falls Church VA (51610): a ring with no area
            skipped.append(f"{feature.id} {feature.name}: {exc}")
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(feature.geometry),
                "properties": {"fips": feature.id, "name": feature.name},
            }
        )
    (folder / "counties.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    (folder / "jurisdiction.yaml").write_text(
        yaml.safe_dump(
            {
                "id": US_ID,
                "name": "US counties (benchmark)",
                "timezone": "America/New_York",
                "contact": "benchmark only",
                "key_service": "benchmark only",
                "boundary": "counties.geojson",
                "services": "services.yaml",
                "areas": [
                    {
                        "layer": "county",
                        "title": "Counties",
                        "file": "counties.geojson",
                        "name_field": "name",
                        "id_field": "fips",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    (folder / "services.yaml").write_text(
        yaml.safe_dump(
            {
                "services": [
                    {
                        "service_code": "BENCH",
                        "service_name": "Benchmark",
                        "description": "Benchmark only.",
                        "type": "realtime",
                        "keywords": ["bench"],
                        "group": "Bench",
                        "agency_responsible": "Nobody",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    return {"counties": len(features), "skipped": skipped}


LOOKUP_TABLES = "area, area_part, jurisdiction, jurisdiction_part"


def load(engine: sa.Engine) -> dict:
    facts: dict = {}
    with engine.begin() as conn:  # no autoanalyze until the cold lookups are timed
        for table_name in LOOKUP_TABLES.split(", "):
            conn.execute(sa.text(f"ALTER TABLE {table_name} SET (autovacuum_enabled = off)"))
    with Session(engine) as session:
        started = time.perf_counter()
        load_bundle(session, NYC_BUNDLE)
        facts["nyc_load_s"] = round(time.perf_counter() - started, 2)
        with tempfile.TemporaryDirectory(prefix="open311-bench-") as tmp:
            facts.update(write_us_bundle(Path(tmp)))
            started = time.perf_counter()
            load_bundle(session, Path(tmp))
            facts["us_load_s"] = round(time.perf_counter() - started, 2)
    facts["before_analyze"] = cold_lookups(engine)
    with engine.begin() as conn:
        # For RAW_UNSUBDIVIDED: whole polygons get a GiST index too (the schema has one on
        # jurisdiction.boundary, none on area.geom). Only in the bench's database.
        conn.execute(
            sa.text("CREATE INDEX IF NOT EXISTS bench_area_geom ON area USING gist (geom)")
        )
        for table_name in LOOKUP_TABLES.split(", "):
            conn.execute(sa.text(f"ALTER TABLE {table_name} RESET (autovacuum_enabled)"))
        conn.execute(sa.text("ANALYZE"))
        for key, sql in {
            "area_parts": "SELECT count(*) FROM area_part",
            "areas": "SELECT count(*) FROM area",
            "jurisdiction_parts": "SELECT count(*) FROM jurisdiction_part",
            "area_vertices": "SELECT sum(ST_NPoints(geom)) FROM area",
            "max_area_part_vertices": "SELECT max(ST_NPoints(geom)) FROM area_part",
            "jurisdiction_vertices": "SELECT json_object_agg(jurisdiction_id, ST_NPoints(boundary))"
            " FROM jurisdiction",
            "postgres": "SELECT version()",
            "postgis": "SELECT postgis_lib_version()",
        }.items():
            facts[key] = conn.execute(sa.text(sql)).scalar()
    return facts


def cold_lookups(engine: sa.Engine, n: int = 200) -> dict:
    """The server's lookups right after the load, before anything ANALYZEd the new rows (as
    when autovacuum has not got to them yet; the bench holds it off for these tables): without
    statistics PostgreSQL plans areas_at as a loop over every area of the jurisdiction."""
    points = random_points(n, US_BOX, 7)
    with Session(engine) as session:
        stats = session.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('area', 'area_part') "
                "AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            )
        ).scalar()
        pk = session.scalar(sa.select(Jurisdiction.id).where(Jurisdiction.jurisdiction_id == US_ID))
        result = {"tables_with_statistics": stats, "n": n}
        for name, call in (
            ("areas_at", lambda x, y: geography.areas_at(session, [pk], x, y)),
            ("jurisdictions_at", lambda x, y: geography.jurisdictions_at(session, x, y)),
        ):
            times = []
            for long, lat in points:
                session.expunge_all()
                t0 = time.perf_counter()
                call(long, lat)
                times.append(time.perf_counter() - t0)
            ms = np.array(times) * 1000
            result[name] = {
                "p50_ms": round(float(np.percentile(ms, 50)), 3),
                "p99_ms": round(float(np.percentile(ms, 99)), 3),
            }
    return result


def random_points(
    n: int, box: tuple[float, float, float, float], seed: int
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    west, south, east, north = box
    return [(rng.uniform(west, east), rng.uniform(south, north)) for _ in range(n)]


# -- the variants of OURS (monkeypatched in turn) ------------------------------------------------
def areas_at_with(option) -> Callable:
    """areas_at exactly as in open311/repository/geography.py, plus a loader option."""

    def areas_at(session, jurisdiction_pks, long, lat):
        covering = sa.select(AreaPart.area_pk).where(
            sa.func.ST_Covers(AreaPart.geom, geography.point(long, lat))
        )
        return list(
            session.scalars(
                sa.select(Area)
                .options(option)
                .where(Area.id.in_(covering), Area.jurisdiction_pk.in_(list(jurisdiction_pks)))
                .order_by(Area.jurisdiction_pk, Area.layer, Area.area_id)
            )
        )

    return areas_at


# The candidates for the fix: the statement built once (bind parameters for the point and the
# jurisdictions) instead of on every call, and only the columns the callers read.
_POINT = geography.point(sa.bindparam("long", type_=sa.Float), sa.bindparam("lat", type_=sa.Float))
_PKS = sa.bindparam("pks", expanding=True)
_AREAS_COVERING = sa.select(AreaPart.area_pk).where(sa.func.ST_Covers(AreaPart.geom, _POINT))
AREAS_AT_ORM = (
    sa.select(Area)
    .options(defer(Area.geom))
    .where(Area.id.in_(_AREAS_COVERING), Area.jurisdiction_pk.in_(_PKS))
    .order_by(Area.jurisdiction_pk, Area.layer, Area.area_id)
)
AREAS_AT_COLUMNS = (
    sa.select(Area.id, Area.jurisdiction_pk, Area.layer, Area.area_id, Area.name)
    .where(Area.id.in_(_AREAS_COVERING), Area.jurisdiction_pk.in_(_PKS))
    .order_by(Area.jurisdiction_pk, Area.layer, Area.area_id)
)
_area, _part = Area.__table__.c, AreaPart.__table__.c
AREAS_AT_CORE = (  # plain Core (table columns), for Session.connection().execute
    sa.select(_area.id, _area.jurisdiction_pk, _area.layer, _area.area_id, _area.name)
    .where(
        _area.id.in_(sa.select(_part.area_pk).where(sa.func.ST_Covers(_part.geom, _POINT))),
        _area.jurisdiction_pk.in_(_PKS),
    )
    .order_by(_area.jurisdiction_pk, _area.layer, _area.area_id)
)
AREAS_AT_SQL = (
    "SELECT area.id, area.jurisdiction_pk, area.layer, area.area_id, area.name FROM area "
    "WHERE area.id IN (SELECT area_part.area_pk FROM area_part WHERE ST_Covers(area_part.geom, "
    "ST_SetSRID(ST_MakePoint(%(long)s::FLOAT, %(lat)s::FLOAT), 4326))) "
    "AND area.jurisdiction_pk = ANY(%(pks)s) "
    "ORDER BY area.jurisdiction_pk, area.layer, area.area_id"
)
JURISDICTIONS_AT_ORM = (
    sa.select(Jurisdiction)
    .options(defer(Jurisdiction.boundary))
    .where(
        Jurisdiction.id.in_(
            sa.select(JurisdictionPart.jurisdiction_pk).where(
                sa.func.ST_Covers(JurisdictionPart.geom, _POINT)
            )
        )
    )
    .order_by(Jurisdiction.depth.desc(), Jurisdiction.id)
)
JURISDICTIONS_AT_SQL = (
    "SELECT jurisdiction.id, jurisdiction.jurisdiction_id, jurisdiction.depth FROM jurisdiction "
    "WHERE jurisdiction.id IN (SELECT jurisdiction_part.jurisdiction_pk FROM jurisdiction_part "
    "WHERE ST_Covers(jurisdiction_part.geom, "
    "ST_SetSRID(ST_MakePoint(%(long)s::FLOAT, %(lat)s::FLOAT), 4326))) "
    "ORDER BY jurisdiction.depth DESC, jurisdiction.id"
)


def areas_at_prebuilt_orm(session, jurisdiction_pks, long, lat):
    """Area objects (geom deferred) from the statement built once."""
    return list(
        session.scalars(AREAS_AT_ORM, {"long": long, "lat": lat, "pks": list(jurisdiction_pks)})
    )


def areas_at_prebuilt_columns(session, jurisdiction_pks, long, lat):
    """Rows with the attributes callers read (a.id, a.jurisdiction_pk, a.layer, a.area_id,
    a.name), from the statement built once: the proposed areas_at."""
    return list(
        session.execute(AREAS_AT_COLUMNS, {"long": long, "lat": lat, "pks": list(jurisdiction_pks)})
    )


def areas_at_core(session, jurisdiction_pks, long, lat):
    """The same rows from the plain Core statement on the session's connection (no ORM
    execution layer)."""
    return list(
        session.connection().execute(
            AREAS_AT_CORE, {"long": long, "lat": lat, "pks": list(jurisdiction_pks)}
        )
    )


def areas_at_driver_sql(session, jurisdiction_pks, long, lat):
    """The floor through a Session: a fixed SQL string, Session.connection().exec_driver_sql."""
    return list(
        session.connection().exec_driver_sql(
            AREAS_AT_SQL, {"long": long, "lat": lat, "pks": list(jurisdiction_pks)}
        )
    )


def jurisdictions_at_prebuilt_orm(session, long, lat):
    """Jurisdiction objects (boundary deferred) from the statement built once."""
    return list(session.scalars(JURISDICTIONS_AT_ORM, {"long": long, "lat": lat}))


def jurisdictions_at_driver_sql(session, long, lat):
    """The floor through a Session (rows of id, jurisdiction_id, depth; not objects)."""
    return list(
        session.connection().exec_driver_sql(JURISDICTIONS_AT_SQL, {"long": long, "lat": lat})
    )


def areas_at_unsubdivided(session, jurisdiction_pks, long, lat):
    """For RAW_UNSUBDIVIDED only: the same statement on the whole polygons."""
    return list(
        session.scalars(
            sa.select(Area)
            .options(defer(Area.geom))
            .where(
                sa.func.ST_Covers(Area.geom, geography.point(long, lat)),
                Area.jurisdiction_pk.in_(list(jurisdiction_pks)),
            )
            .order_by(Area.jurisdiction_pk, Area.layer, Area.area_id)
        )
    )


def jurisdictions_at_with(option) -> Callable:
    """jurisdictions_at exactly as in open311/repository/geography.py, plus a loader option."""

    def jurisdictions_at(session, long, lat):
        covering = sa.select(JurisdictionPart.jurisdiction_pk).where(
            sa.func.ST_Covers(JurisdictionPart.geom, geography.point(long, lat))
        )
        return list(
            session.scalars(
                sa.select(Jurisdiction)
                .options(option)
                .where(Jurisdiction.id.in_(covering))
                .order_by(Jurisdiction.depth.desc(), Jurisdiction.id)
            )
        )

    return jurisdictions_at


def jurisdiction_pks_rows(session, long, lat):
    """geography.jurisdiction_pks_at as it is in the checkout, rows shaped for check()."""
    return [(pk,) for pk in geography.jurisdiction_pks_at(session, long, lat)]


def jurisdictions_at_unsubdivided(session, long, lat):
    return list(
        session.scalars(
            sa.select(Jurisdiction)
            .options(defer(Jurisdiction.boundary))
            .where(sa.func.ST_Covers(Jurisdiction.boundary, geography.point(long, lat)))
            .order_by(Jurisdiction.depth.desc(), Jurisdiction.id)
        )
    )


@contextlib.contextmanager
def patched(name: str, function: Callable | None) -> Iterator[None]:
    """open311.repository.geography.<name> replaced for the duration (None: as is)."""
    original = getattr(geography, name)
    if function is not None:
        setattr(geography, name, function)
    try:
        yield
    finally:
        setattr(geography, name, original)


def deferred_in_working_tree() -> dict[str, bool]:
    return {
        "Area.geom": bool(sa.inspect(Area).attrs["geom"].deferred),
        "Jurisdiction.boundary": bool(sa.inspect(Jurisdiction).attrs["boundary"].deferred),
    }


# -- RAW: the captured statement through psycopg -------------------------------------------------
SENTINEL = (-73.123456789012, 40.987654321098)  # (long, lat) never produced by random_points


@dataclass
class Captured:
    sql: str
    params: dict
    long_key: str
    lat_key: str

    def params_for(self, long: float, lat: float) -> dict:
        return {**self.params, self.long_key: long, self.lat_key: lat}


def capture(engine: sa.Engine, call: Callable[[Session, float, float], object]) -> Captured:
    """The one statement ``call`` sends for a point, as the DBAPI cursor receives it
    (through SQLAlchemy, or straight to the driver: logged to ``open311.sql``)."""
    from statements import recorded  # noqa: PLC0415 (bench/, next to this script)

    with recorded([engine]) as seen, Session(engine) as session:
        call(session, *SENTINEL)
    assert len(seen) == 1, f"expected one statement, got {len(seen)}: {seen}"
    sql, params = seen[0]
    long_key = next(k for k, v in params.items() if v == SENTINEL[0])
    lat_key = next(k for k, v in params.items() if v == SENTINEL[1])
    return Captured(sql, params, long_key, lat_key)


# -- timing --------------------------------------------------------------------------------------
@dataclass
class Series:
    label: str
    kind: str  # OURS, RAW, RAW_UNSUBDIVIDED
    run: Callable[[float, float], object]
    every: int = 1  # time every n-th point only (slow variants)
    before: Callable[[], None] | None = None  # untimed, before each call
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    times: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        ms = np.array(self.times) * 1000
        return {
            "n": len(ms),
            "p50_ms": round(float(np.percentile(ms, 50)), 4),
            "p99_ms": round(float(np.percentile(ms, 99)), 4),
            "mean_ms": round(float(ms.mean()), 4),
        }

    def call(self, long: float, lat: float):
        with self.context():
            if self.before:
                self.before()
            return self.run(long, lat)


def measure(
    series: list[Series], points: list[tuple[float, float]], rounds: int, warmup: int
) -> None:
    """Round-robin: each round runs every series over the next slice of the points, so that
    background load on the machine hits all of them alike. Only the call is timed."""
    for s in series:
        for long, lat in points[:warmup]:
            s.call(long, lat)
    size = -(-len(points) // rounds)
    clock = time.perf_counter
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        for s in series:
            run, before, times = s.run, s.before, s.times
            with s.context():  # the monkeypatch, for the whole slice
                for i, (long, lat) in enumerate(chunk):
                    if (start + i) % s.every:
                        continue
                    if before:
                        before()
                    t0 = clock()
                    run(long, lat)
                    times.append(clock() - t0)


def raw_runner(
    conn: psycopg.Connection, captured: Captured, label: str
) -> Callable[[float, float], list]:
    """The captured SQL as a prepared statement of its own: variants that send the same
    text would otherwise share one prepared statement on ``conn``, and with it PostgreSQL's
    plan-cache history (custom or generic plan), so a series' timing would depend on which
    series ran before it. The label, as a comment, makes the text unique."""
    sql = f"{captured.sql}\n/* RAW: {label.replace('*/', '')} */"

    def run(long: float, lat: float) -> list:
        with conn.cursor() as cur:
            cur.execute(sql, captured.params_for(long, lat), prepare=True)
            return cur.fetchall()

    return run


# -- one data set --------------------------------------------------------------------------------
def bench_dataset(
    engine: sa.Engine,
    conninfo: str,
    jurisdiction_pk: int,
    points: list[tuple[float, float]],
    args: argparse.Namespace,
) -> dict:
    slow = args.slow_every
    deferred = deferred_in_working_tree()
    area_variants = [  # (label, replacement of geography.areas_at or None = as is, every)
        ("as is (working tree)", None, 1 if deferred["Area.geom"] else slow),
        ("geometry loaded (1d667d3)", areas_at_with(undefer(Area.geom)), slow),
        ("geometry deferred", areas_at_with(defer(Area.geom)), 1),
        ("prebuilt stmt, ORM objects", areas_at_prebuilt_orm, 1),
        ("prebuilt stmt, columns", areas_at_prebuilt_columns, 1),
        ("prebuilt Core, connection", areas_at_core, 1),
        ("fixed SQL, exec_driver_sql", areas_at_driver_sql, 1),
    ]
    jurisdiction_variants = [
        ("as is (working tree)", None, 1 if deferred["Jurisdiction.boundary"] else slow),
        ("geometry loaded (1d667d3)", jurisdictions_at_with(undefer(Jurisdiction.boundary)), slow),
        ("geometry deferred", jurisdictions_at_with(defer(Jurisdiction.boundary)), 1),
        ("prebuilt stmt, ORM objects", jurisdictions_at_prebuilt_orm, 1),
        ("fixed SQL, exec_driver_sql", jurisdictions_at_driver_sql, 1),
        # What routing and the boundary check resolve: the covering jurisdictions' ids, by
        # the server's own function (jurisdictions_at then loads the objects it routes to).
        ("jurisdiction_pks_at (tree)", jurisdiction_pks_rows, 1),
    ]
    lookups = {
        "jurisdictions_at": (
            jurisdiction_variants,
            jurisdictions_at_unsubdivided,
            lambda x, y: (x, y),
        ),
        "areas_at": (area_variants, areas_at_unsubdivided, lambda x, y: ([jurisdiction_pk], x, y)),
    }
    results = {}
    with Session(engine) as session, psycopg.connect(conninfo) as conn:
        for fname, (variants, unsubdivided, arguments) in lookups.items():
            series, captured = [], {}
            for label, function, every in variants:

                def context(fname=fname, function=function):
                    return patched(fname, function)

                def run(x, y, fname=fname, arguments=arguments):
                    return getattr(geography, fname)(session, *arguments(x, y))

                with context():
                    captured[label] = capture(
                        engine,
                        lambda s, x, y, run_=fname, a=arguments: getattr(geography, run_)(
                            s, *a(x, y)
                        ),
                    )
                series.append(Series(label, "OURS", run, every, session.expunge_all, context))
                series.append(Series(label, "RAW", raw_runner(conn, captured[label], label), every))
            captured["unsubdivided"] = capture(
                engine, lambda s, x, y, f=unsubdivided, a=arguments: f(s, *a(x, y))
            )
            series.append(
                Series(
                    "whole polygons",
                    "RAW_UNSUBDIVIDED",
                    raw_runner(conn, captured["unsubdivided"], "unsubdivided"),
                )
            )
            check(series, points[: args.check])
            measure(series, points, args.rounds, args.warmup)
            sample = points[: args.check]
            hits = sum(1 for x, y in sample if series[-1].call(x, y)) / len(sample)
            results[fname] = {
                "hit_rate": round(hits, 3),
                "series": [{"variant": s.label, "kind": s.kind, **s.summary()} for s in series],
                "sql": {k: c.sql for k, c in captured.items()},
            }
    return results


def check(series: list[Series], points: list[tuple[float, float]]) -> None:
    """Every series finds the same rows (by primary key, the first column) for each point."""
    for long, lat in points:
        answers = set()
        for s in series:
            rows = s.call(long, lat)
            answers.add(
                tuple(
                    sorted(
                        r[0] if isinstance(r, tuple) or hasattr(r, "_mapping") else r.id
                        for r in rows
                    )
                )
            )
        assert len(answers) == 1, (long, lat, answers)


# -- report --------------------------------------------------------------------------------------
def table(report: dict) -> str:
    lines = [
        f"{'data set':8} {'lookup':17} {'variant':27} {'OURS p50':>9} {'p99':>8} "
        f"{'RAW p50':>8} {'p99':>8} {'OURS/RAW':>8} {'/RAW*':>7}",
        "-" * 104,
    ]
    for dataset, lookups in report["datasets"].items():
        for lookup, data in lookups.items():
            by = {(s["variant"], s["kind"]): s for s in data["series"]}
            slim = by[("geometry deferred", "RAW")]
            for s in data["series"]:
                if s["kind"] != "OURS":
                    continue
                raw = by[(s["variant"], "RAW")]
                lines.append(
                    f"{dataset:8} {lookup:17} {s['variant']:27} {s['p50_ms']:9.3f} "
                    f"{s['p99_ms']:8.3f} {raw['p50_ms']:8.3f} {raw['p99_ms']:8.3f} "
                    f"{s['p50_ms'] / raw['p50_ms']:8.2f} {s['p50_ms'] / slim['p50_ms']:7.2f}"
                )
            unsub = by[("whole polygons", "RAW_UNSUBDIVIDED")]
            lines.append(
                f"{dataset:8} {lookup:17} {'RAW_UNSUBDIVIDED':27} {'':9} {'':8} "
                f"{unsub['p50_ms']:8.3f} {unsub['p99_ms']:8.3f} "
                f"{'':8} {'':7}  UNSUB/RAW(deferred) p50 "
                f"{unsub['p50_ms'] / slim['p50_ms']:.2f}, p99 "
                f"{unsub['p99_ms'] / slim['p99_ms']:.2f}; hits {data['hit_rate']:.0%}"
            )
    lines.append(
        "times in ms per lookup (p50, p99); OURS/RAW: p50 against the same SQL run "
        "raw; /RAW*: p50 against the raw subdivided ST_Covers query without the "
        "polygon column (RAW of 'geometry deferred'), the 1.5x target"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20_000, help="random points per data set")
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument("--rounds", type=int, default=40, help="round-robin slices")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per series")
    parser.add_argument(
        "--check", type=int, default=500, help="points on which every series must agree (untimed)"
    )
    parser.add_argument(
        "--slow-every",
        type=int,
        default=10,
        help="time only every n-th point for the geometry-loading variants",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    url = database_url()
    engine = make_engine(url)
    facts = load(engine)
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with Session(engine) as session:
        pks = {
            code: pk
            for code, pk in session.execute(
                sa.select(Jurisdiction.jurisdiction_id, Jurisdiction.id)
            )
        }
        nyc_box = session.execute(
            sa.select(
                sa.func.ST_XMin(sa.func.ST_Extent(JurisdictionPart.geom)),
                sa.func.ST_YMin(sa.func.ST_Extent(JurisdictionPart.geom)),
                sa.func.ST_XMax(sa.func.ST_Extent(JurisdictionPart.geom)),
                sa.func.ST_YMax(sa.func.ST_Extent(JurisdictionPart.geom)),
            ).where(JurisdictionPart.jurisdiction_pk == pks["nyc.gov"])
        ).one()
    datasets = {"nyc": (pks["nyc.gov"], tuple(nyc_box)), "us": (pks[US_ID], US_BOX)}
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "sqlalchemy": sa.__version__,
            "psycopg": psycopg.__version__,
            "shapely": shapely.__version__,
        },
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "deferred_in_working_tree": deferred_in_working_tree(),
        "facts": facts,
        "boxes": {k: v[1] for k, v in datasets.items()},
        "datasets": {},
    }
    started = time.perf_counter()
    for offset, (name, (pk, box)) in enumerate(datasets.items()):
        points = random_points(args.points, box, args.seed + offset)
        report["datasets"][name] = bench_dataset(engine, conninfo, pk, points, args)
    report["bench_s"] = round(time.perf_counter() - started, 1)
    engine.dispose()

    print(
        f"{facts['areas']} areas in {facts['area_parts']} parts, "
        f"{facts['jurisdiction_parts']} jurisdiction parts; loads: NYC {facts['nyc_load_s']} s, "
        f"US counties {facts['us_load_s']} s; deferred in the working tree: "
        f"{report['deferred_in_working_tree']}"
    )
    cold = facts["before_analyze"]
    print(
        f"right after the load, before ANALYZE ({cold['tables_with_statistics']} of area/"
        f"area_part analysed): us areas_at p50 {cold['areas_at']['p50_ms']} ms, p99 "
        f"{cold['areas_at']['p99_ms']} ms; jurisdictions_at p50 "
        f"{cold['jurisdictions_at']['p50_ms']} ms (warm figures below are after ANALYZE)"
    )
    print(table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.output} ({report['bench_s']} s of timing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
