"""``balance-station users {add,list,disable,enable,password}``: station accounts from the shell.

Passwords are prompted twice when standard input is a terminal, else read as the first line of
standard input (``printf '%s\\n' "$PW" | balance-station users add ana --role clinician``); they are
never taken from the command line, where other users could see them. Changes are recorded in the
audit log as ``cli:<your login name>``. This is also how to recover a lost administrator password
(``users password NAME``), which is why it needs shell access to the station. With ``--database
postgresql://...`` they manage the hub's accounts (``balance-station hub``) instead.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from station.cli import UserError
from station.store import setup_code
from station.store.audit import Actor
from station.store.db import StoreError, ValidationError
from station.store.users import ROLES


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR``, as every command that touches stored data has it (and ``run``)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="the station's data directory (default: from the configuration, ./data)",
    )


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data directory: ``--data-dir`` or the configuration's (ConfigError if it is bad)."""
    from station.commands._common import load_config

    return Path(load_config(args).data_dir)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="manage station accounts (administrators and clinicians)")
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add an account (password prompted or read from standard input)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=ROLES, required=True, help="admin: also manages users and settings")
    add_data_dir_argument(add)
    _add_hub_database_argument(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="list accounts")
    add_data_dir_argument(listing)
    _add_hub_database_argument(listing)
    listing.set_defaults(func=_list)

    disable = actions.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name", metavar="NAME")
    add_data_dir_argument(disable)
    _add_hub_database_argument(disable)
    disable.set_defaults(func=_disable)

    enable = actions.add_parser("enable", help="enable a disabled account")
    enable.add_argument("name", metavar="NAME")
    add_data_dir_argument(enable)
    _add_hub_database_argument(enable)
    enable.set_defaults(func=_enable)

    password = actions.add_parser("password", help="set a new password for an account (ends its sessions)")
    password.add_argument("name", metavar="NAME")
    add_data_dir_argument(password)
    _add_hub_database_argument(password)
    password.set_defaults(func=_password)


def _add_hub_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="URL", default=None,
                        help="the hub's PostgreSQL database (postgresql://USER@HOST/DATABASE): the hub's accounts")


def _open(args: argparse.Namespace, *, new_station: bool = False):
    """The store of ``--database`` (the hub's) or of the station's data directory. A data
    directory without a database is refused (a mistyped ``--data-dir``, or a command run from
    another folder with the relative default ``data``, would otherwise become an empty station)
    unless ``new_station``: ``users add NAME --role admin``, a new station's first account (then
    said on standard error, so that a typo shows)."""
    from station.store.db import db_path
    from station.store.store import Store

    if args.database:
        from station.commands._common import load_config
        from station.commands.hub import open_hub_store

        return open_hub_store(args, load_config(args), service=False)
    data_dir = data_dir_of(args)
    created = not db_path(data_dir).exists()
    if created and not new_station:
        raise UserError(f"no station database in {data_dir.resolve()}: give the station's data directory with "
                        "--data-dir (or data_dir in the configuration); a new station's first account is made with "
                        "`balance-station users add NAME --role admin --data-dir DIR`")
    try:
        store = Store.open(data_dir)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    if created:
        print(f"balance-station users: made a new station database in {data_dir.resolve()}", file=sys.stderr)
    return store


def read_new_password(prompt_name: str) -> str:
    """A new password: prompted twice on a terminal, else the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(f"New password for {prompt_name}: ")
        second = getpass.getpass("Repeat it: ")
        if first != second:
            raise UserError("the two passwords differ; nothing was changed, try again")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise UserError("no password on standard input; type it at a terminal or pipe it in as one line")
    return line.rstrip("\r\n")


def _fail(exc: StoreError) -> UserError:
    if isinstance(exc, ValidationError):
        return UserError("; ".join(f"{k} {v}" for k, v in exc.fields.items()))
    return UserError(str(exc))


def _add(args: argparse.Namespace) -> int:
    from station.store.users import username_problem

    problem = username_problem(args.name)
    if problem:
        raise UserError(f"user name {args.name!r} {problem}")
    with _open(args, new_station=args.role == "admin") as store:
        password = read_new_password(args.name)
        try:
            user = store.users.create(args.name, password, args.role, actor=Actor.command_line())
        except StoreError as exc:
            raise _fail(exc) from None
        if user["role"] == "admin" and not args.database:
            setup_code.used(store.data_dir)  # the station has its administrator: the setup page's code opens nothing
    print(f"added {user['role']} {user['username']}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        users = store.users.list()
    if not users:
        print("no accounts yet: add an administrator with 'balance-station users add NAME --role admin'")
        return 0
    rows = [("NAME", "ROLE", "STATE", "LAST LOGIN")]
    for u in users:
        rows.append((u["username"], u["role"], "disabled" if u["disabled"] else "active", u["last_login_at"] or "never"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    with _open(args) as store:
        try:
            user = store.users.get_by_name(args.name)
            store.users.update(user["id"], disabled=disabled, actor=Actor.command_line())
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"{'disabled' if disabled else 'enabled'} {user['username']}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def _enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def _password(args: argparse.Namespace) -> int:
    with _open(args) as store:
        try:
            user = store.users.get_by_name(args.name)
        except StoreError as exc:
            raise _fail(exc) from None
        password = read_new_password(user["username"])
        try:
            store.users.update(user["id"], password=password, actor=Actor.command_line())
        except StoreError as exc:
            raise _fail(exc) from None
    print(f"new password set for {user['username']}; their sessions were ended")
    return 0
