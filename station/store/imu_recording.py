"""Reading lower-back IMU recordings for gait analysis (DESIGN.md §4 and §8).

Two kinds of file are read, both CSV with a header row and a JSON sidecar (``<name>.json``):

* an **IMU recording**: ``time_s`` and the six IMU columns ``ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,
  gy_deg_s,gz_deg_s`` (e.g. the gait data set in ``../shared/data/gait``);
* a **station trial CSV** (``time_s,ap_cm,ml_cm,...`` written by ``record`` and export) whose IMU
  columns were recorded. Frames recorded before the IMU's first sample (NaN at the start) are
  dropped; a NaN after the first sample is an IMU that stopped answering, and the file is refused
  with the line, since gait analysis never closes a gap silently.

Gyroscope columns are optional (an accelerometer alone is enough for gait). The sidecar may carry
``rate_hz``, ``sensor_height_m`` (m, the sensor's height above the ground) and the mounting:
``mounting_up`` / ``mounting_toes`` (``"+x"``, ``"-z"``, ...), at its top level or inside an
``"imu"`` object. Every problem raises :class:`station.store.trialfile.TrialFileError`, one line
naming the file. Parsing, value checks, sidecar and sample-rate checks are those of
:mod:`station.store.trialfile`; a gap in ``time_s`` (lost frames) refuses the recording.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from station.store import trialfile as tf

ACC_COLUMNS = ("ax_m_s2", "ay_m_s2", "az_m_s2")
GYRO_COLUMNS = ("gx_deg_s", "gy_deg_s", "gz_deg_s")
IMU_COLUMNS = ACC_COLUMNS + GYRO_COLUMNS
MOUNTING_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


@dataclass
class ImuRecording:
    """One IMU recording read from disk. Arrays are float64, one row per sample."""

    path: str
    time_s: np.ndarray  # (N,), s, on the file's own time axis
    acc_m_s2: np.ndarray  # (N, 3) sensor axes x, y, z, m/s², gravity included
    gyro_deg_s: np.ndarray | None  # (N, 3) sensor axes, deg/s, or None without a gyroscope
    fs_hz: float
    metadata: dict = field(default_factory=dict)
    dropped_leading: int = 0  # frames before the IMU's first sample (station trials)

    @property
    def samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def sensor_height_m(self) -> float | None:
        """``sensor_height_m`` from the sidecar, when present."""
        value = self.metadata.get("sensor_height_m")
        return None if value is None else float(value)

    def mounting(self) -> tuple[str | None, str | None]:
        """``(up, toes)`` axes from the sidecar (top level or ``"imu"`` object), None if absent."""
        imu = self.metadata.get("imu") if isinstance(self.metadata.get("imu"), dict) else {}
        up = self.metadata.get("mounting_up", imu.get("mounting_up"))
        toes = self.metadata.get("mounting_toes", imu.get("mounting_toes"))
        return up, toes


def read_imu_recording(path: str | os.PathLike) -> ImuRecording:
    """Read and validate an IMU recording or a station trial CSV with IMU columns.

    Raises
    ------
    TrialFileError
        One line naming the file and the problem (missing file, not a CSV, no IMU columns,
        non-numeric or infinite values, an IMU that stopped mid-recording, gaps or disordered
        ``time_s``, a bad sidecar or mounting, too few samples).
    """
    path = Path(path)
    text = tf._read_text(path)
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise tf.TrialFileError(path, "empty file (no header, no samples)")
    names = [n.strip() for n in lines[first].split(",")]
    if "time_s" not in names:
        shown = lines[first].strip()
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise tf.TrialFileError(
            path, f"unrecognised header {shown!r}: expected a CSV with time_s and the IMU columns {','.join(IMU_COLUMNS)}"
        )
    missing = [c for c in ACC_COLUMNS if c not in names]
    if missing:
        raise tf.TrialFileError(
            path,
            f"no IMU acceleration (missing column(s) {', '.join(missing)}); gait needs time_s and "
            f"{','.join(ACC_COLUMNS)} (the gyroscope columns are optional)",
        )
    if any(not n for n in names):
        raise tf.TrialFileError(path, f"empty column name in header (column {names.index('') + 1})")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise tf.TrialFileError(path, f"duplicate column(s) {', '.join(dupes)} in header")
    data_lines = lines[first + 1 :]
    while data_lines and not data_lines[-1].strip():
        data_lines.pop()
    if not data_lines:
        raise tf.TrialFileError(path, "header only, no samples")
    first_line_no = first + 2
    table = tf._parse_numbers(path, data_lines, names, ",", first_line_no=first_line_no)
    time_s = np.ascontiguousarray(table[:, names.index("time_s")])
    has_gyro = all(c in names for c in GYRO_COLUMNS)
    if has_gyro and np.isnan(np.column_stack([table[:, names.index(c)] for c in GYRO_COLUMNS])).all():
        has_gyro = False  # an accelerometer without a gyroscope: the columns are there, never filled
    used = ACC_COLUMNS + (GYRO_COLUMNS if has_gyro else ())
    imu = np.column_stack([table[:, names.index(c)] for c in used])
    _check_finite(path, "time_s", time_s[:, None], first_line_no, ("time_s",))
    if np.isinf(imu).any():
        _check_finite(path, "IMU", np.where(np.isnan(imu), 0.0, imu), first_line_no, used)
    measured = ~np.isnan(imu).any(axis=1)
    if not measured.any():
        raise tf.TrialFileError(path, "the IMU columns hold no measured sample (all NaN): was the IMU connected?")
    lead = int(np.argmax(measured))
    if not measured[lead:].all():
        k = lead + int(np.argmin(measured[lead:]))
        stopped = int(np.count_nonzero(~measured[lead:]))
        raise tf.TrialFileError(
            path,
            f"line {first_line_no + k}: IMU sample missing (NaN) after it had started ({stopped} frame(s) "
            "without IMU data); gait analysis does not bridge gaps: record again or cut the file",
        )
    metadata = tf._read_sidecar(path)
    fs_hz = tf._sample_rate(path, tf.STATION_CSV, time_s, metadata, first_line_no=first_line_no)
    _check_no_gap(path, time_s, fs_hz, first_line_no)
    _check_metadata(path, metadata)
    return ImuRecording(
        path=str(path),
        time_s=time_s[lead:],
        acc_m_s2=np.ascontiguousarray(imu[lead:, :3]),
        gyro_deg_s=np.ascontiguousarray(imu[lead:, 3:]) if has_gyro else None,
        fs_hz=fs_hz,
        metadata=metadata,
        dropped_leading=lead,
    )


GAP_PERIODS = 1.5
"""A time step longer than this many sample periods is a gap (lost frames)."""


def _check_no_gap(path: Path, time_s: np.ndarray, fs_hz: float, first_line_no: int) -> None:
    """Gait analysis never bridges lost frames (DESIGN.md §3): a gap refuses the recording."""
    steps = np.diff(time_s)
    gaps = steps > GAP_PERIODS / fs_hz
    if gaps.any():
        i = int(np.argmax(gaps))
        raise tf.TrialFileError(
            path,
            f"line {first_line_no + i + 1}: gap in time_s ({steps[i]:.6g} s step, expected {1.0 / fs_hz:.6g} s at "
            f"{fs_hz:g} Hz); lost frames? gait analysis does not bridge gaps: record again or cut the file",
        )


def _check_finite(path: Path, what: str, values: np.ndarray, first_line_no: int, names) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(values[row, col]) else "infinite value"
        raise tf.TrialFileError(path, f"line {first_line_no + row}, column {names[col]}: {kind}")


def _check_metadata(path: Path, metadata: dict) -> None:
    height = metadata.get("sensor_height_m")
    if height is not None and (
        isinstance(height, bool) or not isinstance(height, (int, float)) or not math.isfinite(height) or height <= 0
    ):
        raise tf.TrialFileError(path, f"sidecar sensor_height_m {height!r} is not a positive number of metres")
    imu = metadata.get("imu")
    if imu is not None and not isinstance(imu, dict):
        raise tf.TrialFileError(path, f"sidecar imu must be a JSON object, not {type(imu).__name__}")
    for key in ("mounting_up", "mounting_toes"):
        for where, holder in (("", metadata), ("imu.", imu or {})):
            value = holder.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or value.strip().lower() not in MOUNTING_AXES:
                raise tf.TrialFileError(
                    path, f"sidecar {where}{key} {value!r} is not one of {', '.join(MOUNTING_AXES)}"
                )
