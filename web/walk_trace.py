"""The steps of a stored walk trial on its acceleration trace (``GET /api/trials/<id>/steps``).

The results and trial pages draw the lower back's vertical acceleration with the steps (initial
contacts) the trial's result found. Vertical is the direction of gravity in the recording
(:func:`station.analysis.imu_frame.gravity_direction`, following slow changes of posture in
recordings of 20 s or more), so the trace needs no mounting configuration and is the signal the
gait analysis finds the steps in. Times are the trial CSV's ``time_s`` (DESIGN.md §3:
``(seq − seq₀)/rate_hz``), the axis of ``initial_contacts_s``.
"""

from __future__ import annotations

import math

import numpy as np

from station.analysis.imu_frame import gravity_direction
from station.analysis.imu_gaps import MAX_BRIDGE_S

IMU_FIELDS = ("ax_m_s2", "ay_m_s2", "az_m_s2")
TRACE_FIELDS = ("seq",) + IMU_FIELDS
"""The frames' fields :func:`steps_trace` reads."""
NOTHING_RECORDED = "Nothing was recorded in this trial: no readings from the plate or the lower-back sensor"
"""The page's one message for a trial with no frames (not the no-IMU words: there was nothing to wear)."""
NO_ACCELERATION = "No acceleration recorded (was the IMU worn and connected?)"
"""The page's one message for a trial with frames but no usable lower-back acceleration."""


def stored_contacts(doc: dict | None) -> list[float] | None:
    """The initial contacts (s) a stored trial's metrics document holds (a walk trial's document
    keeps them at its top level, docs/api.md; an invalid walk trial's only in its result's ``walk``,
    where the station's check found them, e.g. up to where the patient stopped), or None when it
    holds none."""
    if not isinstance(doc, dict):
        return None
    outcome = doc.get("trial") if isinstance(doc.get("trial"), dict) else {}
    for holder in (doc, doc.get("gait"), doc.get("metrics"), outcome.get("walk")):
        if isinstance(holder, dict) and isinstance(holder.get("initial_contacts_s"), list):
            return [float(c) for c in holder["initial_contacts_s"] if isinstance(c, (int, float)) and math.isfinite(c)]
    return None


def vertical_acceleration(frames: np.ndarray, rate_hz: float) -> np.ndarray:
    """Vertical acceleration of each frame, m/s² including gravity (NaN where the IMU gave none).

    Raises ValueError when there is no usable IMU data (none, or no gravity in it)."""
    acc = np.column_stack([np.asarray(frames[f], dtype=float) for f in IMU_FIELDS])
    finite = np.isfinite(acc).all(axis=1)
    if finite.sum() < 2:
        raise ValueError("no acceleration was recorded in this trial (was the IMU worn and connected?)")
    out = np.full(len(frames), np.nan)
    up = gravity_direction(acc[finite], rate_hz)
    out[finite] = np.einsum("ij,ij->i", acc[finite], up)
    return out


def steps_trace(trial: dict, frames: np.ndarray, *, from_s: float | None, to_s: float | None, max_points: int) -> dict:
    """The document of ``GET /api/trials/<id>/steps``: ``time_s``, ``acc_v_m_s2`` (null where
    unknown) in the window ``[from_s, to_s]`` (default: the whole trial), at most ``max_points``
    of them (every k-th frame), the steps in the window, and ``note`` when something is missing;
    ``acceleration`` is False when the trial holds no usable IMU data or no frames at all (the note
    then says which, in the words a page shows in the trace's place, once)."""
    rate = float(trial["rate_hz"])
    n = len(frames)
    doc = trial.get("metrics") or {}
    contacts = stored_contacts(doc)
    duration_s = float((int(frames["seq"][-1]) - int(frames["seq"][0]) + 1) / rate) if n else 0.0
    lo = 0.0 if from_s is None else max(0.0, from_s)
    hi = duration_s if to_s is None else min(duration_s, to_s)
    out = {"trial_id": trial["id"], "rate_hz": rate, "duration_s": round(duration_s, 6), "from_s": lo, "to_s": hi,
           "time_s": [], "acc_v_m_s2": [], "initial_contacts_s": [], "steps_total": None if contacts is None else len(contacts),
           "note": "", "acceleration": True}
    if contacts is None:
        out["note"] = "This trial's result holds no steps (initial contacts)."
    else:
        out["initial_contacts_s"] = [round(c, 4) for c in contacts if lo <= c <= hi]
    if not n:
        out["note"], out["acceleration"] = NOTHING_RECORDED, False
        return out
    time_s = (frames["seq"].astype(np.int64) - int(frames["seq"][0])) / rate
    try:
        acc_v = vertical_acceleration(frames, rate)
    except ValueError:
        out["note"], out["acceleration"] = NO_ACCELERATION, False
        return out
    inside = np.flatnonzero((time_s >= lo) & (time_s <= hi))
    step = max(1, math.ceil(len(inside) / max_points))
    picked = inside[::step]
    out["step"] = step
    times = np.round(time_s[picked], 4).tolist()
    values = [v if math.isfinite(v) else None for v in np.round(acc_v[picked], 3).tolist()]
    # frames lost for longer than a bridged gap (a stall of the acquisition): a null just after the last
    # frame before them, so the trace breaks there, as over readings missing (null), and is not drawn
    # as a straight line over time nothing was measured in (the steps were not measured there either)
    lost = np.flatnonzero(np.diff(time_s[picked]) > (step / rate) + MAX_BRIDGE_S)
    for i in lost[::-1].tolist():
        times.insert(i + 1, round(float(time_s[picked[i]]) + 1.0 / rate, 4))
        values.insert(i + 1, None)
    out["time_s"], out["acc_v_m_s2"] = times, values
    return out
