"""How much room the station's recordings and backups take: bytes per stored frame, per 30-s trial, a backup.

    .venv/bin/python benchmarks/storage_sizing.py --trials 8

The simulated station (its virtual patient, the trial service, the real store in a fresh data directory,
not paced to real time; a virtual patient of the ``patient`` scenario steps on and off) records ``--trials`` quiet-stance trials of 30 s (``quiet-stance``, one trial a run,
each run closed after its trial is stored), then :func:`station.store.backup.create_backup` copies the
database as the daily backup does. Prints one JSON object: the frames stored and the bytes of their
chunks (``sum(length(data))`` of ``trial_chunks``), bytes per frame and per 30-s trial, the database file
after a checkpoint, and the backup's size, before any trial and after, and what each trial added to it; and,
from them, how many days a card of 32 and 64 GB lasts at the workloads of :data:`WORKLOADS` with the
``backup.keep`` values of :data:`KEEPS`: every day a day of trials (the database grows by that day's trials,
a backup a day, the ``keep`` newest kept: copies of it), until less than the station's low-space line
(256 MiB) and reserve is left beside :data:`SYSTEM_BYTES`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from station.sim.clock import SimulatedClock
from station.store.backup import create_backup
from station.store.db import DB_FILENAME
from station.store.space import LOW_SPACE_BYTES, RESERVE_BYTES
from station.store.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording_faults import ACTOR, CHEAP, simulated_clinic  # noqa: E402  (the same simulated clinic)

WORKLOADS = ((15, 8), (5, 8))
"""(visits a day, trials a visit) of the table: a busy clinic, a quieter one."""
KEEPS = (14, 7, 3)
"""``backup.keep`` values of the table (14: the default)."""
SYSTEM_BYTES = 4e9
"""What the system, the software and the card's formatting take of a card before any data, bytes (Raspberry
Pi OS Lite with the station installed: about 3 GB; rounded up)."""


def record(n_trials: int, data: Path) -> tuple[Store, int]:
    """The store after ``n_trials`` trials, and the size of a backup made before the first."""
    clock = SimulatedClock()
    store = Store.open_service(data, password_cost=CHEAP, clock=clock)
    empty = create_backup(data, now_s=0.0).size_bytes
    service, events, run, state = simulated_clinic(store, clock)
    for i in range(n_trials):
        patient = store.patients.create({"identifier": f"S-{i:03d}", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        run("open_run", patient["id"], "quiet-stance", None, ACTOR)
        while state() != "instructions":
            service.step()
        stored = sum(e.kind == "trial_stored" for e in events)
        run("start_trial")
        while sum(e.kind == "trial_stored" for e in events) == stored:
            service.step()
        run("close_run")
    return store, empty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args(argv)

    data = Path(tempfile.mkdtemp()) / "data"
    store, empty_backup = record(args.trials, data)
    store.close()
    conn = sqlite3.connect(data / DB_FILENAME)
    frames, chunk_bytes, trials, seconds = conn.execute(
        "SELECT (SELECT sum(n_frames) FROM trial_chunks), (SELECT sum(length(data)) FROM trial_chunks), "
        "count(*), sum(frame_count * 1.0 / rate_hz) FROM trials").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db_bytes = (data / DB_FILENAME).stat().st_size
    backup = create_backup(data)
    per_frame = chunk_bytes / frames
    per_trial_30 = per_frame * frames / seconds * 30.0
    backup_per_trial = (backup.size_bytes - empty_backup) / trials

    def days(card_bytes: float, day_bytes: float, keep: int) -> int:
        """Days until the database and its ``keep`` newest daily copies leave less than the station's
        low-space line and reserve free, the database growing by ``day_bytes`` a day."""
        room = card_bytes - SYSTEM_BYTES - LOW_SPACE_BYTES - RESERVE_BYTES
        day = 0
        while True:
            db = empty_backup + day_bytes * (day + 1)
            copies = sum(max(0.0, db - k * day_bytes) for k in range(1, keep + 1))
            if db + copies > room:
                return day
            day += 1

    cards = []
    for visits, per_visit in WORKLOADS:
        day_bytes = backup_per_trial * visits * per_visit
        for keep in KEEPS:
            cards.append({"visits_per_day": visits, "trials_per_visit": per_visit, "keep": keep,
                          "database_growth_bytes_per_day": round(day_bytes),
                          "days_32GB": days(32e9, day_bytes, keep), "days_64GB": days(64e9, day_bytes, keep)})
    print(json.dumps({
        "trials": trials, "frames": frames, "recorded_s": round(seconds, 1), "chunk_bytes": chunk_bytes,
        "bytes_per_frame": round(per_frame, 1), "bytes_per_30s_trial": round(per_trial_30),
        "database_bytes": db_bytes, "backup_bytes": backup.size_bytes, "backup_bytes_before_any_trial": empty_backup,
        "backup_bytes_per_trial": round(backup_per_trial), "cards": cards,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
