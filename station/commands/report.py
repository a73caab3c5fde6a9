"""``balance-station report {session,patient,programme}``: a PDF report of a visit, a patient's
history or a training programme (DESIGN.md §10; :mod:`station.reports`).

``report session ID`` (the visit the session belongs to, as the results page shows it),
``report patient IDENTIFIER`` (key measures over time with their MDC, programme adherence),
``report programme ID`` (an assigned programme: baseline to end per outcome, adherence, dose).
``--out FILE.pdf`` (default ``<IDENTIFIER>-session-<ID>.pdf``, ``<IDENTIFIER>-history.pdf``,
``<IDENTIFIER>-programme-<ID>.pdf``), ``--paper a4|letter`` (default ``[clinic] paper``). The
clinic's name and logo come from the configuration (``[clinic]``) and the clinic-name setting.
Existing files are kept unless ``--force``. Each report is recorded in the audit log as
``cli:<your login name>``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from station.cli import UserError
from station.commands.export import _data_dir_after, _open
from station.commands.users import add_data_dir_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="a PDF report of a visit, a patient's history or a programme")
    add_data_dir_argument(parser)
    kinds = parser.add_subparsers(dest="report_kind", metavar="WHAT", required=True)
    for kind, arg, what in (("session", "ID", "a session's visit: every test, its measures against norms, plots"),
                            ("patient", "IDENTIFIER", "a patient's history: key measures over time, adherence"),
                            ("programme", "ID", "a training programme (assignment id): outcomes, adherence, dose")):
        sub = kinds.add_parser(kind, help=what)
        sub.add_argument("target", metavar=arg)
        sub.add_argument("--out", metavar="FILE.pdf", help="file to write (default: named after the patient)")
        sub.add_argument("--paper", choices=("a4", "letter"), default=None,
                         help="paper size (default: [clinic] paper of the configuration, a4)")
        sub.add_argument("--force", action="store_true", help="replace an existing file")
        sub.add_argument("--protocols-dir", type=Path, metavar="DIR", default=None,
                         help="the clinic's protocol files (default: <data-dir>/protocols)")
        _data_dir_after(sub)
        sub.set_defaults(func=_report)


def write_bytes_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` (temporary file in the same directory, then rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _object_id(kind: str, target: str, store) -> int:
    if kind == "patient":
        return store.patients.get_by_identifier(target)["id"]
    try:
        value = int(target)
    except ValueError:
        raise UserError(f"{kind} id must be a number, not {target!r}") from None
    if value < 1 or value > 2 ** 63 - 1:
        raise UserError(f"no {kind} {target}")
    return value


def _report(args: argparse.Namespace) -> int:
    from station.commands._common import load_config
    from station.commands.protocols import load_all
    from station.reports.build import make_report, report_filename, report_patient_id
    from station.reports.context import clinic_of
    from station.store.audit import Actor
    from station.store.db import StoreError

    config = load_config(args)
    protocols = load_all(args)
    kind = args.report_kind
    with _open(args) as store:
        try:
            object_id = _object_id(kind, args.target, store)
            patient = store.patients.get(report_patient_id(store, kind, object_id))
            path = Path(args.out) if args.out else Path(report_filename(kind, patient["identifier"], object_id))
            if path.exists() and not args.force:
                raise UserError(f"{path} already exists; use --force to replace it")
            if not path.parent.is_dir():
                raise UserError(f"{path.parent} is not a directory; create it or give another --out")
            pdf = make_report(kind, store, object_id, protocols=protocols, clinic=clinic_of(store, config),
                              actor=Actor.command_line(), paper=args.paper or config.clinic.paper)
            write_bytes_atomically(path, pdf)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {args.out or 'the report'}: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    return 0
