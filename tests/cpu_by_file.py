"""Where the suite's CPU goes, file by file, and the processes a file leaves running (opt-in pytest
plugin; CI is CPU-bound on 2 cores, so a file's CPU, not its wall time, is what a run pays).

Run the suite (or part of it) with the plugin, then print the table::

    PYTHONPATH=tests .venv/bin/python -m pytest -q -n 3 --dist loadfile -p cpu_by_file
    python3 tests/cpu_by_file.py            # the 40 costliest files, and leftovers

Each test's CPU is this process's user + system seconds plus those of the descendants it reaped
(``resource.getrusage``: the station subprocesses, chromedriver and Chromium once they exit), added
to its file. A process started by one file and reaped by another is charged to the later one: so
after each file the plugin also lists its descendants still alive (a session-scoped station left
running ate about 200 CPU-s of a run that way, 2026-12-05). Results go to ``$CPU_BY_FILE_DIR``
(default ``test-artifacts/cpu-by-file``), one JSON file per pytest process.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import pytest

OUT_DIR = Path(os.environ.get("CPU_BY_FILE_DIR", "test-artifacts/cpu-by-file"))

_by_file: dict[str, list[float]] = {}  # file -> [cpu_s, wall_s, tests]
_left_running: dict[str, list[str]] = {}  # file -> descendants alive after it


def _cpu_s() -> float:
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def _descendants(root: int) -> list[str]:
    """``"pid cpu_s command"`` of every live descendant of ``root`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()[:160]
            except OSError:
                continue
            if "resource_tracker" not in cmd:  # multiprocessing's, idle for the process's life
                cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                found.append(f"{pid} {cpu_s:.1f}s {cmd}")
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu0, wall0 = _cpu_s(), time.monotonic()
    yield
    path = item.nodeid.split("::")[0]
    row = _by_file.setdefault(path, [0.0, 0.0, 0])
    row[0] += _cpu_s() - cpu0
    row[1] += time.monotonic() - wall0
    row[2] += 1
    if nextitem is None or nextitem.nodeid.split("::")[0] != path:
        alive = _descendants(os.getpid())
        if alive:
            _left_running[path] = alive


def pytest_sessionfinish(session):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{os.getpid()}.json").write_text(json.dumps({"files": _by_file, "left_running": _left_running}))


def main(top: int = 40) -> None:
    """Print the costliest files of the runs in :data:`OUT_DIR`, and the processes files left running."""
    files: dict[str, list[float]] = {}
    left: dict[str, list[str]] = {}
    for part in sorted(OUT_DIR.glob("*.json")):
        doc = json.loads(part.read_text())
        for path, (cpu_s, wall_s, n) in doc["files"].items():
            row = files.setdefault(path, [0.0, 0.0, 0])
            row[0] += cpu_s
            row[1] += wall_s
            row[2] += n
        left.update(doc["left_running"])
    if not files:
        sys.exit(f"no results in {OUT_DIR}: run pytest with -p cpu_by_file first (see this file's docstring)")
    print(f"{sum(r[0] for r in files.values()):.0f} CPU-s in {len(files)} files; the costliest {top}:")
    print(f"{'CPU s':>8} {'wall s':>8} {'tests':>6}  file")
    for path, (cpu_s, wall_s, n) in sorted(files.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"{cpu_s:8.1f} {wall_s:8.1f} {n:6d}  {path}")
    for path, alive in sorted(left.items()):
        print(f"left running after {path}:")
        for line in alive:
            print(f"    {line}")


if __name__ == "__main__":
    main()
