"""JSON API for trials: details with metrics, validity, frames for plotting, exports.

``GET/PATCH /api/trials/<id>``, ``GET /api/trials/<id>/frames``,
``GET /api/trials/<id>/export.csv|export.json|export.zip``. Recording itself is driven by the
protocol engine through :meth:`station.store.trials.Trials.start_trial`. See ``docs/api.md``.
"""

from __future__ import annotations

import math

import numpy as np
from flask import Blueprint, current_app, request

from station.acquire.frame import FRAME_DTYPE, grid_time_s
from station.protocols.report import age_in_year, trial_cutoffs, trial_held_verdict
from station.store.db import ValidationError
from station.store.export import time_zero_words, trial_export_files, trial_sidecar_json, zero_seq, zip_files
from station.store.verdict import unable_kind
from web.api_station import station_protocols
from web.downloads import attachment
from web.jsonio import json_body, query_int
from web.places import export_place
from web.security import actor, store
from web.visit_views import in_visit_view

bp = Blueprint("api_trials", __name__, url_prefix="/api")

FRAME_FIELDS = ("time_s",) + tuple(n for n in FRAME_DTYPE.names if n != "t_ns")
DEFAULT_FRAME_FIELDS = ("time_s", "ap_cm", "ml_cm", "fz_n")
MAX_POINTS = 20_000
FRAMES_READ_AT_ONCE = 30_000
"""Frames :func:`trial_frames` reads at a time (5 min at 100 Hz, 4 MB of every field), keeping only those it
answers: a request costs its answer and one such batch, not the trial (a 2-hour session's 720,000 frames took
149 MB a request, and nothing bounds how many requests a signed-in user makes at once)."""


@bp.get("/trials/<int:trial_id>")
def get_trial(trial_id: int):
    """The trial, with ``cutoffs``: its protocol's published cut-offs read against its own values for
    its patient (:func:`station.protocols.report.trial_cutoffs`; none for a protocol this station no
    longer has), ``held_verdict`` (a hold that ended early: :func:`station.protocols.report.trial_held_verdict`),
    and ``unable``: whether it counts as unable, 0 s, as it stands now (a clinician's
    judgement included; "measured", "scored" or None: :func:`station.store.verdict.unable_kind`, the
    results page's verdict). Audited as ``trial.view``, except when ``?in_visit=`` names a visit whose results
    this login session's view recorded and the trial is one of its (the visit page's traces:
    :mod:`web.visit_views`)."""
    trial = store().trials.get(trial_id)
    if not in_visit_view(trial):  # a trace of a visit whose view was recorded is part of it (web.visit_views)
        store().audit.record(actor(), "trial.view", patient_id=trial["patient_id"], object=f"trial:{trial_id}")
    trial["unable"] = unable_kind(trial)
    protocol = station_protocols()[0].get(trial["protocol"])
    patient = store().patients.get(trial["patient_id"])
    wall_clock = current_app.config["WALL_CLOCK"]
    trial["cutoffs"] = [] if protocol is None else trial_cutoffs(protocol, trial, patient, wall_clock)
    # a hold that ended early, as the visit results and the live page colour it
    trial["held_verdict"] = None if protocol is None else trial_held_verdict(
        protocol, trial, age_in_year(patient.get("birth_year"), wall_clock), patient.get("conditions") or [])
    return trial


@bp.patch("/trials/<int:trial_id>")
def update_trial(trial_id: int):
    """The clinician's judgement (``valid`` + ``validity_reason``) and note (``notes``). On a trial the
    station counts as unable (0 s: ``station_check.unable`` of the store's trial), ``valid`` true
    keeps it so: a result, in the visit results."""
    data = json_body()
    unable = isinstance(data, dict) and data.get("valid") is True and \
        store().trials.get(trial_id)["station_check"]["unable"] is not None
    return store().trials.judge(trial_id, data, actor=actor(), station_result=unable)


def _column(values: np.ndarray) -> list:
    if values.dtype.kind == "f":
        return [None if not math.isfinite(v) else v for v in values.tolist()]
    return values.tolist()


def _every_nth_frame(trial_id: int, fields: tuple[str, ...], max_points: int) -> tuple[np.ndarray, int, int]:
    """``(picked, n, step)``: every ``step``-th of the trial's ``n`` frames (``fields`` of them, from the
    first), ``step`` the least that keeps at most ``max_points``; read :data:`FRAMES_READ_AT_ONCE` frames
    (whole chunks) at a time."""
    trials = store().trials
    chunks = trials.frame_chunks(trial_id)
    starts = np.concatenate(([0], np.cumsum(chunks["n_frames"], dtype=np.int64)))  # each chunk's first frame, and n
    n = int(starts[-1])
    step = max(1, math.ceil(n / max_points))
    if n == 0:
        return trials.frames(trial_id, fields=fields), 0, step
    parts, i = [], 0
    while i < len(chunks):
        j = max(i + 1, int(np.searchsorted(starts, starts[i] + FRAMES_READ_AT_ONCE, side="right")) - 1)
        batch = trials.frames(trial_id, fields=fields, chunks=(int(chunks["chunk_no"][i]), int(chunks["chunk_no"][j - 1])))
        parts.append(batch[-int(starts[i]) % step::step].copy())  # the frames whose index in the trial is a multiple of step
        i = j
    return np.concatenate(parts), n, step


@bp.get("/trials/<int:trial_id>/frames")
def trial_frames(trial_id: int):
    raw_fields = request.args.get("fields")
    names = tuple(f.strip() for f in raw_fields.split(",")) if raw_fields else DEFAULT_FRAME_FIELDS
    bad = [n for n in names if n not in FRAME_FIELDS]
    if bad or not names:
        raise ValidationError({"fields": f"unknown field(s) {', '.join(bad)[:200]}; allowed: {', '.join(FRAME_FIELDS)}"})
    max_points = query_int("max_points", 3000, 10, MAX_POINTS)
    trial = store().trials.get(trial_id)
    seen = in_visit_view(trial)  # (before the frames are read: a bad ?in_visit= is refused first)
    fields = ("seq",) + tuple(n for n in dict.fromkeys(names) if n not in ("seq", "time_s"))
    picked, n, step = _every_nth_frame(trial_id, fields, max_points)
    out = {"trial_id": trial_id, "rate_hz": trial["rate_hz"], "frame_count": n, "step": step,
           "time_zero": time_zero_words(trial), "columns": {}}
    for name in names:
        if name == "time_s":  # the frame's place on the sample grid (DESIGN.md §3), never its wake-up time,
            # counted as its CSV written live counts it: from its start slot, a walk's from its go (zero_seq)
            values = grid_time_s(picked, float(trial["rate_hz"]), seq0=zero_seq(trial)) if n else np.empty(0)
        else:
            values = picked[name]
        out["columns"][name] = _column(values)
    if not seen:  # audited as trial.frames unless part of the visit's recorded view, as get_trial
        store().audit.record(actor(), "trial.frames", patient_id=trial["patient_id"], object=f"trial:{trial_id}")
    return out




@bp.get("/trials/<int:trial_id>/export.csv")
@export_place
def export_csv(trial_id: int):
    files = trial_export_files(store(), trial_id, actor=actor())
    name = f"trial-{trial_id}.csv"
    return attachment(files[name], "text/csv", name)


@bp.get("/trials/<int:trial_id>/export.json")
def export_json(trial_id: int):
    name = f"trial-{trial_id}.json"
    return attachment(trial_sidecar_json(store(), trial_id, actor=actor()), "application/json", name)


@bp.get("/trials/<int:trial_id>/export.zip")
@export_place
def export_zip(trial_id: int):
    files = trial_export_files(store(), trial_id, actor=actor())
    return attachment(zip_files(files), "application/zip", f"trial-{trial_id}.zip")
