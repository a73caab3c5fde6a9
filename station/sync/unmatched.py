"""A station's erasures the hub took without erasing anyone.

A station's erasure reaches the hub's record only for a patient that station registered on the hub
(its push created them there) whose identifier the erasure names (:meth:`station.sync.hub.Hub._erase`):
a station never erases a patient it did not hold, nor one it only linked or pulled, whom another
station or the hub registered (a stolen station token finds a patient by identifier with one lookup,
and its next push erased them clinic-wide: X7's finding L1, session 28); erasing those is a hub
administrator's decision, on the hub's page of the patient (Erase…, signed in as an administrator),
which then reaches every station. Nor does it erase a patient this station registered whom the hub
holds under another identifier (renamed on the hub before the station took the new one, or at the
station just before it erased them, or the hub restored from a backup older than a rename). Neither
will change, and the hub used to refuse such an erasure at every push, which stopped every later
change of the station until someone ran ``balance-station sync --skip``. The hub now takes it
without erasing, audits it there (``sync.erasure_unmatched``, its patient's id and ``why``) and
names it in the push's answer (``unmatched_erasures``: ``[{"seq", "hub_patient_id", "why"}]``,
``why`` :data:`~station.sync.hub.NOT_REGISTERED_HERE` or :data:`~station.sync.hub.OTHER_IDENTIFIER`;
a hub before ``why`` sends none, and only the second case); the station keeps it, in one
transaction, in ``sync_skipped`` (``skipped_by`` ``hub``, with the reason in words: ``sync
--show-blocked`` lists it) and in its own audit log (``sync.erasure_unmatched``, ids only), and its
health says how many there are and what to do (:func:`health`) until an administrator marks it
dealt with (``sync --resolve``, :mod:`station.sync.kept_unsent`).

A hub whose software is older than that still refuses an erasure of a patient it holds under
another identifier at every push (HTTP 422, :func:`refused_by_older_hub`); the station then keeps it
the same way, but takes it out of its queue itself (:func:`keep_refused`), so that its later changes
go on against that hub too.
"""

from __future__ import annotations

import json

from station.store.audit import Actor
from station.sync import kept_unsent
from station.sync.client import HubRefused
from station.sync.hub import NOT_REGISTERED_HERE, OTHER_IDENTIFIER

SKIPPED_BY = "hub"
WHAT_TO_DO = ("the hub did not erase the patient of {n} erasure(s) made here: a station erases on the hub only a "
              "patient it registered there, under the identifier it erases; if they are to be erased everywhere, a "
              "hub administrator erases them on the hub, on the patient's page (Erase…, signed in as an "
              "administrator; the hub's audit log names them: sync.erasure_unmatched, or with an older hub "
              "patient.erase by this station's users); `balance-station sync --show-blocked` lists them here with "
              "the reason of each, and once that is decided, `balance-station sync --resolve CHANGE_ID` marks each "
              "dealt with")
"""The health's words (no patient data: a count)."""
_WHY = ("another identifier (renamed on the hub, or here just before the erasure, or the hub was restored from an "
        "older backup)")
OLD_HUB_WORDS = "does not match the patient this station sent under that id"
"""A hub before it took such an erasure refused it with HTTP 422, ``fields`` ``{"identifier_hash":
OLD_HUB_WORDS}`` (:func:`refused_by_older_hub`)."""


def reason(hub_patient_id: int, local_id: int, change_id: str = "CHANGE_ID", why: str | None = None) -> str:
    """Why the hub did not erase, and what to do, in words (ids only, never patient data). ``why``:
    the hub's (:data:`~station.sync.hub.NOT_REGISTERED_HERE`; anything else, or none from a hub
    before it: the hub holds them under another identifier).

    >>> reason(42, 7)[:60]
    'the hub did not erase its patient #42 (erased here as patien'
    >>> reason(42, 7, why=NOT_REGISTERED_HERE)[63:129]
    '7): this station did not register them on the hub (another station'
    """
    if why == NOT_REGISTERED_HERE:
        return (f"the hub did not erase its patient #{hub_patient_id} (erased here as patient #{local_id}): this "
                "station did not register them on the hub (another station or the hub did; this station found or "
                "pulled them by identifier), and a station erases on the hub only a patient it registered there, so "
                "that a stolen station token cannot erase a patient at every station. If they are to be erased "
                f"everywhere, a hub administrator erases patient #{hub_patient_id} on the hub, on their page "
                f"(/patients/{hub_patient_id}, Erase…, signed in as an administrator), which erases them at every "
                f"station at its next sync; once that is decided, `balance-station sync --resolve {change_id}` marks "
                "it dealt with here")
    return (f"the hub did not erase its patient #{hub_patient_id} (erased here as patient #{local_id}): it holds them "
            f"under {_WHY}. If they are the same person, a hub administrator erases patient #{hub_patient_id} on the "
            f"hub, on their page (/patients/{hub_patient_id}, Erase…, signed in as an administrator); once that is "
            f"decided, `balance-station sync --resolve {change_id}` marks it dealt with here")


def older_hub_reason(local_id: int, change_id: str) -> str:
    """:func:`reason` for a hub whose software refused the erasure (:func:`refused_by_older_hub`),
    which names no patient of its own.

    >>> older_hub_reason(7, "abc:12")[:71]
    'the hub did not erase the patient this station sent as its patient #7: '
    """
    return (f"the hub did not erase the patient this station sent as its patient #{local_id}: it holds them under "
            f"{_WHY}. Its software, older than this station's, refused the erasure (HTTP 422: {OLD_HUB_WORDS}), and "
            "would at every sync, holding back every later change; the station took it out of its queue so that they "
            "go on. If they are the same person, a hub administrator erases them on the hub (its audit log has this "
            "station's entry of the erasure, patient.erase, on its record of them); once that is decided, "
            f"`balance-station sync --resolve {change_id}` marks it dealt with here. An updated hub names its patient")


def keep(store, changes: dict[int, dict], unmatched: list[dict], *, actor: Actor) -> int:
    """Keep each erasure of ``unmatched`` (``{"seq", "hub_patient_id"[, "why"]}``, checked by the caller)
    that is one of ``changes`` (the pushed changes by ``seq``) in ``sync_skipped`` and the audit
    log, in one transaction; returns how many."""
    kept = 0
    with store.db.write() as conn:
        for item in unmatched:
            change = changes.get(item["seq"])
            if change is None or change["entity"] != "patient" or change["op"] != "erase":
                continue  # the hub names a change this push did not send as an erasure: nothing to keep
            why = reason(item["hub_patient_id"], change["local_id"], f"{store.outbox.station_id}:{change['seq']}",
                         item.get("why"))
            conn.execute("INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason,"
                         " skipped_at, skipped_by) VALUES (?, 'patient', ?, NULL, 'erase', ?, ?, ?, ?, ?)"
                         " ON CONFLICT (seq) DO NOTHING",
                         (change["seq"], change["local_id"], change["at"], json.dumps(change["payload"]), why,
                          store.outbox.now_iso(), SKIPPED_BY))
            store.audit.record(actor, "sync.erasure_unmatched", object=f"sync_change:{change['seq']}",
                               detail={"change": f"{store.outbox.station_id}:{change['seq']}",
                                       "station_patient": change["local_id"], "hub_patient": item["hub_patient_id"],
                                       "why": item.get("why", OTHER_IDENTIFIER)})
            kept += 1
    return kept


def health(store) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the erasures made here the hub did not apply and
    no administrator marked dealt with, or None when there are none (for the station's
    ``/healthz``: a count and words, no patient data)."""
    return kept_unsent.health(store, SKIPPED_BY, "patient", WHAT_TO_DO)


def refused_by_older_hub(exc: HubRefused) -> bool:
    """Whether a push's refusal is a hub's before it took an erasure of a patient it holds under
    another identifier (HTTP 422 whose only refused field is ``identifier_hash``, in its words):
    then the change refused is such an erasure, which that hub refuses at every push."""
    return exc.status == 422 and exc.fields == {"identifier_hash": OLD_HUB_WORDS}


def keep_refused(store, change: dict, *, actor: Actor) -> None:
    """Keep the erasure ``change`` (an outbox row) an older hub refused (:func:`refused_by_older_hub`)
    in ``sync_skipped`` as :func:`keep` does, audit it (``sync.skip``, an action that hub knows,
    ids only) and take it out of the queue, in one transaction: the later changes go on, as they
    do with an updated hub, which takes it."""
    change_id = f"{store.outbox.station_id}:{change['seq']}"
    with store.db.write() as conn:
        conn.execute("INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason,"
                     " skipped_at, skipped_by) VALUES (?, 'patient', ?, NULL, 'erase', ?, ?, ?, ?, ?)"
                     " ON CONFLICT (seq) DO NOTHING",
                     (change["seq"], change["local_id"], change["at"], json.dumps(change["payload"]),
                      older_hub_reason(change["local_id"], change_id), store.outbox.now_iso(), SKIPPED_BY))
        conn.execute("DELETE FROM sync_outbox WHERE seq = ?", (change["seq"],))
        store.audit.record(actor, "sync.skip", object=f"sync_change:{change['seq']}",
                           detail={"change": change_id, "entity": "patient", "op": "erase",
                                   "local_id": int(change["local_id"]), "why": "erasure_unmatched"})
