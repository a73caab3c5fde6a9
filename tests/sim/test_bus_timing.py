"""Charging bus time to the clock: exact under the simulated clock, coalesced into few real
sleeps under the real clock (station.clock.MonotonicClock.charge_ns), never backwards.

The real-clock tests count the ``time.sleep`` calls themselves (``sys.setprofile`` sees every call
of a builtin) and only assert lower bounds on elapsed time, so a busy machine cannot fail them."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import pytest

from station.clock import DEFAULT_CHARGE_SLACK_NS, MonotonicClock
from station.sim.bus import SimulatedBus
from station.sim.clock import SimulatedClock
from station.sim.nau7802_model import PU_CTRL, NAU7802Model
from station.sim.tca9548a_model import TCA9548AModel

BYTE_NS = 22_500  # 9 clocks at 400 kHz


@contextmanager
def counted_sleeps():
    """Count real ``time.sleep`` calls made by this thread inside the block."""
    calls: list[str] = []
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "c_call" and arg is time.sleep:
            calls.append(frame.f_code.co_name)  # who slept

    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


class _SeenAt(NAU7802Model):
    """A NAU7802 model that records the time of every message it receives (what a device sees)."""

    def __init__(self) -> None:
        super().__init__("fl", lambda t_ns, excitation_v: 0.0, seed=1)
        self.seen_ns: list[int] = []

    def i2c_write(self, data: bytes, now_ns: int) -> None:
        self.seen_ns.append(now_ns)
        super().i2c_write(data, now_ns)

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self.seen_ns.append(now_ns)
        return super().i2c_read(length, now_ns)


def _rig(clock):
    bus = SimulatedBus(clock)
    mux = bus.attach(TCA9548AModel(), 0x70)
    adc = mux.attach(0, _SeenAt(), 0x2A)
    bus.write_byte(0x70, 0x01)
    return bus, adc


def _frame_like(bus, n: int) -> None:
    """``n`` rounds of a data-ready poll (4 bytes) and a 3-byte conversion read (6 bytes)."""
    for _ in range(n):
        bus.read_byte_data(0x2A, PU_CTRL)
        bus.read_i2c_block_data(0x2A, 0x12, 3)


# ----------------------------------------------------------------------------------------------
# Simulated clock: exact


def test_simulated_clock_charges_every_transaction_exactly():
    clock = SimulatedClock(1_000)
    bus, adc = _rig(clock)
    adc.seen_ns.clear()
    start = clock.monotonic_ns()
    _frame_like(bus, 3)
    # Each transaction is seen at the time it starts, the previous ones' time charged in full.
    expected, t = [], start
    for _ in range(3):
        expected += [t, t]  # register pointer write, then the read (one transaction)
        t += 4 * BYTE_NS
        expected += [t, t]
        t += 6 * BYTE_NS
    assert adc.seen_ns == expected
    assert clock.monotonic_ns() == t


def test_simulated_clock_charge_ignores_negative_time():
    clock = SimulatedClock(5)
    clock.charge_ns(-10)
    assert clock.monotonic_ns() == 5
    clock.charge_ns(7)
    assert clock.monotonic_ns() == 12


# ----------------------------------------------------------------------------------------------
# Real clock: coalesced


def test_real_clock_bus_sleeps_far_less_often_than_once_per_transaction():
    clock = MonotonicClock()
    bus, adc = _rig(clock)
    transactions0, busy0 = bus.transactions, bus.busy_ns
    start = time.monotonic_ns()
    with counted_sleeps() as sleeps:
        _frame_like(bus, 50)  # 100 transactions, 50 × 225 µs = 11.25 ms of bus time
    elapsed = time.monotonic_ns() - start
    charged = bus.busy_ns - busy0
    assert bus.transactions - transactions0 == 100
    # Each real sleep pays at least the slack's worth of owed time: at most charged/slack sleeps.
    assert 1 <= len(sleeps) <= charged // DEFAULT_CHARGE_SLACK_NS
    # Real time has caught up with the charged time, up to the slack still owed.
    assert elapsed >= charged - DEFAULT_CHARGE_SLACK_NS
    # Time never ran backwards for the device, and it saw every transaction.
    assert len(adc.seen_ns) == 200
    assert all(b >= a for a, b in zip(adc.seen_ns, adc.seen_ns[1:]))
    # The caller's next wait settles what is still owed.
    clock.sleep_ns(0)
    assert time.monotonic_ns() - start >= charged
    assert clock.owed_ns == 0


def test_real_clock_without_slack_sleeps_every_transaction():
    clock = MonotonicClock(charge_slack_ns=0)
    bus, _ = _rig(clock)
    with counted_sleeps() as sleeps:
        _frame_like(bus, 10)
    assert len(sleeps) == 20


def test_charges_below_the_slack_are_owed_until_the_next_wait():
    clock = MonotonicClock(charge_slack_ns=10**9)
    start = time.monotonic_ns()
    with counted_sleeps() as sleeps:
        for _ in range(5):
            clock.charge_ns(10_000_000)  # 50 ms in all, far below the 1 s slack: no sleep yet
    assert sleeps == []
    assert clock.owed_ns > 0
    with counted_sleeps() as sleeps:
        clock.sleep_until_ns(start)  # a deadline already passed: still waits out the owed time
    assert len(sleeps) == 1
    assert time.monotonic_ns() - start >= 50_000_000
    assert clock.owed_ns == 0


def test_reaching_the_slack_sleeps_all_that_is_owed():
    clock = MonotonicClock(charge_slack_ns=20_000_000)
    start = time.monotonic_ns()
    with counted_sleeps() as sleeps:
        clock.charge_ns(15_000_000)
        clock.charge_ns(15_000_000)  # now 30 ms owed (less what already passed) >= 20 ms
    assert len(sleeps) == 1
    assert time.monotonic_ns() - start >= 30_000_000
    assert clock.owed_ns == 0


def test_a_relative_wait_comes_after_the_owed_time():
    clock = MonotonicClock(charge_slack_ns=10**9)
    start = time.monotonic_ns()
    clock.charge_ns(20_000_000)
    clock.sleep_ns(10_000_000)
    assert time.monotonic_ns() - start >= 30_000_000


def test_real_clock_without_charges_waits_as_before():
    clock = MonotonicClock()
    start = time.monotonic_ns()
    clock.sleep_until_ns(start + 5_000_000)
    assert time.monotonic_ns() - start >= 5_000_000
    with counted_sleeps() as sleeps:
        clock.sleep_until_ns(start)  # passed, nothing owed: no sleep at all
        clock.sleep_ns(0)
    assert sleeps == []


def test_negative_slack_is_refused():
    with pytest.raises(ValueError, match="charge_slack_ns"):
        MonotonicClock(charge_slack_ns=-1)


# ----------------------------------------------------------------------------------------------
# Any Clock


class _SleepOnlyClock:
    """A clock with only the Clock protocol (no charge_ns): records its waits."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.sleeps: list[int] = []

    def monotonic_ns(self) -> int:
        return self.now_ns

    def sleep_until_ns(self, deadline_ns: int) -> None:
        self.now_ns = max(self.now_ns, deadline_ns)

    def sleep_ns(self, duration_ns: int) -> None:
        self.sleeps.append(duration_ns)
        self.now_ns += max(duration_ns, 0)


def test_a_clock_without_charge_ns_is_charged_with_sleep_ns():
    clock = _SleepOnlyClock()
    bus, _ = _rig(clock)
    clock.sleeps.clear()
    _frame_like(bus, 2)
    assert clock.sleeps == [4 * BYTE_NS, 6 * BYTE_NS] * 2
