"""A station's trials whose stored frames are corrupt: kept here, not sent, the queue goes on.

The hub takes a trial with its raw frames, uploaded in parts before the trial's record
(:meth:`station.sync.syncer.StationSync._upload_frames`). When the station's stored frames of a
trial are corrupt (a chunk whose frames are not those its index names: an SD card's flipped bits,
:class:`station.store.trials.CorruptFrames`), no sync will ever read them, and the station's
whole queue used to stop there for good (every sync failed on the same trial: ``sync failed
(StoreError)``). Now that change is taken out of the queue and kept, in one transaction, in
``sync_skipped`` (``skipped_by`` ``station``, with the reason in words: ``sync --show-blocked``
lists it) and in the audit log (``sync.skip``, ids only); the later changes go on in their order,
and the station's health says how many trials are not sent and what to do (:func:`health`). The
trial stays whole here but for its frames (results, notes, judgement); a later change of it (a
judgement) is kept the same way.
"""

from __future__ import annotations

import json

from station.store.audit import Actor
from station.store.trials import CorruptFrames

SKIPPED_BY = "station"
WHAT_TO_DO = ("{n} trial(s) recorded here are not sent to the hub: their stored frames are corrupt; their results stay "
              "here (export them without frames: the JSON sidecar or FHIR). A backup of the data directory from before "
              "the damage has their frames; `balance-station sync --show-blocked` names them")
"""The health's words (no patient data: a count)."""


def reason(exc: CorruptFrames) -> str:
    """Why the trial's change was not sent, and what to do, in words (ids only, never patient data).

    >>> reason(CorruptFrames(12, "chunk 3 starts at frame 1200, its frames at 1201"))[:70]
    'trial #12 not sent to the hub: its stored frames are corrupt (chunk 3 '
    """
    return (f"trial #{exc.trial_id} not sent to the hub: its stored frames are corrupt ({exc.detail}); the station's "
            "later changes went on. Its results stay here (export them without frames: the JSON sidecar or FHIR); a "
            "backup of the data directory from before the damage has its frames")


def keep(store, row, payload: dict, exc: CorruptFrames) -> int:
    """Keep the outbox change ``row`` (a trial's, with its record ``payload``) in ``sync_skipped``
    and the audit log, in one transaction; 1, or 0 if it was kept already (a push that failed
    after it, run again). The caller drops it from the queue with the changes it pushes."""
    with store.db.write() as conn:
        kept = conn.execute(
            "INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason, skipped_at,"
            " skipped_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
            (row["seq"], row["entity"], row["local_id"], row["patient_id"], row["op"], row["at"], json.dumps(payload),
             reason(exc)[:1000], store.outbox.now_iso(), SKIPPED_BY)).rowcount
        if kept:
            store.audit.record(Actor.system(), "sync.skip", patient_id=row["patient_id"],
                               object=f"sync_change:{row['seq']}",
                               detail={"change": f"{store.outbox.station_id}:{row['seq']}", "entity": row["entity"],
                                       "op": row["op"], "local_id": int(row["local_id"]), "why": "frames_corrupt"})
    return int(kept > 0)


def health(store) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the trials not sent because their frames are
    corrupt (``count``: trials, not changes), or None when there are none (for the station's
    ``/healthz``: a count and words, no patient data)."""
    with store.db.read() as conn:
        row = conn.execute("SELECT count(DISTINCT local_id) AS n, max(skipped_at) AS last_at FROM sync_skipped"
                           " WHERE skipped_by = ? AND entity = 'trial'", (SKIPPED_BY,)).fetchone()
    if not row["n"]:
        return None
    return {"count": int(row["n"]), "last_at": row["last_at"], "what_to_do": WHAT_TO_DO.format(n=int(row["n"]))}
