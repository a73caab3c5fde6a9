"""``balance-station sync --show-blocked`` and ``sync --skip CHANGE_ID``: a change the hub refuses
every time blocks the station's queue; the administrator sees which and why, and may skip it
(:mod:`station.store.outbox_admin`: kept for inspection, audited, later changes in order).
``sync --resolve CHANGE_ID`` marks a change kept unsent (which ``/healthz`` counts) dealt with,
and ``sync --resend CHANGE_ID`` sends again a trial kept for its corrupt frames once they read
whole (:mod:`station.sync.kept_unsent`, :func:`station.sync.corrupt_trials.resend`).

What is shown names the change, its kind, its time, the patient's identifier (what the clinician
needs to find the patient) and the names of the fields it carries, never their values.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HUB_NOT_ASKED = "the hub could not be asked ({reason}); the oldest queued change is taken as the blocked one"
RESTORED_WHAT_TO_DO = ("run `balance-station sync --restored-from BACKUP`, naming the backup file the database was "
                       "restored from (`balance-station backup --list`): the next sync tells the hub, which takes "
                       "the changes made here since once the hub's administrator confirms it (a restore made with "
                       "`balance-station restore` tells it by itself)")


def _open(args: argparse.Namespace):
    from station.cli import UserError
    from station.commands._common import load_config
    from station.store.db import StoreError
    from station.store.store import Store

    config = load_config(args)
    try:
        return config, Store.open(Path(config.data_dir), config=config)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _hub_last_seq(args, config) -> tuple[int | None, str | None]:
    """(the last change of this station the hub applied, None) or (None, why it is not known)."""
    from station.commands.sync import hub_client, hub_settings
    from station.sync.client import SyncError

    hub = hub_settings(args, config)
    if not hub.url:
        return None, "no hub configured"
    try:
        answer = hub_client(hub).request("GET", "/api/hub/tombstones", query={"after": 2**62})
    except SyncError as exc:
        return None, str(exc)
    last = answer.get("last_seq") if isinstance(answer, dict) else None
    if type(last) is not int or last < 0:
        return None, "its answer names no last change"
    return last, None


def _describe(change) -> str:
    who = (f"patient {change.identifier}" if change.identifier else
           "an erased patient" if change.op == "erase" or change.patient_id is not None else "no patient")
    what = f"{change.entity} {change.op} (the station's {change.entity} #{change.local_id}), {who}"
    if change.fields:
        what += f", fields {', '.join(change.fields)}"
    return f"change {change.change_id}: {what}; queued {change.at}"


def show_blocked(args: argparse.Namespace) -> int:
    from station.store import outbox_admin
    from station.sync import audit_push, kept_unsent, refused

    config, store = _open(args)
    try:
        hub_last, why = _hub_last_seq(args, config)
        queued = store.outbox.length()
        refusal = outbox_admin.last_refusal(store)
        change = outbox_admin.blocked_change(store, hub_last)
        state = store.outbox.state()
        print(f"station {store.outbox.station_id}: {queued} change{'s' if queued != 1 else ''} queued"
              + (f"; the hub has applied this station's changes up to #{hub_last}" if hub_last is not None else ""))
        if why:
            print(HUB_NOT_ASKED.format(reason=why))
        if refused.foreign_restore(state.get("last_error")):
            print("not pushed: the hub holds a restore of this station, confirmed by its administrator, that this "
                  "station never sent (its token may have been stolen); this station stopped syncing so that nothing "
                  "comes twice; what is recorded here stays queued")
            print(f"  the last sync: {state['last_error']}")
        elif refused.went_back(state.get("last_error")):
            print("not pushed: this station's database went back to an older backup without the hub being told; the "
                  "hub already applied other changes under the numbers it gives again, so nothing queued here "
                  "reaches the hub")
            print(f"  the last sync: {state['last_error']}")
            print(f"  {RESTORED_WHAT_TO_DO}")
        elif refused.restore_waiting(state.get("last_error")):
            print("not pushed: this station's database was restored from a backup and the hub holds its notice until "
                  "the hub's administrator confirms it; nothing is pushed or pulled meanwhile, what is recorded here "
                  "stays queued")
            print(f"  the last sync: {state['last_error']}")
        elif change is None:
            print("nothing is blocked: every queued change is on the hub" if queued else "nothing is blocked: the "
                  "queue is empty")
        elif refusal is None:
            error = state.get("last_error")
            print("nothing is blocked: the last sync " + (f"failed for another reason ({error})" if error else
                                                          "had no refused change") + f"; next to push: {_describe(change)}")
        else:
            print(f"blocked: {_describe(change)}")
            if change.later_of_patient:
                print(f"  {change.later_of_patient} later change{'s' if change.later_of_patient != 1 else ''} of the "
                      "same patient wait behind it (they may need it)")
            print(f"  the hub refused it: {refusal}")
            print(f"  fix it here or on the hub and run `balance-station sync --once`, or skip it: "
                  f"balance-station sync --skip {change.change_id}")
        audit_waiting = audit_push.health(store)
        if audit_waiting:
            print(f"the hub needs updating: {audit_waiting['what_to_do']}")
        skipped = outbox_admin.skipped_changes(store, limit=5)
        if skipped:
            marks = kept_unsent.dealt_with(store)
            print("skipped before (kept in the station's database):")
            for item in skipped:
                mark = marks.get(item.seq)
                print(f"  {item.change_id}: {item.entity} {item.op} #{item.local_id}, skipped {item.skipped_at} by "
                      f"{item.skipped_by}" + (f", {mark.words()}" if mark else "") + f": {item.reason}")
    finally:
        store.close()
    return 0


def restored_from(args: argparse.Namespace) -> int:
    """``--restored-from BACKUP``: this station's database was put back from ``BACKUP`` without
    ``balance-station restore`` (copied by hand, or by software before restore marks); mark it as
    ``restore`` does, with the backup's numbers, so that its next sync tells the hub
    (:mod:`station.sync.station_restore`) and the hub takes its changes again."""
    import sqlite3

    from station.cli import UserError
    from station.store import restore_marks
    from station.store.backup import inspect_database
    from station.store.db import StoreError

    _, store = _open(args)
    try:
        try:
            inspect_database(args.restored_from)
            backup = sqlite3.connect(f"file:{args.restored_from}?mode=ro", uri=True)
            try:
                with store.db.read() as conn:
                    marks = restore_marks.check_base(backup, conn, store.outbox.station_id)
            finally:
                backup.close()
        except (StoreError, sqlite3.Error, ValueError) as exc:
            raise UserError(f"{args.restored_from}: {exc}") from None
        with store.db.write() as conn:
            restored = restore_marks.mark(conn, store.outbox.now_iso(), marks)
        print(f"marked: this station's database was restored from {args.restored_from} (its changes up to "
              f"#{marks['seq']}); the next sync (`balance-station sync --once`, or the running station's own) tells the "
              f"hub, which holds the notice (restore {restored['id'][:8]}) until the hub's administrator confirms it "
              "(`balance-station hub stations confirm-restore NAME` on the hub), then takes the changes made here since")
    finally:
        store.close()
    return 0


def not_restored(args: argparse.Namespace) -> int:
    """``--not-restored``: drop the restore mark the next sync would send (the hub refused it: the
    database holds what it recorded after the mark's backup, so it was not restored from it)."""
    from station.store import restore_marks

    _, store = _open(args)
    try:
        with store.db.write() as conn:
            dropped = restore_marks.clear(conn)
    finally:
        store.close()
    print("the restore mark was dropped: the next sync goes on as before" if dropped else
          "nothing to drop: this database holds no restore mark that the hub has not taken")
    return 0


def skip(args: argparse.Namespace) -> int:
    from station.cli import UserError
    from station.store import outbox_admin
    from station.store.audit import Actor
    from station.store.db import StoreError

    config, store = _open(args)
    try:
        try:
            seq = outbox_admin.parse_change_id(store, args.skip)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        refusal = outbox_admin.last_refusal(store)
        if refusal is None:
            error = store.outbox.state().get("last_error")
            raise UserError("the hub has refused no change at the last sync" + (f" (it failed: {error})" if error else "")
                            + "; nothing to skip: run `balance-station sync --once` to see the hub's answer")
        hub_last, why = _hub_last_seq(args, config)
        if why:
            print(HUB_NOT_ASKED.format(reason=why), file=sys.stderr)
        change = outbox_admin.blocked_change(store, hub_last)
        if change is None or change.seq != seq:
            shown = "nothing is blocked" if change is None else f"the blocked change is {change.change_id}"
            raise UserError(f"change #{seq} is not the blocked one ({shown}); only that one can be skipped, so that "
                            "the later changes keep their order")
        print(f"skip {_describe(change)}")
        print(f"  the hub refused it: {refusal}")
        if change.later_of_patient:
            print(f"  {change.later_of_patient} later changes of the same patient stay queued")
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError("skipping takes the change out of the queue for good; add --yes to confirm without a "
                                "terminal")
            if input("The hub will never get this change. Type 'yes' to skip it: ").strip().lower() != "yes":
                print("nothing changed")
                return 1
        try:
            skipped = outbox_admin.skip_change(store, seq, actor=Actor.command_line(), reason=refusal,
                                               hub_last_seq=hub_last)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        print(f"skipped {skipped.change_id}: kept in the station's database (sync --show-blocked lists it); the later "
              f"changes go at the next sync ({store.outbox.length()} queued)")
    finally:
        store.close()
    return 0


def resolve(args: argparse.Namespace) -> int:
    """``--resolve CHANGE_ID`` (mark dealt with) or ``--resend CHANGE_ID`` (a trial whose frames read
    whole again: queued again), each audited; says what happened and what the health counts now."""
    from station.cli import UserError
    from station.store import outbox_admin
    from station.store.audit import Actor
    from station.store.db import StoreError
    from station.sync import corrupt_trials, kept_unsent, other_key_erasures, unmatched

    _, store = _open(args)
    try:
        try:
            seq = outbox_admin.parse_change_id(store, args.resend or args.resolve)
            if args.resend:
                trial_id, marked, put_back = corrupt_trials.resend(store, seq, actor=Actor.command_line(),
                                                                   backup=args.backup)
            else:
                marked = kept_unsent.resolve(store, seq, actor=Actor.command_line())
        except StoreError as exc:  # CorruptFrames too: its words name the chunk and what to do
            raise UserError(str(exc)) from None
        changes = ", ".join(f"{store.outbox.station_id}:{n}" for n in marked)
        if args.resend:
            put = "" if put_back is None else f"{put_back} frames put back from {args.backup.name}, "
            print(f"trial #{trial_id}: {put}its stored frames read whole again; queued to be sent at the next sync "
                  f"(with its latest results and judgement); its kept change(s) {changes} marked dealt with (sent "
                  "again)")
        else:
            print(f"marked dealt with (resolved): {changes}; kept in the station's database, `sync --show-blocked` "
                  "says when and by whom")
        left = [what for what in (unmatched.health(store), corrupt_trials.health(store), other_key_erasures.health(store))
                if what]
        print("/healthz counts no other change kept unsent" if not left else
              "/healthz still counts: " + "; ".join(what["what_to_do"] for what in left))
    finally:
        store.close()
    return 0
