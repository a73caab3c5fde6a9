"""Raw trial files: reading, validating and writing them (DESIGN.md §4, contract).

Two formats are read, detected from the header line:

``station-csv``
    Our trial CSV: a header row, then one row per frame. Required columns ``time_s,ap_cm,ml_cm``;
    when known ``fz_n,fl_n,fr_n,bl_n,br_n``; then any others (IMU ``ax_m_s2`` ... ``gz_deg_s``,
    ``flags``). Metadata (rate, calibration, protocol, station version) lives in a JSON sidecar
    with the same name and the suffix ``.json`` (``trial.csv`` -> ``trial.json``).
``santos-duarte``
    The text format of Santos & Duarte (2016), PeerJ 4:e2648: tab-separated, header
    ``Time[s] Fx[N] Fy[N] Fz[N] Mx[Nm] My[Nm] Mz[Nm] COPx[cm] COPy[cm]``, 100 Hz. **COPx is
    anterior-posterior and COPy medio-lateral**: COPx -> ``ap_cm``, COPy -> ``ml_cm``,
    Fz -> ``fz_n``; the other columns go to ``extra`` as ``fx_n, fy_n, mx_nm, my_nm, mz_nm``.

Everything a user can get wrong raises :class:`TrialFileError`, whose message is one line naming
the file and the problem (empty file, header only, unrecognised or missing columns, text where a
number belongs, NaN or infinite values, non-increasing timestamps, binary files, missing
paths; ``time_s`` off the sample grid; a sidecar ``rate_hz`` off the file's own rate by more than
:data:`RATE_AGREEMENT`). Only regular files are opened (a named pipe would wait for ever, a device
never ends), trial files of at most :data:`MAX_TRIAL_BYTES` and sidecars of at most
:data:`MAX_SIDECAR_BYTES`, checked with ``os.stat`` before a byte is read; a line of more than
:data:`LINE_PROBE_BYTES` is refused from its length before lines are split; the sidecar is read and
checked before the trial's numbers are parsed. Plain ASCII text is parsed straight from the file's bytes
(:func:`parse_plain_csv`: the file and the table at the peak), any other text line by line;
:func:`stream_columns` reads some columns a block of lines at a time (the columns and a block at the peak). Gaps of whole sample periods (lost frames) are read and
reported in :attr:`TrialData.grid_index`. Writing is atomic (temporary file + rename) for whole files, and durable in appends for
recordings (:class:`TrialCsvWriter`: flush + fsync about once a second, so a crash loses at most
about a second and leaves a readable partial trial, see ``read_trial(..., allow_truncated=True)``).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Collection, Mapping, Sequence

import numpy as np

from station.clock import Clock, MonotonicClock
from station.store.atomic import atomic_text_writer, atomic_write_text, fsync_dir
from station.tomlschema import NotARegularFile, file_kind, open_regular

STATION_CSV = "station-csv"
SANTOS_DUARTE = "santos-duarte"

REQUIRED_COLUMNS = ("time_s", "ap_cm", "ml_cm")
FORCE_COLUMNS = ("fz_n", "fl_n", "fr_n", "bl_n", "br_n")
CORNER_COLUMNS = ("fl_n", "fr_n", "bl_n", "br_n")
CANONICAL_ORDER = REQUIRED_COLUMNS + FORCE_COLUMNS
INTEGER_COLUMNS = ("t_ns", "seq")
"""Columns read as exact 64-bit integers (DESIGN.md §3: the wake time ``t_ns`` is an integer in ns,
about 2^62 after months of uptime, which float64 would round to 1 µs or worse; ``seq`` counts
frames). They go to ``extra`` as int64."""
"""Column order of a trial CSV: these first (those present), then any others as given."""

SANTOS_DUARTE_COLUMNS = {
    "Time[s]": "time_s",
    "Fx[N]": "fx_n",
    "Fy[N]": "fy_n",
    "Fz[N]": "fz_n",
    "Mx[Nm]": "mx_nm",
    "My[Nm]": "my_nm",
    "Mz[Nm]": "mz_nm",
    "COPx[cm]": "ap_cm",
    "COPy[cm]": "ml_cm",
}
SANTOS_DUARTE_RATE_HZ = 100.0

GRID_TOLERANCE = 0.25
"""``time_s`` is on the sample grid (DESIGN.md §3): every time step must be within this many
sample periods of a whole number of them. A step of several whole periods is a gap (lost frames),
read and reported (:attr:`TrialData.grid_index`), never closed here."""
RATE_TOLERANCE = 0.10
"""Largest relative disagreement allowed between the sidecar ``rate_hz`` and the median time step: a
gross check (a rate wrong by a factor, e.g. 200 Hz given for 100 Hz samples, which no grid can tell
from every other sample lost). It stays loose because a median step is quantised by the timestamps'
resolution (times rounded to 1 ms at 320 Hz give steps of 3 and 4 ms, median 3 ms: 4 % off). The
precise check is :data:`RATE_AGREEMENT`, on the whole grid."""
RATE_AGREEMENT = 0.02
"""Largest relative disagreement allowed between the sidecar ``rate_hz`` and the file's own rate (its
grid periods over its time span, :func:`check_rate_agreement`). A crystal drifts by about 100 ppm
(0.01 %) and timestamps rounded to 1 ms average out over the file, so 2 % is 200 times a clock's
drift; a rate configured wrongly (100 Hz for a sensor that samples at 104 or 109 Hz) is beyond it,
and would scale every time the analysis measures (cadence, step time) by the same factor."""
MAX_TRIAL_BYTES = 256 * 2**20
"""Largest trial or IMU file read, bytes (256 MiB), checked with ``os.stat`` before anything is read.
The longest real recording is a 30-minute treadmill session at up to 320 Hz: 576,000 rows; a station
trial CSV with every column (forces, six IMU values at 10 significant digits, flags, ``t_ns``,
``seq``) writes at most about 300 bytes a row, 173 MB (a 60-byte row of the shared gait data set:
35 MB). The bound leaves half as much again; a bigger file is not one recording, and parsing it would
take gigabytes of memory."""
MAX_SIDECAR_BYTES = 2**20
"""Largest JSON sidecar read, bytes (1 MiB), checked before it is read. A real sidecar is a few kB
(the shared gait data set's largest, with its reference walking periods, is 4.3 kB); a bigger one is
not a sidecar."""

LINE_PROBE_BYTES = 32 * 1024
"""A trial file's lines are a few hundred bytes (a station CSV with every column, about 300): a file
with :data:`LINE_PROBE_BYTES` on end without a line break (found in aligned blocks of that size, so a
line up to 32 KiB is always read and one over 64 KiB never) is refused from that, before its lines
are split or parsed: an 80 MB line of 20 million values took 1.6 GB of memory and 50 s to be refused
for its number of values, and a 256 MB one would take 5 GB."""

_BINARY_PROBE_BYTES = 8192
_BREAK_BYTES = re.compile(rb"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\xa8\xa9]")
"""Bytes of every line break ``str.splitlines`` knows (\\x85, \\u2028 and \\u2029 by their last UTF-8
byte: a line is never refused for a break this misses)."""


class _Unreadable(Exception):
    """A file that is not a readable regular file within its size bound; ``problem`` says why."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


class TrialFileError(ValueError):
    """A trial file that cannot be read or written; ``str(e)`` is one line: ``<path>: <problem>``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}")


@dataclass
class TrialData:
    """One trial read from disk. Arrays are float64 (``t_ns`` and ``seq`` in ``extra``: int64), one value
    per sample, units in the names."""

    path: str
    format: str  # STATION_CSV or SANTOS_DUARTE
    time_s: np.ndarray
    ap_cm: np.ndarray
    ml_cm: np.ndarray
    fz_n: np.ndarray | None
    corners_n: dict[str, np.ndarray] | None  # keys "fl_n", "fr_n", "bl_n", "br_n"
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other numeric columns
    fs_hz: float = float("nan")  # sidecar ``rate_hz`` if present, else from the median time step
    metadata: dict = field(default_factory=dict)  # sidecar JSON contents ({} if none)
    grid_index: np.ndarray | None = None
    """Each sample's place on the sample grid, 0 for the first (int64): consecutive unless frames
    were lost, then it skips them (``time_s`` has a gap of whole periods). Analysis either handles
    such gaps explicitly or refuses the recording (DESIGN.md §3)."""

    @property
    def samples_lost(self) -> int:
        """Samples missing from the grid between the first and the last (lost frames)."""
        if self.grid_index is None or len(self.grid_index) == 0:
            return 0
        return int(self.grid_index[-1] + 1 - len(self.grid_index))

    @property
    def samples(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        """N / fs, the duration the sway metrics use (DESIGN.md §5)."""
        return self.samples / self.fs_hz


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a trial file: same name, suffix ``.json``."""
    return Path(path).with_suffix(".json")


# --------------------------------------------------------------------------------------------
# Reading


def read_trial(
    path: str | os.PathLike,
    *,
    allow_nan: bool = False,
    allow_truncated: bool = False,
    allow_gaps: bool = False,
    fast: bool = False,
    columns: Collection[str] | None = None,
) -> TrialData:
    """Read and validate a trial file (our CSV or Santos & Duarte text), detected from its header.

    Parameters
    ----------
    path : path-like
        The trial file. Its JSON sidecar (``<name>.json``), when present, becomes ``metadata``.
    allow_nan : bool
        Accept NaN in the data columns other than ``time_s`` (e.g. COP of low-load frames, which
        the acquisition marks NaN). Default False: NaN anywhere is an error. Infinite values are
        always an error.
    allow_truncated : bool
        Drop an incomplete last line (no final newline and too few values), as left by a crash
        while recording. Default False: such a line is an error.
    allow_gaps : bool
        Accept gaps of whole sample periods in ``time_s`` (lost frames), reported in
        ``grid_index``, for a caller that handles them explicitly (``analyze``). Default False:
        a gap is an error, so that no reader closes one without knowing.
    fast : bool
        Parse the numbers with pyarrow's CSV reader when pyarrow is installed (the ``fastcsv``
        extra): about 6 times faster than numpy's on a 60 s Santos & Duarte file, worth its
        import (about 0.1 s) in a batch of files. Same values bit for bit (both round each number
        correctly) and same errors: a file the fast reader refuses, or with any value that is not
        finite, is parsed again the usual way, which names the problem. Default False.
    columns : collection of str, optional
        The columns the caller needs (names as in :class:`TrialData`: ``time_s``, ``ap_cm``,
        ``ml_cm``, ``fz_n``, ``fl_n`` ..., extra names); ``time_s, ap_cm, ml_cm`` are always read.
        The others are not returned, and with ``fast`` they are not converted to numbers: a file
        whose other columns hold only non-empty fields of digits, ``-`` and ``.`` has only the
        needed columns converted (on a 60 s Santos & Duarte file 3 of 9: about half the parse); any
        other file (a letter, ``NA``, ``nan``, an exponent, an empty value, a space) is read whole,
        as without ``columns``, and every error is the same. The one difference: a field of an
        unneeded column made of those characters without being a finite number (``1-2``,
        ``1.2.3``, a lone ``-``, 309 digits) is not noticed on the fast path. ``t_ns`` and ``seq``
        are checked as whole numbers whether needed or not. Default None: every column.

    Returns
    -------
    TrialData

    Raises
    ------
    TrialFileError
        With a one-line message naming the file and the problem.
    """
    path = Path(path)
    check_trial_file(path)  # cheap checks first: the file's kind and size, then the sidecar
    metadata = _read_sidecar(path)
    raw = _read_bytes(path)
    # both readers take the bytes as they are (no decoding, splitting and joining of lines) when
    # they are plain ASCII text; anything else, or anything they refuse, is read the usual way
    wanted = None if columns is None else frozenset(columns).union(REQUIRED_COLUMNS)
    fast_read = _read_fast(path, raw, wanted) if fast and not allow_truncated else None
    if fast_read is not None:
        fmt, names, delimiter, first, body, columns = fast_read
        del raw, fast_read
        integers = _integer_columns(path, (body, 0, len(body)), names, delimiter, first + 2)
        del body
    else:
        # plain ASCII text is parsed from its bytes (the file and the table at the peak, under 2
        # times the file's size); any other text, or one that parser refuses, the usual way (str,
        # lines, joined lines: about 9 times the file), which names any problem
        plain = _read_plain(path, raw, allow_truncated)
        if plain is not None:
            fmt, names, delimiter, first, table, data = plain
        else:
            fmt, names, delimiter, first, table, data = _read_text_table(path, raw, allow_truncated)
        del raw, plain
        # the fast reader took finite values only
        _check_values(path, {name: table[:, j] for j, name in enumerate(names)}, allow_nan, first_line_no=first + 2)
        integers = _integer_columns(path, data, names, delimiter, first + 2)
        del data  # the file's bytes or lines: gone before the table is split into columns
        columns = {
            name: np.ascontiguousarray(table[:, j]) for j, name in enumerate(names) if wanted is None or name in wanted
        }
        del table
    for name, values in integers.items():  # checked whole numbers even when not needed (columns=)
        if wanted is None or name in wanted:
            columns[name] = values
    time_s = columns.pop("time_s")
    fs_hz = _sample_rate(path, fmt, time_s, metadata, first_line_no=first + 2)
    grid_index = _grid_index(path, time_s, fs_hz, first_line_no=first + 2, allow_gaps=allow_gaps)
    if metadata.get("rate_hz") is not None:
        check_rate_agreement(path, fs_hz, grid_index, time_s)
    ap = columns.pop("ap_cm")
    ml = columns.pop("ml_cm")
    fz = columns.pop("fz_n", None)
    corners = None
    if all(c in columns for c in CORNER_COLUMNS):
        corners = {c: columns.pop(c) for c in CORNER_COLUMNS}
    return TrialData(
        path=str(path),
        format=fmt,
        time_s=time_s,
        ap_cm=ap,
        ml_cm=ml,
        fz_n=fz,
        corners_n=corners,
        extra=columns,
        fs_hz=fs_hz,
        metadata=metadata,
        grid_index=grid_index,
    )


_ANY_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""Where ``str.splitlines`` ends a line."""


def looks_like_trial(path: str | os.PathLike) -> bool:
    """Whether a file found in a directory should be treated as a trial file.

    True when its first non-blank line is a trial header (our CSV with ``time_s``, or Santos &
    Duarte with ``Time[s]``/``COPx[cm]``), and also when it is empty, binary or unreadable, so that
    a broken trial is reported rather than skipped. False for other text files (notes, tables).
    """
    try:
        head = _read_regular(Path(path), None, probe=_BINARY_PROBE_BYTES)
    except (_Unreadable, OSError):
        return True  # a pipe, a device, an unreadable file: reported by the reader
    if not head.strip() or b"\x00" in head:
        return True
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut by the probe
            return True
        text = head[: exc.start].decode("utf-8-sig")
    # the first non-blank line, from its first non-blank character (what comes before is blanks, which
    # neither test below sees) to its line break (str.splitlines's), without splitting all 8 kB
    rest = text.lstrip()
    end = _ANY_LINE_BREAK.search(rest)
    first = rest if end is None else rest[: end.start()]
    tokens = first.split()
    if "Time[s]" in tokens or "COPx[cm]" in tokens or "COPy[cm]" in tokens:
        return True
    return "time_s" in [n.strip() for n in first.split(",")]


def _read_text(path: Path) -> str:
    return _decode(path, _read_bytes(path))


def _open_regular(path: Path, limit: int | None) -> tuple[io.BufferedReader, int]:
    """``(file, size)``: :func:`station.tomlschema.open_regular`, its refusal an :class:`_Unreadable`."""
    try:
        return open_regular(path, limit)
    except NotARegularFile as exc:
        raise _Unreadable(str(exc)) from None


def _read_regular(path: Path, limit: int | None, probe: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them (:func:`_open_regular`), or its first
    ``probe`` bytes: what the file held when opened (a file still growing is read to there)."""
    f, size = _open_regular(path, limit)
    with f:
        return f.read(size if probe is None else min(probe, size))


def check_trial_file(path: Path) -> None:
    """Refuse, before anything is read, a path that is not a regular file of at most
    :data:`MAX_TRIAL_BYTES` (one line, :class:`TrialFileError`); cheap: one ``os.stat``."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise TrialFileError(path, _os_problem(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise TrialFileError(path, "is a directory, not a trial file")
    if not stat.S_ISREG(info.st_mode):
        raise TrialFileError(path, f"is {file_kind(info.st_mode)}, not a regular file: give the recording's file itself")
    if info.st_size > MAX_TRIAL_BYTES:
        raise TrialFileError(path, _too_big(info.st_size))


def _too_big(size: int) -> str:
    return (
        f"is {size / 1e6:.0f} MB, over the {MAX_TRIAL_BYTES / 1e6:.0f} MB a trial file can be (a 30-minute "
        "recording at 320 Hz with every column is under 180 MB): not one recording; cut it into parts"
    )


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a trial file"
    if isinstance(exc, PermissionError):
        return "permission denied; check the file's permissions"
    return f"cannot read: {exc.strerror or exc}"


def _open_trial(path: Path) -> tuple[io.BufferedReader, int]:
    """``(file, size)``: a trial file opened for reading (:func:`_open_regular`, at most
    :data:`MAX_TRIAL_BYTES`), every problem one line naming it (:class:`TrialFileError`)."""
    check_trial_file(path)
    try:
        return _open_regular(path, MAX_TRIAL_BYTES)
    except _Unreadable as exc:
        if "bound" in exc.problem:  # grew past the bound since the check
            raise TrialFileError(path, _too_big(MAX_TRIAL_BYTES + 1)) from None
        raise TrialFileError(path, f"{exc.problem}: give the recording's file itself") from None
    except OSError as exc:
        raise TrialFileError(path, _os_problem(exc)) from None


def _refuse_binary(path: Path, head: bytes) -> None:
    """Refuse a file whose first :data:`_BINARY_PROBE_BYTES` (``head``) hold a NUL byte."""
    if b"\x00" in head[:_BINARY_PROBE_BYTES]:
        raise TrialFileError(path, "binary file, not a text trial file (expected a CSV or Santos & Duarte text)")


def _refuse_long_lines(path: Path, data: bytes, offset: int = 0, lines_before: int = 0) -> None:
    """Refuse ``data`` (the file's bytes from ``offset``, after ``lines_before`` line breaks) when an
    aligned block of :data:`LINE_PROBE_BYTES` in it holds no line break.

    >>> try:
    ...     _refuse_long_lines(Path("walk.csv"), b"time_s,ap_cm,ml_cm\\n" + b"0.0," * 20_000)
    ... except TrialFileError as exc:
    ...     print(exc)
    walk.csv: line 2 runs over 32 KiB without a line break (from byte 32768): a recording's lines hold a few hundred characters; this is not one
    """
    block = LINE_PROBE_BYTES
    for at in range(0, len(data) - block + 1, block):
        if not _BREAK_BYTES.search(data, at, at + block):
            line = lines_before + data.count(b"\n", 0, at) + 1
            raise TrialFileError(path, f"line {line} runs over {block // 1024} KiB without a line break (from byte "
                                       f"{offset + at}): a recording's lines hold a few hundred characters; this is not one")


def _read_bytes(path: Path) -> bytes:
    f, size = _open_trial(path)
    with f:
        try:
            raw = f.read(size)  # what the file held when opened (a file still growing is read to there)
        except OSError as exc:
            raise TrialFileError(path, _os_problem(exc)) from None
    _refuse_binary(path, raw)
    _refuse_long_lines(path, raw)
    return raw


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrialFileError(
            path, f"not UTF-8 text (undecodable byte at offset {exc.start}); expected a CSV or Santos & Duarte text"
        ) from None


def _split(line: str, delimiter: str | None) -> list[str]:
    return line.split(delimiter) if delimiter else line.split()


def _parse_header(path: Path, header_line: str) -> tuple[str, list[str], str | None]:
    tokens_ws = header_line.split()
    if "Time[s]" in tokens_ws or any(t in tokens_ws for t in ("COPx[cm]", "COPy[cm]")):
        return _santos_duarte_header(path, tokens_ws)
    names = [n.strip() for n in header_line.split(",")]
    if "time_s" not in names:
        shown = header_line.strip()
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise TrialFileError(
            path,
            f"unrecognised header {shown!r}: expected a trial CSV with columns "
            f"{','.join(REQUIRED_COLUMNS)} or a Santos & Duarte file (Time[s] ... COPx[cm] COPy[cm])",
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise TrialFileError(
            path, f"missing column(s) {', '.join(missing)}; a trial CSV needs {','.join(REQUIRED_COLUMNS)}"
        )
    if any(not n for n in names):
        raise TrialFileError(path, f"empty column name in header (column {names.index('') + 1})")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TrialFileError(path, f"duplicate column(s) {', '.join(dupes)} in header")
    return STATION_CSV, names, ","


def _santos_duarte_header(path: Path, tokens: list[str]) -> tuple[str, list[str], str | None]:
    unknown = [t for t in tokens if t not in SANTOS_DUARTE_COLUMNS]
    if unknown:
        raise TrialFileError(
            path,
            f"unknown column(s) {', '.join(unknown)} in a Santos & Duarte header; expected "
            f"{' '.join(SANTOS_DUARTE_COLUMNS)}",
        )
    missing = [t for t in ("Time[s]", "COPx[cm]", "COPy[cm]") if t not in tokens]
    if missing:
        raise TrialFileError(path, f"missing column(s) {', '.join(missing)} in a Santos & Duarte header")
    dupes = sorted({n for n in tokens if tokens.count(n) > 1})
    if dupes:
        raise TrialFileError(path, f"duplicate column(s) {', '.join(dupes)} in header")
    return SANTOS_DUARTE, [SANTOS_DUARTE_COLUMNS[t] for t in tokens], None


def _parse_numbers(
    path: Path, data_lines: list[str], names: list[str], delimiter: str | None, first_line_no: int,
    usecols: Sequence[int] | None = None,
) -> np.ndarray:
    """Fast path with numpy's C parser; on failure, find the first bad line for the message. With
    ``usecols`` (indices into ``names``; needs a ``delimiter``), only those columns are parsed, in
    that order: every line must still hold ``len(names)`` values (:func:`_lines_have`), but a value
    in another column is not looked at."""
    try:
        table = np.loadtxt(
            io.StringIO("\n".join(data_lines)),
            delimiter=delimiter,
            comments=None,
            dtype=np.float64,
            ndmin=2,
            usecols=usecols,
        )
    except ValueError:
        table = None
    width = len(names) if usecols is None else len(usecols)
    if (table is not None and table.shape == (len(data_lines), width)
            and (usecols is None or _lines_have(data_lines, len(names), delimiter))):
        return table
    _diagnose(path, data_lines, names, delimiter, first_line_no, usecols)
    raise TrialFileError(path, "cannot parse the numbers (unexpected layout)")  # pragma: no cover


def _read_plain(path: Path, raw: bytes, allow_truncated: bool):
    """``(format, names, delimiter, first, table, (raw, data_start, data_end))`` of a plain ASCII
    trial file parsed straight from its bytes (:func:`parse_plain_csv`), or None when it is not one
    or that parser refuses it (the usual reader then reads it, and names any problem). A bad header
    raises as usual. With ``allow_truncated``, the last data line is left out when the file does not
    end with a line break, as the usual reader does."""
    span = _plain_text_span(raw)
    if span is None:
        return None
    first, header_line, data_start, data_end = span
    fmt, names, delimiter = _parse_header(path, header_line)
    if allow_truncated and not raw.endswith((b"\n", b"\r")):
        cut = max(raw.rfind(b"\n", data_start, data_end), raw.rfind(b"\r", data_start, data_end))
        if cut < 0:
            return None  # no data line before the one cut short: said by the usual reader
        data_end = cut - 1 if raw.startswith(b"\r\n", cut - 1) else cut
        span = (first, header_line, data_start, data_end)
    table = parse_plain_csv(raw, span, len(names), delimiter)
    if table is None:
        return None
    return fmt, names, delimiter, first, table, (raw, data_start, data_end)


def _read_text_table(path: Path, raw: bytes, allow_truncated: bool):
    """:func:`_read_plain`'s result, read the usual way (:class:`TextLines`: decoded and split into
    lines :data:`TEXT_BLOCK_BYTES` at a time; ``data`` is the :class:`TextLines`), every problem one
    line naming the file."""
    text = TextLines(path, raw, lambda line: _parse_header(path, line)[1:], allow_truncated=allow_truncated)
    fmt = _parse_header(path, text.header_line)[0]
    return fmt, text.names, text.delimiter, text.first, text.table(), text


TEXT_BLOCK_BYTES = 2**20
"""Bytes of text decoded, split and parsed at a time when a file is not plain ASCII (:class:`TextLines`):
its peak is the file, the table and one block, not several copies of the whole text. Also the bytes
:func:`stream_columns` reads at a time (a block of 1 MiB holds about 4 MB at its peak: the block, its
table, numpy's parse; blocks of 256 kB made a 122 MB file's parse 13 % slower, of 4 MiB no faster)."""


class TextLines:
    """The header and data lines of a trial text that is not plain ASCII, the usual way (UTF-8, a
    byte-order mark dropped, lines as ``str.splitlines`` ends them, the first non-blank line the
    header, blank lines at the end dropped), :data:`TEXT_BLOCK_BYTES` of whole lines at a time.

    Decoded whole, a 150 MB recording with one non-ASCII character peaked at 1.19 GB (the text, its
    lines, their join and a ``StringIO`` of it), and ``analyze`` of an 80 MB station CSV at 9.7
    times the file. Every number and error is the one of the whole text: a problem found in a
    block (a bad header, a line that is not numbers) is said only once the rest of the file is
    known to be UTF-8, as decoding it whole said an undecodable byte first.

    Parameters
    ----------
    path : Path
        The file, for the messages.
    raw : bytes
        Its bytes.
    header : callable
        ``header(line) -> (names, delimiter)``: the column names of a header line (``delimiter``
        between values, None for runs of blanks), raising :class:`TrialFileError` for one that is
        not a header.
    allow_truncated : bool
        Drop the last data line when the file does not end with a line break (as
        :func:`read_trial`).

    Raises
    ------
    TrialFileError
        Not UTF-8, empty (no header), a header ``header`` refuses.
    """

    def __init__(self, path: Path, raw: bytes, header, *, allow_truncated: bool = False):
        self.path, self._raw, self._allow_truncated = path, raw, allow_truncated
        self._end = text_end(raw)
        found = None
        for line_no, stop, lines in self._blocks():
            at = next((i for i, line in enumerate(lines) if line.strip()), None)
            if at is not None:
                found = (line_no - 1 + at, lines[at], stop)
                break
        if found is None:
            raise TrialFileError(path, "empty file (no header, no samples)")
        self.first, self.header_line, stop = found
        """Index of the header line among the text's lines (0 for the first), and the line."""
        self.names, self.delimiter = self._said_after_decoding(stop, header, self.header_line)

    def _blocks(self, start: int = 0, line_no: int = 1):
        """``(line_no, stop, lines)``: the decoded lines of ``raw[start:stop]`` (whole lines; \n
        never ends a UTF-8 sequence), numbered from ``line_no``, up to :func:`text_end`."""
        raw, end = self._raw, self._end
        while start < end:
            stop = raw.find(b"\n", min(start + TEXT_BLOCK_BYTES, end))
            stop = end if stop < 0 or stop >= end else stop + 1
            lines = _decoded(self.path, raw[start:stop], start, raw.startswith(_BOM)).splitlines()
            yield line_no, stop, lines
            line_no += len(lines)
            start = stop

    def _said_after_decoding(self, stop: int, work, *args):
        """``work(*args)``; a :class:`TrialFileError` it raises is said once the text after ``stop``
        decodes (else the undecodable byte is, as decoding the whole text said it first)."""
        try:
            return work(*args)
        except TrialFileError:
            for _ in self._blocks(stop):
                pass
            raise

    def data_blocks(self):
        """``(line_no, stop, lines)``: the data lines, a block at a time, numbered as in the file;
        blank lines at the end, and with ``allow_truncated`` a last line not ended by a line break,
        left out (a block's last non-blank line and the blank ones after it wait for the next
        block, so that the end is found whatever the blocks)."""
        skip = self.first + 1
        held: list[str] = []
        held_no = 0
        stop = 0
        for line_no, stop, lines in self._blocks():
            if skip:
                cut = min(skip, len(lines))
                lines, line_no, skip = lines[cut:], line_no + cut, skip - cut
            if held:
                lines, line_no = held + lines, held_no
            last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), 0)
            if last:
                yield line_no, stop, lines[:last]
            held, held_no = lines[last:], line_no + last
        while held and not held[-1].strip():
            held.pop()
        if held and self._allow_truncated and not self._raw.endswith((b"\n", b"\r")):
            held.pop()  # complete lines always end with a line break: this one was cut short
        if held:
            yield held_no, stop, held

    def table(self) -> np.ndarray:
        """The numbers of the data lines, one row a line (:func:`_parse_numbers`, every problem one
        line naming the file and the line)."""
        raw = self._raw
        # one row a line break at most (a file whose lines end in other breaks grows the table)
        table = np.empty((max(raw.count(b"\n"), raw.count(b"\r")) + 1, len(self.names)))
        rows = 0
        for line_no, stop, lines in self.data_blocks():
            block = self._said_after_decoding(stop, _parse_numbers, self.path, lines, self.names, self.delimiter,
                                              line_no)
            if rows + block.shape[0] > table.shape[0]:
                table = np.concatenate((table[:rows], block))
            else:
                table[rows : rows + block.shape[0]] = block
            rows += block.shape[0]
        if not rows:
            raise TrialFileError(self.path, "header only, no samples")
        return table[:rows]

    def integers(self, j: int, name: str) -> np.ndarray:
        """Column ``j`` (``name``) of the data lines as exact int64 (:func:`_parse_integers`)."""
        parts = [_parse_integers(self.path, lines, j, name, self.delimiter, line_no)
                 for line_no, _stop, lines in self.data_blocks()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


_BOM = b"\xef\xbb\xbf"


def _decoded(path: Path, block: bytes, start: int, bom: bool) -> str:
    """``block``, the bytes of a text from offset ``start`` (whole lines: \\n and \\r never end a UTF-8
    sequence), decoded as UTF-8 (a byte-order mark dropped at the start); an undecodable byte is the
    file's error at the offset a decoder of the whole text says (after the mark, when ``bom``)."""
    try:
        return block.decode("utf-8-sig" if start == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + (start - 3 if start and bom else start)
        raise TrialFileError(path, f"not UTF-8 text (undecodable byte at offset {offset}); "
                             "expected a CSV or Santos & Duarte text") from None


def _line_chunks(path: Path):
    """``(start, chunk, size)``: the file's bytes from offset ``start``, read :data:`TEXT_BLOCK_BYTES`
    at a time and cut after a line break (\\n, or \\r not followed by \\n: a \\r\\n, a line, a UTF-8
    character are never split), to the ``size`` it had when opened (:func:`_open_trial`). A binary
    file is refused from its first :data:`_BINARY_PROBE_BYTES` (the first read holds them) before
    anything is given; a line longer than a block makes a longer chunk."""
    f, size = _open_trial(path)
    with f:
        start = done = lines_before = 0
        pieces: list[bytes] = []
        while True:
            want = min(TEXT_BLOCK_BYTES if done else max(TEXT_BLOCK_BYTES, _BINARY_PROBE_BYTES), size - done)
            try:
                data = f.read(want) if want > 0 else b""
            except OSError as exc:
                raise TrialFileError(path, _os_problem(exc)) from None
            if not done:
                _refuse_binary(path, data)
            _refuse_long_lines(path, data, done, lines_before)  # a line longer than a block: bounded
            lines_before += data.count(b"\n")
            done += len(data)
            cut = len(data) if done >= size else max(data.rfind(b"\n") + 1, data.rfind(b"\r", 0, len(data) - 1) + 1)
            if not data or not cut:  # the end (a file that shrank, too), or no line break yet
                if not data:
                    if pieces:
                        yield start, b"".join(pieces), size
                    return
                pieces.append(data)
                continue
            chunk = b"".join([*pieces, memoryview(data)[:cut]])
            pieces = [data[cut:]] if cut < len(data) else []
            del data  # not held while the chunk is read
            yield start, chunk, size
            start += len(chunk)
            del chunk  # nor while the next one is
            if done >= size:
                return


def stream_columns(path: str | os.PathLike, header, pick) -> tuple[int, dict[str, np.ndarray]]:
    """``(first_line_no, columns)``: some columns of a trial text's data lines as float64 arrays, read
    :data:`TEXT_BLOCK_BYTES` of lines at a time (:func:`_line_chunks`), so that the peak is the
    columns and a block, not the file: ``balance-station gait`` of a 2-hour station trial CSV
    (122 MB, 16 columns), whose 7 columns gait reads are 40 MB, peaked at 173 MB with the file read
    whole.

    The lines are those of the whole text decoded at once, as :class:`TextLines` has them (UTF-8, a
    byte-order mark dropped, lines as ``str.splitlines`` ends them, the first non-blank line the
    header, blank lines at the end dropped), and so are the numbers and every problem: a plain ASCII
    block is parsed from its bytes (:func:`parse_plain_csv`), any other, or one that parser refuses,
    from its decoded lines (:func:`_parse_numbers`, which names the problem). A problem is said once
    the rest of the file is known to be UTF-8 (else its undecodable byte is, as decoding the whole
    text said it first). Each column's array is allocated for the rows the file's size promises at
    the rate of the lines read so far (3 % more) but at most 1.5 times those read, grown in place
    when the file holds more (:class:`_GrowingColumns`): nothing is reserved for a file's blank tail.

    Parameters
    ----------
    path : path-like
        A trial text (a regular file of at most :data:`MAX_TRIAL_BYTES`).
    header : callable
        ``header(line) -> (names, delimiter)``, as for :class:`TextLines`; ``delimiter`` a string.
    pick : callable
        ``pick(names) -> indices``: the columns to read, in the order wanted.

    Returns
    -------
    first_line_no : int
        The first data line's number in the file (1 for the file's first line).
    columns : dict of str to ndarray
        The picked columns by name, one float64 value a data line.

    Raises
    ------
    TrialFileError
        One line naming the file and the problem: the file's kind or size, binary, not UTF-8, empty,
        a header ``header`` refuses, header only, a data line that is blank, of another width than
        the header, or with a value that is not a number in a picked column.
    """
    reader = _ColumnReader(Path(path), header, pick)
    for start, chunk, size in _line_chunks(reader.path):
        reader.feed(start, chunk, size)
        del chunk  # not held while the next block is read
    return reader.result()


class _ColumnReader:
    """The state of :func:`stream_columns` between blocks: the header once found, the next line's
    number, the first of the blank lines held after the last data line (a data line after them
    refuses the file), a problem waiting for the rest of the file to decode, the columns so far."""

    def __init__(self, path: Path, header, pick):
        self.path, self._header, self._pick = path, header, pick
        self.first: int | None = None  # the header's index among the lines
        self.names: list[str] = []
        self.delimiter = ","
        self.usecols: list[int] = []
        self.line_no = 1  # the number of the next line
        self.blank_no: int | None = None
        self.problem: TrialFileError | None = None
        self.bom = False
        self.columns: _GrowingColumns | None = None

    def feed(self, start: int, chunk: bytes, size: int) -> None:
        """Read the lines of ``chunk`` (the file's bytes from ``start``, whole lines)."""
        if start == 0:
            self.bom = chunk.startswith(_BOM)
        plain = chunk.isascii() and not any(c in chunk for c in _NOT_PLAIN) and (
            b"\r" not in chunk or chunk.count(b"\r") == chunk.count(b"\r\n"))
        if self.problem is not None:
            if not plain:
                _decoded(self.path, chunk, start, self.bom)  # an undecodable byte is said first
            return
        lines = None if plain else _decoded(self.path, chunk, start, self.bom).splitlines()
        try:
            if plain:
                self._plain(chunk, start + len(chunk), size)
            else:
                self._text(lines, start + len(chunk), size)
        except TrialFileError as problem:
            self.problem = problem

    def _found_header(self, at: int, line: str) -> None:
        """The header is line ``at`` of the block starting at line :attr:`line_no`."""
        self.first = self.line_no - 1 + at
        self.line_no = self.first + 2
        self.names, self.delimiter = self._header(line)
        self.usecols = list(self._pick(self.names))

    def _blank_only(self, lines: int) -> None:
        """``lines`` blank lines after the data so far: held (data after them refuses the file)."""
        if lines and self.blank_no is None and self.first is not None:
            self.blank_no = self.line_no
        self.line_no += lines

    def _data(self, parse, done: int, size: int) -> None:
        """Data lines (not blank at either end) from line :attr:`line_no`: ``parse()`` their table,
        one row a line."""
        if self.blank_no is not None:
            raise TrialFileError(self.path, f"line {self.blank_no}: blank line inside the data")
        table = parse()
        if self.columns is None:
            self.columns = _GrowingColumns(len(self.usecols))
        self.columns.add(table, done, size)
        self.line_no += table.shape[0]

    def _plain(self, chunk: bytes, done: int, size: int) -> None:
        """A block of plain ASCII lines (:data:`_NOT_PLAIN` absent, each ended by \\n or \\r\\n), read
        from its bytes (the header found as :func:`_plain_text_span` finds it)."""
        at = 0
        if self.first is None:
            found = _NOT_BLANK.search(chunk)
            if found is None:
                self._blank_only(_plain_line_count(chunk, 0))
                return
            line_start = chunk.rfind(b"\n", 0, found.start()) + 1
            header_end = _LINE_BREAK.search(chunk, found.start())
            at = len(chunk) if header_end is None else header_end.start() + (
                2 if chunk.startswith(b"\r\n", header_end.start()) else 1)
            self._found_header(chunk.count(b"\n", 0, line_start),
                               chunk[line_start : at if header_end is None else header_end.start()].decode("ascii"))
        last = text_end(chunk)
        if last <= at:
            self._blank_only(_plain_line_count(chunk, at))
            return
        data_end = _LINE_BREAK.search(chunk, last)
        data_end = len(chunk) if data_end is None else data_end.start()
        names, delimiter, usecols = self.names, self.delimiter, self.usecols

        def parse() -> np.ndarray:
            table = parse_plain_csv(chunk, (0, "", at, data_end), len(names), delimiter, usecols)
            if table is None:  # the usual parser names the problem
                lines = chunk[at:data_end].decode("ascii").splitlines()
                table = _parse_numbers(self.path, lines, names, delimiter, self.line_no, usecols)
            return table

        self._data(parse, done, size)
        after = data_end + (2 if chunk.startswith(b"\r\n", data_end) else 1)
        self._blank_only(_plain_line_count(chunk, after))

    def _text(self, lines: list[str], done: int, size: int) -> None:
        """A block's decoded lines (``str.splitlines``), read as :class:`TextLines` reads them."""
        at = 0
        if self.first is None:
            found = next((i for i, line in enumerate(lines) if line.strip()), None)
            if found is None:
                self._blank_only(len(lines))
                return
            self._found_header(found, lines[found])
            at = found + 1
        last = next((i for i in range(len(lines) - 1, at - 1, -1) if lines[i].strip()), None)
        if last is None:
            self._blank_only(len(lines) - at)
            return
        self._data(lambda: _parse_numbers(self.path, lines[at : last + 1], self.names, self.delimiter, self.line_no,
                                          self.usecols), done, size)
        self._blank_only(len(lines) - last - 1)

    def result(self) -> tuple[int, dict[str, np.ndarray]]:
        if self.problem is not None:
            raise self.problem
        if self.first is None:
            raise TrialFileError(self.path, "empty file (no header, no samples)")
        if self.columns is None:
            raise TrialFileError(self.path, "header only, no samples")
        return self.first + 2, dict(zip((self.names[j] for j in self.usecols), self.columns.arrays()))


def _plain_line_count(chunk: bytes, start: int) -> int:
    """Lines of a plain block (:meth:`_ColumnReader._plain`) from ``start``, a line's start."""
    if start >= len(chunk):
        return 0
    return chunk.count(b"\n", start) + (not chunk.endswith(b"\n"))


class _GrowingColumns:
    """Float64 columns filled a block of rows at a time, each its own array (a caller that copies
    some into a table and drops them holds one at a time, not a table of all): allocated for the
    rows the file's size promises at the rate so far (3 % more) but at most
    :data:`_GROWTH` times the rows read so far, grown in place (``ndarray.resize``: ``realloc``,
    which moves a large array's pages rather than copying them) when it holds more, cut to their
    rows the same way at the end. What is reserved is thus at most 1.5 times the rows read, whatever
    the file's shape: allocated at once for the rows the first block's rate promised, a 151 MB file
    of 1 MiB of data then blank lines reserved 394 MB for the 4 MB of its 4 columns."""

    def __init__(self, width: int):
        self._arrays = [np.empty(0) for _ in range(width)]
        self.rows = 0

    def add(self, table: np.ndarray, done: int, size: int) -> None:
        """The rows of ``table`` (one column each), ``done`` of the file's ``size`` bytes read."""
        rows = self.rows + table.shape[0]
        if rows > self._arrays[0].shape[0]:
            promised = int(rows * size / max(done, 1) * 1.03) + 64
            capacity = max(rows, min(promised, int(rows * _GROWTH) + 64))
            for values in self._arrays:
                values.resize(capacity, refcheck=False)  # no view of it is held
        for j, values in enumerate(self._arrays):
            values[self.rows : rows] = table[:, j]
        self.rows = rows

    def arrays(self) -> list[np.ndarray]:
        """The columns, each of :attr:`rows` values."""
        for values in self._arrays:
            values.resize(self.rows, refcheck=False)
        return list(self._arrays)


_GROWTH = 1.5
""":class:`_GrowingColumns` reserves at most the rows read so far times this (and 64)."""


def _integer_columns(
    path: Path, data: list[str] | tuple[bytes, int, int] | TextLines, names: list[str], delimiter: str | None,
    first_line_no: int
) -> dict[str, np.ndarray]:
    """The :data:`INTEGER_COLUMNS` of the file, parsed again as exact int64, by name. ``data`` is
    the data lines, a :class:`TextLines` (a block of them at a time), or ``(buffer, start, end)``:
    the plain ASCII data lines ``buffer[start:end]`` (:func:`_plain_text_span`), parsed from the
    bytes; their lines are made only when a value is not a whole number, to name its line."""
    found = {}
    for j, name in enumerate(names):
        if name not in INTEGER_COLUMNS:
            continue
        values = None
        if isinstance(data, tuple):
            buffer, start, end = data
            values = _parse_plain_integers(buffer, start, end, j, delimiter)
            if values is None:
                data = buffer[start:end].decode("ascii").splitlines()  # the usual reader's data lines
        if isinstance(data, TextLines):
            values = data.integers(j, name)
        elif values is None:
            values = _parse_integers(path, data, j, name, delimiter, first_line_no)
        found[name] = values
    return found


def _plain_lines(raw: bytes, start: int, end: int):
    """``(lines, count)``: the lines of ``raw[start:end]`` (plain ASCII, ended by \\n or \\r\\n,
    :func:`_plain_text_span`) as an iterator of bytes for ``np.loadtxt``, without copying ``raw``: a
    ``BytesIO`` shares the buffer of the bytes it is given, and its lines stop at ``end``."""
    stream = io.BytesIO(raw)
    stream.seek(start)
    count = raw.count(b"\n", start, end) + 1
    return itertools.islice(stream, count), count


def _parse_plain_integers(raw: bytes, start: int, end: int, j: int, delimiter: str | None) -> np.ndarray | None:
    """Column ``j`` of the plain data lines ``raw[start:end]`` as exact int64 (numpy's parser, as
    :func:`_parse_integers`), or None (a value that is not a whole number, which that function then
    names)."""
    lines, count = _plain_lines(raw, start, end)
    try:
        values = np.loadtxt(lines, delimiter=delimiter, comments=None, dtype=np.int64, usecols=(j,), ndmin=1,
                            encoding="ascii")
    except ValueError:
        return None
    return values if values.shape == (count,) else None


def _parse_integers(
    path: Path, data_lines: list[str], j: int, name: str, delimiter: str | None, first_line_no: int
) -> np.ndarray:
    """Column ``j`` parsed again as exact int64 (see :data:`INTEGER_COLUMNS`); a value that is not a
    whole number is the file's error, naming the line."""
    try:
        return np.loadtxt(
            io.StringIO("\n".join(data_lines)), delimiter=delimiter, comments=None, dtype=np.int64, usecols=(j,), ndmin=1
        )
    except ValueError:
        pass
    for i, line in enumerate(data_lines):
        value = line.split(delimiter)[j].strip()
        try:
            int(value)
        except ValueError:
            raise TrialFileError(
                path, f"line {first_line_no + i}: {name} must be a whole number, not {value!r}"
            ) from None
    raise TrialFileError(path, f"cannot parse {name} as whole numbers")  # pragma: no cover


_NOT_PLAIN = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f")
"""ASCII characters that ``str.splitlines`` or ``str.strip`` treat as line breaks or blanks besides
\\r, \\n, space and tab: a file with any of them is read the usual way. (Looked for one by one:
``bytes.__contains__`` of one byte is a memchr, some 60 times faster than a regular expression.)"""
_NOT_BLANK = re.compile(rb"[^ \t\r\n]")
_LINE_BREAK = re.compile(rb"[\r\n]")


def _split_plain_text(raw: bytes) -> tuple[int, str, bytes] | None:
    """``(first, header_line, body)`` of a plain ASCII text, or None for any other text.

    The same split as the usual reader's (``raw.decode().splitlines()``, the first non-blank line
    the header, its index ``first``, trailing blank lines dropped), without decoding or splitting:
    ``body`` is the bytes of the data lines, line breaks (\\n, \\r\\n or \\r) as in the file, so
    ``body.decode().splitlines()`` are the usual reader's data lines. None when the text is not
    ASCII or holds a character that splits or blanks lines otherwise (:data:`_NOT_PLAIN`), has no
    header, or has no data line (the usual reader then says what is wrong)."""
    span = _plain_text_span(raw)
    if span is None:
        return None
    first, header_line, data_start, data_end = span
    return first, header_line, raw[data_start:data_end]


def text_end(raw: bytes) -> int:
    """Just after the last character of the last non-blank line of ``raw`` (not a space, tab or line
    break): from its last 64 bytes (the whole file's ``rstrip`` would copy it all), or the whole
    file's when they are all blank."""
    tail_start = max(0, len(raw) - 64)
    tail = raw[tail_start:].rstrip(b" \t\r\n")
    return tail_start + len(tail) if tail or tail_start == 0 else len(raw.rstrip(b" \t\r\n"))


def _plain_text_span(raw: bytes) -> tuple[int, str, int, int] | None:
    """``(first, header_line, data_start, data_end)``: :func:`_split_plain_text`'s split as offsets of
    the data lines in ``raw`` (no copy), or None."""
    if not raw.isascii() or any(c in raw for c in _NOT_PLAIN):
        return None
    found = _NOT_BLANK.search(raw)
    if found is None:
        return None
    line_start = max(raw.rfind(b"\n", 0, found.start()), raw.rfind(b"\r", 0, found.start())) + 1
    blank = raw[:line_start]  # blank lines before the header: \r\n counts once
    first = blank.count(b"\n") + blank.count(b"\r") - blank.count(b"\r\n")
    header_end = _LINE_BREAK.search(raw, found.start())
    if header_end is None:
        return None
    data_start = header_end.start() + (2 if raw.startswith(b"\r\n", header_end.start()) else 1)
    last = text_end(raw)
    if last <= data_start:
        return None
    data_end = _LINE_BREAK.search(raw, last)
    return first, raw[line_start : header_end.start()].decode("ascii"), data_start, (
        data_end.start() if data_end is not None else len(raw))


def parse_plain_csv(
    raw: bytes, span: tuple[int, str, int, int], n_columns: int, delimiter: str | None = ",",
    usecols: Sequence[int] | None = None,
) -> np.ndarray | None:
    """The numbers of a plain ASCII text straight from its bytes, or None (the caller then reads it
    the usual way, which names any problem). ``span`` is :func:`_plain_text_span`'s split of ``raw``
    (whose header the caller has checked), ``delimiter`` the one between values (None: any run of
    blanks, as in a Santos & Duarte file).

    The usual way decodes the bytes, splits them into lines, joins the data lines again and hands
    numpy a ``StringIO`` of them (4 bytes a character): about 9 times the file's size at its peak.
    Here numpy's parser reads the data lines ``raw[data_start:data_end]`` one at a time from a
    ``BytesIO`` that shares ``raw``'s buffer (:func:`_plain_lines`), so the peak is the file and the
    table. The numbers are the same (the same parser on the same characters), every data line must
    be a row of ``n_columns`` numbers: numpy skips a blank line, so a file with one inside its data
    gives a row count that differs, and None.

    With ``usecols`` (column indices; needs a ``delimiter``) only those columns are parsed, in that
    order (the table one column each): every data line must still hold ``n_columns`` values
    (:func:`_plain_lines_have`, counted over the bytes), but the other columns' values are not
    looked at. A 2-hour station trial CSV (122 MB, 16 columns) read for its 7 time and IMU
    columns: a table of 40 MB, not 92 MB."""
    _first, _header, data_start, data_end = span
    if raw.find(b"\r", data_start, data_end) >= 0 and (
            raw.count(b"\r", data_start, data_end) != raw.count(b"\r\n", data_start, data_end)):
        return None  # lines ended by a lone \r, which numpy does not split at
    lines, count = _plain_lines(raw, data_start, data_end)
    try:
        table = np.loadtxt(lines, delimiter=delimiter, comments=None, dtype=np.float64, ndmin=2,
                           encoding="ascii", usecols=usecols)
    except ValueError:
        return None
    if table.shape != (count, n_columns if usecols is None else len(usecols)):
        return None
    if usecols is not None and not _plain_lines_have(raw, data_start, data_end, n_columns, delimiter):
        return None
    return table


def _plain_lines_have(raw: bytes, start: int, end: int, n_columns: int, delimiter: str) -> bool:
    """:func:`_lines_have` of the plain data lines ``raw[start:end]`` (:func:`_plain_lines`), counted
    by numpy over the bytes: each line's delimiters are those before its line break less those before
    the previous one's. A block of 1 MiB takes two comparisons and a search (and the delimiters'
    places, 8 bytes each: about 0.7 MB), against a Python call a line (about 6,000 of them: 10 ms)."""
    marks = np.frombuffer(raw, dtype=np.uint8, count=end - start, offset=start)
    bounds = np.concatenate(([0], np.flatnonzero(marks == ord("\n")), [end - start]))
    per_line = np.diff(np.searchsorted(np.flatnonzero(marks == ord(delimiter)), bounds))
    return bool((per_line == n_columns - 1).all())


def _read_fast(path: Path, raw: bytes, wanted: frozenset[str] | None = None):
    """``(format, names, delimiter, first, body, columns)`` of a file the fast reader takes, else None
    (see :func:`_split_plain_text` and :func:`_parse_fast`); a bad header raises as usual. With
    ``wanted``, ``columns`` holds those of the file's columns (all of them when the others are not
    plain numbers, :func:`_plain_fields`)."""
    split = _split_plain_text(raw)
    if split is None:
        return None
    first, header_line, body = split
    fmt, names, delimiter = _parse_header(path, header_line)
    keep = None
    if wanted is not None and not wanted.issuperset(names):
        boundaries = _plain_fields(body, delimiter)
        if boundaries is not None:
            keep = [j for j, name in enumerate(names) if name in wanted]
    numbers = _parse_fast(body, len(names), delimiter, keep)
    if keep is not None and numbers is not None and boundaries != len(names) * numbers.shape[1] - 1:
        numbers = _parse_fast(body, len(names), delimiter)  # an empty field: read whole (and refused)
        keep = None
    if numbers is None:
        return None
    kept = names if keep is None else [names[j] for j in keep]
    columns = dict(zip(kept, numbers))
    if wanted is not None:
        columns = {name: values for name, values in columns.items() if name in wanted}
    return fmt, names, delimiter, first, body, columns


_NUMBER_CHARACTERS = b"0123456789-."
"""The characters of the numbers of a plain field (no exponent: a file with ``1e999`` is read whole)."""


@lru_cache(maxsize=4)
def _field_classes(delimiter: str) -> bytes:
    """A ``bytes.translate`` table: :data:`_NUMBER_CHARACTERS` -> 1, the delimiter, \\n and \\r -> 0,
    anything else -> 2."""
    table = bytearray(b"\x02" * 256)
    for c in _NUMBER_CHARACTERS:
        table[c] = 1
    table[ord(delimiter)] = table[ord("\n")] = table[ord("\r")] = 0
    return bytes(table)


def _plain_fields(body: bytes, delimiter: str | None) -> int | None:
    """If the data lines ``body`` hold only digits, ``-``, ``.``, the delimiter and line breaks, the
    number of separators between fields that are not next to another one, else None (the check of
    the columns :func:`read_trial` does not convert, ``columns=``).

    The fields are the runs between separators (the delimiter, \\n, \\r\\n or \\r, as pyarrow splits
    them); with F fields, F - 1 separators. Each \\r\\n is two separator bytes side by side, an empty
    field between two separators is two more: counting the separator bytes Z and the pairs of them
    side by side P, ``Z - P = F - 1 - (empty fields inside the text)``. So the caller, once pyarrow
    has found R lines of n fields, knows that no field is empty when the result is ``n R - 1`` (a
    first or last field, at the ends of ``body``, is checked here: ``body`` runs from the first data
    character to the last, :func:`_split_plain_text`). One ``bytes.translate`` (the fast path
    without deletions) and three numpy passes over its 520 kB for a 60 s Santos & Duarte file,
    against the conversion of its six unused columns."""
    classes = body.translate(_field_classes(delimiter or "\t"))
    if not classes or b"\x02" in classes:
        return None
    marks = np.frombuffer(classes, dtype=np.uint8)
    if not (marks[0] and marks[-1]):
        return None
    separators = marks.shape[0] - int(np.count_nonzero(marks))
    side_by_side = marks.shape[0] - 1 - int(np.count_nonzero(marks[1:] | marks[:-1]))
    return separators - side_by_side


def _parse_fast(
    body: bytes, n_columns: int, delimiter: str | None, keep: list[int] | None = None
) -> np.ndarray | None:
    """The numbers of the data lines ``body`` (bytes) by pyarrow's CSV reader, one row per column
    (shape ``(n_columns, lines)``, or ``(len(keep), lines)`` for the columns ``keep`` only), or None
    when pyarrow is not installed, refuses the text, or finds a value that is not finite (then the
    usual parser runs and names any problem).

    Strict where the usual parser is strict: no quoting, no empty values as nulls ("NA", "" are
    errors), no blank lines skipped (an empty line is a row of too few values, refused), one row
    per line (\\n, \\r\\n and \\r end a line, as for ``str.splitlines`` on the plain text
    :func:`_split_plain_text` lets through); whitespace-separated files are read as tab-separated
    (Santos & Duarte's layout), any other spacing falls back. With ``keep`` the other columns are
    tokenized (every line must still have ``n_columns`` fields) but not converted."""
    try:
        import pyarrow
        from pyarrow import csv as arrow_csv
    except ImportError:
        return None
    columns = [f"c{j}" for j in range(n_columns)]
    try:
        # the streaming reader, read whole: read_csv starts a thread for every file (about 50 us
        # of CPU and a context switch each), open_csv runs in the calling thread; same table
        table = arrow_csv.open_csv(
            pyarrow.py_buffer(body),
            read_options=arrow_csv.ReadOptions(use_threads=False, column_names=columns),
            parse_options=arrow_csv.ParseOptions(
                delimiter=delimiter or "\t", quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=arrow_csv.ConvertOptions(
                column_types={c: pyarrow.float64() for c in columns},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=None if keep is None else [columns[j] for j in keep],
            ),
            # the C library's allocator: pyarrow's default (mimalloc) made each file's parse about
            # twice as slow here (fresh pages for every file)
            memory_pool=pyarrow.system_memory_pool(),
        ).read_all()
    except (pyarrow.ArrowException, ValueError):
        return None
    converted = n_columns if keep is None else len(keep)
    if table.num_rows == 0 or table.num_columns != converted:
        return None
    numbers = np.empty((converted, table.num_rows), dtype=np.float64)
    for j in range(converted):
        numbers[j] = table.column(j).to_numpy()
    if not np.isfinite(numbers).all():
        return None
    return numbers


def _lines_have(lines, n_columns: int, delimiter: str | bytes) -> bool:
    """True when each of ``lines`` (str, or bytes with a bytes ``delimiter``) holds ``n_columns - 1``
    delimiters, i.e. ``n_columns`` values: the check numpy's parser leaves out when given ``usecols``
    (it takes a line with a value too many, or too few past the last column it reads), where a value
    too many or too few would shift the columns read."""
    return all(line.count(delimiter) == n_columns - 1 for line in lines)


def _diagnose(path: Path, data_lines: list[str], names: list[str], delimiter: str | None, first_line_no: int,
              usecols: Sequence[int] | None = None) -> None:
    """Raise for the first line that is blank, has a number of values other than the header's, or
    holds a value that is not a number (in the columns ``usecols`` only, when given)."""
    checked = range(len(names)) if usecols is None else sorted(usecols)
    for i, line in enumerate(data_lines):
        line_no = first_line_no + i
        if not line.strip():
            raise TrialFileError(path, f"line {line_no}: blank line inside the data")
        fields = _split(line, delimiter)
        if len(fields) != len(names):
            raise TrialFileError(
                path, f"line {line_no}: {len(fields)} values, but the header has {len(names)} columns"
            )
        for j in checked:
            name, value = names[j], fields[j].strip()
            try:
                float(value)
            except ValueError:
                shown = value if len(value) <= 20 else value[:17] + "..."
                what = "empty value" if not value else f"{shown!r} is not a number"
                raise TrialFileError(path, f"line {line_no}, column {name}: {what}") from None


REQUIRED_COLUMNS_NO_NAN = ("time_s", "ap_cm", "ml_cm")
"""Columns that must hold a number on every row. Other columns may hold NaN: it means "not
measured" in that frame (an IMU without a sample yet, a corner that did not answer), and the frame's
``flags`` say why."""


def _check_values(path: Path, columns: dict[str, np.ndarray], allow_nan: bool, first_line_no: int) -> None:
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if name not in REQUIRED_COLUMNS_NO_NAN or (allow_nan and name != "time_s"):
            bad &= ~np.isnan(values)
        if bad.any():
            i = int(np.argmax(bad))
            kind = "NaN" if np.isnan(values[i]) else "infinite value"
            hint = " (COP undefined: plate unloaded?)" if kind == "NaN" and name in ("ap_cm", "ml_cm") else ""
            raise TrialFileError(path, f"line {first_line_no + i}, column {name}: {kind}{hint}")


def _read_sidecar(path: Path) -> dict:
    """The JSON sidecar of ``path`` as a dict, ``{}`` when there is none, its ``rate_hz`` checked.

    Only a missing sidecar is absent. Anything else named ``<name>.json`` is read or refused in one
    line naming it and what to do: a pipe, a device or a directory (never opened, so never waited
    on), a symbolic link that loops or leads nowhere, a file over :data:`MAX_SIDECAR_BYTES`, text
    that is not UTF-8 JSON, JSON nested too deeply for the parser or with a number too long to
    convert, JSON that is not an object, a ``rate_hz`` that is not a positive number. Cheap: run
    before the trial's numbers are parsed."""
    side = sidecar_path(path)
    if side == path:
        return {}
    fix = "fix or remove the sidecar"

    def refuse(problem: str) -> TrialFileError:
        return TrialFileError(path, f"sidecar {side.name} {problem}; {fix}")

    try:
        os.lstat(side)
    except FileNotFoundError:
        return {}  # no sidecar
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror or exc})") from None
    try:
        raw = _read_regular(side, MAX_SIDECAR_BYTES)
    except _Unreadable as exc:
        if "bound" in exc.problem:
            raise refuse(f"{exc.problem}: a sidecar is a few kB of JSON") from None
        raise refuse(exc.problem) from None
    except FileNotFoundError:
        raise refuse("is a symbolic link to nothing (its target is missing)") from None
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror or exc})") from None
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise refuse(f"is not UTF-8 text (undecodable byte at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise refuse(f"is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise refuse("is not valid JSON for the station (nested too deeply)") from None
    except ValueError:  # int(): a number of more digits than Python converts
        raise refuse(
            f"is not valid JSON for the station (a number of more than {sys.get_int_max_str_digits()} digits)"
        ) from None
    if not isinstance(metadata, dict):
        raise refuse(f"must hold a JSON object, not {type(metadata).__name__}")
    _sidecar_rate(path, metadata)
    return metadata


def finite_number(value) -> float | None:
    """``value`` as a finite float when it is a JSON number (not a bool), else None; an integer too
    large for a float is None too (``math.isfinite`` would raise on it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _sidecar_rate(path: Path, metadata: dict) -> float | None:
    """The sidecar's ``rate_hz`` (Hz), None when absent; anything but a positive number is refused."""
    rate = metadata.get("rate_hz")
    if rate is None:
        return None
    number = finite_number(rate)
    if number is None or number <= 0:
        shown = repr(rate) if len(repr(rate)) <= 40 else repr(rate)[:37] + "..."
        raise TrialFileError(
            path, f"sidecar rate_hz {shown} is not a positive number (in {sidecar_path(path).name}: correct it or remove it)"
        )
    return number


def check_rate_agreement(path: Path, rate_hz: float, grid_index: np.ndarray, time_s: np.ndarray) -> None:
    """Refuse a sidecar ``rate_hz`` that disagrees with the file's own rate by more than
    :data:`RATE_AGREEMENT` (one line saying both rates).

    The file's own rate is its grid periods over its time span: ``(grid_index[-1] - grid_index[0]) /
    (time_s[-1] - time_s[0])``, Hz, where ``grid_index`` is each row's place on the sample grid (whole
    periods at ``rate_hz``, gaps included). Jitter and timestamps rounded to 1 ms enter only through
    the first and last rows, so over a second or more the estimate is good to a fraction of a percent.
    """
    if time_s.shape[0] < 2 or not time_s[-1] > time_s[0]:
        return
    own = float(grid_index[-1] - grid_index[0]) / float(time_s[-1] - time_s[0])
    if own > 0 and abs(rate_hz / own - 1.0) > RATE_AGREEMENT:
        raise TrialFileError(
            path,
            f"sidecar rate_hz {rate_hz:g} disagrees with the time steps: time_s holds {own:.4g} samples a second, "
            f"rate_hz is {100 * abs(rate_hz / own - 1):.1f} % {'above' if rate_hz > own else 'below'} it (a clock "
            f"drifts by about 0.01 %; at most {100 * RATE_AGREEMENT:g} % is accepted): correct rate_hz in "
            f"{sidecar_path(path).name}, or remove it to use time_s's rate",
        )


def _sample_rate(path: Path, fmt: str, time_s: np.ndarray, metadata: dict, first_line_no: int) -> float:
    n = time_s.shape[0]
    rate_meta = _sidecar_rate(path, metadata)
    if n < 2:
        if rate_meta is None:
            raise TrialFileError(path, "only one sample: need at least 2 to know the sample rate")
        return rate_meta
    steps = np.diff(time_s)
    nonpos = steps <= 0
    if nonpos.any():
        i = int(np.argmax(nonpos))
        raise TrialFileError(
            path,
            f"line {first_line_no + i + 1}: time_s not increasing ({time_s[i + 1]:.6g} s after {time_s[i]:.6g} s)",
        )
    median_step = _median(steps)
    if rate_meta is not None:
        rate = rate_meta
        if abs(median_step * rate - 1.0) > RATE_TOLERANCE:
            raise TrialFileError(
                path,
                f"sidecar rate_hz {rate:g} disagrees with the time steps "
                f"(median {median_step:.6g} s, i.e. {1.0 / median_step:.6g} Hz): correct rate_hz in "
                f"{sidecar_path(path).name}, or remove it to use time_s's rate",
            )
    elif fmt == SANTOS_DUARTE and abs(median_step * SANTOS_DUARTE_RATE_HZ - 1.0) <= 0.01:
        rate = SANTOS_DUARTE_RATE_HZ  # the format's documented rate; times are rounded to 1 ms
    else:
        rate = float(f"{1.0 / median_step:.9g}")
    return rate


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of finite values, bit for bit (the middle value, or the mean of
    the two middle values), without ``np.median``'s NaN check, whose first call imports numpy.ma
    (about 20 ms in each worker process of a batch). The middle values come from a stable sort, not
    ``np.partition``: time steps on a sample grid are a few distinct values repeated thousands of
    times, on which numpy's introselect is slow (5,999 steps of a 60 s trial at 100 Hz: 142-155 us
    against 32 us; 56 against 97 us on random numbers, which a grid never gives)."""
    n = values.shape[0]
    k = n // 2
    ordered = np.sort(values, kind="stable")
    if n % 2:
        return float(ordered[k])
    return float((ordered[k - 1] + ordered[k]) / 2.0)


def _grid_index(path: Path, time_s: np.ndarray, rate: float, first_line_no: int, allow_gaps: bool) -> np.ndarray:
    """Each sample's index on the sample grid; a step off the grid (or a gap, unless allowed) is
    an error (one line)."""
    if time_s.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    periods = np.diff(time_s) * rate
    whole = np.rint(periods)
    off = np.abs(periods - whole) > GRID_TOLERANCE
    if off.any():
        i = int(np.argmax(off))
        raise TrialFileError(
            path,
            f"line {first_line_no + i + 1}: time_s is not on the sample grid ({periods[i]:.3g} sample periods "
            f"after the previous row at {rate:g} Hz); time_s must be (seq - seq0)/rate_hz, whole periods apart "
            "(a file written with wake-up times? record or export it again)",
        )
    gaps = whole > 1
    if gaps.any() and not allow_gaps:
        i = int(np.argmax(gaps))
        raise TrialFileError(
            path,
            f"line {first_line_no + i + 1}: gap in time_s ({periods[i] / rate:.6g} s step, expected "
            f"{1.0 / rate:.6g} s at {rate:g} Hz); lost frames?",
        )
    index = np.zeros(time_s.shape[0], dtype=np.int64)
    np.cumsum(whole.astype(np.int64), out=index[1:])
    return index


# --------------------------------------------------------------------------------------------
# Writing


def ordered_columns(names: Sequence[str]) -> list[str]:
    """Column order of DESIGN.md §4: ``time_s,ap_cm,ml_cm``, then forces, then the others as given."""
    names = list(names)
    head = [c for c in CANONICAL_ORDER if c in names]
    return head + [c for c in names if c not in CANONICAL_ORDER]


def _check_names(path: str | os.PathLike, names: Sequence[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise TrialFileError(path, f"cannot write: missing column(s) {', '.join(missing)}")
    for n in names:
        if not n or any(ch in n for ch in ",\r\n\"") or n != n.strip():
            raise TrialFileError(path, f"cannot write: invalid column name {n!r}")
    if len(set(names)) != len(names):
        raise TrialFileError(path, "cannot write: duplicate column names")


def _as_columns(path, names: Sequence[str], columns: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    extra = [k for k in columns if k not in names]
    missing = [k for k in names if k not in columns]
    if extra or missing:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise TrialFileError(path, f"cannot write: columns do not match the header ({'; '.join(parts)})")
    arrays = [np.atleast_1d(np.asarray(columns[k])) for k in names]
    lengths = {a.shape for a in arrays}
    if len(lengths) != 1 or arrays[0].ndim != 1:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in zip(names, arrays))
        raise TrialFileError(path, f"cannot write: columns must be 1-D and equally long ({shapes})")
    return arrays


def _format_rows(arrays: list[np.ndarray]) -> str:
    """CSV text of the rows: integers as integers, floats with 10 significant digits."""
    if arrays[0].shape[0] == 0:
        return ""
    cols = []
    for a in arrays:
        if a.dtype.kind in "iub":
            cols.append(a.astype(np.int64).astype(str))
        else:
            cols.append(np.char.mod("%.10g", a.astype(np.float64)))
    rows = cols[0]
    for c in cols[1:]:
        rows = np.char.add(np.char.add(rows, ","), c)
    return "\n".join(rows.tolist()) + "\n"


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def sidecar_text(path, metadata: Mapping) -> str:
    """A trial CSV's JSON sidecar as :func:`write_trial_csv` writes it (TrialFileError naming
    ``path`` for metadata that JSON cannot hold)."""
    try:
        return json.dumps(dict(metadata), indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n"
    except (TypeError, ValueError) as exc:
        raise TrialFileError(path, f"cannot write metadata: {exc}") from None


WRITE_BLOCK_ROWS = 2_000
"""Rows :func:`write_trial_csv` formats at a time (20 s at 100 Hz; about 6 MB of numpy string
arrays): a whole 20-min trial formatted at once took 23 times the file's size in memory."""


def write_trial_csv(path: str | os.PathLike, columns: Mapping[str, np.ndarray], metadata: Mapping) -> None:
    """Write a whole trial CSV and its JSON sidecar atomically.

    Parameters
    ----------
    path : path-like
        The CSV to write (replaced if it exists); the sidecar is ``<name>.json``.
    columns : mapping of str to 1-D array
        Equally long columns; must include ``time_s, ap_cm, ml_cm`` (s, cm, cm). Written in the
        order of DESIGN.md §4 (``time_s,ap_cm,ml_cm``, then ``fz_n,fl_n,fr_n,bl_n,br_n``, then the
        others in the given order). Integer columns (e.g. ``flags``) are written as integers,
        floats with 10 significant digits; NaN is written as ``nan``.
    metadata : mapping
        JSON-serialisable sidecar contents (``rate_hz``, calibration, protocol, station version).

    Raises
    ------
    TrialFileError
        Missing or mismatched columns, unserialisable metadata, or an OS error (one line). A write the
        system refuses (a full or failing disk) leaves both files as they were (none, or the pair written
        before): the sidecar is written and fsync'ed under a temporary name first and takes its name only
        after the CSV has taken its own.
    """
    path = Path(path)
    names, arrays, side_text = _trial_csv_parts(path, columns, metadata)
    try:
        with atomic_text_writer(sidecar_path(path), sync_dir=False) as side:
            side.write(side_text)
            side.flush()
            os.fsync(side.fileno())
            with atomic_text_writer(path, sync_dir=False) as f:
                _write_rows(f, names, arrays)
    except OSError as exc:
        raise TrialFileError(path, f"cannot write: {exc.strerror or exc}") from None
    fsync_dir(path.parent)


def trial_csv_bytes(path: str | os.PathLike, columns: Mapping[str, np.ndarray], metadata: Mapping) -> tuple[bytes, bytes]:
    """The bytes :func:`write_trial_csv` would write, the CSV's and its sidecar's, made in memory (a
    download: nothing is written on the station's card, so a full or failing card cannot refuse it);
    ``path`` names the trial in errors. Raises TrialFileError as :func:`write_trial_csv` does.

    >>> csv, side = trial_csv_bytes("t.csv", {"time_s": [0.0, 0.01], "ap_cm": [0.5, 0.25], "ml_cm": [0, 1]},
    ...                             {"rate_hz": 100})
    >>> csv.decode()
    'time_s,ap_cm,ml_cm\\n0,0.5,0\\n0.01,0.25,1\\n'
    """
    names, arrays, side_text = _trial_csv_parts(Path(path), columns, metadata)
    buffer = io.BytesIO()
    with io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True) as out:
        _write_rows(out, names, arrays)  # encoded block by block: the text is not held beside its bytes
        return buffer.getvalue(), side_text.encode("utf-8")


def _trial_csv_parts(path: Path, columns: Mapping[str, np.ndarray], metadata: Mapping):
    """(column names in the file's order, their arrays, the sidecar's text), checked."""
    names = ordered_columns(list(columns))
    _check_names(path, names)
    return names, _as_columns(path, names, columns), sidecar_text(path, metadata)


def _write_rows(f, names: Sequence[str], arrays: list[np.ndarray]) -> None:
    """The CSV's header and rows into the text file ``f``, :data:`WRITE_BLOCK_ROWS` at a time."""
    f.write(",".join(names) + "\n")
    for start in range(0, arrays[0].shape[0], WRITE_BLOCK_ROWS):
        f.write(_format_rows([a[start:start + WRITE_BLOCK_ROWS] for a in arrays]))


class TrialCsvWriter:
    """Streaming trial CSV writer for recordings: appends are durable about once a second.

    The sidecar is written (atomically) when the writer opens, and again on :meth:`close` if new
    metadata is given. Each :meth:`append` writes whole lines; the file is flushed and fsync'ed
    when at least ``sync_interval_s`` has passed since the last sync (measured on ``clock``, real
    monotonic time by default: durability is about wall time), and always on close. A crash thus
    loses at most about ``sync_interval_s`` of samples; ``read_trial(path, allow_truncated=True)``
    reads what was saved.

    Parameters
    ----------
    path : path-like
        The CSV to create; refused if it exists (a recording never overwrites one).
    column_names : list of str
        Must include ``time_s, ap_cm, ml_cm``; written in the order of DESIGN.md §4.
    metadata : mapping
        Sidecar contents.
    clock : Clock, optional
        Source of monotonic time for the sync interval (default :class:`MonotonicClock`).
    sync_interval_s : float
        Largest interval between fsyncs while appending, s (default 1.0).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        column_names: list[str],
        metadata: Mapping,
        *,
        clock: Clock | None = None,
        sync_interval_s: float = 1.0,
    ):
        self.path = Path(path)
        self.column_names = ordered_columns(column_names)
        _check_names(self.path, self.column_names)
        self._clock = clock or MonotonicClock()
        self._sync_interval_ns = int(sync_interval_s * 1e9)
        self._closed = False
        self.rows_written = 0
        self.syncs = 0
        side_text = sidecar_text(self.path, metadata)
        try:
            self._file = open(self.path, "x", encoding="utf-8", newline="")
        except FileExistsError:
            raise TrialFileError(self.path, "already exists; a recording never overwrites a trial file") from None
        except OSError as exc:
            raise TrialFileError(self.path, f"cannot create: {exc.strerror or exc}") from None
        try:
            atomic_write_text(sidecar_path(self.path), side_text, sync_dir=False)
            self._file.write(",".join(self.column_names) + "\n")
            self._sync()
            fsync_dir(self.path.parent)
        except OSError as exc:
            self._file.close()
            raise TrialFileError(self.path, f"cannot write: {exc.strerror or exc}") from None

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_sync_ns = self._clock.monotonic_ns()
        self.syncs += 1

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append rows: ``columns`` maps every column name to equally long 1-D arrays (or scalars)."""
        if self._closed:
            raise TrialFileError(self.path, "cannot append: writer is closed")
        arrays = _as_columns(self.path, self.column_names, columns)
        text = _format_rows(arrays)
        try:
            self._file.write(text)
            if self._clock.monotonic_ns() - self._last_sync_ns >= self._sync_interval_ns:
                self._sync()
        except OSError as exc:
            raise TrialFileError(self.path, f"cannot append: {exc.strerror or exc}") from None
        self.rows_written += arrays[0].shape[0]

    def close(self, metadata: Mapping | None = None) -> None:
        """Flush, fsync and close; rewrite the sidecar atomically if ``metadata`` is given. A write
        the system refuses (a full disk) raises :class:`TrialFileError`, as :meth:`append` does."""
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._sync()
            finally:
                self._file.close()
        except OSError as exc:  # a full disk: one line naming the file, as append says it
            raise TrialFileError(self.path, f"cannot write: {exc.strerror or exc}") from None
        if metadata is not None:
            side_text = sidecar_text(self.path, metadata)
            try:
                atomic_write_text(sidecar_path(self.path), side_text)
            except OSError as exc:
                raise TrialFileError(sidecar_path(self.path), f"cannot write: {exc.strerror or exc}") from None

    def __enter__(self) -> "TrialCsvWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
