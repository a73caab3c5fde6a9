"""A hub (or station) kept in UTC without ``[clinic] time_zone`` is told that its "today" is UTC's day (s25 P3):
a dose entered in the evening of a clinic west of Greenwich was refused as "after today", a programme's today
and the pages' dates changed at midnight UTC, and nothing said why. ``balance-station config check`` (run by
``systemd/install.sh``, whose output now shows the warning) and ``balance-station hub`` at its start say it, with
what to set; the configuration stays valid (exit 0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _check(config: Path, tz: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": tz}
    env.pop("BALANCE_STATION_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "station.cli", "--config", str(config), "config", "check"],
                          capture_output=True, text=True, timeout=60, cwd=REPO, env=env)


def test_config_check_warns_of_utcs_day_on_a_utc_computer_without_a_clinic_zone(tmp_path):
    bare = tmp_path / "hub.toml"
    bare.write_text('data_dir = "/var/lib/balance-hub"\n')
    result = _check(bare, "UTC")
    assert result.returncode == 0 and "valid" in result.stdout, result.stdout + result.stderr
    assert result.stderr.startswith("balance-station: warning: [clinic] time_zone is not set and this computer's time "
                                     "zone is UTC, so \"today\" is UTC's day, not the clinic's"), result.stderr
    assert '"after today"' in result.stderr and 'Set time_zone = "Area/City"' in result.stderr
    assert result.stderr.endswith(f"under [clinic] in {bare}, then restart the service.\n") and \
        result.stderr.count("\n") == 1, result.stderr
    # the clinic's zone set, or a computer in a zone of its own (also one at UTC in winter): nothing to say
    zoned = tmp_path / "zoned.toml"
    zoned.write_text('data_dir = "/var/lib/balance-hub"\n\n[clinic]\ntime_zone = "America/Chicago"\n')
    for config, tz in ((zoned, "UTC"), (bare, "Europe/London"), (bare, "America/Chicago")):
        result = _check(config, tz)
        assert result.returncode == 0 and result.stderr == "", (config.name, tz, result.stderr)


@pytest.mark.skipif(os.geteuid() != 0, reason="install.sh creates users and chowns files: run the tests as root")
def test_install_hub_says_it_on_a_utc_server(tmp_path):
    from test_install_script import INSTALL, fake_server

    root = fake_server(tmp_path / "root")
    result = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv", "--hub", "--hostname", "hub"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"})
    assert result.returncode == 0, result.stdout + result.stderr
    config = root / "etc/balance-station/hub.toml"
    assert ("install.sh: warning: [clinic] time_zone is not set and this computer's time zone is UTC, so \"today\" "
            "is UTC's day, not the clinic's") in result.stdout, result.stdout
    assert f"under [clinic] in {config}, then restart the service." in result.stdout, result.stdout


def test_the_hub_says_it_in_its_journal_at_start(tmp_path, pg_cluster, pg_empty_url):
    """``balance-station hub`` (the unit's ExecStart: its stderr is the journal) says it once serving."""
    import signal
    import urllib.request

    from free_ports import free_port

    bare = tmp_path / "hub.toml"
    bare.write_text(f'data_dir = "{tmp_path / "hub"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALANCE_STATION")}
    env.update(BALANCE_STATION_DATABASE=pg_empty_url, TZ="UTC")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "--config", str(bare), "hub", "--port", str(port)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert "balance-station hub: serving on" in proc.stderr.readline()
        # answered: the hub is in its serving loop, so what it says before it is said
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/session", timeout=10) as response:
            assert response.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    rest = proc.stderr.read()  # (through the pipe's reader: the line after the serving one may be in its buffer)
    warning = rest.split("\n", 1)[0] + "\n"  # the line after the serving one
    assert warning.startswith("balance-station: warning: [clinic] time_zone is not set and this computer's time zone "
                              "is UTC"), warning
    assert warning.endswith(f"under [clinic] in {bare}, then restart the service.\n"), warning
