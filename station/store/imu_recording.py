"""Reading lower-back IMU recordings for gait analysis (DESIGN.md §4 and §8).

Two kinds of file are read, both CSV with a header row and a JSON sidecar (``<name>.json``):

* an **IMU recording**: ``time_s`` and the six IMU columns ``ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,
  gy_deg_s,gz_deg_s`` (e.g. the gait data set in ``../shared/data/gait``);
* a **station trial CSV** (``time_s,ap_cm,ml_cm,...`` written by ``record`` and export) whose IMU
  columns were recorded. Frames recorded before the IMU's first sample (NaN at the start) are
  dropped, and so are frames after its last one (counted: :attr:`ImuRecording.dropped_trailing`).

Lost samples are never closed up (DESIGN.md §3). Each row's place on the frame grid comes from the
``seq`` column when there is one (exported station trials), else from ``time_s`` (whole sample
periods between rows); a frame whose IMU reading is NaN is missing too. The samples are put back on
the grid by :func:`station.analysis.imu_gaps.bridge_gaps`: gaps up to
:data:`station.analysis.imu_gaps.MAX_BRIDGE_S` are interpolated and counted
(:attr:`ImuRecording.gaps`, :meth:`ImuRecording.gap_summary`); a longer gap, or more than
:data:`MAX_BRIDGED_FRACTION` of the samples missing, refuses the file with where the gap is.

Gyroscope columns are optional (an accelerometer alone is enough for gait). The sidecar may carry
``rate_hz``, ``sensor_height_m`` (m, the sensor's height above the ground) and the mounting:
``mounting_up`` / ``mounting_toes`` (``"+x"``, ``"-z"``, ...), at its top level or inside an
``"imu"`` object. Every problem raises :class:`station.store.trialfile.TrialFileError`, one line
naming the file. Parsing, value checks, sidecar and sample-rate checks are those of
:mod:`station.store.trialfile`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from station.analysis.imu_gaps import MAX_BRIDGE_S, GapReport, bridge_gaps
from station.store import trialfile as tf

ACC_COLUMNS = ("ax_m_s2", "ay_m_s2", "az_m_s2")
GYRO_COLUMNS = ("gx_deg_s", "gy_deg_s", "gz_deg_s")
IMU_COLUMNS = ACC_COLUMNS + GYRO_COLUMNS
MOUNTING_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
MAX_BRIDGED_FRACTION = 0.01
"""Largest share of a recording's samples that may be missing and bridged (the limit of the station's
own walk trials, :data:`station.protocols.walk.MAX_IMU_MISSING_FRACTION`); more refuses the file."""
GAP_HANDLING = (
    f"IMU samples put back on the frame grid; each gap up to {MAX_BRIDGE_S:g} s filled by a straight line "
    "between the readings on either side (station.analysis.imu_gaps.bridge_gaps)"
)


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
    dropped_trailing: int = 0  # frames after the IMU's last sample (an IMU that stopped before the end)
    gaps: GapReport = field(default_factory=GapReport)  # short gaps bridged on the frame grid

    @property
    def samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def sensor_height_m(self) -> float | None:
        """``sensor_height_m`` from the sidecar, when present."""
        value = self.metadata.get("sensor_height_m")
        return None if value is None else float(value)

    def gap_summary(self) -> dict | None:
        """What was done about missing samples, for a result (None when nothing was missing):
        ``samples_lost`` (samples filled by interpolation), ``gaps`` (runs filled),
        ``longest_gap_s`` (s), ``samples_dropped_at_end`` (after the IMU's last reading) and
        ``handling`` (in words)."""
        if not (self.gaps.bridged_frames or self.dropped_trailing):
            return None
        return {
            "samples_lost": self.gaps.bridged_frames,
            "gaps": self.gaps.bridged_gaps,
            "longest_gap_s": round(self.gaps.longest_bridged_s, 6),
            "samples_dropped_at_end": self.dropped_trailing,
            "handling": GAP_HANDLING if self.gaps.bridged_frames else "no gap bridged",
        }

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
        non-numeric or infinite values, disordered ``time_s`` or ``seq``, a gap longer than
        :data:`station.analysis.imu_gaps.MAX_BRIDGE_S` or more than :data:`MAX_BRIDGED_FRACTION`
        of the samples missing (with where), a bad sidecar or mounting, too few samples).

    Examples
    --------
    Two samples lost at 100 Hz (a step of three periods in ``time_s``) are bridged and counted:

    >>> import tempfile
    >>> rows = [f"{i / 100},9.81,0,0" for i in range(300) if i not in (120, 121)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "walk.csv"
    ...     _ = path.write_text("time_s,ax_m_s2,ay_m_s2,az_m_s2\\n" + "\\n".join(rows) + "\\n")
    ...     rec = read_imu_recording(path)
    >>> rec.samples, rec.gap_summary()["samples_lost"], rec.gap_summary()["longest_gap_s"]
    (300, 2, 0.02)
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
    measured = np.isfinite(imu).all(axis=1)
    if not measured.any():
        raise tf.TrialFileError(path, "the IMU columns hold no measured sample (all NaN): was the IMU connected?")
    metadata = tf._read_sidecar(path)
    fs_hz = tf._sample_rate(path, tf.STATION_CSV, time_s, metadata, first_line_no=first_line_no)
    _check_metadata(path, metadata)
    if "seq" in names:
        seq = _seq_column(path, table[:, names.index("seq")], time_s, fs_hz, first_line_no)
    else:
        seq = _grid_from_time(time_s, fs_hz)
    grid, gaps = bridge_gaps(imu, seq, fs_hz)
    _check_gaps(path, gaps, seq, measured, time_s, fs_hz, first_line_no)
    lead = int(np.argmax(measured))
    last = measured.shape[0] - 1 - int(np.argmax(measured[::-1]))
    # Each output row's time on the file's axis: the file's own where a reading is, the grid's where
    # one was bridged.
    grid_time_s = time_s[lead] + np.arange(grid.shape[0]) / fs_hz
    grid_time_s[seq[measured] - gaps.first_frame] = time_s[measured]
    return ImuRecording(
        path=str(path),
        time_s=grid_time_s,
        acc_m_s2=np.ascontiguousarray(grid[:, :3]),
        gyro_deg_s=np.ascontiguousarray(grid[:, 3:]) if has_gyro else None,
        fs_hz=fs_hz,
        metadata=metadata,
        dropped_leading=lead,
        dropped_trailing=measured.shape[0] - 1 - last,
        gaps=gaps,
    )


def _seq_column(path: Path, values: np.ndarray, time_s: np.ndarray, fs_hz: float, first_line_no: int) -> np.ndarray:
    """The frame counter of an exported station trial: whole numbers, increasing, and in step with
    ``time_s`` (DESIGN.md §3: ``time_s = (seq - seq0) / rate_hz``)."""
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise tf.TrialFileError(path, f"line {first_line_no + i}, column seq: {values[i]!r} is not a frame number")
    seq = values.astype(np.int64)
    steps = np.diff(seq)
    if (steps < 1).any():
        i = int(np.argmax(steps < 1))
        raise tf.TrialFileError(
            path, f"line {first_line_no + i + 1}, column seq: {seq[i + 1]} after {seq[i]} (seq must increase)"
        )
    off = np.abs((time_s - time_s[0]) * fs_hz - (seq - seq[0])) > tf.GRID_TOLERANCE
    if off.any():
        i = int(np.argmax(off))
        raise tf.TrialFileError(
            path,
            f"line {first_line_no + i}: time_s {time_s[i]:.6g} s and seq {seq[i]} disagree at {fs_hz:g} Hz "
            "(time_s must be (seq - seq0)/rate_hz); export the trial again",
        )
    return seq


GAP_PERIODS = 1.5
"""A step of ``time_s`` longer than this many sample periods is a gap (lost samples)."""


def _grid_from_time(time_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Each row's place on the nominal sample grid of a recording without ``seq``: a step of up to
    :data:`GAP_PERIODS` sample periods is the next sample (a sensor's own timestamps jitter), a
    longer one is lost samples, as many as the step's whole periods less one."""
    steps = np.diff(time_s) * fs_hz
    periods = np.where(steps > GAP_PERIODS, np.rint(steps), 1.0).astype(np.int64)
    index = np.zeros(time_s.shape[0], dtype=np.int64)
    np.cumsum(periods, out=index[1:])
    return index


def _check_gaps(path: Path, gaps: GapReport, seq: np.ndarray, measured: np.ndarray, time_s: np.ndarray,
                fs_hz: float, first_line_no: int) -> None:
    """Refuse a gap too long to bridge, or too many bridged samples, saying where (one line)."""

    def where(grid_row: int) -> str:
        """The last reading before the missing grid row, as time_s and line of the file."""
        row = int(np.searchsorted(seq, gaps.first_frame + grid_row)) - 1
        return f"after time_s {time_s[row]:.6g} s (line {first_line_no + row})"

    if gaps.long_gaps_s:
        start_s, length_s = gaps.long_gaps_s[0]
        a = int(round(start_s * fs_hz))
        n = int(round(length_s * fs_hz))
        inside = (seq >= gaps.first_frame + a) & (seq < gaps.first_frame + a + n)
        lost = n - int(np.count_nonzero(inside))
        kinds = []
        if lost:
            kinds.append(f"{lost} lost frame(s), a gap in time_s")
        if n - lost:
            kinds.append(f"{n - lost} frame(s) without an IMU reading (NaN)")
        more = len(gaps.long_gaps_s) - 1
        raise tf.TrialFileError(
            path,
            f"IMU data missing for {length_s:.3g} s {where(a)}: {' and '.join(kinds)}"
            + (f"; and {more} more gap(s) over {MAX_BRIDGE_S:g} s" if more else "")
            + f"; gaps up to {MAX_BRIDGE_S:g} s are bridged, a longer one can hide steps: record again or cut "
            "the file at the gap",
        )
    total = int(seq[measured][-1]) - gaps.first_frame + 1  # samples from the first reading to the last
    if gaps.bridged_frames > MAX_BRIDGED_FRACTION * total:
        present = np.zeros(total, dtype=bool)
        present[seq[measured] - gaps.first_frame] = True
        raise tf.TrialFileError(
            path,
            f"{gaps.bridged_frames} of {total} IMU samples missing ({100 * gaps.bridged_frames / total:.1f} %, in "
            f"{gaps.bridged_gaps} short gap(s), the first {where(int(np.argmin(present)))}); more than "
            f"{100 * MAX_BRIDGED_FRACTION:g} % cannot be bridged without inventing steps: record again",
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
