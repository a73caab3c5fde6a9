"""A trial's stored frames put back from a backup of the data directory (``balance-station backup``).

A chunk of a trial's frames that no longer matches its index (an SD card's flipped bits:
:class:`station.store.trials.CorruptFrames`) cannot be read, exported or sent to the hub; a backup
made before the damage holds them whole. :func:`read` reads the backup's copy of the trial, before
any lock of this database is taken; :func:`put_back` then replaces the trial's chunks by it, in the
caller's write transaction, once the backup's trial is shown to be the same one (its visit, start,
status, rate, frame layout, frame count and first and last frame numbers); the caller checks they
read whole before it commits (:func:`station.sync.corrupt_trials.resend`).

The backup is opened read-only and immutable (a backup is a finished file): nothing is written
next to it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from station.store.db import Conflict, NotFound

SAME_TRIAL = ("session_id", "started_at", "status", "rate_hz", "frame_dtype", "frame_count", "first_seq", "last_seq")
"""The columns of ``trials`` a backup's trial must share with this database's to be the same trial."""


@dataclass(frozen=True)
class BackupTrial:
    """A trial's row (the :data:`SAME_TRIAL` columns) and its stored chunks, as a backup holds them."""

    backup: Path
    trial_id: int
    row: dict
    chunks: list[tuple[int, int, int, bytes]]
    """``(chunk_no, first_seq, n_frames, data)`` in chunk order."""

    @property
    def n_frames(self) -> int:
        """How many frames its chunks hold."""
        return sum(n for _, _, n, _ in self.chunks)


def read(backup: Path, trial_id: int) -> BackupTrial:
    """The trial ``trial_id`` as the backup file ``backup`` holds it, read with no lock of this
    station's database (a 2-hour trial's ~100 MB of chunks take most of a second to read here:
    ``sync --resend`` reads them before its write transaction, so the recording goes on meanwhile).

    Raises
    ------
    NotFound
        The backup cannot be opened as a station database, or holds no frames of that trial.
    """
    backup = Path(backup)
    try:
        source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except (sqlite3.Error, ValueError, OSError) as exc:
        raise NotFound(f"{backup} cannot be opened as a backup ({exc}); `balance-station backup --list` lists the "
                       "backups") from None
    try:
        source.row_factory = sqlite3.Row
        try:
            row = source.execute(f"SELECT {', '.join(SAME_TRIAL)} FROM trials WHERE id = ?", (trial_id,)).fetchone()
            chunks = source.execute("SELECT chunk_no, first_seq, n_frames, data FROM trial_chunks WHERE trial_id = ?"
                                    " ORDER BY chunk_no", (trial_id,)).fetchall()
        except sqlite3.Error as exc:
            raise NotFound(f"{backup.name} is not a station's database backup ({exc}); `balance-station backup "
                           "--list` lists the backups") from None
    finally:
        source.close()
    if row is None or not chunks:
        raise NotFound(f"{backup.name} holds no frames of trial #{trial_id} (made before it was recorded?); try a "
                       "later backup (`balance-station backup --list`)")
    return BackupTrial(backup, trial_id, dict(row), [(int(c["chunk_no"]), int(c["first_seq"]), int(c["n_frames"]),
                                                      bytes(c["data"])) for c in chunks])


def put_back(conn: sqlite3.Connection, copy: BackupTrial) -> int:
    """Replace the chunks of the trial of ``copy`` (:func:`read`) by the backup's, in the write
    transaction ``conn``; how many frames were put back.

    Raises
    ------
    NotFound
        The trial is not held here (any more).
    Conflict
        The backup's trial of that id is another trial, or the same one at another stage (still recording).
    """
    trial_id = copy.trial_id
    ours = conn.execute(f"SELECT {', '.join(SAME_TRIAL)} FROM trials WHERE id = ?", (trial_id,)).fetchone()
    if ours is None:
        raise NotFound(f"trial #{trial_id} is not held here")
    differ = [name for name in SAME_TRIAL if copy.row[name] != ours[name]]
    if differ:
        raise Conflict(f"trial #{trial_id} of {copy.backup.name} is not this trial as it is now (its {', '.join(differ)} "
                       "differ: another trial under that id, or made while it was recording); nothing changed: try "
                       "a later backup made before the damage")
    conn.execute("DELETE FROM trial_chunks WHERE trial_id = ?", (trial_id,))
    conn.executemany("INSERT INTO trial_chunks (trial_id, chunk_no, first_seq, n_frames, data) VALUES (?, ?, ?, ?, ?)",
                     [(trial_id, *chunk) for chunk in copy.chunks])
    return copy.n_frames
