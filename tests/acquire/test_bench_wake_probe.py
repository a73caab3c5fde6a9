"""The acquisition bench's wake-up probe: how it counts the machine's stalls (the numbers the
README compares with the loop's lost frames), and that it runs."""

import multiprocessing as mp

import numpy as np

from station.bench.acquisition import _wake_probe, stall_summary

MS = 1_000_000


def test_a_stall_is_counted_once_with_the_periods_it_covered_not_its_catch_up_wake_ups():
    period = 10 * MS
    # A 35 ms stall: the sleeper's next deadlines are already past, it catches up 2.5 ms at a time.
    catch_up = np.arange(35, 0, -2.5) * MS
    late = np.concatenate([[0.0, 0.1 * MS], catch_up, [0.2 * MS], [9.9 * MS], [0.0], [10 * MS], [0.0]])
    assert stall_summary(late, period) == {"stalls_over_frame_period": 2, "stalled_frame_periods": 4}
    assert stall_summary(np.full(100, 0.3 * MS), period) == {"stalls_over_frame_period": 0, "stalled_frame_periods": 0}
    assert stall_summary(np.array([], dtype=np.int64), period)["stalls_over_frame_period"] == 0


def test_the_probe_reports_its_wake_ups_and_cpu():
    ctx = mp.get_context("spawn")  # its own process: it takes the acquisition's scheduling
    results = ctx.Queue()
    probe = ctx.Process(target=_wake_probe, args=(2_500_000, 0.1, 10_000_000, results))
    probe.start()
    doc = results.get(timeout=60)
    probe.join(10)
    assert doc["wakes"] == 40 and doc["period_ms"] == 2.5
    assert doc["cpu_us_per_wake"] > 0 and 0 <= doc["late_p50_ms"] <= doc["late_p99_ms"] <= doc["late_max_ms"]
    assert doc["scheduling"] in ("fifo", "normal")
    assert {"stalls_over_frame_period", "stalled_frame_periods"} <= set(doc)
