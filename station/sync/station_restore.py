"""A station restored from its own backup tells the hub, which then takes its changes again.

``balance-station restore`` marks the database it puts back (:mod:`station.store.restore_marks`):
the backup's highest change number and highest id of each kind of record. Before anything else,
the station's next sync sends that mark (``POST /api/hub/station-restored``,
:meth:`station.sync.hub.Hub.station_restored`). The hub holds it, and refuses the sync (``409``, its
words naming the command its administrator runs: :mod:`station.sync.hub_restore`), until a hub
administrator confirms it; nothing of the station is pushed or pulled meanwhile (the hub's ids of
its records above the mark are the lost database's). Once confirmed, the hub keeps every record it holds, forgets which
of this station's change numbers and ids above the mark it applied (the lost database's, which
the restored one gives again to other records) and takes the station's changes from the mark on,
merged as any station's are (last writer wins per patient field; a trial or visit the station
sends again replaces the hub's copy of it). The mark is then kept as told, and sent no more. With
the mark go the start times of the visits and trials held here above it
(:func:`station.store.restore_marks.held_above`): one the hub maps with the same start was not
lost, and the hub refuses the mark (the database was not restored from that backup).

A hub whose software is older answers ``404``: the sync goes on as before (the hub refuses the
restored station's reused numbers with words that say what to do, :mod:`station.sync.refused`),
and the mark is sent again at each sync until the hub takes it.
"""

from __future__ import annotations

from station.store import restore_marks
from station.sync.answers import WHOLE, take
from station.sync.client import HubClient, HubRefused

PATH = "/api/hub/station-restored"


def tell_hub(store, client: HubClient) -> dict | None:
    """Send the restore mark of ``store``'s database to the hub, if it holds one not yet told:
    ``{"seq", "forgotten"}`` (the change number the hub goes on from; how many changes it had
    applied above it, whose records stay on the hub), or None (nothing to tell, or an older hub).
    HubRefused/HubUnreachable as any request: HubRefused (409) while the hub's administrator has
    not confirmed the restore, which stops the sync before anything is pushed."""
    with store.db.read() as conn:
        restored = restore_marks.read(conn)
        if restored is None or restored.get("told"):
            return None
        held = restore_marks.held_above(conn, restored)
    try:
        answer = client.request("POST", PATH, body={
            "station_id": store.outbox.station_id,
            "restored": {"id": restored["id"], "seq": restored.get("seq"), "queued_from": restored.get("queued_from"),
                         "ids": restored.get("ids")},
            "held": held})
    except HubRefused as exc:
        if exc.status in (404, 405):  # a hub from before restored stations: as before
            return None
        raise
    told = {"seq": take(answer, "last_seq", f"POST {PATH}", WHOLE),
            "forgotten": take(answer, "forgotten", f"POST {PATH}", WHOLE)}
    with store.db.write() as conn:
        restore_marks.set_told(conn, restored["id"], store.outbox.now_iso())
    return told
