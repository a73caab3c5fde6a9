"""The IMU FIFO's losses in the diagnostics (s27 A5, job 2): its overflows and its emptyings after a stall
were counted only by the driver (``/healthz``'s sensors.imu), not by the acquisition, and ``doctor`` said
nothing of them where it says the frames lost. Now the loop counts them (``imu_fifo_overflows``,
``imu_fifo_emptied``, ``imu_samples_emptied`` in its health) and ``doctor`` says them, in its text, its
JSON and its advice; and since s28 (A6, job 2) they are health's only count of them (the driver's, in
sensors.imu, said the same beside them)."""

import json

import numpy as np

from station.acquire.diagnostics import run_diagnostics
from station.commands.doctor import _print_report
from station.sim.station import SimulatedStation


def _stalling(station, stalls_s):
    """The station's run_seconds with the loop held up ``stalls_s`` (s each), spread through the run."""
    run_seconds = station.run_seconds

    def run(seconds):
        parts = [run_seconds(seconds / (len(stalls_s) + 1))]
        for stall_s in stalls_s:
            station.clock.advance_ns(int(stall_s * 1e9))
            parts.append(run_seconds(seconds / (len(stalls_s) + 1)))
        return np.concatenate(parts)

    return run


def test_doctor_says_the_imu_fifos_overflows_and_emptyings_after_stalls(capsys):
    station = SimulatedStation(seed=0, calibration="nominal")
    # 1.5 s: longer than the LSM6DSOX's FIFO holds at 208 Hz (1.2 s): it overflows and is emptied unread;
    # 0.5 s: it holds more than the frames still to be made need: emptied unread, no overflow
    station.run_seconds = _stalling(station, [1.5, 0.5])
    report = run_diagnostics(station, 6.0)
    fifo = report.imu_fifo
    assert fifo["overflows"] == 1 and fifo["emptied"] == 2, fifo
    assert 256 + 100 <= fifo["samples_emptied"] <= 256 + 110, fifo  # a full FIFO (512 words: 256 samples), 0.5 s
    assert fifo["samples_emptied_s"] == round(fifo["samples_emptied"] / 208.0, 3)
    health = station.health()
    assert (health["imu_fifo_overflows"], health["imu_fifo_emptied"], health["imu_samples_emptied"],
            health["imu_samples_emptied_s"]) == (1, 2, fifo["samples_emptied"], fifo["samples_emptied_s"])
    # one count of each, the acquisition's (s28 A6): the driver's own, which said the same, are not beside them
    # in sensors.imu any more (fifo_overflows, fifo_samples_discarded); they agree with it
    imu = station.loop.imu
    assert (imu.fifo_overflow_count, imu.fifo_discarded_samples) == (1, fifo["samples_emptied"])
    assert not {"fifo_overflows", "fifo_samples_discarded"} & set(health["sensors"]["imu"]), health["sensors"]["imu"]
    assert health["sensors"]["imu"]["fifo_failed_reads"] == 0  # (the acquisition does not count those itself)
    words = (f"overflowed 1 time (samples overwritten before they were read), emptied unread 2 times after a stall "
             f"({fifo['samples_emptied']} samples, {fifo['samples_emptied_s']:.2f} s)")
    lost = [a for a in report.advice if "frames were lost" in a]
    assert len(lost) == 1 and f"the IMU's FIFO {words}: the acquisition was held up" in lost[0], report.advice
    assert _print_report(report, as_json=False) == 1
    assert f"IMU FIFO: {words}\n" in capsys.readouterr().out
    _print_report(report, as_json=True)
    assert json.loads(capsys.readouterr().out)["imu_fifo"] == fifo


def test_doctor_says_an_imu_fifo_that_lost_nothing_so():
    station = SimulatedStation(seed=0, calibration="nominal")
    report = run_diagnostics(station, 3.0)
    assert report.imu_fifo == {"overflows": 0, "emptied": 0, "samples_emptied": 0, "samples_emptied_s": 0.0}
    assert not [a for a in report.advice if "FIFO" in a or "frames were lost" in a], report.advice
