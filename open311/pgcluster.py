"""A private PostgreSQL + PostGIS cluster in the project's own data directory.

This is the zero-configuration database of `make run` and `make test`: when
``OPEN311_DATABASE_URL`` is not set, the project runs its own cluster with Debian's
binaries (``initdb`` + ``pg_ctl``), listening on a Unix socket inside its data
directory only (no TCP port, so it never clashes with another server and nobody
else on the machine can reach it). PostgreSQL refuses to run as root; when started
by root the cluster runs as the unprivileged ``postgres`` account that Debian's
package creates.

Usage: ``python -m open311.pgcluster start|stop|status|url [--data-dir DIR]``.
Imports nothing of Flask: the test suite and the Makefile use it directly.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

VAR = Path(__file__).resolve().parent.parent / "var"
DEFAULT_DATA_DIR = VAR / "pgdata"  # `make run`'s: durable
TEST_DATA_DIR = VAR / "pgtest"  # the test suite's: fast, a crash may lose its last commits
DB_USER = "open311"
PORT = 5432  # only names the socket file: the cluster listens on no TCP port

# Settings the cluster is (re)started with, kept in postgresql.auto.conf. Durable is
# PostgreSQL's own default: an acknowledged commit survives a crash of the server or the
# machine. Only the test suite's cluster, whose data is made again on every run, trades
# that for speed.
SETTINGS = {
    "listen_addresses": "''",
    "shared_buffers": "256MB",
    "max_connections": "200",
}
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ClusterError(RuntimeError):
    pass


def _postgres_bindir() -> Path:
    """The newest PostgreSQL whose PostGIS extension is installed."""
    candidates = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        version = bindir.parent.name
        if glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
            candidates.append((float(version), bindir))
    if not candidates:
        on_path = shutil.which("initdb")
        if on_path:
            return Path(on_path).parent
        raise ClusterError(
            "PostgreSQL with PostGIS is not installed: run `make deps` "
            "(apt-get install postgresql postgresql-15-postgis-3)"
        )
    return max(candidates)[1]


@dataclass
class Cluster:
    data_dir: Path = DEFAULT_DATA_DIR
    durable: bool = True

    @property
    def pgdata(self) -> Path:
        return self.data_dir

    @property
    def socket_dir(self) -> Path:
        return self.data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def url(self, dbname: str = "open311") -> str:
        return f"postgresql+psycopg://{DB_USER}@/{dbname}?host={self.socket_dir}&port={PORT}"

    # -- running commands, as postgres when we are root -------------------------------------
    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def _run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self._as_owner(argv), check=False, text=True, **kw)  # noqa: S603

    def _prepare_dirs(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            self.data_dir.mkdir(mode=0o700, exist_ok=True)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
            if not self.log_file.exists():
                self.log_file.touch()
            os.chown(self.log_file, owner.pw_uid, owner.pw_gid)
            # the postgres account must be able to reach the data directory
            probe = self._run(["test", "-w", str(self.data_dir)])
            if probe.returncode != 0:
                raise ClusterError(
                    f"the postgres account cannot reach {self.data_dir}: give the folders "
                    "above it o+x, or set OPEN311_DATABASE_URL to a server of your own"
                )

    # -- lifecycle ----------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        bindir = _postgres_bindir()
        res = self._run(
            [str(bindir / "pg_ctl"), "status", "-D", str(self.pgdata)], capture_output=True
        )
        return res.returncode == 0

    def init(self) -> None:
        self._prepare_dirs()
        if self.initialised():
            return
        bindir = _postgres_bindir()
        res = self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                DB_USER,
                "--auth-local=trust",
                "--auth-host=reject",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
        )
        if res.returncode != 0:
            raise ClusterError(f"initdb failed:\n{res.stdout}\n{res.stderr}")

    def settings(self) -> dict[str, str]:
        """What this cluster runs with (see SETTINGS)."""
        return {
            **SETTINGS,
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(PORT),
            **(DURABLE if self.durable else FAST),
        }

    def _configure(self) -> bool:
        """Write the settings into postgresql.auto.conf, replacing earlier values of the
        same names (a cluster made before the demo's was durable had fsync off). Whether
        anything changed."""
        path = self.pgdata / "postgresql.auto.conf"
        wanted = self.settings()
        kept = (
            [
                line
                for line in path.read_text().splitlines()
                if line.split("=", 1)[0].strip() not in wanted
            ]
            if path.exists()
            else []
        )
        text = "\n".join([*kept, *(f"{name} = {value}" for name, value in wanted.items())])
        if path.exists() and path.read_text() == text + "\n":
            return False
        path.write_text(text + "\n")  # initdb made it: its owner stays (root may write)
        return True

    def start(self) -> None:
        self.init()
        changed = self._configure()
        if self.running():
            if changed:  # fsync, synchronous_commit and full_page_writes take a reload
                self._run(
                    [str(_postgres_bindir() / "pg_ctl"), "reload", "-D", str(self.pgdata)],
                    capture_output=True,
                )
            return
        bindir = _postgres_bindir()
        res = self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
            ],
            capture_output=True,
        )
        if res.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise ClusterError(f"pg_ctl start failed:\n{res.stdout}\n{res.stderr}\n{tail}")
        for _ in range(100):
            if self.running():
                return
            time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clients disconnected, a clean shutdown) or
        ``immediate`` (no shutdown at all, as a crash: recovery replays the WAL on start)."""
        if not self.running():
            return
        bindir = _postgres_bindir()
        self._run(
            [str(bindir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.pgdata)],
            capture_output=True,
        )

    def ensure_database(self, dbname: str, *, recreate: bool = False) -> str:
        """Create `dbname` (with PostGIS) if missing; return its SQLAlchemy URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", dbname):
            raise ClusterError(f"{dbname!r} is not a plain database name")
        self.start()
        bindir = _postgres_bindir()
        psql = [
            str(bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(PORT),
            "-U",
            DB_USER,
        ]

        # The name reaches SQL as a psql variable, quoted by psql (:'name' a literal,
        # :"name" an identifier), never formatted into the statement.
        def sql(database: str, script: str) -> subprocess.CompletedProcess:
            return self._run(
                [*psql, "-d", database, "-tA", "-v", f"name={dbname}"],
                input=script,
                capture_output=True,
            )

        if recreate:
            sql("postgres", 'DROP DATABASE IF EXISTS :"name";')
        exists = sql("postgres", "SELECT 1 FROM pg_database WHERE datname = :'name';")
        if exists.stdout.strip() != "1":
            res = sql("postgres", 'CREATE DATABASE :"name";')
            if res.returncode != 0:
                raise ClusterError(f"createdb {dbname} failed: {res.stderr}")
        res = self._run(
            [
                *psql,
                "-d",
                dbname,
                "-c",
                "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm;",
            ],
            capture_output=True,
        )
        if res.returncode != 0:
            raise ClusterError(f"CREATE EXTENSION postgis failed: {res.stderr}")
        return self.url(dbname)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m open311.pgcluster")
    parser.add_argument("action", choices=["start", "stop", "status", "url", "ensure-db"])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("OPEN311_PGDATA", DEFAULT_DATA_DIR))
    )
    parser.add_argument("--db", default="open311")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="fsync, synchronous_commit and full_page_writes off (a test "
        "cluster: a crash may lose acknowledged commits)",
    )
    args = parser.parse_args(argv)
    cluster = Cluster(args.data_dir.resolve(), durable=not args.fast)
    try:
        if args.action == "start":
            cluster.start()
            print(f"PostGIS cluster running in {cluster.data_dir}")
        elif args.action == "stop":
            cluster.stop()
        elif args.action == "status":
            print("running" if cluster.running() else "stopped")
            return 0 if cluster.running() else 3
        elif args.action == "url":
            print(cluster.url(args.db))
        elif args.action == "ensure-db":
            print(cluster.ensure_database(args.db))
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
