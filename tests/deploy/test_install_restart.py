"""install.sh before it restarts a running station on an update (finding 4 of session 23's
review): a backup first, and no restart while a trial records. The script's own function
(``backup_before_restart``, cut out of systemd/install.sh) runs against a real data directory with
the station's own ``backup`` command; only ``systemctl`` is not involved (no systemd here)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

from station.store.backup import list_backups
from station.store.store import Store

from tests.deploy.test_backup_restore import add_patient, start_recording

REPO = Path(__file__).resolve().parents[2]


def harness(tmp_path: Path, data: Path, wait_s: int, poll_s: int = 1) -> list[str]:
    """bash running install.sh's backup_before_restart with the station command of this checkout, waiting at most
    ``wait_s`` for a trial to end and asking every ``poll_s`` (install.sh's 10 s made each test of a wait take
    11 s)."""
    text = (REPO / "systemd/install.sh").read_text()
    function = re.search(r"^RESTART_WAIT_S=\d+\n.*?^}\n", text, re.S | re.M).group(0)
    config = tmp_path / "station.toml"
    config.write_text(f'data_dir = "{data}"\n')
    script = f"""set -euo pipefail
PROG=install.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
die() {{ echo "$PROG: $*" >&2; exit 1; }}
say() {{ echo "$PROG: $*"; }}
r() {{ printf '%s' "$1"; }}
CONFIG={config}
station() {{ (cd {REPO} && {sys.executable} -m station.cli "$@"); }}
{function}
RESTART_WAIT_S={wait_s}
RESTART_POLL_S={poll_s}
backup_before_restart
"""
    return ["bash", "-c", script]


def test_a_backup_is_made_before_the_restart(tmp_path):
    data = tmp_path / "data"
    with Store.open(data) as store:
        add_patient(store, "P001")
    result = subprocess.run(harness(tmp_path, data, 600), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (backup,) = list_backups(data)
    assert f"install.sh: before restarting: backup written: {backup.path}" in result.stdout


def test_the_restart_waits_for_the_trial_being_recorded(tmp_path):
    data = tmp_path / "data"
    with Store.open_service(data) as store:  # the running station, recording a trial
        writer = start_recording(store, add_patient(store, "P001"))
        timer = threading.Timer(3.0, lambda: writer.finish(None, valid=True, reason=None))
        timer.start()
        try:
            result = subprocess.run(harness(tmp_path, data, 600), capture_output=True, text=True, timeout=120)
        finally:
            timer.join()
    assert result.returncode == 0, result.stderr
    assert "a trial is recording: the station restarts when it has ended" in result.stdout
    assert "before restarting: backup written" in result.stdout
    assert len(list_backups(data)) == 1


def test_a_trial_still_recording_at_the_bound_stops_the_update_with_what_to_do(tmp_path):
    data = tmp_path / "data"
    with Store.open_service(data) as store:
        writer = start_recording(store, add_patient(store, "P001"))
        result = subprocess.run(harness(tmp_path, data, 2), capture_output=True, text=True, timeout=120)
        writer.finish(None, valid=False, reason="test")
    assert result.returncode == 1
    assert "a trial is recording: the station restarts when it has ended (waiting at most 2 seconds" in result.stdout
    assert "a trial is still recording after 2 seconds; the new version is installed" in result.stderr
    assert "run install.sh again (or sudo systemctl restart balance-station)" in result.stderr
    assert list_backups(data) == []
