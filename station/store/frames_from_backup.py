"""A trial's stored frames put back from a backup of the data directory (``balance-station backup``).

A chunk of a trial's frames that no longer matches its index (an SD card's flipped bits:
:class:`station.store.trials.CorruptFrames`) cannot be read, exported or sent to the hub; a backup
made before the damage holds them whole. :func:`put_back` replaces the trial's chunks by the
backup's, in the caller's write transaction, once the backup's trial is shown to be the same one
(its visit, start, status, rate, frame layout, frame count and first and last frame numbers); the
caller checks they read whole before it commits (:func:`station.sync.corrupt_trials.resend`).

The backup is opened read-only and immutable (a backup is a finished file): nothing is written
next to it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from station.store.db import Conflict, NotFound

SAME_TRIAL = ("session_id", "started_at", "status", "rate_hz", "frame_dtype", "frame_count", "first_seq", "last_seq")
"""The columns of ``trials`` a backup's trial must share with this database's to be the same trial."""


def put_back(conn: sqlite3.Connection, trial_id: int, backup: Path) -> int:
    """Replace the chunks of trial ``trial_id`` by those of the backup file ``backup``, in the
    write transaction ``conn``; how many frames were put back.

    Raises
    ------
    NotFound
        The backup cannot be opened as a station database, or holds no frames of that trial.
    Conflict
        Its trial of that id is another trial, or the same one at another stage (still recording).
    """
    backup = Path(backup)
    try:
        source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except (sqlite3.Error, ValueError, OSError) as exc:
        raise NotFound(f"{backup} cannot be opened as a backup ({exc}); `balance-station backup --list` lists the "
                       "backups") from None
    try:
        source.row_factory = sqlite3.Row
        cols = ", ".join(SAME_TRIAL)
        try:
            theirs = source.execute(f"SELECT {cols} FROM trials WHERE id = ?", (trial_id,)).fetchone()
            chunks = source.execute("SELECT chunk_no, first_seq, n_frames, data FROM trial_chunks WHERE trial_id = ?"
                                    " ORDER BY chunk_no", (trial_id,)).fetchall()
        except sqlite3.Error as exc:
            raise NotFound(f"{backup.name} is not a station's database backup ({exc}); `balance-station backup "
                           "--list` lists the backups") from None
    finally:
        source.close()
    ours = conn.execute(f"SELECT {cols} FROM trials WHERE id = ?", (trial_id,)).fetchone()
    if ours is None:
        raise NotFound(f"trial #{trial_id} is not held here")
    if theirs is None or not chunks:
        raise NotFound(f"{backup.name} holds no frames of trial #{trial_id} (made before it was recorded?); try a "
                       "later backup (`balance-station backup --list`)")
    differ = [name for name in SAME_TRIAL if theirs[name] != ours[name]]
    if differ:
        raise Conflict(f"trial #{trial_id} of {backup.name} is not this trial as it is now (its {', '.join(differ)} "
                       "differ: another trial under that id, or made while it was recording); nothing changed: try "
                       "a later backup made before the damage")
    conn.execute("DELETE FROM trial_chunks WHERE trial_id = ?", (trial_id,))
    conn.executemany("INSERT INTO trial_chunks (trial_id, chunk_no, first_seq, n_frames, data) VALUES (?, ?, ?, ?, ?)",
                     [(trial_id, c["chunk_no"], c["first_seq"], c["n_frames"], c["data"]) for c in chunks])
    return sum(int(c["n_frames"]) for c in chunks)
