"""``--out`` of ``gait`` and ``analyze`` naming something that is not a plain file: a device or a
named pipe is written into (it cannot be replaced), a symbolic link's target is replaced and the
link kept. Found by an attack review: run as root (the station's container), ``gait walk.csv --out
/dev/stdout`` put a regular file in place of the ``/dev/stdout`` link, ``--out /dev/full`` replaced
the device with the results and exited 0, and a link to a results file was replaced by a file of
its own, the file it named left stale."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from station.cli import main
from tests.cli.test_gait import write_imu_csv


@pytest.fixture
def walk(tmp_path) -> Path:
    path = tmp_path / "walk.csv"
    write_imu_csv(path, sidecar={"rate_hz": 100.0, "sensor_height_m": 0.95})
    return path


@pytest.mark.parametrize("command", ["gait", "analyze"])
def test_a_named_pipe_is_written_into_and_stays_a_pipe(walk, tmp_path, capsys, command):
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting, as `cat fifo` would be
    try:
        status = main([command, str(walk), "--out", str(fifo), "-j1"])
        capsys.readouterr()
        assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the named pipe was replaced by a file"
        received = b""
        while chunk := os.read(reader, 65536):
            received += chunk
    finally:
        os.close(reader)
    (result,) = json.loads(received)
    assert result["file"] == str(walk)
    assert status in (0, 1)  # analyze refuses an IMU-only file; either way its result went into the pipe


def test_a_link_to_a_results_file_is_kept_and_its_target_replaced(walk, tmp_path, capsys):
    target = tmp_path / "kept" / "results.json"
    target.parent.mkdir()
    target.write_text("[]\n")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    assert main(["gait", str(walk), "--out", str(link), "-j1"]) == 0
    capsys.readouterr()
    assert link.is_symlink() and os.readlink(link) == str(target)
    (result,) = json.loads(target.read_text())
    assert result["file"] == str(walk) and result["metrics"]["steps"] > 0
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]  # no temporary file left


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_device_is_one_line_and_exit_status_1(walk, tmp_path, capsys):
    link = tmp_path / "out.json"
    link.symlink_to("/dev/full")  # a full disk behind --out, without touching /dev itself
    status = main(["gait", str(walk), "--out", str(link), "-j1"])
    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    (line,) = err.splitlines()
    assert line == f"balance-station gait: cannot write --out {link}: No space left on device"
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_link_to_standard_output_writes_into_the_pipe(walk, tmp_path):
    """As ``--out /dev/stdout`` (a link to /proc/self/fd/1), without touching /dev: after the first
    fix it resolved the link to /proc/<pid>/fd/pipe:[...], which does not exist, and said 'No such
    file or directory'; before it, the link was replaced by a file."""
    import subprocess
    import sys

    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    done = subprocess.run([sys.executable, "-m", "station.cli", "gait", str(walk), "--out", str(link), "-j1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["file"] == str(walk) and result["metrics"]["steps"] > 0
    assert link.is_symlink()
