"""``balance-station analyze PATH... [--profile raw|station] [--format table|json|csv] [--out FILE] [--jobs N | --dask ADDRESS]``.

Sway metrics (DESIGN.md §5) of trial files: our trial CSV and the Santos & Duarte (2016) text
format, detected from the header. A PATH may be a file or a directory (its trial files, not
recursive). On a terminal the measures are a readable table (label, value, unit, grouped; see
:mod:`station.reference.measures`); piped, redirected or with ``--out`` they are JSON, unless
``--format`` says otherwise. Every file is analysed even when others fail; each failure is one line on stderr and
an ``{"file", "error"}`` entry (JSON) or a row with the ``error`` column filled (CSV). A file whose
sidecar says it is not a whole trial (``status`` ``partial`` or ``aborted``) is analysed and said so
(``incomplete``: :func:`incomplete_words`).

A batch runs on every core (``--jobs``, default all) or on a Dask cluster (``--dask``); results
keep the order of the files and are written as they come (JSON and CSV), so memory stays bounded
whatever the number of files (:mod:`station.commands._batch`, :mod:`station.batch`).

Exit status: 0 every file analysed, 1 some failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import sys
from pathlib import Path

from station.commands._batch import (
    CsvWriter,
    JsonListWriter,
    add_batch_options,
    check_batch_options,
    one_line,
    output,
    run_files,
    usage_error,
)

TRIAL_SUFFIXES = (".csv", ".txt")
RESULT_FIELDS = ("file", "fs_hz", "samples", "profile", "version", "error")
LAST_FIELDS = ("incomplete",)
"""CSV columns after the metrics (added later: the metrics keep their places)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="sway metrics of trial files (station CSV or Santos & Duarte text)",
        description=(
            "Compute the sway metrics of trial files and print them as a readable table (on a terminal), "
            "JSON (a list, one object per file; the default when piped or with --out) or CSV (one row per "
            "file). A PATH may be a directory: its .csv and .txt trial files are analysed. Exit status 0 "
            "when every file was analysed, 1 when some failed."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="trial file or directory of trial files")
    parser.add_argument(
        "--profile",
        choices=("raw", "station"),
        help="processing: raw = mean removal only; station = 10 Hz zero-phase low-pass, then mean "
        "removal (default: raw for Santos & Duarte files, station for station CSV)",
    )
    parser.add_argument("--format", choices=("table", "json", "csv"),
                        help="output format (default: table on a terminal, json when piped or with --out)")
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")
    add_batch_options(parser)
    # exit_at_once: the output is flushed and closed and the workers joined when run returns; the
    # interpreter's shutdown is skipped (station.cli.console)
    parser.set_defaults(func=run, exit_at_once=True)


_usage_error = usage_error


def expand_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """Files to analyse (in order, directories expanded and sorted) and notes about skipped files."""
    from station.store.trialfile import looks_like_trial

    files: list[str] = []
    notes: list[str] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            files.append(given)  # missing or unreadable paths are reported by the reader
            continue
        found, skipped = [], []
        for entry in sorted(path.iterdir()):
            if entry.name.startswith(".") or entry.is_dir():
                continue
            if not entry.is_file():  # a named pipe, a device, a broken link: never opened, but said
                skipped.append(f"{entry.name} (not a regular file)")
                continue
            if entry.suffix.lower() in TRIAL_SUFFIXES and looks_like_trial(entry):
                found.append(str(entry))
            elif entry.suffix.lower() != ".json":  # sidecars belong to their trials
                skipped.append(entry.name)
        if skipped:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            notes.append(f"{given}: skipped {len(skipped)} file(s) that are not trial files ({shown})")
        if not found:
            files.append(given)  # reported as an error: a directory without trial files
        files.extend(found)
    return files, notes


ANALYSED_COLUMNS = ("time_s", "ap_cm", "ml_cm", "fl_n", "fr_n", "bl_n", "br_n")
"""The columns of a trial file the metrics use (COP; corner forces for the weight-bearing shares). In a
batch (the fast reader) the others (a Santos & Duarte file's forces and moments, a station CSV's total
force and IMU) are not converted when they hold plain numbers, and read whole as before when they do
not (``read_trial(columns=...)``, which says what is checked)."""


PLATE_MARGIN = 1.1
"""How far beyond the plate's half size a COP may lie (a load cell's offset or drift) before the
file is refused as not a recording of that plate."""


def cop_outside_plate(time_s, ap_cm, ml_cm, metadata: dict) -> str | None:
    """Why the COP of a trial cannot be a recording on a force plate, or None (DESIGN.md §4: the
    COP is measured from the plate's centre, at most half its depth (AP) or width (ML) away while
    no load cell pulls). The plate is the sidecar's ``plate`` (``width_cm``, ``depth_cm``) when it
    names one the configuration accepts; otherwise the largest plate it accepts (200 cm): the file
    may come from another station or a public data set, so not this station's configuration.
    Values beyond :data:`PLATE_MARGIN` times the half size are refused (``ap_cm`` constant at
    1e308 used to give an ellipse of 0.0 and exit 0).

    >>> import numpy as np
    >>> t = np.arange(3) / 100.0
    >>> cop_outside_plate(t, np.array([0.5, 1e308, 0.2]), np.zeros(3), {}).split(", so")[0]
    'ap_cm at 0.01 s is 1e+308 cm: outside any plate (at most ±110 cm from its centre)'
    >>> plate = {"plate": {"width_cm": 40, "depth_cm": 50}}
    >>> cop_outside_plate(t, np.zeros(3), np.array([0.0, -30.0, 0.0]), plate).split(", so")[0]
    'ml_cm at 0.01 s is -30 cm: outside its 40 x 50 cm plate (at most ±22 cm from its centre)'
    >>> cop_outside_plate(t, np.full(3, 9.5), np.full(3, -12.0), plate) is None
    True
    """
    import numpy as np

    from station.config import PLATE_SIZE_RANGE_CM

    low, high = PLATE_SIZE_RANGE_CM
    plate = metadata.get("plate") if isinstance(metadata, dict) else None
    sizes = None
    if isinstance(plate, dict):
        sizes = tuple(plate.get(k) for k in ("width_cm", "depth_cm"))
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high for v in sizes):
            sizes = None
    where = "any plate" if sizes is None else f"its {sizes[0]:g} x {sizes[1]:g} cm plate"
    width, depth = sizes if sizes is not None else (high, high)
    for name, values, size in (("ap_cm", ap_cm, depth), ("ml_cm", ml_cm, width)):
        limit = PLATE_MARGIN * size / 2.0
        beyond = np.flatnonzero(~(np.abs(values) <= limit))  # NaN counts as beyond (read_trial refuses it first)
        if beyond.size:
            i = int(beyond[0])
            return (f"{name} at {float(time_s[i]):.2f} s is {float(values[i]):g} cm: outside {where} (at most "
                    f"±{limit:g} cm from its centre), so not a recording on a force plate")
    return None


def incomplete_words(metadata: dict, samples: int, fs_hz: float) -> str | None:
    """Why a trial file is not a whole trial, from its sidecar's ``status`` (``partial``: a recording
    cut short by Ctrl-C, a crash or a power cut; ``aborted``: stopped on purpose; an exported trial
    says it the same way), or None for a whole trial or a file without that key.

    >>> incomplete_words({"status": "partial", "status_reason": "interrupted: the program was stopped"}, 1970, 100.0)
    'incomplete (partial: interrupted: the program was stopped): the measures cover the 19.7 s recorded, not the whole trial'
    >>> incomplete_words({"status": "complete"}, 3000, 100.0) is None
    True
    """
    status = metadata.get("status") if isinstance(metadata, dict) else None
    if not isinstance(status, str) or status == "complete":
        return None
    reason = metadata.get("status_reason")
    said = f"{status}: {reason}" if isinstance(reason, str) and reason else status
    return f"incomplete ({said}): the measures cover the {samples / fs_hz:.1f} s recorded, not the whole trial"


def walk_result(metadata: dict) -> dict | None:
    """A station walk trial's result (its ``walk`` object: times, speeds, the gait's words) from the trial file's
    sidecar: ``result.walk`` (``trial --out``), else ``metrics.trial.walk`` (``export``); None for any other file.

    >>> walk_result({"metrics": {"trial": {"walk": {"setting": "treadmill"}}}})
    {'setting': 'treadmill'}
    >>> walk_result({"result": {"walk": None}}) is None
    True
    """
    outcome = metadata.get("result") if isinstance(metadata.get("result"), dict) else None
    if outcome is None and isinstance(metadata.get("metrics"), dict) and isinstance(metadata["metrics"].get("trial"), dict):
        outcome = metadata["metrics"]["trial"]
    walk = (outcome or {}).get("walk")
    return walk if isinstance(walk, dict) else None


def walk_trial_words(path: str) -> str | None:
    """Why ``analyze`` has no sway for a walk test's trial file (its sidecar says a walk: the condition's ``walk``
    of ``trial --out``, or the result's ``walk`` of ``trial --out`` and ``export``), and what to run instead; None
    for any other file (or one whose sidecar cannot be read: its own error stands).

    Nobody stands on the plate in a walk test, so its file's centre of pressure is undefined (NaN) on every
    row, which read "line 2, column ap_cm: NaN (COP undefined: plate unloaded?)", without what to do."""
    from station.store.trialfile import TrialFileError, _read_sidecar

    try:
        metadata = _read_sidecar(Path(path))
    except (TrialFileError, OSError):
        return None
    condition = metadata.get("condition") if isinstance(metadata.get("condition"), dict) else {}
    if walk_result(metadata) is None and not isinstance(condition.get("walk"), dict):
        return None
    return ("a walk test's recording: nobody stood on the plate while the patient walked, so it holds no centre of "
            f"pressure and no sway for analyze to measure; for its gait and steps run: balance-station gait {path}")


def analyse_file(path: str, profile: str | None, version: str, fast: bool = False) -> dict:
    """``{"file", "fs_hz", "samples", "profile", "version", "metrics"}`` or ``{"file", "error"}``;
    ``fast``: parse with the fast reader when installed (see :func:`station.store.trialfile.read_trial`);
    only :data:`ANALYSED_COLUMNS` are read."""
    from station.analysis.gaps import compute_metrics_with_gaps
    from station.analysis.metrics import SignalError
    from station.store.trialfile import SANTOS_DUARTE, TrialFileError, read_trial

    if Path(path).is_dir():
        return {"file": path, "error": "no trial files (.csv or .txt with a trial header) in this directory"}
    try:
        trial = read_trial(path, allow_gaps=True, fast=fast, columns=ANALYSED_COLUMNS)
        outside = cop_outside_plate(trial.time_s, trial.ap_cm, trial.ml_cm, trial.metadata)
        if outside is not None:
            return {"file": path, "error": outside}
        chosen = profile or ("raw" if trial.format == SANTOS_DUARTE else "station")
        # Lost frames (gaps of whole periods in time_s) are bridged explicitly and reported, or the
        # file is refused with the reason (station.analysis.gaps); never closed silently.
        result = compute_metrics_with_gaps(
            trial.ap_cm, trial.ml_cm, trial.fs_hz, chosen, corners_n=trial.corners_n, version=version,
            grid_index=trial.grid_index,
        )
    except TrialFileError as exc:
        return {"file": path, "error": walk_trial_words(path) or exc.problem}
    except SignalError as exc:
        return {"file": path, "error": str(exc)}
    except MemoryError:
        return {"file": path, "error": "not enough memory to analyse this file"}
    except Exception as exc:  # a bug must not stop the batch nor print a traceback
        return {"file": path, "error": f"unexpected error ({type(exc).__name__}: {exc}); please report it"}
    incomplete = incomplete_words(trial.metadata, result["samples"], result["fs_hz"])
    return {"file": path, **result, **({"incomplete": incomplete} if incomplete else {})}


def format_json(results: list[dict]) -> str:
    return json.dumps(results, indent=2, allow_nan=False) + "\n"


def csv_header() -> list[str]:
    from station.analysis.metrics import METRIC_KEYS

    return list(RESULT_FIELDS + METRIC_KEYS + LAST_FIELDS)


def csv_row(r: dict) -> list:
    """One result as CSV cells: floats as ``repr`` (every digit), empty for none."""
    from station.analysis.metrics import METRIC_KEYS

    metrics = r.get("metrics", {})
    row = [r.get(field) for field in RESULT_FIELDS] + [metrics.get(k) for k in METRIC_KEYS] + \
        [r.get(field) for field in LAST_FIELDS]
    return ["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row]


def format_csv(results: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header())
    writer.writerows(csv_row(r) for r in results)
    return buffer.getvalue()


TABLE_KEY_MEASURES = ("ellipse_area_cm2", "mean_velocity_cm_s", "rms_distance_cm", "mean_power_frequency_hz")
"""The columns of the table when there are too many files for one column each."""
TABLE_MAX_COLUMNS = 4


def _number(value) -> str:
    """A value with 4 significant digits, its zeros kept (no 16-digit floats; ``1.000`` beside
    ``0.6202``, not ``1``), '–' when undefined.

    >>> [_number(v) for v in (1.0, 0.62019, 100.0, 1234.4, 0.0, -0.0, 123456.0, None, 3000)]
    ['1.000', '0.6202', '100.0', '1234', '0', '0', '1.235e+05', '–', '3000']
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0:
            return "0"
        text = f"{value:#.4g}"
        return text[:-1] if text.endswith(".") else text
    return str(value)


def format_table(results: list[dict]) -> str:
    """The measures for people: grouped, labelled, with units; one column per file (up to
    :data:`TABLE_MAX_COLUMNS` files), else one row per file with the key measures."""
    from station.reference.measures import GROUPS, describe, known_keys

    lines: list[str] = []
    good = [r for r in results if "error" not in r]
    for r in results:
        if "error" in r:
            lines.append(f"{r['file']}: not analysed: {r['error']}")
        elif r.get("incomplete"):
            lines.append(f"{r['file']}: {r['incomplete']}")
    if not good:
        return "\n".join(lines) + "\n"
    if len(good) > TABLE_MAX_COLUMNS:
        heads = ["file"] + [f"{describe(k)['label']} ({describe(k)['unit']})" for k in TABLE_KEY_MEASURES]
        rows = [[os.path.basename(r["file"])] + [_number(r["metrics"].get(k)) for k in TABLE_KEY_MEASURES] for r in good]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
        lines.extend("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows)
        lines.append("(every measure: --format csv or --format json)")
        return "\n".join(lines) + "\n"
    names = [os.path.basename(r["file"]) for r in good]
    keys = [k for k in known_keys() if any(k in r["metrics"] for r in good)]
    keys += sorted({k for r in good for k in r["metrics"]} - set(keys))
    label_w = max(len(describe(k)["label"]) for k in keys)
    col_w = max(10, *(len(n) for n in names))
    lines.append(" " * (label_w + 2) + "  ".join(n.rjust(col_w) for n in names))
    for field, title in (("profile", "Processing profile"), ("fs_hz", "Sample rate (Hz)"), ("samples", "Samples")):
        lines.append(title.ljust(label_w + 2) + "  ".join(_number(r.get(field)).rjust(col_w) for r in good))
    group = None
    for key in keys:
        d = describe(key)
        if d["group"] != group:
            group = d["group"]
            lines.append("")
            lines.append(group if group in GROUPS else "Other")
        values = "  ".join(_number(r["metrics"].get(key)).rjust(col_w) for r in good)
        lines.append(f"  {d['label'].ljust(label_w)}{values}  {d['unit']}".rstrip())
    return "\n".join(lines) + "\n"


class _TableRows:
    """Results kept for the table, which needs them all for its column widths: whole results up to
    :data:`TABLE_MAX_COLUMNS` analysed files, then only each file's row of key measures (a few
    short strings), so that a terminal table of many files stays small in memory."""

    def __init__(self):
        self.results: list[dict] = []
        self.analysed = 0

    def write(self, result: dict) -> None:
        if "error" not in result:
            self.analysed += 1
            if self.analysed == TABLE_MAX_COLUMNS + 1:  # from now on one row per file: compact the others
                for r in self.results:
                    if "metrics" in r:
                        r["metrics"] = _key_measures(r["metrics"])
            if self.analysed > TABLE_MAX_COLUMNS:
                result = {"file": result["file"], "metrics": _key_measures(result["metrics"]),
                          **({"incomplete": result["incomplete"]} if result.get("incomplete") else {})}
        self.results.append(result)

    def close(self) -> None:
        pass


def _key_measures(metrics: dict) -> dict:
    return {k: metrics.get(k) for k in TABLE_KEY_MEASURES}


FAST_PARSER_FROM_FILES = 10
"""Batches of this many files or more parse with the fast reader (when installed): its import
(about 0.1 s) costs more than it saves on a few files."""


def analyse_task(profile: str | None, version: str, fast: bool, path: str) -> dict:
    """:func:`analyse_file` with the batch's settings first (for :func:`functools.partial`)."""
    return analyse_file(path, profile, version, fast)


def _one_blas_thread() -> None:
    """Ask numpy's BLAS (OpenBLAS) for one thread, unless the user said otherwise or numpy is
    already imported. The sway metrics call no BLAS (:mod:`station.analysis.metrics`: products by
    ``np.einsum``), but OpenBLAS starts a thread per core when numpy is imported and shuts them
    down before each fork: about 40 ms of the command's CPU for nothing (``/usr/bin/time`` of the
    imports, 6 alternating runs: 0.16-0.23 s user -> 0.12-0.16 s)."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _import_analysis(fast: bool, filters: bool) -> None:
    """Import the analysis (the fast reader, the filter's scipy.signal when station files will be
    filtered) before the workers start: forked workers inherit them instead of each importing them
    again."""
    import station.analysis.gaps  # noqa: F401
    import station.store.trialfile  # noqa: F401

    if filters:
        import scipy.signal  # noqa: F401

    if fast:
        try:
            import pyarrow.csv  # noqa: F401
        except ImportError:
            pass


def run(args: argparse.Namespace) -> int:
    from station import __version__

    _one_blas_thread()  # before check_batch_options and expand_paths, whose reader imports numpy
    check_batch_options(args)
    files, notes = expand_paths(args.paths)
    for note in notes:
        print(one_line(f"balance-station analyze: {note}"), file=sys.stderr)
    chosen = args.format or ("table" if args.out is None and sys.stdout.isatty() else "json")
    fast = len(files) >= FAST_PARSER_FROM_FILES
    if not args.dask:
        # station CSVs default to the station profile, which filters (Santos & Duarte text: raw)
        filters = args.profile == "station" or (args.profile is None and any(f.lower().endswith(".csv") for f in files))
        _import_analysis(fast, filters and len(files) > 1)
    task = functools.partial(analyse_task, args.profile, __version__, fast)
    with output(args.out) as stream:
        if chosen == "table":
            writer = _TableRows()
        elif chosen == "csv":
            writer = CsvWriter(stream, csv_header(), csv_row)
        else:
            writer = JsonListWriter(stream)
        outcome = run_files(args, command="analyze", files=files, task=task, write=writer.write,
                            progress_min_files=10, version=__version__)
        writer.close()
        if chosen == "table":
            stream.write(format_table(writer.results))
    if outcome.failed:
        print(f"balance-station analyze: {outcome.failed} of {outcome.files} file(s) failed", file=sys.stderr)
        return 1
    return 0
