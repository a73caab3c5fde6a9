"""A patient's history recorded at other stations, brought to this one from the hub (read-only here).

When a station pulls a patient (:meth:`station.sync.syncer.StationSync.pull_patient`), or refreshes
one it holds, the hub sends, page by page (:meth:`station.sync.hub.Hub.history_for_station`), the
patient's sessions and trials recorded elsewhere: each trial's results (``metrics``), validity and
judgement, protocol and condition, times, and its station id and calibration id, so that this
station's history, trends and MDC comparisons include them. **Raw frames stay on the hub**: the
history needs none of them, and they are the bulk of a trial (100 Hz x 140 B = 14 kB/s: a
500-trial patient of 30-s trials is 210 MB of frames, against about 1.5 MB of results); the hub
keeps them for its own pages and exports. A pulled trial is stored with ``frame_count`` 0 (the
frames it has here) and the hub's count in ``sync_pulled.frames_on_hub``.

Pulled records are marked in ``sync_pulled`` (migration 10): their hub id, the station that
recorded them (its name on the hub; None: recorded on the hub). They are read-only here: the outbox
refuses any change of them (:meth:`station.store.outbox.Outbox.capture`), and they are never queued
for the hub (they came from it). A page is stored in one transaction after all of it was checked
(garbage from a hub stores nothing of that page); pulling again updates the judgement of the
trials already held and adds what is new. They go with the patient on erasure
(``ON DELETE CASCADE``), wherever the erasure was made.

The patient's programmes are not copied: a station shows them read-only as the hub has them now
(:func:`check_programmes`; the history page, when the hub can be reached), each session marked with
the station that recorded it. A game played here counts for the programme on the hub
(:meth:`station.sync.hub.Hub._training`).
"""

from __future__ import annotations

from datetime import date

from station.store import fields
from station.store.audit import Actor
from station.store.db import ValidationError
from station.store.programme_fields import PROGRAMME_STATUSES, STATE_STATUSES
from station.sync.hub import TRIAL_UPDATABLE, session_values, trial_values
from station.sync.records import TRIAL_COLUMNS


def _hub_id(item: dict) -> int:
    value = item.get("hub_id")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**62:
        raise ValidationError({"hub_id": "must be the hub's id of the record"})
    return value


def _station(item: dict) -> str | None:
    value = item.get("station")
    if value is None:
        return None
    try:
        return fields.text(value, max_chars=64, required=True)
    except ValueError as exc:
        raise ValidationError({"station": str(exc)}) from None


def check_page(sessions: object) -> list[dict]:
    """The sessions of one page of a hub's answer, each checked as the hub checks what a station
    pushes (ValidationError naming the field)."""
    if not isinstance(sessions, list):
        raise ValidationError({"sessions": "must be a list"})
    out = []
    for session in sessions:
        if not isinstance(session, dict) or not isinstance(session.get("trials"), list):
            raise ValidationError({"sessions": "each must be an object with its trials"})
        trials = []
        for trial in session["trials"]:
            if not isinstance(trial, dict):
                raise ValidationError({"trials": "each must be an object"})
            frames = trial.get("frames_on_hub")
            if not isinstance(frames, int) or isinstance(frames, bool) or not 0 <= frames < 2**62:
                raise ValidationError({"frames_on_hub": "must be a frame count"})
            trials.append({"hub_id": _hub_id(trial), "station": _station(trial), "frames_on_hub": frames,
                           "values": trial_values(trial)})
        out.append({"hub_id": _hub_id(session), "station": _station(session), "values": session_values(session),
                    "trials": trials})
    return out


def store_page(store, patient_id: int, sessions: list[dict], *, actor: Actor) -> tuple[int, int]:
    """Store a checked page (:func:`check_page`) for local patient ``patient_id`` in one
    transaction; returns how many sessions and trials were new. Audited ``session.create`` (by
    ``actor``, with where it was recorded) for each new session."""
    now = store.outbox.now_iso()
    new_sessions = new_trials = 0
    with store.outbox.muted(), store.db.write() as conn:
        for session in sessions:
            known = conn.execute("SELECT local_id FROM sync_pulled WHERE entity = 'session' AND hub_id = ?",
                                 (session["hub_id"],)).fetchone()
            if known is not None:
                session_id = int(known["local_id"])
            else:
                v = session["values"]
                cur = conn.execute("INSERT INTO sessions (patient_id, started_at, label, notes, created_by)"
                                   " VALUES (?, ?, ?, ?, ?)",
                                   (patient_id, v["started_at"], v["label"], v["notes"], v["created_by"]))
                session_id = int(cur.lastrowid)
                conn.execute("INSERT INTO sync_pulled (entity, local_id, patient_id, hub_id, station, pulled_at)"
                             " VALUES ('session', ?, ?, ?, ?, ?)",
                             (session_id, patient_id, session["hub_id"], session["station"], now))
                store.audit.record(actor, "session.create", patient_id=patient_id, object=f"session:{session_id}",
                                   detail={"pulled_from_hub": True, "recorded_at": session["station"] or "hub",
                                           "trials": len(session["trials"])})
                new_sessions += 1
            for trial in session["trials"]:
                v = trial["values"]
                known = conn.execute("SELECT local_id FROM sync_pulled WHERE entity = 'trial' AND hub_id = ?",
                                     (trial["hub_id"],)).fetchone()
                if known is not None:  # the hub may have judged it since
                    conn.execute(f"UPDATE trials SET {', '.join(f'{c} = ?' for c in TRIAL_UPDATABLE)} WHERE id = ?",
                                 (*(v[c] for c in TRIAL_UPDATABLE), int(known["local_id"])))
                    continue
                row = {**v, "frame_count": 0, "first_seq": None, "last_seq": None}  # the frames stay on the hub
                columns = ("session_id",) + TRIAL_COLUMNS
                cur = conn.execute(f"INSERT INTO trials ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                   (session_id, *(row[c] for c in TRIAL_COLUMNS)))
                conn.execute("INSERT INTO sync_pulled (entity, local_id, patient_id, hub_id, station, frames_on_hub,"
                             " pulled_at) VALUES ('trial', ?, ?, ?, ?, ?, ?)",
                             (int(cur.lastrowid), patient_id, trial["hub_id"], trial["station"], trial["frames_on_hub"],
                              now))
                new_trials += 1
    return new_sessions, new_trials


JUDGEMENT_FIELDS = ("valid", "validity_reason", "notes", "judged_by", "judged_at", "station_valid",
                   "station_validity_reason")
"""A trial's judgement: what :func:`store_judgements` counts as a change."""


def forget_above(store, sessions_above: int, trials_above: int, *, actor: Actor) -> int:
    """Remove the pulled visits and trials whose hub ids are above ``sessions_above`` and
    ``trials_above``: a hub restored from an older backup (:mod:`station.store.hub_epoch`) lost
    them and gives their ids to other records, which would be taken for them (another patient's
    trial stored over this one). They come again under new ids once the station that recorded them
    offers them again. One transaction, audited ``sync.pulled_forgotten`` with the counts; returns
    how many trials were removed."""
    with store.db.write() as conn:
        sessions = [r[0] for r in conn.execute("SELECT local_id FROM sync_pulled WHERE entity = 'session' AND hub_id > ?",
                                               (sessions_above,))]
        trials = [r[0] for r in conn.execute("SELECT local_id FROM sync_pulled WHERE entity = 'trial' AND hub_id > ?",
                                             (trials_above,))]
        if not sessions and not trials:
            return 0
        for trial_id in trials:
            conn.execute("DELETE FROM trials WHERE id = ?", (trial_id,))
        for session_id in sessions:  # their trials too (recorded after the visit, so above the trials' id)
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        conn.execute("DELETE FROM sync_pulled WHERE (entity = 'session' AND hub_id > ?) OR (entity = 'trial' AND"
                     " (hub_id > ? OR local_id NOT IN (SELECT id FROM trials)))", (sessions_above, trials_above))
        store.audit.record(actor, "sync.pulled_forgotten", detail={"sessions": len(sessions), "trials": len(trials)})
    return len(trials)


def check_judgements(items: object, *, max_items: int = 1000) -> list[dict]:
    """The trials of a hub's ``"judgements"`` (:meth:`station.sync.hub.Hub.history_updates`),
    each checked as a pulled trial (ValidationError naming the field): ``[{"hub_id", "values"}]``."""
    if not isinstance(items, list) or len(items) > max_items:
        raise ValidationError({"judgements": f"must be a list of at most {max_items} trials"})
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValidationError({"judgements": "each must be a trial"})
        out.append({"hub_id": _hub_id(item), "values": trial_values(item)})
    return out


def store_judgements(store, items: list[dict], *, actor: Actor) -> int:
    """Take the hub's record of checked trials (:func:`check_judgements`) that this station pulled
    (others are left out: this station never brought them), in one transaction, never queued back;
    returns how many trials' judgement changed here, each audited ``trial.update`` by ``actor``
    naming the fields changed (never their text)."""
    changed = 0
    with store.outbox.muted(), store.db.write() as conn:
        for item in items:
            known = conn.execute("SELECT p.local_id, p.patient_id, p.station FROM sync_pulled p"
                                 " WHERE p.entity = 'trial' AND p.hub_id = ?", (item["hub_id"],)).fetchone()
            if known is None:
                continue
            local_id, v = int(known["local_id"]), item["values"]
            row = conn.execute(f"SELECT {', '.join(JUDGEMENT_FIELDS)} FROM trials WHERE id = ?", (local_id,)).fetchone()
            if row is None:
                continue
            fields_changed = [c for c in JUDGEMENT_FIELDS if row[c] != v[c]]
            conn.execute(f"UPDATE trials SET {', '.join(f'{c} = ?' for c in TRIAL_UPDATABLE)} WHERE id = ?",
                         (*(v[c] for c in TRIAL_UPDATABLE), local_id))
            if fields_changed:
                changed += 1
                store.audit.record(actor, "trial.update", patient_id=int(known["patient_id"]),
                                   object=f"trial:{local_id}",
                                   detail={"changed": fields_changed, "pulled_from_hub": True,
                                           "recorded_at": known["station"] or "hub"})
    return changed


def recorded_elsewhere(store, patient_id: int) -> dict:
    """Where the patient's pulled records were recorded: ``{"sessions": {local id: station name or
    "hub"}, "trials": {local id: {"station", "frames_on_hub"}}}`` (records made here are absent)."""
    with store.db.read() as conn:
        rows = conn.execute("SELECT entity, local_id, station, frames_on_hub FROM sync_pulled WHERE patient_id = ?",
                            (patient_id,)).fetchall()
    out: dict = {"sessions": {}, "trials": {}}
    for r in rows:
        where = r["station"] or "hub"
        if r["entity"] == "session":
            out["sessions"][str(r["local_id"])] = where
        else:
            out["trials"][str(r["local_id"])] = {"station": where, "frames_on_hub": r["frames_on_hub"]}
    return out


_OVERALL_KEYS = ("sessions_planned", "sessions_due", "sessions_done", "sessions_missed", "sessions_cancelled",
                 "minutes_planned", "minutes_done", "sessions_done_of_planned", "minutes_done_of_planned",
                 # as the station's own programme page counts them (station.programmes.adherence): a session under
                 # half its planned minutes is partial; the minutes walked of those due so far lead
                 "sessions_partial", "sessions_full", "done_without_dose", "minutes_due", "minutes_done_of_due")


def _number(value, key: str, *, none: bool = True):
    if value is None and none:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not -1e9 < value < 1e9:
        raise ValidationError({key: "must be a number"})
    return value


def _day(value, key: str, *, none: bool = False):
    if value is None and none:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValidationError({key: "must be a date (YYYY-MM-DD)"}) from None


def check_programmes(answer: object) -> list[dict]:
    """The programmes of a hub's answer (:meth:`station.sync.hub.Hub.programmes_for_station`),
    checked and reduced to what a station shows (ValidationError naming the field)."""
    programmes = answer.get("programmes") if isinstance(answer, dict) else None
    if not isinstance(programmes, list) or len(programmes) > 100:
        raise ValidationError({"programmes": "must be a list of programmes"})
    out = []
    for p in programmes:
        if not isinstance(p, dict) or not isinstance(p.get("sessions"), list) or len(p["sessions"]) > 2000 \
                or not isinstance(p.get("overall"), dict):
            raise ValidationError({"programmes": "each must be a programme with its sessions and adherence"})
        if p.get("status") not in PROGRAMME_STATUSES:
            raise ValidationError({"status": f"must be one of {', '.join(PROGRAMME_STATUSES)}"})
        sessions = []
        for x in p["sessions"]:
            if not isinstance(x, dict) or x.get("status") not in STATE_STATUSES:
                raise ValidationError({"sessions": "each must be a session with its status"})
            number, week = x.get("number"), x.get("week")
            if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 100_000 for v in (number, week)):
                raise ValidationError({"number": "must be a session number"})
            sessions.append({"number": number, "week": week, "planned_date": _day(x.get("planned_date"), "planned_date"),
                             "status": x["status"], "minutes_planned": _number(x.get("minutes_planned"), "minutes_planned"),
                             "minutes": _number(x.get("minutes"), "minutes"),
                             "partial": x.get("partial") is True,  # (a hub before s25 sends none: not said)
                             "recorded_at": _station({"station": x.get("recorded_at")})})
        out.append({"hub_id": _hub_id(p), "assigned_at": _station({"station": p.get("assigned_at")}),
                    "title": _text(p.get("title"), "title", 200), "status": p["status"],
                    "start_date": _day(p.get("start_date"), "start_date"),
                    "ended_on": _day(p.get("ended_on"), "ended_on", none=True), "today": _day(p.get("today"), "today"),
                    "overall": {k: _number(p["overall"].get(k), k) for k in _OVERALL_KEYS}, "sessions": sessions})
    return out


def _text(value, key: str, max_chars: int) -> str:
    try:
        return fields.text(value, max_chars=max_chars, required=True)
    except ValueError as exc:
        raise ValidationError({key: str(exc)}) from None
