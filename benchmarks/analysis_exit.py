"""What the interpreter's shutdown costs ``analyze``: the command as installed (``station.cli.console``:
``os._exit`` once the output is flushed) against the same command ending through the interpreter's
shutdown (``sys.exit(main())``), alternating, in fresh processes.

    python3 benchmarks/analysis_exit.py DIR [--runs 6] [--python .venv/bin/python]

Per way: the median and the range over the runs of the wall time, the CPU time (user + system of
the command and its workers, from ``wait4``) and the minor page faults, and of the exit alone: from
the moment ``main`` has returned (the output written and closed, the workers joined; the command
writes the time and its CPU so far to a pipe) to the end of the process, in wall time, CPU and page
faults. The batch itself swings by tens of percent with the machine's load; its end does not. Both
write ``--out`` to a temporary file, which must be byte for byte the same. Only reports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Both ways report, when main has returned, the clock and the CPU and faults of the command and its
# (joined) workers so far, on the file descriptor given in BENCH_MARK_FD.
_MARK = (
    "import os, resource, time\n"
    "def _mark():\n"
    "    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "    cpu = s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime\n"
    "    os.write(int(os.environ['BENCH_MARK_FD']), f'{time.time()} {cpu} {s.ru_minflt + c.ru_minflt}'.encode())\n"
)
WAYS = {
    "os._exit (as installed)": _MARK + (
        "import sys, station.cli as cli\n"
        "run = cli._run\n"
        "def marked(argv):\n"
        "    result = run(argv)\n"
        "    _mark()\n"
        "    return result\n"
        "cli._run = marked\n"
        "cli.console(sys.argv[1:])\n"
    ),
    "interpreter shutdown": _MARK + (
        "import sys\n"
        "from station.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "_mark()\n"
        "sys.exit(status)\n"
    ),
}


def _run(python: str, code: str, argv: list[str]) -> tuple[float, float, int, int, float, float, int]:
    """(wall s, CPU s, minor faults, exit status, exit's wall s, exit's CPU s, exit's faults) of one run."""
    read_end, write_end = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child becomes the command
        os.close(read_end)
        os.environ["BENCH_MARK_FD"] = str(write_end)
        os.set_inheritable(write_end, True)
        os.execv(python, [python, "-c", code, *argv])
    os.close(write_end)
    _, status, usage = os.wait4(pid, 0)
    ended = time.time()
    wall = time.perf_counter() - t0
    mark = os.read(read_end, 200).split()
    os.close(read_end)
    cpu = usage.ru_utime + usage.ru_stime
    marked_at, marked_cpu, marked_faults = float(mark[0]), float(mark[1]), int(mark[2])
    return (wall, cpu, usage.ru_minflt, os.waitstatus_to_exitcode(status), ended - marked_at, cpu - marked_cpu,
            usage.ru_minflt - marked_faults)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    samples: dict[str, list[tuple]] = {way: [] for way in WAYS}
    outputs: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for way, code in WAYS.items():
                out = Path(tmp) / "out.json"
                wall, cpu, faults, status, *exit_cost = _run(args.python, code,
                                                             ["analyze", str(args.directory), "--out", str(out)])
                if status not in (0, 1):
                    print(f"{way}: exit status {status}", file=sys.stderr)
                    return 1
                samples[way].append((wall, cpu, faults, *exit_cost))
                outputs[way] = out.read_bytes()
    print(f"analyze {args.directory}, {args.runs} alternating runs each, load {os.getloadavg()[0]:.2f} at the end")
    for way, runs in samples.items():
        walls, cpus, faults, exit_walls, exit_cpus, exit_faults = zip(*runs)
        print(f"  {way:26s} wall {statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}), "
              f"CPU {statistics.median(cpus):.3f} s ({min(cpus):.3f}-{max(cpus):.3f}), "
              f"minor faults {statistics.median(faults):.0f}")
        print(f"  {'':26s} its exit: wall {1e3 * statistics.median(exit_walls):.1f} ms ({1e3 * min(exit_walls):.1f}-"
              f"{1e3 * max(exit_walls):.1f}), CPU {1e3 * statistics.median(exit_cpus):.1f} ms ({1e3 * min(exit_cpus):.1f}-"
              f"{1e3 * max(exit_cpus):.1f}), minor faults {statistics.median(exit_faults):.0f}")
    same = len(set(outputs.values())) == 1
    print(f"  outputs {'byte for byte the same' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
