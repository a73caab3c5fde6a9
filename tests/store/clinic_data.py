"""Test data for the clinic store and web tests: a settable wall clock, synthetic frames, a metrics
result shaped like compute_metrics's, and a cheap scrypt cost."""

from __future__ import annotations

import numpy as np
import pytest

from station.acquire.frame import empty_frames
from station.store.passwords import ScryptCost

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""A store test about SQLite itself (its file, PRAGMAs): run on that backend only (the ``store``
fixture of tests/store runs every other test on SQLite and PostgreSQL)."""

CHEAP_COST = ScryptCost(log2_n=4, r=8, p=1)  # the real cost is tested in test_passwords.py
START_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z


SHORT_BUSY_TIMEOUT_MS = 200
"""The busy timeout of conftest's ``station_store`` (SQLite's is 5 s), ms."""


class WallClock:
    """A wall clock the test moves by hand (Unix s)."""

    def __init__(self, t_s: float = START_S):
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s

    def advance(self, dt_s: float) -> None:
        self.t_s += dt_s


def make_frames(n: int, start_seq: int = 0, rate_hz: float = 100.0, seed: int = 0) -> np.ndarray:
    """``n`` plausible frames: a random-walk COP (cm), ~700 N spread over the corners."""
    rng = np.random.default_rng(seed + start_seq)
    frames = empty_frames(n)
    frames["seq"] = np.arange(start_seq, start_seq + n)
    frames["t_ns"] = (frames["seq"] * (1e9 / rate_hz)).astype(np.int64)
    frames["ap_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    frames["ml_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    frames["fz_n"] = 700.0 + rng.normal(0, 1.0, n)
    for corner in ("fl_n", "fr_n", "bl_n", "br_n"):
        frames[corner] = frames["fz_n"] / 4
    frames["fl_counts"] = 1000
    return frames


def record(writer, mono, seconds: float, seq: int) -> int:
    """Append ``seconds`` of 100-Hz frames to a trial writer in 0.1-s batches, the simulated clock ``mono``
    advancing; returns the next seq. After each append the commit it handed to the committer thread is
    waited for and its outcome taken (``wait_commit``: what the next append would find on a station,
    where 0.1 s is time enough for a commit; a fault's error is raised here)."""
    for _ in range(round(seconds * 10)):
        mono.advance_ns(100_000_000)
        writer.append(make_frames(10, seq))
        writer.wait_commit()
        seq += 10
    return seq


def metrics_doc(**values) -> dict:
    """A result dict shaped like station.analysis.metrics.compute_metrics's."""
    return {
        "fs_hz": 100.0,
        "samples": 3000,
        "profile": "station",
        "version": "0.1.0",
        "metrics": {"ellipse_area_cm2": 2.5, "mean_velocity_cm_s": 1.2, "range_cm": None, **values},
    }


def assert_same_frames(actual: np.ndarray, expected: np.ndarray) -> None:
    """Frames equal bit for bit (NaN fields included)."""
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()
