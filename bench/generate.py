#!/usr/bin/env python3
"""Benchmark data: a realistic service_request table of N rows in Los Angeles (issue 5, point 1).

Not part of the test suite. Builds the database ``open311_bench_5m`` in the project's private
cluster (``OPEN311_BENCH_DATABASE_URL`` or ``--database-url`` names another one), migrates it,
loads ``jurisdictions/lacounty.gov`` (the parent tier) and ``jurisdictions/lacity.org`` with
``load_bundle``, creates API keys for two synthetic channels, then fills ``service_request``
with N rows by ``COPY ... FROM STDIN`` (text format), in batches.

Every row is resampled from the ~30,000 real MyLA311 records in ``shared/data/la`` (2017 subset,
January 2018, January 2020), one source record per row, so the joint distribution of service,
status, time-to-close, time of day and weekday is the real one:

- service: the record's RequestType (= our service_name; the 12 LA services);
- requested_datetime: the record's weekday and local time of day (America/Los_Angeles), in a
  week drawn uniformly from the last ``--days`` days before ``--end``;
- status: Closed / Cancelled / Referred Out -> closed (detailed_status fixed / cancelled /
  internal_referral), Open / Pending -> open (open / in_progress); a closed row is updated at
  requested + the record's own time to close (ClosedDate, else UpdatedDate, minus CreatedDate);
  if that falls after ``--end`` the row is still open (updated = requested); closed_at = the
  closing time;
- location (public_location: the same, none for a hidden service): the record's own point
  (address = its Address, zipcode = its ZipCode), or with
  probability ``--address-share`` an LA address point (address, address_id, zipcode,
  address_verified = true), plus a gaussian jitter of a few metres (sigma 2.5 m, at most 7 m
  per axis). Only source points inside the loaded LA boundary and more than ~15 m away from its
  edge are used, so no jittered point can leave the city (records outside: the address point
  is used instead);
- area_pks: computed once per distinct source point, set-based (area_part, ST_Covers), over
  the areas of lacity.org and lacounty.gov, ordered as ``geography.areas_at`` orders them;
- search: the tsvector of description, address, service name, group and keywords, computed
  by PostgreSQL's own to_tsvector per distinct piece before the load and concatenated
  with the semantics of tsvector ``||`` (positions shifted), written as a tsvector literal;
- description: a short text from a small set per service, or NULL; attributes '{}';
  public = true; accepted_at = requested_datetime; api_key_pk: one of the two channels.

The non-primary-key indexes and the foreign-key / unique constraints of service_request are
dropped before the COPY and recreated after it, then ANALYZE. Deterministic for a given
``--seed`` and ``--end`` (default: today, 00:00 UTC).

Usage: ``.venv/bin/python bench/generate.py [--rows N] [--seed S] [--days D] [--reuse]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import sys
import time
import zoneinfo
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: open311 and geo are top-level

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import shapely  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from open311 import migrate  # noqa: E402
from open311.db import make_engine  # noqa: E402
from open311.models import Jurisdiction  # noqa: E402
from open311.operations.bundles import load_bundle  # noqa: E402
from open311.operations.keys import create_key  # noqa: E402
from open311.pgcluster import Cluster  # noqa: E402

LA = ROOT / "jurisdictions" / "lacity.org"
COUNTY = ROOT / "jurisdictions" / "lacounty.gov"
SOURCES = [
    ROOT.parent / "shared" / "data" / "la" / name
    for name in (
        "myla311_2017_subset_10k.csv",
        "myla311_2018_jan_10k.csv",
        "myla311_2020_jan_10k.csv",
    )
]
DBNAME = "open311_bench_5m"
TZ = zoneinfo.ZoneInfo("America/Los_Angeles")
CHANNELS = ("MyLA311 app", "Call center")
# Which channel a record came in by (RequestSource); anything else: the app.
CALL_SOURCES = {
    "Call",
    "Voicemail",
    "Email",
    "Walk-in",
    "Fax",
    "Letter",
    "Chat",
    "Self Service",
    "Driver Self Report",
    "Radio",
}
STATUS_MAP = {  # MyLA311 Status -> (status, detailed_status)
    "Closed": ("closed", "fixed"),
    "Cancelled": ("closed", "cancelled"),
    "Referred Out": ("closed", "internal_referral"),
    "Open": ("open", "open"),
    "Pending": ("open", "in_progress"),
}
# Short descriptions per service (ours, illustrative); None = no description.
DESCRIPTIONS = {
    "GRAFFITI": [
        "Graffiti on the wall facing the street",
        "Tagging on the fence again",
        "Spray paint on the utility box",
        "Large graffiti on garage door",
        None,
        None,
    ],
    "HOMELESS-ENCAMPMENT": [
        "Tents blocking the sidewalk",
        "Encampment near the bus stop",
        "Several tents under the freeway underpass",
        None,
        None,
    ],
    "DEAD-ANIMAL": [
        "Dead cat in the street",
        "Dead dog on the sidewalk",
        "Dead raccoon near the curb",
        "Dead bird in the alley",
        None,
    ],
    "BULKY-ITEMS": [
        "Couch and mattress at the curb",
        "Old sofa for pickup",
        "Mattress and box spring",
        "Furniture left by former tenant",
        None,
        None,
    ],
    "E-WASTE": [
        "Old television for pickup",
        "Computer monitor and printer",
        "Broken microwave and TV",
        None,
    ],
    "ILLEGAL-DUMPING": [
        "Trash bags dumped in the alley",
        "Construction debris on sidewalk",
        "Someone dumped tires and furniture",
        "Pile of trash near the alley",
        None,
        None,
    ],
    "METAL-APPLIANCES": [
        "Old refrigerator for pickup",
        "Washer and dryer at the curb",
        "Water heater and metal frame",
        None,
    ],
    "STREETLIGHT-SINGLE": [
        "Streetlight out in front of the house",
        "Light flickering all night",
        "Pole light is dark",
        None,
    ],
    "STREETLIGHT-MULTIPLE": [
        "Several streetlights out on the block",
        "Whole street is dark",
        "Three lights out near the corner",
        None,
    ],
    "WATER-WASTE": [
        "Sprinklers running in the rain",
        "Water running down the gutter",
        "Broken sprinkler flooding the sidewalk",
        None,
    ],
    "OTHER": ["Please send someone to look at this", "Issue near the corner", None, None],
    "FEEDBACK": ["Thank you for the quick service", "Pickup was missed", None],
}
CHUNK = 50_000  # rows generated per random stream (independent of --batch: same data)
JITTER_M = 2.5  # metres, sigma per axis
JITTER_MAX_M = 7.0
EDGE_MARGIN_DEG = 0.00015  # ~14-17 m at 34 N: source points closer to the edge are not used


# -- sources -------------------------------------------------------------------------------------
def _parse_time(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%y %H:%M"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


def read_records(name_to_code: dict[str, str]) -> dict[str, np.ndarray]:
    """The real MyLA311 records (both column spellings and date formats), as arrays."""
    cols: dict[str, list] = {
        k: []
        for k in (
            "service",
            "closed",
            "detailed",
            "duration",
            "weekday",
            "sod",
            "minute_res",
            "lon",
            "lat",
            "address",
            "zipcode",
            "channel",
            "day",
        )
    }
    skipped = Counter()
    for path in SOURCES:
        with path.open(newline="", encoding="utf-8") as handle:
            for raw in csv.DictReader(handle):
                row = {k.lower(): (v or "").strip() for k, v in raw.items()}
                code = name_to_code.get(row["requesttype"])
                created = _parse_time(row["createddate"])
                if code is None or created is None or row["status"] not in STATUS_MAP:
                    skipped[f"{path.name}: type/date/status"] += 1
                    continue
                status, detailed = STATUS_MAP[row["status"]]
                end = _parse_time(row["closeddate"]) or _parse_time(row["updateddate"])
                duration = (end - created).total_seconds() if end else None
                if status == "closed" and duration is None:
                    skipped[f"{path.name}: closed without date"] += 1
                    continue
                try:
                    lat, lon = float(row["latitude"]), float(row["longitude"])
                except ValueError:
                    lat = lon = float("nan")
                cols["service"].append(code)
                cols["closed"].append(status == "closed")
                cols["detailed"].append(detailed)
                cols["duration"].append(max(duration or 0.0, 60.0))
                cols["weekday"].append(created.weekday())
                cols["sod"].append(created.hour * 3600 + created.minute * 60 + created.second)
                cols["day"].append(created.date())
                cols["minute_res"].append(len(row["createddate"].split(":")) == 2)
                cols["lon"].append(lon)
                cols["lat"].append(lat)
                cols["address"].append(row.get("address") or None)
                cols["zipcode"].append(row.get("zipcode") or None)
                cols["channel"].append(1 if row.get("requestsource") in CALL_SOURCES else 0)
    out = {
        k: np.array(
            v, dtype=object if k in ("service", "detailed", "address", "zipcode", "day") else None
        )
        for k, v in cols.items()
    }
    # Each file holds 10,000 consecutive records: its first or last day is cut off. A day is
    # complete if it has records both before 01:00 and after 23:00; only complete days count
    # for the weekly shape (mean records per day of each weekday) and for the rows' sources.
    hours = out["sod"] // 3600
    early = {d for d, h in zip(out["day"], hours, strict=True) if h < 1}
    late = {d for d, h in zip(out["day"], hours, strict=True) if h >= 23}
    complete = early & late
    out["complete"] = np.array([d in complete for d in out["day"]])
    per_day = Counter(d for d in out["day"] if d in complete)
    rate = np.zeros(7)
    for weekday in range(7):
        days = [d for d in complete if d.weekday() == weekday]
        rate[weekday] = np.mean([per_day[d] for d in days]) if days else 0.0
    out["weekday_rate"] = rate
    out["complete_days"] = sorted(str(d) for d in complete)
    out["skipped"] = dict(skipped)
    return out


# -- COPY text -----------------------------------------------------------------------------------
def esc(value: str | None) -> str:
    """A COPY text-format field."""
    if value is None:
        return r"\N"
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


_LEXEME = re.compile(r"('(?:[^']|'')*')(?::([0-9,]+))?")


def parse_tsvector(text: str) -> tuple[list[tuple[str, list[int]]], int]:
    """tsvector output -> [(quoted lexeme, positions)], max position."""
    items = [
        (m.group(1), [int(p) for p in m.group(2).split(",")] if m.group(2) else [])
        for m in _LEXEME.finditer(text)
    ]
    top = max((p for _, ps in items for p in ps), default=0)
    return items, top


def shifted(items: list[tuple[str, list[int]]], offset: int) -> str:
    return " ".join(
        f"{lex}:{','.join(str(p + offset) for p in ps)}" if ps else lex for lex, ps in items
    )


# -- database ------------------------------------------------------------------------------------
def database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("OPEN311_BENCH_DATABASE_URL")
    if not url:
        url = Cluster().ensure_database(DBNAME, recreate=not args.reuse)
    migrate.upgrade(url)
    return url


def psycopg_dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def setup(engine: sa.Engine) -> dict:
    facts: dict = {}
    with Session(engine) as session:
        for bundle in (COUNTY, LA):
            started = time.perf_counter()
            report = load_bundle(session, bundle)
            facts[f"load_{bundle.name}_s"] = round(time.perf_counter() - started, 2)
            facts[f"load_{bundle.name}_changed"] = report.changed
            session.commit()
        la = session.scalars(
            sa.select(Jurisdiction).where(Jurisdiction.jurisdiction_id == "lacity.org")
        ).one()
        facts["la_pk"], facts["tier_pks"] = la.id, [la.id, la.parent_pk]
        keys = {}
        for name in CHANNELS:
            existing = session.execute(
                sa.text(
                    "SELECT id FROM api_key WHERE name = :n AND revoked_at IS NULL"
                    " ORDER BY id LIMIT 1"
                ),
                {"n": name},
            ).scalar()
            keys[name] = existing or create_key(session, name, "benchmark data").record.id
        facts["api_key_pks"] = [keys[name] for name in CHANNELS]
        session.commit()
    return facts


NON_PK_SQL = """
SELECT c.conname, pg_get_constraintdef(c.oid), c.conindid
FROM pg_constraint c WHERE c.conrelid = 'service_request'::regclass AND c.contype IN ('f', 'u')
ORDER BY c.conname"""
INDEX_SQL = """
SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = 'service_request'::regclass AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
                  AND c.conrelid = 'service_request'::regclass)
ORDER BY i.relname"""


def drop_indexes(conn: psycopg.Connection) -> tuple[list, list]:
    constraints = conn.execute(NON_PK_SQL).fetchall()
    indexes = conn.execute(INDEX_SQL).fetchall()
    # Other tables' foreign keys to service_request stay: TRUNCATE ... CASCADE empties them.
    for name, _, _ in constraints:
        conn.execute(f'ALTER TABLE service_request DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return constraints, indexes


def recreate_indexes(conn: psycopg.Connection, constraints: list, indexes: list) -> dict:
    timings = {}
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for name, definition in indexes:
        started = time.perf_counter()
        conn.execute(definition)
        timings[name] = round(time.perf_counter() - started, 2)
    for name, definition, _ in constraints:
        started = time.perf_counter()
        conn.execute(f'ALTER TABLE service_request ADD CONSTRAINT "{name}" {definition}')
        timings[name] = round(time.perf_counter() - started, 2)
    return timings


# -- generation ----------------------------------------------------------------------------------
class Generator:
    def __init__(self, conn: psycopg.Connection, facts: dict, args: argparse.Namespace) -> None:
        self.args = args
        la_pk = self.la_pk = facts["la_pk"]
        self.keys = facts["api_key_pks"]
        services = conn.execute(
            'SELECT id, service_code, service_name, "group", keywords, agency_responsible,'
            " service_notice, location_privacy FROM service WHERE jurisdiction_pk = %s"
            " ORDER BY id",
            (la_pk,),
        ).fetchall()
        self.codes = [s[1] for s in services]
        code_index = {code: i for i, code in enumerate(self.codes)}
        self.service_pk = [s[0] for s in services]
        # public_location: the point, or none (hidden); the LA bundle has no grid service.
        assert {s[7] for s in services} <= {"exact", "hidden"}, "a grid service: not generated"
        self.shown = [s[7] == "exact" for s in services]
        self.agency = [esc(s[5]) for s in services]
        self.notice = [esc(s[6]) for s in services]
        rec = read_records({s[2]: s[1] for s in services})
        self.records = rec
        self.rec_service = np.array([code_index[c] for c in rec["service"]], dtype=np.int64)
        # Rows draw a weekday by the real mean daily volume, then a record of that weekday.
        pool = np.flatnonzero(rec["complete"])
        pool = pool[np.argsort(rec["weekday"][pool], kind="stable")]
        counts = np.bincount(rec["weekday"][pool], minlength=7)
        self.pool, self.pool_count = pool, counts
        self.pool_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.weekday_p = rec["weekday_rate"] / rec["weekday_rate"].sum()

        # Source points: the records' own points, then the LA address points.
        addr = conn.execute(
            "SELECT address_id, address, zipcode, ST_X(location), ST_Y(location)"
            " FROM address_point WHERE jurisdiction_pk = %s ORDER BY id",
            (la_pk,),
        ).fetchall()
        n_rec, n_addr = len(rec["lon"]), len(addr)
        lon = np.concatenate([rec["lon"], np.array([a[3] for a in addr], dtype=float)])
        lat = np.concatenate([rec["lat"], np.array([a[4] for a in addr], dtype=float)])
        wkb = conn.execute(
            "SELECT ST_AsBinary(boundary) FROM jurisdiction WHERE id = %s", (la_pk,)
        ).fetchone()[0]
        boundary = shapely.from_wkb(bytes(wkb))
        shapely.prepare(boundary)
        finite = np.isfinite(lon) & np.isfinite(lat)
        safe = np.zeros(len(lon), dtype=bool)
        pts = shapely.points(lon[finite], lat[finite])
        edge = boundary.boundary
        shapely.prepare(edge)
        safe[finite] = shapely.contains_xy(boundary, lon[finite], lat[finite]) & (
            shapely.distance(edge, pts) > EDGE_MARGIN_DEG
        )
        self.lon, self.lat, self.n_rec = lon, lat, n_rec
        self.rec_safe = safe[:n_rec]
        self.addr_safe_idx = np.flatnonzero(safe[n_rec:]) + n_rec
        self.facts = {
            "records": n_rec,
            "records_skipped": rec["skipped"],
            "complete_days": rec["complete_days"],
            "records_on_complete_days": len(pool),
            "weekday_share": [round(float(x), 3) for x in self.weekday_p],
            "records_located_inside": int(self.rec_safe.sum()),
            "address_points": n_addr,
            "address_points_inside": len(self.addr_safe_idx),
        }
        # Per source point: address fields (escaped), area_pks literal, tsvector of the address.
        self.address = [esc(a) for a in rec["address"]] + [esc(a[1]) for a in addr]
        self.address_id = [r"\N"] * n_rec + [esc(a[0]) for a in addr]
        self.zipcode = [esc(z) for z in rec["zipcode"]] + [esc(a[2]) for a in addr]
        self.verified = ["f" if a else r"\N" for a in rec["address"]] + ["t"] * n_addr
        self.area_pks = self._area_pks(conn, facts["tier_pks"], safe)
        self._tsvectors(conn, services, [a for a in rec["address"]] + [a[1] for a in addr])
        self._times(conn)

    def _area_pks(self, conn: psycopg.Connection, tiers: list[int], safe: np.ndarray) -> list:
        started = time.perf_counter()
        conn.execute("CREATE TEMP TABLE bench_src (i int PRIMARY KEY, geom geometry(Point, 4326))")
        with conn.cursor().copy("COPY bench_src (i, geom) FROM STDIN") as copy:
            for i in np.flatnonzero(safe):
                x, y = float(self.lon[i]), float(self.lat[i])
                copy.write_row((int(i), f"SRID=4326;POINT({x!r} {y!r})"))
        conn.execute("ANALYZE bench_src")
        out = ["{}"] * len(safe)
        rows = conn.execute(
            """
            SELECT s.i, array_agg(a.id ORDER BY a.jurisdiction_pk, a.layer, a.area_id)
            FROM bench_src s
            CROSS JOIN LATERAL (SELECT DISTINCT a.id, a.jurisdiction_pk, a.layer, a.area_id
                                FROM area_part p JOIN area a ON a.id = p.area_pk
                                WHERE p.geom && s.geom AND ST_Covers(p.geom, s.geom)
                                  AND a.jurisdiction_pk = ANY(%s)) a
            GROUP BY s.i""",
            (tiers,),
        ).fetchall()
        for i, pks in rows:
            out[i] = "{" + ",".join(map(str, pks)) + "}"
        conn.execute("DROP TABLE bench_src")
        self.facts["area_pks_s"] = round(time.perf_counter() - started, 2)
        self.facts["source_points_with_areas"] = len(rows)
        return out

    def _tsvectors(self, conn: psycopg.Connection, services, addresses: list) -> None:
        """to_tsvector('english', ...) of each distinct piece, by PostgreSQL."""
        started = time.perf_counter()
        pieces = sorted(
            {a for a in addresses if a}
            | {d for c in self.codes for d in DESCRIPTIONS.get(c, []) if d}
        )
        svc_texts = [" ".join(p for p in (s[2], s[3], *(s[4] or [])) if p) for s in services]
        rows = conn.execute(
            "SELECT t, to_tsvector('english', t)::text FROM unnest(%s::text[]) AS t",
            (pieces + svc_texts,),
        ).fetchall()
        parsed = {t: parse_tsvector(v) for t, v in rows}
        self.addr_ts = [parsed[a] if a else ([], 0) for a in addresses]
        self.svc_ts = [parsed[t] for t in svc_texts]
        self.desc = []  # per service: [(escaped text, parsed tsvector)]
        for code in self.codes:
            self.desc.append(
                [(esc(d), parsed[d] if d else ([], 0)) for d in DESCRIPTIONS.get(code, [None])]
            )
        self._shift_cache: dict = {}
        self.facts["tsvector_pieces_s"] = round(time.perf_counter() - started, 2)

    def search(self, service: int, desc: int, point: int) -> str:
        key = (service, desc, point)
        found = self._shift_cache.get(key)
        if found is not None:
            return found
        d_items, d_top = self.desc[service][desc][1]
        a_items, a_top = self.addr_ts[point]
        s_items, _ = self.svc_ts[service]
        parts = [shifted(d_items, 0), shifted(a_items, d_top), shifted(s_items, d_top + a_top)]
        text = esc(" ".join(p for p in parts if p))
        if len(self._shift_cache) < 2_000_000:
            self._shift_cache[key] = text
        return text

    def _times(self, conn: psycopg.Connection) -> None:
        args = self.args
        self.end = int(args.end.timestamp())
        self.start = self.end - args.days * 86400
        first = (args.end.astimezone(TZ) - dt.timedelta(days=args.days + 1)).date()
        self.monday = first - dt.timedelta(days=first.weekday())
        self.weeks = (args.days + 16) // 7
        ndays = self.weeks * 7 + 7
        # UTC offset (seconds) of each local day at noon: DST changes at 2 am, close enough.
        self.offset = np.array(
            [
                dt.datetime.combine(self.monday + dt.timedelta(days=d), dt.time(12), TZ)
                .utcoffset()
                .total_seconds()
                for d in range(ndays)
            ],
            dtype=np.int64,
        )
        self.monday_epoch = int(dt.datetime.combine(self.monday, dt.time(0), dt.UTC).timestamp())

    def chunk(self, number: int, n: int) -> str:
        """COPY text of rows [number * CHUNK, number * CHUNK + n)."""
        rng = np.random.default_rng([self.args.seed, number])
        rec = self.records
        wd = rng.choice(7, size=n, p=self.weekday_p)
        r = self.pool[self.pool_start[wd] + (rng.random(n) * self.pool_count[wd]).astype(np.int64)]
        use_addr = (rng.random(n) < self.args.address_share) | ~self.rec_safe[r]
        point = np.where(
            use_addr, self.addr_safe_idx[rng.integers(0, len(self.addr_safe_idx), n)], r
        )
        coslat = np.cos(np.radians(self.lat[point]))
        jx = np.clip(rng.normal(0, JITTER_M, n), -JITTER_MAX_M, JITTER_MAX_M)
        jy = np.clip(rng.normal(0, JITTER_M, n), -JITTER_MAX_M, JITTER_MAX_M)
        lon = self.lon[point] + jx / (111_320 * coslat)
        lat = self.lat[point] + jy / 110_574
        # Time: the record's weekday and local time of day, in a uniformly drawn week.
        sod = rec["sod"][r] + np.where(rec["minute_res"][r], rng.integers(0, 60, n), 0)
        day = rec["weekday"][r].astype(np.int64)
        at = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        while len(todo):
            d = rng.integers(0, self.weeks, len(todo)) * 7 + day[todo]
            t = self.monday_epoch + d * 86400 + sod[todo] - self.offset[d]
            ok = (t >= self.start) & (t < self.end)
            at[todo[ok]] = t[ok]
            todo = todo[~ok]
        closes = at + rec["duration"][r].astype(np.int64)
        closed = rec["closed"][r] & (closes < self.end)
        updated = np.where(closed, closes, at)
        requested_s = np.datetime_as_string(at.astype("datetime64[s]"), unit="s")
        updated_s = np.datetime_as_string(updated.astype("datetime64[s]"), unit="s")
        service = self.rec_service[r]
        ndesc = np.array([len(d) for d in self.desc])
        desc = (rng.random(n) * ndesc[service]).astype(np.int64)
        channel = rec["channel"][r]
        keys = self.keys
        detailed = rec["detailed"]
        lines = []
        for i in range(n):
            s, p, k = int(service[i]), int(point[i]), int(r[i])
            req = requested_s[i] + "+00"
            where = f"SRID=4326;POINT({lon[i]:.7f} {lat[i]:.7f})"
            if closed[i]:
                status, det = "closed", detailed[k]
            else:
                status, det = (
                    "open",
                    "open"
                    if detailed[k] in ("fixed", "cancelled", "internal_referral")
                    else detailed[k],
                )
            lines.append(
                "\t".join(
                    (
                        str(self.la_pk),
                        str(self.service_pk[s]),
                        status,
                        det,
                        self.desc[s][int(desc[i])][0],
                        self.agency[s],
                        self.notice[s],
                        req,
                        updated_s[i] + "+00",
                        self.address[p],
                        self.address_id[p],
                        self.zipcode[p],
                        where,
                        where if self.shown[s] else "\\N",  # public_location
                        updated_s[i] + "+00" if closed[i] else "\\N",  # closed_at
                        self.verified[p],
                        self.area_pks[p],
                        "{}",
                        str(keys[channel[i]]),
                        self.search(s, int(desc[i]), p),
                        req,
                        "t",
                    )
                )
            )
        lines.append("")
        return "\n".join(lines)


# -- checks --------------------------------------------------------------------------------------
def check(url: str, args: argparse.Namespace) -> dict:
    """SQL checks of a loaded table against the sources and the server's own queries."""
    from open311.repository import points as geography
    from open311.repository.request_filters import Filters
    from open311.repository.request_search import public_query

    out: dict = {}
    engine = make_engine(url)
    with psycopg.connect(psycopg_dsn(url), autocommit=True) as conn:
        la_pk, parent = conn.execute(
            "SELECT id, parent_pk FROM jurisdiction WHERE jurisdiction_id = 'lacity.org'"
        ).fetchone()
        codes = dict(
            conn.execute(
                "SELECT service_name, service_code FROM service WHERE jurisdiction_pk = %s",
                (la_pk,),
            ).fetchall()
        )
        rec = read_records(codes)
        n_src = len(rec["service"])
        total = conn.execute("SELECT count(*) FROM service_request").fetchone()[0]
        # 1. Service mix.
        got = dict(
            conn.execute(
                "SELECT s.service_code, count(*) FROM service_request r"
                " JOIN service s ON s.id = r.service_pk GROUP BY 1"
            ).fetchall()
        )
        src = Counter(rec["service"])
        mix = {
            c: (round(100 * src[c] / n_src, 2), round(100 * got.get(c, 0) / total, 2))
            for c in sorted(src, key=src.get, reverse=True)
        }
        out["service_mix_pct_source_vs_table"] = mix
        out["service_mix_max_diff_pp"] = round(max(abs(a - b) for a, b in mix.values()), 2)
        # 2. Every point inside the LA boundary (subdivided parts, as the server tests it).
        out["points_outside_boundary"] = conn.execute(
            """
            SELECT count(*) FROM service_request r WHERE NOT EXISTS (
              SELECT 1 FROM jurisdiction_part p WHERE p.jurisdiction_pk = %s
                AND p.geom && r.location AND ST_Covers(p.geom, r.location))""",
            (la_pk,),
        ).fetchone()[0]
        out["points_null"] = conn.execute(
            "SELECT count(*) FROM service_request WHERE location IS NULL"
        ).fetchone()[0]
        # 3. Hour of day and weekday (local time) against the records' CreatedDate.
        for name, sql, src_values, size in (
            (
                "hour",
                "extract(hour FROM requested_datetime AT TIME ZONE 'America/Los_Angeles')::int",
                rec["sod"] // 3600,
                24,
            ),
            (
                "weekday",
                "(extract(isodow FROM requested_datetime AT TIME ZONE"
                " 'America/Los_Angeles')::int - 1)",
                rec["weekday"],
                7,
            ),
        ):
            rows = dict(
                conn.execute(f"SELECT {sql}, count(*) FROM service_request GROUP BY 1").fetchall()
            )
            table = np.array([rows.get(h, 0) for h in range(size)]) / total
            source = np.bincount(src_values.astype(int), minlength=size) / n_src
            if name == "weekday":  # the generator's target: mean records per day
                source = rec["weekday_rate"] / rec["weekday_rate"].sum()
            else:  # records of complete days (the others are cut off by the 10k limit)
                source = np.bincount(src_values[rec["complete"]].astype(int), minlength=size)
                source = source / source.sum()
            out[f"{name}_pct_source"] = [round(100 * float(v), 1) for v in source]
            out[f"{name}_pct_table"] = [round(100 * float(v), 1) for v in table]
            out[f"{name}_max_diff_pp"] = round(100 * float(np.abs(table - source).max()), 2)
            out[f"{name}_total_variation"] = round(float(np.abs(table - source).sum() / 2), 4)
        # 4. Status and time to close.
        out["closed_pct_source"] = round(100 * float(np.mean(rec["closed"])), 2)
        out["closed_pct_table"], out["median_hours_to_close"], out["span"] = conn.execute("""
            SELECT round(100.0 * avg((status = 'closed')::int), 2),
                   round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP
                     (ORDER BY updated_datetime - requested_datetime)
                     FILTER (WHERE status = 'closed')) / 3600)::numeric, 1),
                   min(requested_datetime)::text || ' .. ' || max(requested_datetime)::text
            FROM service_request""").fetchone()
        closed_h = np.array(rec["duration"])[np.array(rec["closed"], dtype=bool)] / 3600
        out["median_hours_to_close_source"] = round(float(np.median(closed_h)), 1)
        out["detailed_status"] = dict(
            conn.execute(
                "SELECT detailed_status, count(*) FROM service_request GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        )
        # 5. search = to_tsvector of what search_text() concatenates, on a sample.
        out["search_sample"] = dict(
            zip(
                ("rows", "same_lexemes", "same_with_positions"),
                conn.execute("""
            WITH s AS (
              SELECT r.search, to_tsvector('english', concat_ws(' ', r.description, r.address,
                       v.service_name, v."group", array_to_string(v.keywords, ' '))) AS expected
              FROM service_request r JOIN service v ON v.id = r.service_pk
              ORDER BY r.id LIMIT 2000)
            SELECT count(*), count(*) FILTER (WHERE strip(search) = strip(expected)),
                   count(*) FILTER (WHERE search = expected) FROM s""").fetchone(),
                strict=True,
            )
        )
        rows = conn.execute(
            "SELECT id, ST_X(location), ST_Y(location), area_pks"
            " FROM service_request ORDER BY id LIMIT 300"
        ).fetchall()
    # 6. area_pks against the server's own areas_at (jittered point vs source point).
    with Session(engine) as session:
        same = sum(
            sorted(a.id for a in geography.areas_at(session, [la_pk, parent], x, y)) == sorted(pks)
            for _, x, y, pks in rows
        )
        out["area_pks_same_as_areas_at"] = f"{same}/{len(rows)}"
        # 7. The server's GET requests query: default window, 1000 newest.
        now = dt.datetime.now(dt.UTC)
        query = public_query(
            la_pk, Filters(start=now - dt.timedelta(days=90), end_before=now), limit=1000
        )
        session.execute(query).all()  # warm
        started = time.perf_counter()
        result = session.execute(query).all()
        out["get_requests_rows"] = len(result)
        out["get_requests_ms"] = round(1000 * (time.perf_counter() - started), 1)
        out["get_requests_newest"] = str(result[0].requested_datetime) if result else None
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in session.execute(sa.text(f"EXPLAIN {compiled}")))
        out["get_requests_plan_uses"] = sorted(set(re.findall(r"ix_service_request_\w+", plan)))
    engine.dispose()
    out["rows"] = total
    return out


COLUMNS = (
    "jurisdiction_pk, service_pk, status, detailed_status, description, "
    "agency_responsible, service_notice, requested_datetime, updated_datetime, address, "
    "address_id, zipcode, location, public_location, closed_at, address_verified, area_pks, "
    "attributes, api_key_pk, "
    "search, accepted_at, public"
)


def relation_sizes(conn: psycopg.Connection) -> dict:
    rows = conn.execute("""
        SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c
        WHERE c.oid = 'service_request'::regclass OR c.oid IN (
            SELECT indexrelid FROM pg_index WHERE indrelid = 'service_request'::regclass)
        ORDER BY pg_relation_size(c.oid) DESC""").fetchall()
    total = conn.execute(
        "SELECT pg_total_relation_size('service_request'), pg_indexes_size('service_request')"
    ).fetchone()
    return {"total": total[0], "indexes": total[1], **dict(rows)}


def mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: open311_bench_5m in "
        "the private cluster, or OPEN311_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument("--days", type=int, default=3 * 365, help="time span (default 3 years)")
    parser.add_argument(
        "--end",
        type=dt.datetime.fromisoformat,
        default=dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0),
        help="end of the time span, ISO (default: today 00:00 UTC)",
    )
    parser.add_argument(
        "--address-share",
        type=float,
        default=0.3,
        help="share of rows located at an address point (default 0.3)",
    )
    parser.add_argument("--batch", type=int, default=250_000, help="rows per COPY/commit")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database (empty service_request) instead of recreating it",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="after the load, compare the table with the sources (SQL)",
    )
    parser.add_argument(
        "--check-only", action="store_true", help="only run the checks on the existing database"
    )
    args = parser.parse_args(argv)
    if args.end.tzinfo is None:
        args.end = args.end.replace(tzinfo=dt.UTC)

    if args.check_only:
        args.reuse = True
        url = database_url(args)
        print_checks(check(url, args))
        return 0

    t0 = time.perf_counter()
    url = database_url(args)
    engine = make_engine(url)
    facts = setup(engine)
    engine.dispose()
    print(
        f"database ready, bundles and keys loaded: {time.perf_counter() - t0:.1f} s "
        f"(LA pk {facts['la_pk']}, keys {facts['api_key_pks']})",
        flush=True,
    )

    with psycopg.connect(psycopg_dsn(url), autocommit=True) as conn:
        t1 = time.perf_counter()
        gen = Generator(conn, facts, args)
        print(f"sources: {gen.facts} ({time.perf_counter() - t1:.1f} s)", flush=True)

        conn.execute("TRUNCATE service_request RESTART IDENTITY CASCADE")
        constraints, indexes = drop_indexes(conn)
        conn.execute("SET synchronous_commit = off")
        t2 = time.perf_counter()
        done, number = 0, 0
        while done < args.rows:
            batch_end = min(done + args.batch, args.rows)
            with (
                conn.transaction(),
                conn.cursor().copy(f"COPY service_request ({COLUMNS}) FROM STDIN") as copy,
            ):
                while done < batch_end:
                    n = min(CHUNK, args.rows - number * CHUNK)
                    copy.write(gen.chunk(number, n))
                    done += n
                    number += 1
            elapsed = time.perf_counter() - t2
            print(f"  {done:>10,} rows  {elapsed:7.1f} s  {done / elapsed:,.0f} rows/s", flush=True)
        copy_s = time.perf_counter() - t2
        t3 = time.perf_counter()
        timings = recreate_indexes(conn, constraints, indexes)
        index_s = time.perf_counter() - t3
        t4 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) service_request")
        analyze_s = time.perf_counter() - t4
        sizes = relation_sizes(conn)
        count = conn.execute("SELECT count(*) FROM service_request").fetchone()[0]
    total = time.perf_counter() - t0
    print(f"COPY: {count:,} rows in {copy_s:.1f} s = {count / copy_s:,.0f} rows/s")
    print(
        f"indexes and constraints: {index_s:.1f} s "
        + ", ".join(f"{k} {v}" for k, v in timings.items())
    )
    print(f"VACUUM ANALYZE: {analyze_s:.1f} s")
    print(f"total: {total:.1f} s ({count / total:,.0f} rows/s end to end)")
    print(f"service_request: {mb(sizes.pop('total'))} in all, indexes {mb(sizes.pop('indexes'))}")
    for name, size in sizes.items():
        print(f"  {name:<45} {mb(size):>12}")
    if args.check:
        print_checks(check(url, args))
    return 0


def print_checks(results: dict) -> None:
    print("checks:")
    for key, value in results.items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    raise SystemExit(main())
