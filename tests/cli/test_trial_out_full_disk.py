"""``trial --simulate --out DIR`` on a disk that refuses the trial file part-way (here a file-size
limit, EFBIG, as a full disk gives ENOSPC) says so in one line and keeps what it wrote. Found by an
attack review: a full tmpfs under ``--out`` ended ``trial --protocol ten-metre-walk`` with a
Python traceback (``TrialFileError: ...: cannot append: No space left on device``)."""

from __future__ import annotations

import resource
import subprocess
import sys

from station.store.trialfile import read_trial

LIMIT_BYTES = 100_000
"""Largest file the command may write: the older walker's 3-m backward walk's trial CSV is about 115 kB."""


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))  # Python ignores SIGXFSZ: EFBIG


def test_a_trial_file_the_disk_refuses_is_one_line_and_what_was_written_is_kept(tmp_path):
    out = tmp_path / "trials"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "station.cli", "trial", "--protocol", "backward-walk-3m", "--simulate",
                           "--gait", "older", "--out", str(out), "--quiet"], preexec_fn=_limit_file_size, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    first = out / "01-backward-walk-3m-fast-t1-a1.csv"
    assert line == (f"balance-station trial: {first}: cannot append: File too large; the run stopped there: the trials "
                    f"before it are kept in {out}, this one as far as it was written (free some space and run the "
                    "protocol again)")
    kept = read_trial(first, allow_truncated=True, allow_nan=True, allow_gaps=True)
    assert kept.time_s.size > 500 and kept.metadata["protocol"]["name"] == "backward-walk-3m"
    # s28 C6: its sidecar says the file is not a whole trial (it had no status, which `analyze` reads as whole)
    assert kept.metadata.get("status") == "partial", kept.metadata
    assert kept.metadata["status_reason"] == ("the trial file was not finished: its recording was cut short (the "
                                              "program or the station stopped, or the disk refused the rest); what "
                                              "was written is kept, not the whole trial")
    assert "result" not in kept.metadata
