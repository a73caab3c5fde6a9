"""``balance-station export {trial,patient}``: trials and patient histories as files.

``export trial ID`` writes ``trial-<ID>.csv`` (DESIGN.md §4) and its sidecar ``trial-<ID>.json``
into ``--out`` (default: the current directory); ``export patient IDENTIFIER`` writes the
patient's history CSV (one row per trial with its metrics) to ``--out`` (default
``<IDENTIFIER>-history.csv``) and, when the patient has training programmes,
``<IDENTIFIER>-programmes.json`` beside it. Existing files are kept unless ``--force``. Each export is
recorded in the audit log as ``cli:<your login name>``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from station.cli import UserError
from station.commands.users import add_data_dir_argument, data_dir_of
from station.store.audit import Actor
from station.store.db import StoreError
from station.store.trialfile import TrialFileError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a trial (CSV + JSON sidecar) or a patient's history (CSV)")
    add_data_dir_argument(parser)  # accepted before WHAT too: export --data-dir DIR patient ID
    kinds = parser.add_subparsers(dest="export_kind", metavar="WHAT", required=True)

    trial = kinds.add_parser("trial", help="a trial's frames as CSV with its JSON sidecar")
    trial.add_argument("trial_id", type=int, metavar="TRIAL_ID")
    trial.add_argument("--out", default=".", metavar="DIR", help="directory to write into (default: here)")
    trial.add_argument("--force", action="store_true", help="replace existing files")
    _data_dir_after(trial)
    trial.set_defaults(func=_trial)

    patient = kinds.add_parser("patient", help="a patient's history (one row per trial) as CSV")
    patient.add_argument("identifier", metavar="IDENTIFIER")
    patient.add_argument("--out", metavar="FILE", help="file to write (default: IDENTIFIER-history.csv)")
    patient.add_argument("--force", action="store_true", help="replace an existing file")
    _data_dir_after(patient)
    patient.set_defaults(func=_patient)


def _data_dir_after(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` after WHAT as well; absent there, it keeps the one given before WHAT."""
    parser.add_argument("--data-dir", type=Path, metavar="DIR", default=argparse.SUPPRESS,
                        help="the station's data directory (default: from the configuration, ./data)")


def _open(args: argparse.Namespace):
    from station.store.store import Store

    data_dir = data_dir_of(args)
    if not data_dir.is_dir():
        raise UserError(f"no data directory {data_dir}; give the station's one with --data-dir")
    try:
        return Store.open(data_dir)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _trial(args: argparse.Namespace) -> int:
    from station.store.export import export_trial

    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"{out} is not a directory; create it or give another --out")
    targets = [out / f"trial-{args.trial_id}.csv", out / f"trial-{args.trial_id}.json"]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not args.force:
        raise UserError(f"{', '.join(existing)} already exist(s); use --force to replace")
    with _open(args) as store:
        try:
            csv_path, json_path = export_trial(store, args.trial_id, out, actor=Actor.command_line())
        except (StoreError, TrialFileError) as exc:
            raise UserError(str(exc)) from None
    print(f"wrote {csv_path} and {json_path}")
    return 0


def _patient(args: argparse.Namespace) -> int:
    from station.store.export import export_patient_history

    path = Path(args.out) if args.out else Path(f"{args.identifier}-history.csv")
    if path.exists() and not args.force:
        raise UserError(f"{path} already exists; use --force to replace it")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} is not a directory; create it or give another --out")
    with _open(args) as store:
        try:
            patient = store.patients.get_by_identifier(args.identifier)
            export_patient_history(store, patient["id"], path, actor=Actor.command_line())
            if store.programmes.list_for_patient(patient["id"]):
                from station.store.atomic import atomic_write_text
                from station.store.export import patient_programmes_json

                programmes_path = path.with_name(f"{args.identifier}-programmes.json")
                if programmes_path.exists() and not args.force:
                    raise UserError(f"{programmes_path} already exists; use --force to replace it")
                atomic_write_text(programmes_path, patient_programmes_json(store, patient["id"], actor=Actor.command_line()))
                print(f"wrote {programmes_path}")
        except StoreError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    return 0
