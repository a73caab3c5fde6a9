"""The trial service's loop under storage faults: its longest step while a trial records and is stored.

    .venv/bin/python benchmarks/recording_faults.py lock-stop --hold-s 8     # Stop pressed while another program holds the lock
    .venv/bin/python benchmarks/recording_faults.py lock-end --hold-s 8      # the trial ends by itself under the lock
    .venv/bin/python benchmarks/recording_faults.py slow-fsync --fsync-s 2   # every commit takes 2 s (a slow SD card)

The simulated station (its virtual patient, the trial service, the real store in a fresh data directory)
is paced to real time: after each :meth:`TrialService.step` the benchmark sleeps until the simulated clock
is not ahead of the wall clock, as the service thread on a station reads the acquisition ring every
50 ms. A quiet stance (30 s) is opened and started; then

* ``lock-stop``: 3 s into the recording a second SQLite connection (another program: an administrator's
  ``sync --resend``) takes the write lock with ``BEGIN IMMEDIATE``, Stop is pressed 2 s later and the lock
  is released ``--hold-s`` after it was taken; the finish of the stopped trial falls inside the hold;
* ``lock-end``: the lock is taken ``--hold-s`` / 2 before the trial's end and held ``--hold-s``: the trial
  ends by itself (its finish) under the lock;
* ``slow-fsync``: every COMMIT of the station's writer connection takes ``--fsync-s`` longer (a sleep before
  it: the time an SD card's fsync takes), the whole trial long. With ``--page-writes`` a page saves a
  patient's note every second meanwhile (another thread, as a request), and once the trial is stored the
  test is closed and the next one opened (the visit it makes is the loop's own write).

Prints one JSON object: ``longest_step_s`` (the longest service step, the loop's pace: the acquisition ring
is drained, Stop carried out and the live events published once per step), ``steps_over_0_1_s``,
``longest_steps`` (the four longest, with their time into the recording, s), ``longest_store_call_s``
(the longest call the loop made to the trial recorder: a start, an append, a finish or its retry, a
partial mark; on a machine under load the steps also wait for a CPU, these calls for little but the
storage), the
trial's stored ``status``, ``frame_count`` and ``frames_lost``, and the events the page got (``fault`` and
``notice`` messages, ``trial_stored``). With ``--page-writes``: ``page_writes`` (how many, how many
saved, the longest wait for an answer, s, and the words of the first refused) and ``next_test`` (the
step that opened it, s, and its outcome: ``opened`` or the words of its refusal). Wall time: about 40 s a
run.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

from station.protocols.service import TrialService
from station.sim.clock import SimulatedClock
from station.sim.person import VirtualPerson
from station.sim.scenarios import SCENARIOS, ScenarioPatient, scenario_message
from station.sim.station import SimulatedStation, factory_calibration
from station.store.audit import Actor
from station.store.db import StoreError
from station.store.passwords import ScryptCost
from station.store.store import Store

ACTOR = Actor(1, "bench", "127.0.0.1")
CHEAP = ScryptCost(log2_n=4, r=8, p=1)


class _SlowCommits:
    """The writer connection with every COMMIT ``delay_s`` longer (the rest passed through)."""

    def __init__(self, conn: sqlite3.Connection, delay_s: float) -> None:
        self._conn, self._delay_s = conn, delay_s

    def execute(self, sql, *args):
        if sql == "COMMIT":
            time.sleep(self._delay_s)
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def timed_store_calls(trials) -> list[float]:
    """Time every call the loop makes to the trial recorder (``trials`` and its writers); returns the list the
    calls' lengths (s) go to."""
    from station.store.trials import TrialWriter

    calls: list[float] = []

    def timed(fn):
        def call(*args, **kwargs):
            began = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                calls.append(time.monotonic() - began)
        return call

    for name in ("append", "finish", "abort", "retry_end"):
        setattr(TrialWriter, name, timed(getattr(TrialWriter, name)))
    for name in ("start_trial", "close_unclosed"):
        setattr(trials, name, timed(getattr(trials, name)))
    return calls


def simulated_clinic(store: Store, clock: SimulatedClock):
    """The trial service on the simulated station with a virtual patient who follows every run (the
    ``patient`` scenario): (service, the events it published, ``run(command, *args)`` carrying a command
    out by stepping the service, ``state()`` of the open run or None)."""
    person = VirtualPerson(seed=1, on_plate=False, age_group="old")
    station = SimulatedStation(None, person, seed=1, calibration=factory_calibration(None, 1), clock=clock)
    service = TrialService(station, store, calibration=station.calibration.to_dict())
    events: list = []
    service.bus.subscribe(events.append)
    scenario = ScenarioPatient(SCENARIOS["patient"], person, time_origin_ns=station.simulation.plate.t0_ns)
    service.bus.subscribe(lambda e: (m := scenario_message(e)) is not None and scenario.handle(m))
    service.add_tick(scenario.patient.tick)

    def run(command: str, *a):
        future = service.submit(command, *a)
        while not future.done():
            service.step()
        return future.result()

    def state():
        doc = service.status()["run"]
        return None if doc is None else doc["state"]

    return service, events, run, state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=("lock-stop", "lock-end", "slow-fsync"))
    parser.add_argument("--hold-s", type=float, default=8.0, help="how long the other program holds the lock, s")
    parser.add_argument("--fsync-s", type=float, default=2.0, help="how much longer each commit takes, s")
    parser.add_argument("--page-writes", action="store_true",
                        help="slow-fsync: a page saves a note every second; then the next test is opened")
    args = parser.parse_args(argv)

    clock = SimulatedClock()
    data = Path(tempfile.mkdtemp()) / "data"
    store = Store.open_service(data, password_cost=CHEAP, clock=clock)
    patient = store.patients.create({"identifier": "B-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    service, events, run, state = simulated_clinic(store, clock)
    run("open_run", patient["id"], "quiet-stance", None, ACTOR)
    while state() != "instructions":
        service.step()
    if args.scenario == "slow-fsync":
        store.db._writer = _SlowCommits(store.db._writer, args.fsync_s)
    run("start_trial")
    while state() != "recording":
        service.step()

    store_calls = timed_store_calls(store.trials)
    page_writes: list[tuple[float, str | None]] = []  # (wait for the answer, s; None or the refusal's words)
    writing = threading.Event()
    if args.page_writes:
        def page() -> None:
            while not writing.wait(1.0):
                began = time.monotonic()
                try:
                    store.patients.update(patient["id"], {"notes": f"note {len(page_writes)}"}, actor=ACTOR)
                    refused = None
                except StoreError as exc:
                    refused = str(exc)
                page_writes.append((time.monotonic() - began, refused))

        paging = threading.Thread(target=page, daemon=True)
        paging.start()
    other = sqlite3.connect(store.db.path, isolation_level=None, check_same_thread=False)
    stored_before = sum(e.kind == "trial_stored" for e in events)
    sim0, wall0 = clock.monotonic_ns(), time.monotonic()
    steps: list[tuple[float, float]] = []  # (seconds into the recording, step length)
    hold_at = {"lock-stop": 3.0, "lock-end": 30.0 - args.hold_s / 2}.get(args.scenario)
    held_at = stop_at = None
    released = threading.Event()
    while sum(e.kind == "trial_stored" for e in events) == stored_before or not released.is_set() and hold_at is not None:
        now_s = (clock.monotonic_ns() - sim0) / 1e9
        if hold_at is not None and held_at is None and now_s >= hold_at:
            other.execute("BEGIN IMMEDIATE")
            held_at = now_s
            threading.Timer(args.hold_s, lambda: (other.execute("COMMIT"), released.set())).start()
        if args.scenario == "lock-stop" and held_at is not None and stop_at is None and now_s >= held_at + 2.0:
            service.submit("stop_trial")
            stop_at = now_s
        began = time.monotonic()
        service.step()
        steps.append((now_s, time.monotonic() - began))
        lag = (clock.monotonic_ns() - sim0) / 1e9 - (time.monotonic() - wall0)
        if lag > 0:
            time.sleep(lag)  # the simulated station in real time
        if now_s > 120:
            break
    for _ in range(20):  # a few more steps: what the page is told after the trial is stored
        service.step()
    next_test = None
    if args.page_writes:
        writing.set()
        paging.join()
        run("close_run")
        opening = service.submit("open_run", patient["id"], "romberg", None, ACTOR)
        began = time.monotonic()
        while not opening.done():
            service.step()
        took_s = time.monotonic() - began
        try:
            opening.result()
            outcome = "opened"
        except StoreError as exc:
            outcome = str(exc)
        next_test = {"step_s": round(took_s, 3), "outcome": outcome}
    other.close()
    stored = [e.data for e in events if e.kind == "trial_stored"][stored_before:]
    trial = store.trials.get(stored[-1]["trial_id"]) if stored and stored[-1].get("trial_id") else None
    longest = max(steps, key=lambda s: s[1])
    print(json.dumps({
        "scenario": args.scenario, "hold_s": args.hold_s if hold_at is not None else None,
        "fsync_s": args.fsync_s if args.scenario == "slow-fsync" else None,
        "steps": len(steps), "longest_step_s": round(longest[1], 3), "longest_step_at_s": round(longest[0], 2),
        "steps_over_0_1_s": sum(1 for _, d in steps if d > 0.1),
        "longest_store_call_s": round(max(store_calls, default=0.0), 3),
        "longest_steps": [(round(at, 2), round(d, 3)) for at, d in sorted(steps, key=lambda s: -s[1])[:4]],
        "trial": None if trial is None else {k: trial[k] for k in ("status", "status_reason", "frame_count",
                                                                    "frames_lost")},
        "page": [(e.kind, e.data.get("message")) for e in events
                 if e.kind in ("fault", "notice", "trial_saving", "trial_saved")],
        "page_writes": None if not args.page_writes else {
            "n": len(page_writes), "saved": sum(1 for _, r in page_writes if r is None),
            "longest_s": round(max((w for w, _ in page_writes), default=0.0), 3),
            "refused": next((r for _, r in page_writes if r is not None), None)},
        "next_test": next_test,
    }, indent=1))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
