"""``analyze`` and ``gait`` end with ``os._exit`` (no interpreter shutdown), but only once every output is
written and flushed, its errors reported and its exit status kept (station.cli.console)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

import station.cli as cli

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"
GAIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"

# A Python that records whether the interpreter's shutdown ran (atexit handlers run there, not
# after os._exit), then runs the program as the installed command does.
PROGRAM = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('SHUTDOWN RAN\\n'))\n"
    "from station.cli import console\n"
    "console(sys.argv[1:])\n"
)


def _batch(tmp_path: Path, good: int) -> list[str]:
    """``good`` published trials (hard links) and one broken file, in this order."""
    published = sorted(BDS.glob("BDS*.txt"))
    files = []
    for i in range(good):
        link = tmp_path / f"T{i:03d}.txt"
        link.hardlink_to(published[i % len(published)])
        files.append(str(link))
    bad = tmp_path / "T999.txt"
    bad.write_text("Time[s] COPx[cm] COPy[cm]\n0.01 1.0 x\n")
    return files + [str(bad)]


def _program(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, *argv], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not BDS.is_dir(), reason="published trials not available")
def test_analyze_skips_the_shutdown_after_writing_everything_to_a_pipe(tmp_path):
    files = _batch(tmp_path, 12)  # >= 10 files: worker processes and the fast reader
    proc = _program("analyze", *files, "--jobs", "2")
    assert "SHUTDOWN RAN" not in proc.stderr
    assert proc.returncode == 1  # one file failed: the status survives os._exit
    results = json.loads(proc.stdout)  # the whole list, flushed before the end
    assert [r["file"] for r in results] == files
    assert sum("metrics" in r for r in results) == 12 and "error" in results[-1]
    lines = proc.stderr.splitlines()
    assert lines == [f"balance-station analyze: {files[-1]}: line 2, column ml_cm: 'x' is not a number",
                     "balance-station analyze: 1 of 13 file(s) failed"]


@pytest.mark.skipif(not BDS.is_dir(), reason="published trials not available")
def test_analyze_out_file_is_complete_and_status_zero(tmp_path):
    files = _batch(tmp_path, 12)[:-1]
    out = tmp_path / "r.csv"
    proc = _program("analyze", *files, "--format", "csv", "--out", str(out))
    assert "SHUTDOWN RAN" not in proc.stderr
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
    rows = out.read_text().splitlines()
    assert len(rows) == 13 and rows[-1].startswith(files[-1] + ",")


@pytest.mark.skipif(not GAIT.is_dir(), reason="shared gait recordings not available")
def test_gait_skips_the_shutdown_after_writing_everything(tmp_path):
    walk = sorted(GAIT.glob("*Test5*.csv"))[0]
    bad = tmp_path / "broken.csv"
    bad.write_text("not,a,recording\n1,2\n")
    proc = _program("gait", str(walk), str(bad), "--format", "json")
    assert "SHUTDOWN RAN" not in proc.stderr
    assert proc.returncode == 1  # one file failed: the status survives os._exit
    results = json.loads(proc.stdout)
    assert [r["file"] for r in results] == [str(walk), str(bad)]
    assert results[0]["metrics"]["steps"] >= 10 and "error" in results[1]
    assert proc.stderr.splitlines()[-1] == "balance-station gait: 1 of 2 file(s) failed"


def test_other_commands_shut_down_as_usual(tmp_path):
    proc = _program("config", "--config", str(tmp_path / "none.toml"))
    assert "SHUTDOWN RAN" in proc.stderr  # only commands that ask for it skip the shutdown


def test_usage_error_keeps_status_2():
    proc = _program("analyze", "--jobs", "0", "x.txt")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == "balance-station analyze: --jobs 0: give at least 1 worker process"


def test_full_disk_on_stdout_is_one_line_and_status_1():
    proc = subprocess.run([sys.executable, "-m", "station.cli", "analyze", str(sorted(BDS.glob("BDS*.txt"))[0])],
                          stdout=open("/dev/full", "w"), stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "balance-station analyze: cannot write the output (No space left on device); use --out FILE to keep every result"
    ]


class _Exited(Exception):
    def __init__(self, status: int):
        self.status = status


class _StdoutThatCannotFlush:
    """Standard output whose last flush fails (the disk filled up after the command's own flush)."""

    def __init__(self):
        self.flushes = 0

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        self.flushes += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    def isatty(self) -> bool:
        return False


@pytest.mark.skipif(not BDS.is_dir(), reason="published trials not available")
def test_a_failed_last_flush_is_reported_before_exiting(tmp_path, monkeypatch, capsys):
    exits = []

    def fake_exit(status: int):
        exits.append(status)
        raise _Exited(status)

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    stdout = _StdoutThatCannotFlush()
    monkeypatch.setattr(sys, "stdout", stdout)
    trial = sorted(BDS.glob("BDS*.txt"))[0]
    with pytest.raises(_Exited):
        cli.console(["analyze", str(trial), "--out", str(tmp_path / "r.json")])
    assert exits == [1] and stdout.flushes == 1
    assert json.loads((tmp_path / "r.json").read_text())[0]["file"] == str(trial)  # written before the exit
    assert capsys.readouterr().err.splitlines() == [
        "balance-station analyze: the output could not be written to the end (No space left on device); "
        "use --out FILE to keep every result"
    ]
