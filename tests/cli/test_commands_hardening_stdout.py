"""Commands that print a document on standard output (``trial``, ``protocols``, ``programmes``,
``config show``) into a full disk or a pipe whose reader has left: one line on stderr saying so,
exit status 1, never a traceback (as ``analyze`` and ``doctor`` say it:
:func:`station.commands._batch.output`). Found by an attack review: ``trial --json > /dev/full``
ended with an ``OSError`` traceback, ``trial --json | head -c 3000`` with ``BrokenPipeError``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FULL = "/dev/full"
needs_dev_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full (a device that is always full)")


def _run(argv: list[str], into: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``balance-station ARGV`` with stdout a full disk (``into="full"``) or a pipe whose reader
    has already gone (``"closed"``: every write fails with EPIPE)."""
    env = dict(os.environ)
    env.pop("BALANCE_STATION_CONFIG", None)  # the built-in defaults
    command = [sys.executable, "-m", "station.cli", *argv]
    if into == "full":
        with open(FULL, "w") as full:
            return subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, timeout=300)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, timeout=300)
    finally:
        os.close(write_end)


def _one_line(proc: subprocess.CompletedProcess, command: str, into: str) -> str:
    assert "Traceback" not in proc.stderr and "Error:" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    said = ("cannot write the output (No space left on device)" if into == "full"
            else "the output was closed before the end (the reading program stopped)")
    assert line.startswith(f"balance-station {command}: {said}"), line
    return line


@needs_dev_full
@pytest.mark.parametrize("into", ["full", "closed"])
def test_trial_results_into_a_full_disk_or_a_closed_pipe_is_one_line_and_results_json_is_kept(tmp_path, into):
    out = tmp_path / "trial"
    proc = _run(["trial", "--simulate", "--protocol", "backward-walk-3m", "--seed", "3", "--quiet", "--json",
                 "--out", str(out)], into, tmp_path)
    line = _one_line(proc, "trial", into)
    assert line.endswith(f"the results are kept in {out / 'results.json'}")
    assert json.loads((out / "results.json").read_text())["protocol"] == "backward-walk-3m"


@needs_dev_full
@pytest.mark.parametrize("into", ["full", "closed"])
@pytest.mark.parametrize("argv", [
    ["protocols", "list", "--json"], ["protocols", "show", "romberg"],
    ["programmes", "list"], ["programmes", "show", "backward-walking-stroke", "--json"],
    ["config", "show"], ["config", "show", "--json"],
], ids=" ".join)
def test_documents_into_a_full_disk_or_a_closed_pipe_are_one_line(tmp_path, argv, into):
    line = _one_line(_run(argv, into, tmp_path), argv[0], into)
    assert line.endswith("redirect it to a file (> FILE) to keep it whole")
