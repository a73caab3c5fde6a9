"""Every fault knob of the simulated bus and chips, through the acquisition loop: exact counts,
flags and health, and the loop never dies."""

import numpy as np
import pytest

from station.acquire.frame import FrameFlag
from station.sim.person import VirtualPerson

FR = 1  # corner index of front-right


@pytest.fixture
def station(calibrated_station):
    st = calibrated_station(VirtualPerson.standing_demo(seed=4), seed=0)
    st.run_seconds(1.5)  # settle; the next once-a-second recovery attempt is 0.5 s away
    return st


def _count(frames, flag):
    return int(np.count_nonzero(frames["flags"] & int(flag)))


def test_transient_nacks_are_retried_counted_and_invisible_in_frames(station):
    sim = station.simulation
    before = station.health()["i2c_errors"]
    sim.bus.inject_nack(sim.adc("fr"), count=2)
    frames = station.run_seconds(1.0)
    assert station.health()["i2c_errors"] - before == 2
    assert _count(frames, FrameFlag.INVALID) == 0
    assert station.health()["state"] == "ok"


@pytest.mark.parametrize("inject", ["inject_eio", "inject_nack"])
def test_persistent_errors_mark_the_corner_down_then_it_recovers(station, inject):
    sim = station.simulation
    getattr(sim.bus, inject)(sim.adc("fr"), count=3)  # more than the retry bound
    frame = station.run_frames(1)
    assert _count(frame, FrameFlag.FAULT_FR | FrameFlag.INVALID) == 1
    assert np.isnan(frame["fz_n"]).all() and np.isnan(frame["ap_cm"]).all()
    health = station.health()
    assert health["sensors"]["fr"]["status"] == "down" and health["state"] == "degraded"
    frames = station.run_seconds(2.0)  # recovery is tried once a second
    assert station.loop.stats.recoveries == 1
    assert station.health()["sensors"]["fr"]["status"] == "ok"
    assert _count(frames[-50:], FrameFlag.FAULT_FR | FrameFlag.INVALID) == 0


def test_vanished_sensor_flags_frames_shows_in_health_and_is_reinitialised_on_return(station):
    sim = station.simulation
    adc = sim.adc("bl")
    sim.bus.vanish(adc)
    gone = station.run_seconds(3.0)
    assert _count(gone, FrameFlag.FAULT_BL) >= 290  # all but the frame that found it gone
    assert _count(gone, FrameFlag.INVALID) == _count(gone, FrameFlag.FAULT_BL)
    assert station.health()["sensors"]["bl"]["status"] == "down"
    assert station.loop.stats.recoveries == 0
    sim.bus.reappear(adc)  # back in its power-on reset state: needs a full bring-up
    back = station.run_seconds(3.0)
    assert station.loop.stats.recoveries == 1
    tail = back[-100:]
    assert _count(tail, FrameFlag.FAULT_BL | FrameFlag.INVALID) == 0
    person_fz = VirtualPerson.standing_demo(seed=4).body_weight_n
    assert np.mean(tail["fz_n"]) == pytest.approx(person_fz, rel=0.02)


def test_all_corners_gone_is_down_not_a_crash(station):
    sim = station.simulation
    for corner in ("fl", "fr", "bl", "br"):
        sim.bus.vanish(sim.adc(corner))
    frames = station.run_seconds(2.0)
    assert len(frames) == 200
    assert station.health()["state"] == "down"
    assert np.isnan(frames["fz_n"][5:]).all()


def test_saturated_adc_flags_frames_invalid(station):
    station.simulation.adc("fl").set_saturated(+1)
    frames = station.run_seconds(0.5)
    tail = frames[5:]
    assert _count(tail, FrameFlag.SATURATED) == len(tail)
    assert _count(tail, FrameFlag.INVALID) == len(tail)
    assert np.isnan(tail["ap_cm"]).all()
    assert station.health()["sensors"]["fl"]["status"] == "saturated"


def test_stuck_adc_is_detected_and_flagged(station):
    station.simulation.adc("br").set_stuck(cr_never=True)
    frames = station.run_seconds(1.0)
    assert station.health()["sensors"]["br"]["status"] == "stuck"
    assert _count(frames[-50:], FrameFlag.FAULT_BR) == 50


def test_corrupted_high_byte_is_flagged_as_a_spike(station):
    sim = station.simulation
    # The status poll is the chip's next transaction; the 3-byte result read follows it.
    sim.bus.corrupt_reads(sim.adc("fl"), count=1, byte_index=0, xor_mask=0x40, after=1)
    frames = station.run_seconds(0.5)
    assert 1 <= _count(frames, FrameFlag.SPIKE) <= 2  # the bad reading, and the jump back
    assert _count(frames, FrameFlag.SPIKE) == station.loop.stats.frames_spike


def test_a_bus_timeout_loses_frames_visibly(station):
    sim = station.simulation
    before = station.run_frames(1)
    sim.bus.inject_timeout(sim.adc("fl"), count=1, timeout_ns=25_000_000)
    frames = np.concatenate([before, station.run_seconds(0.5)])
    # The bus hangs for 25 ms while the plate is polled between two frames: the frame being read is
    # made late from the conversions it had, if any; the frame slots whose conversions were all
    # overwritten meanwhile are lost (seq skips them), the next frame says so, nothing is made up.
    gaps = np.diff(frames["seq"].astype(np.int64)) - 1
    assert gaps.sum() == station.loop.stats.frames_lost >= 1
    assert _count(frames, FrameFlag.LOST_BEFORE) == 1
    lost_at = int(np.flatnonzero(frames["flags"] & int(FrameFlag.LOST_BEFORE))[0])
    assert frames["seq"][lost_at] - frames["seq"][lost_at - 1] == gaps.sum() + 1
    assert np.diff(frames["t_ns"][: lost_at + 1]).max() >= 25_000_000  # the hang, just before the gap
    assert station.loop.stats.conversions_in_lost_frames == 0  # a lost frame had nothing of its own
    assert _count(frames, FrameFlag.LATE) == station.loop.stats.frames_late
    # The corners' conversions the chips overwrote meanwhile are counted, never hidden.
    assert station.health()["conversions_missed"] > 0


def test_a_slow_device_makes_late_frames(station):
    sim = station.simulation
    sim.bus.set_slow(sim.adc("fr"), 1_000_000)  # +1 ms per transaction to FR
    frames = station.run_seconds(0.5)
    # Each poll of the plate now takes ~2 ms longer; every frame slot is still met at 100 Hz
    # (none lost), and the frames woken late say so.
    assert station.loop.stats.frames_lost == 0
    assert np.all(np.diff(frames["seq"].astype(np.int64)) == 1)
    assert _count(frames, FrameFlag.LATE) == station.loop.stats.frames_late
    assert np.median(np.diff(frames["t_ns"])) == pytest.approx(10_000_000, rel=0.05)


def test_imu_errors_flag_only_imu_fields(station):
    sim = station.simulation
    sim.bus.vanish(sim.imu)
    frames = station.run_seconds(0.3)
    assert _count(frames[2:], FrameFlag.IMU_FAULT) == len(frames) - 2
    assert _count(frames, FrameFlag.INVALID) == 0
    assert np.isnan(frames["ax_m_s2"][2:]).all()
    assert station.health()["sensors"]["imu"]["status"] == "fault"
    assert station.health()["state"] == "degraded"
    sim.bus.reappear(sim.imu)
    frames = station.run_seconds(2.0)
    assert station.health()["sensors"]["imu"]["status"] == "ok"
    assert not np.isnan(frames["az_m_s2"][-10:]).any()
