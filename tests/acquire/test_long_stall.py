"""A long stall of the acquisition loop on the NAU7802 plate (no FIFO): the frames slept through are
lost at once, counted, and the loop is on time again a few frames later. It no longer reads the plate
once per lost frame (983d647 to 4ec9b9e did: a 60-s stall cost 6000 reads, 0.34 s of CPU and about
4 s of bus time, so the frames after it were still made 3 s late a second on, and a 15-min jump of
the simulated clock in tests/dashboard/test_live.py took minutes). From helper T1's test."""

import numpy as np
import pytest

from station.acquire.frame import STALE_CORNER_FLAGS, FrameFlag
from station.config import CORNERS
from station.sim.clock import LateWakeClock, SimulatedClock
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation

PERIOD_NS = 10_000_000  # 100 Hz frames
_STALE_ANY = sum(int(f) for f in STALE_CORNER_FLAGS)


@pytest.mark.parametrize("stall_s", [1.0, 60.0])
def test_the_frames_slept_through_a_long_stall_are_lost_at_once_without_a_bus_read_each(stall_s):
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=SimulatedClock())
    loop = station.loop
    before = station.run_seconds(1)
    reads = []
    read_corners = loop.plate.read_corners

    def counted(*args, **kwargs):
        reads.append(station.clock.monotonic_ns())
        return read_corners(*args, **kwargs)

    loop.plate.read_corners = counted
    stalled_at = station.clock.monotonic_ns()
    station.clock.advance_ns(int(stall_s * 1e9))
    woke_at = station.clock.monotonic_ns()
    first = station.run_frames(1)
    lost = int(first["seq"][0]) - int(before["seq"][-1]) - 1
    # every frame whose whole period lay in the stall is lost, and none other
    slept_through = (woke_at - loop.deadline_of(int(before["seq"][-1]) + 1)) // PERIOD_NS
    assert slept_through <= lost <= slept_through + 1 and loop.stats.frames_lost == lost
    assert first["flags"][0] & int(FrameFlag.LOST_BEFORE) and first["flags"][0] & _STALE_ANY != _STALE_ANY  # made of its own
    assert loop.stats.conversions_in_lost_frames == 0
    assert stalled_at < loop.deadline_of(int(first["seq"][0])) and woke_at <= loop.deadline_of(int(first["seq"][0])) + PERIOD_NS
    # the wake-up's read, then the next frame's own polls: not one per lost frame (4ec9b9e: 105, 6000)
    assert len(reads) <= loop.polls_per_frame + 2, len(reads)
    # then on time again (the IMU FIFO, holding the stall's samples, is emptied: test below): every frame made at its
    # deadline, none lost (4ec9b9e, 60 s: the frames a second on made 3.1 s late)
    after = station.run_seconds(1)[20:]
    assert np.all(np.diff(after["seq"].astype(np.int64)) == 1) and not np.any(after["flags"] & int(FrameFlag.LOST_BEFORE))
    behind = after["t_ns"].astype(np.int64) - np.array([loop.deadline_of(int(s)) for s in after["seq"]])
    assert behind.max() < PERIOD_NS // 4, behind.max()


def _overwritten(station, before=None):
    """Per corner: the conversions its chip made and the loop did not read (from the chip models: the
    index of the chip's newest conversion and whether it is still unread), less those at ``before``."""
    loop = station.loop
    now = []
    for i, corner in enumerate(CORNERS):
        chip = station.simulation.adc(corner)
        now.append(chip._last_k - int(chip._cr) - loop._corner_conversions[i])  # made - unread - read, + a constant
    return now if before is None else [a - b for a, b in zip(now, before)]


@pytest.mark.parametrize("seed", range(4))
def test_the_conversions_a_stall_overwrote_are_counted_exactly(seed):
    """After a stall the newest conversion's number is the chip clock's fit at the read, and the fit
    times conversions 0.1-0.3 ms late (a read's own bus time): a conversion made just before the read
    was taken for the one before it, and the count fell one short (c2e8418: seeds 0-3, stalls of 0.2 s
    to 5 s, 7 of 240 corners off by one, 6 short, seed 0 none). Stalls of 0.2-5 s at 5 phases of a
    conversion period."""
    off = []
    for gap_s in (0.2, 1.0, 5.0):
        for phase_ms in (0.0, 0.7, 1.3, 1.9, 2.6):
            station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=seed, calibration="nominal",
                                       clock=SimulatedClock())
            loop = station.loop
            station.run_seconds(2)
            counted, before = list(loop._corner_missed), _overwritten(station)
            station.clock.advance_ns(int(gap_s * 1e9 + phase_ms * 1e6))
            station.run_seconds(0.3)
            true = _overwritten(station, before)
            said = [a - b for a, b in zip(loop._corner_missed, counted)]
            assert min(true) > 0.9 * gap_s * 320
            off += [(gap_s, phase_ms, CORNERS[i], said[i] - true[i]) for i in range(4) if said[i] != true[i]]
    assert not off, off


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_on_the_pi_like_clock_the_conversions_overwritten_are_counted(seed):
    """Every wake-up later than a conversion period is such a gap (c2e8418 counted 372, 235 and 234
    where the chips overwrote 369, 210 and 224; 4ec9b9e 2172 for 2046 over seeds 1-10, now 2015 for
    2012)."""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=LateWakeClock(SimulatedClock(), seed=seed))
    loop = station.loop
    station.run_seconds(1)
    missed, before = loop.stats.conversions_missed, _overwritten(station)
    station.run_seconds(30)
    true = sum(_overwritten(station, before))
    assert true > 100 and abs(loop.stats.conversions_missed - missed - true) <= 1, (loop.stats.conversions_missed - missed, true)


@pytest.mark.parametrize("stall_s", [3.0, 60.0])
def test_after_a_stall_longer_than_the_imu_fifo_holds_it_is_emptied_not_read_and_no_later_frame_is_lost(stall_s):
    """The LSM6DSOX's FIFO holds 1.2 s at the station's 208 Hz: after a longer stall it has overflowed, and what it
    holds belongs to frames already lost. The loop read all 3 kbyte of it (74 ms of bus), in which the
    plate's chips overwrote the conversions of the next 7 frames: lost too (2280261: 7 lost after the
    wake-up's frame, 3-s and 60-s stalls). Now it is emptied (bypass, then continuous: two writes)."""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=SimulatedClock())
    loop, chip = station.loop, station.simulation.imu
    station.run_seconds(2)
    overflows = loop.imu.fifo_overflow_count
    station.clock.advance_ns(int(stall_s * 1e9))
    first = station.run_frames(1)
    lost = loop.stats.frames_lost
    assert loop.imu.fifo_overflow_count == overflows + 1 and first["flags"][0] & int(FrameFlag.IMU_LOST)
    level = chip.fifo_level
    after = station.run_seconds(1)
    assert loop.stats.frames_lost == lost and not np.any(after["flags"] & int(FrameFlag.LOST_BEFORE))
    assert level <= 2 and loop.imu.fifo_discarded_samples >= 255  # emptied (512 words), and counted
    assert loop.health()["imu_samples_emptied"] == loop.imu.fifo_discarded_samples
    assert np.all(np.diff(np.concatenate([first["seq"], after["seq"]]).astype(np.int64)) == 1)
    behind = after["t_ns"].astype(np.int64) - np.array([loop.deadline_of(int(s)) for s in after["seq"]])
    assert behind.max() < PERIOD_NS // 4, behind.max()
    # the IMU's samples come again from the next frame on, numbered and timed afresh
    assert not np.any(after["flags"][5:] & int(FrameFlag.IMU_STALE | FrameFlag.IMU_LOST))
    gravity = np.sqrt(after["ax_m_s2"] ** 2 + after["ay_m_s2"] ** 2 + after["az_m_s2"] ** 2)[5:]
    assert np.isfinite(gravity).all() and abs(float(np.mean(gravity)) - 9.8) < 1.0


@pytest.mark.parametrize("stall_s", [0.3, 1.0])
def test_after_a_stall_shorter_than_the_imu_fifo_holds_its_samples_of_lost_frames_are_emptied_not_read(stall_s):
    """A stall shorter than the FIFO holds leaves it not full, and b41f827 read it all: a 1-s stall's
    416 words took 67 ms of bus, in which the plate's chips overwrote the next frames' conversions (5
    frames lost after the wake-up's frame; 0.3 s: 1). What it holds beyond the frames still to be made
    (the wake-up's frame's period, and at least 0.1 s: a Pi's late wake-up's FIFO is still read) is of
    frames already lost: it is emptied, counted, and the IMU's samples come again from the next frames.
    (The drivers' part for both chips: tests/hw/test_hw_imu.py.)"""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=SimulatedClock())
    loop = station.loop
    before = station.run_seconds(2)
    overflows, discarded = loop.imu.fifo_overflow_count, loop.imu.fifo_discarded_samples
    station.clock.advance_ns(int(stall_s * 1e9))
    woke_at = station.clock.monotonic_ns()
    after = station.run_seconds(1.2)
    # only the frames whose whole period lay in the stall are lost (one gap), none after the wake-up's frame
    (woke,) = np.flatnonzero(after["flags"] & int(FrameFlag.LOST_BEFORE))
    made = np.concatenate([before["seq"], after["seq"]]).astype(np.int64)
    assert loop.stats.frames_lost == int(np.diff(made).max()) - 1 and np.all(np.diff(after["seq"][woke:]) == 1)
    slept_through = (woke_at - loop.deadline_of(int(before["seq"][-1]) + 1)) // PERIOD_NS
    assert slept_through - 1 <= loop.stats.frames_lost <= slept_through + 1, (loop.stats.frames_lost, slept_through)
    behind = after["t_ns"].astype(np.int64) - np.array([loop.deadline_of(int(s)) for s in after["seq"]])
    assert behind[woke + 20:].max() < PERIOD_NS // 4, behind.max()
    # the FIFO emptied unread (not overflowed), the stall's samples counted
    assert loop.imu.fifo_overflow_count == overflows and after["flags"][woke] & int(FrameFlag.IMU_LOST)
    assert abs(loop.imu.fifo_discarded_samples - discarded - stall_s * loop.imu.rate_hz) <= 3
    assert loop.health()["imu_samples_emptied"] == loop.imu.fifo_discarded_samples
    # and the IMU's samples come again a few frames on
    assert not np.any(after["flags"][woke + 5:] & int(FrameFlag.IMU_STALE | FrameFlag.IMU_LOST))
    gravity = np.sqrt(after["ax_m_s2"] ** 2 + after["ay_m_s2"] ** 2 + after["az_m_s2"] ** 2)[woke + 5:]
    assert np.isfinite(gravity).all() and abs(float(np.mean(gravity)) - 9.8) < 1.0


@pytest.mark.parametrize("stall_s,reads", [(0.3, 1), (0.5, 1), (1.0, 1), (0.5, 2), (0.5, 4), (1.0, 4)])
def test_after_a_stall_that_began_inside_a_frames_period_its_imu_samples_are_emptied_and_no_later_frame_is_lost(
        stall_s, reads):
    """Most stalls begin after a sub-poll read a conversion of the next frame's period (``reads`` 1, 2: after
    the first, second of the 4 plate reads of a period): that frame is made at the wake-up, late, from it,
    and the frames after it are lost at once. Or after the frame's own poll (4), before its IMU read: the
    frame after it is then made late from a conversion that poll held. The FIFO's samples of those late
    frames are its oldest, under all of the lost frames' ones: 687034c asked the FIFO for every sample from
    the late frame's period on, so it read them all (0.5 s: 106 samples, whose frames were lost) and the
    plate's chips overwrote the next frames' conversions meanwhile (2e78abf, stall after the first read:
    1 frame lost after the stall's gap at 0.3 s, 2 at 0.5 s, 6 at 1 s; after the frame's poll none after the
    gap but the gap 3-6 frames longer than the stall). Now the frames still to be made start where the
    conversions held stop: the FIFO is emptied, counted, and the stall costs its own frames only."""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=SimulatedClock())
    loop = station.loop
    assert loop.polls_per_frame == 4
    before = station.run_seconds(2)
    read_corners = loop.plate.read_corners
    stalled = []

    def stall_after_a_read(*args, **kwargs):
        out = read_corners(*args, **kwargs)
        stalled.append(station.clock.monotonic_ns())
        if len(stalled) == reads:  # the stall begins
            station.clock.advance_ns(int(stall_s * 1e9))
        return out

    loop.plate.read_corners = stall_after_a_read
    after = station.run_seconds(1.2)
    loop.plate.read_corners = read_corners
    assert int(after["seq"][0]) == int(before["seq"][-1]) + 1
    if reads < 4:  # the frame whose period the stall began in is made, late, from the conversions read before it
        assert not after["flags"][0] & _STALE_ANY == _STALE_ANY
        assert int(after["t_ns"][0]) - loop.deadline_of(int(after["seq"][0])) > stall_s * 1e9 - 2 * PERIOD_NS
    # the stall's frames are lost in one gap, and none after the wake-up: only those slept through
    gaps = np.diff(after["seq"].astype(np.int64)) - 1
    (gap,) = np.flatnonzero(gaps)
    assert gap <= 1 and loop.stats.frames_lost == gaps[gap], gaps[:8]
    # (the frames from the first lost one whose deadline the stall passed: their periods lay in it)
    slept_through = (stalled[reads - 1] + int(stall_s * 1e9) - loop.deadline_of(int(after["seq"][gap]) + 1)) // PERIOD_NS + 1
    assert slept_through - 1 <= loop.stats.frames_lost <= slept_through <= stall_s * 100 + 1, (loop.stats.frames_lost, slept_through)
    behind = after["t_ns"].astype(np.int64) - np.array([loop.deadline_of(int(s)) for s in after["seq"]])
    assert behind[gap + 2:].max() < PERIOD_NS // 4, behind[:6]  # from the frame after the wake-up's
    # the FIFO emptied unread and counted, none of its samples read for lost frames, the frame flagged
    assert loop.stats.imu_samples_in_lost_frames == 0 and loop.stats.imu_fifo_emptied == 1
    assert abs(loop.stats.imu_samples_emptied - stall_s * loop.imu.rate_hz) <= 3
    assert np.count_nonzero(after["flags"][:gap + 2] & int(FrameFlag.IMU_LOST)) == 1
    assert not np.any(after["flags"][gap + 6:] & int(FrameFlag.IMU_STALE | FrameFlag.IMU_LOST))


def test_on_the_pi_like_clock_the_imu_fifo_is_read_not_emptied():
    """Its late wake-ups (rare 40-60 ms stalls) leave under 0.1 s in the FIFO: read, every sample kept."""
    station = SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration="nominal",
                               clock=LateWakeClock(SimulatedClock(), seed=1))
    frames = station.run_seconds(30)
    assert station.loop.imu.fifo_discarded_samples == 0 and station.loop.imu.fifo_overflow_count == 0
    assert not np.any(frames["flags"] & int(FrameFlag.IMU_LOST))
