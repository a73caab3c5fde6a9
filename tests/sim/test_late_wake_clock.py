"""The Pi-like clock: wake-ups late by a seeded distribution like a Pi 4 under load."""

import numpy as np
import pytest

from station.sim.clock import LateWakeClock, SimulatedClock, make_clock


def _lateness(seed: int, n: int) -> np.ndarray:
    clock = LateWakeClock(SimulatedClock(), seed=seed)
    late = np.empty(n)
    for i in range(n):
        deadline = clock.monotonic_ns() + 2_500_000
        clock.sleep_until_ns(deadline)
        late[i] = clock.monotonic_ns() - deadline
    return late


def test_mostly_under_a_millisecond_a_tail_of_5_to_20_ms_and_rare_stalls():
    late = _lateness(1, 200_000)
    assert np.mean(late < 1_000_000) > 0.99
    assert np.median(late) < 200_000
    tail = late[(late >= 5_000_000) & (late <= 20_000_000)]
    stalls = late[late >= 40_000_000]
    assert 0.0005 < len(tail) / len(late) < 0.002
    assert 1 <= len(stalls) <= 30 and stalls.max() <= 60_000_000
    assert not np.any((late > 1_000_000) & (late < 5_000_000))


def test_same_seed_same_wake_ups_other_seed_differs():
    assert np.array_equal(_lateness(3, 2000), _lateness(3, 2000))
    assert not np.array_equal(_lateness(3, 2000), _lateness(4, 2000))


def test_a_deadline_already_past_returns_at_once_and_charges_pass_through():
    clock = LateWakeClock(SimulatedClock(start_ns=1_000), seed=0)
    clock.sleep_until_ns(500)
    assert clock.monotonic_ns() == 1_000 and clock.wakes == 0
    clock.charge_ns(300)  # the bus's transfer time is the inner clock's, exact
    assert clock.monotonic_ns() == 1_300


def test_make_clock_modes():
    assert isinstance(make_clock("ideal"), SimulatedClock)
    assert isinstance(make_clock("pi-under-load", seed=2), LateWakeClock)
    with pytest.raises(ValueError, match="ideal or pi-under-load"):
        make_clock("pi")
