"""Exports: a trial as CSV with its JSON sidecar (DESIGN.md §4), a patient's history as CSV.

Every export is recorded in the audit log (``trial.export``, ``patient.export``).

Trial CSV: columns ``time_s,ap_cm,ml_cm,fz_n,fl_n,fr_n,bl_n,br_n``, then the IMU columns, ``flags``,
``t_ns`` and ``seq``, one row per stored frame; ``time_s`` is the frame's place on the sample grid,
``(seq − seq₀)/rate_hz`` (DESIGN.md §3), ``t_ns`` the loop's wake-up time (integer ns, monotonic).
Values the station could not measure are ``nan`` (e.g. COP below the load gate); lost frames are
absent (``seq`` jumps, ``time_s`` has a gap of whole periods, the next frame is flagged
``LOST_BEFORE``). ``seq₀`` is the trial's start slot (its ``start_seq``), so the times are those of
its trial CSV written live, a first slot lost included (the first row at 0.01 s); a walk (no start
slot) counts from its go, its first frame a whole number of periods after it (its
``time_zero_seq``), as its trial CSV written live and its steps' ``initial_contacts_s``; a trial
stored without either (an older or imported trial, a walk stored before) counts from its first
stored frame (:func:`zero_seq`). The sidecar
holds ``rate_hz``, ``calibration``, ``protocol``, ``condition``, ``station_version``, ``start_seq``,
``time_zero_seq`` and ``time_zero`` (what ``time_s`` counts from, in words), the trial's
status, validity (with who overrode the station's check, and the station's own verdict: its
``station_check``, with ``unable`` as the trial API gives it, :mod:`station.store.verdict`) and
metrics, the clinician's notes on the trial and on its session, and the pseudonymous patient
identifier. Files are written by
:func:`station.store.trialfile.write_trial_csv` (atomic).

Programmes JSON (:func:`patient_programmes_json`): the patient's training programmes with their
sessions, doses, visits and pauses, and the biofeedback training sessions (games) with their
settings, per-target results, scores and minutes.

History CSV: one row per trial of the patient, oldest first, with the session (and its notes), the
trial's status and validity (``judged_by``: the clinician who overrode the station's check), its
notes, the recording's length (``recorded_s``: frames stored / rate, s; not ``duration_s``, which is
the gait key "time walking" of DESIGN.md §8 among the metric columns), the metric profile, fs and
version, then one column per metric (union over the trials, sorted; empty where a trial lacks one).
No fixed column bears a metric's name, so every column is named once. Text cells that a
spreadsheet would read as a formula (starting with ``= + - @``) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from station import __version__
from station.acquire.frame import trial_columns
from station.store.atomic import atomic_write_text
from station.store.audit import Actor
from station.store.store import Store
from station.store.trialfile import sidecar_text, trial_csv_bytes, write_trial_csv

HISTORY_FIXED_COLUMNS = (
    "identifier",
    "session_id",
    "session_started_at",
    "session_label",
    "session_notes",
    "trial_id",
    "protocol",
    "condition",
    "started_at",
    "status",
    "valid",
    "validity_reason",
    "judged_by",
    "trial_notes",
    "recorded_s",
    "frame_count",
    "frames_lost",
    "profile",
    "fs_hz",
    "samples",
    "metrics_version",
)


def zero_seq(trial: dict) -> int | None:
    """The ``seq`` a stored trial's ``time_s`` counts from (``time_s = (seq − seq₀)/rate_hz``,
    :func:`station.acquire.frame.grid_time_s`), as its trial CSV written live counts it: its start slot
    (``start_seq``); a walk's go on the sample grid (``time_zero_seq``: its first frame whole periods
    after the go, :func:`station.acquire.frame.periods_after_go`); None for a trial stored without
    either (an older or imported trial): its first stored frame.

    >>> zero_seq({"start_seq": 1200, "time_zero_seq": None}), zero_seq({"start_seq": None, "time_zero_seq": 4999})
    (1200, 4999)
    >>> zero_seq({"start_seq": None}) is None
    True
    """
    for key in ("start_seq", "time_zero_seq"):
        if trial.get(key) is not None:
            return int(trial[key])
    return None


def export_columns(frames: np.ndarray, rate_hz: float, start_seq: int | None = None,
                   time_zero_seq: int | None = None) -> dict[str, np.ndarray]:
    """The exported trial CSV's columns: the trial CSV of DESIGN.md §4 (``time_s`` on the sample
    grid as its CSV written live counts it, from the trial's ``start_seq`` or, a walk, its
    ``time_zero_seq`` (:func:`zero_seq`); without either from its first stored frame; ``t_ns`` the
    wake-up time) plus ``seq``, so that lost frames show as gaps of whole periods."""
    columns = trial_columns(frames, rate_hz, seq0=zero_seq({"start_seq": start_seq, "time_zero_seq": time_zero_seq}))
    columns["seq"] = frames["seq"]
    return columns


def time_zero_words(trial: dict) -> str:
    """What a stored trial's ``time_s`` is counted from, in words (:func:`zero_seq`): its start slot,
    as its trial CSV written live (a trial whose first slots were lost starts after 0 s); a walk's go,
    as its trial CSV and its steps' times; or, for one stored without either, its first stored frame.

    >>> time_zero_words({"start_seq": 1200})
    'the start signal (long beep): its first sample slot, seq 1200'
    >>> time_zero_words({"start_seq": None, "time_zero_seq": 4999}).split(":")[0]
    "the go (the walk's start beep), on the sample grid at seq 4999"
    >>> time_zero_words({"start_seq": None})[:46]
    'the first stored frame (the trial was stored w'
    """
    if trial["start_seq"] is not None:
        return f"the start signal (long beep): its first sample slot, seq {int(trial['start_seq'])}"
    if trial.get("time_zero_seq") is not None:
        return (f"the go (the walk's start beep), on the sample grid at seq {int(trial['time_zero_seq'])}: its first "
                "frame whole periods after it, as its trial file written live and its steps' times")
    return ("the first stored frame (the trial was stored without its start slot: a trial recorded by an older "
            "version of the station, a walk stored before its go was kept, or imported)")


def trial_sidecar(store: Store, trial: dict) -> dict:
    """The JSON sidecar of an exported trial (see the module docstring)."""
    patient = store.patients.get(trial["patient_id"])
    session = store.sessions.get(trial["session_id"])
    return {
        "rate_hz": trial["rate_hz"],
        "protocol": trial["protocol"],
        "condition": trial["condition"],
        "calibration": trial["calibration"],
        "station_version": trial["station_version"],
        "exported_by_version": __version__,
        "trial_id": trial["id"],
        "patient_identifier": patient["identifier"],
        "session_id": session["id"],
        "session_label": session["label"],
        "session_started_at": session["started_at"],
        "session_notes": session["notes"],
        "started_at": trial["started_at"],
        "ended_at": trial["ended_at"],
        "status": trial["status"],
        "status_reason": trial["status_reason"],
        "frame_count": trial["frame_count"],
        "frames_lost": trial["frames_lost"],
        "start_seq": trial["start_seq"],
        "time_zero_seq": trial.get("time_zero_seq"),
        "time_zero": time_zero_words(trial),
        "valid": trial["valid"],
        "validity_reason": trial["validity_reason"],
        "judged_by": trial["judged_by"],
        "judged_at": trial["judged_at"],
        "station_check": trial["station_check"],
        "notes": trial["notes"],
        "metrics": trial["metrics"],
    }


def export_trial(store: Store, trial_id: int, out_dir: str | os.PathLike, *, actor: Actor) -> tuple[Path, Path]:
    """Write ``trial-<id>.csv`` and ``trial-<id>.json`` into ``out_dir``; return both paths.

    Raises NotFound for an unknown trial, TrialFileError if the files cannot be written.
    """
    csv_path = Path(out_dir) / f"trial-{trial_id}.csv"
    trial, columns = _trial_columns(store, trial_id)
    write_trial_csv(csv_path, columns, trial_sidecar(store, trial))
    _audit_trial_export(store, trial, actor)
    return csv_path, csv_path.with_suffix(".json")


def _trial_columns(store: Store, trial_id: int) -> tuple[dict, dict]:
    """The trial's row and its exported columns."""
    trial = store.trials.get(trial_id)
    frames = store.trials.frames(trial_id)
    return trial, export_columns(frames, float(trial["rate_hz"]), trial["start_seq"], trial.get("time_zero_seq"))


def _audit_trial_export(store: Store, trial: dict, actor: Actor) -> None:
    store.audit.record(
        actor, "trial.export", patient_id=trial["patient_id"], object=f"trial:{trial['id']}", detail={"format": "csv"}
    )


def trial_sidecar_json(store: Store, trial_id: int, *, actor: Actor) -> bytes:
    """The exported trial's sidecar ``trial-<id>.json`` alone, as :func:`export_trial` writes it,
    without formatting its frames (a 20-min trial's CSV is 12 MB); audited as ``trial.export``
    (format ``json``)."""
    trial = store.trials.get(trial_id)
    text = sidecar_text(f"trial-{trial_id}.json", trial_sidecar(store, trial))
    store.audit.record(
        actor, "trial.export", patient_id=trial["patient_id"], object=f"trial:{trial_id}", detail={"format": "json"}
    )
    return text.encode("utf-8")


def trial_export_files(store: Store, trial_id: int, *, actor: Actor) -> dict[str, bytes]:
    """The exported files' contents, ``{"trial-<id>.csv": ..., "trial-<id>.json": ...}``, the bytes
    :func:`export_trial` writes (for downloads), made in memory: nothing is written on the station's card,
    so a download works on a full or failing card as the trial's page does (it went through a temporary
    directory, and a card that refused it answered 500)."""
    name = f"trial-{trial_id}.csv"
    trial, columns = _trial_columns(store, trial_id)
    csv_bytes, side_bytes = trial_csv_bytes(name, columns, trial_sidecar(store, trial))
    _audit_trial_export(store, trial, actor)
    return {name: csv_bytes, f"trial-{trial_id}.json": side_bytes}


def zip_files(files: dict[str, bytes]) -> bytes:
    """A zip archive of ``{name: content}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int,)):
        return str(value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def _history_text(store: Store, patient_id: int) -> tuple[str, int]:
    patient = store.patients.get(patient_id)
    rows = []
    metric_names: set[str] = set()
    with store.db.read() as conn:
        for r in conn.execute(
            "SELECT t.*, s.started_at AS session_started_at, s.label AS session_label, s.notes AS session_notes"
            " FROM trials t"
            " JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ? ORDER BY s.started_at, t.id",
            (patient_id,),
        ):
            result = json.loads(r["metrics"]) if r["metrics"] else {}
            values = result.get("metrics") or {}
            metric_names.update(values)
            rows.append(
                {
                    "identifier": patient["identifier"],
                    "session_id": r["session_id"],
                    "session_started_at": r["session_started_at"],
                    "session_label": r["session_label"],
                    "session_notes": r["session_notes"],
                    "trial_id": r["id"],
                    "protocol": r["protocol"],
                    "condition": r["condition"],
                    "started_at": r["started_at"],
                    "status": r["status"],
                    "valid": None if r["valid"] is None else bool(r["valid"]),
                    "validity_reason": r["validity_reason"],
                    "judged_by": r["judged_by"],
                    "trial_notes": r["notes"],
                    "recorded_s": r["frame_count"] / r["rate_hz"],
                    "frame_count": r["frame_count"],
                    "frames_lost": r["frames_lost"],
                    "profile": result.get("profile"),
                    "fs_hz": result.get("fs_hz"),
                    "samples": result.get("samples"),
                    "metrics_version": result.get("version"),
                    **{f"metric:{k}": v for k, v in values.items()},
                }
            )
    metric_columns = sorted(metric_names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(HISTORY_FIXED_COLUMNS) + metric_columns)
    for row in rows:
        cells = [row.get(c) for c in HISTORY_FIXED_COLUMNS] + [row.get(f"metric:{m}") for m in metric_columns]
        writer.writerow([_cell(v) for v in cells])
    return out.getvalue(), len(rows)


def _audit_history(store: Store, patient_id: int, trials: int, actor: Actor) -> None:
    store.audit.record(
        actor, "patient.export", patient_id=patient_id, object=f"patient:{patient_id}",
        detail={"format": "history-csv", "trials": trials},
    )


def patient_history_csv(store: Store, patient_id: int, *, actor: Actor) -> str:
    """The patient's history CSV (see the module docstring); audited as ``patient.export``."""
    text, trials = _history_text(store, patient_id)
    _audit_history(store, patient_id, trials, actor)
    return text


def export_patient_history(store: Store, patient_id: int, path: str | os.PathLike, *, actor: Actor) -> Path:
    """Write the history CSV to ``path`` atomically (temporary file + rename); audited."""
    text, trials = _history_text(store, patient_id)
    path = atomic_write_text(path, text)
    _audit_history(store, patient_id, trials, actor)
    return path


def patient_programmes_json(store: Store, patient_id: int, *, actor: Actor) -> str:
    """The patient's training programmes as JSON: every assignment (oldest first) with its
    template as assigned, sessions with their doses, assessment visits with the station sessions
    that ran them, and pauses; audited as ``patient.export``."""
    patient = store.patients.get(patient_id)
    programmes = store.programmes.for_patient_export(patient_id)
    training = list(reversed(store.training.list_for_patient(patient_id, limit=100_000)))  # oldest first
    text = json.dumps({"patient_identifier": patient["identifier"], "exported_by_version": __version__,
                       "programmes": programmes, "training_sessions": training}, indent=2, sort_keys=True)
    store.audit.record(
        actor, "patient.export", patient_id=patient_id, object=f"patient:{patient_id}",
        detail={"format": "programmes-json", "programmes": len(programmes), "training_sessions": len(training)},
    )
    return text + "\n"
