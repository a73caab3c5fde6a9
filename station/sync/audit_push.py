"""A station's audit entries to the hub, including to a hub whose software is older than the station's.

A sync sends the station's audit entries after the last one the hub holds, oldest first, in
batches (:func:`push`; the hub's side: :mod:`station.sync.hub_audit`). A hub refuses a whole batch
that holds an action its software does not know (HTTP 422, ``{"action": "is not an audit
action"}``); a station newer than its hub emits such actions (``sync.erasure_unmatched``,
``sync.erasures_offered_again``, ...), and that refusal used to stop the station's audit trail
there and the rest of that sync (the histories, programmes and patients it pulls after), at every
sync, until the hub was updated.

Now the station finds the entry refused (the batch halved until one entry is left: 15 to 17
requests for a batch of 200 holding one, measured, once per unknown action; none at the next
syncs) and **keeps** the entries of that action
here: they stay in this station's own audit log (append-only, as always) and are not sent; the
other entries go on, in order, so the clinic's trail on the hub goes on too. The kept actions and
the first entry kept of each are held in ``settings`` (:data:`KEPT_SETTING`). A hub whose software
has this rule names the actions it knows in its ``GET /api/hub/audit`` answer (``actions``), and
takes an entry below the last one it holds: when it names a kept action, the entries kept of it
are sent, oldest first, and the hub marks each as arrived after the later ones
(``arrived_after_entry``), so nothing is lost and nothing is reordered without saying so. A hub
before that names no actions: its entries wait here until its software is updated (which is the
only way it can take them: an entry sent under another action would make its trail say something
that did not happen). Such a hub is asked nothing more for them: the rest costs no request.

:func:`health` says how many entries wait and what to do (``/healthz``, ``sync --show-blocked``,
``sync --once``'s lines).
"""

from __future__ import annotations

import json

from station.sync.answers import TEXT, WHOLE, items, take
from station.sync.client import HubRefused, SyncError

BATCH = 200
"""Audit entries per request (:data:`station.sync.hub_audit.MAX_ENTRIES`)."""
BATCHES = 50
"""Batches one sync sends at most (10,000 entries; the rest at the next sync)."""
KEPT_SETTING = "sync_audit_kept"
"""``settings`` key: ``{action: the id of its first entry kept here}`` of the actions the hub refused."""
REFUSED_WORDS = "is not an audit action"
"""What a hub says (``fields.action``, HTTP 422) of a batch holding an action it does not know."""


def refused_for_action(exc: HubRefused) -> bool:
    """Whether the hub refused a batch for an audit action its software does not know.

    >>> refused_for_action(HubRefused(422, "x", {"action": "is not an audit action"}))
    True
    >>> refused_for_action(HubRefused(422, "x", {"detail": "must be a JSON object of at most 8192 bytes"}))
    False
    """
    return exc.status == 422 and exc.fields.get("action") == REFUSED_WORDS


def kept_actions(conn) -> dict[str, int]:
    """``{action: first entry id kept}`` of the audit actions kept here for the hub (none: ``{}``)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (KEPT_SETTING,)).fetchone()
    value = json.loads(row["value"]) if row is not None else None
    if not isinstance(value, dict):
        return {}
    return {a: i for a, i in value.items() if isinstance(a, str) and type(i) is int}


def _set_kept(store, kept: dict[str, int]) -> None:
    with store.db.write() as conn:
        if kept:
            conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, 'sync')"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                         (KEPT_SETTING, json.dumps(kept, sort_keys=True), store.outbox.now_iso()))
        else:
            conn.execute("DELETE FROM settings WHERE key = ?", (KEPT_SETTING,))


def _kept_where(kept: dict[str, int]) -> tuple[str, list]:
    """SQL (with its arguments) true of the audit entries kept here."""
    if not kept:
        return "0", []
    return " OR ".join("(action = ? AND id >= ?)" for _ in kept), [x for item in sorted(kept.items()) for x in item]


def waiting(store) -> tuple[int, list[str]]:
    """How many of this station's audit entries are kept here for the hub, and their actions."""
    with store.db.read() as conn:
        kept = kept_actions(conn)
        if not kept:
            return 0, []
        where, args = _kept_where(kept)
        return int(conn.execute(f"SELECT count(*) FROM audit_log WHERE {where}", args).fetchone()[0]), sorted(kept)


def words(count: int, actions: list[str]) -> str:
    """What waits and what to do, in words (no patient data: a count and action names).

    >>> words(2, ["sync.erasure_unmatched"])[:77]
    "2 audit entries wait in this station's audit log: the hub's software does not"
    """
    return (f"{count} audit entr{'y waits' if count == 1 else 'ies wait'} in this station's audit log: the hub's "
            f"software does not know the action{'s' if len(actions) != 1 else ''} {', '.join(actions)} and refuses "
            "them; the station's other audit entries, records, trials and erasures go on. Update the hub's software: "
            "the waiting entries are then sent at the next sync, marked on the hub as arriving late")


def health(store) -> dict | None:
    """``{"count", "actions", "what_to_do"}`` of the audit entries kept here for the hub (:func:`words`), or None."""
    count, actions = waiting(store)
    if not actions:
        return None
    return {"count": count, "actions": actions, "what_to_do": words(count, actions)}


def sent_detail(text: str | None) -> dict | None:
    """An audit entry's detail as sent to the hub: the stored object, or a note if it is too large.

    >>> sent_detail('{"fields": ["notes"]}'), sent_detail("x" * 8000)
    ({'fields': ['notes']}, {'detail_omitted': '8000 characters'})
    """
    if not text:
        return None
    if len(text) > 7 * 1024:  # the hub takes 8 kB (hub_audit.MAX_DETAIL_BYTES)
        return {"detail_omitted": f"{len(text)} characters"}
    doc = json.loads(text)
    return doc if isinstance(doc, dict) else {"detail": doc}


def _entry(row) -> dict:
    return {"id": row["id"], "at": row["at"], "username": row["username"], "address": row["address"],
            "action": row["action"], "patient_id": row["patient_id"], "object": row["object"],
            "detail": sent_detail(row["detail"])}


class _Sender:
    """One sync's audit push (:func:`push`)."""

    def __init__(self, store, client, batch_bytes: int):
        self.store, self.client, self.batch_bytes = store, client, batch_bytes
        self.added = 0
        with store.db.read() as conn:
            self.kept = kept_actions(conn)

    def batches(self, after: int, *, late: dict[str, int] | None = None, through: int = 2**62,
                most: int | None = BATCHES):
        """Batches of entries above ``after`` up to ``through``, each within :data:`BATCH` entries
        and the hub's body bound, oldest first, at most ``most`` (None: all): the entries kept here
        of the actions ``late``, or else every entry not kept here (read again each batch: a refusal
        keeps more)."""
        made = 0
        while most is None or made < most:
            made += 1
            where, args = _kept_where(self.kept if late is None else late)
            where = f"({where})" if late is not None else f"NOT ({where})"
            with self.store.db.read() as conn:
                rows = conn.execute(f"SELECT * FROM audit_log WHERE {where} AND id > ? AND id <= ? ORDER BY id LIMIT ?",
                                    [*args, after, through, BATCH]).fetchall()
            if not rows:
                return
            entries, size = [], 0
            for r in rows:  # within the hub's body bound, whatever the details' sizes
                entry = _entry(r)
                entry_size = len(json.dumps(entry, separators=(",", ":")))
                if entries and size + entry_size > self.batch_bytes:
                    break
                entries.append(entry)
                size += entry_size
            yield entries
            after = entries[-1]["id"]
            if len(rows) < BATCH and len(entries) == len(rows):
                return

    def send(self, entries: list[dict]) -> None:
        """Send ``entries``; if the hub refuses an action in them, keep that action here (the batch
        halved until the entry is found) and send the others."""
        entries = [e for e in entries if not self._is_kept(e)]
        if not entries:
            return
        try:
            answer = self.client.request("POST", "/api/hub/audit", body={"station_id": self.store.outbox.station_id,
                                                                        "entries": entries})
        except HubRefused as exc:
            if not refused_for_action(exc):
                raise
            if len(entries) == 1:
                self.kept[entries[0]["action"]] = entries[0]["id"]
                _set_kept(self.store, self.kept)
                return
            half = len(entries) // 2
            self.send(entries[:half])
            self.send(entries[half:])
            return
        held = take(answer, "last", "POST /api/hub/audit", WHOLE)
        if held < entries[-1]["id"]:
            raise SyncError(f"the hub acknowledged audit entries only up to {held}, not {entries[-1]['id']}; "
                            "will retry")
        self.added += take(answer, "added", "POST /api/hub/audit", WHOLE)

    def _is_kept(self, entry: dict) -> bool:
        first = self.kept.get(entry["action"])
        return first is not None and entry["id"] >= first

    def send_late(self, known: set[str], last: int) -> None:
        """Send the entries kept here whose action the hub now knows (up to ``last``: those above
        go in order with the rest), and keep no more of those actions."""
        now_known = {a: i for a, i in self.kept.items() if a in known}
        if not now_known:
            return
        self.kept = {a: i for a, i in self.kept.items() if a not in now_known}  # kept in settings until all are sent
        for entries in self.batches(0, late=now_known, through=last, most=None):
            self.send(entries)
        _set_kept(self.store, self.kept)

    def keep_unknown(self, known: set[str], last: int) -> None:
        """Keep here, without asking, the actions the hub says it does not know."""
        with self.store.db.read() as conn:
            rows = conn.execute("SELECT action, min(id) AS first FROM audit_log WHERE id > ? GROUP BY action",
                                (last,)).fetchall()
        unknown = {r["action"]: r["first"] for r in rows if r["action"] not in known and r["action"] not in self.kept}
        if unknown:
            self.kept.update(unknown)
            _set_kept(self.store, self.kept)


def push(store, client, *, batch_bytes: int) -> int:
    """Send this station's audit entries after the last one the hub holds, oldest first, in
    batches of at most ``batch_bytes`` (at most :data:`BATCHES` a sync, the rest at the next); the
    entries whose action the hub does not know are kept here, and sent once it does (the module's
    text). Returns how many entries the hub took."""
    answer = client.request("GET", "/api/hub/audit")
    what = "GET /api/hub/audit"
    last = take(answer, "last", what, WHOLE)
    sender = _Sender(store, client, batch_bytes)
    if "actions" in answer:  # a hub that says what it knows
        known = set(items(answer, "actions", what, TEXT))
        sender.send_late(known, last)
        sender.keep_unknown(known, last)
    for entries in sender.batches(last):
        sender.send(entries)
    return sender.added
