"""Erasures keyed with another hub's clinic key: kept here, not sent, the queue goes on.

An erasure names the erased patient by HMAC-SHA256 of their identifier's hash keyed with the
clinic's key (:mod:`station.store.erasure_key`), which the station takes from its hub. A station
moved to another hub, or whose hub was rebuilt into an empty database (which made a new key),
holds erasures keyed with the key of the hub it synced with before: queued, or kept in
``sync_erasures`` and offered again to a hub restored or rebuilt
(:meth:`station.store.outbox.Outbox.offer_again`). The hub cannot match them to anyone (it refuses
them, HTTP 422 naming its own key's id: :meth:`station.sync.hub.Hub._erase`), and the station
cannot key them again with the hub's key: HMAC is not reversible, and the plain hash of an erased
patient is not kept. The old code pushed them all the same, and the hub's refusal at every sync
stopped the station's queue there for good (records, trials, everything after).

So the push keeps such an erasure (:func:`keep`): out of the queue, in ``sync_skipped``
(``skipped_by`` ``station``, the reason in words naming both keys and what to do: ``sync
--show-blocked`` lists it) and the audit log (``sync.skip``, ids only), in one transaction; the
station's ``sync_erasures`` record of it stays (an erasure is never dropped). ``/healthz`` counts
them (:func:`health`) until an administrator marks each dealt with (``sync --resolve``,
:mod:`station.sync.kept_unsent`). An erasure the station still holds by the plain hash (made
before it had any key) is keyed with the hub's key and sent as before
(:func:`station.store.erasure_key.rekey_station`).
"""

from __future__ import annotations

from station.store.audit import Actor
from station.sync import kept_unsent

SKIPPED_BY = "station"
"""Kept by the station itself (as trials whose frames are corrupt, :mod:`station.sync.corrupt_trials`;
those are ``trial`` changes, these ``patient`` ones)."""
WHY = "erasure_keyed_elsewhere"
"""The ``sync.skip`` audit entry's ``why``."""
WHAT_TO_DO = ("{n} erasure(s) kept here are keyed with another hub's clinic key (this station synced with another hub "
              "before, or the hub was rebuilt with a new key): the hub cannot match them to anyone, and the station "
              "cannot key them again; they are not sent, and the station's later changes went on. If an erased "
              "patient may still be held on the hub or at other stations, erase them there by their record number; "
              "`balance-station sync --show-blocked` names each with its key, and `balance-station sync --resolve "
              "CHANGE_ID` marks it dealt with")
"""The health's words (no patient data: a count)."""


def keyed_elsewhere(change: dict, payload: dict | None, hub_key_id: str | None) -> str | None:
    """The id of the key the erasure ``change`` (an outbox row, with its ``payload``) is keyed with,
    when that is not ``hub_key_id`` (the hub's, as its tombstones answer names it); None for any
    other change, an erasure by the plain hash (keyed with the hub's key before it is sent), or a
    hub whose key is not known.

    >>> erase = {"entity": "patient", "op": "erase"}
    >>> keyed_elsewhere(erase, {"identifier_key": "ab" * 32, "key_id": "1111222233334444"}, "5555666677778888")
    '1111222233334444'
    >>> keyed_elsewhere(erase, {"identifier_key": "ab" * 32, "key_id": "5555666677778888"}, "5555666677778888")
    """
    if hub_key_id is None or (change["entity"], change["op"]) != ("patient", "erase") or not payload:
        return None
    if "identifier_key" not in payload or payload.get("key_id") == hub_key_id:
        return None
    return str(payload.get("key_id"))


def reason(local_id: int, made_with: str, hub_key_id: str, change_id: str = "CHANGE_ID") -> str:
    """Why the erasure was not sent, and what to do, in words (ids only, never patient data).

    >>> reason(7, "1111222233334444", "5555666677778888")[:82]
    "the erasure of this station's patient #7 is keyed with clinic key 1111222233334444"
    """
    return (f"the erasure of this station's patient #{local_id} is keyed with clinic key {made_with}, another hub's "
            f"(the hub this station synced with before, or this hub before it was rebuilt with a new key); this hub's "
            f"key is {hub_key_id}, so it cannot match the erasure to anyone, and the station cannot key it again (a "
            "keyed name cannot be turned back into the identifier). Kept here, not sent; the station's later changes "
            "went on. If the patient may still be held on this hub or at other stations, erase them there by their "
            f"record number (this station's audit log has the erasure: patient.erase on patient #{local_id}); then "
            f"`balance-station sync --resolve {change_id}` marks it dealt with here")


def keep(store, change: dict, payload: dict, made_with: str, hub_key_id: str) -> int:
    """Keep the erasure ``change`` (an outbox row, with its ``payload``), keyed with ``made_with``
    and not with the hub's ``hub_key_id``, in ``sync_skipped`` and the audit log, in one
    transaction; 1, or 0 if it was kept already. The caller drops it from the queue."""
    change_id = f"{store.outbox.station_id}:{change['seq']}"
    with store.db.write() as conn:
        return kept_unsent.keep(store, conn, change, payload, skipped_by=SKIPPED_BY, actor=Actor.system(), why=WHY,
                                reason=reason(change["local_id"], made_with, hub_key_id, change_id),
                                detail={"key_id": made_with, "hub_key_id": hub_key_id})


def health(store) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the erasures kept here for their key (patients,
    counted once) that no administrator marked dealt with, or None when there are none (for the
    station's ``/healthz``: a count and words, no patient data)."""
    return kept_unsent.health(store, SKIPPED_BY, "patient", WHAT_TO_DO)
