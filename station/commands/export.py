"""``balance-station export {trial,patient}``: trials and patient histories as files.

``export trial ID`` writes ``trial-<ID>.csv`` (DESIGN.md §4) and its sidecar ``trial-<ID>.json``
into ``--out`` (default: the current directory); ``export patient IDENTIFIER`` writes the
patient's history CSV (one row per trial with its metrics) to ``--out`` (default
``<IDENTIFIER>-history.csv``) and, when the patient has training programmes,
``<IDENTIFIER>-programmes.json`` beside it. Existing files are kept unless ``--force``. Each export is
recorded in the audit log as ``cli:<your login name>``.

``--fhir`` (``trial``, ``session``, ``patient``): a FHIR R4B ``Bundle`` of ``Observation`` resources
(:mod:`station.reports.fhir_bundle`, codes in ``docs/fhir.md``) written to ``--out FILE.json``
(default ``trial-<ID>.fhir.json``, ``<IDENTIFIER>-session-<ID>.fhir.json``,
``<IDENTIFIER>-history.fhir.json``); ``export session ID`` exists only as FHIR (the session's visit).
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
    trial.add_argument("--out", default=None, metavar="DIR",
                       help="directory to write into (default: here); with --fhir, the file FILE.json")
    trial.add_argument("--force", action="store_true", help="replace existing files")
    _fhir_flag(trial)
    _data_dir_after(trial)
    trial.set_defaults(func=_trial)

    session = kinds.add_parser("session", help="a session's visit as FHIR Observations (needs --fhir)")
    session.add_argument("session_id", type=int, metavar="SESSION_ID")
    session.add_argument("--out", metavar="FILE.json", help="file to write (default: IDENTIFIER-session-ID.fhir.json)")
    session.add_argument("--force", action="store_true", help="replace an existing file")
    _fhir_flag(session)
    _data_dir_after(session)
    session.set_defaults(func=_session)

    patient = kinds.add_parser("patient", help="a patient's history (one row per trial) as CSV")
    patient.add_argument("identifier", metavar="IDENTIFIER")
    patient.add_argument("--out", metavar="FILE", help="file to write (default: IDENTIFIER-history.csv)")
    patient.add_argument("--force", action="store_true", help="replace an existing file")
    _fhir_flag(patient)
    patient.add_argument("--part", type=int, metavar="N", default=None,
                         help="with --fhir: part N of a history too long for one bundle (the refusal says how many)")
    _data_dir_after(patient)
    patient.set_defaults(func=_patient)


def _fhir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fhir", action="store_true",
                        help="a FHIR R4B Bundle of Observations (JSON) instead of CSV (see docs/fhir.md)")
    parser.add_argument("--protocols-dir", type=Path, metavar="DIR", default=None,
                        help="the clinic's protocol files, for norms and cut-offs (default: <data-dir>/protocols)")


def _write_fhir(args: argparse.Namespace, kind: str, default_name) -> int:
    """Build the FHIR bundle of ``kind`` and write it to ``--out`` (or the default name)."""
    from station.commands.protocols import load_all
    from station.reports.fhir_bundle import NothingToExport, bundle_summary, patient_bundle, session_bundle, trial_bundle
    from station.store.atomic import atomic_write_text

    protocols = load_all(args)
    with _open(args) as store:
        try:
            if kind == "trial":
                object_id = args.trial_id
                patient_id = store.trials.get(object_id)["patient_id"]
            elif kind == "session":
                object_id = args.session_id
                patient_id = store.sessions.get(object_id)["patient_id"]
            else:
                patient_id = object_id = store.patients.get_by_identifier(args.identifier)["id"]
            path = Path(args.out) if args.out else Path(default_name(store.patients.get(patient_id)["identifier"], object_id))
            if path.is_dir():
                raise UserError(f"{path} is a directory; with --fhir, --out names the JSON file to write")
            if path.exists() and not args.force:
                raise UserError(f"{path} already exists; use --force to replace it")
            if not path.parent.is_dir():
                raise UserError(f"{path.parent} is not a directory; create it or give another --out")
            build = {"trial": trial_bundle, "session": session_bundle, "patient": patient_bundle}[kind]
            part = {"part": args.part} if kind == "patient" else {}
            text = build(store, object_id, protocols, actor=Actor.command_line(), **part)
            atomic_write_text(path, text)
        except NothingToExport as exc:
            raise UserError(str(exc)) from None
        except StoreError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {args.out or 'the bundle'}: {exc.strerror or exc}") from None
    counts = ", ".join(f"{n} {k}" for k, n in bundle_summary(text).items()) or "no resources"
    print(f"wrote {path} (FHIR R4B Bundle: {counts})")
    return 0


def _session(args: argparse.Namespace) -> int:
    if not args.fhir:
        raise UserError("a session is exported only as FHIR: add --fhir (trials export as CSV: export trial ID)")
    return _write_fhir(args, "session", lambda identifier, sid: f"{identifier}-session-{sid}.fhir.json")


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
    from station.store.trials import CorruptFrames

    if args.fhir:
        return _write_fhir(args, "trial", lambda _identifier, tid: f"trial-{tid}.fhir.json")
    out = Path(args.out or ".")
    if not out.is_dir():
        raise UserError(f"{out} is not a directory; create it or give another --out")
    targets = [out / f"trial-{args.trial_id}.csv", out / f"trial-{args.trial_id}.json"]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not args.force:
        raise UserError(f"{', '.join(existing)} already exist(s); use --force to replace")
    with _open(args) as store:
        try:
            csv_path, json_path = export_trial(store, args.trial_id, out, actor=Actor.command_line())
        except CorruptFrames as exc:  # nothing written; its results still export, without frames
            raise UserError(f"{exc}. Nothing was written; its results: balance-station export trial {args.trial_id} "
                            "--fhir") from None
        except (StoreError, TrialFileError) as exc:
            raise UserError(str(exc)) from None
    print(f"wrote {csv_path} and {json_path}")
    return 0


def _patient(args: argparse.Namespace) -> int:
    from station.store.export import export_patient_history

    if args.fhir:
        suffix = "" if args.part is None else f"-part{args.part}"
        return _write_fhir(args, "patient", lambda identifier, _pid: f"{identifier}-history{suffix}.fhir.json")
    if args.part is not None:
        raise UserError("--part is for --fhir bundles; the CSV history is one file")
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
                try:
                    atomic_write_text(programmes_path,
                                      patient_programmes_json(store, patient["id"], actor=Actor.command_line()))
                except OSError as exc:  # the history is written: say which file is not
                    raise UserError(f"wrote {path}, but cannot write {programmes_path}: {exc.strerror or exc}; free "
                                    "space there (or give another --out) and export again with --force") from None
                print(f"wrote {programmes_path}")
        except StoreError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    return 0
