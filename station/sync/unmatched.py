"""A station's erasures the hub took without erasing anyone: the patient has another identifier there.

A station's erasure reaches the hub's record only for a patient it sent or linked whose identifier
the erasure names (:meth:`station.sync.hub.Hub._erase`): a station never erases a patient it did
not hold. When the hub holds this station's patient under another identifier (renamed on the hub
before the station took the new one, or at the station just before it erased them, or the hub
restored from a backup older than a rename), that will not change, and the hub used to refuse the
erasure at every push, which stopped every later change of the station until someone ran
``balance-station sync --skip``. The hub now takes it without erasing, audits it there
(``sync.erasure_unmatched``, its patient's id) and names it in the push's answer
(``unmatched_erasures``: ``[{"seq", "hub_patient_id"}]``); the station keeps it, in one
transaction, in ``sync_skipped`` (``skipped_by`` ``hub``, with the reason in words: ``sync
--show-blocked`` lists it) and in its own audit log (``sync.erasure_unmatched``, ids only), and its
health says how many there are and what to do (:func:`health`). Erasing the hub's record is a
hub administrator's decision: the station's erasure names someone else than the hub's record.
"""

from __future__ import annotations

import json

from station.store.audit import Actor

SKIPPED_BY = "hub"
WHAT_TO_DO = ("the hub did not erase the patient of {n} erasure(s) made here, because it holds them under another "
              "identifier; if they are the patients erased here, a hub administrator erases them on the hub "
              "(its audit log names them: sync.erasure_unmatched); `balance-station sync --show-blocked` lists them here")
"""The health's words (no patient data: a count)."""


def reason(hub_patient_id: int, local_id: int) -> str:
    """Why the hub did not erase, and what to do, in words (ids only, never patient data).

    >>> reason(42, 7)[:60]
    'the hub did not erase its patient #42 (erased here as patien'
    """
    return (f"the hub did not erase its patient #{hub_patient_id} (erased here as patient #{local_id}): it holds them "
            "under another identifier (renamed on the hub, or here just before the erasure, or the hub was restored "
            f"from an older backup). If they are the same person, a hub administrator erases patient #{hub_patient_id} "
            "on the hub; nothing more is to be done at this station")


def keep(store, changes: dict[int, dict], unmatched: list[dict], *, actor: Actor) -> int:
    """Keep each erasure of ``unmatched`` (``{"seq", "hub_patient_id"}``, checked by the caller)
    that is one of ``changes`` (the pushed changes by ``seq``) in ``sync_skipped`` and the audit
    log, in one transaction; returns how many."""
    kept = 0
    with store.db.write() as conn:
        for item in unmatched:
            change = changes.get(item["seq"])
            if change is None or change["entity"] != "patient" or change["op"] != "erase":
                continue  # the hub names a change this push did not send as an erasure: nothing to keep
            why = reason(item["hub_patient_id"], change["local_id"])
            conn.execute("INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason,"
                         " skipped_at, skipped_by) VALUES (?, 'patient', ?, NULL, 'erase', ?, ?, ?, ?, ?)"
                         " ON CONFLICT (seq) DO NOTHING",
                         (change["seq"], change["local_id"], change["at"], json.dumps(change["payload"]), why,
                          store.outbox.now_iso(), SKIPPED_BY))
            store.audit.record(actor, "sync.erasure_unmatched", object=f"sync_change:{change['seq']}",
                               detail={"change": f"{store.outbox.station_id}:{change['seq']}",
                                       "station_patient": change["local_id"], "hub_patient": item["hub_patient_id"]})
            kept += 1
    return kept


def health(store) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the erasures made here the hub did not apply, or
    None when there are none (for the station's ``/healthz``: a count and words, no patient data)."""
    with store.db.read() as conn:
        row = conn.execute("SELECT count(*) AS n, max(skipped_at) AS last_at FROM sync_skipped"
                           " WHERE skipped_by = ? AND op = 'erase'", (SKIPPED_BY,)).fetchone()
    if not row["n"]:
        return None
    return {"count": int(row["n"]), "last_at": row["last_at"], "what_to_do": WHAT_TO_DO.format(n=int(row["n"]))}
