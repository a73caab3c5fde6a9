"""``balance-station gait PATH... [--format json|csv] [--out FILE] [--sensor-height-m H] [--jobs N | --dask ADDRESS]``.

Gait from lower-back IMU recordings (DESIGN.md §8): IMU CSVs (``time_s`` and the six IMU columns)
and station trial CSVs with IMU columns. A PATH may be a file or a directory (its CSV files, not
recursive). Every file is analysed even when others fail; each failure is one line on stderr and
an ``{"file", "error"}`` entry (JSON) or a row with the ``error`` column filled (CSV).

The sensor's mounting (which of its axes points up and which toward the toes) comes from
``--mounting-up/--mounting-toes``, else the recording's sidecar, else ``[imu] mounting_up`` /
``mounting_toes`` of the configuration; it is checked against gravity before any analysis. The
sensor height likewise comes from ``--sensor-height-m``, else the sidecar's ``sensor_height_m``;
without one, step length and walking speed are null.

Missing IMU samples (lost frames, NaN readings) are bridged up to 0.1 s and counted, never closed
up (:mod:`station.store.imu_recording`): such a file's result carries ``gaps`` beside its metrics
(``samples_lost``, ``gaps``, ``longest_gap_s``, ``samples_dropped_at_end``, ``handling``; the CSV's
``samples_lost`` column); a longer gap is the file's error, saying where. The contacts are on the
file's own time axis (:func:`file_times`). A file whose sidecar says it is not a whole trial (``status``
``partial``, as ``trial --out`` leaves a trial it was stopped in, or ``aborted``) is analysed and said so
in ``analyze``'s words: its ``incomplete`` (JSON key, CSV column) and one line on stderr. A station walk trial
whose sidecar gives the speed it was walked at (the light gates', or the treadmill's entered belt speed) gets the
station's rule for the inverted pendulum's estimate (:func:`withheld_as_the_station`): more than 25 % off that
speed, ``step_length_m`` and ``walking_speed_m_s`` are null, as in the trial's own result, and
``estimate_withheld`` (JSON key, CSV column) keeps the estimate and says why.

A station walk trial's file (``trial --out``: its sidecar names a built-in walk protocol's condition and holds
the walk's result) is judged again as its trial judged it (:func:`analyse_walk_file`): a gap over 0.1 s does not
refuse it, its gait is measured in the parts between (:mod:`station.protocols.walk_parts`), and a walk the trial
gave no gait for has its gait keys null, as the trial's; its ``gaps`` carry the trial's words (``words``: the
time not measured, or why there is no gait; the CSV's last column ``gap_words``). Any other recording keeps the
reader's refusal of such a gap.

A batch runs on every core (``--jobs``, default all) or on a Dask cluster (``--dask``), results in
file order, written as they come (:mod:`station.commands._batch`).

Exit status: 0 every file analysed, 1 some failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
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
from station.commands.analyze import expand_paths, incomplete_words, walk_result

RESULT_FIELDS = ("file", "fs_hz", "samples", "version", "error")
AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
PROGRESS_MIN_FILES = 2
"""Gait files are long recordings: the progress bar shows from the second file on."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gait",
        help="gait from lower-back IMU recordings (steps, cadence, variability, regularity, speed)",
        description=(
            "Detect the initial contacts of walking in lower-back IMU recordings and compute the gait "
            "measures (DESIGN.md §8). Prints JSON (a list, one object per file) or CSV (one row per "
            "file). A PATH may be a directory: its CSV recordings are analysed. Exit status 0 when every "
            "file was analysed, 1 when some failed."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="IMU recording or station trial CSV, or a directory")
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default json)")
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")
    parser.add_argument(
        "--sensor-height-m",
        type=float,
        metavar="H",
        help="height of the sensor above the ground, m, for step length and speed (default: the sidecar's "
        "sensor_height_m)",
    )
    parser.add_argument("--mounting-up", choices=AXES, help="sensor axis pointing up when worn, e.g. "
                        "--mounting-up=-x (default: sidecar, then [imu] mounting_up)")
    parser.add_argument("--mounting-toes", choices=AXES, help="sensor axis pointing toward the toes when worn "
                        "(default: sidecar, then [imu] mounting_toes)")
    add_batch_options(parser)
    # exit_at_once: as analyze, the output is flushed and closed and the workers joined when run
    # returns; the interpreter's shutdown is skipped (station.cli.console)
    parser.set_defaults(func=run, exit_at_once=True)


def _configured_mounting(args) -> tuple[str, str]:
    from station.commands._common import load_config

    imu = load_config(args).imu
    return imu.mounting_up, imu.mounting_toes


def analyse_file(path: str, *, sensor_height_m: float | None, mounting: tuple[str | None, str | None],
                 default_mounting: tuple[str, str], version: str) -> dict:
    """``{"file", "fs_hz", "samples", "version", "initial_contacts_s", "metrics"}`` or ``{"file", "error"}``."""
    from station.analysis.gait import contacts_near_gaps, gait_metrics
    from station.analysis.imu_frame import align_to_body, check_mounting
    from station.commands._walk_file import walk_plan
    from station.store import trialfile as tf
    from station.store.imu_recording import read_imu_recording, read_sidecar
    from station.store.trialfile import TrialFileError

    if Path(path).is_dir():
        return {"file": path, "error": "no IMU recordings (.csv with a time_s header) in this directory"}
    try:
        sidecar = read_sidecar(path) if tf.sidecar_path(path).exists() else None
        plan = walk_plan(sidecar) if sidecar is not None else None
        if plan is not None:  # a station walk trial's file: measured as its trial measured it
            return analyse_walk_file(path, plan, sidecar, sensor_height_m=sensor_height_m, mounting=mounting,
                                     default_mounting=default_mounting, version=version)
        rec = read_imu_recording(path)
        side_up, side_toes = rec.mounting()
        up = mounting[0] or side_up or default_mounting[0]
        toes = mounting[1] or side_toes or default_mounting[1]
        reason = check_mounting(rec.acc_m_s2, up_axis=up, toes_axis=toes)
        if reason is not None:
            return {"file": path, "error": f"IMU mounting: {reason}"}
        height = sensor_height_m if sensor_height_m is not None else rec.sensor_height_m
        # What the result needs of the record (its time axis, rate and gaps, the gyroscope's counted), then
        # the record let go: gait does not use the gyroscope, whose rows the reader gives whole or NaN, and
        # the sensor-frame acceleration is dropped once aligned, so neither is held while the gait is
        # computed (a 2-hour trial at 100 Hz: 35 MB less)
        fs_hz, time_s, bridged_s, gaps = rec.fs_hz, rec.time_s, rec.gaps.bridged_s, rec.gap_summary()
        incomplete = incomplete_words(rec.metadata, int(time_s.shape[0]), fs_hz)
        metadata = rec.metadata
        acc = rec.acc_m_s2
        del rec
        acc_body = align_to_body(acc, None, up_axis=up, toes_axis=toes, fs_hz=fs_hz)[0]
        del acc
        # lost samples bridged by the reader: the steps next to them are left out of the variability
        metrics = gait_metrics(acc_body, fs_hz, sensor_height_m=height, bridged_s=bridged_s)
        del acc_body
    except TrialFileError as exc:
        return {"file": path, "error": exc.problem}
    except ValueError as exc:
        return {"file": path, "error": " ".join(str(exc).split())}
    except MemoryError:
        return {"file": path, "error": "not enough memory to analyse this file"}
    except Exception as exc:  # a bug must not stop the batch nor print a traceback
        return {"file": path, "error": f"unexpected error ({type(exc).__name__}: {exc}); please report it"}
    metrics_contacts = metrics.pop("initial_contacts_s")
    contacts = [round(t, 6) for t in file_times(time_s, fs_hz, metrics_contacts)]
    result = {
        "file": path,
        "fs_hz": fs_hz,
        "samples": int(time_s.shape[0]),
        "version": version,
        "initial_contacts_s": contacts,
        "metrics": metrics,
    }
    if gaps is not None:  # missing IMU samples bridged (never closed up), counted beside the metrics
        gaps["contacts_near_gaps"] = int(contacts_near_gaps(metrics_contacts, bridged_s, fs_hz).sum())
        result["gaps"] = gaps
    withheld = withheld_as_the_station(metrics, metadata)
    if withheld is not None:  # the walk's own speed shows the pendulum's estimate wrong: not given, as the trial
        result["estimate_withheld"] = withheld
    if incomplete:  # a trial cut short: analyze's words
        result["incomplete"] = incomplete
    return result


def analyse_walk_file(path: str, plan, metadata: dict, *, sensor_height_m: float | None, mounting: tuple[str | None, str | None],
                      default_mounting: tuple[str, str], version: str) -> dict:
    """:func:`analyse_file`'s result for a station walk trial's file (``plan``: its
    :class:`station.protocols.machine.TrialPlan`, :func:`station.commands._walk_file.walk_plan`), judged again
    as its trial judged it (:func:`station.commands._walk_file.judge_walk_file`; ``metadata``: its sidecar, read
    once by :func:`analyse_file`): the trial's gait keys (None
    each, as in the trial, when it gave no gait), contacts (s after the go), ``estimate_withheld``, and its
    ``gaps``: the trial's summary of the lower-back sensor's gaps (:func:`station.protocols.walk_words.
    imu_gaps_summary`: its ``words`` say the time not measured, or why there is no gait) with ``samples_lost``
    (bridged) and ``contacts_near_gaps``. Errors raise as :func:`analyse_file`'s reader's."""
    from station.analysis.gait import GAIT_KEYS
    from station.commands._walk_file import judge_walk_file
    from station.store.imu_recording import sidecar_mounting

    side_up, side_toes = sidecar_mounting(metadata)
    up = mounting[0] or side_up or default_mounting[0]
    toes = mounting[1] or side_toes or default_mounting[1]
    height = sensor_height_m if sensor_height_m is not None else metadata.get("sensor_height_m")
    trial = judge_walk_file(path, metadata, plan, sensor_height_m=height, mounting=(up, toes))
    walk = trial.walk
    given = (trial.metrics or {}).get("metrics") or {}
    result = {
        "file": path,
        "fs_hz": float(metadata["rate_hz"]),
        "samples": int(trial.samples),
        "version": version,
        "initial_contacts_s": walk["initial_contacts_s"],
        "metrics": {k: given.get(k) for k in GAIT_KEYS if k != "initial_contacts_s"},
    }
    if walk.get("imu_gaps") is not None:  # the trial's words about the sensor's gaps, or why no gait
        result["gaps"] = dict(walk["imu_gaps"], samples_lost=walk["imu_bridged_frames"],
                              contacts_near_gaps=walk["imu_contacts_near_gaps"])
    if walk.get("imu_estimate_withheld") is not None:
        result["estimate_withheld"] = walk["imu_estimate_withheld"]
    incomplete = incomplete_words(metadata, int(trial.samples), result["fs_hz"])
    if incomplete:
        result["incomplete"] = incomplete
    return result


def known_walk_speed(metadata: dict) -> tuple[float, str, str] | None:
    """The speed a station walk trial is known to have walked at, from its sidecar's result (``result.walk``
    of ``trial --out``, ``metrics.trial.walk`` of ``export``): ``(m/s, whose speed in words, "walk" or
    "session")``, the light gates' measured speed overground, the entered belt speed on a treadmill; None
    for any other recording (no walk result, or no speed in it).

    >>> known_walk_speed({"result": {"walk": {"setting": "overground", "walk_speed_m_s": 0.5985}}})
    (0.5985, "the light gates' measured", 'walk')
    >>> known_walk_speed({"metrics": {"trial": {"walk": {"setting": "treadmill", "belt_speed_m_s": 0.5}}}})
    (0.5, "the belt's entered", 'session')
    >>> known_walk_speed({"rate_hz": 100.0}) is None
    True
    """
    walk = walk_result(metadata)
    if walk is None:
        return None
    treadmill = walk.get("setting") == "treadmill"
    speed = walk.get("belt_speed_m_s" if treadmill else "walk_speed_m_s")
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
        return None
    return (float(speed), "the belt's entered", "session") if treadmill else \
        (float(speed), "the light gates' measured", "walk")


def withheld_as_the_station(metrics: dict, metadata: dict) -> dict | None:
    """The station's rule for a walk trial's step length and walking speed
    (:func:`station.protocols.walk.withhold_unreliable_estimate`), applied to ``metrics`` (in place) when the
    file's sidecar says the speed the walk was known to have (:func:`known_walk_speed`): the inverted
    pendulum's estimate more than 25 % off it is not given (None), as in the trial's own result, so that
    re-analysing the trial file gives the trial's numbers. Returns what was withheld with the station's
    warning as ``words`` (``walking_speed_m_s``, ``step_length_m``, ``off_pct``, ``words``), else None."""
    from station.protocols.walk import unreliable_estimate_words, withhold_unreliable_estimate

    known = known_walk_speed(metadata) if isinstance(metadata, dict) else None
    if known is None:
        return None
    speed_m_s, source, what = known
    withheld = withhold_unreliable_estimate(metrics, speed_m_s)
    if withheld is not None:
        withheld["words"] = unreliable_estimate_words(withheld, speed_m_s, source, what)
    return withheld


def file_times(time_s, fs_hz: float, times_s) -> list[float]:
    """Times from the analysis (s from the recording's first sample, ``sample / fs_hz``) on the file's
    own time axis ``time_s`` (s, one per sample of the recording, :attr:`station.store.imu_recording.
    ImuRecording.time_s`; ``fs_hz`` its rate, Hz): each sample's ``time_s`` as the file gives it
    (interpolated between samples, and between the readings on either side of a bridged gap), not
    ``time_s[0] + sample / fs_hz``, which drifts from the file's times by as much as ``rate_hz`` is off
    them (up to :data:`station.store.trialfile.RATE_AGREEMENT`)."""
    import numpy as np

    samples = np.asarray(times_s, dtype=np.float64) * fs_hz
    return np.interp(samples, np.arange(time_s.shape[0], dtype=np.float64), time_s).tolist()


def _csv_keys() -> list[str]:
    from station.analysis.gait import GAIT_KEYS

    return [k for k in GAIT_KEYS if k != "initial_contacts_s"]


def csv_header() -> list[str]:
    return list(RESULT_FIELDS) + ["samples_lost"] + _csv_keys() + ["initial_contacts_s", "incomplete",
                                                                     "estimate_withheld", "gap_words"]


def csv_row(r: dict) -> list:
    """One result as CSV cells: floats as ``repr``, empty for none, the contacts space-separated;
    ``samples_lost`` counts the IMU samples bridged (0 when none, empty for a file in error);
    ``incomplete``, ``estimate_withheld`` then ``gap_words`` last (added later: the other columns keep their places),
    empty for a whole trial / where the step length and walking speed are given (else the station's warning why
    not) / where a station walk trial lost nothing of the sensor's (else the trial's words about its gaps, or why
    it has no gait: :func:`analyse_walk_file`)."""
    metrics = r.get("metrics", {})
    lost = None if "error" in r else r.get("gaps", {}).get("samples_lost", 0)
    row = [r.get(field) for field in RESULT_FIELDS] + [lost] + [metrics.get(k) for k in _csv_keys()]
    row = ["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row]
    row.append(" ".join(repr(t) for t in r.get("initial_contacts_s", [])))
    row.append(r.get("incomplete") or "")
    row.append((r.get("estimate_withheld") or {}).get("words") or "")
    row.append(r.get("gaps", {}).get("words") or "")
    return row


def format_csv(results: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header())
    writer.writerows(csv_row(r) for r in results)
    return buffer.getvalue()


def gait_task(sensor_height_m, mounting, default_mounting, version, path: str) -> dict:
    """:func:`analyse_file` with the batch's settings first (for :func:`functools.partial`)."""
    return analyse_file(path, sensor_height_m=sensor_height_m, mounting=mounting,
                        default_mounting=default_mounting, version=version)


def _import_analysis() -> None:
    """Import the analysis before the workers start: forked workers inherit it."""
    import station.analysis.gait  # noqa: F401
    import station.analysis.imu_frame  # noqa: F401
    import station.store.imu_recording  # noqa: F401


def run(args: argparse.Namespace) -> int:
    from station import __version__

    check_batch_options(args)
    if args.sensor_height_m is not None and not (0.3 <= args.sensor_height_m <= 1.5):
        raise usage_error(
            f"--sensor-height-m {args.sensor_height_m:g}: not a plausible height of a lower-back sensor "
            "(0.3 to 1.5 m above the ground)"
        )
    if args.mounting_up and args.mounting_toes and args.mounting_up[1] == args.mounting_toes[1]:
        raise usage_error(
            f"--mounting-up {args.mounting_up} and --mounting-toes {args.mounting_toes} must be different sensor axes"
        )
    default_mounting = _configured_mounting(args)
    files, notes = expand_paths(args.paths)
    for note in notes:
        print(one_line(f"balance-station gait: {note}"), file=sys.stderr)
    if not args.dask:
        _import_analysis()
    task = functools.partial(gait_task, args.sensor_height_m, (args.mounting_up, args.mounting_toes),
                             default_mounting, __version__)
    with output(args.out) as stream:
        writer = CsvWriter(stream, csv_header(), csv_row) if args.format == "csv" else JsonListWriter(stream)
        outcome = run_files(args, command="gait", files=files, task=task, write=writer.write,
                            progress_min_files=PROGRESS_MIN_FILES, version=__version__, say_incomplete=True)
        writer.close()
    failed = outcome.failed
    if failed:
        print(f"balance-station gait: {failed} of {len(files)} file(s) failed", file=sys.stderr)
        return 1
    return 0
