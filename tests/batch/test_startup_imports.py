"""Start-up at its floor: ``analyze`` imports only what the work needs (measured, not timed: which
modules a fresh process has imported after the command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds

PROBE = """
import json, sys
from station.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:  # --help, --version
    status = exc.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def _modules_after(*argv) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, argv)], capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report["status"], set(report["modules"])


def test_analyze_of_a_published_trial_imports_no_filter_no_web_no_simulation(tmp_path):
    status, modules = _modules_after("analyze", BDS / "BDS00001.txt", "--out", tmp_path / "r.json")
    assert status == 0
    heavy = {"scipy.signal", "scipy.fft", "scipy.spatial", "scipy.stats", "pyarrow", "distributed", "flask",
             "station.sim", "station.commands.run", "station.commands.users", "web"}
    assert heavy.isdisjoint(modules), sorted(heavy & modules)
    assert not any(m == "scipy" or m.startswith("scipy.") for m in modules)  # F quantile in closed form


def test_station_profile_imports_the_filter_when_it_filters(tmp_path):
    status, modules = _modules_after("analyze", BDS / "BDS00001.txt", "--profile", "station",
                                     "--out", tmp_path / "r.json")
    assert status == 0 and "scipy.signal" in modules


def test_whole_command_line_still_there_for_version_help_and_other_modules_commands(capsys):
    import pytest

    from station.cli import main

    status, modules = _modules_after("--version")
    assert status == 0 and "station.commands.users" in modules  # --version parses the whole command line
    with pytest.raises(SystemExit):
        main(["restore", "--help"])  # registered by the backup module, not a module of its own
    assert "usage: balance-station restore" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--config", "x.toml", "nosuch"])
    assert "invalid choice: 'nosuch'" in capsys.readouterr().err
