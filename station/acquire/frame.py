"""The acquisition frame: one row per sample period, as a numpy structured dtype.

Every frame carries a sequence number, a monotonic timestamp, corner forces, total force, COP, IMU
readings, the raw ADC counts and status flags (DESIGN.md §3). Units are in the field names
(DESIGN.md §4): forces in N, COP in cm in the plate frame, acceleration in m/s², angular rate in
deg/s, time in ns. Values that could not be measured are NaN and flagged, never interpolated.

``seq`` counts sample periods from the start of acquisition: a gap in ``seq`` is a lost frame, and
the frame after the gap carries :attr:`FrameFlag.LOST_BEFORE`.
"""

from __future__ import annotations

from enum import IntFlag

import numpy as np

FRAME_DTYPE = np.dtype(
    [
        ("seq", "<u8"),
        ("t_ns", "<i8"),
        ("fl_n", "<f8"),
        ("fr_n", "<f8"),
        ("bl_n", "<f8"),
        ("br_n", "<f8"),
        ("fz_n", "<f8"),
        ("ap_cm", "<f8"),
        ("ml_cm", "<f8"),
        ("ax_m_s2", "<f8"),
        ("ay_m_s2", "<f8"),
        ("az_m_s2", "<f8"),
        ("gx_deg_s", "<f8"),
        ("gy_deg_s", "<f8"),
        ("gz_deg_s", "<f8"),
        ("fl_counts", "<i4"),
        ("fr_counts", "<i4"),
        ("bl_counts", "<i4"),
        ("br_counts", "<i4"),
        ("flags", "<u4"),
    ]
)
"""Layout of one frame (140 bytes: ``FRAME_DTYPE.itemsize``)."""

CORNER_FORCE_FIELDS = ("fl_n", "fr_n", "bl_n", "br_n")
CORNER_COUNT_FIELDS = ("fl_counts", "fr_counts", "bl_counts", "br_counts")
IMU_FIELDS = ("ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s")


class FrameFlag(IntFlag):
    """Status bits of a frame (``flags`` field)."""

    LOST_BEFORE = 1 << 0
    """One or more frames were lost just before this one (``seq`` jumps)."""
    LATE = 1 << 1
    """Reading started more than a quarter period after its deadline, or ended after the next one."""
    STALE_FL = 1 << 2
    """No new conversion from that corner since the last frame; its last value is repeated."""
    STALE_FR = 1 << 3
    STALE_BL = 1 << 4
    STALE_BR = 1 << 5
    FAULT_FL = 1 << 6
    """That corner's ADC did not answer or is down; its force is NaN."""
    FAULT_FR = 1 << 7
    FAULT_BL = 1 << 8
    FAULT_BR = 1 << 9
    SATURATED = 1 << 10
    """A corner's ADC reading is at full scale: force unknown."""
    IMU_STALE = 1 << 11
    """No new IMU sample since the last frame."""
    IMU_FAULT = 1 << 12
    """The IMU did not answer or is down; IMU fields are NaN."""
    LOW_LOAD = 1 << 13
    """Total force below the COP gate: COP is NaN."""
    UNCALIBRATED = 1 << 14
    """Forces use the nominal load-cell data, not a measured calibration."""
    INVALID = 1 << 15
    """Frame unusable for COP analysis (a corner fault, saturation or spike)."""
    SPIKE = 1 << 16
    """A corner's reading jumped by more than a body can load it between two frames (a corrupted
    transfer, or a chip glitch); the value is kept as read."""
    IMU_LOST = 1 << 17
    """IMU samples were lost just before this frame (the IMU's FIFO overflowed, or a FIFO read
    failed and was not retried)."""


STALE_CORNER_FLAGS = (FrameFlag.STALE_FL, FrameFlag.STALE_FR, FrameFlag.STALE_BL, FrameFlag.STALE_BR)
FAULT_CORNER_FLAGS = (FrameFlag.FAULT_FL, FrameFlag.FAULT_FR, FrameFlag.FAULT_BL, FrameFlag.FAULT_BR)


def empty_frames(n: int) -> np.ndarray:
    """``n`` frames with every float field NaN, counts 0 and flags 0."""
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    for name in FRAME_DTYPE.names:
        if FRAME_DTYPE[name].kind == "f":
            frames[name] = np.nan
    return frames


TRIAL_CSV_FIELDS = ("ap_cm", "ml_cm", "fz_n", *CORNER_FORCE_FIELDS, *IMU_FIELDS, "flags")
"""Frame fields written to a trial CSV after ``time_s`` (DESIGN.md §4 column order); ``t_ns`` follows."""


def grid_time_s(frames: np.ndarray, rate_hz: float, *, seq0: int | None = None, time_zero_s: float = 0.0) -> np.ndarray:
    """Each frame's place on the sample grid, s: ``time_zero_s + (seq − seq0) / rate_hz``
    (DESIGN.md §3, contract).

    A frame's time is where it belongs on the grid, never the moment the loop happened to wake
    (that is ``t_ns``); a lost frame is a missing ``seq``, so a gap in ``time_s`` of whole periods.

    Parameters
    ----------
    frames : ndarray of FRAME_DTYPE
    rate_hz : float
        The acquisition's frame rate, Hz.
    seq0 : int, optional
        The ``seq`` at ``time_zero_s`` (default: the first frame's).
    time_zero_s : float
        Time of ``seq0``, s.

    Examples
    --------
    >>> f = empty_frames(3); f["seq"] = [7, 8, 10]
    >>> grid_time_s(f, 100.0).tolist()
    [0.0, 0.01, 0.03]
    """
    if not rate_hz > 0:
        raise ValueError(f"rate_hz must be > 0, got {rate_hz!r}")
    seq = frames["seq"].astype(np.int64)
    if seq0 is None:
        seq0 = int(seq[0]) if len(seq) else 0
    return time_zero_s + (seq - int(seq0)) / float(rate_hz)


def periods_after_go(first_t_ns: int, go_ns: int, rate_hz: float) -> int:
    """Where a trial timed from a go on the station clock (a walk: its gates' edges are timed so, not
    on a sample slot) places its first frame: a whole number of sample periods after the go, by that
    frame's wake time ``first_t_ns`` (ns, the clock of ``go_ns``). Its frames' ``time_s`` is then
    ``periods / rate_hz + (seq − first seq) / rate_hz`` (:func:`grid_time_s` with ``seq0`` the first
    frame's and ``time_zero_s`` ``periods / rate_hz``), in its trial CSV written live and its result (the
    steps' times); the store keeps the go's place on the grid, the first seq less ``periods``
    (``trials.time_zero_seq``), and reads the same times back as ``(seq − time_zero_seq) / rate_hz``.

    >>> periods_after_go(1_012_000_000, 1_000_000_000, 100.0)  # woken 12 ms after the go: 1 period
    1
    >>> periods_after_go(1_004_000_000, 1_000_000_000, 100.0)
    0
    """
    return round((int(first_t_ns) - int(go_ns)) * float(rate_hz) / 1e9)


def trial_columns(frames: np.ndarray, rate_hz: float, *, seq0: int | None = None, time_zero_s: float = 0.0,
                  include_imu: bool = True) -> dict[str, np.ndarray]:
    """The columns of a trial CSV (DESIGN.md §4) from frames: ``time_s`` on the sample grid
    (:func:`grid_time_s`), the frame fields, and ``t_ns``, the loop's wake-up time (integer ns on
    the station's monotonic clock).

    Parameters
    ----------
    frames : ndarray of FRAME_DTYPE
    rate_hz, seq0, time_zero_s
        See :func:`grid_time_s`.
    include_imu : bool
        Also write the IMU columns (left out when the station has no IMU: they would be all NaN).
    """
    columns: dict[str, np.ndarray] = {"time_s": grid_time_s(frames, rate_hz, seq0=seq0, time_zero_s=time_zero_s)}
    for name in TRIAL_CSV_FIELDS:
        if name in IMU_FIELDS and not include_imu:
            continue
        columns[name] = frames[name]
    columns["t_ns"] = frames["t_ns"].astype(np.int64)
    return columns
