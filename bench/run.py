#!/usr/bin/env python3
"""Benchmarks of the hot paths under gunicorn (issue 5, points 2 and 3): ``make bench``.

Not part of the test suite. What it does, in order:

1. Ensures the data: a table of ``--rows`` requests (default 5,000,000) in Los Angeles built by
   ``bench/generate.py`` in ``open311_bench_5m`` (other sizes: ``open311_bench_<rows>``) of the
   project's private cluster, unless ``--database-url`` / ``OPEN311_BENCH_DATABASE_URL`` names
   one. A table that already holds exactly that many generated rows is reused.
2. Starts the server under gunicorn (``--workers`` 2, a free port on 127.0.0.1, the bench
   database), waits for ``/open311/health.json``, and stops it at the end, also on error.
   Creates an API key ``bench`` for the POST scenario (and deletes the rows it created after).
3. Runs the scenario groups. Each group is a function ``group(ctx) -> list[dict]`` returning
   table rows (see ``Row``); a peer's groups (``bench/peer_pygeoapi.py``, function
   ``scenarios(ctx)`` if the module exists) are added to the same table. Load generator:
   ``wrk`` (``--connections``, 2 threads, ``--duration`` s after a ``--warmup`` s warm-up) with
   a Lua script that picks each request at random from a list made from the data (existing
   ids, bboxes and circles around real points, real service codes). The RAW bound: the very
   SQL statement the server sends for each of those URLs (captured in-process by a
   ``before_cursor_execute`` listener on the app's engine: text and parameters), one pgbench
   script per URL with the parameters as pgbench variables, run by
   ``pgbench -M prepared -n -T duration -c connections`` on the same URLs with the same
   weights; p50/p99 from pgbench's per-transaction log. The FLOOR bound: GET
   /open311/health.json of the same server. The plans (EXPLAIN) of the captured statements are
   checked: no count(*), the expected index.
4. Prints one table, writes ``bench/results/run-<timestamp>.json`` and
   ``bench/results/latest.json``, and flags any ratio that worsened by more than 20 % against
   the previous ``latest.json``. latest.json holds every scenario's most recent measurement:
   a partial run (``--only``) carries the scenarios it did not run forward.

Usage: ``.venv/bin/python bench/run.py [--rows N] [--duration S] [--connections C]``;
``make bench BENCH_ARGS="--rows 200000 --duration 10"`` for a quick run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import glob
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: open311 and geo are top-level

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from psycopg import sql as psql  # noqa: E402

from open311 import migrate  # noqa: E402
from open311.db import session_options  # noqa: E402
from open311.pgcluster import Cluster, _postgres_bindir  # noqa: E402

RESULTS = ROOT / "bench" / "results"
JURISDICTION = "lacity.org"
LIST = "/open311/v2/requests.json"
FLOOR = "/open311/health.json"
WORSENED = 1.20  # flag a ratio that grew by more than 20 % since the previous run
GENERATED_KEYS = ("MyLA311 app", "Call center")  # the channels generate.py creates
BENCH_KEY = "bench"

WRK_LUA_TEMPLATE = r"""
-- Picks each request at random from a file of "METHOD<TAB>PATH<TAB>BODY" lines; prints one
-- JSON line (WRKJSON) with exact percentiles and wrk's count of answers >= 400 at the end;
-- with CLASSES, also counts answers per status class (2xx..5xx).
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local reqs = {}
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local m, p, b = line:match("^(%S+)\t([^\t]*)\t?(.*)$")
    local headers = {}
    if b ~= nil and b ~= "" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    else
      b = nil
    end
    table.insert(reqs, wrk.format(m, p, headers, b))
  end
  f:close()
  math.randomseed(os.time() * 100 + tid)
  n2, n3, n4, n5 = 0, 0, 0, 0
end
function request()
  return reqs[math.random(#reqs)]
end
%(CLASSES)s%(PACING)sfunction done(summary, latency, requests)
  local c2, c3, c4, c5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c2 = c2 + t:get("n2"); c3 = c3 + t:get("n3"); c4 = c4 + t:get("n4"); c5 = c5 + t:get("n5")
  end
  if not counting_classes then c2, c3, c4, c5 = -1, -1, -1, -1 end  -- not counted
  local own = {}  -- each answer's time as the threads measured it (WRK_OWN_TIMING)
  for _, t in ipairs(threads) do
    local times = t:get("lat")
    if times ~= nil then
      for _, v in ipairs(times) do own[#own + 1] = v end
    end
  end
  local o50, o90, o99, omean, omax = -1, -1, -1, -1, -1
  if #own > 0 then
    table.sort(own)
    local sum = 0
    for _, v in ipairs(own) do sum = sum + v end
    local function at(q) return own[math.max(1, math.ceil(#own * q))] end
    o50, o90, o99, omean, omax = at(0.5), at(0.9), at(0.99), sum / #own, own[#own]
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, ' ..
    '"p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, ' ..
    '"n2xx": %d, "n3xx": %d, "n4xx": %d, "n5xx": %d, "own_count": %d, "own_p50_us": %d, ' ..
    '"own_p90_us": %d, "own_p99_us": %d, "own_mean_us": %.1f, "own_max_us": %d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, e.connect, e.read, e.write, e.timeout, e.status, c2, c3, c4, c5,
    #own, o50, o90, o99, omean, omax))
end
"""
# Counting answers per status class needs a response() hook, and with one wrk hands every
# body to Lua as a string: 0.2-0.4 ms of wrk's CPU per 0.55 MB list answer, which on 2 cores
# is taken from the server's share and counted against ours (pgbench pays nothing alike).
# So only runs that ask for the split (the creates: small bodies, "zero 5xx") count classes;
# the others rely on wrk's own count of answers >= 400 (``status_errors``), and report their
# class counts as -1 (not counted).
WRK_CLASSES = r"""
counting_classes = true
function response(status, headers, body)
  if status >= 500 then n5 = n5 + 1
  elseif status >= 400 then n4 = n4 + 1
  elseif status >= 300 then n3 = n3 + 1
  else n2 = n2 + 1 end
end
"""
# A monotonic clock in milliseconds for the Lua hooks below (LuaJIT's ffi; one per script:
# own timing and pacing never go together).
WRK_CLOCK = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } open311_timespec;
int clock_gettime(int clk_id, open311_timespec *tp);
]]
local ts = ffi.new("open311_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
"""
# wrk 4.1 "corrects" its latency histogram for coordinated omission once a run is over (each
# latency above the mean interval between requests adds synthetic samples below it);
# pgbench does not. With steady latencies that adds almost nothing; with latencies from 2 to
# 200 ms (the spatial lists) it moved the p50 by half (34.2 ms against 22.6 ms timed per
# answer, RESULTS.md, fifth session). WRK_OWN_TIMING times each answer in Lua instead, from
# the request's writing (request()) to its last byte (response()); with one connection per
# thread, a thread's last request is the one being answered. It needs a response() hook,
# with which wrk copies every body into Lua (0.2-0.4 ms of its CPU per 0.55 MB answer), so
# only the scenarios whose latencies vary widely use it (``Context.wrk(own_timing=True)``).
WRK_OWN_TIMING = (
    WRK_CLOCK
    + r"""
lat = {}
local sent, pick = 0, request
function request()
  sent = now_ms()
  return pick()
end
function response(status, headers, body)
  lat[#lat + 1] = (now_ms() - sent) * 1000  -- microseconds, as wrk's figures
end
"""
)
# An open-loop rate (``Context.wrk(rate=...)``): each thread claims the next slot of its
# schedule before each request and waits for it (wrk's delay() hook); a thread that falls
# behind sends at once until it catches up, so the achieved rate shows the server's capacity.
# wrk measures a latency from the request's sending, so waiting for a slot is not counted.
WRK_PACING = (
    WRK_CLOCK
    + r"""
local slot = nil
function delay()
  local t = now_ms()
  if slot == nil then slot = t end
  local wait = slot - t
  slot = slot + %(INTERVAL_MS).6f
  if wait < 0 then return 0 end
  return wait
end
"""
)


def wrk_script(
    rate_per_thread: float | None, classes: bool = False, own_timing: bool = False
) -> str:
    """The Lua script of a wrk run: pacing for an open loop, status classes (both define
    what own timing defines, so they do not go with it) or own timing of each answer."""
    if own_timing and (classes or rate_per_thread):
        raise ValueError("own timing goes with neither status classes nor a paced rate")
    pacing = WRK_PACING % {"INTERVAL_MS": 1000.0 / rate_per_thread} if rate_per_thread else ""
    hooks = WRK_CLASSES if classes else WRK_OWN_TIMING if own_timing else ""
    return WRK_LUA_TEMPLATE.replace("%(PACING)s", pacing).replace("%(CLASSES)s", hooks)


def wrk_result(line: str) -> dict:
    """The WRKJSON figures; status classes that were not counted become None."""
    result = json.loads(line[len("WRKJSON ") :])
    for key in ("n2xx", "n3xx", "n4xx", "n5xx"):
        if result[key] < 0:
            result[key] = None
    own = {
        key: result.pop(f"own_{key}", 0)
        for key in ("count", "p50_us", "p90_us", "p99_us", "mean_us", "max_us")
    }
    if own["count"] > 0:  # timed per answer: those are the figures; wrk's kept beside them
        for key in ("p50_us", "p90_us", "p99_us", "mean_us", "max_us"):
            result[f"wrk_{key}"], result[key] = result[key], own[key]
        result["timing"] = "per answer (Lua)"
    else:
        result["timing"] = "wrk's histogram"
    return result


def statuses_text(result: dict) -> str:
    if result["n2xx"] is None:
        return f"answers >= 400: {result['status_errors']}"
    return f"2xx {result['n2xx']}, 4xx {result['n4xx']}, 5xx {result['n5xx']}"


# -- the table -----------------------------------------------------------------------------------
def Row(
    scenario: str,
    *,
    p50_ms: float | None,
    p99_ms: float | None,
    rps: float | None,
    bound: str,
    bound_p50_ms: float | None,
    target: float | None,
    target_text: str,
    ratio: float | None = None,
    met: bool | None = None,
    **extra: Any,
) -> dict:
    """One line of the table. ``ratio`` defaults to p50 / bound p50 and ``met`` to
    ratio <= target; a scenario with an absolute target passes both."""
    if ratio is None and p50_ms is not None and bound_p50_ms:
        ratio = p50_ms / bound_p50_ms
    if met is None and ratio is not None and target is not None:
        met = ratio <= target
    return {
        "scenario": scenario,
        "p50_ms": p50_ms,
        "p99_ms": p99_ms,
        "rps": rps,
        "bound": bound,
        "bound_p50_ms": bound_p50_ms,
        "ratio": ratio,
        "target": target,
        "target_text": target_text,
        "met": met,
        **extra,
    }


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        width = re.match(r"\d*", spec).group()
        return "-".rjust(int(width)) if width else "-"
    return format(value, spec)


def table(rows: list[dict]) -> str:
    head = (
        f"{'scenario':46} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}  {'bound':26} "
        f"{'bound p50':>9} {'ratio':>6}  {'target':22} met?"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append(
            f"{r['scenario'][:46]:46} {_fmt(r['p50_ms'], '8.2f')} {_fmt(r['p99_ms'], '8.2f')} "
            f"{_fmt(r['rps'], '8.0f')}  {r['bound'][:26]:26} {_fmt(r['bound_p50_ms'], '9.3f')} "
            f"{_fmt(r['ratio'], '6.3f')}  {r['target_text'][:22]:22} {met}"
            + (f"  {r['flag']}" if r.get("flag") else "")
        )
    return "\n".join(lines)


def cpu_summary(row: dict) -> dict | None:
    """CPU ms per request of a row's own run and of its bound's (RAW or FLOOR), each side
    split into server, database and load generator, and the ratio of the totals."""
    ours = row.get("wrk")
    bound = row.get("raw") or row.get("floor")
    if not ours or "cpu_s" not in ours:
        return None
    mine = cpu_per_request(ours)
    theirs = cpu_per_request(bound) if bound and "cpu_s" in bound else None

    def total(split: dict | None) -> float | None:
        if split is None or any(v is None for v in split.values()):
            return None
        return sum(split.values())

    out = {"ours": mine, "ours_total": total(mine), "bound": theirs, "bound_total": total(theirs)}
    out["ratio"] = (
        out["ours_total"] / out["bound_total"] if out["ours_total"] and out["bound_total"] else None
    )
    return out


def cpu_table(rows: list[dict]) -> str:
    """Where the CPU of each request went (ms per request): with both cores busy, the p50
    ratio follows the ratio of these totals."""
    head = (
        f"{'CPU ms per request':46} {'server':>7} {'db':>6} {'load':>6} {'total':>6}   "
        f"{'bound: db':>9} {'load':>6} {'total':>6}  {'cpu ratio':>9} {'p50 ratio':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        c = r.get("cpu")
        if not c:
            continue
        o, b = c["ours"], c["bound"] or {}
        lines.append(
            f"{r['scenario'][:46]:46} {_fmt(o.get('server'), '7.2f')} "
            f"{_fmt(o.get('database'), '6.2f')} {_fmt(o.get('load'), '6.2f')} "
            f"{_fmt(c['ours_total'], '6.2f')}   {_fmt(b.get('database'), '9.2f')} "
            f"{_fmt(b.get('load'), '6.2f')} {_fmt(c['bound_total'], '6.2f')}  "
            f"{_fmt(c['ratio'], '9.2f')} {_fmt(r.get('ratio'), '9.2f')}"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


# -- the data ------------------------------------------------------------------------------------
def database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("OPEN311_BENCH_DATABASE_URL")
    if url:
        return url
    rows = args.rows
    size = (
        f"{rows // 1_000_000}m"
        if rows % 1_000_000 == 0
        else f"{rows // 1000}k"
        if rows % 1000 == 0
        else str(rows)
    )
    return Cluster().ensure_database(f"open311_bench_{size}")  # 5M: open311_bench_5m


def generated_rows(url: str) -> int | None:
    """How many rows generate.py put in the table (None: no such table)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(*) FROM service_request r JOIN api_key k ON k.id = r.api_key_pk "
                    "WHERE k.name = ANY(:names)"
                ),
                {"names": list(GENERATED_KEYS)},
            ).scalar()
    except sa.exc.ProgrammingError:
        return None
    finally:
        engine.dispose()


def jurisdiction_facts(url: str) -> tuple[int, str]:
    """The bench jurisdiction's primary key and IANA time zone."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return tuple(
                conn.execute(
                    sa.text("SELECT id, timezone FROM jurisdiction WHERE jurisdiction_id = :j"),
                    {"j": JURISDICTION},
                ).one()
            )
    finally:
        engine.dispose()


def ensure_data(args: argparse.Namespace, url: str) -> dict:
    have = generated_rows(url)
    if have == args.rows and not args.regenerate:
        print(
            f"data: reusing {have:,} rows in {sa.make_url(url).database} (migrated to "
            f"head: a new index is built on the table as it is)",
            flush=True,
        )
        migrate.upgrade(url)
        return {"generated": False, "rows": have, "vacuumed": vacuum(url)}
    print(
        f"data: {have} rows in {sa.make_url(url).database}, generating {args.rows:,} "
        f"(bench/generate.py)",
        flush=True,
    )
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "generate.py"),
            "--rows",
            str(args.rows),
            "--database-url",
            url,
            "--reuse",
        ],
        check=True,
    )
    return {
        "generated": True,
        "rows": args.rows,
        "generate_s": round(time.perf_counter() - started, 1),
    }


def vacuum(url: str) -> bool:
    """VACUUM (ANALYZE) service_request when it has dead rows (an earlier run's created and
    deleted requests): the newest-first index would otherwise step over them, and every run
    starts from the same state."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            dead = (
                conn.execute(
                    sa.text(
                        "SELECT n_dead_tup FROM pg_stat_user_tables "
                        "WHERE relname = 'service_request'"
                    )
                ).scalar()
                or 0
            )
            if dead:
                print(f"data: VACUUM (ANALYZE) service_request ({dead:,} dead rows)", flush=True)
                conn.execute(sa.text("VACUUM (ANALYZE) service_request"))
            return bool(dead)
    finally:
        engine.dispose()


DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


@contextlib.contextmanager
def durable(url: str, private: bool) -> Iterator[dict]:
    """Measure with a production server's crash safety. The private cluster is durable
    (open311/pgcluster.py); should one run with fsync, synchronous_commit or
    full_page_writes off, they are turned on for the run (ALTER SYSTEM + reload) and set
    back after. Another database is measured as it is, its settings reported (and a
    warning if not durable)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")

    def current(conn) -> dict:
        setting = sa.text("SELECT current_setting(:name)")
        return {name: conn.execute(setting, {"name": name}).scalar() for name in DURABLE}

    def alter_system(conn, name: str, value: str) -> None:
        # ALTER SYSTEM takes no parameters: the name and value are quoted by psycopg.sql.
        raw = conn.connection.dbapi_connection
        statement = psql.SQL("ALTER SYSTEM SET {} = {}").format(
            psql.Identifier(name), psql.Literal(value)
        )
        conn.exec_driver_sql(statement.as_string(raw))

    changed: dict = {}
    try:
        with engine.connect() as conn:
            before = current(conn)
            if private:
                changed = {k: v for k, v in before.items() if v != DURABLE[k]}
                for name in changed:
                    alter_system(conn, name, "on")
                if changed:
                    conn.execute(sa.text("SELECT pg_reload_conf()"))
                    time.sleep(1)
            during = current(conn)
        if during != DURABLE:
            print(
                f"warning: the server is not durable ({during}): commits are faster than a "
                "production server's",
                flush=True,
            )
        else:
            print(
                f"server: fsync, synchronous_commit, full_page_writes on"
                f"{' (for this run)' if changed else ''}",
                flush=True,
            )
        yield {"before": before, "during": during}
    finally:
        if changed:
            with engine.connect() as conn:
                for name, value in changed.items():
                    alter_system(conn, name, value)
                conn.execute(sa.text("SELECT pg_reload_conf()"))
        engine.dispose()


def libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    """pgbench's connection options and environment for a SQLAlchemy URL."""
    u = sa.make_url(url)
    host = u.host or u.query.get("host")
    argv = ["-h", host] if host else []
    port = u.port or u.query.get("port")
    if port:
        argv += ["-p", str(port)]
    if u.username:
        argv += ["-U", u.username]
    env = {"PGPASSWORD": u.password} if u.password else {}
    return [*argv, u.database], env


# -- the server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    url: str,
    workers: int,
    log: Path,
    *,
    app: str = "wsgi:app",
    folder: Path = ROOT,
    ready: str = FLOOR,
    env: dict[str, str] | None = None,
    config: str | None = "python:open311.serving",
) -> Iterator[tuple[str, int]]:
    """The server's base URL and the gunicorn master's pid, while it runs: ``app`` (our
    server by default) from ``folder``, once it answers ``ready``; ``env`` is added to the
    environment. ``config``: gunicorn's settings (ours, as ``open311 serve`` runs it, by
    default; None: gunicorn's own, sync workers)."""
    port = free_port()
    env = {**os.environ, "OPEN311_DATABASE_URL": url, **(env or {})}
    env.pop("OPEN311_CORS_ORIGINS", None)  # the default
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                *(["--config", config] if config else []),
                "--chdir",
                str(folder),
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                app,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}); see {log}")
            try:
                with urllib.request.urlopen(base + ready, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer {ready} in 60 s; see {log}")
            time.sleep(0.2)
        print(f"server: gunicorn pid {proc.pid} ({app}), {workers} workers, {base}", flush=True)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        print("server: stopped", flush=True)


# -- CPU accounting ------------------------------------------------------------------------------
# On a machine this size, latency under load is close to the CPU time a request costs in all
# (both cores are busy), so each measured run also records where that time went: the gunicorn
# processes, the PostgreSQL processes, and the load generator (wrk or pgbench), per request.
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: state, ppid, ... (None: the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def tree_cpu_s(root: int | None, children: dict[int, list[int]]) -> float | None:
    """CPU seconds (user + system) of a process, of its live descendants, and of the children
    it has waited for (a backend that exited between two readings is counted in its parent's
    cutime/cstime). None: unknown (no such process on this machine)."""
    if root is None or (top := _stat(root)) is None:
        return None
    ticks = sum(int(x) for x in top[11:15])  # utime stime cutime cstime
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if fields := _stat(pid):
            ticks += int(fields[11]) + int(fields[12])
            stack += children.get(pid, [])
    return ticks * TICK_S


@dataclass
class CpuMeter:
    """Readings of the CPU the server (the gunicorn master and workers), the database (the
    postmaster and its processes, when it runs on this machine) and this script's finished
    children (the load generator runs) have used."""

    server_pid: int | None
    postmaster_pid: int | None

    def reading(self) -> dict[str, float | None]:
        # A process that has exited but is not yet reaped (a zombie: a backend whose client
        # just left) shows no CPU, and its parent's cutime does not have it yet: wait for
        # the database and the server to reap their children (at most 2 s).
        deadline = time.monotonic() + 2
        while True:
            children = _children()
            zombies = [
                pid
                for root in (self.server_pid, self.postmaster_pid)
                if root
                for pid in children.get(root, [])
                if (_stat(pid) or ["Z"])[0] == "Z"
            ]
            if not zombies or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        usage = os.times()
        return {
            "server": tree_cpu_s(self.server_pid, children),
            "database": tree_cpu_s(self.postmaster_pid, children),
            "load": usage.children_user + usage.children_system,
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float | None]:
        return {
            k: (after[k] - before[k] if after[k] is not None and before[k] is not None else None)
            for k in before
        }


def postmaster_pid(url: str) -> int | None:
    """The pid of the PostgreSQL server behind ``url`` if it runs on this machine (the
    parent of our backend), else None."""
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        fields = _stat(backend)
    if fields is None:
        return None
    parent = int(fields[1])
    return (
        parent
        if "postgres" in Path(f"/proc/{parent}/cmdline").read_bytes().decode(errors="replace")
        else None
    )


def cpu_per_request(result: dict) -> dict[str, float | None]:
    """CPU milliseconds per request (wrk) or transaction (pgbench) of a measured run."""
    count = result.get("requests") or result.get("transactions") or 0
    spent = result.get("cpu_s") or {}
    return {k: (v * 1000 / count if v is not None and count else None) for k, v in spent.items()}


def cpu_text(result: dict) -> str:
    per = cpu_per_request(result)
    parts = [f"{k} {v:.2f}" for k, v in per.items() if v is not None]
    return f"; CPU ms/request: {', '.join(parts)}" if parts else ""


# -- measuring -----------------------------------------------------------------------------------
@dataclass
class Captured:
    """A statement as the server sent it: SQL text (pyformat) and its parameters."""

    sql: str
    params: dict


@dataclass
class Context:
    args: argparse.Namespace
    url: str
    base: str
    workdir: Path
    app: Any
    jurisdiction_pk: int
    samples: dict
    api_key: str | None = None
    facts: dict = field(default_factory=dict)
    meter: CpuMeter | None = None
    # The session TimeZone the server formats datetimes in (the jurisdiction's, set once per
    # connection): RAW's connections get it too (PGTZ), so pgbench's statements produce the
    # bytes ours do.
    timezone: str | None = None

    def metered(self, run: Callable[[], Any]) -> tuple[Any, dict | None]:
        """``run()``'s value and the CPU seconds each side spent meanwhile (None: no meter)."""
        if self.meter is None:
            return run(), None
        before = self.meter.reading()
        value = run()
        return value, CpuMeter.spent(before, self.meter.reading())

    # -- HTTP ------------------------------------------------------------------------------------
    def wrk(
        self,
        name: str,
        requests: list[tuple[str, str, str]],
        *,
        duration: int | None = None,
        connections: int | None = None,
        warmup: int | None = None,
        base: str | None = None,
        rate: float | None = None,
        own_timing: bool = False,
    ) -> dict:
        """Run wrk on ``requests`` (method, path, body), picked at random per request, against
        ``base`` (default: our server; a peer passes its own): a warm-up of ``warmup`` s (not
        counted), then ``duration`` s. With ``rate``, the requests are sent at that many per
        second in all (open loop) instead of as fast as the connections allow. With
        ``own_timing``, each answer is timed in Lua (WRK_OWN_TIMING) and those times give the
        percentiles. Returns the WRKJSON figures."""
        duration = duration or self.args.duration
        connections = connections or self.args.connections
        warmup = self.args.warmup if warmup is None else warmup
        threads = min(2, connections)
        listing = self.workdir / f"{slug(name)}.requests"
        listing.write_text("".join(f"{m}\t{p}\t{b}\n" for m, p, b in requests), "utf-8")
        script = self.workdir / f"{slug(name)}.lua"
        classes = any(method != "GET" for method, _, _ in requests)  # see WRK_CLASSES
        if own_timing and connections != threads:
            raise ValueError("own timing needs one connection per wrk thread")
        script.write_text(
            wrk_script(rate / threads if rate else None, classes, own_timing), "utf-8"
        )

        def run(seconds: int) -> dict:
            argv = [
                wrk_binary(),
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base or self.base,
                "--",
                str(listing),
            ]
            out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
            return wrk_result(next(x for x in out.splitlines() if x.startswith("WRKJSON ")))

        if warmup:
            run(warmup)
        # (a peer's server is not ours: its runs are not metered)
        result, cpu = self.metered(lambda: run(duration)) if base is None else (run(duration), None)
        if cpu is not None:
            result["cpu_s"] = cpu
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["p50_ms"], result["p99_ms"] = result["p50_us"] / 1000, result["p99_us"] / 1000
        result["connections"], result["duration_s"] = connections, duration
        result["urls"], result["target_rate"] = len(requests), rate
        print(
            f"  wrk {name}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
            f"{result['rps']:.0f} req/s, {statuses_text(result)}{cpu_text(result)}",
            flush=True,
        )
        return result

    # -- the statements the server sends ---------------------------------------------------------
    def capture(self, path: str) -> list[Captured]:
        """Every statement the app sends for GET ``path`` (in-process, the same code and
        configuration as the gunicorn workers), in the steady state: after one call that
        fills the per-process caches."""
        from statements import recorded  # noqa: PLC0415 (bench/, next to this script)

        from open311.extensions import db

        self.app.test_client().get(path)  # warm: the directory cache, prepared statements
        with recorded(db.engines(self.app)) as seen:
            answer = self.app.test_client().get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.get_data(True)[:300]}")
        return [Captured(sql, params) for sql, params in seen]

    def main_statement(self, path: str) -> tuple[Captured, list[Captured]]:
        """The SELECT of the list behind ``path`` (the one with LIMIT on service_request),
        and all statements of the request."""
        statements = self.capture(path)
        main = [c for c in statements if "FROM service_request" in c.sql and "LIMIT" in c.sql]
        if len(main) != 1:
            raise RuntimeError(
                f"GET {path}: {len(main)} list statements among {[c.sql[:80] for c in statements]}"
            )
        return main[0], statements

    # -- RAW -------------------------------------------------------------------------------------
    def pgbench(
        self,
        name: str,
        transactions: list[list[Captured]],
        *,
        duration: int | None = None,
        connections: int | None = None,
        warmup: int | None = None,
    ) -> dict:
        """pgbench -M prepared on the transactions (the statements one GET sends, in order),
        one script each, equal weights: every parameter becomes a pgbench variable
        (-D name_k_j=value), so the server sees $n parameters as it does from psycopg. A
        transaction's latency is that of all its statements."""
        duration = duration or self.args.duration
        connections = connections or self.args.connections
        folder = self.workdir / f"pgbench-{slug(name)}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        defines: list[str] = []
        scripts: list[str] = []
        for k, statements in enumerate(transactions[:128]):  # pgbench: at most 128 scripts
            lines = []
            for j, c in enumerate(statements):

                def variable(match: re.Match, k=k, j=j) -> str:
                    return f":{match.group(1)}_{k}_{j}"

                sql = re.sub(r"%\((\w+)\)s", variable, c.sql.replace("\n", " "))
                lines.append(sql.replace("%%", "%") + ";")
                for pname, value in c.params.items():
                    defines += ["-D", f"{pname}_{k}_{j}={pg_text(value)}"]
            script = folder / f"q{k}.sql"
            script.write_text("\n".join(lines) + "\n", "utf-8")
            scripts += ["-f", f"{script}@1"]
        conn_argv, env = libpq_args(self.url)
        if self.timezone:
            env["PGTZ"] = self.timezone
        # The server's own connection settings (no JIT, no parallel workers): its SQL as
        # the server runs it.
        env["PGOPTIONS"] = session_options(self.url)
        base = [
            pgbench_binary(),
            "-M",
            "prepared",
            "-n",
            "-c",
            str(connections),
            "-j",
            str(min(2, connections)),
            *scripts,
            *defines,
        ]

        def run(seconds: int, log: bool) -> str:
            argv = [*base, "-T", str(seconds)]
            if log:
                argv += ["-l", "--log-prefix", str(folder / "log")]
            done = subprocess.run(
                [*argv, *conn_argv],
                capture_output=True,
                text=True,
                env={**os.environ, **env},
                cwd=folder,
            )
            if done.returncode != 0:
                raise RuntimeError(f"pgbench {name}: {done.stderr[-2000:]}")
            return done.stdout

        warmup = self.args.warmup if warmup is None else warmup
        if warmup:
            run(warmup, False)
        out, cpu = self.metered(lambda: run(duration, True))
        latencies = []
        for logfile in glob.glob(str(folder / "log.*")):
            with open(logfile) as f:
                latencies += [int(line.split()[2]) for line in f if line.strip()]
        ms = np.array(latencies) / 1000
        tps = re.search(r"tps = ([\d.]+)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        result = {
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()),
            "transactions": len(ms),
            "tps": float(tps.group(1)) if tps else len(ms) / duration,
            "failed": int(failed.group(1)) if failed else 0,
            "scripts": len(scripts) // 2,
            "connections": connections,
            "duration_s": duration,
        }
        if cpu is not None:
            result["cpu_s"] = cpu
        print(
            f"  pgbench {name}: p50 {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms, "
            f"{result['tps']:.0f} tps{cpu_text(result)}",
            flush=True,
        )
        return result

    # -- ours and its bound, interleaved ---------------------------------------------------------
    def interleaved(
        self, name: str, ours: Callable[[int, int], dict], bound: Callable[[int, int], dict]
    ) -> tuple[dict, dict]:
        """Run ``ours(seconds, warmup)`` and ``bound(seconds, warmup)`` in turns,
        ``--rounds`` times each, ``--duration`` seconds in all per side (warm-up before the
        first turn only): a machine whose speed drifts during the run (a shared VM) affects
        both alike. Each side's p50 and p99 are the medians of its rounds'; the rounds are
        kept in the result."""
        rounds = max(1, self.args.rounds)
        seconds = max(1, round(self.args.duration / rounds))
        mine, theirs = [], []
        for k in range(rounds):
            warm = self.args.warmup if k == 0 else 0
            mine.append(ours(seconds, warm))
            theirs.append(bound(seconds, warm))
        return _combine(mine), _combine(theirs)

    # -- plans -----------------------------------------------------------------------------------
    def explain(self, statement: Captured) -> dict:
        """EXPLAIN (FORMAT JSON) of a captured statement with its parameters: the node types,
        the indexes used, whether anything counts."""
        conninfo = (
            sa.make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        with psycopg.connect(conninfo, options=session_options(self.url)) as conn:
            plan = conn.execute(
                "EXPLAIN (FORMAT JSON) " + statement.sql, statement.params
            ).fetchone()[0][0]["Plan"]
        nodes, indexes = [], []

        def walk(node: dict) -> None:
            nodes.append(node["Node Type"])
            if "Index Name" in node:
                indexes.append(node["Index Name"])
            for child in node.get("Plans", []):
                walk(child)

        walk(plan)
        text = json.dumps(plan)
        return {
            "nodes": nodes,
            "indexes": sorted(set(indexes)),
            "count_in_plan": "count(" in text.lower(),
            "aggregate_in_plan": any(n == "Aggregate" for n in nodes),
        }


def _combine(runs: list[dict]) -> dict:
    """One figure from several rounds of a measurement: median p50/p99, summed counts."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[0])
    for key in ("p50_ms", "p99_ms"):
        out[key] = float(np.median([r[key] for r in runs]))
    for key in (
        "requests",
        "status_errors",
        "n2xx",
        "n3xx",
        "n4xx",
        "n5xx",
        "transactions",
        "failed",
        "duration_us",
        "duration_s",
    ):
        if key in out and all(r[key] is not None for r in runs):
            out[key] = sum(r[key] for r in runs)
    for key in ("rps", "tps"):
        if key in out:
            out[key] = float(np.mean([r[key] for r in runs]))
    if all("cpu_s" in r for r in runs):
        out["cpu_s"] = {
            k: (
                None
                if any(r["cpu_s"][k] is None for r in runs)
                else sum(r["cpu_s"][k] for r in runs)
            )
            for k in runs[0]["cpu_s"]
        }
    out["rounds"] = runs
    return out


def pg_text(value: Any) -> str:
    """A parameter as pgbench passes it: text the server parses by the parameter's type."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "{" + ",".join(pg_text(v) for v in value) + "}"
    return str(value)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does it)")
    return found


def pgbench_binary() -> str:
    return str(_postgres_bindir() / "pgbench")


# -- samples of the data -------------------------------------------------------------------------
def samples(url: str, jurisdiction_pk: int, n: int, seed: int) -> dict:
    """Existing public ids of the jurisdiction, their points, the service codes in use."""
    rng = random.Random(seed)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.text("SELECT min(id), max(id) FROM service_request")).one()
        rows = []
        while len(rows) < n:
            candidates = rng.sample(range(lo, hi + 1), min(n * 3, hi - lo + 1))
            rows += conn.execute(
                sa.text(
                    "SELECT id, ST_X(location), ST_Y(location) FROM service_request "
                    "WHERE id = ANY(:ids) AND jurisdiction_pk = :j AND public "
                    "AND location IS NOT NULL ORDER BY id"
                ),
                {"ids": candidates, "j": jurisdiction_pk},
            ).all()
        rows = rng.sample(rows, n)
        codes = [
            c
            for (c,) in conn.execute(
                sa.text(
                    "SELECT s.service_code FROM service s WHERE s.jurisdiction_pk = :j AND EXISTS "
                    "(SELECT 1 FROM service_request r WHERE r.service_pk = s.id) ORDER BY 1"
                ),
                {"j": jurisdiction_pk},
            )
        ]
    engine.dispose()
    return {
        "ids": [r[0] for r in rows],
        "points": [(r[1], r[2]) for r in rows],
        "codes": codes,
        "rng": rng,
    }


def read_paths(ctx: Context) -> dict[str, list[str]]:
    s, rng = ctx.samples, random.Random(ctx.args.seed + 1)
    j = {"jurisdiction_id": JURISDICTION}
    bboxes, circles = [], []
    for long, lat in s["points"]:
        half = rng.choice((0.005, 0.01, 0.02))  # about 0.5, 1 and 2 km from the centre
        dx, dy = rng.uniform(-half, half) / 2, rng.uniform(-half, half) / 2
        bboxes.append(
            f"{long + dx - half:.5f},{lat + dy - half:.5f},"
            f"{long + dx + half:.5f},{lat + dy + half:.5f}"
        )
        circles.append((round(long, 6), round(lat, 6), rng.choice((250, 500, 1000, 2000))))
    return {
        "default": [f"{LIST}?{urlencode(j)}"],
        "filtered": [
            f"{LIST}?{urlencode({**j, 'service_code': c, 'status': 'open'})}" for c in s["codes"]
        ],
        "bbox": [f"{LIST}?{urlencode({**j, 'bbox': b})}" for b in bboxes],
        "radius": [
            f"{LIST}?{urlencode({**j, 'lat': la, 'long': lo, 'radius': r})}"
            for lo, la, r in circles
        ],
        "by_id": [f"/open311/v2/requests/{i}.json?{urlencode(j)}" for i in s["ids"]],
    }


# -- the scenario groups -------------------------------------------------------------------------
# Scenarios whose answers take from a few to hundreds of ms: timed per answer (WRK_OWN_TIMING).
VARIED_LATENCY = frozenset({"bbox", "radius"})
LIST_SCENARIOS = (  # key, name, target ratio to RAW, the index the plan must use
    ("default", "default list (90 d, 1000 newest)", 2.0, "ix_service_request_newest"),
    ("filtered", "filtered (service+open+90 d)", 2.5, "ix_service_request_service_status_newest"),
    ("bbox", "spatial bbox (1000 newest)", 1.5, "ix_service_request_location_newest"),
    ("radius", "spatial radius (1000 newest)", 1.5, "ix_service_request_location_newest"),
)


def group_lists(ctx: Context) -> list[dict]:
    """The lists against RAW: the server's own SELECT under pgbench -M prepared."""
    paths, rows = read_paths(ctx), []
    for key, name, target, index in LIST_SCENARIOS:
        if ctx.args.only and key not in ctx.args.only:
            continue
        print(f"scenario {name}: {len(paths[key])} URLs", flush=True)
        captured = [ctx.main_statement(p) for p in paths[key]]
        mains = [m for m, _ in captured]
        # RAW: every statement the request sends (the list, and the cursor's key when a next
        # page exists), but not the per-connection TimeZone setting (pgbench connects with
        # that TimeZone instead: ctx.timezone).
        transactions = [[c for c in every if "set_config(" not in c.sql] for _, every in captured]
        counts = any("count(" in c.sql.lower() for _, every in captured for c in every)
        plan = ctx.explain(mains[0])
        plans_indexes = sorted({i for m in mains[:10] for i in ctx.explain(m)["indexes"]})
        requests = [("GET", p, "") for p in paths[key]]
        ours, raw = ctx.interleaved(
            name,
            lambda sec, warm, n=name, r=requests, k=key: ctx.wrk(
                n, r, duration=sec, warmup=warm, own_timing=k in VARIED_LATENCY
            ),
            lambda sec, warm, n=name, t=transactions: ctx.pgbench(n, t, duration=sec, warmup=warm),
        )
        plan_ok = index in plans_indexes and not counts and not plan["count_in_plan"]
        row = Row(
            name,
            p50_ms=ours["p50_ms"],
            p99_ms=ours["p99_ms"],
            rps=ours["rps"],
            bound="RAW (pgbench -M prepared)",
            bound_p50_ms=raw["p50_ms"],
            target=target,
            target_text=f"<= {target}x raw",
            wrk=ours,
            raw=raw,
            plan=plan,
            plan_indexes_first10=plans_indexes,
            expected_index=index,
            count_in_statements=counts,
            statements_per_request=len(captured[0][1]),
            sql=mains[0].sql,
            sql_params=mains[0].params,
        )
        row["met"] = bool(row["met"]) and plan_ok and ours["status_errors"] == 0
        row["note"] = (
            f"plan: {', '.join(plans_indexes) or 'no index'}"
            f"{'' if plan_ok else ' (expected ' + index + ', no count)'}; "
            f"{len(captured[0][1])} statements/request"
        )
        rows.append(row)
    return rows


def group_single(ctx: Context) -> list[dict]:
    """GET one request by id against the floor endpoint of the same server."""
    if ctx.args.only and "by_id" not in ctx.args.only:
        return []
    paths = read_paths(ctx)["by_id"]
    print(f"scenario single request by id: {len(paths)} ids", flush=True)
    ours, floor = ctx.interleaved(
        "by id",
        lambda sec, warm: ctx.wrk(
            "by id", [("GET", p, "") for p in paths], duration=sec, warmup=warm
        ),
        lambda sec, warm: ctx.wrk("floor", [("GET", FLOOR, "")], duration=sec, warmup=warm),
    )
    row = Row(
        "single request by id",
        p50_ms=ours["p50_ms"],
        p99_ms=ours["p99_ms"],
        rps=ours["rps"],
        bound="FLOOR (GET health.json)",
        bound_p50_ms=floor["p50_ms"],
        target=2.0,
        target_text="<= 2x floor",
        wrk=ours,
        floor=floor,
    )
    row["met"] = bool(row["met"]) and ours["status_errors"] == 0
    return [
        Row(
            "floor: GET /open311/health.json",
            p50_ms=floor["p50_ms"],
            p99_ms=floor["p99_ms"],
            rps=floor["rps"],
            bound="-",
            bound_p50_ms=None,
            target=None,
            target_text="(the bound)",
            wrk=floor,
        ),
        row,
    ]


CREATE_RATE = 300  # creates/s the target asks to sustain


def group_create(ctx: Context) -> list[dict]:
    """POST requests with a key, attributes and a point inside LA (real request points).

    Two runs at 4 connections. Capacity: as fast as the connections allow (closed loop);
    the target asks for >= 300 creates/s. Latency: an open-loop 300 creates/s, whose p50
    the target asks to be <= 5 ms. (In a closed loop, p50 <= 5 ms at 4 busy connections
    would mean >= 800 creates/s by Little's law: the two targets are read as one rate and
    its latency.)"""
    if ctx.args.only and "create" not in ctx.args.only:
        return []
    rng = random.Random(ctx.args.seed + 2)
    bodies = [
        urlencode(
            {
                "api_key": ctx.api_key,
                "jurisdiction_id": JURISDICTION,
                "service_code": "GRAFFITI",
                "lat": f"{lat:.6f}",
                "long": f"{long:.6f}",
                "attribute[SURFACE]": rng.choice(("BUILDING", "FENCE", "POLE")),
                "description": "Tag on the wall (benchmark)",
            }
        )
        for long, lat in ctx.samples["points"]
    ]
    connections = ctx.args.create_connections
    duration = ctx.args.create_duration
    requests = [("POST", LIST, b) for b in bodies]
    print(
        f"scenario create: {duration} s at {connections} connections, then {duration} s at "
        f"{CREATE_RATE}/s",
        flush=True,
    )
    closed = ctx.wrk(
        "create",
        requests,
        duration=duration,
        connections=connections,
        warmup=min(ctx.args.warmup, 2),
    )
    paced = ctx.wrk(
        f"create at {CREATE_RATE}/s",
        requests,
        duration=duration,
        connections=connections,
        warmup=min(ctx.args.warmup, 2),
        rate=CREATE_RATE,
    )
    rows = []
    for label, run, is_paced in (
        ("create (POST, key+attrs+boundary)", closed, False),
        (f"create at {CREATE_RATE}/s (open loop)", paced, True),
    ):
        creates = run["n2xx"] / (run["duration_us"] / 1e6)
        errors = run["n5xx"] == 0 and run["n4xx"] == 0
        if is_paced:
            met = errors and run["p50_ms"] <= 5 and creates >= CREATE_RATE * 0.98
            target = f"p50 <=5ms at {CREATE_RATE}/s"
        else:
            met = errors and creates >= CREATE_RATE
            target = f">={CREATE_RATE}/s, 0 5xx"
        rows.append(
            Row(
                label,
                p50_ms=run["p50_ms"],
                p99_ms=run["p99_ms"],
                rps=creates,
                bound="absolute",
                bound_p50_ms=5.0 if is_paced else None,
                ratio=run["p50_ms"] / 5.0 if is_paced else None,
                target=None,
                target_text=target,
                met=met,
                wrk=run,
                note=f"{run['n2xx']} created, {run['n4xx']} 4xx, {run['n5xx']} 5xx, "
                f"{creates:.0f} creates/s",
            )
        )
    return rows


# The point lookups of bench/geo_points.py put in the table: (lookup, variant, label, target).
# Each is paired with the RAW of its own statements. jurisdictions_at is the lookup plus the
# ORM records routing loads after it (two statements, its RAW times the first): shown, no
# target.
GEO_ROWS = (
    ("jurisdictions_at", "jurisdiction_pks_at (tree)", "point -> jurisdiction", 1.5),
    ("areas_at", "as is (working tree)", "point -> areas", 1.5),
    ("jurisdictions_at", "as is (working tree)", "point -> jurisdiction + ORM records", None),
)


def group_geo(ctx: Context) -> list[dict]:
    """bench/geo_points.py (its own database), in a quick setting: the server's point lookups
    (OURS) against the same SQL as a raw prepared statement (RAW), per data set."""
    if ctx.args.geo_points <= 0 or (ctx.args.only and "geo" not in ctx.args.only):
        return []
    output = ctx.workdir / "geo_points.json"
    print(
        f"scenario point to jurisdiction/area: bench/geo_points.py --points {ctx.args.geo_points}",
        flush=True,
    )
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "geo_points.py"),
            "--points",
            str(ctx.args.geo_points),
            "--rounds",
            "4",
            "--warmup",
            "100",
            "--check",
            "100",
            "--output",
            str(output),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    report = json.loads(output.read_text("utf-8"))
    rows = []
    for dataset, lookups in report["datasets"].items():
        for lookup, variant, label, target in GEO_ROWS:
            by = {(s["variant"], s["kind"]): s for s in lookups[lookup]["series"]}
            ours, raw = by[(variant, "OURS")], by[(variant, "RAW")]
            rows.append(
                Row(
                    f"{label} ({dataset})",
                    p50_ms=ours["p50_ms"],
                    p99_ms=ours["p99_ms"],
                    rps=None,
                    bound="RAW (psycopg prepared)",
                    bound_p50_ms=raw["p50_ms"],
                    target=target,
                    target_text=f"<= {target}x raw" if target else "(shown)",
                    n=ours["n"],
                    note=f"{lookup}, {variant}; in-process, one call at a time",
                )
            )
    return rows


def group_peer(ctx: Context) -> list[dict]:
    """A peer side by side (bench/peer_pygeoapi.py): pygeoapi 0.21 serving the same table
    through its PostgreSQL provider, under gunicorn with as many workers, the same wrk
    settings, the same ids and boxes. Each row: our p50, the peer's, and our ratio to it
    (informational: there is no target on the peer)."""
    if ctx.args.no_peer or (ctx.args.only and "peer" not in ctx.args.only):
        return []
    sys.path.insert(0, str(ROOT / "bench"))
    import peer_pygeoapi as peer  # noqa: PLC0415

    ids = ctx.samples["ids"]
    boxes = [
        (round(x - 0.01, 6), round(y - 0.01, 6), round(x + 0.01, 6), round(y + 0.01, 6))
        for x, y in ctx.samples["points"]
    ]
    window = 90  # our default window (OPEN311_DEFAULT_WINDOW_DAYS)
    # name, our paths, the peer's paths asking the same question, timed per answer (see
    # VARIED_LATENCY), our target as a p50 ratio to the peer's (None: shown only)
    scenarios = [
        ("list, 1000 newest of 90 d", peer.our_list_paths(), peer.list_paths(window), False, None),
        ("single item by id", peer.our_single_paths(ids), peer.single_paths(ids), False, None),
        (
            "bbox, 1000 newest of 90 d",
            peer.our_bbox_paths(boxes),
            peer.bbox_paths(boxes, window, newest_first=True),
            True,
            None,
        ),
        (
            "bbox as pygeoapi's default (no window, by id)",
            peer.our_bbox_paths(boxes),
            peer.bbox_paths(boxes),
            True,
            None,
        ),
        # OGC API items against OGC API items (target: >= 10x pygeoapi's throughput, i.e. a
        # p50 of <= 0.1x its own under the same closed-loop load): the 1000 newest features,
        # and the 1000 newest open ones by a CQL2 filter (status is its table's column,
        # status_description ours: the same rows).
        ("OGC items, 1000 newest", peer.our_ogc_paths(), peer.list_paths(), False, 0.1),
        (
            "OGC items, 1000 newest, CQL2 filter",
            peer.our_ogc_paths("status_description = 'open'"),
            peer.filter_paths("status = 'open'"),
            False,
            0.1,
        ),
    ]
    print(
        "scenario peer: starting pygeoapi (installs it in var/peer-venv on first use)", flush=True
    )
    rows = []
    try:
        server = peer.start(ctx.url, workers=ctx.args.workers)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:  # no pip, no port
        print(f"peer: pygeoapi could not start, skipped ({exc})", flush=True)
        return []
    with server:
        versions = peer.peer_versions()
        for name, ours_paths, peer_paths, timed, target in scenarios:
            ours = ctx.wrk(f"ours: {name}", [("GET", x, "") for x in ours_paths], own_timing=timed)
            theirs = ctx.wrk(
                f"pygeoapi: {name}",
                [("GET", x, "") for x in peer_paths],
                base=server.base_url,
                own_timing=timed,
            )
            # none: its p50 is longer than the run; errors: it did not answer the question
            answered = theirs["requests"] > 0 and not theirs["status_errors"]
            rows.append(
                Row(
                    f"vs pygeoapi: {name}",
                    p50_ms=ours["p50_ms"],
                    p99_ms=ours["p99_ms"],
                    rps=ours["rps"],
                    bound="PEER (pygeoapi p50)",
                    bound_p50_ms=theirs["p50_ms"] if answered else None,
                    target=target,
                    target_text=(
                        "ours / peer" if target is None else ">= 10x peer req/s (<= 0.1x its p50)"
                    ),
                    wrk=ours,
                    peer=theirs,
                    peer_versions=versions,
                    peer_example=peer_paths[0],
                    ours_example=ours_paths[0],
                    note=f"pygeoapi p99 {theirs['p99_ms']:.1f} ms, "
                    f"{theirs['rps']:.0f} req/s, "
                    f"answers >= 400: {theirs['status_errors']}",
                )
            )
    return rows


EXPORT_DAYS = 30  # the bulk export scenario's window (the whole table takes ~90 s)


def group_export(ctx: Context) -> list[dict]:
    """The bulk export (CSV) of the last EXPORT_DAYS days, read to the end by one client,
    three times: time to the first byte and to the last, against the RAW bound: PostgreSQL
    writing the same SELECT as CSV itself (COPY ... TO STDOUT, psycopg)."""
    if ctx.args.only and "export" not in ctx.args.only:
        return []
    from open311.repository.bulk import bulk_statement  # noqa: PLC0415
    from open311.repository.request_filters import Filters  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=EXPORT_DAYS)
    path = "/open311/v2/bulk/requests.csv?" + urlencode(
        {"jurisdiction_id": JURISDICTION, "start_date": start.isoformat()}
    )
    print(f"scenario bulk export: {path}", flush=True)

    def ours() -> tuple[float, float, int, int]:
        t0 = time.perf_counter()
        first, size, lines = None, 0, 0
        with urllib.request.urlopen(ctx.base + path, timeout=600) as answer:
            while chunk := answer.read(1 << 16):
                first = first if first is not None else time.perf_counter() - t0
                size += len(chunk)
                lines += chunk.count(b"\r\n")
        return first or 0.0, time.perf_counter() - t0, size, lines - 1

    engine = sa.create_engine(ctx.url, poolclass=sa.pool.NullPool)
    statement, values = bulk_statement(ctx.jurisdiction_pk, Filters(start=start, visible_by=now))
    sql = str(
        statement.params(values).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
    )

    def raw() -> tuple[float, int]:
        with engine.connect() as conn:
            driver = conn.connection.dbapi_connection
            driver.execute("SELECT set_config('TimeZone', 'America/Los_Angeles', false)")
            copy_sql = psql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
                psql.SQL(sql)  # a statement compiled from our own Core statement
            )
            t0, size = time.perf_counter(), 0
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for data in copy:
                    size += len(data)
            return time.perf_counter() - t0, size

    runs = [ours() for _ in range(3)]
    bounds = [raw() for _ in range(3)]
    engine.dispose()
    first = sorted(r[0] for r in runs)[1]
    total = sorted(r[1] for r in runs)[1]
    bound = sorted(b[0] for b in bounds)[1]
    rows = runs[0][3]
    return [
        Row(
            f"bulk export CSV, {EXPORT_DAYS} d ({rows:,} rows)",
            p50_ms=round(total * 1000, 1),
            p99_ms=None,
            rps=None,
            bound="RAW (COPY ... TO STDOUT csv)",
            bound_p50_ms=round(bound * 1000, 1),
            target=None,
            target_text="(shown)",
            note=f"first byte {first * 1000:.0f} ms; {rows / total:,.0f} rows/s; "
            f"{runs[0][2]:,} B (COPY: {bounds[0][1]:,} B); median of 3",
        )
    ]


def group_dashboard(ctx: Context) -> list[dict]:
    """A dashboard's query: statistics grouped by service and week over the default window
    (90 days), with the median time to close, 15 calls one after another, against the RAW
    bound: the statement the answer runs (the tally's cells of the window, its partial first
    day and its open backlog, migration 0008), run by psycopg on a connection with the
    server's session settings. Targets: <= 1.5x the bound and <= 100 ms. The exact statement
    over the requests themselves (what a selection of at most STATISTICS_EXACT_UP_TO
    requests runs, and any filter the tally does not carry) is timed alongside, for the
    record."""
    if ctx.args.only and "dashboard" not in ctx.args.only:
        return []
    from open311.db import SESSION_SETTINGS  # noqa: PLC0415
    from open311.repository import statistics as stats_repo  # noqa: PLC0415
    from open311.repository.request_filters import Filters  # noqa: PLC0415

    path = "/open311/v2/statistics.json?" + urlencode(
        {"jurisdiction_id": JURISDICTION, "group_by": "service,week"}
    )
    print(f"scenario dashboard: {path}", flush=True)
    calls = 15

    def ours() -> list[float]:
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            with urllib.request.urlopen(ctx.base + path, timeout=600) as answer:
                groups = len(json.loads(answer.read())["groups"])
            times.append(time.perf_counter() - t0)
        print(f"  {groups} groups", flush=True)
        return times

    now = dt.datetime.now(dt.UTC)
    window = Filters(start=now - dt.timedelta(days=90))
    zone = "America/Los_Angeles"
    engine = sa.create_engine(ctx.url, poolclass=sa.pool.NullPool)

    def compiled(statement: sa.Select, values: dict) -> str:
        values |= stats_repo.backlog_values(now)
        return str(
            statement.params(values).compile(
                dialect=engine.dialect, compile_kwargs={"literal_binds": True}
            )
        )

    sql = compiled(
        *stats_repo.tally_statement(
            ctx.jurisdiction_pk, window, ["service", "week"], timezone=zone, as_of=now
        )
    )
    exact_sql = compiled(
        *stats_repo.statistics_statement(
            ctx.jurisdiction_pk, window, ["service", "week"], timezone=zone
        )
    )

    def raw(statement: str, times_run: int = calls) -> list[float]:
        times = []
        with engine.connect() as conn:
            driver = conn.connection.dbapi_connection
            for name, value in {**SESSION_SETTINGS, "TimeZone": zone}.items():
                driver.execute("SELECT set_config(%s, %s, false)", (name, value))
            for _ in range(times_run):
                t0 = time.perf_counter()
                driver.execute(psql.SQL(statement)).fetchall()  # compiled from our own statement
                times.append(time.perf_counter() - t0)
        return times

    mine, bound, exact = ours(), raw(sql), raw(exact_sql, 5)
    engine.dispose()
    p50 = sorted(mine)[calls // 2] * 1000  # the median of an odd number of calls
    bound_p50 = sorted(bound)[calls // 2] * 1000
    exact_p50 = sorted(exact)[2] * 1000
    return [
        Row(
            "dashboard: statistics by service and week, 90 d",
            p50_ms=round(p50, 1),
            p99_ms=round(max(mine) * 1000, 1),
            rps=None,
            bound="RAW (the same statement, psycopg)",
            bound_p50_ms=round(bound_p50, 1),
            target=1.5,
            target_text="<= 1.5x RAW and <= 100 ms",
            met=p50 <= 1.5 * bound_p50 and p50 <= 100,
            note=(
                f"{calls} calls one after another; p99 is the slowest; percentiles estimated "
                f"from the tally; the exact statement over the requests: {exact_p50:.0f} ms"
            ),
        )
    ]


GROUPS: list[Callable[[Context], list[dict]]] = [
    group_single,
    group_lists,
    group_create,
    group_export,
    group_dashboard,
    group_peer,
]


# -- comparison with the previous run -----------------------------------------------------------
def compare(rows: list[dict], previous: dict | None) -> list[str]:
    if not previous:
        return []
    before = {r["scenario"]: r for r in previous.get("rows", [])}
    flags = []
    for r in rows:
        old = before.get(r["scenario"])
        if old and old.get("ratio") and r.get("ratio") and r["ratio"] > old["ratio"] * WORSENED:
            when = old.get("measured") or previous.get("when")
            r["flag"] = f"WORSE: ratio {old['ratio']:.2f} ({when}) -> {r['ratio']:.2f}"
            flags.append(f"{r['scenario']}: {r['flag']}")
    return flags


def latest_report(report: dict, previous: dict | None) -> dict:
    """What latest.json keeps: every scenario's most recent measurement. A partial run
    (``--only``, ``--geo-points 0``) replaces the scenarios it measured and carries the
    others forward from the previous latest.json, each with the time it was measured, so
    the next full run still compares every scenario with its last figure."""
    measured = {r["scenario"] for r in report["rows"]}
    rows = [{**r, "measured": report["when"]} for r in report["rows"]]
    for r in (previous or {}).get("rows", []):
        if r["scenario"] not in measured:
            rows.append({**r, "measured": r.get("measured") or previous.get("when")})
    return {**report, "rows": rows}


def machine() -> dict:
    info = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlalchemy": sa.__version__,
        "psycopg": psycopg.__version__,
    }
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = os.getloadavg()
        model = [
            x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name")
        ]
        info["cpu"] = model[0].split(":", 1)[1].strip() if model else None
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["wrk"] = subprocess.run(
            [wrk_binary(), "-v"], capture_output=True, text=True
        ).stdout.splitlines()[0]
    return info


def delete_created(engine: sa.Engine) -> int:
    """Delete the requests the ``bench`` keys created (the table keeps exactly the generated
    rows) and revoke the keys. service_request.duplicate_of is a foreign key ON DELETE SET
    NULL with no index: without one, each deleted row costs a scan of the whole table (2,000
    rows of 5M: minutes), so an index is built for the delete and dropped after it."""
    with engine.begin() as conn:
        keys = [
            k
            for (k,) in conn.execute(
                sa.text("SELECT id FROM api_key WHERE name = :n"), {"n": BENCH_KEY}
            )
        ]
        if not conn.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM service_request WHERE api_key_pk = ANY(:k))"),
            {"k": keys},
        ).scalar():
            return 0
        conn.execute(
            sa.text(
                "CREATE INDEX bench_tmp_duplicate_of ON service_request "
                "(duplicate_of) WHERE duplicate_of IS NOT NULL"
            )
        )
        deleted = conn.execute(
            sa.text("DELETE FROM service_request WHERE api_key_pk = ANY(:k)"), {"k": keys}
        ).rowcount
        conn.execute(sa.text("DROP INDEX bench_tmp_duplicate_of"))
        conn.execute(
            sa.text(
                "UPDATE api_key SET revoked_at = now() WHERE id = ANY(:k) AND revoked_at IS NULL"
            ),
            {"k": keys},
        )
    return deleted


# -- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="requests in the table")
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL of the bench database (default: "
        "open311_bench_5m / open311_bench_<rows> in the private cluster)",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="generate the table even if it has the right size"
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=None,
        help="seconds per measured run (default 15; the create scenario 60)",
    )
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="turns of ours and its bound per scenario (interleaved)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=2,
        help="wrk and pgbench connections for the read scenarios",
    )
    parser.add_argument("--create-connections", type=int, default=4)
    parser.add_argument(
        "--create-duration",
        type=int,
        default=None,
        help="seconds of the create scenario (default 60, or --duration)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--urls",
        type=int,
        default=100,
        help="distinct URLs (ids, bboxes, circles) per scenario (<= 128)",
    )
    parser.add_argument("--seed", type=int, default=311)
    parser.add_argument(
        "--geo-points",
        type=int,
        default=2000,
        help="points per data set for bench/geo_points.py (0: skip it)",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        help="scenarios: default filtered bbox radius by_id create export dashboard geo peer",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip bench/peer_pygeoapi.py")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.create_duration = args.create_duration or args.duration or 60
    args.duration = args.duration or 15
    args.urls = min(args.urls, 128)

    started = time.time()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(args)
    data = ensure_data(args, url)
    os.environ["OPEN311_DATABASE_URL"] = url
    from open311 import create_app
    from open311.operations.keys import create_key

    app = create_app()
    jurisdiction_pk, timezone = jurisdiction_facts(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        new = create_key(session, BENCH_KEY, "benchmark", replace=True)
        session.commit()
    rows: list[dict] = []
    report: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "database": sa.make_url(url).database,
        "data": data,
        "rows": rows,
    }
    private = not (args.database_url or os.environ.get("OPEN311_BENCH_DATABASE_URL"))
    with (
        tempfile.TemporaryDirectory(prefix="open311-bench-") as tmp,
        durable(url, private) as server_settings,
    ):
        report["server_settings"] = server_settings
        workdir = Path(tmp)
        try:
            with gunicorn(url, args.workers, ROOT / "var" / "bench-gunicorn.log") as (
                base,
                server_pid,
            ):
                ctx = Context(
                    args,
                    url,
                    base,
                    workdir,
                    app,
                    jurisdiction_pk,
                    samples(url, jurisdiction_pk, args.urls, args.seed),
                    api_key=new.key,
                    timezone=timezone,
                    meter=CpuMeter(server_pid, postmaster_pid(url)),
                )
                for group in GROUPS:
                    rows += group(ctx)
        finally:
            try:
                report["created_rows_deleted"] = delete_created(engine)
            except sa.exc.SQLAlchemyError as exc:  # report what was measured all the same
                print(f"cleanup failed (rows of the key {BENCH_KEY!r} left): {exc}", flush=True)
            engine.dispose()
        rows += group_geo(Context(args, url, "", workdir, app, jurisdiction_pk, {}))

    latest = args.output_dir / "latest.json"
    previous = json.loads(latest.read_text("utf-8")) if latest.exists() else None
    report["worsened"] = compare(rows, previous)
    report["previous"] = previous.get("when") if previous else None
    report["bench_s"] = round(time.time() - started, 1)
    print()
    print(
        f"{data['rows']:,} rows ({report['database']}), {args.workers} gunicorn workers, "
        f"{args.connections} connections (create: {args.create_connections}), "
        f"{args.duration} s per run (create: {args.create_duration} s)"
    )
    for r in rows:
        if cpu := cpu_summary(r):
            r["cpu"] = cpu
    print(table(rows))
    if cpu_lines := cpu_table(rows):
        print()
        print(cpu_lines)
    for line in report["worsened"]:
        print("WORSENED:", line)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stamped = args.output_dir / f"run-{time.strftime('%Y%m%dT%H%M%S')}.json"
    stamped.write_text(json.dumps(report, indent=2, default=str) + "\n", "utf-8")
    latest.write_text(
        json.dumps(latest_report(report, previous), indent=2, default=str) + "\n", "utf-8"
    )
    print(f"written {stamped} and {latest} ({report['bench_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
