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
lost, and the hub refuses the mark (the database was not restored from that backup); so do its
first queued changes above the mark, with their time (:func:`station.store.restore_marks.queued_above`):
one the hub applied as it is reached the hub from the database that was not lost.

A hub whose software is older answers ``404``: the sync goes on as before (the hub refuses the
restored station's reused numbers with words that say what to do, :mod:`station.sync.refused`).
The station remembers it, per hub (:data:`UNHEARD_SETTING`), says so once on standard error (the
journal) and in ``sync --once``'s lines, and tells that hub again once a day
(:data:`RETRY_OLDER_HUB_S`), or at the first sync after the hub's software changed (the version its
erasure answers name, ``hub_version``; an older hub names none), not at every sync.

**A restore this station never sent.** The hub names the restore of this station it last confirmed
in its answers (``confirmed_restore``, :mod:`station.sync.hub_restore`). The station keeps the ids
of the restores it sent (:func:`station.store.restore_marks.own_ids`); a confirmed restore not
among them was posted by someone else with this station's token, and its confirmation made the hub
forget which of its records are this station's: pushing or pulling now would make them come again,
on the hub and here. So every answer naming one raises :class:`ForeignRestore`
(:func:`check_named`, run by the client on each answer before the sync uses it): nothing is pushed
or taken, the sync stops in words (``sync --once``, ``/healthz`` degraded:
:mod:`station.sync.refused`, the journal's line), until the hub's administrator withdraws the
confirmation (``balance-station hub stations withdraw-restore NAME``, which puts back what the hub
forgot and gives this station a new token). Its pushes name its restores too (``restores``), so a
hub that confirms one between two requests of a sync refuses the push rather than apply it.
"""

from __future__ import annotations

import json
import string
import sys

from station.store import restore_marks
from station.store.timefmt import parse_utc_iso
from station.sync import refused
from station.sync.answers import WHOLE, take
from station.sync.client import BadAnswer, HubClient, HubRefused

PATH = "/api/hub/station-restored"
NAMED = "confirmed_restore"
"""The field of the hub's answers naming the restore it last confirmed of this station
(:data:`station.sync.hub_restore.NAMED`)."""
UNHEARD_SETTING = "sync_restore_unheard"
"""``settings`` key: ``{hub url: {"mark", "at", "hub_version"}}``, the hubs that answered this
database's restore notice ``404`` (software older than restored stations), when, and the software
version they named then (None: none)."""
RETRY_OLDER_HUB_S = 86_400.0
"""An older hub is told the restore again after this long (or once its software changes)."""
UNSEEN = object()
"""``hub_version`` of :func:`tell_hub` when the hub's version was not seen yet by this process."""


class ForeignRestore(HubRefused):
    """The hub names a confirmed restore of this station that this station never sent
    (:func:`check_named`): the sync stops, saying what the hub's administrator does."""

    def __init__(self, mark_id: str):
        super().__init__(409, foreign_words(mark_id))


def foreign_words(mark_id: str) -> str:
    """What the station says when the hub holds a confirmed restore it never sent (no patient data)."""
    return (f"the hub holds {refused.FOREIGN_RESTORE_WORDS} (restore {mark_id[:8]}, confirmed by the hub's "
            "administrator): its station token may have been stolen and used to post it. This station stopped "
            "syncing so that nothing comes twice, on the hub or here: nothing was pushed or taken, and what is "
            "recorded here stays queued. On the hub, an administrator runs `balance-station hub stations "
            f"withdraw-restore NAME --mark {mark_id[:8]}` (NAME: this station's name on the hub), which puts back what "
            "the confirmation made the hub forget and prints a new token for this station; put that token in this "
            "station's [hub] token (or its token file) and restart it")


def check_named(store, method: str, path: str, answer: dict) -> None:
    """ForeignRestore if the hub's ``answer`` names a confirmed restore (:data:`NAMED`) that
    ``store``'s database never sent (:func:`station.store.restore_marks.own_ids`); BadAnswer for a
    name that is no restore id. An answer naming none, or null, passes; so does one whose
    ``last_seq`` is beyond this database's changes (it went back to an older backup without telling
    the hub: :meth:`station.sync.syncer.StationSync._check_not_behind` stops the sync and says so)."""
    named = answer.get(NAMED)
    if named is None:
        return
    if not isinstance(named, str) or not 8 <= len(named) <= 64 or not all(c in string.hexdigits for c in named):
        raise BadAnswer(f"the hub's answer to {method} {path} names a confirmed restore that is no restore id; "
                        "is [hub] url the hub's own address?")
    with store.db.read() as conn:
        own = restore_marks.own_ids(conn)
    if named.lower() in own:
        return
    last = answer.get("last_seq")
    if isinstance(last, int) and not isinstance(last, bool) and last > store.outbox.highest_seq():
        # the hub holds more of this station's changes than this database ever made: the database
        # went back to an older backup (one from before the restore the hub names, its mark gone
        # with it); the sync's own check says so, with what to do (a confirmation makes it go down)
        return
    raise ForeignRestore(named.lower())


def own_restores(store) -> list[str]:
    """The ids of the restores this station sent (what its pushes name, ``restores``)."""
    with store.db.read() as conn:
        return sorted(restore_marks.own_ids(conn))


def _unheard(conn) -> dict:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (UNHEARD_SETTING,)).fetchone()
    value = json.loads(row[0]) if row is not None else {}
    return value if isinstance(value, dict) else {}


def unheard(store, url: str) -> dict | None:
    """``{"mark", "at", "hub_version"}`` if the hub at ``url`` answered this database's restore
    notice ``404`` (an older hub) and the mark is still not told; None otherwise."""
    with store.db.read() as conn:
        restored = restore_marks.read(conn)
        entry = _unheard(conn).get(url)
    if restored is None or restored.get("told") or not isinstance(entry, dict) or entry.get("mark") != restored["id"]:
        return None
    return entry


def _remember_unheard(store, url: str, mark_id: str, hub_version) -> bool:
    """Remember that the hub at ``url`` did not know restore notices; True if that is news (not
    remembered before for this mark and this hub's software)."""
    with store.db.write() as conn:
        memory = _unheard(conn)
        before = memory.get(url)
        news = not (isinstance(before, dict) and before.get("mark") == mark_id
                    and (hub_version is UNSEEN or before.get("hub_version") == hub_version))
        version = before.get("hub_version") if hub_version is UNSEEN and isinstance(before, dict) else (
            None if hub_version is UNSEEN else hub_version)
        memory[url] = {"mark": mark_id, "at": store.outbox.now_iso(), "hub_version": version}
        conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'sync')"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                     (UNHEARD_SETTING, json.dumps(memory), store.outbox.now_iso()))
    return news


OLDER_HUB_WORDS = ("the hub's software is older than restored stations' notices (it answered 404): it cannot be told "
                   "that this station's database was restored from a backup, so it refuses the changes made here "
                   "since, with words that say what to do; update the hub's software. This station tells it again once "
                   "a day, and at its first sync after the hub's software changed")


def tell_hub(store, client: HubClient, hub_version=UNSEEN) -> dict | None:
    """Send the restore mark of ``store``'s database to the hub, if it holds one not yet told:
    ``{"seq", "forgotten"}`` (the change number the hub goes on from; how many changes it had
    applied above it, whose records stay on the hub), or None (nothing to tell, or an older hub:
    remembered, and asked again only after :data:`RETRY_OLDER_HUB_S` or once ``hub_version``, the
    hub's software as its last erasure answer named it, differs from the one it had then).
    HubRefused/HubUnreachable as any request: HubRefused (409) while the hub's administrator has
    not confirmed the restore, which stops the sync before anything is pushed."""
    with store.db.read() as conn:
        restored = restore_marks.read(conn)
        if restored is None or restored.get("told"):
            return None
        held = restore_marks.held_above(conn, restored)
        queued = restore_marks.queued_above(conn, restored)
    before = unheard(store, client.url)
    if before is not None:
        try:
            recent = parse_utc_iso(store.outbox.now_iso()) - parse_utc_iso(before["at"]) < RETRY_OLDER_HUB_S
        except (KeyError, TypeError, ValueError):
            recent = False
        if recent and (hub_version is UNSEEN or hub_version == before.get("hub_version")):
            return None
    with store.db.write() as conn:  # sent, whatever becomes of the answer
        restore_marks.note_sent(conn, restored["id"], store.outbox.now_iso())
    try:
        answer = client.request("POST", PATH, body={
            "station_id": store.outbox.station_id,
            "restored": {"id": restored["id"], "seq": restored.get("seq"), "queued_from": restored.get("queued_from"),
                         "ids": restored.get("ids")},
            "held": held, "queued": queued})
    except HubRefused as exc:
        if exc.status in (404, 405):  # a hub from before restored stations: as before, said once
            if _remember_unheard(store, client.url, restored["id"], hub_version):
                print(f"balance-station: the hub at {client.url}: {OLDER_HUB_WORDS}", file=sys.stderr)
            return None
        raise
    told = {"seq": take(answer, "last_seq", f"POST {PATH}", WHOLE),
            "forgotten": take(answer, "forgotten", f"POST {PATH}", WHOLE)}
    with store.db.write() as conn:
        restore_marks.set_told(conn, restored["id"], store.outbox.now_iso())
    return told
