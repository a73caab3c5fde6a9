"""``balance-station programmes {list,show,check}``: the training programme templates.

Built-in templates ship with the station; a clinic adds its own as ``<name>.toml`` files in
``<protocols directory>/programmes/`` (``--protocols-dir``, by default ``<data_dir>/protocols``).
Templates are checked against the protocols the station knows. ``check FILE`` validates a file
before it is put there; a mistake is one line naming the file, the field and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from station.commands._batch import write_stdout


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("programmes", help="list, show or check training programme templates")
    kinds = parser.add_subparsers(dest="programmes_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--protocols-dir", type=Path, metavar="DIR",
                       help="the clinic's protocol files; its programmes/ folder holds its templates "
                            "(default: <data-dir>/protocols)")
        p.add_argument("--data-dir", type=Path, help="the station's data directory")
        p.add_argument("--json", action="store_true", help="print JSON")

    lst = kinds.add_parser("list", help="list the programme templates")
    common(lst)
    lst.set_defaults(func=list_programmes)

    show = kinds.add_parser("show", help="show one template: schedule, assessments, outcomes, sources")
    show.add_argument("name", metavar="NAME")
    common(show)
    show.set_defaults(func=show_programme)

    check = kinds.add_parser("check", help="validate a programme template file")
    check.add_argument("file", type=Path, metavar="FILE")
    common(check)
    check.set_defaults(func=check_programme)


def _protocols(args) -> dict:
    from station.commands.protocols import load_all

    return load_all(args)


def load_all_programmes(args) -> dict:
    from station.cli import UserError
    from station.commands.protocols import protocols_dir
    from station.programmes.loader import load_programmes
    from station.programmes.template import ProgrammeError

    protocols = _protocols(args)
    try:
        return load_programmes(protocols, protocols_dir(args))
    except ProgrammeError as exc:
        raise UserError(f"{exc} (fix the file or move it out of the programmes folder)") from None


def list_programmes(args) -> int:
    templates = load_all_programmes(args)
    if args.json:
        write_stdout(json.dumps([{"name": t.name, "title": t.title, "activity": t.activity, "weeks": t.schedule.weeks,
                                  "sessions_per_week": t.schedule.sessions_per_week, "source": t.source}
                                 for t in templates.values()], indent=2) + "\n")
        return 0
    width = max(len(n) for n in templates)
    lines = []
    for t in sorted(templates.values(), key=lambda t: t.name):
        s = t.schedule
        origin = "" if t.source.startswith("builtin:") else f"  [{t.source}]"
        lines.append(f"{t.name:<{width}}  {t.title}: {t.activity_label}, {s.sessions_per_week}x/week for {s.weeks} weeks, "
                     f"{s.minutes_per_session:g} min{origin}\n")
    write_stdout("".join(lines))
    return 0


def _wrap(text: str, indent: str = "  ") -> str:
    return "\n".join(textwrap.fill(par, width=96, initial_indent=indent, subsequent_indent=indent)
                     for par in text.split("\n\n"))


def describe(t) -> str:
    """A template in words, for the terminal."""
    s = t.schedule
    out = [f"{t.title} ({t.name}, version {t.version})", _wrap(t.summary), "",
           f"Activity: {t.activity_label}. For: {t.population.replace('_', ' ')}.",
           f"Schedule: {s.sessions_per_week} sessions a week for {s.weeks} weeks, {s.minutes_per_session:g} minutes each"
           + (f"; dose measured by protocol {s.session_protocol}" if s.session_protocol else "") + "."]
    for p in s.progression:
        parts = [f"belt {p.belt_speed_m_s:g} m/s" if p.belt_speed_m_s is not None else "",
                 f"incline {p.incline_pct:g} %" if p.incline_pct is not None else "",
                 f"{p.minutes_per_session:g} min" if p.minutes_per_session is not None else "", p.note]
        out.append(_wrap(f"From week {p.from_week}: " + "; ".join(x for x in parts if x)))
    from station.reports.programme_report import visit_name  # the programme PDF's rule: the week said once
    out += ["", "Assessments:"]
    for a in t.assessments:
        out.append(f"  {a.id}: {visit_name(a.label, a.week)}: {', '.join(a.protocols)}")
    out += ["", "Outcomes:"]
    for o in t.outcomes:
        out.append(f"  [{o.group}] {o.label}: {o.protocol}/{o.condition}/{o.metric} ({o.better} is better)")
    if t.notes:
        out += ["", "Notes:", _wrap(t.notes)]
    if t.references:
        out += ["", "Sources:"]
        for r in t.references:
            link = f" doi:{r.doi}" if r.doi else (f" {r.url}" if r.url else "")
            out.append(_wrap(f"[{r.id}] {r.citation}{link}"))
    out += ["", f"File: {t.source}"]
    return "\n".join(out)


def show_programme(args) -> int:
    from station.cli import UserError

    templates = load_all_programmes(args)
    if args.name not in templates:
        raise UserError(f"no programme named {args.name!r}; known: {', '.join(sorted(templates))} "
                        "(see `balance-station programmes list`)")
    template = templates[args.name]
    write_stdout(json.dumps(template.to_dict(), indent=2) + "\n" if args.json else describe(template) + "\n")
    return 0


def check_programme(args) -> int:
    from station.cli import UserError
    from station.programmes.loader import builtin_programmes, load_programme_file
    from station.programmes.template import ProgrammeError

    protocols = _protocols(args)
    try:
        template = load_programme_file(args.file, protocols)
    except ProgrammeError as exc:
        raise UserError(str(exc)) from None
    if template.name in builtin_programmes(protocols):
        raise UserError(f"{args.file}: programme.name: {template.name!r} is a built-in programme's name; "
                        "allowed: a name no other programme uses")
    s = template.schedule
    write_stdout(json.dumps(template.to_dict(), indent=2) + "\n" if args.json else
                 f"{args.file}: valid programme {template.name!r} ({template.title}): {s.sessions_per_week}x/week for "
                 f"{s.weeks} weeks, {len(template.assessments)} assessments, {len(template.outcomes)} outcomes\n")
    return 0
