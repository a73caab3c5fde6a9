"""A trial's start and end fall on the sample grid (DESIGN.md §3): a 30-s trial at 100 Hz spans
exactly 3000 sample slots (frames recorded + frames lost) however late the acquisition loop woke
for the frames at its edges, and its trial CSV's time_s runs from 0 to 29.99 s.

The machine used to start and end a trial at the frames' wake times (``t_ns``): a frame woken late
next to the start or the end added or took a slot (2999 or 3001 slots), and a steady stance
completed by a frame woken 6 ms late moved the whole trial one slot later on the grid."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.acquire.ring import FrameBlock
from station.protocols.events import EventBus
from station.protocols.loader import builtin_protocols
from station.protocols.machine import TrialMachine, TrialPlan
from .synth import ScriptedSource, fake_analyse
from .test_machine import START_S, person

PERIOD_NS = 10_000_000  # 100 Hz
FIRST_SLOT = int(START_S * 100)  # 600: the slot of the start signal, 3 s after 2 s of steady stance
LAST_SLOT = FIRST_SLOT + 3000 - 1


class LateSource(ScriptedSource):
    """Frames as the acquisition loop makes them on a clock that wakes late: frame ``seq``'s
    ``t_ns`` is its deadline plus ``late_ns[seq]`` (never before the frame made before it, as the
    loop makes the frames it woke late for at once); ``lost`` slots the loop slept through (their
    ``seq`` is skipped, the next frame flagged LOST_BEFORE)."""

    def __init__(self, script, late_ns: dict[int, int], lost: frozenset[int] = frozenset(),
                 reader_missed: frozenset[int] = frozenset()):
        super().__init__(script)
        self.late_ns = late_ns
        self.lost = lost
        self.reader_missed = reader_missed
        """Slots whose frames were made but the reader missed (the ring overtook it): not given,
        and counted in the block's ``missed``, as :class:`station.acquire.ring.FrameRing` does."""
        self._last_t_ns = 0

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        block = super().read_frames(max_wait_s)
        frames = block.frames
        keep = np.array([int(s) not in self.lost for s in frames["seq"]], dtype=bool)
        for k, seq in enumerate(frames["seq"]):
            seq = int(seq)
            if seq in self.lost:
                continue
            t = max(seq * PERIOD_NS + self.late_ns.get(seq, 0), self._last_t_ns)
            frames["t_ns"][k] = t
            self._last_t_ns = t
            if seq - 1 in self.lost:
                frames["flags"][k] |= int(FrameFlag.LOST_BEFORE)
        missed = np.array([int(s) in self.reader_missed for s in frames["seq"]], dtype=bool)
        return FrameBlock(frames[keep & ~missed], block.missed + int((keep & missed).sum()))


def run_trial(source: LateSource) -> TrialMachine:
    p = builtin_protocols()["quiet-stance"]
    bus = EventBus(source.clock)
    m = TrialMachine(TrialPlan(p, p.conditions[0]), rate_hz=100.0, bus=bus, analyse=fake_analyse)
    m.open(0)
    m.confirm(0)
    while not m.finished and source.clock.monotonic_ns() < 120e9:
        block = source.read_frames(0.05)
        m.feed(block.frames, block.missed, source.clock.monotonic_ns())
    return m


@pytest.mark.parametrize("late_ns, lost", [
    ({FIRST_SLOT - 1: 12_000_000}, ()),  # the slot before the start woken 12 ms late, after the start signal
    ({LAST_SLOT: 12_000_000}, ()),  # the trial's last slot woken 12 ms late, after the end of its 30 s
    ({FIRST_SLOT - 1: 12_000_000, LAST_SLOT: 15_000_000, 1234: 6_000_000}, ()),
    ({300: 6_000_000}, ()),  # the frame that completed 2 s of steady stance woken 6 ms late
    ({}, (FIRST_SLOT,)),  # the trial's first slot slept through (lost)
    ({}, (LAST_SLOT,)),  # its last slot lost
    ({LAST_SLOT - 1: 12_000_000}, (LAST_SLOT,)),
], ids=["late-before-start", "late-at-end", "late-at-both-edges", "late-steady-stance", "first-slot-lost",
        "last-slot-lost", "late-then-last-lost"])
def test_a_trial_spans_exactly_its_slots_on_the_grid_however_late_its_frames_woke(late_ns, lost):
    m = run_trial(LateSource(person(), late_ns, frozenset(lost)))
    r = m.result
    seq = m.recorded["seq"].astype(np.int64)
    assert r.valid and r.completed and r.end_reason == "duration"
    assert r.samples + r.lost_frames == 3000
    assert r.lost_frames == len(lost)
    assert seq[0] == FIRST_SLOT + (FIRST_SLOT in lost) and seq[-1] == LAST_SLOT - (LAST_SLOT in lost)
    assert m.start_ns == FIRST_SLOT * PERIOD_NS  # the start signal on the grid, not a frame's wake time
    # times inside the trial are grid times: the trial CSV's time_s of the last frame, + 1 period
    assert r.recorded_s == pytest.approx((seq[-1] - FIRST_SLOT + 1) / 100.0, abs=1e-12)


SEEDS = range(1, 11)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_stance_trial_on_a_clock_waking_late_is_exactly_its_duration_in_slots(seed, tmp_path):
    """The simulated station on LateWakeClock (a Pi under load), seeds 1-10, the trial written
    as ``record`` writes it: its CSV's time_s runs from 0 on the grid and its 30 s at 100 Hz
    count 3000 slots (frames + lost), as the stored trial's frame_count + frames_lost."""
    from dataclasses import replace

    from station.protocols.runner import ProtocolRunner
    from station.protocols.sinks import FileSink
    from station.sim.clock import LateWakeClock, SimulatedClock
    from station.sim.person import VirtualPerson
    from station.sim.station import SimulatedStation
    from station.sim.virtual_patient import VirtualPatient

    protocol = replace(builtin_protocols()["quiet-stance"], rest_s=0.0, max_attempts=1)
    person_ = VirtualPerson(seed=seed, on_plate=False)
    station = SimulatedStation(None, person_, seed=seed, calibration="nominal",
                               clock=LateWakeClock(SimulatedClock(), seed=seed))
    runner = ProtocolRunner(protocol, station, sink=FileSink(tmp_path))
    VirtualPatient(person_, (), time_origin_ns=station.simulation.plate.t0_ns).attach(runner)
    runner.run(max_s=600)
    (record,) = runner.records
    r = record.result
    slots = int(round(protocol.conditions[0].duration_s * station.loop.rate_hz))
    assert slots == 3000
    assert r.end_reason == "duration" and r.samples + r.lost_frames == slots
    with open(record.stored["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == r.samples
    time_s = np.array([float(row["time_s"]) for row in rows])
    grid = np.round(time_s * 100).astype(np.int64)
    assert np.allclose(time_s, grid / 100.0, atol=1e-9)
    # frame_count + frames_lost of the stored trial: its rows and the gaps between them
    assert grid[0] == 0 and grid[-1] == slots - 1 and len(rows) + int((np.diff(grid) - 1).sum()) == slots


# -- one count and one time zero wherever the trial is read -----------------------------------------



def run_stored(tmp_path, source: LateSource):
    """The trial run by the protocol runner into the clinic database and a trial file at once (as
    ``balance-station trial --patient ... --out ...`` stores it): its result, its stored row, and
    its trial CSV's time_s."""
    from dataclasses import replace

    from station.protocols.runner import ProtocolRunner
    from station.protocols.sinks import FileSink, StoreSink, TeeSink
    from station.store.audit import Actor
    from station.store.store import Store

    actor = Actor.system()
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "GRID-1", "birth_year": 1950, "sex": "F"}, actor=actor)
        session = store.sessions.create(patient["id"], {"label": "grid"}, actor=actor)
        (tmp_path / "files").mkdir()
        sink = TeeSink(StoreSink(store.trials, session["id"], {"method": "nominal"}, actor),
                       FileSink(tmp_path / "files"))
        protocol = replace(builtin_protocols()["quiet-stance"], rest_s=0.0, max_attempts=1)
        runner = ProtocolRunner(protocol, source, sink=sink)  # the sway measures as stored
        runner.begin()
        runner.request_start()
        while not runner.records and source.clock.monotonic_ns() < 120e9:
            runner.step(0.05)
        (record,) = runner.records
        row = store.trials.get(record.stored["trial_id"])
    finally:
        store.close()
    with open(record.stored["csv"], newline="") as f:
        time_s = np.array([float(r["time_s"]) for r in csv.DictReader(f)])
    return record.result, row, time_s


@pytest.mark.parametrize("lost, reader_missed", [
    ((FIRST_SLOT,), ()),  # the trial's first slot slept through: the store read 2999 slots
    ((LAST_SLOT,), ()),  # its last: the same
    ((FIRST_SLOT, FIRST_SLOT + 1, LAST_SLOT), ()),
    ((), (1500, 1501, 1502)),  # 3 frames the reader missed: the result counted each twice (6)
], ids=["first-slot-lost", "last-slot-lost", "both-edges-lost", "reader-missed"])
def test_the_result_the_store_and_the_trial_file_count_the_same_slots(tmp_path, lost, reader_missed):
    r, row, time_s = run_stored(tmp_path, LateSource(person(), {}, frozenset(lost), frozenset(reader_missed)))
    slots = len(lost) + len(reader_missed)
    assert r.valid and r.completed and r.end_reason == "duration"
    assert r.lost_frames == slots and r.samples + r.lost_frames == 3000
    # the stored trial: the same count (frame_count + frames_lost: its 30 s at 100 Hz)
    assert row["frame_count"] == r.samples and row["frames_lost"] == r.lost_frames
    # its trial CSV: time_s from the start slot, the lost first slots a gap at its start
    grid = np.round(time_s * 100).astype(np.int64)
    assert len(time_s) == r.samples and grid[0] == (FIRST_SLOT in lost) + (FIRST_SLOT + 1 in lost)
    assert grid[-1] == 2999 - (LAST_SLOT in lost)


@pytest.mark.parametrize("late_ms", [6, 9])
def test_the_trial_csv_starts_at_the_start_slot_however_late_its_first_frame_woke(tmp_path, late_ms):
    # the first slot's frame woken more than half a period late: its time_s is still 0 (it read 0.01
    # when time zero was rounded from that frame's wake time), as the result's times say
    r, row, time_s = run_stored(tmp_path, LateSource(person(), {FIRST_SLOT: late_ms * 1_000_000}))
    assert r.valid and r.samples == 3000 and r.lost_frames == 0 and row["frames_lost"] == 0
    assert time_s[0] == 0.0 and time_s[-1] == pytest.approx(29.99, abs=1e-9)
    assert np.allclose(np.diff(time_s), 0.01, atol=1e-9)
    assert r.analysis_start_s == 0.0 and r.recorded_s == pytest.approx(30.0, abs=1e-9)


def test_a_gap_is_placed_on_the_grid_not_at_the_late_wake_of_the_frame_before_it():
    # 0.3 s lost from slot 1000 (4.0 s after the start signal); the frame before it woke 80 ms late
    gap = frozenset(range(1000, 1030))
    m = run_trial(LateSource(person(), {999: 80_000_000}, gap))
    r = m.result
    assert not r.valid and [i.code for i in r.issues] == ["gap"], [i.message for i in r.issues]
    (issue,) = r.issues
    assert issue.at_s == pytest.approx(4.0, abs=1e-12)  # (1000 - 600) / 100: was 4.07, the wake time
    assert issue.message == "The recording has a gap of 0.30 s at 4.0 s (at most 0.2 s is allowed)."
    assert r.lost_frames == 30 and r.samples + r.lost_frames == 3000
