#!/usr/bin/env python3
"""A yardstick for the default list: the least any Python WSGI server must do for it.

``app`` below is a bare WSGI application under the same gunicorn (2 sync workers): it sends
the very statements our server sends for the default list (captured from the app, as the RAW
bound's pgbench does) on one psycopg connection per worker (binary results, prepared after a
few calls), makes the items with the server's own ``request_items`` and writes them with
its ``json_bytes``. No routing, parameter checks, jurisdiction lookup, ETag, Last-Modified,
Link header or session handling. ``main`` runs ours, this, and RAW (pgbench) in interleaved
rounds and prints each one's p50 and CPU per request: how far the bare minimum already is
from RAW, and what the rest of a real server adds on top of it.

Usage (the bench database must exist: ``make bench`` makes it):
``.venv/bin/python bench/bare_list.py [--rounds 4] [--seconds 5]``
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
from pathlib import Path

STATEMENTS = "OPEN311_BARE_STATEMENTS"  # a pickle of [(sql, params), ...]: the list first
JURISDICTION = "OPEN311_BARE_JURISDICTION"
_state: dict = {}


def app(environ, start_response):
    """The bare server: the captured statements, the items, the JSON."""
    if not _state:
        import psycopg  # noqa: PLC0415
        import sqlalchemy as sa  # noqa: PLC0415

        from open311.db import session_options  # noqa: PLC0415
        from open311.formats import json_bytes  # noqa: PLC0415
        from open311.operations.payloads import request_items  # noqa: PLC0415

        url = sa.make_url(os.environ["OPEN311_DATABASE_URL"]).set(drivername="postgresql")
        conn = psycopg.connect(
            url.render_as_string(hide_password=False), autocommit=True, options=session_options(url)
        )
        # Datetimes are formatted in the session's TimeZone: the jurisdiction's, as ours sets.
        conn.execute(
            "SELECT set_config('TimeZone', timezone, false) FROM jurisdiction "
            "WHERE jurisdiction_id = %s",
            (os.environ[JURISDICTION],),
        )
        _state["conn"], _state["items"], _state["json"] = conn, request_items, json_bytes
        _state["statements"] = pickle.loads(Path(os.environ[STATEMENTS]).read_bytes())
    rows = None
    for sql, params in _state["statements"]:
        with _state["conn"].cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            answer = cursor.fetchall()
        rows = answer if rows is None else rows
    body = _state["json"](_state["items"](rows))
    start_response(
        "200 OK",
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5, help="per side and round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2, help="wrk and pgbench")
    options = parser.parse_args()

    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import run  # noqa: PLC0415 (bench/run.py: its server, wrk, pgbench and CPU meter)

    settings = argparse.Namespace(
        database_url=None,
        rows=5_000_000,
        duration=options.seconds,
        warmup=options.warmup,
        rounds=options.rounds,
        connections=options.connections,
        seed=311,
    )
    url = run.database_url(settings)
    try:
        rows = run.generated_rows(url)
    except run.sa.exc.OperationalError as exc:
        print(f"cannot reach the bench database: {exc.orig}", file=sys.stderr)
        return 2
    if not rows:
        print("no benchmark table in the bench database: run `make bench` first", file=sys.stderr)
        return 2
    os.environ["OPEN311_DATABASE_URL"] = url
    from open311 import create_app  # noqa: PLC0415

    _, timezone = run.jurisdiction_facts(url)

    path = f"{run.LIST}?jurisdiction_id={run.JURISDICTION}"
    sides: dict[str, list[dict]] = {"ours": [], "bare": [], "raw": []}
    log = run.ROOT / "var" / "bench-gunicorn.log"
    with (
        tempfile.TemporaryDirectory(prefix="open311-bare-") as tmp,
        run.gunicorn(url, 2, log) as (base, pid),
    ):
        workdir = Path(tmp)
        ours = run.Context(
            settings,
            url,
            base,
            workdir,
            create_app(),
            0,
            {},
            meter=run.CpuMeter(pid, run.postmaster_pid(url)),
            timezone=timezone,
        )
        statements = [c for c in ours.main_statement(path)[1] if "set_config(" not in c.sql]
        (workdir / "statements.pickle").write_bytes(
            pickle.dumps([(c.sql, c.params) for c in statements])
        )
        env = {
            STATEMENTS: str(workdir / "statements.pickle"),
            JURISDICTION: run.JURISDICTION,
            "PYTHONPATH": str(run.ROOT),
        }
        with run.gunicorn(
            url,
            2,
            log.with_name("bench-bare.log"),
            app="bare_list:app",
            folder=here,
            ready="/",
            env=env,
        ) as (bare_base, bare_pid):
            bare = run.Context(
                settings,
                url,
                bare_base,
                workdir,
                None,
                0,
                {},
                meter=run.CpuMeter(bare_pid, run.postmaster_pid(url)),
            )
            for k in range(options.rounds):
                warm = options.warmup if k == 0 else 0
                sides["ours"].append(ours.wrk("ours", [("GET", path, "")], warmup=warm))
                sides["bare"].append(bare.wrk("bare", [("GET", "/", "")], warmup=warm))
                sides["raw"].append(ours.pgbench("raw", [statements], warmup=warm))
    p50 = {side: statistics.median(r["p50_ms"] for r in runs) for side, runs in sides.items()}
    print()
    for side, runs in sides.items():
        cpu = [run.cpu_per_request(r) for r in runs]
        split = ", ".join(
            f"{part} {statistics.median(c[part] for c in cpu):.2f}"
            for part in ("server", "database", "load")
        )
        print(
            f"{side:5} p50 {p50[side]:6.2f} ms (median of {len(runs)} rounds); "
            f"CPU ms per request: {split}"
        )
    print(
        f"bare / raw {p50['bare'] / p50['raw']:.2f}, ours / raw {p50['ours'] / p50['raw']:.2f}, "
        f"ours / bare {p50['ours'] / p50['bare']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
