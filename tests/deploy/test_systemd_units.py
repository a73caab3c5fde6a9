"""The unit files: hardening measured by systemd-analyze, and the settings the station relies on.

(``systemd-analyze verify`` needs the ExecStart program to exist, so it runs on an installed
tree in test_install_script.py.)
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from station.cli import build_parser

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
SERVICES = ("balance-station.service", "balance-station-backup.service")


def unit_settings(name: str) -> dict[str, list[str]]:
    """Key -> every value it is given, from a unit file (comments and sections ignored)."""
    settings: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (Debian package systemd)")
@pytest.mark.parametrize("unit", SERVICES)
def test_security_exposure_is_at_most_3(unit):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=30", str(SYSTEMD / unit)],
        capture_output=True, text=True, timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    assert exposure <= 3.0, result.stdout
    assert result.returncode == 0, result.stderr  # --threshold=30 is 3.0 on systemd's 0-100 scale


def test_main_service_is_notify_with_a_watchdog_and_bounded_restarts():
    s = unit_settings("balance-station.service")
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["all"]
    assert s["WatchdogSec"] and s["Restart"] == ["on-failure"]
    assert int(s["StartLimitBurst"][0]) >= 1 and s["StartLimitIntervalSec"]


def test_main_service_hardening_required_by_the_station():
    s = unit_settings("balance-station.service")
    assert s["User"] == ["balance-station"]
    assert set(s["SupplementaryGroups"][0].split()) == {"i2c", "gpio"}
    assert s["ProtectSystem"] == ["strict"]
    assert s["StateDirectory"] == ["balance-station"]
    assert s["NoNewPrivileges"] == ["yes"]
    assert s["DevicePolicy"] == ["closed"]
    assert sorted(v.split()[0] for v in s["DeviceAllow"]) == ["char-gpiochip", "char-i2c"]
    assert s["CapabilityBoundingSet"] == [""]
    assert s["IPAddressAllow"] == ["localhost"] and s["IPAddressDeny"] == ["any"]
    # lgpio writes into the working directory: it must be the writable state directory
    assert s["WorkingDirectory"] == ["/var/lib/balance-station"]


@pytest.mark.parametrize(("unit", "command"), [("balance-station.service", "run"), ("balance-station-backup.service", "backup")])
def test_exec_start_is_a_valid_command_line(unit, command):
    (exec_start,) = unit_settings(unit)["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/opt/balance-station/venv/bin/balance-station"
    args = build_parser().parse_args(argv[1:])
    assert args.command == command
    assert args.config == "/etc/balance-station/station.toml"


def test_backup_timer_runs_the_backup_service_hourly():
    t = unit_settings("balance-station-backup.timer")
    assert t["OnCalendar"] == ["hourly"] and t["Persistent"] == ["true"]
    assert t["WantedBy"] == ["timers.target"]
    (exec_start,) = unit_settings("balance-station-backup.service")["ExecStart"]
    assert build_parser().parse_args(shlex.split(exec_start)[1:]).if_due
