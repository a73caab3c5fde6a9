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
judgement) is kept the same way. Once its frames read whole again (put back from a backup of the
data directory from before the damage), ``balance-station sync --resend CHANGE_ID`` queues the
trial again (:func:`resend`); ``sync --resolve CHANGE_ID`` leaves it unsent and marks it dealt
with (:mod:`station.sync.kept_unsent`); either way the health no longer counts it.
"""

from __future__ import annotations

from pathlib import Path

from station.store import frames_from_backup
from station.store.audit import Actor
from station.store.db import Conflict
from station.store.trials import CorruptFrames
from station.sync import kept_unsent

SKIPPED_BY = "station"
WHAT_TO_DO = ("{n} trial(s) recorded here are not sent to the hub: their stored frames are corrupt; their results stay "
              "here (export them without frames: the JSON sidecar or FHIR). A backup of the data directory from before "
              "the damage has their frames: `balance-station sync --resend CHANGE_ID --from BACKUP` puts them back and "
              "sends the trial; `sync --resolve CHANGE_ID` leaves it here unsent and marks it dealt with; `balance-station sync "
              "--show-blocked` names them")
"""The health's words (no patient data: a count)."""


def reason(exc: CorruptFrames, change_id: str = "CHANGE_ID") -> str:
    """Why the trial's change was not sent, and what to do, in words (ids only, never patient data;
    at most 1,000 characters are kept).

    >>> reason(CorruptFrames(12, "chunk 3 starts at frame 1200, its frames at 1201"))[:70]
    'trial #12 not sent to the hub: its stored frames are corrupt (chunk 3 '
    """
    return (f"trial #{exc.trial_id} not sent to the hub: its stored frames are corrupt ({exc.detail}); the station's "
            "later changes went on. Its results stay here (export them without frames: the JSON sidecar or FHIR); a "
            "backup of the data directory from before the damage has its frames: `balance-station sync --resend "
            f"{change_id} --from BACKUP` puts them back and sends the trial")


def keep(store, row, payload: dict, exc: CorruptFrames) -> int:
    """Keep the outbox change ``row`` (a trial's, with its record ``payload``) in ``sync_skipped``
    and the audit log, in one transaction; 1, or 0 if it was kept already (a push that failed
    after it, run again). The caller drops it from the queue with the changes it pushes."""
    with store.db.write() as conn:
        return kept_unsent.keep(store, conn, row, payload, reason=reason(exc, f"{store.outbox.station_id}:{row['seq']}"),
                                skipped_by=SKIPPED_BY, actor=Actor.system(), why="frames_corrupt")


def resend(store, seq: int, *, actor: Actor, backup: Path | None = None) -> tuple[int, list[int], int | None]:
    """Queue again the trial of the kept change ``seq`` (a trial not sent because its frames were
    corrupt) if its stored frames now read whole, and mark its kept changes dealt with
    (:data:`~station.sync.kept_unsent.SENT_AGAIN`), in one transaction: the trial's id, the changes
    marked, and the frames put back (None without ``backup``). With ``backup`` (a backup file of the
    data directory), its frames are first read from it, before any lock is taken
    (:func:`station.store.frames_from_backup.read`), then put back (:func:`~station.store.frames_from_backup.put_back`;
    the check then runs in the write transaction, so a corrupt copy changes nothing). The trial goes
    as a new change, read whole when pushed (its latest results and judgement), after everything
    queued before it: the hub refuses a change numbered below one it applied, so the kept ones
    cannot go under their own numbers.

    Raises
    ------
    NotFound, Conflict
        As :func:`~station.sync.kept_unsent.resolve` and :func:`~station.store.frames_from_backup.put_back`;
        Conflict too if it is not a trial kept for its frames, or the backup's frames are corrupt too.
    CorruptFrames
        Its frames are still corrupt (the words name the chunk, and what to do): nothing changed.
    """
    with store.db.read() as conn:
        row = conn.execute("SELECT * FROM sync_skipped WHERE seq = ?", (seq,)).fetchone()
    if row is not None and (row["skipped_by"] != SKIPPED_BY or row["entity"] != "trial"):
        raise Conflict(f"change #{seq} is not a trial kept here for its corrupt frames ({row['entity']} "
                       f"{row['op']}, skipped by {row['skipped_by']}); only those can be sent again")
    trial_id = None if row is None else int(row["local_id"])
    # Before the write transaction, so a long trial's read holds no lock (the service records meanwhile):
    copy = None if trial_id is None or backup is None else frames_from_backup.read(backup, trial_id)
    if trial_id is not None and backup is None:
        _read_whole(store, trial_id)
    with store.db.write() as conn:
        marked = kept_unsent.resolve(store, seq, actor=actor, how=kept_unsent.SENT_AGAIN, conn=conn,
                                     note=None if backup is None else {"frames_from": Path(backup).name})
        put_back = None
        if copy is not None:
            put_back = frames_from_backup.put_back(conn, copy)
            try:
                _read_whole(store, trial_id)
            except CorruptFrames as exc:  # rolls the transaction back: nothing changed
                raise Conflict(f"the frames of trial #{trial_id} in {Path(backup).name} are corrupt too ({exc.detail});"
                               " nothing changed: try another backup made before the damage (`balance-station "
                               "backup --list`)") from None
        conn.execute("INSERT INTO sync_outbox (entity, local_id, patient_id, op, at, payload)"
                     " VALUES ('trial', ?, ?, 'upsert', ?, '{}')", (trial_id, row["patient_id"], store.outbox.now_iso()))
    return trial_id, marked, put_back


def _read_whole(store, trial_id: int) -> None:
    """CorruptFrames, with what to do, unless the trial's stored frames read whole."""
    try:
        store.trials.frames(trial_id, fields=("seq",))
    except CorruptFrames as exc:
        raise CorruptFrames(trial_id, f"{exc.detail}; nothing changed: put its frames back from a backup of the "
                                      "data directory from before the damage with `--from BACKUP` "
                                      "(`balance-station backup --list` lists them)") from None


def health(store) -> dict | None:
    """``{"count", "last_at", "what_to_do"}`` of the trials not sent because their frames are
    corrupt (``count``: trials, not changes) that no administrator marked dealt with, or None when
    there are none (for the station's ``/healthz``: a count and words, no patient data)."""
    return kept_unsent.health(store, SKIPPED_BY, "trial", WHAT_TO_DO)
