"""Peak memory of one request or one file's analysis, each in a fresh process: what one web or batch
worker on a Raspberry Pi (1-4 GB, several workers) must hold for it.

    python3 benchmarks/memory_peaks.py steps --data-dir DIR --trial ID [--from-s S --to-s S]
    python3 benchmarks/memory_peaks.py gait FILE
    python3 benchmarks/memory_peaks.py sway FILE
    ... [--code ROOT]   # another version's station/ and web/ (git archive COMMIT station web | tar -x -C ROOT)

``steps``: ``GET /api/trials/<id>/steps`` as the route does it (the trial's ``seq`` and acceleration
read from the store, by the chunks the window needs: :func:`web.walk_trace.stored_frames`; in a
checkout before it, all of them: ``Trials.frames``; :func:`web.walk_trace.steps_trace`, the JSON
body), max_points 4000 as the page asks. ``gait``: ``balance-station gait FILE``'s work on one file
(:func:`station.commands.gait.analyse_file`: read, align, every gait key). ``sway``: ``balance-station
analyze FILE``'s (:func:`station.commands.analyze.analyse_file`, the usual reader). Printed: the
peak of the memory :mod:`tracemalloc` traces (Python objects and numpy arrays) during that work
(done once before, untraced, so that the modules it imports are not counted),
the process's maximum resident set size after it and before it (imports and the store opened), the
process time of the traced run, and the wall-clock time of one more run, untraced (``wall_s``; the
machine's load average is printed beside it). A 120-min treadmill trial to measure:

    balance-station trial --protocol backward-treadmill --simulate --belt-speed-m-s 0.5 \\
        --planned-min 120 --out DIR --patient ID --data-dir DATA

(about 10 min; ``--patient`` stores it in DATA's database as well). Nothing is asserted here: the
bounds are tests (tests/dashboard/test_walk_trace_memory.py, tests/store/test_imu_reader_bounds.py,
tests/store/test_trialfile_text_blocks.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = r"""
import json, os, resource, sys, time, tracemalloc
kind, args = sys.argv[1], json.loads(sys.argv[2])
import station
if kind == "steps":
    from station.store.store import Store
    from web import walk_trace
    store = Store.open(args["data_dir"])
    trial = store.trials.get(args["trial"])
    def work():
        if hasattr(walk_trace, "stored_frames"):
            frames = walk_trace.stored_frames(store.trials, args["trial"])
        else:  # an older checkout (--code): the whole trial's frames, as its route read them
            frames = store.trials.frames(args["trial"], fields=("seq",) + walk_trace.IMU_FIELDS)
        doc = walk_trace.steps_trace(trial, frames, from_s=args["from_s"], to_s=args["to_s"], max_points=4000)
        return {"points": len(doc["time_s"]), "bytes": len(json.dumps(doc)), "step": doc.get("step")}
elif kind == "gait":
    from station.commands.gait import analyse_file
    def work():
        out = analyse_file(args["file"], sensor_height_m=None, mounting=(None, None), default_mounting=("+x", "+z"),
                           version="bench")
        return {"error": out.get("error"), "steps": out.get("metrics", {}).get("steps"),
                "result_sha": __import__("hashlib").sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()[:16]}
else:
    from station.commands.analyze import analyse_file
    def work():
        out = analyse_file(args["file"], None, "bench")
        return {"error": out.get("error"),
                "result_sha": __import__("hashlib").sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()[:16]}
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
work()  # once untraced: every module the work imports on its way is imported, and not counted
cpu = time.process_time()
tracemalloc.start()
result = work()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
cpu = time.process_time() - cpu
wall = time.perf_counter()
work()
wall = time.perf_counter() - wall
print(json.dumps({"code": os.path.dirname(os.path.dirname(station.__file__)), "traced_peak_mb": round(peak / 1e6, 1),
                  "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1),
                  "max_rss_before_mb": round(rss_before / 1e3, 1), "cpu_s": round(cpu, 2), "wall_s": round(wall, 3), **result}))
"""


def measure(kind: str, args: dict, code: Path) -> dict:
    """One measurement in a fresh Python whose ``station`` and ``web`` are ``code``'s."""
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run([sys.executable, "-c", _MEASURE, kind, json.dumps(args)], env=env, capture_output=True,
                          text=True, cwd=code, check=False)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("steps", "gait", "sway"))
    parser.add_argument("file", nargs="?", help="gait, sway: the recording or trial file")
    parser.add_argument("--data-dir", help="steps: the station's data directory")
    parser.add_argument("--trial", type=int, help="steps: the trial's id")
    parser.add_argument("--from-s", type=float, help="steps: the window's start, s (default: the whole trial)")
    parser.add_argument("--to-s", type=float, help="steps: the window's end, s")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose station/ and web/ run (default: this one)")
    args = parser.parse_args(argv)
    if args.kind == "steps":
        if args.data_dir is None or args.trial is None:
            parser.error("steps needs --data-dir and --trial")
        job = {"data_dir": args.data_dir, "trial": args.trial, "from_s": args.from_s, "to_s": args.to_s}
    else:
        if args.file is None:
            parser.error(f"{args.kind} needs a FILE")
        job = {"file": str(Path(args.file).resolve())}
    print(json.dumps({"kind": args.kind, **job, **measure(args.kind, job, args.code.resolve()),
                      "load": round(os.getloadavg()[0], 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
