"""``doctor`` whose reader leaves early (``doctor --json | head -1``): one line on stderr, as
``analyze`` says it (:func:`station.commands._batch.output`), never a BrokenPipeError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "text"])
def test_doctor_into_a_closed_pipe_ends_with_one_line(tmp_path, mode):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the report is written: every write fails (EPIPE)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "station.cli", "doctor", "--simulate", "--seconds", "2", "--data-dir", str(tmp_path), *mode],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("balance-station doctor: the output was closed before the end")
    assert "> FILE" in line  # how to keep the whole report (doctor has no --out)
