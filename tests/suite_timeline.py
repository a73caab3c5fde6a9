"""When each test ran, and on which pytest-xdist worker (opt-in pytest plugin): the shape of a ``make test`` run,
which worker idles when and which unit of work ends last, to set the hand-out order (tests/handout_order.py).

Run the suite (or part of it) with the plugin, then print the summary::

    SUITE_TIMELINE=/tmp/timeline PYTHONPATH=tests .venv/bin/python -m pytest -q -n 3 --dist loadfile \\
        --no-loadscope-reorder -p suite_timeline
    python3 tests/suite_timeline.py /tmp/timeline

Without ``SUITE_TIMELINE`` the plugin records nothing. Each pytest process (worker ``gw0``.., or ``main``) appends
one JSON line per test to ``$SUITE_TIMELINE/<worker>.jsonl``: its node id, start and end (Unix time, s, setup to
teardown, so a module fixture's start and stop count in the file's first and last test), and the process's CPU
(user + system s, its own and its reaped children's) over it; the line is written as the test ends, so a killed
run keeps what ran. Also a ``session`` line when the worker is ready to run (collection done) and when it ends.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time
from pathlib import Path

import pytest

_OUT = os.environ.get("SUITE_TIMELINE", "")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _cpu_s() -> float:
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def _write(record: dict) -> None:
    if not _OUT:
        return
    Path(_OUT).mkdir(parents=True, exist_ok=True)
    with open(Path(_OUT) / f"{_WORKER}.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def pytest_collection_finish(session):
    _write({"session": "ready", "worker": _WORKER, "t": time.time(), "cpu_s": _cpu_s()})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start, cpu0 = time.time(), _cpu_s()
    yield
    _write({"test": item.nodeid, "worker": _WORKER, "start": start, "end": time.time(), "cpu_s": _cpu_s() - cpu0})


def pytest_sessionfinish(session):
    _write({"session": "end", "worker": _WORKER, "t": time.time(), "cpu_s": _cpu_s()})


def _units():
    """The unit of work of a file as ``make test`` hands it out: its name (tests/handout_order.work_unit)."""
    tests = Path(__file__).resolve().parent
    sys.path.insert(0, str(tests))
    from handout_order import rows, work_unit

    return functools.partial(work_unit, rows=rows(tests.parent))


def main(folder: str, top: int = 15) -> None:
    """Print, per worker, its units of work in the order it ran them (start and end in s from the run's first
    test, wall s, CPU s), its idle time at the end (after its last test, until the last worker's), and the
    ``top`` files by CPU."""
    tests, ends = [], {}
    for part in sorted(Path(folder).glob("*.jsonl")):
        for line in part.read_text().splitlines():
            record = json.loads(line)
            if "test" in record:
                tests.append(record)
    if not tests:
        sys.exit(f"no tests recorded in {folder}: run pytest with SUITE_TIMELINE={folder} -p suite_timeline first")
    t0 = min(r["start"] for r in tests)
    t_end = max(r["end"] for r in tests)
    print(f"{len(tests)} tests, first start to last end {t_end - t0:.0f} s, "
          f"{sum(r['cpu_s'] for r in tests):.0f} CPU-s in the workers' tests")
    by_file: dict[str, list[float]] = {}
    unit_of = _units()
    for worker in sorted({r["worker"] for r in tests}):
        units: list[list] = []  # [unit, start, end, cpu, n]
        for r in sorted((r for r in tests if r["worker"] == worker), key=lambda r: r["start"]):
            path = r["test"].split("::")[0]
            row = by_file.setdefault(path, [0.0, 0.0, 0])
            row[0] += r["cpu_s"]
            row[1] += r["end"] - r["start"]
            row[2] += 1
            unit = unit_of(path)
            if units and units[-1][0] == unit:
                units[-1][2], units[-1][3], units[-1][4] = r["end"], units[-1][3] + r["cpu_s"], units[-1][4] + 1
            else:
                units.append([unit, r["start"], r["end"], r["cpu_s"], 1])
        ends[worker] = units[-1][2]
        busy = sum(u[2] - u[1] for u in units)
        print(f"\n{worker}: {len(units)} units, busy {busy:.0f} s, last test ends at {units[-1][2] - t0:.0f} s, "
              f"idle {t_end - units[-1][2]:.0f} s at the end; units over 20 s, and the last five:")
        for i, (unit, start, end, cpu, n) in enumerate(units):
            if end - start > 20 or i >= len(units) - 5:
                print(f"  {start - t0:7.0f} {end - t0:7.0f} {end - start:7.1f} s {cpu:7.1f} CPU-s {n:4d} tests  {unit}")
    print(f"\nthe {top} files with the most CPU (s, in their tests, reaped children included):")
    for path, (cpu, wall, n) in sorted(by_file.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"  {cpu:7.1f} CPU-s {wall:7.1f} wall-s {n:4d} tests  {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SUITE_TIMELINE", "test-artifacts/timeline"))
