"""Late wake-ups on the NAU7802 plate (no FIFO: each chip holds one conversion until the next,
3.1 ms at 320 SPS): what the loop keeps and what it loses (station/acquire/loop.py, "Waking late").

* A frame is lost only when no corner that is up has a conversion of its own period read: the loop
  slept through its whole period (the chips overwrote those conversions). A frame the loop woke
  for late, a period or more, is still made from the conversions read before (it used to be
  dropped with them), and no frame is made of repeated values alone.
* The corners are read most urgent first, so wake-ups up to 0.4 ms late lose no conversion (read
  in the fixed order FL, FR, BL, BR, the last corner lost some).
"""

import numpy as np
import pytest

from station.acquire.frame import STALE_CORNER_FLAGS, FrameFlag
from station.sim.clock import LateWakeClock, SimulatedClock
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation
from tests.acquire.test_timing import OneLateWake

MS = 1_000_000
PERIOD_NS = 10 * MS  # 100 Hz frames
CONVERSION_NS = 3_125_000  # 320 SPS
_STALE_ANY = sum(int(f) for f in STALE_CORNER_FLAGS)


class SleepLog:
    """Records every wait that ends late: (the time the wait began, the time it ended)."""

    def __init__(self) -> None:
        self.late_sleeps: list[tuple[int, int]] = []

    def wrap(self, clock):
        sleep = clock.sleep_until_ns

        def sleep_until_ns(deadline_ns: int) -> None:
            began = clock.monotonic_ns()
            sleep(deadline_ns)
            if clock.monotonic_ns() > max(deadline_ns, began):
                self.late_sleeps.append((began, clock.monotonic_ns()))

        clock.sleep_until_ns = sleep_until_ns
        return clock


def _station(clock, seed: int = 0) -> SimulatedStation:
    return SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=seed, calibration="nominal", clock=clock)


def _lost_seqs(frames) -> list[int]:
    seq = frames["seq"].astype(np.int64)
    return [int(q) for a, b in zip(seq[:-1], seq[1:]) for q in range(a + 1, b)]


def _assert_only_slept_through_frames_lost(station, frames, late_sleeps) -> None:
    """Every lost frame's period lies inside one late sleep of the loop, but for its first
    conversion period (where the previous frame's poll and a sub-poll may still have read, finding
    no conversion yet); none of the conversions it had was thrown away; no frame is made of
    repeated values."""
    loop = station.loop
    lost = _lost_seqs(frames)
    assert len(lost) == loop.stats.frames_lost
    for q in lost:
        start, end = loop.deadline_of(q) - PERIOD_NS, loop.deadline_of(q)
        assert any(began <= start + CONVERSION_NS and end <= woke for began, woke in late_sleeps), (q, start, end)
    assert loop.stats.conversions_in_lost_frames == 0
    all_stale = (frames["flags"] & _STALE_ANY) == _STALE_ANY
    assert not np.any(all_stale)


@pytest.mark.parametrize("late_ms", [10.6, 12.0, 15.0, 19.0])
@pytest.mark.parametrize("poll_offset_ms", [0.0, 2.5, 5.0, 7.5])
def test_a_wake_up_over_a_period_late_loses_only_the_frames_it_slept_through(late_ms, poll_offset_ms):
    """One wake-up 10.6-19 ms late, at a frame's deadline or at one of its sub-polls: the frame it
    woke for is made (late) from the conversions read before, when a sub-poll of its period came
    before the sleep; only a frame whose period passed in the sleep can be lost (at the first
    sub-poll, 7.5 ms before the deadline, that is the frame woken for itself)."""
    log = SleepLog()
    at_ns = 8_000_000_000 - int(poll_offset_ms * MS)  # a frame deadline (8 s), or a sub-poll before it
    clock = log.wrap(OneLateWake(at_ns, int(late_ms * MS)))
    station = _station(clock)
    frames = station.run_seconds(10)
    _assert_only_slept_through_frames_lost(station, frames, log.late_sleeps)
    assert station.loop.stats.frames_lost <= 1  # a period of 10 ms fits once in a sleep under 20 ms
    woke_for = station.loop.deadline_of(int(frames["seq"][0])) + (
        (8_000_000_000 - station.loop.deadline_of(int(frames["seq"][0]))) // PERIOD_NS) * PERIOD_NS
    made = frames[[station.loop.deadline_of(int(q)) == woke_for for q in frames["seq"]]]
    if poll_offset_ms < 7.5:
        assert len(made) == 1 and made["flags"][0] & int(FrameFlag.LATE)


def test_a_wake_up_just_over_a_period_late_at_a_deadline_loses_nothing():
    """10.6 ms late at the deadline: the frame is made from its own conversions (none stale), and
    the next one (late too: the reads after the wake-up take 2-3 ms) from the conversions the chips
    still held at the wake-up."""
    station = _station(OneLateWake(8_000_000_000, 10_600_000))
    frames = station.run_seconds(10)
    assert station.loop.stats.frames_lost == 0 and np.all(np.diff(frames["seq"].astype(np.int64)) == 1)
    late = frames[(frames["flags"] & int(FrameFlag.LATE)) != 0]
    assert station.loop.deadline_of(int(late["seq"][0])) == 8_000_000_000
    assert late["t_ns"][0] == 8_010_600_000 and not late["flags"][0] & _STALE_ANY
    assert len(late) <= 2 and np.all(late["seq"] <= late["seq"][0] + 1)


@pytest.mark.parametrize("seed", [1, 6, 7])
def test_on_the_pi_like_clock_only_frames_slept_through_are_lost(seed):
    """LateWakeClock (a Pi under load): 30 s of quiet stance. The old loop dropped frames with 1-3
    conversions per corner already read (seed 7: 6 of its 7 lost frames) and made frames of
    repeated values only."""
    log = SleepLog()
    station = _station(log.wrap(LateWakeClock(SimulatedClock(), seed=seed)))
    frames = station.run_seconds(30)
    _assert_only_slept_through_frames_lost(station, frames, log.late_sleeps)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wake_ups_up_to_0_4_ms_late_lose_no_conversion(seed):
    """Every wait ends late by a draw in [0, 0.4 ms]: the poll interval (2.5 ms) plus 0.4 ms stays
    under the conversion period (3.1 ms) for the corner read first, the most urgent one."""

    class Jitter(SimulatedClock):
        rng = np.random.default_rng(seed)

        def sleep_until_ns(self, deadline_ns: int) -> None:
            if deadline_ns > self.monotonic_ns():
                super().sleep_until_ns(deadline_ns + int(self.rng.integers(0, 400_001)))

    station = _station(Jitter(), seed=seed)
    station.run_seconds(10)
    stats = station.loop.stats
    assert stats.frames_lost == 0 and stats.conversions_missed == 0
    assert 4 * 320 * 9.9 <= station.health()["conversions"] <= 4 * 320 * 10.1
