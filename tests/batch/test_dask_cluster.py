"""``analyze``/``gait --dask ADDRESS`` on a real dask.distributed cluster (a LocalCluster of two
worker processes): the same results in the same order as on this machine, a bad file an error
row, a failure of the cluster an error row per file, an unreachable scheduler one line.

The cluster and every client run in their own processes, as on a real installation: dask's
threads must not live in the test process, which forks for the other tests' batches."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from station.store.trialfile import write_trial_csv

pytest.importorskip("distributed", reason="the dask extra (installed by the test setup)")

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
GAIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"

CLUSTER = textwrap.dedent("""
    import sys
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()  # until the test closes our standard input
""")


@pytest.fixture(scope="module")
def scheduler():
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://"), "the LocalCluster did not start"
        yield address
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(*argv, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "station.cli", *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_analyze_on_the_cluster_matches_this_machine(scheduler, tmp_path):
    folder = tmp_path / "trials"
    folder.mkdir()
    for name in ("BDS00001.txt", "BDS00046.txt"):
        shutil.copy(BDS / name, folder / name)
    rng = np.random.default_rng(3)
    write_trial_csv(folder / "s.csv", {"time_s": np.arange(2000) / 100.0, "ap_cm": np.cumsum(rng.normal(0, 0.01, 2000)),
                                       "ml_cm": np.cumsum(rng.normal(0, 0.01, 2000))}, {"rate_hz": 100.0})
    (folder / "broken.csv").write_text("time_s,ap_cm,ml_cm\n0,1,x\n")
    # relative paths: the workers get them absolute, the output keeps them as given
    local = _run("analyze", "trials", "--jobs", "1", cwd=tmp_path)
    remote = _run("analyze", "trials", "--dask", scheduler, cwd=tmp_path)
    assert remote == local
    status, out, err = remote
    assert status == 1
    results = json.loads(out)
    assert [r["file"] for r in results] == ["trials/BDS00001.txt", "trials/BDS00046.txt", "trials/broken.csv",
                                            "trials/s.csv"]
    assert results[2] == {"file": "trials/broken.csv", "error": "line 2, column ml_cm: 'x' is not a number"}
    assert err.strip().splitlines()[-1] == "balance-station analyze: 1 of 4 file(s) failed"
    assert "Traceback" not in err


@pytest.mark.skipif(not GAIT.is_dir(), reason="shared gait recordings not present")
def test_gait_on_the_cluster_matches_this_machine(scheduler):
    walk = sorted(GAIT.glob("*.csv"))[0]
    local = _run("gait", walk, "--jobs", "1")
    remote = _run("gait", walk, "--dask", scheduler)
    assert remote == local and local[0] == 0


FAILING_CHUNK = textwrap.dedent("""
    import json, sys
    from distributed import Client
    from station.batch import run_dask

    def fails_on_the_worker(item):  # defined here: sent to the workers by value
        raise RuntimeError(f"worker broke on {item}")

    with Client(sys.argv[1], set_as_default=False) as client:
        rows = list(run_dask(fails_on_the_worker, ["a.csv", "b.csv"], client=client, total=2,
                             lost=lambda item, reason: {"file": item, "error": reason}))
    print(json.dumps(rows))
""")


def test_a_chunk_failing_on_the_cluster_gives_one_error_row_per_file(scheduler):
    proc = subprocess.run([sys.executable, "-c", FAILING_CHUNK, scheduler], capture_output=True, text=True, timeout=120)
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r["file"] for r in rows] == ["a.csv", "b.csv"]
    assert all(r["error"].startswith("failed on the Dask cluster (RuntimeError: worker broke on") for r in rows)


UNREACHABLE = textwrap.dedent("""
    import sys
    import station.batch
    from station.cli import main

    station.batch.CONNECT_TIMEOUT_S = 1.0  # the command waits 10 s
    sys.exit(main(["analyze", sys.argv[1], "--dask", sys.argv[2]]))
""")


def test_unreachable_scheduler_is_one_line():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([sys.executable, "-c", UNREACHABLE, str(BDS / "BDS00001.txt"), f"tcp://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"balance-station analyze: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


SCHEDULER_ONLY = textwrap.dedent("""
    import asyncio, sys
    from distributed import Scheduler

    async def main():
        async with Scheduler(port=0, dashboard_address=None) as scheduler:
            print(scheduler.address, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
""")


def test_a_cluster_without_workers_is_one_line():
    proc = subprocess.Popen([sys.executable, "-c", SCHEDULER_ONLY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        address = proc.stdout.readline().strip()
        status, out, err = _run("analyze", BDS / "BDS00001.txt", "--dask", address)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert status == 1 and out == ""
    assert err == f"balance-station analyze: --dask {address}: the cluster has no workers; start some with " \
                  f"`dask worker {address}`\n"
