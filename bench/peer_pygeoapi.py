#!/usr/bin/env python3
"""A peer side by side: pygeoapi serving the same table (issue 5, point 4).

Not part of the test suite. pygeoapi (OGC API - Features) publishes ``service_request`` through
its PostgreSQL provider (``pygeoapi.provider.sql.PostgreSQLProvider``: SQLAlchemy + psycopg2 +
GeoAlchemy2) under gunicorn on this machine; we time the list, single-item and bbox scenarios
against it and against our server with the same ids and boxes, and print our ratio to it.

For the harness (``bench/run.py``)::

    from bench import peer_pygeoapi as peer          # or importlib, by path
    with peer.start(database_url) as p:               # installs pygeoapi on first use
        p.base_url                                    # http://127.0.0.1:PORT
        peer.list_paths()                             # ["/collections/requests/items?..."]
        peer.single_paths(ids)                        # one path per id
        peer.bbox_paths(boxes)                        # one path per (minx, miny, maxx, maxy)
    ids = peer.sample_ids(database_url, 200)          # seeded, existing public ids
    boxes = peer.sample_boxes(database_url, 200)      # seeded boxes around existing points
    peer.our_list_paths() / our_single_paths(ids) / our_bbox_paths(boxes)   # our equivalents

Standalone (needs the project's .venv for psycopg; re-executes itself there if needed)::

    .venv/bin/python bench/peer_pygeoapi.py --database-url URL [--duration 10]

runs the three scenarios with wrk (2 threads, 8 connections, --latency, after a warm-up run)
against pygeoapi and against our server (gunicorn, 2 workers, ``wsgi:app``), prints one table
(p50, p99, req/s of each, ours/peer ratios) and writes ``bench/results/peer.json``.

The database: the private cluster listens on a Unix socket only (no TCP). pygeoapi's provider
builds its URL with ``sqlalchemy.engine.URL.create(host=..., port=...)`` and psycopg2/libpq read
a host that starts with ``/`` as a socket directory, so the socket path is given as ``host``
(port 5432 only names the socket file ``.s.PGSQL.5432``): no TCP listener is needed.

Everything of pygeoapi lives under ``var/``: the virtualenv ``var/peer-venv`` (made with the
system python3, pygeoapi 0.21 from pip) and the config + OpenAPI document in ``var/peer``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "peer-venv"
WORKDIR = ROOT / "var" / "peer"
RESULTS = ROOT / "bench" / "results" / "peer.json"
OUR_PYTHON = ROOT / ".venv" / "bin" / "python"
WRK = "/usr/bin/wrk"

PIP_REQUIREMENTS = [
    "pygeoapi==0.21.*",
    "gunicorn",
    "psycopg2-binary",
    "sqlalchemy>=2",
    "geoalchemy2",
]
COLLECTION = "requests"
TABLE = "service_request"
# The columns our GET requests answers from (service_code/name come from service_pk by a join;
# pygeoapi serves the table as it is, so it gets the key).
PROPERTIES = [
    "id",
    "status",
    "detailed_status",
    "status_notes",
    "service_pk",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "media_url",
]
PAGE = 1000
JURISDICTION = "lacity.org"
DEFAULT_WORKERS = 2

__all__ = [
    "Peer",
    "start",
    "start_ours",
    "list_paths",
    "single_paths",
    "bbox_paths",
    "our_list_paths",
    "our_single_paths",
    "our_bbox_paths",
    "sample_ids",
    "sample_boxes",
    "ensure_venv",
    "run_wrk",
    "parse_wrk",
    "main",
]


# -- scenario paths ------------------------------------------------------------------------------
def _since(window_days: float | None) -> str:
    if not window_days:
        return ""
    start = time.gmtime(time.time() - window_days * 86400)
    return "&datetime=" + time.strftime("%Y-%m-%dT%H:%M:%SZ", start) + "/.."


def list_paths(window_days: float | None = None) -> list[str]:
    """pygeoapi's list: 1000 items, newest first (``sortby`` works with the SQL provider).
    ``window_days`` adds ``datetime=<now - window>/..`` (time_field requested_datetime), the
    window our list applies by default (90 days)."""
    return [
        f"/collections/{COLLECTION}/items?f=json&limit={PAGE}&sortby=-requested_datetime"
        f"{_since(window_days)}"
    ]


def single_paths(ids: list[int]) -> list[str]:
    return [f"/collections/{COLLECTION}/items/{i}?f=json" for i in ids]


def _box(b: tuple[float, float, float, float]) -> str:
    return ",".join(f"{v:.6f}" for v in b)


def bbox_paths(
    boxes: list[tuple[float, float, float, float]],
    window_days: float | None = None,
    newest_first: bool = False,
) -> list[str]:
    """pygeoapi's bbox query. As the issue names it: no window, no sortby (the provider then
    orders by id). ``window_days`` and ``newest_first`` make it our spatial list's question
    (1000 newest of the window in the box)."""
    sort = "&sortby=-requested_datetime" if newest_first else ""
    return [
        f"/collections/{COLLECTION}/items?f=json&limit={PAGE}&bbox={_box(b)}{sort}"
        f"{_since(window_days)}"
        for b in boxes
    ]


def filter_paths(cql2: str) -> list[str]:
    """pygeoapi's list with a CQL2 text filter on its table's columns, newest first (without
    filter-lang: pygeoapi 0.21 refuses cql2-text by that name and reads text by default)."""
    query = urllib.parse.urlencode({"filter": cql2})
    return [
        f"/collections/{COLLECTION}/items?f=json&limit={PAGE}&sortby=-requested_datetime&{query}"
    ]


def our_ogc_paths(cql2: str | None = None) -> list[str]:
    """Our OGC API items of the same requests: 1000 newest, optionally CQL2-filtered."""
    query = f"&{urllib.parse.urlencode({'filter': cql2})}" if cql2 else ""
    return [f"/open311/ogc/{JURISDICTION}/collections/requests/items?limit={PAGE}{query}"]


def our_list_paths() -> list[str]:
    return [f"/open311/v2/requests.json?jurisdiction_id={JURISDICTION}"]


def our_single_paths(ids: list[int]) -> list[str]:
    return [f"/open311/v2/requests/{i}.json?jurisdiction_id={JURISDICTION}" for i in ids]


def our_bbox_paths(boxes: list[tuple[float, float, float, float]]) -> list[str]:
    return [
        f"/open311/v2/requests.json?jurisdiction_id={JURISDICTION}&bbox={_box(b)}" for b in boxes
    ]


# -- database ------------------------------------------------------------------------------------
def db_params(database_url: str) -> dict:
    """host/port/dbname/user/password of a SQLAlchemy or libpq URL, the socket dir as host."""
    parts = urllib.parse.urlsplit(database_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    host = urllib.parse.unquote(parts.hostname or "") or query.get("host") or "/var/run/postgresql"
    port = parts.port or int(query.get("port", 5432))
    return {
        "host": host,
        "port": port,
        "dbname": urllib.parse.unquote(parts.path.lstrip("/")),
        "user": urllib.parse.unquote(parts.username or "") or os.environ.get("USER", "postgres"),
        "password": urllib.parse.unquote(parts.password) if parts.password else None,
    }


def _connect(database_url: str):
    import psycopg  # the project's venv; imported late so that importing this module is cheap

    p = db_params(database_url)
    return psycopg.connect(
        host=p["host"],
        port=p["port"],
        dbname=p["dbname"],
        user=p["user"],
        password=p["password"],
        autocommit=True,
    )


def sample_ids(database_url: str, n: int = 200, seed: int = 311) -> list[int]:
    """n random existing public ids (deterministic for a given seed and table)."""
    with _connect(database_url) as conn:
        # md5 of (seed, id), not random(): the same ids whatever plan (parallel scans) runs
        rows = conn.execute(
            f"SELECT id FROM {TABLE} WHERE public ORDER BY md5(%s || ':' || id::text) LIMIT %s",
            (f"ids{seed}", n),
        ).fetchall()
    return [r[0] for r in rows]


def sample_boxes(
    database_url: str, n: int = 200, seed: int = 311, half_size: float = 0.01
) -> list[tuple[float, float, float, float]]:
    """n boxes of 2*half_size degrees (0.01: ~1.8 km E-W x 2.2 km N-S in LA), each centred on a
    random existing request point, so the boxes follow the density of the data."""
    with _connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT ST_X(location), ST_Y(location) FROM {TABLE} "
            "WHERE public AND location IS NOT NULL ORDER BY md5(%s || ':' || id::text) LIMIT %s",
            (f"boxes{seed}", n),
        ).fetchall()
    return [
        (
            round(x - half_size, 6),
            round(y - half_size, 6),
            round(x + half_size, 6),
            round(y + half_size, 6),
        )
        for x, y in rows
    ]


# -- pygeoapi ------------------------------------------------------------------------------------
def ensure_venv(quiet: bool = True) -> Path:
    """var/peer-venv with pygeoapi and its PostgreSQL provider's dependencies; its bin dir."""
    bindir = VENV / "bin"
    marker = VENV / ".installed"
    if marker.exists() and (bindir / "pygeoapi").exists() and (bindir / "gunicorn").exists():
        return bindir
    python = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    if not (bindir / "python").exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    q = ["-q"] if quiet else []
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", *q, "--upgrade", "pip"], check=True
    )
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", *q, *PIP_REQUIREMENTS], check=True
    )
    marker.write_text("\n".join(PIP_REQUIREMENTS) + "\n")
    return bindir


def peer_versions() -> dict:
    out = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "('pygeoapi', 'SQLAlchemy', 'GeoAlchemy2', 'psycopg2-binary', 'gunicorn', 'Flask', "
            "'shapely')}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML flow scalar


def write_config(database_url: str, port: int, workdir: Path = WORKDIR) -> tuple[Path, Path]:
    """The pygeoapi config (one collection on service_request) and its OpenAPI document."""
    workdir.mkdir(parents=True, exist_ok=True)
    p = db_params(database_url)
    password = (
        f"\n                      password: {_yaml_str(p['password'])}" if p["password"] else ""
    )
    props = "\n".join(f"                  - {name}" for name in PROPERTIES)
    config = f"""\
# Written by bench/peer_pygeoapi.py: do not edit (rewritten on every start).
server:
  bind:
    host: 127.0.0.1
    port: {port}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  languages:
    - en-US
  cors: false
  pretty_print: false
  limits:
    default_items: {PAGE}
    max_items: {PAGE}
  map:
    url: https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png
    attribution: OpenStreetMap
logging:
  level: ERROR
metadata:
  identification:
    title: Open311 bench peer
    description: service_request served by pygeoapi's PostgreSQL provider
    keywords: [open311, bench]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: https://example.org
  license:
    name: CC-BY 4.0 license
    url: https://creativecommons.org/licenses/by/4.0/
  provider:
    name: bench
    url: https://example.org
  contact:
    name: bench
    email: bench@example.org
resources:
  {COLLECTION}:
    type: collection
    title: Service requests
    description: The service_request table of {_yaml_str(p["dbname"])}
    keywords: [open311]
    links: []
    extents:
      spatial:
        bbox: [-118.67, 33.70, -118.15, 34.34]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    limits:
      default_items: {PAGE}
      max_items: {PAGE}
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {_yaml_str(p["host"])}
          port: {p["port"]}
          dbname: {_yaml_str(p["dbname"])}
          user: {_yaml_str(p["user"])}{password}
          search_path: [public]
        id_field: id
        table: {TABLE}
        geom_field: location
        time_field: requested_datetime
        properties:
{props}
"""
    cfg = workdir / "pygeoapi-config.yml"
    cfg.write_text(config)
    openapi = workdir / "pygeoapi-openapi.yml"
    subprocess.run(
        [
            str(VENV / "bin" / "pygeoapi"),
            "openapi",
            "generate",
            str(cfg),
            "--output-file",
            str(openapi),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYGEOAPI_CONFIG": str(cfg)},
    )
    return cfg, openapi


# -- servers -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited ({proc.returncode}) before it was ready; "
                f"log: {log}\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {timeout:.0f} s: {url}; log: {log}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # gunicorn's arbiter stops its workers
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Peer:
    """A running server: ``base_url``; ``stop()`` (or leave the ``with`` block) ends it."""

    name: str
    base_url: str
    proc: subprocess.Popen
    log: Path
    info: dict = field(default_factory=dict)

    def stop(self) -> None:
        _stop(self.proc)

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(database_url: str, port: int | None = None, workers: int = DEFAULT_WORKERS) -> Peer:
    """Install pygeoapi if missing, write its config, serve it with gunicorn, wait until ready."""
    bindir = ensure_venv()
    port = port or free_port()
    cfg, openapi = write_config(database_url, port)
    log = WORKDIR / "gunicorn.log"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(openapi)}
    proc = subprocess.Popen(
        [
            str(bindir / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "pygeoapi.flask_app:APP",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=WORKDIR,
        start_new_session=True,
    )
    peer = Peer(
        "pygeoapi",
        f"http://127.0.0.1:{port}",
        proc,
        log,
        {"config": str(cfg), "openapi": str(openapi), "workers": workers},
    )
    try:
        # the collection itself: the provider has connected and reflected the table
        _wait_ready(proc, f"{peer.base_url}/collections/{COLLECTION}/items?f=json&limit=1", log)
    except BaseException:
        peer.stop()
        raise
    return peer


def start_ours(database_url: str, port: int | None = None, workers: int = DEFAULT_WORKERS) -> Peer:
    """Our server under gunicorn (``wsgi:app``) on the same database."""
    port = port or free_port()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    log = WORKDIR / "ours-gunicorn.log"
    env = {**os.environ, "OPEN311_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [
            str(OUR_PYTHON),
            "-m",
            "gunicorn",
            "--chdir",
            str(ROOT),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ours = Peer("ours", f"http://127.0.0.1:{port}", proc, log, {"workers": workers})
    try:
        _wait_ready(
            proc, f"{ours.base_url}/open311/v2/services.json?jurisdiction_id={JURISDICTION}", log
        )
    except BaseException:
        ours.stop()
        raise
    return ours


# -- wrk -----------------------------------------------------------------------------------------
_LUA = """\
local paths = {%s}
local i = 0
function setup(thread)
  thread:set("offset", math.random(#paths))
end
function init(args)
  i = offset or 0
end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _bytes(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)([KMGT]?B)", text.strip())
    factor = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}[m.group(2)]
    return float(m.group(1)) * factor


def parse_wrk(out: str) -> dict:
    """p50/p75/p90/p99 (ms), req/s, requests, bytes read, errors of a ``wrk --latency`` run."""
    res: dict = {}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M):
        res[f"p{pct}_ms"] = round(_ms(value), 3)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["req_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", out)
    if m:
        res["requests"] = int(m.group(1))
        res["bytes_per_request"] = round(_bytes(m.group(3)) / max(int(m.group(1)), 1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    if not res.get("requests"):  # nothing completed within the run: no figures, not zeros
        res.update({k: None for k in ("p50_ms", "p75_ms", "p90_ms", "p99_ms", "req_s")})
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    return res


def run_wrk(
    base_url: str,
    paths: list[str],
    duration: float = 10,
    threads: int = 2,
    connections: int = 8,
    timeout: str = "30s",
) -> dict:
    """wrk over the paths (round robin, each thread from its own random offset)."""
    lua = _LUA % ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        out = subprocess.run(
            [
                WRK,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{duration:g}s",
                "--timeout",
                timeout,
                "--latency",
                "-s",
                script,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    res = parse_wrk(out)
    res["raw"] = out
    return res


# -- one look at the answers ---------------------------------------------------------------------
def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def describe(name: str, base_url: str, paths: list[str]) -> dict:
    """Status, bytes, number of items and order of the first few answers of a scenario."""
    sizes, items, statuses, sorted_desc, matched = [], [], [], [], []
    for path in paths[:20]:
        status, body = _fetch(base_url + path)
        statuses.append(status)
        sizes.append(len(body))
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        if name == "pygeoapi":
            feats = doc.get("features") if isinstance(doc, dict) and "features" in doc else [doc]
            items.append(len(feats))
            if "numberMatched" in doc:
                matched.append(doc["numberMatched"])
            times = [f.get("properties", {}).get("requested_datetime") for f in feats]
        else:
            rows = doc if isinstance(doc, list) else [doc]
            items.append(len(rows))
            times = [r.get("requested_datetime") for r in rows if isinstance(r, dict)]
        times = [t for t in times if t]
        if len(times) > 1:
            sorted_desc.append(times == sorted(times, reverse=True))
    return {
        "sampled": len(sizes),
        "statuses": sorted(set(statuses)),
        "bytes_mean": round(sum(sizes) / len(sizes)) if sizes else None,
        "items_mean": round(sum(items) / len(items), 1) if items else None,
        "number_matched_mean": round(sum(matched) / len(matched), 1) if matched else None,
        "newest_first": all(sorted_desc) if sorted_desc else None,
    }


# -- standalone ----------------------------------------------------------------------------------
def _machine() -> dict:
    info = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        info["debian"] = Path("/etc/debian_version").read_text().strip()
    except OSError:
        pass
    try:
        model = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        info["cpu"] = model[0] if model else None
    except OSError:
        pass
    return info


def _db_versions(database_url: str) -> dict:
    with _connect(database_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        rows = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    return {"postgresql": pg, "postgis": postgis, "rows": rows}


def _ratio(a, b):
    return round(a / b, 2) if a and b else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database-url",
        default=os.environ.get("OPEN311_BENCH_DATABASE_URL"),
        help="SQLAlchemy URL of a database made by bench/generate.py",
    )
    ap.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of untimed wrk before each")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    ap.add_argument("--ids", type=int, default=200, help="random ids for the single scenario")
    ap.add_argument("--boxes", type=int, default=200, help="random boxes for the bbox scenario")
    ap.add_argument("--box-half-size", type=float, default=0.01, help="degrees")
    ap.add_argument("--seed", type=int, default=311)
    ap.add_argument(
        "--window-days",
        type=float,
        default=90,
        help="also run list and bbox with the peer limited to our default window "
        "(datetime=<now - N days>/.., newest first); 0: skip",
    )
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if not args.database_url:
        ap.error("--database-url (or OPEN311_BENCH_DATABASE_URL) is required")

    ids = sample_ids(args.database_url, args.ids, args.seed)
    boxes = sample_boxes(args.database_url, args.boxes, args.seed, args.box_half_size)
    scenarios = [
        ("list", our_list_paths(), list_paths()),
        ("single", our_single_paths(ids), single_paths(ids)),
        ("bbox", our_bbox_paths(boxes), bbox_paths(boxes)),
    ]
    if args.window_days:
        # the same questions as ours: the peer also limited to the window, newest first
        scenarios += [
            ("list_win", our_list_paths(), list_paths(args.window_days)),
            (
                "bbox_win",
                our_bbox_paths(boxes),
                bbox_paths(boxes, args.window_days, newest_first=True),
            ),
        ]
    results: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": _machine(),
        "database": _db_versions(args.database_url),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "database_url"
        },
        "scenarios": {},
    }
    results["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    if results["loadavg_before"][0] > 1.0:
        print(
            f"warning: load average {results['loadavg_before'][0]} before the run: something "
            "else is using the CPUs, the figures will be noisy",
            file=sys.stderr,
        )
    print("starting pygeoapi and our server ...", file=sys.stderr)
    with (
        start(args.database_url, workers=args.workers) as peer,
        start_ours(args.database_url, workers=args.workers) as ours,
    ):
        results["versions"] = peer_versions()
        for name, our_paths, peer_paths in scenarios:
            entry: dict = {
                "ours_paths_example": our_paths[0],
                "peer_paths_example": peer_paths[0],
                "distinct_paths": len(our_paths),
            }
            for who, server, paths in (("peer", peer, peer_paths), ("ours", ours, our_paths)):
                entry[f"{who}_answer"] = describe(server.name, server.base_url, paths)
                if args.warmup > 0:
                    run_wrk(server.base_url, paths, args.warmup, args.threads, args.connections)
                print(f"  {name:7} {server.name:9} wrk {args.duration:g} s ...", file=sys.stderr)
                res = run_wrk(server.base_url, paths, args.duration, args.threads, args.connections)
                entry[who] = {k: v for k, v in res.items() if k != "raw"}
                # the machine is shared: a load far above the 2 workers' means a noisy figure
                entry[who]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
                entry[f"{who}_wrk_output"] = res["raw"]
            o, p = entry["ours"], entry["peer"]
            entry["ratio_ours_to_peer"] = {
                "p50": _ratio(o.get("p50_ms"), p.get("p50_ms")),
                "p99": _ratio(o.get("p99_ms"), p.get("p99_ms")),
                "req_s": _ratio(o.get("req_s"), p.get("req_s")),
            }
            results["scenarios"][name] = entry

    _print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {args.output}")
    return 0


def _print_table(results: dict) -> None:
    db = results["database"]
    v = results.get("versions", {})
    print(
        f"\npeer: pygeoapi {v.get('pygeoapi')} (PostgreSQL provider) vs ours, "
        f"{db['rows']:,} rows, PostgreSQL {db['postgresql']} + PostGIS {db['postgis']}, "
        f"{results['machine']['cpus']} cores; wrk {results['settings']['threads']} threads "
        f"{results['settings']['connections']} connections "
        f"{results['settings']['duration']:g} s; ratio = ours / peer "
        f"(latency: < 1 we are faster; req/s: > 1 we are faster)"
    )
    head = (
        f"{'scenario':8} {'ours p50':>9} {'p99':>9} {'req/s':>7} {'n':>5} {'KB':>5} | "
        f"{'peer p50':>9} {'p99':>9} {'req/s':>7} {'n':>5} {'KB':>5} | "
        f"{'p50 x':>6} {'p99 x':>6} {'req/s x':>7}  errors o/p"
    )
    print(head)
    print("-" * len(head))

    def ms(x):
        return f"{x:7.1f}ms" if x is not None else f"{'-':>9}"

    def num(x, fmt):
        return format(x, fmt) if x is not None else "-"

    for name, e in results["scenarios"].items():
        o, p, r = e["ours"], e["peer"], e["ratio_ours_to_peer"]
        cols = []
        for x in (o, p):
            cols.append(
                f"{ms(x['p50_ms'])} {ms(x['p99_ms'])} {num(x['req_s'], '7.1f'):>7} "
                f"{x.get('requests') or 0:5d} "
                f"{num((x.get('bytes_per_request') or 0) / 1024, '5.0f'):>5}"
            )
        errors = [x["non_2xx"] + x["socket_errors"] for x in (o, p)]
        print(
            f"{name:8} {cols[0]} | {cols[1]} | {num(r['p50'], '6.2f'):>6} "
            f"{num(r['p99'], '6.2f'):>6} {num(r['req_s'], '7.2f'):>7}  "
            f"{errors[0]}/{errors[1]}"
        )


def _reexec_in_project_venv() -> None:
    """Standalone use needs psycopg (the project's venv): re-run there when it is missing."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if OUR_PYTHON.exists() and Path(sys.prefix).resolve() != OUR_PYTHON.parent.parent.resolve():
            os.execv(str(OUR_PYTHON), [str(OUR_PYTHON), *sys.argv])
        raise


if __name__ == "__main__":
    _reexec_in_project_venv()
    sys.exit(main())
