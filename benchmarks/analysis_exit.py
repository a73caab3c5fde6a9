"""What the interpreter's shutdown costs ``analyze``: the command as installed (``station.cli.console``:
``os._exit`` once the output is flushed) against the same command ending through the interpreter's
shutdown (``sys.exit(main())``), alternating, in fresh processes.

    python3 benchmarks/analysis_exit.py DIR [--runs 6] [--python .venv/bin/python]

Per way: the median and the range over the runs of the wall time, the CPU time (user + system of
the command and its workers, from ``wait4``) and the minor page faults. Both write ``--out`` to a
temporary file, which must be byte for byte the same. Only reports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

WAYS = {
    "os._exit (as installed)": "import sys; from station.cli import console; console(sys.argv[1:])",
    "interpreter shutdown": "import sys; from station.cli import main; sys.exit(main(sys.argv[1:]))",
}


def _run(python: str, code: str, argv: list[str]) -> tuple[float, float, int, int]:
    """(wall s, CPU s, minor faults, exit status) of one run."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child becomes the command
        os.execv(python, [python, "-c", code, *argv])
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, usage.ru_minflt, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    samples: dict[str, list[tuple[float, float, int]]] = {way: [] for way in WAYS}
    outputs: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for way, code in WAYS.items():
                out = Path(tmp) / "out.json"
                wall, cpu, faults, status = _run(args.python, code, ["analyze", str(args.directory), "--out", str(out)])
                if status not in (0, 1):
                    print(f"{way}: exit status {status}", file=sys.stderr)
                    return 1
                samples[way].append((wall, cpu, faults))
                outputs[way] = out.read_bytes()
    print(f"analyze {args.directory}, {args.runs} alternating runs each, load {os.getloadavg()[0]:.2f} at the end")
    for way, runs in samples.items():
        walls, cpus, faults = zip(*runs)
        print(f"  {way:26s} wall {statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}), "
              f"CPU {statistics.median(cpus):.3f} s ({min(cpus):.3f}-{max(cpus):.3f}), "
              f"minor faults {statistics.median(faults):.0f}")
    same = len(set(outputs.values())) == 1
    print(f"  outputs {'byte for byte the same' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
