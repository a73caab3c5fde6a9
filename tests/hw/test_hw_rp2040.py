"""The RP2040 front end's driver against its register-level model (station.sim.rp2040_model):
bring-up, every error path, CRC failures, overflow, a restart mid-run, chips not ready or out of
step, and the sets' times against the model's truth."""

from __future__ import annotations

import errno
from dataclasses import replace

import numpy as np
import pytest

from station.config import StationConfig
from station.hw import rp2040_map as rmap
from station.hw.errors import ChipNotFoundError, ConfigurationError, PlateUnavailableError, WrongChipError
from station.hw.rp2040 import RP2040FrontEnd
from station.sim.clock import SimulatedClock
from station.sim.hardware import build_simulated_hardware
from station.sim.static_load import ConstantLoad

LOAD = ConstantLoad(fz_n=700.0, ap_cm=2.0, ml_cm=-1.5)


def _config(rate: int = 80, gain: int = 128) -> StationConfig:
    base = StationConfig()
    return replace(base, plate=replace(base.plate, front_end="rp2040", adc_rate_sps=rate, adc_gain=gain),
                   acquisition=replace(base.acquisition, rate_hz=float(min(rate, 100))))


def _rig(rate: int = 80, *, seed: int = 0, begin: bool = True, driver_rate: int | None = None, gain: int = 128):
    clock = SimulatedClock(start_ns=2_000_000_000)
    config = _config(rate, gain)
    sim = build_simulated_hardware(clock, LOAD, config, seed=seed, imu_model="none")
    front_end = RP2040FrontEnd(sim.bus, clock, address=config.plate.rp2040_address, rate_sps=driver_rate or rate,
                               gain=gain, bus_name="sim-i2c")
    if begin:
        front_end.begin()
    return clock, sim, front_end


def _read_for(clock, front_end, seconds: float, frame_s: float = 0.01):
    out = []
    for _ in range(round(seconds / frame_s)):
        clock.advance_ns(int(frame_s * 1e9))
        out += front_end.read_sets()
    return out


def test_bring_up_reads_the_identity_and_starts_the_boards():
    clock, sim, front_end = _rig(80)
    assert front_end.identity.chip == "HX711" and front_end.identity.firmware == "1.0"
    assert front_end.corner_state == ["ok"] * 4 and front_end.kind == "load cell ADC (HX711 via RP2040)"
    assert sim.front_end.state == rmap.STATE_RUNNING


@pytest.mark.parametrize("rate", [80, 320])
def test_every_set_once_in_order_with_times_from_the_regression(rate):
    clock, sim, front_end = _rig(rate)
    sets = _read_for(clock, front_end, 6.0)
    truth = dict(sim.front_end.truth)
    seqs = [seq for seq, _ in sim.front_end.truth if seq >= front_end.sets - len(sets)]
    assert len(sets) == front_end.sets and front_end.sets_lost == 0 and front_end.crc_errors == 0
    assert len(seqs) - len(sets) in (0, 1)  # the newest may have been made after the last read
    # The values are the chips' counts: 700 N on four cells gives a few hundred thousand counts.
    counts = np.array([v for _, v in sets], dtype=float)
    assert np.all(counts > 1e5) and np.all(np.diff([t for t, _ in sets]) > 0)
    # After the fits settle (2 s), each set's time follows when the PIO read it to within 50 µs,
    # behind it by a constant under a millisecond (the status block's clock is read before the
    # transfer that carries it ends; the same for every corner and every set).
    first = front_end.sets - len(sets)
    errors = np.array([t - truth[first + j] for j, (t, _) in enumerate(sets)][int(2 * rate):])
    assert np.abs(errors - np.median(errors)).max() < 50_000 and abs(np.median(errors)) < 1_000_000
    # Measured rate: the slowest board's (each runs on its own oscillator, 0.2-2 % off).
    slowest = min(1e9 / chip.period_ns for chip in sim.front_end.chips)
    assert front_end.set_rate_hz() == pytest.approx(slowest, rel=2e-3)


def test_sample_times_do_not_depend_on_when_the_pi_reads():
    clock, sim, front_end = _rig(80)
    rng = np.random.default_rng(3)
    sets = []
    for _ in range(600):
        clock.advance_ns(int(rng.choice([2e6, 10e6, 10e6, 10e6, 45e6])))  # late wake-ups, up to 45 ms
        sets += front_end.read_sets()
    truth = dict(sim.front_end.truth)
    first = front_end.sets - len(sets)
    errors = np.array([t - truth[first + j] for j, (t, _) in enumerate(sets)][200:])
    assert np.abs(errors - np.median(errors)).max() < 100_000 and abs(np.median(errors)) < 1_000_000
    assert front_end.sets_lost == 0


def test_a_read_up_to_a_deadline_takes_the_sets_due_and_one_more_and_the_rest_next_time():
    clock, sim, front_end = _rig(320)
    _read_for(clock, front_end, 3.0)  # the fits settle
    clock.advance_ns(40_000_000)  # the Pi comes back 40 ms late: about 13 sets wait in the ring
    now = clock.monotonic_ns()
    times = []
    for ms_before in (30, 20, 10):  # the deadlines of the frames behind
        until = now - ms_before * 1_000_000
        got = [t for t, _ in front_end.read_sets(until)]
        assert 3 <= len(got) <= 5 and sum(t <= until for t in got) == len(got) - 1  # its own ~3.2 sets and the next
        times += got
    times += [t for t, _ in front_end.read_sets(now)]
    assert np.all(np.diff(times) > 0) and front_end.sets_lost == 0 and front_end.crc_errors == 0
    assert 12 <= len(times) <= 15  # every set once, none left behind


def test_nothing_at_the_address_names_the_address_and_the_firmware():
    clock, sim, front_end = _rig(80, begin=False)
    sim.bus.vanish(sim.front_end)
    with pytest.raises(ChipNotFoundError, match=r"no RP2040 front end answers at 0x42 on sim-i2c.*firmware/rp2040"):
        front_end.begin()


def test_a_device_that_is_not_the_front_end_is_refused():
    clock, sim, front_end = _rig(80, begin=False)
    sim.front_end.mem[0] = 0x68  # something else answering there: its block fails the CRC
    with pytest.raises(WrongChipError, match="not an RP2040 front end"):
        front_end.begin()
    sim.front_end.mem[:rmap.IDENTITY_SIZE] = _identity(who=0x68)
    with pytest.raises(WrongChipError, match="WHO_AM_I 0x68"):
        front_end.begin()


def _identity(*, who=rmap.WHO_AM_I, version=rmap.MAP_VERSION) -> bytes:
    import struct

    body = struct.pack(rmap.IDENTITY_FMT, who, version, 1, 0, 0, 4, 80, 128, 1, 128, 26, 0)
    return body + rmap.crc16(body).to_bytes(2, "little")


def test_another_map_version_or_rate_or_gain_is_a_configuration_error():
    clock, sim, front_end = _rig(80, begin=False)
    sim.front_end.mem[:rmap.IDENTITY_SIZE] = _identity(version=2)
    with pytest.raises(ConfigurationError, match="register map version 2.*flash the firmware"):
        front_end.begin()
    clock, sim, front_end = _rig(80, begin=False, driver_rate=10)
    with pytest.raises(ConfigurationError, match="boards run at 80 SPS.*plate.adc_rate_sps = 10"):
        front_end.begin()
    with pytest.raises(ConfigurationError, match="gain"):
        RP2040FrontEnd(sim.bus, clock, gain=32)


def test_no_chip_ready_at_bring_up_is_refused_with_what_to_check():
    clock, sim, front_end = _rig(80, begin=False)
    for chip in sim.front_end.chips:
        chip.set_not_ready()
    with pytest.raises(PlateUnavailableError, match="no HX711 is ready.*power"):
        front_end.begin()


def test_a_corrupted_record_is_read_again_and_nothing_is_lost():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 0.5)
    start = front_end.sets
    # The next status read passes; the record read after it is corrupted in a value byte.
    sim.bus.corrupt_reads(sim.front_end, count=1, byte_index=10, xor_mask=0x10, after=1)
    sets = _read_for(clock, front_end, 1.0)
    assert front_end.crc_errors == 1 and front_end.sets_lost == 0
    assert front_end.sets - start == len(sets)
    truth = [seq for seq, _ in sim.front_end.truth]
    assert truth[-1] - start + 1 - len(sets) <= 1  # every set made so far delivered (bar the one being made)


def test_a_corrupted_status_block_is_read_again_then_skipped():
    clock, sim, front_end = _rig(80)
    clock.advance_ns(50_000_000)
    sim.bus.corrupt_reads(sim.front_end, count=1, byte_index=5, xor_mask=0x01)
    assert front_end.read_sets() and front_end.crc_errors == 1  # the second read was good
    clock.advance_ns(50_000_000)
    sim.bus.corrupt_reads(sim.front_end, count=2, byte_index=5, xor_mask=0x01)
    assert front_end.read_sets() == [] and front_end.crc_errors == 3  # twice bad: this poll skipped
    assert _read_for(clock, front_end, 0.2) and front_end.sets_lost == 0


def test_a_pi_away_for_longer_than_the_ring_counts_the_overwritten_sets_lost():
    clock, sim, front_end = _rig(320)
    _read_for(clock, front_end, 0.5)
    before = front_end.sets
    clock.advance_ns(int(0.6e9))  # 192 sets at 320 SPS, the ring holds 128
    sets = _read_for(clock, front_end, 0.5)
    made = sim.front_end.seq
    assert front_end.sets_lost_overflow > 50 and sim.front_end.overflows > 50
    # Every set is either delivered once or counted lost (the newest may still be decoding).
    assert made - (before + len(sets) + front_end.sets_lost_overflow) in (0, 1)
    seqs = [t for t, _ in sets]
    assert seqs == sorted(seqs)


def test_a_front_end_that_restarts_mid_run_is_timed_afresh_and_its_loss_counted():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 2.0)
    sim.front_end.reboot(clock.monotonic_ns() + 5_000_000)
    clock.advance_ns(200_000_000)
    sets = _read_for(clock, front_end, 3.0)
    # Lost: the old run's sets after the last read and the new run's settling time (~55 ms at
    # 80 SPS), estimated from the time away: about 5.
    assert front_end.front_end_resets == 1 and 2 <= front_end.sets_lost_reset <= 8
    assert sets and front_end.corner_state == ["ok"] * 4
    truth = dict(sim.front_end.truth)
    tail = sets[-80:]
    first = sim.front_end.seq - len(tail)
    errors = np.array([t - truth[first + j] for j, (t, _) in enumerate(tail) if first + j in truth])
    assert len(errors) and np.abs(errors - np.median(errors)).max() < 100_000 and abs(np.median(errors)) < 1_000_000


def test_a_front_end_that_stops_answering_is_brought_back_in_steps():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 0.5)
    sim.bus.vanish(sim.front_end)
    clock.advance_ns(10_000_000)
    assert front_end.read_sets() == [] and front_end.corner_state == ["down"] * 4
    assert "0x42" in front_end.corner_error[0]
    assert front_end.recovery_step(clock.monotonic_ns()) == []  # waits before the first attempt
    clock.advance_ns(200_000_000)
    front_end.recovery_step(clock.monotonic_ns())  # fails: still gone; retried later
    assert front_end.corner_state == ["down"] * 4
    sim.bus.reappear(sim.front_end)  # back after a power loss: a new boot
    back = []
    for _ in range(300):
        clock.advance_ns(10_000_000)
        back += front_end.recovery_step(clock.monotonic_ns())
        if back:
            break
    assert sorted(back) == ["bl", "br", "fl", "fr"] and front_end.corner_state == ["ok"] * 4
    assert _read_for(clock, front_end, 0.5)


def test_a_chip_that_stops_converting_is_left_out_and_taken_back():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 0.5)
    sim.front_end.chip("bl").set_not_ready()
    sets = _read_for(clock, front_end, 1.0)
    assert front_end.corner_state[2] == "down" and "BL" in front_end.corner_error[2]
    assert front_end.not_ready_values[2] > 40
    later = [v for _, v in sets[-20:]]
    assert all(v[2] is None and None not in (v[0], v[1], v[3]) for v in later)  # the others go on
    sim.front_end.chip("bl").set_not_ready(False)
    sets = _read_for(clock, front_end, 1.5)
    assert front_end.corner_state[2] == "ok" and sets[-1][1][2] is not None
    assert front_end.recovery_step(clock.monotonic_ns()) == ["bl"] and front_end.recoveries[2] == 1


def test_a_set_out_of_step_loses_that_value_only():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 0.5)
    sim.front_end.inject_desync("fr", sets=2)
    sets = _read_for(clock, front_end, 0.2)
    assert front_end.desync_values == [0, 2, 0, 0] and front_end.corner_state == ["ok"] * 4
    assert sum(v[1] is None for _, v in sets) == 2 and all(v[0] is not None for _, v in sets)
    assert front_end.health()["front_end"]["firmware_desyncs"] == 2 == sim.front_end.desyncs


def test_bus_errors_on_a_read_are_retried():
    clock, sim, front_end = _rig(80)
    sim.bus.inject_errors(sim.front_end, errno.EIO, count=1)
    _read_for(clock, front_end, 0.3)
    assert front_end.bus.retries_total >= 1 and front_end.corner_state == ["ok"] * 4 and front_end.sets_lost == 0


def test_sets_made_before_the_acquisition_starts_are_skipped_not_lost():
    clock, sim, front_end = _rig(320)
    clock.advance_ns(1_000_000_000)  # 320 sets, more than the ring holds, before anyone reads
    skipped = front_end.skip_backlog()
    assert skipped > 250 and front_end.sets_lost == 0 and sim.front_end.overflows == 0  # counts start afresh
    sets = _read_for(clock, front_end, 0.5)
    assert sets and front_end.sets_lost == 0 and sim.front_end.acked >= sim.front_end.seq - 2


def test_a_bus_that_fails_for_a_while_loses_nothing_the_front_end_still_holds():
    clock, sim, front_end = _rig(80)
    _read_for(clock, front_end, 0.5)
    sim.bus.inject_errors(sim.front_end, errno.EIO, count=3)  # outlasts the retries: a BusError
    clock.advance_ns(10_000_000)
    assert front_end.read_sets() == [] and front_end.corner_state == ["down"] * 4
    back = []
    for _ in range(30):
        clock.advance_ns(10_000_000)
        back += front_end.recovery_step(clock.monotonic_ns())
    assert sorted(back) == ["bl", "br", "fl", "fr"] and sim.front_end.boots == 1  # not restarted
    _read_for(clock, front_end, 0.5)
    truth = [seq for seq, _ in sim.front_end.truth]
    assert front_end.sets_lost == 0 and truth[-1] + 1 - front_end.sets in (0, 1)
