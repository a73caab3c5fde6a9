"""The changes a station keeps unsent, counted in its health until an administrator marks them dealt with.

Three kinds of change leave the queue without reaching the hub's records, and are kept in
``sync_skipped`` with the reason in words (:func:`keep`): an erasure made here that the hub took
without erasing anyone (``skipped_by`` ``hub``, :mod:`station.sync.unmatched`), a trial whose
stored frames are corrupt (``skipped_by`` ``station``, :mod:`station.sync.corrupt_trials`) and an
erasure keyed with another hub's clinic key, which the hub cannot match (``skipped_by``
``station``, a ``patient`` change: :mod:`station.sync.other_key_erasures`). The station's
``/healthz`` counts them (:func:`health`) so that someone acts; once someone has (a hub
administrator erased the patient on the hub, or decided they are someone else; a trial's frames
were given up, or put back and the trial sent again), ``balance-station sync --resolve CHANGE_ID``
marks them dealt with (:func:`resolve`): the record stays, the health no longer counts it, and
``sync --show-blocked`` says when, by whom and how (:func:`dealt_with`).

The mark is the audit entry itself (``sync.skip`` on ``sync_change:SEQ`` with ``dealt_with`` in
its detail: ``resolved`` or ``sent again``), so it needs no column of its own, and who and when
are the entry's. ``sync.skip`` is an action every hub knows: an entry of a new action would wait
at the station until a hub before it is updated (:mod:`station.sync.audit_push`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from station.store.audit import Actor
from station.store.db import Conflict, NotFound

KEPT_BY = ("hub", "station")
"""``sync_skipped.skipped_by`` of the changes the health counts (an administrator's ``sync --skip``
is recorded under their name, and not counted: they decided it)."""
RESOLVED, SENT_AGAIN = "resolved", "sent again"
_MARKS = ("SELECT CAST(substr(a.object, 13) AS INTEGER) AS seq, a.id, a.at, a.username,"
          " json_extract(a.detail, '$.dealt_with') AS how FROM audit_log a WHERE a.action = 'sync.skip'"
          " AND a.object LIKE 'sync_change:%' AND json_extract(a.detail, '$.dealt_with') IS NOT NULL")
"""The audit entries that mark a kept change (``seq``: its number) dealt with, read once a query:
matched one by one to each kept change, a health took 315-372 ms (1,000 kept changes, 1,250
``sync.skip`` entries in an audit log of 51,250; this laptop), now 1.7-2.7 ms."""
_UNMARKED = f"s.seq NOT IN (SELECT marks.seq FROM ({_MARKS}) AS marks)"  # the alias: PostgreSQL before 16 needs one


@dataclass(frozen=True)
class DealtWith:
    """When (ISO 8601 UTC), by whom (the audit log's user) and how (:data:`RESOLVED` or
    :data:`SENT_AGAIN`) a kept change was marked dealt with."""

    at: str
    by: str
    how: str

    def words(self) -> str:
        """The mark in words.

        >>> DealtWith("2026-12-05T17:00:00Z", "cli:ana", "resolved").words()
        'dealt with 2026-12-05T17:00:00Z by cli:ana (resolved)'
        """
        return f"dealt with {self.at} by {self.by} ({self.how})"


def keep(store, conn, change, payload: dict, *, reason: str, skipped_by: str, actor: Actor, why: str,
         detail: dict | None = None) -> int:
    """Keep the outbox change ``change`` (with its record ``payload``) in ``sync_skipped`` with
    ``reason`` in words (at most 1,000 characters are kept), and audit it (``sync.skip``: ids,
    ``why`` and ``detail``, never patient data), in the caller's write transaction ``conn``; 1, or 0
    if it was kept already (a push that failed after it, run again). The caller drops it from the
    queue (:meth:`station.store.outbox.Outbox.acknowledge` with the changes it pushes)."""
    kept = conn.execute(
        "INSERT INTO sync_skipped (seq, entity, local_id, patient_id, op, at, payload, reason, skipped_at,"
        " skipped_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
        (change["seq"], change["entity"], change["local_id"], change["patient_id"], change["op"], change["at"],
         json.dumps(payload), reason[:1000], store.outbox.now_iso(), skipped_by)).rowcount
    if kept:
        store.audit.record(actor, "sync.skip", patient_id=change["patient_id"], object=f"sync_change:{change['seq']}",
                           detail={"change": f"{store.outbox.station_id}:{change['seq']}", "entity": change["entity"],
                                   "op": change["op"], "local_id": int(change["local_id"]), "why": why,
                                   **(detail or {})})
    return int(kept > 0)


def health(store, skipped_by: str, entity: str, what_to_do: str) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the records (``entity``: ``patient`` or ``trial``,
    counted once however many of their changes are kept) kept unsent by ``skipped_by`` and not
    marked dealt with, or None when there are none (for the station's ``/healthz``: a count and
    words, no patient data). ``what_to_do`` may name the count as ``{n}``."""
    with store.db.read() as conn:
        row = conn.execute("SELECT count(DISTINCT s.local_id) AS n, max(s.skipped_at) AS last_at FROM sync_skipped s"
                           f" WHERE s.skipped_by = ? AND s.entity = ? AND {_UNMARKED}", (skipped_by, entity)).fetchone()
    if not row["n"]:
        return None
    return {"count": int(row["n"]), "last_at": row["last_at"], "what_to_do": what_to_do.format(n=int(row["n"]))}


def dealt_with(store) -> dict[int, DealtWith]:
    """Each kept change marked dealt with, by its ``seq`` (the first mark, if marked twice)."""
    with store.db.read() as conn:
        rows = conn.execute(f"SELECT m.seq, m.at, m.username, m.how FROM ({_MARKS}) m"
                            " JOIN sync_skipped s ON s.seq = m.seq ORDER BY m.id DESC").fetchall()
    return {int(r["seq"]): DealtWith(r["at"], r["username"], r["how"]) for r in rows}


def resolve(store, seq: int, *, actor: Actor, how: str = RESOLVED, conn=None, note: dict | None = None) -> list[int]:
    """Mark the kept change ``seq``, and every other change of the same record kept by the same
    side and not yet marked, dealt with (audited, one entry each, with ``note`` in its detail: ids
    and names only; the records stay); their ``seq``, in order. Inside the caller's write
    transaction if ``conn`` is given.

    Raises
    ------
    NotFound
        No change ``seq`` is kept here (never kept, or erased with its patient).
    Conflict
        It was skipped by an administrator (``sync --skip``: not counted, nothing to mark), or it
        is marked already (when and by whom).
    """
    if conn is None:
        with store.db.write() as conn:
            return resolve(store, seq, actor=actor, how=how, conn=conn, note=note)
    row = conn.execute("SELECT * FROM sync_skipped WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        raise NotFound(f"change #{seq} is not kept unsent here (`balance-station sync --show-blocked` lists the kept "
                       "changes; a patient's are deleted when they are erased)")
    if row["skipped_by"] not in KEPT_BY:
        raise Conflict(f"change #{seq} was skipped by {row['skipped_by']} (`sync --skip`): the health does not count "
                       "it, so there is nothing to mark")
    rows = conn.execute(f"SELECT * FROM sync_skipped s WHERE s.entity = ? AND s.local_id = ? AND s.skipped_by = ?"
                        f" AND {_UNMARKED} ORDER BY s.seq",
                        (row["entity"], row["local_id"], row["skipped_by"])).fetchall()
    if not rows:
        mark = conn.execute(f"SELECT m.at, m.username FROM ({_MARKS}) m WHERE m.seq = ? ORDER BY m.id LIMIT 1",
                            (seq,)).fetchone()
        raise Conflict(f"change #{seq} was marked dealt with already, {mark['at']} by {mark['username']}")
    for kept in rows:
        store.audit.record(actor, "sync.skip", patient_id=kept["patient_id"], object=f"sync_change:{kept['seq']}",
                           detail={"change": f"{store.outbox.station_id}:{kept['seq']}", "entity": kept["entity"],
                                   "op": kept["op"], "local_id": int(kept["local_id"]), "dealt_with": how,
                                   **(note or {})})
    return [int(kept["seq"]) for kept in rows]
