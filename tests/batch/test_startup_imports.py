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


BLAS_PROBE = """
import os, sys
from station.cli import main
status = main(sys.argv[1:])
print(status, os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
"""


def test_analyze_asks_for_one_blas_thread_unless_told_otherwise(tmp_path):
    """The metrics call no BLAS: numpy's OpenBLAS gets one thread (no thread per core started at
    import), unless the user set its thread count."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    argv = ["analyze", str(BDS / "BDS00001.txt"), "--out", str(tmp_path / "r.json")]
    out = subprocess.run([sys.executable, "-c", BLAS_PROBE, *argv], capture_output=True, text=True, env=env, timeout=120)
    status, threads_setting, _ = out.stdout.split()
    assert (status, threads_setting) == ("0", "1")
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", BLAS_PROBE, *argv], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split()[:2] == ["0", "2"]
