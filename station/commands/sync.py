"""``balance-station sync --once``: push this station's queued changes to the hub now, and print them.

    balance-station sync --once [--hub URL --hub-token-file PATH] [--ca-file FILE] [--data-dir DIR]
    balance-station sync --show-blocked          # the change the hub refuses, and why
    balance-station sync --skip CHANGE_ID [--yes]  # take it out of the queue (kept, audited)
    balance-station sync --resolve CHANGE_ID     # a change kept unsent (/healthz counts it): dealt with
    balance-station sync --resend CHANGE_ID [--from BACKUP]  # a trial kept for corrupt frames: put back, send
    balance-station sync --restored-from BACKUP  # the database was put back from BACKUP by hand
    balance-station sync --not-restored          # it was not: drop a restore mark the hub refused

The hub comes from the configuration's ``[hub]`` section (``url``, ``token``, ``ca_file``) unless
given here. One sync applies the hub's erasures here, then pushes everything queued (patients,
sessions, trials with their raw frames, programmes, erasures), oldest first, and prints what it
sent; ``balance-station run`` does the same in the background (:mod:`station.sync.syncer`). A token
on the command line is visible to other users of this machine (``ps``): give it with
``--hub-token-file PATH``, ``$BALANCE_STATION_HUB_TOKEN`` or the configuration file (mode 0600),
see :mod:`station.commands._hub_token`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sync", help="push the changes queued for the clinic's hub now")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--once", action="store_true",
                      help="sync once and exit (the running station syncs in the background by itself)")
    what.add_argument("--show-blocked", action="store_true",
                      help="show the queued change the hub refuses (which blocks the queue) and the hub's reason")
    what.add_argument("--skip", metavar="CHANGE_ID",
                      help="take the blocked change out of the queue (kept for inspection, audited; asks first)")
    what.add_argument("--resolve", metavar="CHANGE_ID",
                      help="mark a change kept unsent (an erasure the hub did not apply, a trial whose frames are "
                           "corrupt: /healthz counts them) dealt with; kept, audited, no longer counted")
    what.add_argument("--restored-from", type=Path, metavar="BACKUP",
                      help="this station's database was put back from BACKUP by hand, not with `balance-station "
                           "restore`: mark it so, so that the hub takes its changes again. Refused here: another "
                           "station's backup, a later one, one holding other records under the same ids, and an older "
                           "one when the hub acknowledged changes made after it. An older one whose later changes were "
                           "never acknowledged cannot be told here; the hub tells at the next sync (it refuses the "
                           "mark when it holds one of the visits, trials or queued changes above it as they are: they "
                           "were not lost). If it holds none of them, nothing of them reached it, and marking with "
                           "the older backup duplicates nothing")
    what.add_argument("--not-restored", action="store_true",
                      help="this station's database was not restored: drop the restore mark its next sync would send "
                           "(the hub refused it, saying so)")
    what.add_argument("--resend", metavar="CHANGE_ID",
                      help="send again a trial kept unsent because its frames were corrupt, once they read whole; "
                           "audited")
    parser.add_argument("--from", dest="backup", type=Path, metavar="BACKUP",
                        help="with --resend: put the trial's frames back from this backup file first "
                             "(`balance-station backup --list` lists them)")
    parser.add_argument("--yes", action="store_true", help="with --skip: do not ask for confirmation")
    add_hub_arguments(parser)
    parser.add_argument("--ca-file", type=Path, metavar="FILE",
                        help="CA certificate that signed the hub's certificate (default: [hub] ca_file, else the "
                             "system's CAs)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="the station's data directory (default: from the configuration, ./data)")
    parser.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    if args.once:
        return sync_once(args)
    from station.commands import _sync_admin

    if args.show_blocked:
        return _sync_admin.show_blocked(args)
    if args.restored_from is not None:
        return _sync_admin.restored_from(args)
    if args.not_restored:
        return _sync_admin.not_restored(args)
    if args.backup is not None and not args.resend:
        from station.cli import UserError

        raise UserError("--from BACKUP goes with --resend CHANGE_ID (it puts a trial's frames back from a backup)")
    if args.resolve or args.resend:
        return _sync_admin.resolve(args)
    return _sync_admin.skip(args)


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    """``--hub URL`` and ``--hub-token-file PATH`` or ``--hub-token TOKEN`` (``sync`` and ``run``)."""
    from station.commands._hub_token import HUB_TOKEN_ENV

    parser.add_argument("--hub", metavar="URL", help="the hub's https:// URL (default: [hub] url of the configuration)")
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument("--hub-token-file", type=Path, metavar="PATH",
                        help="a file (mode 0600) holding this station's token from `balance-station hub stations add "
                             f"NAME` (default: ${HUB_TOKEN_ENV}, else [hub] token of the configuration)")
    tokens.add_argument("--hub-token", metavar="TOKEN",
                        help="the token itself: every user of this machine can read a command line (ps), so this "
                             "warns; prefer --hub-token-file")


def hub_settings(args: argparse.Namespace, config):
    """The configuration's ``[hub]`` with ``--hub``, the token (:func:`station.commands._hub_token.hub_token`:
    ``--hub-token-file``, ``--hub-token``, ``$BALANCE_STATION_HUB_TOKEN``, ``[hub] token`` in a file
    other users cannot read) and ``--ca-file`` applied."""
    from station.commands._hub_token import hub_token
    from station.config_file import resolve_config_path

    hub = config.hub
    if getattr(args, "hub", None):
        hub = replace(hub, url=args.hub)
    config_path = resolve_config_path(getattr(args, "config", None))
    hub = replace(hub, token=hub_token(args, hub.token, config_path))
    if getattr(args, "ca_file", None):
        hub = replace(hub, ca_file=args.ca_file)
    return hub


def station_sync(store, hub):
    """The :class:`~station.sync.syncer.StationSync` of ``store`` with the hub settings ``hub``;
    None when no hub is configured; UserError (one line) when the settings are wrong."""
    from station.sync.syncer import StationSync

    if not hub.url and not hub.token:
        return None
    return StationSync(store, hub_client(hub))


def hub_client(hub):
    """The :class:`~station.sync.client.HubClient` of the hub settings ``hub``; UserError (one
    line) when the url or the token is missing or wrong."""
    from station.cli import UserError
    from station.sync.client import HubClient

    if not hub.url or not hub.token:
        raise UserError("a hub needs both its url and this station's token: set [hub] url and token "
                        "(or --hub and --hub-token-file)")
    try:
        return HubClient(hub.url, hub.token, ca_file=None if hub.ca_file is None else str(hub.ca_file))
    except ValueError as exc:
        raise UserError(str(exc)) from None


ONCE_AGAIN = ("nothing queued is lost: run `balance-station sync --once` again later (a running station retries by "
              "itself)")


def one_shot_words(message: str) -> str:
    """A sync error as ``sync --once`` says it: it retries nothing, so "will retry" at its end
    becomes what to do.

    >>> one_shot_words("cannot reach the hub at https://hub.example (timed out); will retry")
    'cannot reach the hub at https://hub.example (timed out); nothing queued is lost: run `balance-station sync --once` again later (a running station retries by itself)'
    """
    from station.sync.client import RETRIED, said_once

    return said_once(message, ONCE_AGAIN) if message.rstrip(".").endswith(RETRIED) else message


def sync_once(args: argparse.Namespace) -> int:
    from station.cli import UserError
    from station.commands._common import load_config
    from station.store.db import StoreError
    from station.store.store import Store
    from station.sync.client import SyncError

    config = load_config(args)
    hub = hub_settings(args, config)
    if not hub.url:
        raise UserError("no hub configured: set [hub] url and token in the configuration, or give --hub and --hub-token")
    try:
        store = Store.open(Path(config.data_dir), config=config)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    try:
        sync = station_sync(store, hub)
        try:
            report = sync.sync_once()
        except (SyncError, StoreError) as exc:
            raise UserError(f"sync failed: {one_shot_words(str(exc))}") from None
        print(f"station {store.outbox.station_id} -> {sync.client.url}")
        for line in report.lines():
            print(line)
    finally:
        store.close()
    return 0
