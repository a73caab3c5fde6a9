"""Reading lower-back IMU recordings for gait analysis (DESIGN.md §4 and §8).

Two kinds of file are read, both CSV with a header row and a JSON sidecar (``<name>.json``):

* an **IMU recording**: ``time_s`` and the six IMU columns ``ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,
  gy_deg_s,gz_deg_s`` (e.g. the gait data set in ``../shared/data/gait``);
* a **station trial CSV** (``time_s,ap_cm,ml_cm,...`` written by ``record`` and export) whose IMU
  columns were recorded. Frames recorded before the IMU's first sample (NaN at the start) are
  dropped, and so are frames after its last one (counted: :attr:`ImuRecording.dropped_trailing`).
  Only the columns gait uses are parsed (``time_s``, the IMU's, ``seq``: :func:`_used_columns`);
  every line must hold a value for each column of the header, but a bad value in a force column,
  ``flags`` or ``t_ns`` is not gait's business (``analyze`` refuses it) and does not refuse the file.

Lost samples are never closed up (DESIGN.md §3). Each row's place on the frame grid comes from the
``seq`` column when there is one (exported station trials), else from ``time_s``: each sample goes to
the slot of the file's own grid nearest its time (:func:`_grid_from_time`), so a sensor's jittering
timestamps are not gaps, and two samples that fall in one period are refused as a timing problem. A
frame is missing when its **acceleration** is (gait needs only the acceleration): a lost row, or NaN
in ``ax_m_s2, ay_m_s2, az_m_s2``. The gaps are found from the readings' places alone, before any grid
is built, so a jump of days in ``time_s`` is refused in the gap's words at once (:func:`_check_gaps`):
a gap longer than :data:`station.analysis.imu_gaps.MAX_BRIDGE_S`, or more than
:data:`MAX_BRIDGED_FRACTION` of the samples missing, refuses the file with where the gap is; the
shorter ones are put back on the grid by :func:`station.analysis.imu_gaps.bridge_gaps`, interpolated
and counted (:attr:`ImuRecording.gaps`, :meth:`ImuRecording.gap_summary`). The **gyroscope**'s own
gaps (NaN in ``gx_deg_s, gy_deg_s, gz_deg_s`` where the acceleration was read) never refuse a file:
they are bridged the same way up to the same limit, longer ones stay NaN in
:attr:`ImuRecording.gyro_deg_s` and are counted (``gyro_samples_missing``); the rotation to the body
frame lets such rows through as NaN (:func:`station.analysis.imu_frame.align_to_body`), and nothing
in the gait analysis reads the gyroscope.

A sidecar ``rate_hz`` must agree with the file's own rate (its grid periods over its time span)
within :data:`station.store.trialfile.RATE_AGREEMENT` (2 %). Without one, the rate is the timestamps'
own, fitted over the whole file (:func:`_rate_of_timestamps`), not 1 / the median step, which
timestamps rounded to 1 ms put 4 % off at 320 Hz (a file with ``seq`` keeps 1 / its median step: its
``time_s`` is ``(seq - seq0)/rate_hz``, on the grid). The cheap checks come first: the file's
kind and size (a regular file of at most :data:`station.store.trialfile.MAX_TRIAL_BYTES`), then the
sidecar (read, JSON, types, heights, mounting), then the header (from the file's first bytes), and
only then are the numbers parsed, a block of lines at a time, the used columns only
(:func:`station.store.trialfile.stream_columns`: the peak is those columns and a block, not the file).

Gyroscope columns are optional (an accelerometer alone is enough for gait). The sidecar may carry
``rate_hz``, ``sensor_height_m`` (m, the sensor's height above the ground) and the mounting:
``mounting_up`` / ``mounting_toes`` (``"+x"``, ``"-z"``, ...), at its top level or inside an
``"imu"`` object. Every problem raises :class:`station.store.trialfile.TrialFileError`, one line
naming the file. Parsing, value checks, sidecar and sample-rate checks are those of
:mod:`station.store.trialfile`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from station.analysis.gait_checks import MIN_RATE_HZ, SENSOR_HEIGHT_RANGE_M
from station.analysis.imu_gaps import MAX_BRIDGE_S, GapReport, bridge_gaps, max_bridge_frames
from station.store import trialfile as tf

ACC_COLUMNS = ("ax_m_s2", "ay_m_s2", "az_m_s2")
GYRO_COLUMNS = ("gx_deg_s", "gy_deg_s", "gz_deg_s")
IMU_COLUMNS = ACC_COLUMNS + GYRO_COLUMNS
MOUNTING_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
MAX_BRIDGED_FRACTION = 0.01
"""Largest share of a recording's samples that may be missing and bridged (the limit of the station's
own walk trials, :data:`station.protocols.walk.MAX_IMU_MISSING_FRACTION`); more refuses the file."""
GYRO_HANDLING = (
    "the gyroscope's gaps bridged the same way, longer ones left NaN (gait uses the acceleration only)"
)
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
    fs_hz: float  # the sidecar's rate_hz, else the timestamps' own rate (_rate_of_timestamps)
    metadata: dict = field(default_factory=dict)
    dropped_leading: int = 0  # frames before the IMU's first sample (station trials)
    dropped_trailing: int = 0  # frames after the IMU's last sample (an IMU that stopped before the end)
    gaps: GapReport = field(default_factory=GapReport)  # short gaps bridged on the frame grid
    gyro_gaps: GapReport = field(default_factory=GapReport)  # the gyroscope's own, on the same grid

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
        ``handling`` (in words); and, when the gyroscope missed readings the acceleration has,
        ``gyro_samples_lost`` (bridged) and ``gyro_samples_missing`` (left NaN: its gaps longer than
        the bridge, and the rows before its first or after its last reading)."""
        gyro_missing = 0 if self.gyro_deg_s is None else int(np.isnan(self.gyro_deg_s).any(axis=1).sum())
        gyro_lost = self.gyro_gaps.bridged_frames
        if not (self.gaps.bridged_frames or self.dropped_trailing or gyro_lost or gyro_missing):
            return None
        summary = {
            "samples_lost": self.gaps.bridged_frames,
            "gaps": self.gaps.bridged_gaps,
            "longest_gap_s": round(self.gaps.longest_bridged_s, 6),
            "samples_dropped_at_end": self.dropped_trailing,
            "handling": GAP_HANDLING if self.gaps.bridged_frames else "no gap bridged",
        }
        if gyro_lost or gyro_missing:
            summary["gyro_samples_lost"] = gyro_lost
            summary["gyro_samples_missing"] = gyro_missing
            summary["handling"] += "; " + GYRO_HANDLING
        return summary

    def mounting(self) -> tuple[str | None, str | None]:
        """``(up, toes)`` axes from the sidecar (top level or ``"imu"`` object), None if absent."""
        return sidecar_mounting(self.metadata)


def sidecar_mounting(metadata: dict) -> tuple[str | None, str | None]:
    """``(up, toes)`` axes from a recording's sidecar ``metadata`` (top level or ``"imu"`` object), None if absent.

    >>> sidecar_mounting({"imu": {"mounting_up": "-x", "mounting_toes": "+z"}}), sidecar_mounting({})
    (('-x', '+z'), (None, None))
    """
    imu = metadata.get("imu") if isinstance(metadata.get("imu"), dict) else {}
    return metadata.get("mounting_up", imu.get("mounting_up")), metadata.get("mounting_toes", imu.get("mounting_toes"))


def read_sidecar(path: str | os.PathLike) -> dict:
    """The sidecar of the recording ``path`` read and checked as :func:`read_imu_recording` reads it (JSON, rate,
    heights, mounting; ``{}`` without one); :class:`station.store.trialfile.TrialFileError` names what is wrong."""
    path = Path(path)
    metadata = tf._read_sidecar(path)  # JSON, rate_hz ...
    _check_metadata(path, metadata)  # ... heights and mounting
    return metadata


def read_imu_recording(path: str | os.PathLike) -> ImuRecording:
    """Read and validate an IMU recording or a station trial CSV with IMU columns.

    The cheap checks come first: the file's kind and size (one ``os.stat``, :func:`station.store.
    trialfile.check_trial_file`), then the sidecar (:func:`_check_metadata`), the header, and the
    gaps from ``time_s`` or ``seq`` alone; only then is the grid built.

    Raises
    ------
    TrialFileError
        One line naming the file and the problem (missing file, not a regular file or too big, not
        a CSV, no IMU columns, non-numeric or infinite values, disordered ``time_s`` or ``seq``, a
        sidecar ``rate_hz`` off the file's own rate, two samples on one place of the grid, a gap
        longer than :data:`station.analysis.imu_gaps.MAX_BRIDGE_S` or more than
        :data:`MAX_BRIDGED_FRACTION` of the samples missing (with where), a bad sidecar or mounting,
        too few samples).

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
    tf.check_trial_file(path)  # a regular file within its size bound: one stat, nothing read yet
    metadata = read_sidecar(path)  # JSON, rate_hz, heights and mounting, before a byte of the CSV is parsed
    first_line_no, parsed = _read_table(path)
    time_s = parsed.pop("time_s")
    # a table of three columns at a time, each column dropped once copied: the columns and one table
    acc = np.column_stack([parsed.pop(c) for c in ACC_COLUMNS])
    gyro = None
    if all(c in parsed for c in GYRO_COLUMNS):
        gyro = np.column_stack([parsed.pop(c) for c in GYRO_COLUMNS])
        if np.isnan(gyro).all():
            gyro = None  # an accelerometer without a gyroscope: the columns are there, never filled
    seq_values = parsed.pop("seq", None)
    # the station's own trial (an exported one has seq; every one has its version in the sidecar): a row missing
    # there is a frame the station lost, not a reading the sensor missed (_check_gaps)
    station_trial = seq_values is not None or metadata.get("station_version") is not None
    _check_finite(path, "time_s", time_s[:, None], first_line_no, ("time_s",))
    for values, columns in ((acc, ACC_COLUMNS), (gyro, GYRO_COLUMNS)):
        if values is not None and np.isinf(values).any():
            _check_finite(path, "IMU", np.where(np.isnan(values), 0.0, values), first_line_no, columns)
    del values  # the loop's last: the gyroscope, let go below
    measured = np.isfinite(acc).all(axis=1)  # a sample is missing when its acceleration is
    if not measured.any():
        raise tf.TrialFileError(path, "the IMU columns hold no measured sample (all NaN): was the IMU connected?")
    fs_hz = tf._sample_rate(path, tf.STATION_CSV, time_s, metadata, first_line_no=first_line_no)
    _check_rate_for_gait(path, fs_hz)  # before the gaps: at 0.1 Hz a lost frame is a gap of 10 s
    if seq_values is not None:
        slots = _seq_column(path, seq_values, time_s, fs_hz, first_line_no).astype(np.float64)
        del seq_values
    else:
        slots = _grid_from_time(path, time_s, fs_hz)
        if metadata.get("rate_hz") is not None:
            tf.check_rate_agreement(path, fs_hz, slots, time_s)
        slots = _separate(path, slots, time_s, fs_hz, first_line_no)
        if metadata.get("rate_hz") is None:
            fs_hz = _rate_of_timestamps(slots, time_s, fs_hz)
    _check_gaps(path, slots, measured, time_s, fs_hz, first_line_no, station_trial)  # before any grid is built
    seq = slots.astype(np.int64)
    del slots
    # each reading dropped once on its grid: the file's samples and their grid are held one sensor at a time
    grid, gaps = bridge_gaps(acc, seq, fs_hz)
    del acc
    lead = int(np.argmax(measured))
    last = measured.shape[0] - 1 - int(np.argmax(measured[::-1]))
    gyro_grid, gyro_gaps = _gyro_on_grid(gyro, seq, lead, last, gaps.first_frame, grid.shape[0], fs_hz)
    del gyro
    # Each output row's time on the file's axis: the file's own where a reading is, interpolated
    # between the readings on either side where one was bridged (only there: each row's interpolation
    # is its own, and the rows with a reading take the file's time).
    places = seq[measured] - gaps.first_frame
    del seq
    times = time_s[measured]
    grid_time_s = np.empty(grid.shape[0])
    grid_time_s[places] = times
    bridged = np.ones(grid.shape[0], dtype=bool)
    bridged[places] = False
    bridged = np.flatnonzero(bridged)
    if bridged.size:
        grid_time_s[bridged] = np.interp(bridged.astype(np.float64), places, times)
    return ImuRecording(
        path=str(path),
        time_s=grid_time_s,
        acc_m_s2=np.ascontiguousarray(grid),
        gyro_deg_s=gyro_grid,
        fs_hz=fs_hz,
        metadata=metadata,
        dropped_leading=lead,
        dropped_trailing=measured.shape[0] - 1 - last,
        gaps=gaps,
        gyro_gaps=gyro_gaps,
    )


HEADER_PROBE_BYTES = 65536
"""Bytes read to check the header before the file is read whole (a header is a few hundred)."""


def _check_rate_for_gait(path: Path, fs_hz: float) -> None:
    """Refuse a rate below :data:`station.analysis.gait_checks.MIN_RATE_HZ` (one line, saying the
    time steps and asking for seconds), before the gaps are looked for: a ``time_s`` in milliseconds
    (steps of 10 for 100 Hz) read as 0.1 Hz, and its one lost frame was said as 'IMU data missing for
    10 s after time_s 6170 s', not as the time column's unit."""
    if fs_hz < MIN_RATE_HZ:
        unit = "; is time_s in seconds?" if fs_hz <= 1.0 else ""
        raise tf.TrialFileError(path, f"sample rate {fs_hz:.3g} Hz (time steps of {1.0 / fs_hz:.3g} s) is too low "
                                f"for gait analysis; need at least {MIN_RATE_HZ:g} Hz{unit}")


def _read_table(path: Path) -> tuple[int, dict[str, np.ndarray]]:
    """``(first_line_no, columns)``: the header checked, then the columns gait uses
    (:func:`_used_columns`) by name, one float64 value per data line.

    The header is checked from the file's first :data:`HEADER_PROBE_BYTES` before the file is read
    (:func:`_check_header_first`). The file is then read a block of lines at a time
    (:func:`station.store.trialfile.stream_columns`), each parsed for the used columns only and
    dropped, so the peak is those columns and a block: a 2-hour station trial CSV (122 MB, 16
    columns) peaked at 229 MB in this reader with all its columns parsed from the whole file, 173 MB
    with the used ones. Every data line must hold as many values as the header has columns; every
    problem is one line naming the file and the line."""
    _check_header_first(path)
    return tf.stream_columns(path, lambda line: (_check_header(path, line), ","), _used_columns)


def read_columns(path: str | os.PathLike, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The columns named in ``wanted`` that an IMU recording's CSV has (float64, one value a data line), its header
    checked as :func:`read_imu_recording` checks it, read a block of lines at a time (:func:`_read_table`); no
    gap refused. For judging a station walk trial's file again as its trial did (``balance-station gait``:
    :meth:`station.protocols.walk.WalkMachine.judged_from_recording`), which measures around its longer gaps."""
    path = Path(path)
    tf.check_trial_file(path)
    _check_header_first(path)
    return tf.stream_columns(path, lambda line: (_check_header(path, line), ","),
                             lambda names: [j for j, name in enumerate(names) if name in wanted])[1]


def _used_columns(names: list[str]) -> list[int]:
    """The places in the header ``names`` of the columns gait reads, in the file's order: ``time_s``,
    the acceleration, the gyroscope when all three of its columns are there, and ``seq`` when there
    is one. A station trial's force columns, ``flags`` and ``t_ns`` are not gait's: a bad value there
    does not refuse the file."""
    wanted = {"time_s", *ACC_COLUMNS, "seq"}
    if all(c in names for c in GYRO_COLUMNS):
        wanted.update(GYRO_COLUMNS)
    return [j for j, name in enumerate(names) if name in wanted]


def _check_header_first(path: Path) -> None:
    """Refuse a file whose header is not an IMU recording's from its first
    :data:`HEADER_PROBE_BYTES`, before it is read whole: a 200 MB file with a wrong header took 5.3 s
    and 300 MB to be refused when it was read first. A file whose first non-blank line is not whole
    and readable in those bytes (binary, not UTF-8, a header that long) is left to the full read,
    which says what is wrong with it."""
    try:
        head = tf._read_regular(path, None, probe=HEADER_PROBE_BYTES)
    except (tf._Unreadable, OSError):
        return  # said by the full read, in its words
    if b"\x00" in head:
        return
    lines = tf._LINE_BREAK.split(head)
    whole = lines if len(head) < HEADER_PROBE_BYTES else lines[:-1]  # the last may be cut at the probe's end
    for number, line in enumerate(whole):
        try:
            text = line.decode("utf-8-sig" if number == 0 else "utf-8")
        except UnicodeDecodeError:
            return
        if text.strip():
            _check_header(path, text)
            return


def _check_header(path: Path, header_line: str) -> list[str]:
    """The column names of an IMU recording's header, or the reason it is not one (one line)."""
    names = [n.strip() for n in header_line.split(",")]
    if "time_s" not in names:
        shown = header_line.strip()
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
    return names


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


def _gyro_on_grid(gyro, seq, lead: int, last: int, first_frame: int, size: int, fs_hz: float):
    """``(gyro_grid, report)``: the gyroscope on the acceleration's grid (``size`` rows from frame
    ``first_frame``), bridged as the acceleration is (:func:`bridge_gaps`), gaps longer than
    :data:`MAX_BRIDGE_S` left NaN; ``(None, empty report)`` without a gyroscope, or with no gyroscope
    reading while the acceleration was read. Only the rows from the acceleration's first reading
    (``lead``) to its last (``last``) count, so the gyroscope's grid never outgrows the acceleration's."""
    if gyro is None:
        return None, GapReport()
    rows = slice(lead, last + 1)
    if not np.isfinite(gyro[rows]).all(axis=1).any():
        return None, GapReport()
    part, report = bridge_gaps(gyro[rows], seq[rows], fs_hz)
    start = report.first_frame - first_frame
    if start == 0 and part.shape[0] == size:  # read from the acceleration's first reading to its last: the grid
        out = part
    else:
        out = np.full((size, 3), np.nan)
        out[start : start + part.shape[0]] = part
    report.trimmed_frames = size - part.shape[0]  # rows of the grid before and after the gyroscope's readings
    return out, report


GAP_PERIODS = 1.5
"""A step of ``time_s`` longer than :data:`station.analysis.imu_gaps.MAX_BRIDGE_S` plus this many
sample periods is a gap too long to bridge whatever the timestamps' jitter: such a file is refused
from its steps alone, before its samples are placed on the grid."""
PHASE_WINDOWS = (9, 101)
"""Rows over which the grid's phase is averaged (:func:`_grid_from_time`): 9 for the first pass, few
enough that a rate 5 % off the timestamps turns the phase by less than half a period over the window
(9 × 0.05 = 0.45); 101 for the second, at the rate the first found, enough to average out a sensor's
timestamp jitter (2 ms at 100 Hz: its phase to within about 0.02 periods)."""


def _grid_from_time(path: Path, time_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """Each row's place on the sample grid (whole periods from the first row, float64) of a recording
    without ``seq``; two rows may share a place (:func:`_separate` then parts them or refuses).

    A sample goes to the grid slot nearest its time, so jittering timestamps are not gaps: a gap is
    where slots stay empty. The grid is the file's own. Its phase is the circular mean of the rows'
    phases (``time_s · rate`` modulo a period) over the rows around each (:data:`PHASE_WINDOWS`),
    followed along the file (unwrapped); lost samples are whole periods and leave it as it was. The
    first pass, at the mean of the steps of about one period at ``fs_hz`` (a rough rate of the
    timestamps), finds how fast the phase turns, i.e. their rate (a clock's drift, timestamps rounded
    to 1 ms); the second, at that rate, places the samples. A
    step longer than the bridge plus :data:`GAP_PERIODS` periods is a long gap whatever the jitter:
    then the slots are the steps' whole periods, for :func:`_check_gaps` to refuse without placing
    anything."""
    n = time_s.shape[0]
    steps, sure_gap = _sure_gaps(time_s, fs_hz)
    if sure_gap.any() or n < 3:
        slots = np.zeros(n)
        np.cumsum(np.where(sure_gap, np.rint(steps), 1.0), out=slots[1:])
        return slots
    # the first pass starts at the timestamps' mean step of about one period (gaps left out), not at
    # fs_hz: a sidecar's rate may be off by up to 10 % here (RATE_TOLERANCE), more than the pass holds
    single = (steps >= 0.5) & (steps < 1.5)
    start_hz = fs_hz / float(steps[single].mean()) if single.any() else fs_hz
    del steps, sure_gap, single
    x = (time_s - time_s[0]) * start_hz  # periods since the first row
    phase = _phase(x, PHASE_WINDOWS[0])
    lag = n // 2  # the phase's slope, periods per period, robust to a slip of the first pass
    turn = phase[lag:] - phase[:-lag]  # the same quotients as before, divided in place
    turn /= x[lag:] - x[:-lag]
    del phase
    turn = float(np.median(turn))
    x *= 1.0 - turn  # periods at the timestamps' own rate
    slots = _phase(x, PHASE_WINDOWS[1])  # then, in place: rint(x - phase) - its first
    np.subtract(x, slots, out=slots)
    del x
    np.rint(slots, out=slots)
    slots -= slots[0]
    return slots


def _sure_gaps(time_s: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, sure_gap)``: the steps of ``time_s`` in periods at ``fs_hz``, and those longer than
    the bridge plus :data:`GAP_PERIODS` periods (a gap too long to bridge whatever the jitter)."""
    with np.errstate(over="ignore", invalid="ignore"):  # a time_s of 1e308: a gap of inf s, said so
        steps = np.diff(time_s) * fs_hz
    return steps, steps > max_bridge_frames(fs_hz) + GAP_PERIODS


def _rate_of_timestamps(slots: np.ndarray, time_s: np.ndarray, rough_hz: float) -> float:
    """The rate of a recording without a sidecar ``rate_hz`` (Hz, 9 significant digits), from all its
    timestamps: 1 / the slope of a least-squares line of time against slot (place on the grid: exact,
    the times carry the noise), one line a run of consecutive slots, all with a common slope, so no
    gap enters the slope. ``rough_hz`` (1 / the median step, :func:`station.store.
    trialfile._sample_rate`) is quantised by the timestamps' resolution: times rounded to 1 ms at
    320 Hz step by 3 or 4 ms, median 3 ms, 333 Hz (4 % off, and every cadence and step time with
    it); here rounding and jitter average out over the file (10 s of them: 320 Hz within 0.00002 %).
    ``rough_hz`` is kept for a file too short to fit, or with a gap too long to bridge (its slots then
    come from ``rough_hz`` and :func:`_check_gaps` refuses the file in those words, as before).

    >>> t = np.round(np.arange(3200) / 320, 3)  # 10 s at 320 Hz, rounded to 1 ms
    >>> slots = np.arange(3200.0)
    >>> rough = 1 / float(np.median(np.diff(t)))
    >>> round(rough, 1), _rate_of_timestamps(slots, t, rough)
    (333.3, 319.999957)
    """
    n = time_s.shape[0]
    if n < 3 or _sure_gaps(time_s, rough_hz)[1].any():
        return rough_hz
    starts = np.concatenate(([0], np.flatnonzero(np.diff(slots) != 1) + 1))
    counts = np.diff(np.append(starts, n))
    # each run about its own mean (time_s may be far from 0): slot and time deviations
    ds = slots - np.repeat(np.add.reduceat(slots, starts) / counts, counts)
    dt = time_s - np.repeat(np.add.reduceat(time_s, starts) / counts, counts)
    sxx = float(ds @ ds)
    sxy = float(ds @ dt)
    if not (sxx > 0 and sxy > 0):
        return rough_hz
    return float(f"{sxx / sxy:.9g}")


PHASE_BLOCK_ROWS = 16384
"""Rows whose phase :func:`_phase` computes at a time (their complex running sums: 0.26 MB a block, not
16 bytes a row of the file)."""


def _phase(x: np.ndarray, window: int) -> np.ndarray:
    """The grid's phase at each row, periods, unwrapped: the angle of the mean of ``exp(2πi x)`` over
    ``window`` rows centred on it (fewer at the ends).

    :data:`PHASE_BLOCK_ROWS` rows at a time, carrying from block to block the running sum of
    ``exp(2πi x)``, the last angle and the running sum of the unwrapping's corrections; every number is
    the one the whole file's arrays gave (``np.cumsum`` adds in order, and the rest is row by row, as in
    ``np.unwrap``), bit for bit. Peak: the output and a block, not seven arrays of the file's rows
    (four of them complex: 70 MB traced for a 2-hour trial at 100 Hz).

    >>> x = np.arange(1000) * 1.001 + 0.3  # a rate 0.1 % off: the phase turns by 0.001 a row
    >>> p = _phase(x, 9)
    >>> round(float(p[500] - p[400]), 6), round(float(p[0]), 2)
    (0.1, 0.3)
    """
    n = x.shape[0]
    half = window // 2
    phase = np.empty(n)
    total = 0j  # sum of exp(2πi x) over the rows before the block's first sum
    angle_before = correction = 0.0  # the angle of the row before the block; the corrections' running sum
    for start in range(0, n, PHASE_BLOCK_ROWS):
        stop = min(n, start + PHASE_BLOCK_ROWS)
        lo, hi = max(start - half, 0), min(stop + half, n)  # the running sums the block's windows need
        frac = x[lo:hi] - np.floor(x[lo:hi])
        sums = np.empty(hi - lo + 1, dtype=complex)
        if lo == 0:
            sums[0] = 0j
            np.cumsum(np.exp(2j * np.pi * frac), out=sums[1:])
        else:
            sums[0] = total
            sums[1:] = np.exp(2j * np.pi * frac)
            np.cumsum(sums, out=sums)
        i = np.arange(start, stop)
        angle = np.angle(sums[np.minimum(i + half + 1, n) - lo] - sums[np.maximum(i - half, 0) - lo])
        total = sums[max(stop - half, 0) - lo]  # the next block's first running sum
        # np.unwrap (period 2π): each step's correction, summed along the file
        first = 1 if start == 0 else 0
        dd = angle[1:] - angle[:-1] if start == 0 else angle - np.concatenate(([angle_before], angle[:-1]))
        ddmod = np.mod(dd - (-np.pi), 2 * np.pi) + (-np.pi)
        np.copyto(ddmod, np.pi, where=(ddmod == -np.pi) & (dd > 0))
        fix = ddmod - dd
        np.copyto(fix, 0, where=abs(dd) < np.pi)
        if start == 0:
            steps = np.cumsum(fix)
        else:
            steps = np.cumsum(np.concatenate(([correction], fix)))[1:]
        angle_before = float(angle[-1])
        if steps.size:
            correction = float(steps[-1])
        out = phase[start + first : stop]
        np.add(angle[first:], steps, out=out)
        if start == 0:
            phase[0] = angle[0]
    phase /= 2 * np.pi
    return phase


def _separate(path: Path, slots: np.ndarray, time_s: np.ndarray, fs_hz: float, first_line_no: int) -> np.ndarray:
    """Slots strictly increasing: of two samples on one slot (a timestamp that jittered past half a
    period), the earlier moves to the slot below when it is free (the other sample's own slot was
    the one above, or a gap follows), else the later to the slot above; a pair with no free slot
    beside it is refused (one line)."""
    clash = np.flatnonzero(np.diff(slots) <= 0) + 1  # a few in a file with jitter; the first that
    n = slots.shape[0]  # cannot be resolved ends the loop
    for k in clash:
        a, b = k - 1, k
        if slots[b] == slots[a]:
            below = a == 0 or slots[a - 1] < slots[a] - 1
            above = b == n - 1 or slots[b + 1] > slots[b] + 1
            if below:
                slots[a] -= 1
                continue
            if above:
                slots[b] += 1
                continue
        step = (time_s[b] - time_s[a]) * fs_hz
        raise tf.TrialFileError(
            path,
            f"line {first_line_no + b}: time_s {time_s[b]:.6g} s, {step:.2g} sample periods after the row before "
            f"({time_s[a]:.6g} s), falls on the same place of the {fs_hz:g} Hz sample grid as it: two samples "
            "in one period (timestamps that jitter by more than half a period, or rows written twice); check the "
            "sensor's timestamps and rate_hz",
        )
    return slots


def _count(value: float) -> str:
    return f"{value:.0f}" if value < 1e15 else f"{value:.3g}"


def _check_gaps(path: Path, slots: np.ndarray, measured: np.ndarray, time_s: np.ndarray, fs_hz: float,
                first_line_no: int, station_trial: bool = False) -> None:
    """Refuse a gap too long to bridge, or too many missing samples, saying where (one line), from the
    readings' places on the grid alone (``slots``, float64, whole periods): nothing the size of the
    gap is built, so a file with a jump of days in ``time_s`` is refused at once in the gap's words.

    ``station_trial``: the station's own trial file, read by the rule its walk result was judged by
    (:mod:`station.protocols.walk`, ``MAX_IMU_MISSING_FRACTION``): only readings missing from frames that
    arrived (NaN: the sensor's dropouts) count toward :data:`MAX_BRIDGED_FRACTION`, and only in more than one
    gap; a row missing there is a frame the station lost (it woke late), each hole bridged and counted. Read
    by the old rule, a valid walk of a loaded station (11 frames lost in 6 holes of at most 40 ms, 1.02 %)
    was refused here ("record again") while its trial gave its gait."""
    rows = np.flatnonzero(measured)
    have = slots[rows]
    with np.errstate(invalid="ignore"):
        missing = np.diff(have) - 1.0  # frames missing between consecutive readings
    limit = max_bridge_frames(fs_hz)

    def where(i: int) -> str:
        """The last reading before the gap after reading ``i``, as time_s and line of the file."""
        return f"after time_s {time_s[rows[i]]:.6g} s (line {first_line_no + rows[i]})"

    long = missing > limit
    if long.any():
        i = int(np.argmax(long))
        n = float(missing[i])
        without = float(rows[i + 1] - rows[i] - 1)  # rows in the gap whose reading is NaN
        lost = n - without
        kinds = []
        if lost:
            kinds.append(f"{_count(lost)} lost frame(s), a gap in time_s")
        if without:
            kinds.append(f"{_count(without)} frame(s) without an IMU reading (NaN)")
        more = int(np.count_nonzero(long)) - 1
        raise tf.TrialFileError(
            path,
            f"IMU data missing for {n / fs_hz:.3g} s {where(i)}: {' and '.join(kinds)}"
            + (f"; and {more} more gap(s) over {MAX_BRIDGE_S:g} s" if more else "")
            + f"; gaps up to {MAX_BRIDGE_S:g} s are bridged, a longer one can hide steps: record again or cut "
            "the file at the gap",
        )
    total = int(have[-1] - have[0]) + 1  # samples from the first reading to the last
    # a station trial's dropouts: the rows between two readings that are there without one (NaN)
    counted = np.diff(rows) - 1 if station_trial else missing
    bridged = int(counted.sum()) if counted.size else 0
    gaps = int(np.count_nonzero(counted))
    if bridged > MAX_BRIDGED_FRACTION * total and (gaps > 1 or not station_trial):
        what = "IMU readings missing from frames that arrived" if station_trial else "IMU samples missing"
        raise tf.TrialFileError(
            path,
            f"{bridged} of {total} {what} ({share_over_limit_pct(bridged / total, MAX_BRIDGED_FRACTION)} %, in {gaps} "
            f"short gap(s), the first {where(int(np.argmax(counted > 0)))}); more than {100 * MAX_BRIDGED_FRACTION:g} % cannot be "
            "bridged without inventing steps: record again",
        )


def share_over_limit_pct(share: float, limit: float) -> str:
    """``share`` (a fraction) as a percentage that visibly exceeds ``limit`` (a fraction) when it does:
    one decimal, more (up to four) while rounding would show it at or under the limit, so that a refusal
    never reads "(1.0 %) ... more than 1 %".

    >>> share_over_limit_pct(0.018, 0.01), share_over_limit_pct(0.0102, 0.01), share_over_limit_pct(0.010004, 0.01)
    ('1.8', '1.02', '1.0004')
    >>> share_over_limit_pct(0.005, 0.01)
    '0.5'
    """
    for decimals in range(1, 5):
        shown = f"{100 * share:.{decimals}f}"
        if share <= limit or float(shown) > 100 * limit:
            return shown
    return shown


def _check_finite(path: Path, what: str, values: np.ndarray, first_line_no: int, names) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(values[row, col]) else "infinite value"
        raise tf.TrialFileError(path, f"line {first_line_no + row}, column {names[col]}: {kind}")


def _check_metadata(path: Path, metadata: dict) -> None:
    """The sidecar's own checks, run before the CSV is parsed: ``sensor_height_m`` a plausible height
    of a lower-back sensor (m, :data:`station.analysis.gait_checks.SENSOR_HEIGHT_RANGE_M`), ``imu`` an
    object, the mounting axes valid (:data:`MOUNTING_AXES`) and two different axes. One line naming
    the sidecar and what to do."""
    side = f"in {tf.sidecar_path(path).name}: correct it or remove it"

    def shown(value) -> str:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."

    height = metadata.get("sensor_height_m")
    if height is not None:
        metres = tf.finite_number(height)
        if metres is None or metres <= 0:
            raise tf.TrialFileError(path, f"sidecar sensor_height_m {shown(height)} is not a positive number of metres ({side})")
        lo, hi = SENSOR_HEIGHT_RANGE_M
        if not lo <= metres <= hi:
            raise tf.TrialFileError(
                path, f"sidecar sensor_height_m {metres:g} is not a plausible height of a lower-back sensor ({lo:g} "
                f"to {hi:g} m above the ground; centimetres for metres?) ({side})",
            )
    imu = metadata.get("imu")
    if imu is not None and not isinstance(imu, dict):
        raise tf.TrialFileError(path, f"sidecar imu must be a JSON object, not {type(imu).__name__} ({side})")
    for key in ("mounting_up", "mounting_toes"):
        for where, holder in (("", metadata), ("imu.", imu or {})):
            value = holder.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or value.strip().lower() not in MOUNTING_AXES:
                raise tf.TrialFileError(
                    path, f"sidecar {where}{key} {shown(value)} is not one of {', '.join(MOUNTING_AXES)} ({side})"
                )
    up = metadata.get("mounting_up", (imu or {}).get("mounting_up"))
    toes = metadata.get("mounting_toes", (imu or {}).get("mounting_toes"))
    if up is not None and toes is not None and up.strip().lower()[1] == toes.strip().lower()[1]:
        raise tf.TrialFileError(
            path, f"sidecar mounting_up {up!r} and mounting_toes {toes!r} must be two different sensor axes ({side})"
        )
