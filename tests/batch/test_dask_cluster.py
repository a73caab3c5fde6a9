"""``analyze``/``gait --dask ADDRESS`` on a real dask.distributed cluster (a LocalCluster of two
worker processes): the same results in the same order as on this machine, a bad file an error
row, a failure of the cluster an error row per file, an unreachable scheduler one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from station.batch import run_dask
from station.cli import main
from station.store.trialfile import write_trial_csv

distributed = pytest.importorskip("distributed", reason="the dask extra (installed by the test setup)")

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
GAIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    ) as local:
        yield local


def _run(capsys, *argv):
    status = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_analyze_on_the_cluster_matches_this_machine(cluster, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "trials"
    folder.mkdir()
    for name in ("BDS00001.txt", "BDS00046.txt"):
        shutil.copy(BDS / name, folder / name)
    rng = np.random.default_rng(3)
    write_trial_csv(folder / "s.csv", {"time_s": np.arange(2000) / 100.0, "ap_cm": np.cumsum(rng.normal(0, 0.01, 2000)),
                                       "ml_cm": np.cumsum(rng.normal(0, 0.01, 2000))}, {"rate_hz": 100.0})
    (folder / "broken.csv").write_text("time_s,ap_cm,ml_cm\n0,1,x\n")
    monkeypatch.chdir(tmp_path)  # relative paths: the workers get them absolute, the output keeps them as given
    local = _run(capsys, "analyze", "trials", "--jobs", "1")
    remote = _run(capsys, "analyze", "trials", "--dask", cluster.scheduler_address)
    assert remote == local
    status, out, err = remote
    assert status == 1
    results = json.loads(out)
    assert [r["file"] for r in results] == ["trials/BDS00001.txt", "trials/BDS00046.txt", "trials/broken.csv",
                                            "trials/s.csv"]
    assert results[2] == {"file": "trials/broken.csv", "error": "line 2, column ml_cm: 'x' is not a number"}
    assert err.strip().splitlines()[-1] == "balance-station analyze: 1 of 4 file(s) failed"


@pytest.mark.skipif(not GAIT.is_dir(), reason="shared gait recordings not present")
def test_gait_on_the_cluster_matches_this_machine(cluster, capsys):
    walk = sorted(GAIT.glob("*.csv"))[0]
    local = _run(capsys, "gait", walk, "--jobs", "1")
    remote = _run(capsys, "gait", walk, "--dask", cluster.scheduler_address)
    assert remote == local and local[0] == 0


def _fails_on_the_worker(item):
    raise RuntimeError(f"worker broke on {item}")


def test_a_chunk_failing_on_the_cluster_gives_one_error_row_per_file(cluster):
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        rows = list(run_dask(_fails_on_the_worker, ["a.csv", "b.csv"], client=client, total=2,
                             lost=lambda item, reason: {"file": item, "error": reason}))
    assert [r["file"] for r in rows] == ["a.csv", "b.csv"]
    assert all(r["error"].startswith("failed on the Dask cluster (RuntimeError: worker broke on") for r in rows)


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    import socket

    import station.batch

    monkeypatch.setattr(station.batch, "CONNECT_TIMEOUT_S", 1.0)

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, out, err = _run(capsys, "analyze", BDS / "BDS00001.txt", "--dask", f"tcp://127.0.0.1:{port}")
    assert status == 1 and out == ""
    assert err.startswith(f"balance-station analyze: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
