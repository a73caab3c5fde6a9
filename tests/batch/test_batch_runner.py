"""station.batch and the batch side of ``analyze``/``gait``: every core, file order kept, bounded
memory, a dead worker one error row, the same output whatever the number of workers."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from station.batch import WINDOW_PER_WORKER, _chunks, chunk_size, run_local
from station.cli import main
from station.commands._batch import JsonListWriter
from station.store.atomic import atomic_text_writer
from station.store.trialfile import write_trial_csv

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds


def _double_with_pid(item: int) -> tuple[int, int]:
    return item * 2, os.getpid()


def _lost(item, reason):
    return ("lost", item, reason)


def _die_on_13(item: int) -> tuple[int, int]:
    if item == 13:
        os._exit(3)  # a worker killed mid-task (out of memory, a crash in a C library)
    return item * 2, os.getpid()


def test_results_in_input_order_from_worker_processes():
    results = list(run_local(_double_with_pid, range(200), jobs=2, total=200, lost=_lost))
    assert [r[0] for r in results] == [2 * i for i in range(200)]
    assert os.getpid() not in {pid for _, pid in results}


def test_one_job_runs_in_this_process():
    results = list(run_local(_double_with_pid, range(5), jobs=1, total=5, lost=_lost))
    assert results == [(2 * i, os.getpid()) for i in range(5)]


def test_items_in_flight_are_bounded_whatever_the_batch_size():
    total, jobs = 5000, 2
    consumed = 0

    def items():
        nonlocal consumed
        for i in range(total):
            consumed += 1
            yield i

    bound = (WINDOW_PER_WORKER * jobs + 1) * chunk_size(total, jobs)  # the window, and the chunk being handed over
    most_ahead = 0
    for received, _ in enumerate(run_local(_double_with_pid, items(), jobs=jobs, total=total, lost=_lost), start=1):
        most_ahead = max(most_ahead, consumed - received)
    assert received == total
    assert most_ahead <= bound < total // 10


def test_chunks_shrink_to_single_items_as_the_batch_runs_out():
    """The workers finish together: the first chunk is the largest, the last ones hold one item."""
    sizes = [len(chunk) for chunk in _chunks(iter(range(200)), 200, 2)]
    assert sum(sizes) == 200 and sizes[0] == chunk_size(200, 2) == 16 and len(sizes) == 24
    assert sizes == sorted(sizes, reverse=True) and sizes[-7:] == [1] * 7
    assert [len(chunk) for chunk in _chunks(iter(range(3)), 3, 2)] == [1, 1, 1]
    assert max(len(chunk) for chunk in _chunks(iter(range(100_000)), 100_000, 2)) == 16


def test_a_worker_that_dies_loses_only_its_own_item():
    results = list(run_local(_die_on_13, range(40), jobs=2, total=40, lost=_lost))
    assert len(results) == 40
    assert results[13][:2] == ("lost", 13) and "died" in results[13][2]
    assert [r[0] for i, r in enumerate(results) if i != 13] == [2 * i for i in range(40) if i != 13]



def _die_on_17_after_the_chunk_before_is_done(item: int) -> tuple[int, int]:
    if item == 17:  # first item of the third chunk of 40 items on 2 workers
        time.sleep(0.5)  # the second chunk (items 10-16, the other worker) finishes first
        os._exit(3)
    return item * 2, os.getpid()


def test_a_worker_that_dies_while_the_results_wait_to_be_read_loses_only_its_own_item():
    """CI saw it: the pool broke between a result being ready and the next chunk's submission
    (BrokenProcessPool escaped the batch). The reader here is slow: the death happens while it
    reads the first chunk, after the second chunk's result is in."""
    assert [len(c) for c in _chunks(iter(range(40)), 40, 2)][:3] == [10, 7, 5]
    results = []
    for result in run_local(_die_on_17_after_the_chunk_before_is_done, range(40), jobs=2, total=40, lost=_lost):
        if not results:
            time.sleep(2.0)
        results.append(result)
    assert len(results) == 40
    assert results[17][:2] == ("lost", 17) and "died" in results[17][2]
    assert [r[0] for i, r in enumerate(results) if i != 17] == [2 * i for i in range(40) if i != 17]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_streamed_json_list_is_byte_for_byte_json_dumps(count):
    items = [{"file": f"t{i}.csv", "metrics": {"a": 1.5, "b": None, "c": [1, 2]}, "note": "line\nbreak"}
             for i in range(count)]
    stream = io.StringIO()
    writer = JsonListWriter(stream)
    for item in items:
        writer.write(item)
    writer.close()
    assert stream.getvalue() == json.dumps(items, indent=2) + "\n"


ODD_VALUES = [0.1, -0.0, 1e300, 5e-324, 3, -7, 2**70, True, False, None, "", "é\u2028\"\\\t", [], {}, [1, [2, {}]],
              {"k": []}, (1, 2.5), {1: "int key"}, {"x": (None,)}]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_streamed_json_of_any_value_is_json_dumps(value):
    items = [{"file": "a.csv", "v": value, "metrics": {"m": value, "n": [value, 1.5]}}, {"file": "b.csv"}]
    stream = io.StringIO()
    writer = JsonListWriter(stream)
    for item in items:
        writer.write(item)
    writer.close()
    assert stream.getvalue() == json.dumps(items, indent=2) + "\n"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), object()])
def test_streamed_json_refuses_what_json_dumps_refuses(bad):
    writer = JsonListWriter(io.StringIO())
    with pytest.raises((ValueError, TypeError)) as caught:
        writer.write({"file": "a.csv", "metrics": {"m": bad}})
    with pytest.raises(caught.type):
        json.dumps({"m": bad}, allow_nan=False)


def test_atomic_text_writer_leaves_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_text_writer(target) as f:
            f.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    with atomic_text_writer(target) as f:
        f.write("new\n")
    assert target.read_text() == "new\n"


def _batch(tmp_path: Path, n: int = 12) -> Path:
    """A directory of station CSV trials (30 s, 100 Hz), two Santos & Duarte files and two bad files."""
    folder = tmp_path / "batch"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(n):
        samples = 3000
        write_trial_csv(
            folder / f"t{i:02d}.csv",
            {"time_s": np.arange(samples) / 100.0, "ap_cm": np.cumsum(rng.normal(0, 0.01, samples)),
             "ml_cm": np.cumsum(rng.normal(0, 0.01, samples))},
            {"rate_hz": 100.0},
        )
    shutil.copy(BDS / "BDS00001.txt", folder / "t03b.txt")
    shutil.copy(BDS / "BDS00046.txt", folder / "t09b.txt")
    (folder / "t05b.csv").write_text("time_s,ap_cm,ml_cm\n0,1,x\n")
    (folder / "t10b.csv").write_bytes(b"")
    return folder


def _analyze(capsys, *argv):
    status = main(["analyze", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_analyze_output_is_the_same_on_one_or_two_workers(tmp_path, capsys, fmt):
    folder = _batch(tmp_path)
    one = _analyze(capsys, folder, "--jobs", "1", "--format", fmt)
    two = _analyze(capsys, folder, "--jobs", "2", "--format", fmt)
    assert one == two
    status, out, err = two
    assert status == 1
    rows = json.loads(out) if fmt == "json" else list(csv.DictReader(io.StringIO(out)))
    names = [Path(r["file"]).name for r in rows]
    assert names == sorted(p.name for p in folder.iterdir() if p.suffix != ".json")
    failed = [Path(r["file"]).name for r in rows if r.get("error")]
    assert failed == ["t05b.csv", "t10b.csv"]
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"balance-station analyze: {folder / 't05b.csv'}: line 2, column ml_cm")
    assert lines[1] == f"balance-station analyze: {folder / 't10b.csv'}: empty file (no header, no samples)"
    assert lines[-1] == f"balance-station analyze: 2 of {len(rows)} file(s) failed"


def test_analyze_out_file_written_whole_with_jobs(tmp_path, capsys):
    folder = _batch(tmp_path)
    target = tmp_path / "results.json"
    status, out, _ = _analyze(capsys, folder, "--out", target)
    assert status == 1 and out == ""
    assert len(json.loads(target.read_text())) == len([p for p in folder.iterdir() if p.suffix != ".json"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--jobs", "0"], "--jobs 0: give at least 1 worker process"),
        (["--jobs", "2", "--dask", "tcp://127.0.0.1:1"], "--jobs and --dask: choose one"),
    ],
)
@pytest.mark.parametrize("command", ["analyze", "gait"])
def test_batch_usage_errors_exit_2_in_one_line(tmp_path, capsys, command, argv, needle):
    status = main([command, str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"balance-station {command}: {needle}") and len(err.strip().splitlines()) == 1


def test_freed_memory_kept_for_the_next_file_where_glibc_allows_it():
    """Set in a fresh process (it changes the allocator of the process that calls it): True with
    glibc, False elsewhere; a batch's results are the same either way (the other tests)."""
    import platform
    import subprocess
    import sys

    code = "from station.batch import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    expected = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out == str(expected)
