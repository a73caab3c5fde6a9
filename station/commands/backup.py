"""``balance-station backup`` and ``balance-station restore FILE``.

``backup`` copies the database with SQLite's online backup API into ``<data_dir>/backups/``
(safe while the station runs, refused while a trial records), then deletes the oldest scheduled
backups beyond ``backup.keep``. It first checks that the disk has room for the copy and what
recording needs (:func:`station.store.backup.back_up_with_room`): if not, it deletes first the old
backups the rotation would delete after it, or refuses in words, exit 1 (under ``--if-due`` also
remembered for ``/healthz`` until a backup is written). ``backup --if-due`` is what ``balance-station-backup.timer`` runs
every hour: it backs up only when the newest backup is ``backup.interval_h`` old, and a trial in
progress postpones it to the next hour instead of failing. ``backup --list`` shows the backups.

``restore FILE`` needs the station service stopped; it refuses a corrupt file or one that is not
this station's database, and keeps the current database as a pre-restore copy. See
:mod:`station.store.backup`.

With ``--database postgresql://...`` (or ``$BALANCE_STATION_DATABASE``) the three commands work on
the hub's PostgreSQL database instead (:mod:`station.store.pg_backup`): ``pg_dump -Fc`` backups in
the hub's data directory, a restore checked inside one transaction, never half done.

``check`` runs the full integrity check (schema and triggers against this release's migrations,
orphan rows, trials' frame counts; the server's checksum failures on PostgreSQL); exit 1 listing
the problems.
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
    _add_database_argument(backup)
    backup.set_defaults(func=_backup)

    restore = subparsers.add_parser("restore", help="replace the database by a backup (service stopped)")
    restore.add_argument("file", metavar="FILE", help="a backup made by `balance-station backup`")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--data-dir", type=Path, help="the station's data directory (default from the configuration)")
    _add_database_argument(restore)
    restore.set_defaults(func=_restore)

    check = subparsers.add_parser("check", help="check the database's integrity: schema, triggers, orphans, frames")
    check.add_argument("--data-dir", type=Path, help="the station's data directory (default from the configuration)")
    _add_database_argument(check)
    check.set_defaults(func=_check)


def _add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", metavar="URL",
        help="the hub's PostgreSQL database, postgresql://USER@HOST/DATABASE (default: $BALANCE_STATION_DATABASE; "
             "without either: the station's SQLite database); the password is best kept in ~/.pgpass")


def _hub_url(args: argparse.Namespace) -> str | None:
    """The hub's database URL (``--database`` or the environment), None for the station's SQLite."""
    import os

    from station.commands.hub import DATABASE_ENV, database_url

    if getattr(args, "database", None) or os.environ.get(DATABASE_ENV):
        return database_url(args)
    return None


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def _backup(args: argparse.Namespace) -> int:
    from station.store import backup as store_backup

    config = load_config(args)
    data_dir = config.data_dir
    url = _hub_url(args)
    if url is not None:
        return _backup_hub(args, config, url)
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
    keep = config.backup.keep
    try:
        done = store_backup.back_up_with_room(data_dir, keep)
    except store_backup.TrialRecording as exc:
        if args.if_due:
            print(f"backup postponed: {exc}")
            return 0
        raise UserError(str(exc)) from None
    except store_backup.NoRoomForBackup as exc:
        if args.if_due:  # nobody reads the timer's output: /healthz says it until a backup is written
            not_kept = store_backup.record_refusal(data_dir, exc)
            if not_kept:
                raise UserError(f"{exc}; and the station's health page cannot say this refusal: "
                                f"{data_dir / store_backup.REFUSAL_FILENAME} could not be written ({not_kept})") from None
        raise UserError(str(exc)) from None
    except store_backup.BackupError as exc:
        raise UserError(str(exc)) from None
    if done.deleted_for_room:
        print(_deleted(done.deleted_for_room, f"first, to make room for the new one: backup.keep = {keep} deletes "
                                              f"{'them' if len(done.deleted_for_room) != 1 else 'it'} after it anyway"))
    print(f"backup written: {done.info.path} ({_size(done.info.size_bytes)})")
    if done.deleted_beyond_keep:
        print(_deleted(done.deleted_beyond_keep, f"backup.keep = {keep}"))
    if done.room is not None:
        not_kept = (f" (the station's health page cannot say this: {data_dir / store_backup.ROOM_FILENAME} could "
                    f"not be written ({done.room_not_kept}))") if done.room_not_kept else ""
        print(f"warning: {store_backup.room_words(done.room)}{not_kept}")
    return 0


def _deleted(paths, why: str) -> str:
    return (f"deleted {len(paths)} old backup{'s' if len(paths) != 1 else ''} ({why}): "
            + ", ".join(p.name for p in paths))


def hub_data_dir(args: argparse.Namespace, config) -> Path:
    """The hub's data directory, where its backups are kept: ``--data-dir``, or ``data_dir`` of the
    configuration file. Refused (UserError) when neither gives it: the built-in default ``./data``
    is of whatever folder the command runs in, and backups would scatter over folders that
    ``backup --list`` and ``backup --if-due`` of the hub's own never look in."""
    from station.config_file import load_config as load_file

    if getattr(args, "data_dir", None) is None and "data_dir" not in load_file(getattr(args, "config", None)).keys_in_file:
        raise UserError("give the hub's data directory with --data-dir DIR (the one `balance-station hub` runs with, "
                        "/var/lib/balance-hub when installed): its backups are kept in DIR/backups")
    return Path(config.data_dir)


def _backup_hub(args: argparse.Namespace, config, url: str) -> int:
    from station.store import pg_backup
    from station.store.db import StoreError

    data_dir = hub_data_dir(args, config)
    backups = pg_backup.list_hub_backups(data_dir)
    if args.list:
        if not backups:
            print(f"no hub backups in {pg_backup.backups_dir(data_dir)}")
        now_s = time.time()
        for info in backups:
            print(f"{info.path}  {_size(info.size_bytes)}  {(now_s - info.created_s) / 3600.0:.1f} h old")
        return 0
    if args.if_due and backups:
        age_h = (time.time() - backups[-1].created_s) / 3600.0
        if 0 <= age_h < config.backup.interval_h - 1 / 60:
            print(f"no backup due: the newest ({backups[-1].path.name}) is {age_h:.1f} h old, "
                  f"backup.interval_h = {config.backup.interval_h:g}")
            return 0
    try:  # when the disk has room for it (else refused in words, exit 1)
        info, made_room, removed = pg_backup.back_up_hub_with_room(url, data_dir, config.backup.keep)
    except StoreError as exc:  # BackupError (NoRoomForBackup) included
        raise UserError(str(exc)) from None
    if made_room:
        print(f"deleted {len(made_room)} old backup{'s' if len(made_room) != 1 else ''} first, for room (the rotation "
              f"deletes them anyway, backup.keep = {config.backup.keep}): " + ", ".join(p.name for p in made_room))
    print(f"backup written: {info.path} ({_size(info.size_bytes)})")
    if removed:
        print(f"deleted {len(removed)} old backup{'s' if len(removed) != 1 else ''} "
              f"(backup.keep = {config.backup.keep}): " + ", ".join(p.name for p in removed))
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UserError("restore replaces the database; add --yes to confirm without a terminal")
    return input(f"{question} Type 'yes': ").strip().lower() == "yes"


def _restore_hub(args: argparse.Namespace, config, url: str) -> int:
    from station.store import pg_backup
    from station.store.db import StoreError
    from station.store.pg import redact_url

    data_dir = hub_data_dir(args, config)  # the pre-restore copy's place, before anything is asked
    try:
        info = pg_backup.inspect_hub_backup(url, args.file)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    print(f"{info.path}: hub backup, schema {info.schema_version}, {len(info.tables)} tables")
    if not args.yes and not _confirm(f"Replace the hub database {redact_url(url)} with this backup?"):
        print("nothing changed")
        return 1
    try:
        result = pg_backup.restore_hub_backup(url, data_dir, args.file)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    print(f"restored {args.file} into {redact_url(url)}: schema {result.schema_version}, {result.patients} patients, "
          f"{result.trials} trials, {result.programmes} training programmes ({result.rows} rows, every check passed)")
    if result.pre_restore_copy is not None:
        print(f"the previous database is kept as {result.pre_restore_copy}")
    print(_SIGN_IN_AGAIN.format(n=result.sessions_ended, s="" if result.sessions_ended == 1 else "s"))
    _print_unusable_accounts(result.unusable_accounts, " --database URL")  # the URL restored into, as given
    _print_setup_code(result.setup_code, data_dir, " --database URL")
    _print_no_administrator(result, " --database URL", "hub")
    print("start the hub again: sudo systemctl start balance-station-hub")
    return 0


def _check(args: argparse.Namespace) -> int:
    from station.store import backup as store_backup
    from station.store.db import StoreError

    config = load_config(args)
    url = _hub_url(args)
    try:
        if url is not None:
            from station.store import pg_backup
            from station.store.pg import redact_url

            where, problems = redact_url(url), pg_backup.check_hub_database(url)
        else:
            where = str(Path(config.data_dir) / "station.sqlite3")
            problems = store_backup.check_station_database(config.data_dir)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    if not problems:
        print(f"{where}: ok (schema, triggers, references, frame counts)")
        return 0
    print(f"{where}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:")
    for problem in problems:
        print(f"  - {problem}")
    print("restore a backup (balance-station restore FILE, the service stopped) or ask the station's maintainers")
    return 1


_SIGN_IN_AGAIN = ("everyone signs in again: login sessions are not restored ({n} login session{s} of the backup "
                  "ended)")


def _print_unusable_accounts(names: tuple[str, ...], where: str = "") -> None:
    """Say which restored accounts nobody can sign in to (their stored password hash is not one
    this station can check: :func:`station.store.passwords.unusable_accounts`), by user name, and
    what to do; nothing when there are none. ``where``: the hub's ``--database URL`` for the command."""
    from station.store.passwords import MAX_COST_FACTOR, RESET_PASSWORD_WORDS

    if not names:
        return
    many = len(names) != 1
    print(f"{len(names)} account{'s' if many else ''} of the backup cannot sign in: {'their' if many else 'its'} "
          f"stored password hash{'es are not ones' if many else ' is not one'} this station can check (malformed, or of a "
          f"cost over {MAX_COST_FACTOR} times the station's): {', '.join(names)}")
    for name in names:
        print(f"  {name}: {RESET_PASSWORD_WORDS.format(name=name, where=where)}")


def _print_setup_code(code: str | None, data_dir, where: str = "") -> None:
    """Say that the restored database has no account, so its first-run setup is open again and asks
    for the one-time ``code`` (:func:`station.store.setup_code.ensure`), or how to make the
    administrator here instead; nothing when ``code`` is None. ``where``: the hub's ``--database URL``."""
    from station.store.setup_code import code_path

    if code is None:
        return
    print("the backup has no account (it was taken before the first administrator was made): the first-run setup is "
          "open again, and asks for this one-time setup code:")
    print(f"    {code}")
    print(f"(used once; until then 'sudo cat {code_path(data_dir)}' shows it). Or create the administrator here, before "
          f"anyone opens the setup page: sudo balance-station users add NAME --role admin{where}")


def _print_no_administrator(result, where: str = "", what: str = "station") -> None:
    """Say how to get in when no administrator of the restored accounts (``result``: a restore's, with
    ``can_sign_in``, ``admins_can_sign_in`` and ``setup_code``) can sign in (all disabled, with a
    password hash the ``what`` cannot check, or clinicians'): an administrator made from the command
    line, as an accountless backup's alternative to its setup code (the first-run setup stays closed
    while accounts exist, disabled or not); nothing when one can, when not counted, or when the backup
    held no account (its setup code says how to get in)."""
    can_sign_in, admins = result.can_sign_in, result.admins_can_sign_in
    if admins is None or admins > 0 or result.setup_code is not None:
        return
    make = (f"sudo balance-station users add NAME --role admin{where} (or give a disabled administrator back: "
            f"sudo balance-station users enable NAME{where}; `balance-station users list{where}` lists the accounts)")
    if not can_sign_in:
        print("nobody can sign in to the restored database: every account of the backup is disabled or has a password "
              f"hash this {what} cannot check; make an administrator here before anyone needs the {what}: {make}")
    else:
        print(f"no administrator can sign in to the restored database (only {can_sign_in} clinician "
              f"account{'s' if can_sign_in != 1 else ''}): to manage accounts and settings, make one here: {make}")


RESTORED_FOR_THE_HUB = ("its next sync tells the hub that it was restored from this backup; the hub holds that notice, "
                       "and this station's sync, until the hub's administrator confirms it (`balance-station hub "
                       "stations confirm-restore NAME` on the hub, NAME this station's name there; the station's "
                       "refusal names the restore). Then the hub takes what is recorded here from now on, and keeps "
                       "what this station sent it after the backup (bring such a patient back here by identifier, "
                       "from the patients page)")


def _restore(args: argparse.Namespace) -> int:
    from station.store import backup as store_backup

    config = load_config(args)
    data_dir = config.data_dir
    url = _hub_url(args)
    if url is not None:
        return _restore_hub(args, config, url)
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
    if result.pre_restore_damaged:
        print(f"the previous database was damaged and could not be copied as a backup: its files are kept as they "
              f"were, as {result.pre_restore_copy}; what was recorded after the backup you restored is only there (SQLite's "
              f"`sqlite3 {result.pre_restore_copy} .recover` may get part of it back)")
    elif result.pre_restore_copy is not None:
        print(f"the previous database is kept as {result.pre_restore_copy}")
    print(_SIGN_IN_AGAIN.format(n=result.sessions_ended, s="" if result.sessions_ended == 1 else "s"))
    _print_unusable_accounts(result.unusable_accounts)
    _print_setup_code(result.setup_code, data_dir)
    _print_no_administrator(result)
    if config.hub.url:  # the restore marked it (station.store.restore_marks)
        print(RESTORED_FOR_THE_HUB)
    print("start the station again: sudo systemctl start balance-station")
    return 0
