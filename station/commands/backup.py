"""``balance-station backup`` and ``balance-station restore FILE``.

``backup`` copies the database with SQLite's online backup API into ``<data_dir>/backups/``
(safe while the station runs, refused while a trial records), then deletes the oldest scheduled
backups beyond ``backup.keep``. ``backup --if-due`` is what ``balance-station-backup.timer`` runs
every hour: it backs up only when the newest backup is ``backup.interval_h`` old, and a trial in
progress postpones it to the next hour instead of failing. ``backup --list`` shows the backups.

``restore FILE`` needs the station service stopped; it refuses a corrupt file or one that is not
this station's database, and keeps the current database as a pre-restore copy. See
:mod:`station.store.backup`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

from station.cli import UserError
from station.commands._common import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser("backup", help="back up the database now (online, safe while running)")
    mode = backup.add_mutually_exclusive_group()
    mode.add_argument(
        "--if-due", action="store_true",
        help="only if the newest backup is older than backup.interval_h; postpone while a trial records",
    )
    mode.add_argument("--list", action="store_true", help="list the backups and exit")
    backup.add_argument("--data-dir", type=Path, help="the station's data directory (default from the configuration)")
    backup.set_defaults(func=_backup)

    restore = subparsers.add_parser("restore", help="replace the database by a backup (service stopped)")
    restore.add_argument("file", metavar="FILE", help="a backup made by `balance-station backup`")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--data-dir", type=Path, help="the station's data directory (default from the configuration)")
    restore.set_defaults(func=_restore)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def _backup(args: argparse.Namespace) -> int:
    from station.store import backup as store_backup

    config = load_config(args)
    data_dir = config.data_dir
    if args.list:
        backups = store_backup.list_backups(data_dir)
        if not backups:
            print(f"no backups in {store_backup.backups_dir(data_dir)}")
        now_s = time.time()
        for info in backups:
            age_h = (now_s - info.created_s) / 3600.0
            print(f"{info.path}  {_size(info.size_bytes)}  {age_h:.1f} h old")
        return 0
    if args.if_due and not store_backup.backup_due(data_dir, config.backup.interval_h):
        newest = store_backup.list_backups(data_dir)[-1]
        age_h = (time.time() - newest.created_s) / 3600.0
        print(f"no backup due: the newest ({newest.path.name}) is {age_h:.1f} h old, "
              f"backup.interval_h = {config.backup.interval_h:g}")
        return 0
    try:
        info = store_backup.create_backup(data_dir)
    except store_backup.TrialRecording as exc:
        if args.if_due:
            print(f"backup postponed: {exc}")
            return 0
        raise UserError(str(exc)) from None
    except store_backup.BackupError as exc:
        raise UserError(str(exc)) from None
    print(f"backup written: {info.path} ({_size(info.size_bytes)})")
    removed = store_backup.prune_backups(data_dir, config.backup.keep)
    if removed:
        print(f"deleted {len(removed)} old backup{'s' if len(removed) != 1 else ''} "
              f"(backup.keep = {config.backup.keep}): " + ", ".join(p.name for p in removed))
    return 0


def _restore(args: argparse.Namespace) -> int:
    from station.store import backup as store_backup

    config = load_config(args)
    data_dir = config.data_dir
    try:
        info = store_backup.inspect_database(args.file)
    except store_backup.BackupError as exc:
        raise UserError(str(exc)) from None
    print(f"{info.path}: station database, schema {info.schema_version}, "
          f"{info.patients} patients, {info.trials} trials, {info.programmes} training programmes")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("restore replaces the station's database; add --yes to confirm without a terminal")
        answer = input(f"Replace the database in {data_dir} with this backup? Type 'yes': ")
        if answer.strip().lower() != "yes":
            print("nothing changed")
            return 1
    try:
        result = store_backup.restore_backup(data_dir, args.file)
    except store_backup.BackupError as exc:
        raise UserError(str(exc)) from None
    print(f"restored {args.file} into {result.restored.path}")
    if result.pre_restore_copy is not None:
        print(f"the previous database is kept as {result.pre_restore_copy}")
    print("start the station again: sudo systemctl start balance-station")
    return 0
