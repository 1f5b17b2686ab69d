"""The benchmark harness's own arithmetic (bench/run.py).

CPU accounting: each measured run reads the CPU of the server's and the database's process
trees before and after. A backend whose client has just left exits; until its parent reaps
it, it is a zombie whose CPU shows nowhere, so a reading waits for the reap. Linux only
(/proc). And latest.json, which keeps every scenario's most recent figure across partial runs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _loaded(name: str, filename: str):
    """A bench/ script as a module, registered while in use (dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def bench():
    yield from _loaded("bench_run", "run.py")


# A parent like the postmaster: on "go", starts a child that burns CPU_S of CPU and exits,
# and reaps it only REAP_DELAY_S after it has exited (a zombie meanwhile).
CPU_S, REAP_DELAY_S = 0.3, 0.4
PARENT = textwrap.dedent(f"""
    import os, subprocess, sys, time
    sys.stdin.readline()
    child = subprocess.Popen([sys.executable, "-c",
        "import time\\nt = time.process_time()\\nwhile time.process_time() - t < {CPU_S}: pass"])
    print(child.pid, flush=True)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    time.sleep({REAP_DELAY_S})
    child.wait()
    sys.stdin.readline()
""")


def test_a_reading_counts_a_child_that_exited_between_readings(bench):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        meter = bench.CpuMeter(server_pid=None, postmaster_pid=parent.pid)
        before = meter.reading()
        parent.stdin.write("go\n")
        parent.stdin.flush()
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while (bench._stat(child) or ["?"])[0] != "Z":  # wait for the zombie
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        after = meter.reading()  # waits for the reap
        spent = bench.CpuMeter.spent(before, after)
        assert spent["server"] is None  # no server given: unknown, not zero
        assert CPU_S * 0.8 <= spent["database"] < CPU_S + 0.5
        assert bench._stat(child) is None  # reaped by the time the reading was taken
    finally:
        parent.stdin.close()
        parent.kill()
        parent.wait()


def test_a_process_that_is_not_there_is_unknown(bench):
    assert bench.tree_cpu_s(None, {}) is None
    assert bench.tree_cpu_s(2**22 + 12345, {}) is None  # beyond pid_max: never a process


def test_per_request_figures_and_their_ratio(bench):
    ours = {"requests": 200, "cpu_s": {"server": 0.8, "database": 0.4, "load": 0.2}}
    raw = {"transactions": 400, "cpu_s": {"server": 0.0, "database": 0.6, "load": 0.2}}
    assert bench.cpu_per_request(ours) == pytest.approx(
        {"server": 4.0, "database": 2.0, "load": 1.0}
    )
    summary = bench.cpu_summary({"wrk": ours, "raw": raw})
    assert summary["ours_total"] == pytest.approx(7.0)
    assert summary["bound_total"] == pytest.approx(2.0)
    assert summary["ratio"] == pytest.approx(3.5)
    # A side with an unknown part has no total, so no ratio.
    unknown = {"requests": 10, "cpu_s": {"server": 0.1, "database": None, "load": 0.1}}
    assert bench.cpu_summary({"wrk": unknown, "raw": raw})["ratio"] is None
    assert bench.cpu_summary({"wrk": {"requests": 1}}) is None  # not metered


# -- latest.json across partial runs -------------------------------------------------------------
def _row(scenario: str, ratio: float) -> dict:
    return {"scenario": scenario, "p50_ms": 1.0, "ratio": ratio}


def test_a_partial_run_carries_the_other_scenarios_forward(bench):
    full = {"when": "T1", "rows": [_row("default list", 2.3), _row("by id", 2.1)]}
    partial = {"when": "T2", "rows": [_row("by id", 2.0)]}
    latest = bench.latest_report(partial, full)
    assert {r["scenario"]: (r["ratio"], r["measured"]) for r in latest["rows"]} == {
        "by id": (2.0, "T2"),
        "default list": (2.3, "T1"),
    }
    assert partial["rows"] == [_row("by id", 2.0)]  # the run's own report is unchanged
    # The next full run still compares the list with its last measurement, and says when.
    again = [_row("default list", 2.9), _row("by id", 2.05)]
    assert bench.compare(again, latest) == ["default list: WORSE: ratio 2.30 (T1) -> 2.90"]
    # A scenario carried forward twice keeps the time it was measured.
    later = bench.latest_report({"when": "T3", "rows": [_row("by id", 1.9)]}, latest)
    assert {r["scenario"]: r["measured"] for r in later["rows"]} == {
        "by id": "T3",
        "default list": "T1",
    }


def test_a_first_run_has_nothing_to_compare_with(bench):
    run = {"when": "T1", "rows": [_row("by id", 2.0)]}
    assert bench.compare(run["rows"], None) == []
    assert bench.latest_report(run, None)["rows"] == [{**_row("by id", 2.0), "measured": "T1"}]


# -- wrk's script ---------------------------------------------------------------------------------
def test_only_runs_that_ask_count_status_classes(bench):
    # A response() hook makes wrk hand every body to Lua (costly for 0.55 MB lists): GET runs
    # go without it and rely on wrk's own count of answers >= 400.
    reads, creates = bench.wrk_script(None), bench.wrk_script(150.0, classes=True)
    assert "function response(" not in reads and "function delay(" not in reads
    assert "function response(" in creates and "function delay(" in creates
    for script in (reads, creates):
        assert "%(" not in script and '"status_errors": %d' in script


def test_wrk_figures_without_classes(bench):
    line = (
        'WRKJSON {"requests": 10, "duration_us": 1000000, "p50_us": 500, "status_errors": 2,'
        ' "n2xx": -1, "n3xx": -1, "n4xx": -1, "n5xx": -1}'
    )
    result = bench.wrk_result(line)
    assert result["status_errors"] == 2 and result["n2xx"] is None and result["n5xx"] is None
    assert bench.statuses_text(result) == "answers >= 400: 2"
    counted = bench.wrk_result(line.replace("-1", "3"))
    assert bench.statuses_text(counted) == "2xx 3, 4xx 3, 5xx 3"
    # Rounds: counts that were not counted stay unknown; the others add up.
    combined = bench._combine(
        [{**result, "p50_ms": 1.0, "p99_ms": 2.0}, {**result, "p50_ms": 3.0, "p99_ms": 4.0}]
    )
    assert combined["status_errors"] == 4 and combined["n2xx"] is None
    assert combined["p50_ms"] == 2.0


def test_own_timing_times_each_answer_and_goes_alone(bench):
    # wrk corrects its histogram for coordinated omission; pgbench does not. Runs whose
    # latencies vary widely time each answer in Lua instead.
    timed = bench.wrk_script(None, own_timing=True)
    assert "function response(" in timed and "lat[#lat + 1]" in timed
    assert "function delay(" not in timed and "%(" not in timed
    assert "counting_classes = true" not in timed  # its response() counts no classes
    assert "function response(" not in bench.wrk_script(None)
    for kwargs in ({"classes": True}, {}):
        with pytest.raises(ValueError):
            bench.wrk_script(150.0 if not kwargs else None, own_timing=True, **kwargs)


def test_wrk_figures_timed_per_answer_replace_the_histograms(bench):
    line = (
        'WRKJSON {"requests": 10, "duration_us": 1000000, "p50_us": 900, "p90_us": 950, '
        '"p99_us": 990, "mean_us": 910.0, "max_us": 999, "status_errors": 0, "n2xx": -1, '
        '"n3xx": -1, "n4xx": -1, "n5xx": -1, "own_count": 10, "own_p50_us": 500, '
        '"own_p90_us": 600, "own_p99_us": 700, "own_mean_us": 520.0, "own_max_us": 710}'
    )
    result = bench.wrk_result(line)
    assert (result["p50_us"], result["p99_us"], result["mean_us"]) == (500, 700, 520.0)
    assert (result["wrk_p50_us"], result["wrk_p99_us"]) == (900, 990)
    assert result["timing"] == "per answer (Lua)" and "own_count" not in result
    untimed = bench.wrk_result(line.replace('"own_count": 10', '"own_count": 0'))
    assert untimed["p50_us"] == 900 and untimed["timing"] == "wrk's histogram"
    assert "wrk_p50_us" not in untimed


@pytest.fixture(scope="module")
def peer():
    yield from _loaded("bench_peer", "peer_pygeoapi.py")


def test_the_peer_reads_our_database_and_asks_our_questions(peer):
    # Issue 5, point 4: pygeoapi serves the same table, asked the same questions.
    params = peer.db_params(
        "postgresql+psycopg://open311@/open311_bench_5m?host=/work/var/pgdata&port=5433"
    )
    assert params == {
        "host": "/work/var/pgdata",
        "port": 5433,
        "dbname": "open311_bench_5m",
        "user": "open311",
        "password": None,
    }
    box = (-118.26, 34.04, -118.24, 34.06)
    [ours] = peer.our_bbox_paths([box])
    [theirs] = peer.bbox_paths([box], 90, newest_first=True)
    assert "bbox=-118.260000,34.040000,-118.240000,34.060000" in ours
    assert "bbox=-118.260000,34.040000,-118.240000,34.060000" in theirs
    assert "limit=1000" in theirs and "sortby=-requested_datetime" in theirs
    assert "&datetime=" in theirs and theirs.endswith("/..")  # the last 90 days, as ours
    [plain] = peer.bbox_paths([box])  # pygeoapi's default: no window, no order
    assert "datetime=" not in plain and "sortby" not in plain
    assert peer.single_paths([42]) == ["/collections/requests/items/42?f=json"]
    assert peer.our_single_paths([42]) == [
        "/open311/v2/requests/42.json?jurisdiction_id=lacity.org"
    ]
