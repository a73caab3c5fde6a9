"""``balance-station protocols {list,show,check}``: the clinical protocols the station knows.

Built-in protocols ship with the station; a clinic adds its own as ``<name>.toml`` files in its
protocols directory (``--protocols-dir``, by default ``<data_dir>/protocols``). ``check FILE``
validates a file before it is put there.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from station.commands._batch import write_stdout


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("protocols", help="list, show or check clinical protocols")
    kinds = parser.add_subparsers(dest="protocols_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--protocols-dir", type=Path, metavar="DIR",
                       help="the clinic's protocol files (default: <data-dir>/protocols)")
        p.add_argument("--data-dir", type=Path, help="the station's data directory")
        p.add_argument("--json", action="store_true", help="print JSON")

    lst = kinds.add_parser("list", help="list the protocols")
    common(lst)
    lst.set_defaults(func=list_protocols)

    show = kinds.add_parser("show", help="show one protocol: conditions, instructions, cut-offs, norms, sources")
    show.add_argument("name", metavar="NAME")
    common(show)
    show.set_defaults(func=show_protocol)

    check = kinds.add_parser("check", help="validate a protocol file")
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument("--json", action="store_true", help="print the validated protocol as JSON")
    check.set_defaults(func=check_protocol)


def protocols_dir(args) -> Path:
    """The clinic's protocol directory: ``--protocols-dir`` or ``<data_dir>/protocols``."""
    if getattr(args, "protocols_dir", None) is not None:
        return args.protocols_dir
    from station.commands._common import load_config

    return Path(load_config(args).data_dir) / "protocols"


def load_all(args) -> dict:
    from station.cli import UserError
    from station.protocols.loader import load_protocols
    from station.protocols.schema import ProtocolError

    try:
        return load_protocols(protocols_dir(args))
    except ProtocolError as exc:
        raise UserError(f"{exc} (fix the file or move it out of the protocols directory)") from None


def find(args, name: str):
    from station.cli import UserError

    protocols = load_all(args)
    if name not in protocols:
        raise UserError(f"no protocol named {name!r}; known: {', '.join(sorted(protocols))} "
                        "(see `balance-station protocols list`)")
    return protocols[name]


def list_protocols(args) -> int:
    protocols = load_all(args)
    if args.json:
        write_stdout(json.dumps([{"name": p.name, "title": p.title, "outcome": p.outcome,
                                  "conditions": [c.id for c in p.conditions], "source": p.source}
                                 for p in protocols.values()], indent=2) + "\n")
        return 0
    width = max(len(n) for n in protocols)
    lines = []
    for p in sorted(protocols.values(), key=lambda p: p.name):
        origin = "" if p.source.startswith("builtin:") else f"  [{p.source}]"
        conditions = ", ".join(c.id for c in p.conditions)
        lines.append(f"{p.name:<{width}}  {p.title} ({len(p.conditions)} condition{'s' if len(p.conditions) != 1 else ''}: "
                     f"{conditions}){origin}\n")
    write_stdout("".join(lines))
    return 0


def _wrap(text: str, indent: str = "  ") -> str:
    return "\n".join(textwrap.fill(par, width=96, initial_indent=indent, subsequent_indent=indent)
                     for par in text.split("\n\n"))


def describe(p) -> str:
    """A protocol in words, for the terminal."""
    out = [f"{p.title} ({p.name}, version {p.version})", _wrap(p.summary), ""]
    trials = f"{p.trials_per_condition} trial{'s' if p.trials_per_condition != 1 else ''} per condition"
    repeats = " or ".join({"invalid": "an invalid trial", "not_completed": "a stance not held for the full time"}[w]
                          for w in p.repeat_when)
    per_trial = f"{p.duration_s:g} s per trial"
    if p.walk is not None:
        per_trial = (f"{p.duration_s / 60:g} min planned (the clinician may enter another)" if p.walk.setting == "treadmill"
                     else f"at most {p.duration_s:g} s per trial")
    out.append(f"Outcome: {p.outcome}; {per_trial} after a {p.countdown_s:g} s countdown; {trials}"
               f" ({p.order.replace('_', ' ')}); rest {p.rest_s:g} s between trials.")
    if p.walk is not None:
        gates = f"; light gates at {', '.join(f'{g:g} m' for g in p.walk.gates_m)}" if p.walk.gates_m else ""
        out.append(f"Walk: {p.walk.describe()}{gates}.")
    out.append(f"Repeats: {repeats} is offered again, up to {p.max_attempts} attempts in all"
               + (f"; the score is the {p.score} of the valid attempts." if p.outcome == "time_held" else "."))
    out += ["", "Conditions:"]
    for c in p.conditions:
        duration = "" if c.duration_s == p.duration_s else f", {c.duration_s:g} s"
        out.append(f"  {c.id}: {c.label} ({c.describe(p.walk)}{duration})")
        if c.instructions:
            out.append(_wrap(c.instructions, "      "))
    out += ["", "Instructions to the patient:", _wrap(p.instructions)]
    if p.operator_notes:
        out += ["", "For the clinician:", _wrap(p.operator_notes)]
    if p.romberg:
        out += ["", f"Romberg quotients: {p.romberg[1]} / {p.romberg[0]} (ellipse area, mean velocity)."]
    if p.outcome == "weight_bearing":
        limit = f"flagged above {p.asymmetry_flag_pct:g} percentage points" if p.asymmetry_flag_pct else "no flag limit set"
        out += ["", f"Weight bearing: % of body weight left and right; asymmetry {limit}."]
    if p.cutoffs:
        out += ["", "Cut-offs:"]
        for cut in p.cutoffs:  # the flagged bound with its meaning; a band's good end after it with its own
            sides = (cut.flag_side,) + ((cut.good_side,) if cut.good_side else ())
            meanings = {cut.flag_side: cut.meaning, cut.good_side: cut.good_meaning}
            where = f" ({cut.condition})" if cut.condition else ""
            rules = " ".join(f"{cut.metric}{where} {side} {getattr(cut, side):g}: {meanings[side]}" for side in sides)
            out.append(_wrap(f"{rules} [{cut.reference}]"))
    else:
        out += ["", "Cut-offs: none carried (see the notes)."]
    if p.norms:
        out += ["", "Reference values:"]
        for norm in p.norms:
            where = f" ({norm.condition})" if norm.condition else ""
            length = f"; {norm.trial_duration_s:g} s trials" if norm.trial_duration_s else ""
            out.append(_wrap(f"{norm.metric}{where}: {norm.statistic}{length} [{norm.reference}]"))
            for row in norm.rows:
                values = ", ".join(f"{k} {getattr(row, k):g}" for k in ("mean", "sd", "p05", "p50", "p95")
                                   if getattr(row, k) is not None)
                out.append(f"      {row.age_min_y}-{row.age_max_y} y: {values}")
            if norm.not_verified:  # what of them was not checked in the source, as the results say beside them
                out.append(_wrap(norm.not_verified, indent="      "))
    if p.notes:
        out += ["", "Notes:", _wrap(p.notes)]
    if p.references:
        out += ["", "Sources:"]
        for r in p.references:
            link = f" doi:{r.doi}" if r.doi else (f" {r.url}" if r.url else "")
            out.append(_wrap(f"[{r.id}] {r.citation}{link}"))
    out += ["", f"File: {p.source}"]
    return "\n".join(out)


def show_protocol(args) -> int:
    protocol = find(args, args.name)
    write_stdout(json.dumps(protocol.to_dict(), indent=2) + "\n" if args.json else describe(protocol) + "\n")
    return 0


def check_protocol(args) -> int:
    from station.cli import UserError
    from station.protocols.loader import builtin_protocols, load_protocol_file
    from station.protocols.schema import ProtocolError

    try:
        protocol = load_protocol_file(args.file)
    except ProtocolError as exc:
        raise UserError(str(exc)) from None
    if protocol.name in builtin_protocols():
        raise UserError(f"{args.file}: protocol.name: {protocol.name!r} is a built-in protocol's name; "
                        "allowed: a name no other protocol uses")
    write_stdout(json.dumps(protocol.to_dict(), indent=2) + "\n" if args.json else
                 f"{args.file}: valid protocol {protocol.name!r} ({protocol.title}), {len(protocol.conditions)} condition{'s' if len(protocol.conditions) != 1 else ''}\n")
    return 0
