"""Issue 5, point 1: bench/generate.py builds a realistic table inside a real jurisdiction
(services, statuses, times and places resampled from the MyLA311 records and the LA address
points), checked here on 20,000 rows with the generator's own SQL checks against its sources."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
DBNAME = "open311_bench_gentest"
ROWS = 20_000


@pytest.fixture(scope="module")
def generated(database_url):  # database_url: the suite's private cluster is running
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    url = sa.make_url(database_url).set(database=DBNAME).render_as_string(hide_password=False)
    admin = sa.create_engine(
        sa.make_url(url).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{DBNAME}"')
    with sa.create_engine(url, poolclass=sa.pool.NullPool).begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    try:
        assert generate.main(["--rows", str(ROWS), "--database-url", url, "--batch", "10000"]) in (
            0,
            None,
        )
        yield generate.check(url, argparse.Namespace())
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
        admin.dispose()


def test_every_row_is_generated_inside_the_real_boundary(generated):
    assert generated["rows"] == ROWS
    assert generated["points_null"] == 0
    assert generated["points_outside_boundary"] == 0  # ST_Covers on LA's subdivided parts
    assert generated["area_pks_same_as_areas_at"] == "300/300"  # as the server places them


def test_services_times_and_statuses_follow_the_real_records(generated):
    assert generated["service_mix_max_diff_pp"] < 2.0  # percentage points, per service
    assert generated["hour_total_variation"] < 0.06  # local hour of day
    assert generated["weekday_total_variation"] < 0.05
    assert abs(float(generated["closed_pct_table"]) - generated["closed_pct_source"]) < 2.0
    source_hours = generated["median_hours_to_close_source"]
    assert abs(float(generated["median_hours_to_close"]) - source_hours) < 0.25 * source_hours


def test_the_table_serves_the_servers_own_queries(generated):
    sample = generated["search_sample"]
    assert sample["rows"] > 0 and sample["same_lexemes"] == sample["rows"]
    assert generated["get_requests_rows"] == 1000  # the default list: 90 days, 1000 newest
    assert "ix_service_request_newest" in generated["get_requests_plan_uses"]
