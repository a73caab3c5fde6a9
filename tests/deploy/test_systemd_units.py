"""The unit files: hardening measured by systemd-analyze, and the settings the station relies on.

(``systemd-analyze verify`` needs the ExecStart program to exist, so it runs on an installed
tree in test_install_script.py.)
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station.cli import build_parser

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
SERVICES = ("balance-station.service", "balance-station-backup.service", "balance-station-hub.service",
            "balance-station-hub-backup.service")


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
def test_security_exposure_is_at_most_2(unit):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=30", str(SYSTEMD / unit)],
        capture_output=True, text=True, timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    assert exposure <= 2.0, result.stdout
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


def test_hub_service_serves_the_hub_on_a_local_database_as_its_own_user():
    s = unit_settings("balance-station-hub.service")
    args = build_parser().parse_args(shlex.split(s["ExecStart"][0])[1:])
    assert args.command == "hub" and str(args.data_dir) == "/var/lib/balance-hub"
    assert args.config == "/etc/balance-station/hub.toml"  # written by install.sh --hub, not a station's file
    # the user of systemd/balance-station-hub.sysusers (install.sh --hub), which `sudo balance-station`
    # becomes to manage the hub over the same peer authentication
    assert s["Type"] == ["notify"] and s["User"] == ["balance-hub"] and s["StateDirectory"] == ["balance-hub"]
    assert "DynamicUser" not in s
    sysusers = (SYSTEMD / "balance-station-hub.sysusers").read_text().splitlines()
    assert 'u balance-hub - "Balance station clinic hub" /var/lib/balance-hub -' in sysusers
    (database,) = [e.split("=", 1)[1] for e in s["Environment"] if e.startswith("BALANCE_STATION_DATABASE=")]
    from station.store.pg import is_postgres_url

    assert is_postgres_url(database) and "@" not in database  # peer authentication: no password in the unit


def test_backup_timer_runs_the_backup_service_hourly():
    t = unit_settings("balance-station-backup.timer")
    assert t["OnCalendar"] == ["hourly"] and t["Persistent"] == ["true"]
    assert t["WantedBy"] == ["timers.target"]
    (exec_start,) = unit_settings("balance-station-backup.service")["ExecStart"]
    assert build_parser().parse_args(shlex.split(exec_start)[1:]).if_due


def test_hub_backup_timer_backs_the_hubs_database_up_as_the_hubs_user():
    t = unit_settings("balance-station-hub-backup.timer")
    assert t["OnCalendar"] == ["hourly"] and t["Persistent"] == ["true"] and t["WantedBy"] == ["timers.target"]
    s, hub = unit_settings("balance-station-hub-backup.service"), unit_settings("balance-station-hub.service")
    args = build_parser().parse_args(shlex.split(s["ExecStart"][0])[1:])
    assert args.command == "backup" and args.if_due and str(args.data_dir) == "/var/lib/balance-hub"
    assert args.config == "/etc/balance-station/hub.toml"
    # the hub's database, user and state directory: its backups land where the hub keeps its data
    for key in ("Environment", "EnvironmentFile", "User", "Group", "StateDirectory"):
        assert [v for v in s[key] if not v.startswith("PYTHON")] == [v for v in hub[key] if not v.startswith("PYTHON")], key
    assert s["PrivateNetwork"] == ["yes"] and s["RestrictAddressFamilies"] == ["AF_UNIX"]  # the local socket only


def _effective_syscall_filter(values: list[str]) -> tuple[list[str], list[str]]:
    """(allowed, denied) entries in the order systemd applies them: the first line sets the kind
    (an allow list here), later lines starting with ``~`` remove, later plain lines add back."""
    allowed, denied = [], []
    for value in values:
        if value.startswith("~"):
            denied.extend(value[1:].split())
        else:
            allowed.extend(value.split())
            denied = [d for d in denied if d not in value.split()]
    return allowed, denied


def test_main_service_permits_sched_fifo_the_narrowest_way():
    from station.acquire.process import REALTIME_PRIORITY

    s = unit_settings("balance-station.service")
    assert s["RestrictRealtime"] == ["no"]
    # The resource limit, not a capability: an unprivileged process may pick SCHED_FIFO up to it.
    assert int(s["LimitRTPRIO"][0]) >= REALTIME_PRIORITY
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    filters = s["SystemCallFilter"]
    allowed, denied = _effective_syscall_filter(filters)
    assert "@resources" in denied and "@privileged" in denied
    # Only the scheduler calls come back, and after the deny list (order matters to systemd).
    readded = filters[-1].split()
    assert set(readded) == {"sched_setscheduler", "sched_getscheduler", "sched_getparam"}
    assert filters.index("~@privileged @resources") < len(filters) - 1


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (Debian package systemd)")
def test_the_scheduler_calls_the_unit_adds_back_are_the_ones_resources_removes():
    result = subprocess.run(["systemd-analyze", "syscall-filter", "@resources"], capture_output=True, text=True,
                            timeout=60)
    names = set(result.stdout.split())
    assert {"sched_setscheduler", "sched_getscheduler", "sched_getparam"} - names <= {"sched_getscheduler",
                                                                                       "sched_getparam"}
    assert "sched_setscheduler" in names


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_an_unprivileged_process_with_the_units_rtprio_limit_gets_sched_fifo():
    """What the unit grants, reproduced: a process of an unprivileged user with RLIMIT_RTPRIO set
    as LimitRTPRIO= sets and holds SCHED_FIFO at the acquisition's priority; without the limit it
    is refused (so the test can fail)."""
    from station.acquire.process import REALTIME_PRIORITY

    limit = int(unit_settings("balance-station.service")["LimitRTPRIO"][0])
    probe = (
        "import os, resource, sys\n"
        "limit = int(sys.argv[1])\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_RTPRIO, (limit, limit))\n"
        "except ValueError:\n    print('no-limit'); sys.exit(0)\n"
        "os.setgid(65534); os.setuid(65534)\n"
        f"try:\n    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param({REALTIME_PRIORITY}))\n"
        "except PermissionError:\n    print('refused'); sys.exit(0)\n"
        "print('fifo' if os.sched_getscheduler(0) == os.SCHED_FIFO else 'other')\n"
    )
    granted = subprocess.run([sys.executable, "-c", probe, str(limit)], capture_output=True, text=True, timeout=60)
    refused = subprocess.run([sys.executable, "-c", probe, "0"], capture_output=True, text=True, timeout=60)
    if "no-limit" in granted.stdout:
        pytest.skip("this container does not let root raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE)")
    if "refused" in granted.stdout and "refused" in refused.stdout:
        pytest.skip("this container forbids SCHED_FIFO to everyone (no CAP_SYS_NICE in its cgroup)")
    assert granted.stdout.strip() == "fifo", granted.stderr
    assert refused.stdout.strip() == "refused", refused.stderr
