"""``balance-station hub stations {add,list,revoke,confirm-restore,withdraw-restore}``: the stations allowed to sync to the hub.

    balance-station hub stations add NAME --database postgresql://...   # prints the token ONCE
    balance-station hub stations list --database ...
    balance-station hub stations revoke NAME --database ...
    balance-station hub stations confirm-restore NAME [--mark ID] --database ...
    balance-station hub stations withdraw-restore NAME [--mark ID] --database ...   # prints a new token ONCE

The token is printed once and only its hash is kept (:mod:`station.sync.hub`): put it in the
station's configuration (``[hub] token``, a file of mode 0600). A lost or leaked token cannot be
shown again: revoke the station and add it again under the same name; its new token goes on with
the station's records on the hub, from the same data directory (a new tablet or a fresh data
directory is a new station: add it under a new name). Revoking refuses the station's next push; what
it sent stays on the hub, except the frame parts of trials it never pushed (deleted: they cannot
come under that token any more). Adding, revoking and renewing are audited on the hub.

A station restored from its own backup tells the hub at its next sync; the hub holds that notice,
and refuses the station's sync, until an administrator confirms it here (``confirm-restore``:
audited, :mod:`station.sync.hub_restore`). ``list`` shows a notice waiting, with the restore's
id that the station's own refusal names. A notice from a station that was not restored means its
token leaked: revoke it (which drops the notice) and add it again.

A notice confirmed by mistake (the station was not restored: someone posted it with its stolen
token) is found by the station itself: the hub names the confirmed restore in its answers, and a
station that never sent it stops syncing and says so. ``withdraw-restore`` then puts back what the
confirmation made the hub forget (nothing comes twice, nothing is lost), revokes the station's
token and prints its new one (once), for the station's ``[hub] token``: audited
(:func:`station.sync.hub_restore.withdraw`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register_stations(hub_actions: argparse._SubParsersAction, add_database_argument) -> None:
    """Add ``stations`` to the ``hub`` command's sub-commands (:mod:`station.commands.hub`)."""
    parser = hub_actions.add_parser("stations", help="stations allowed to sync to this hub: add (token), list, revoke")
    actions = parser.add_subparsers(dest="stations_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="register a station (or a revoked one again) and print its token (once)")
    add.add_argument("name", metavar="NAME", help="the station's name, e.g. gym, ward-2")
    listing = actions.add_parser("list", help="every station: last sync, queue length, last error, token state")
    revoke = actions.add_parser("revoke", help="end a station's token")
    revoke.add_argument("name", metavar="NAME")
    confirm = actions.add_parser("confirm-restore", help="a station restored from its own backup: confirm its notice, "
                                 "so that the hub takes its changes again")
    confirm.add_argument("name", metavar="NAME")
    confirm.add_argument("--mark", metavar="ID", help="confirm only the notice of this restore id (its first "
                         "characters, as `hub stations list` and the station's refusal name it)")
    withdraw = actions.add_parser("withdraw-restore", help="a restore confirmed that the station never sent (its "
                                  "token stolen): put back what the hub forgot, and give the station a new token")
    withdraw.add_argument("name", metavar="NAME")
    withdraw.add_argument("--mark", metavar="ID", help="withdraw only if the confirmed restore is this one (its first "
                          "characters, as the station's words name it)")
    for sub, func in ((add, _add), (listing, _list), (revoke, _revoke), (confirm, _confirm_restore),
                      (withdraw, _withdraw_restore)):
        add_database_argument(sub)
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                         help="the hub's data directory (default: from the configuration)")
        sub.set_defaults(func=func)


def _hub(args):
    from station.cli import UserError
    from station.commands._common import load_config
    from station.commands.hub import open_hub_store
    from station.store.db import StoreError
    from station.sync.hub import Hub

    store = open_hub_store(args, load_config(args), service=False)
    try:
        return Hub(store)
    except StoreError as exc:
        store.close()
        raise UserError(str(exc)) from None


def _add(args) -> int:
    from station.cli import UserError
    from station.store.db import StoreError

    hub = _hub(args)
    try:
        renewed = any(s["name"] == args.name and s["revoked_at"] for s in hub.stations())
        token = hub.add_station(args.name)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    finally:
        hub.store.close()
    if renewed:
        print(f"station {args.name!r} registered again: its old token stays refused; with this new token the same "
              "data directory goes on with its records on the hub")
    print(f"station {args.name!r} added; its token (shown only now; put it in the station's [hub] token):")
    print(token)
    return 0


def _list(args) -> int:
    from station.sync.hub import GET_LOOKUPS_END, OLD_LOOKUP_WORDS
    from station.sync.refused import shown_error

    hub = _hub(args)
    try:
        stations = hub.stations()
    finally:
        hub.store.close()
    if not stations:
        print("no stations; add one with `balance-station hub stations add NAME`")
    for s in stations:
        state = f"revoked {s['revoked_at']}" if s["revoked_at"] else "active"
        queue = "?" if s["queue_length"] is None else s["queue_length"]
        print(f"{s['name']}\t{state}\tlast sync {s['last_sync_at'] or 'never'}\tqueue {queue}\t"
              f"changes {s['changes_applied']}\tlast error {shown_error(s['last_error']) or 'none'}")
        if s["old_lookup_at"]:
            print(f"  {OLD_LOOKUP_WORDS} (its last lookup of a patient by GET: {s['old_lookup_at']}; the hub is "
                  f"planned to stop answering them in the first release after {GET_LOOKUPS_END})")
        pending = s["restore_pending"]
        if pending:
            print(f"  restore notice waiting since {pending['received_at']}: restore {pending['id'][:8]}, the station's "
                  f"changes up to #{pending['seq']}; nothing of it syncs until confirmed. If {s['name']} was restored "
                  f"from its backup and its refusal names restore {pending['id'][:8]}: `balance-station hub stations "
                  f"confirm-restore {s['name']}`; if it was not, its token has leaked: `balance-station hub stations "
                  f"revoke {s['name']}`, then `balance-station hub stations add {s['name']}`")
    return 0


def _on_hub(args, action):
    """``action(hub)`` on the hub's store, closed after; a StoreError as the command's one line."""
    from station.cli import UserError
    from station.store.db import StoreError

    hub = _hub(args)
    try:
        return action(hub)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    finally:
        hub.store.close()


def _confirm_restore(args) -> int:
    done = _on_hub(args, lambda hub: hub.confirm_restore(args.name, mark=args.mark))
    forgotten = done["forgotten"]
    print(f"station {args.name!r}: restore {done['id'][:8]} confirmed (audited): the hub takes the station's changes "
          f"after #{done['last_seq']} at its next sync" + (
              f" ({forgotten} change{'s' if forgotten != 1 else ''} it had from the lost database after the backup: "
              "their records stay on the hub as they are)" if forgotten else ""))
    return 0


def _revoke(args) -> int:
    dropped = _on_hub(args, lambda hub: hub.revoke_station(args.name))
    print(f"station {args.name!r} revoked: its token is refused from now on"
          + (f"; {dropped} frame part(s) it uploaded for trials it never pushed were deleted" if dropped else ""))
    return 0


def _withdraw_restore(args) -> int:
    def withdraw(hub):
        done = hub.withdraw_restore(args.name, mark=args.mark)
        hub.revoke_station(args.name)  # the token that posted the notice
        return done, hub.add_station(args.name)

    done, token = _on_hub(args, withdraw)
    print(f"station {args.name!r}: the confirmation of restore {done['id'][:8]} was withdrawn (audited): the hub holds "
          f"the station's records as before it ({done['mappings']} of its ids mapped again; it takes its changes after "
          f"#{done['last_seq']})")
    if done["since"] or done["replaced"]:
        print(f"  since the confirmation the hub took {done['since']} change(s) under this token (they stay on the "
              "hub)" + (f"; {done['replaced']} of the station's ids had been given new records since, which are now on "
                        "the hub twice: find them in the hub's audit log by station:" + args.name
                        if done["replaced"] else ""))
    print("its old token is revoked; its new token (shown only now; put it in the station's [hub] token, or its "
          "token file, and restart the station):")
    print(token)
    return 0
