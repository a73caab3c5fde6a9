"""The RP2040 front end's register-level model and its HX711 models: the datasheet's noise and
rates, sets paced by the slowest board, the firmware's watch of a chip that stops, the ring's
overflow against the Pi's acknowledgements, commands and restarts."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from station.hw import rp2040_map as rmap
from station.sim.hx711_model import HX711Model, input_noise_rms_v
from station.sim.rp2040_model import RING_SLOTS, RP2040FrontEndModel


def _volts(v):
    return lambda t_ns, excitation_v: v


def test_hx711_noise_and_scale_follow_the_datasheet():
    chip = HX711Model("fl", _volts(1e-3), rate_sps=80, gain=128, seed=4)
    chip.power_up(0)
    codes = np.array([chip.code(k) for k in range(4000)], dtype=float)
    per_volt = 128 * (1 << 24) / 4.3
    assert codes.mean() == pytest.approx(1e-3 * per_volt, rel=1e-4)
    assert codes.std() / per_volt == pytest.approx(90e-9, rel=0.05)  # 90 nV RMS at 80 SPS, gain 128
    assert input_noise_rms_v(10, 128) == 50e-9 and input_noise_rms_v(320, 128) == pytest.approx(180e-9)
    full = HX711Model("fr", _volts(1.0), seed=1)
    full.power_up(0)
    assert full.code(0) == (1 << 23) - 1  # clamped at full scale


def test_hx711_runs_on_its_own_clock_within_two_percent():
    rates = [1e9 / HX711Model(c, _volts(0), rate_sps=80, seed=s).period_ns for s in range(20) for c in ("a",)]
    assert all(80 * 0.98 <= r <= 80 * 1.02 for r in rates) and len({round(r, 3) for r in rates}) == 20


def _model(rate=80, **kw):
    return RP2040FrontEndModel([_volts(1e-3)] * 4, rate_sps=rate, chip="hx717" if rate == 320 else "hx711", seed=2, **kw)


def test_sets_follow_the_slowest_board_after_the_settling_time():
    model = _model(80)
    model._advance(3_000_000_000)
    slowest = min(1e9 / chip.period_ns for chip in model.chips)
    times = np.array([t for _, t in model.truth])
    assert times[0] >= 50e6  # the first 50 ms after the start are dropped (settling)
    assert (len(times) - 1) / ((times[-1] - times[0]) / 1e9) == pytest.approx(slowest, rel=2e-3)
    assert model.state == rmap.STATE_RUNNING and model.seq == len(times)


def test_a_board_that_stops_is_left_out_after_the_firmware_watch_and_taken_back():
    model = _model(80)
    model._advance(1_000_000_000)
    stopped_at = 1_000_000_000
    model.chip("br").set_not_ready()
    before = model.seq
    model._advance(1_200_000_000)
    times = [t for seq, t in model.truth if seq >= before - 1]
    # No set for 3 periods + 2 periods of watching (62.5 ms at 80 SPS), then the others go on.
    gap = [b - a for a, b in zip(times, times[1:]) if b - a > 20e6]
    assert len(gap) == 1 and 55e6 < gap[0] < 90e6 and stopped_at - 15e6 < times[0] <= stopped_at
    assert model.left_out == 0b1000 and model.not_ready_events == 1
    record = model.mem[rmap.REG_RING + ((model.seq - 1) % RING_SLOTS) * rmap.RECORD_SIZE:][:rmap.RECORD_SIZE]
    assert rmap.parse_record(bytes(record))[2][3] == rmap.ERR_NOT_READY
    model.chip("br").set_not_ready(False)
    model._advance(2_400_000_000)  # the left-out chip is checked once a second
    assert model.left_out == 0


def test_no_board_at_all_is_reported_and_retried():
    model = _model(80)
    for chip in model.chips:
        chip.set_not_ready()
    model._advance(500_000_000)
    assert model.state == rmap.STATE_NO_CHIP and model.seq == 0 and model.last_error == 3


def test_the_ring_overwrites_what_the_pi_did_not_acknowledge_and_counts_it():
    model = _model(320)
    model._advance(1_000_000_000)
    made = model.seq
    assert made > RING_SLOTS and model.overflows == made - RING_SLOTS
    model.i2c_write(bytes(rmap.address_bytes(rmap.REG_ACK)) + struct.pack("<I", made), 1_000_000_000)
    model._advance(1_100_000_000)
    assert model.overflows == made - RING_SLOTS and model.acked == made
    status = rmap.parse_status(model._status_block(1_100_000_000))
    assert status.buffered == model.seq - made and status.capacity == RING_SLOTS


def test_commands_and_a_restart():
    model = _model(80)
    model._advance(1_000_000_000)
    boot = model.boot_id
    model.i2c_write(bytes(rmap.address_bytes(rmap.REG_COMMAND)) + bytes((rmap.CMD_STOP,)), 1_000_000_000)
    made = model.seq
    model._advance(2_000_000_000)
    assert model.state == rmap.STATE_STOPPED and model.seq == made and model.mem[rmap.REG_COMMAND] == 0
    model.i2c_write(bytes(rmap.address_bytes(rmap.REG_COMMAND)) + bytes((rmap.CMD_START,)), 2_000_000_000)
    model._advance(2_500_000_000)
    assert model.state == rmap.STATE_RUNNING and model.seq > made and model.acked == made
    model.reboot(3_000_000_000)
    assert model.seq == 0 and model.boot_id != boot and model.state == rmap.STATE_STARTING
    identity = rmap.parse_identity(bytes(model.mem[:rmap.IDENTITY_SIZE]))
    assert identity.chip == "HX711" and identity.rate_sps == 80


def test_the_front_end_clock_wraps_at_32_bits():
    model = _model(80, clock_start_us=(1 << 32) - 500_000)
    assert model.fe_us(model._boot_ns + 400e6) == pytest.approx((1 << 32) - 100_000, abs=50)  # ±30 ppm
    assert model.fe_us(model._boot_ns + 1e9) < 1_000_000  # wrapped


def test_a_rate_the_chip_does_not_have_is_refused():
    with pytest.raises(ValueError, match="HX711 has no 320 SPS"):
        RP2040FrontEndModel([_volts(0)] * 4, chip="hx711", rate_sps=320)


def test_a_board_that_loses_power_and_comes_back_is_read_again():
    model = _model(80)
    model._advance(1_000_000_000)
    br = model.chip("br")
    br.set_not_ready()
    model._advance(1_500_000_000)
    assert model.left_out == 0b1000
    br.set_not_ready(False)
    br.power_up(1_500_000_000)  # its conversions start again from 0
    before = model.seq
    model._advance(4_000_000_000)
    assert model.left_out == 0
    slowest = min(1e9 / chip.period_ns for chip in model.chips)
    assert model.seq - before > 0.8 * 2.5 * slowest  # back at the full rate within the rejoin check
