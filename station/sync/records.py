"""What travels from a station to the hub: the records behind outbox rows, and frame parts.

Sessions, trials, programmes and training games are sent whole, as they are when pushed (the
outbox row only says which); patients carry the fields of the change itself
(:mod:`station.store.outbox`). A trial's raw frames travel separately, in parts of at most
:data:`PART_FRAMES` frames (the hub says which parts it already has, so an upload cut by the
network resumes where it stopped).
"""

from __future__ import annotations

import hashlib

import numpy as np

from station.store import erasure_key, programme_fields

PART_FRAMES = 900
"""Frames per uploaded part (900 x 140 B = 126 kB: under the 128 kB body bound of the web server,
:data:`web.jsonio.SERVER_LIMITS`; 9 s at 100 Hz)."""
PART_DIGEST_HEADER = "X-Frames-SHA256"
"""The header carrying the SHA-256 (64 hex digits) of a frame part's body (:func:`part_digest`):
the hub stores a part only if its body has that digest (sync protocol 2; a station without it is
told to update its software)."""
SESSION_COLUMNS = ("started_at", "label", "notes", "created_by")
TRIAL_COLUMNS = (
    "protocol", "condition", "status", "status_reason", "started_at", "ended_at", "last_commit_at", "rate_hz",
    "calibration", "frame_dtype", "frame_count", "frames_lost", "first_seq", "last_seq", "metrics", "valid",
    "validity_reason", "station_version", "recorded_by", "notes", "judged_by", "judged_at", "station_valid",
    "station_validity_reason", "station_id", "calibration_id", "start_seq", "time_zero_seq",
)
"""The ``trials`` columns a trial travels with (JSON documents as their stored text). ``start_seq`` (the
trial's start slot, the time zero of its frames: migration 16) and ``time_zero_seq`` (a walk's go on the
sample grid, its time zero: migration 17) may be missing from what an older station pushes or an older hub
answers: taken as null (time zero at the first stored frame)."""
TRAINING_COLUMNS = ("game", "level", "settings", "result", "score", "minutes", "completed", "day", "created_at",
                    "created_by")
"""The ``training_sessions`` columns a game travels with (``settings``, the schedule, and
``result``, the per-target results, as their stored JSON text)."""


def record_of(store, change: dict) -> dict | None:
    """The payload to push for outbox row ``change``; None if its record is gone (nothing to send).

    Sessions: ``patient_local_id`` and :data:`SESSION_COLUMNS`. Trials: ``session_local_id``,
    :data:`TRIAL_COLUMNS` and ``parts`` (how many frame parts). Programmes: ``doc`` (the whole
    programme, :func:`station.store.programme_fields.document_in`) and ``field_times`` (when each
    of its fields last changed here: the hub merges them last-writer-wins per field). Training
    games: ``patient_local_id``, ``session_local_id``, ``trial_local_id`` (the visit and the trial
    that hold its raw frames, or None), ``programme_session`` (``{"programme_local_id",
    "number"}`` of the programme session it counted for, or None) and :data:`TRAINING_COLUMNS`.
    """
    entity = change["entity"]
    if entity == "patient":
        return change["payload"]
    with store.db.read() as conn:
        if entity == "session":
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (change["local_id"],)).fetchone()
            if row is None:
                return None
            return {"patient_local_id": row["patient_id"], **{c: row[c] for c in SESSION_COLUMNS}}
        if entity == "trial":
            row = conn.execute("SELECT * FROM trials WHERE id = ?", (change["local_id"],)).fetchone()
            if row is None or row["status"] == "recording":
                return None
            parts = -(-row["frame_count"] // PART_FRAMES)
            return {"session_local_id": row["session_id"], **{c: row[c] for c in TRIAL_COLUMNS}, "parts": parts}
        if entity == "training":
            row = conn.execute("SELECT * FROM training_sessions WHERE id = ?", (change["local_id"],)).fetchone()
            if row is None:
                return None
            counted = None
            if row["programme_session_id"] is not None:
                ps = conn.execute("SELECT assignment_id, number FROM programme_sessions WHERE id = ?",
                                  (row["programme_session_id"],)).fetchone()
                if ps is not None:
                    counted = {"programme_local_id": ps["assignment_id"], "number": ps["number"]}
            return {"patient_local_id": row["patient_id"], "session_local_id": row["session_id"],
                    "trial_local_id": row["trial_id"], "programme_session": counted,
                    **{c: row[c] for c in TRAINING_COLUMNS}}
        if entity == "programme":
            doc = programme_fields.document_in(conn, change["local_id"])
            if doc is None:
                return None
            times = programme_fields.field_times(conn, change["local_id"])
            return {"doc": doc, "field_times": {k: v["changed_at"] for k, v in times.items()}}
    raise ValueError(f"unknown outbox entity {entity!r}")


tombstone_key = erasure_key.keyed_hash
"""How an erasure names a patient to stations (:func:`station.store.erasure_key.keyed_hash`)."""
clinic_key_id = erasure_key.key_id
"""Names a clinic key without revealing it (:func:`station.store.erasure_key.key_id`)."""


def part_digest(data: bytes) -> str:
    """The SHA-256 of a frame part's body as 64 lowercase hex digits (:data:`PART_DIGEST_HEADER`).

    Examples
    --------
    >>> part_digest(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def frame_parts(frames: np.ndarray) -> list[tuple[int, int, bytes]]:
    """``(first_seq, n_frames, bytes)`` of each upload part of a trial's frames, in order."""
    out = []
    for start in range(0, len(frames), PART_FRAMES):
        part = frames[start:start + PART_FRAMES]
        out.append((int(part["seq"][0]), len(part), part.tobytes()))
    return out
