"""``balance-station trial``: run a whole clinical protocol from the command line.

With ``--simulate`` the protocol runs on the simulated station (register-level plate, real
drivers, acquisition loop) under the simulated clock, with a virtual patient who follows the
instructions (steps on, closes the eyes at the countdown, lifts a foot for single-leg stance);
``--lapse`` makes the patient step off, stumble or put the foot down in a chosen trial. A whole
protocol takes seconds and is identical for the same seed. The simulated plate uses the calibration
kept in the data directory (``--data-dir``) for its seed, as ``run --simulate`` does, else its
factory calibration.

Progress goes to the terminal (stderr); the results summary to stdout (``--json`` for JSON).
Walk tests run the same way: the virtual patient walks (``--gait``: a pattern of
:data:`station.sim.walker.PATTERNS`) past simulated light gates placed where the protocol needs
them, with the lower-back IMU on the simulated bus; ``--belt-speed-m-s`` and ``--planned-min`` are
what a clinician enters for a treadmill session.

The limits-of-stability test runs the same way: the virtual patient leans toward each target on
the go beep, as far as their own limits allow, and comes back; ``--height-cm`` is the patient's
height for the targets (and the virtual patient's), the targets' random order is drawn from
``--seed``; ``results.json`` holds the 45 ``los_*`` keys under ``limits_of_stability.metrics``.

Training games (``--protocol biofeedback-training``) run the same way: ``--game`` (``reach``,
``track``, ``shift``, ``steady``), ``--level``, ``--session-s``, ``--paretic-side`` (weight shift),
``--range-cm`` (else the targets come from ``--height-cm``); the virtual patient plays (leans
toward each target within its own limits) and ``results.json`` holds the game under ``training``.

``--fault KIND:AFTER_S[:FOR_S]`` makes the simulated station fail in the first trial recorded
(:mod:`station.sim.faults`): ``stall`` (the acquisition stops for FOR_S seconds, as when its loop is
blocked or the Pi is late) or ``imu-unplugged`` (the lower-back sensor's cable comes out, back after
FOR_S if given). ``balance-station run --simulate --fault`` takes the same, in the daemon.

``--out DIR`` stores every trial (valid or not) as a trial CSV + JSON sidecar (walk tests: its
``result.walk`` and ``metrics.metrics`` hold ``walk_time_s``, ``walk_speed_m_s`` and the gait keys;
a trial with the IMU: ``mounting_up``, ``mounting_toes`` and, for walks, ``sensor_height_m``, so that
``balance-station gait`` on the file gives the station's gait) and the summary as ``results.json``;
``--patient ID`` stores the trials in the clinic database (``--data-dir``) in a new session of that
patient (a game also as a training session, counted in the patient's programme).

Ctrl-C keeps the trial that was recording as far as it went: its CSV holds the frames written, its
sidecar says ``status: "partial"`` with the reason (a whole trial's says ``complete``; ``analyze``
says such a file is incomplete), a ``--patient`` trial is ended as aborted; the line says what is
kept where, exit status 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from station.store.atomic import atomic_write_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trial", help="run a whole protocol (on the simulated station with --simulate)")
    parser.add_argument("--protocol", required=True, metavar="NAME", help="protocol name (see `protocols list`)")
    parser.add_argument("--simulate", action="store_true", help="simulated station and virtual patient")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation: plate and patient (default 0)")
    parser.add_argument("--timing", choices=("ideal", "pi-under-load"), default="ideal",
                        help="wake-ups of the simulated station exactly on time, or late like a Pi 4 under load")
    parser.add_argument("--out", type=Path, metavar="DIR", help="store trial CSVs, sidecars and results.json here")
    parser.add_argument("--patient", type=int, metavar="ID", help="store the trials in the database, new session of this patient")
    parser.add_argument("--age", type=float, metavar="YEARS",
                        help="patient's age: reference values for the age band (default: from the --patient record's birth year)")
    parser.add_argument("--mass-kg", type=float, default=70.0, help="virtual patient's mass (default 70 kg)")
    parser.add_argument("--height-cm", type=float, default=None,
                        help="virtual patient's height (default: the --patient record's, else 170 cm)")
    parser.add_argument("--lapse", action="append", default=[], metavar="COND:ACTION:AFTER_S[:ATTEMPT[:TRIAL]]",
                        help="virtual patient does ACTION (step_off, stumble, touch_down; walks: stumble, pause, "
                             "stop_walking, false_start) AFTER_S into that trial; repeatable")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND:AFTER_S[:FOR_S]",
                        help="the simulated station fails AFTER_S into the first trial recorded: stall (the acquisition "
                             "stops for FOR_S, as when its loop is blocked or the Pi is late) or imu-unplugged (the "
                             "lower-back sensor's cable out, back after FOR_S if given); repeatable")
    parser.add_argument("--gait", default="healthy", metavar="PATTERN",
                        help="walk tests: the virtual patient's gait (healthy, older, hemiparetic, ...; default healthy)")
    parser.add_argument("--belt-speed-m-s", type=float, metavar="M_S", help="treadmill sessions: the belt speed")
    parser.add_argument("--planned-min", type=float, metavar="MIN", help="treadmill sessions: the planned minutes")
    parser.add_argument("--sensor-height-m", type=float, metavar="M",
                        help="walk tests: the IMU's height above the floor (default: the virtual patient's)")
    parser.add_argument("--game", choices=("reach", "track", "shift", "steady"),
                        help="training games (biofeedback-training): the game to play")
    parser.add_argument("--level", type=int, default=1, help="training games: difficulty 1-5 (default 1)")
    parser.add_argument("--session-s", type=float, metavar="S", help="training games: the session's length, s")
    parser.add_argument("--paretic-side", choices=("left", "right"), help="weight-shift game: the side the weight goes to")
    parser.add_argument("--range-cm", type=float, metavar="CM", help="training games: a clinician's range for the targets, cm")
    parser.add_argument("--protocols-dir", type=Path, metavar="DIR", help="the clinic's protocol files (default: <data-dir>/protocols)")
    parser.add_argument("--data-dir", type=Path, help="the station's data directory")
    parser.add_argument("--json", action="store_true", help="print the results summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on the terminal")
    parser.set_defaults(func=run_trial)


class Progress:
    """Prints the runner's events as short lines (station-clock time first)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream
        self.t0_ns: int | None = None

    def __call__(self, event) -> None:
        if self.t0_ns is None:
            self.t0_ns = event.t_ns
        d = event.data
        tag = f"[{d['condition']} t{d['trial']} a{d['attempt']}]" if "condition" in d and "trial" in d else ""
        line, extra = None, []
        if event.kind == "protocol_started":
            line = f"{d['title']} ({d['protocol']}): {len(d['trials'])} planned trial{'s' if len(d['trials']) != 1 else ''}"
        elif event.kind == "trial_ready":
            line = f"{tag} {d['label']}" + (f" - repeat: {d['reason']}" if d.get("reason") else "")
        elif event.kind == "state" and d["state"] in ("waiting", "recording", "aborted"):
            if d["state"] == "waiting":  # a walk says what it waits for (beams, the IMU); a recording state has no message
                line = f"{tag} {d.get('message') or 'waiting'}" if d.get("walk") else f"{tag} waiting for the patient to stand still"
            elif d["state"] == "recording" and d.get("walk"):  # a walk ends at its gate or the planned minutes
                limit = "planned" if (d["walk"] or {}).get("setting") == "treadmill" else "time limit"
                line = f"{tag} recording ({limit} {d.get('duration_s', 0):g} s)"
            elif d["state"] == "recording":
                line = f"{tag} recording {d.get('duration_s', 0):g} s"
            else:
                line = f"{tag} not started: {d.get('message', '')}"
        elif event.kind == "state" and d["state"] == "countdown":
            line = f"{tag} body weight {d['body_weight_n']:.0f} N; countdown" if d.get("body_weight_n") else f"{tag} countdown"
        elif event.kind == "go":
            line = f"{tag} GO: lean {d['direction_words']} (target {d['distance_cm']:.1f} cm away)"
        elif event.kind == "liftoff":
            line = f"{tag} foot lifted at {d['at_s']:.2f} s"
        elif event.kind == "hold_ended":
            line = f"{tag} balance lost at {d['at_s']:.2f} s"
        elif event.kind == "trial_finished":
            r = d["result"]
            said = set()  # the warnings the line below already carries
            if _unable(r):  # a result, not a failed recording: in the results page's words
                from station.protocols.report import unable_words

                line = f"{tag} " + unable_words(_unable(r) == "scored", " ".join(i["message"] for i in r["issues"]))
            elif not r["valid"]:
                line = f"{tag} INVALID: " + " ".join(i["message"] for i in r["issues"])
            elif r.get("walk") is not None:
                w = r["walk"]
                if w["setting"] == "treadmill":
                    from station.protocols.walk_words import walked_words  # "26 s", as the pages say a time walked

                    line = f"{tag} {walked_words(w['walking_min'])} walking, {w['pauses']} pause(s)"
                    if (w.get("imu_gaps") or {}).get("not_measured_s"):  # dropouts and stalls: "1.5 s not measured (...)"
                        line += "; " + w["imu_gaps"]["words"].split(": ", 1)[0]
                        said.add(w["imu_gaps"]["words"])
                    if w.get("ended_early"):
                        line += "; ended early: " + w["ended_early"]
                        said.add(w["ended_early"])
                else:
                    line = f"{tag} {w['walk_time_s']:.3f} s over {w['walk_distance_m']:g} m: {w['walk_speed_m_s']:.3f} m/s"
                    if w.get("imu") is None and (w.get("imu_gaps") or {}).get("not_measured_s"):  # gait from the parts
                        line += "; gait: " + w["imu_gaps"]["words"].split(": ", 1)[0]
                        said.add(w["imu_gaps"]["words"])
                    if w.get("ended_early"):  # the station's data lost after the gates timed the walk
                        line += "; ended early: " + w["ended_early"]
                        said.add(w["ended_early"])
                if w.get("imu_estimate_withheld"):  # the step length and speed the walk's own speed shows wrong
                    off = w["imu_estimate_withheld"]["off_pct"]
                    known = "belt speed" if w["setting"] == "treadmill" else "gates' speed"
                    line += (f"; step length and speed not given (the lower-back sensor's estimate {off:+.0f} % off "
                             f"the {known})")
                    said.add(w["imu_estimate_withheld"]["words"])
            elif (r.get("metrics") or {}).get("los"):
                m, los = r["metrics"]["metrics"], r["metrics"]["los"]
                d = los["direction"]
                line = (f"{tag} lean {d}: reaction {_num(m.get(f'los_reaction_time_s_{d}'), 's')}, "
                        f"max excursion {_num(m.get(f'los_max_excursion_pct_{d}'), '%', 0)}, "
                        f"directional control {_num(m.get(f'los_directional_control_pct_{d}'), '%', 0)}")
            elif r["time_held_s"] is not None:
                line = f"{tag} held {r['time_held_s']:.2f} s of {r['duration_s']:g} s" + (
                    "" if r["completed"] else f" ({r['hold_end']['message'] if r['hold_end'] else 'not completed'})")
            else:
                line = f"{tag} valid, {r['samples']} frames"
            # every other warning of the trial on its own line (an uncalibrated plate, a gate timed by the
            # station's clock, frames lost, ...): the dashboard shows them on the trial's page
            extra = [f"{tag} warning: {text}" for text in r.get("warnings") or [] if text not in said]
        elif event.kind == "gate_crossed":
            line = f"{tag} gate at {d['position_m']:g} m at {d['at_s']:.3f} s ({d['breaks']} beam break(s))"
        elif event.kind == "false_start":
            line = f"{tag} false start: {d['message']}"
        elif event.kind == "rest":
            line = f"rest {d['rest_s']:g} s"
        elif event.kind == "fault":
            line = f"FAULT: {d['message']}"
        elif event.kind == "notice":
            line = f"{tag} {d['message']}"
        elif event.kind == "protocol_finished":
            line = "protocol finished" + (f" early: {d['summary']['stopped_reason']}" if d["summary"].get("stopped_reason") else "")
        for text in [line, *extra] if line else []:
            print(f"{(event.t_ns - self.t0_ns) / 1e9:8.2f} s  {text}", file=self.stream or sys.stderr, flush=True)


def _unable(result: dict) -> str | None:
    """How a trial's result (``TrialResult.to_dict``) counts as unable, a result of 0 s, not an invalid
    trial: ``"measured"``, ``"scored"`` or None, by the store's verdict (:func:`station.store.verdict.unable_kind`,
    what the results page reads)."""
    from station.store.verdict import unable_kind

    return unable_kind({"valid": result.get("valid"), "validity_reason": "",
                        "metrics": {"trial": {"issues": result.get("issues") or []}}})


def _num(value, unit: str, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f} {unit}"


def _los_lines(los: dict) -> list[str]:
    """The limits-of-stability result for the terminal: composite and per direction."""
    m = los["metrics"]
    out = [f"  Limits of stability (height {los.get('height_cm') or '?'} cm, {los['limits_source']} limits); "
           "composite = mean of the valid directions"]
    for measure in los["measures"]:
        key = measure["key"]
        out.append(f"    {measure['label']:<20} {_num(m[key], measure['unit'], 2):>14}  ({measure['better']} is better)")
    for d, info in los["directions"].items():
        v = info["values"]
        out.append(f"    {info['label']:<15} RT {_num(v['los_reaction_time_s'], 's')}, MVL "
                   f"{_num(v['los_movement_velocity_deg_s'], 'deg/s', 1)}, EPE {_num(v['los_endpoint_excursion_pct'], '%', 0)}, "
                   f"MXE {_num(v['los_max_excursion_pct'], '%', 0)}, DCL {_num(v['los_directional_control_pct'], '%', 0)}"
                   f" - {info['quality_words']}")
    return out


def _norm_words(protocol, condition_id: str, key: str, value: float, age_y, valid: list[dict]) -> str:
    """': 62nd percentile of old adults 60-86 y, ... (lower = less sway (steadier); rough guide)', '' or, for a hold
    that ended early (``valid``: the condition's valid trials, TrialResult.to_dict), ': not compared with the norms
    (held 8.9 s of 30 s)'."""
    from station.protocols.report import norm_reading, norm_withheld_words
    from station.reference import norms

    if protocol is None or value is None:
        return ""
    try:
        condition = protocol.condition(condition_id)
    except (KeyError, ValueError):
        return ""
    stance = condition.stance
    norm = norms.compare(key, value, age_y=age_y, eyes=stance.eyes, surface=stance.surface, feet=stance.feet,
                         duration_s=condition.duration_s)
    if norm is None or not norm["comparable"] or norm["percentile"] is None:
        return ""
    withheld = norm_withheld_words(protocol.outcome, condition.duration_s, value, valid)
    if withheld:
        return f": not compared with the norms ({withheld.split(':')[0].lower()})"
    reading = norm_reading(key, norm, stance.feet)
    pct = round(norm["percentile"])
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(pct % 10 if pct % 100 not in (11, 12, 13) else 0, "th")
    where = ("ABOVE the 95th percentile" if reading["flag"] == "above_p95" else
             "BELOW the 5th percentile" if reading["flag"] == "below_p05" else f"{pct}{suffix} percentile")
    fit = "; rough guide: other stance or trial length" if not reading["fits"] else ""
    return f": {where} of {norm['group']} ({reading['direction']}{fit}; {norm['short_source']})"


def format_summary(summary: dict, protocol=None) -> str:
    """The results in words, for the terminal: per condition its score with what it means (the
    criterion met or not) and its sway measures with their unit and, given the ``protocol``, the
    patient's age-group percentile (``summary["age_y"]``)."""
    from station.reference.measures import unit_of
    from station.protocols.report import (cutoff_reading, not_applied_once, not_applied_said, short_cite,
                                          trial_count_words)
    from station.reference import norms
    from station.reference.measures import describe

    from station.protocols.walk_words import COUNTS, TREADMILL_KEY_MEASURES, WALK_KEY_MEASURES, perry_class_reference
    from station.reports.text import belt_speed, counted, number, quantity, significant, time_held

    said_apart: set = set()  # (conditions, metric) whose sources not applied are said

    def not_applied(conditions: tuple, metric: str, unit: str) -> str | None:
        """The published values a measure of these conditions is not read against (cut-offs and a protocol's
        reference values set in people the patient is not known to be one of), in the pages' and PDFs' words, once:
        one source's limits for one reason together (Perry's two: "cut-offs (0.4 and 0.8 m/s)"), two or more
        sources in one sentence (report.not_applied_said: "Not applied to this patient: the cut-off (5 s) of
        Vellas et al. 1997, set in ..., and the reference values of Springer et al. 2007, ..."); None once said."""
        if (conditions, metric) in said_apart:
            return None
        said_apart.add((conditions, metric))
        refs = [{"kind": "cutoff", **c, **cutoff_reading(c, unit)} for c in summary["cutoffs"]
                if c["metric"] == metric and c["condition"] in conditions and c.get("not_applied_why")]
        refs += [{"kind": "protocol_norm", **n, "words": n.get("note")} for n in summary["norms"]
                 if n["metric"] == metric and n["condition"] in conditions and n.get("not_applied_why")]
        entry = {"references": not_applied_once(refs)}
        not_applied_said(entry)
        return entry.get("not_applied_together") or " ".join(r["words"] for r in entry["references"] if r.get("words")) \
            or None

    walk_labels = {key: (label[0].lower() + label[1:], unit) for key, label, unit in TREADMILL_KEY_MEASURES + WALK_KEY_MEASURES}
    # a treadmill session as the pages say it: the time walked and the pauses first, the belt speed the clinician's
    # entry (km/h, as entered), its time in seconds left out (the same time walking)
    treadmill_labels = {key: (label[0].lower() + label[1:], unit) for key, label, unit in TREADMILL_KEY_MEASURES}
    out = [f"{summary['title']}: {summary['valid_trial_count']} valid of {counted(summary['trial_count'], 'trial')}"]
    lines = [{"analysed": True, "valid": t.get("valid"), "unable": bool(_unable(t)), "scored_unable": _unable(t) == "scored"}
             for t in summary.get("trials") or []]
    if any(line["unable"] for line in lines):  # results of 0 s, counted in the results page's words
        out[0] = f"{summary['title']}: {trial_count_words(lines)}"
    labels = {c["id"]: c.get("label") or c["id"] for c in summary["conditions"]}
    for c in summary["conditions"]:
        if summary.get("limits_of_stability") or summary.get("training"):
            break  # one lean per direction / a game: their own lines below say it all
        values = c["values"]
        out.append(f"  {labels[c['id']]}")
        parts = []
        if "time_held_s" in values:
            times = ", ".join("unable" if t == 0 else f"{t:.1f}" for t in c["time_held_s"])  # as the results page
            n = len(c["time_held_s"])
            attempts = f"{c['score']} of {times} s" if n > 1 else "one attempt"
            held = f"time held {time_held(values['time_held_s'])}" + (  # "0 s (unable)" as the pages and PDFs say it
                f" ({attempts})" if values["time_held_s"] else f" in all {n} trials" if n > 1 else "")
            said = [cutoff_reading(cut, "s")["words"] for cut in summary["cutoffs"] if cut["metric"] == "time_held_s"
                    and cut["condition"] in (c["id"], None) and not cut.get("not_applied_why")]
            said.append(not_applied((c["id"], None), "time_held_s", "s"))  # the sources not applied: said once
            if any(said):
                held += ": " + " ".join(filter(None, said))
            parts.append(held)
        treadmill = values.get("walking_min") is not None
        for key in (("walking_min", "pauses", "cadence_steps_min", "step_time_cv_pct", "walk_speed_m_s") if treadmill
                    else ("walk_time_s", "walk_speed_m_s", "cadence_steps_min", "step_time_cv_pct")):
            if key in values:  # its label and unit, by the unit's rule of the pages and reports ("time 3.53 s")
                label, unit = (treadmill_labels if treadmill else walk_labels)[key]
                shown = belt_speed(values[key]) if treadmill and key == "walk_speed_m_s" \
                    else number(values[key]) if key in COUNTS else quantity(values[key], unit)  # a count: "1", not "1.00"
                parts.append(f"{label} {shown}")
        for key in ("mean_velocity_cm_s", "ellipse_area_cm2"):
            if key in values:
                d = describe(key)
                parts.append(f"{d['label'].lower()} {quantity(values[key], d['unit'])}"  # 1.00 and 0.88 cm/s, as the pages
                             + _norm_words(protocol, c["id"], key, values[key], summary.get("age_y"),
                                           [t for t in summary.get("trials") or [] if t.get("condition") == c["id"] and t.get("valid")]))
        if c.get("weight_bearing"):
            parts.append(c["weight_bearing"]["words"])
        if c["valid_trials"] == 0:
            parts.append("no valid trial")
        out.extend(f"    {p}" for p in parts)
    if summary.get("limits_of_stability"):
        out.extend(_los_lines(summary["limits_of_stability"]))
    if summary.get("training"):
        out.extend(_game_lines(summary["training"]))
    if summary.get("romberg"):
        rb = summary["romberg"]
        # each as the results page and the visit PDF say it (Station.fmtSig, text.significant): "0.987", not "0.99"
        q = [f"{k.replace('romberg_quotient_', '')} {significant(rb[k])}" for k in ("romberg_quotient_area",
                                                                                  "romberg_quotient_velocity")
             if rb.get(k) is not None]
        out.append("  Romberg quotient (eyes closed / eyes open): " + (", ".join(q) if q else rb.get("note", "n/a")))
    classed = set()  # conditions whose walk speed was read as Perry's walking class
    for cut in summary["cutoffs"]:
        where = f"{labels.get(cut['condition'], cut['condition'])}: " if cut["condition"] else ""
        perry = None if cut.get("not_applied_why") or cut["metric"] != "walk_speed_m_s" else perry_class_reference(
            [c for c in summary["cutoffs"] if c["metric"] == "walk_speed_m_s" and c["condition"] == cut["condition"]
             and not c.get("not_applied_why") and c.get("source") == cut.get("source")])
        if perry is not None:  # Perry's two limits read as the one class they put the patient in, as the pages do
            if perry["walking_class"] and cut["condition"] not in classed:  # (never two FLAGs for one speed)
                classed.add(cut["condition"])
                out.append(f"  {where}speed {quantity(cut['value'], 'm/s')}: {perry['words']}")
            continue
        if cut["flagged"] and cut["metric"] != "time_held_s":
            out.append(f"  FLAG {where}{cut['meaning']} ({cut['source'].split('. ')[0]})")
        elif cut.get("not_applied_why") and cut["metric"] != "time_held_s":  # a population the patient is not
            # known to belong to: said, not flagged (a time held's are said on its line above)
            words = not_applied((cut["condition"],), cut["metric"], unit_of(cut["metric"]))
            if words:
                out.append(f"  {where}{words}")
        elif cut.get("good_side") and cut["flagged"] is False:  # a band's good end or middle: which band, said
            unit = unit_of(cut["metric"])
            reading = cutoff_reading(cut, unit)
            label = walk_labels.get(cut["metric"], (cut["metric"],))[0]
            out.append(f"  {where}{label} {quantity(cut['value'], unit)}: {reading['finding']} "
                       f"({reading['limit_words']}; {cut['source'].split('. ')[0]})")
    for norm in summary["norms"]:
        if norm.get("position") and norm["metric"] not in norms.COLUMNS:  # the age-group percentiles are above
            row = norm["row"]
            d = describe(norm["metric"])
            value = time_held(norm["value"]) if norm["metric"] == "time_held_s" else quantity(norm["value"], d["unit"])
            out.append(f"  {labels.get(norm['condition'], norm['condition'])}, {d['label'].lower()} {value}: "  # "4.2 s"
                       f"{norm['position']} of ages {row['age_min_y']}-{row['age_max_y']} ({short_cite(norm['source'])})."
                       f" {norm.get('note', '')}".rstrip())
        elif norm.get("not_applied_why") and norm["metric"] != "time_held_s":  # a time held's: on its line above
            words = not_applied((norm["condition"],), norm["metric"], unit_of(norm["metric"]))
            if words:
                out.append(f"  {labels.get(norm['condition'], norm['condition'])}: {words}")
    if summary.get("stopped_reason"):
        out.append(f"  stopped early: {summary['stopped_reason']}")
    return "\n".join(out)


def _write_json(path: Path, doc: dict) -> None:
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")


def run_trial(args) -> int:
    from station.cli import UserError
    from station.commands._common import load_config
    from station.commands.protocols import find
    from station.protocols.runner import ProtocolRunner, RunnerError
    from station.store.trialfile import TrialFileError
    from station.protocols.sinks import FileSink, TeeSink
    from station.sim.virtual_patient import VirtualPatient, parse_lapse

    if not args.simulate:
        raise UserError("running a protocol on the real plate is done from the dashboard (`balance-station run`), "
                        "where the acquisition service owns the plate; add --simulate to run it on the simulated station")
    protocol = find(args, args.protocol)
    try:
        lapses = [parse_lapse(text) for text in args.lapse]
    except ValueError as exc:
        raise UserError(f"--lapse {exc}") from None
    from station.sim.faults import parse_fault

    try:
        faults = [parse_fault(text) for text in args.fault]
    except ValueError as exc:
        raise UserError(f"--fault {exc}") from None
    ids = [c.id for c in protocol.conditions]
    for lapse in lapses:
        if lapse.condition not in ids:
            raise UserError(f"--lapse: {protocol.name} has no condition {lapse.condition!r}; allowed: {', '.join(ids)}")
    if args.age is not None and not 0 < args.age < 130:
        raise UserError(f"--age must be between 0 and 130 years, got {args.age:g}")
    if not 20 <= args.mass_kg <= 250:
        raise UserError(f"--mass-kg must be between 20 and 250 kg, got {args.mass_kg:g}")
    from station.sim.walker import PATTERNS

    if args.gait not in PATTERNS:
        raise UserError(f"--gait {args.gait!r} is not a gait pattern; allowed: {', '.join(PATTERNS)}")
    walk_settings = None
    if protocol.walk is not None:
        from station.protocols.walk import WalkSettings

        try:
            walk_settings = WalkSettings.from_dict({"belt_speed_m_s": args.belt_speed_m_s, "planned_min": args.planned_min,
                                                    "sensor_height_m": args.sensor_height_m})
            walk_settings.check_setting(protocol.walk.setting, protocol.name)
        except ValueError as exc:
            raise UserError(f"--{str(exc).split(':')[0].split('.')[-1].replace('_', '-')}: {str(exc).split(': ', 1)[1]}") from None
    elif args.belt_speed_m_s is not None or args.planned_min is not None:
        raise UserError(f"--belt-speed-m-s and --planned-min apply to walk tests; {protocol.name} is a stance test")
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise UserError(f"--out {args.out} is a file; give a directory")
        if not args.out.parent.exists():
            raise UserError(f"--out: the folder {args.out.parent} does not exist")
        if (args.out / "results.json").exists():
            raise UserError(f"--out {args.out} already holds results.json; choose a new directory")
        args.out.mkdir(exist_ok=True)
    config = load_config(args)
    _from_patient_record(config, args)
    from dataclasses import replace as _replace

    from station.sim.walker import SENSOR_MOUNTING

    # The simulated sensor is worn as the simulation wears it (the station reads the configuration).
    config = _replace(config, imu=_replace(config.imu, mounting_up=SENSOR_MOUNTING[0], mounting_toes=SENSOR_MOUNTING[1]))

    schedule = _training_schedule(args, protocol, config)  # checked before the simulation is built
    _check_lapses(args.lapse, lapses, protocol, walk_settings, schedule)
    station, person, walker = _simulated_station(config, args)
    gates = driver = None
    gate_pins: dict = {}
    if protocol.walk is not None:
        gates, driver, gate_pins = _simulated_gates(config, protocol, station)
        configured = {g.position_m for g in config.panel.gates}
        added = sorted(p for p in gate_pins if p not in configured)
        if added and not args.quiet:  # the station itself would refuse the protocol without them
            at = ", ".join(f"{p:g} m" for p in added)
            print(f"note: the simulation adds light gates at {at} for {protocol.name}; the configuration has "
                  f"{', '.join(f'{p:g} m' for p in sorted(configured)) or 'none'}, and the station would refuse "
                  "this test until panel.gates has them", file=sys.stderr)
        if walk_settings.sensor_height_m is None:
            from dataclasses import replace

            walk_settings = replace(walk_settings, sensor_height_m=round(walker.sensor_height_m, 3))
    sinks = []
    metadata = {"source": {"kind": "simulated station with a virtual patient", "seed": args.seed,
                           "mass_kg": args.mass_kg, "height_cm": args.height_cm},
                "plate": {"width_cm": config.plate.width_cm, "depth_cm": config.plate.depth_cm},
                "calibration": station.calibration.to_dict()}
    if args.out is not None:
        # how the station reads the lower-back IMU: `gait` on a trial file re-analyses it the same way
        imu = {"mounting_up": config.imu.mounting_up, "mounting_toes": config.imu.mounting_toes,
               "sensor_height_m": None if walk_settings is None else walk_settings.sensor_height_m}
        sinks.append(FileSink(args.out, metadata, imu=imu))
    store = None
    if args.patient is not None:
        store, store_sink = _store_sink(config, args, protocol, station)
        sinks.append(store_sink)
    los = None
    if protocol.outcome == "limits_of_stability":
        from station.protocols.lean import LosSettings

        los = LosSettings(height_cm=args.height_cm)
    source = station
    if faults:
        from station.sim.faults import FaultySource

        source = FaultySource(station, faults)
    runner = ProtocolRunner(protocol, source, sink=TeeSink(*sinks) if sinks else None, patient_age_y=args.age,
                            patient_conditions=args.patient_conditions,
                            gates=gates, walk_settings=walk_settings,
                            mounting=(config.imu.mounting_up, config.imu.mounting_toes), los=los, order_seed=args.seed,
                            training_schedule=schedule)
    patient = VirtualPatient(person, lapses, time_origin_ns=_time_origin_ns(station), walker=walker,
                             gate_driver=driver, gate_pins=gate_pins, gait=args.gait)
    patient.attach(runner)
    if faults:
        source.attach(runner)
    if driver is not None:
        runner.add_tick(driver.tick)
    if not args.quiet:
        runner.bus.subscribe(Progress())
    per_trial_s = [c.duration_s for c in protocol.conditions]
    if walk_settings is not None and walk_settings.planned_min is not None:
        per_trial_s = [walk_settings.planned_min * 60.0 for _ in protocol.conditions]
    if schedule is not None:
        per_trial_s = [schedule.session_s]
    planned_s = sum(d + protocol.countdown_s + protocol.rest_s + 10.0 for d in per_trial_s)
    try:
        summary = runner.run(auto=True, max_s=planned_s * protocol.trials_per_condition * protocol.max_attempts + 300.0)
    except RunnerError as exc:
        raise UserError(f"{exc}; the trials so far are stored") from None
    except KeyboardInterrupt:  # Ctrl-C: what was recorded is kept and said, the trial cut short marked so
        from station.commands._common import ignoring_interrupts

        with ignoring_interrupts():  # a second Ctrl-C (or `timeout`, which signals twice) must not cut the marking
            error = _interrupted(runner, args, sinks)
        raise error from None
    except TrialFileError as exc:  # e.g. a full disk under --out: one line, not a traceback
        raise UserError(f"{exc}; the run stopped there: the trials before it are kept in {args.out}, this one as far "
                        "as it was written (free some space and run the protocol again)") from None
    finally:
        if store is not None:
            store.close()
        if gates is not None:
            gates.close()
    summary["simulation"] = metadata["source"]
    texts = dict(zip(lapses, args.lapse))
    missed = patient.lapses_without_effect()
    if missed:  # a lapse that could not be refused beforehand (e.g. after this walk's end) but did nothing
        summary["lapses_without_effect"] = [{"lapse": texts[lapse], "why": why} for lapse, why in missed]
        for lapse, why in missed:
            print(f"warning: --lapse {texts[lapse]} did nothing: {why}", file=sys.stderr)
    if args.out is not None:
        try:
            _write_json(args.out / "results.json", summary)
        except OSError as exc:
            raise UserError(f"cannot write {args.out / 'results.json'}: {exc.strerror or exc}") from None
    from station.commands._batch import write_stdout

    # A full disk or a reader that left early (`| head`) is one line, as analyze says it, not a traceback.
    kept = f"the results are kept in {args.out / 'results.json'}" if args.out is not None else "use --out DIR to keep the results"
    write_stdout(json.dumps(summary, indent=2) + "\n" if args.json else format_summary(summary, protocol) + "\n",
                 keep_hint=kept)
    return 1 if summary.get("stopped_reason") else 0


INTERRUPTED_REASON = ("interrupted: the program was stopped (Ctrl-C) while this trial recorded; what was recorded "
                      "until then is kept, not the whole trial")
"""Why a trial the command's Ctrl-C cut short is incomplete (its sidecar's ``status_reason``)."""


def _interrupted(runner, args, sinks):
    """The UserError (exit status 130) of a run stopped by Ctrl-C: the trial that was recording is kept
    as far as it went and marked incomplete (:meth:`~station.protocols.runner.ProtocolRunner.interrupt`),
    and the line says what is where."""
    from station.cli import UserError
    from station.protocols.sinks import FileSink

    plan = runner.machine.plan if runner.machine is not None else None
    kept = runner.interrupt(INTERRUPTED_REASON) or {}
    files = next((s for s in sinks if isinstance(s, FileSink)), None)
    parts = []
    if kept.get("csv"):
        of = f" of its {plan.duration_s:g} s" if plan is not None and plan.protocol.walk is None else ""
        parts.append(f"{Path(kept['csv']).name} holds only the first {kept['samples'] / runner.source.rate_hz:.1f} s"
                     f"{of} and its sidecar marks it incomplete (status partial; analyze says so)")
    if kept.get("trial_id") is not None:
        parts.append(f"trial #{kept['trial_id']} is kept in the database as "
                     + ("aborted" if "store_error" not in kept else f"it was ({kept['store_error']}); the station's next "
                        "start marks it partial"))
    whole = len(runner.records)
    if files is not None or args.patient is not None:
        where = f"in {args.out}" if files is not None else "in the database"
        parts.append(f"the {whole} whole trial{'s' if whole != 1 else ''} before {'it' if kept else 'the stop'} "
                     f"{'are' if whole != 1 else 'is'} kept {where}" if whole else "no whole trial was recorded")
        if files is not None:
            parts.append("no results.json was written (run the protocol again for the whole summary)")
    else:
        parts.append("nothing was kept (no --out or --patient)")
    error = UserError("interrupted: " + "; ".join(parts))
    error.exit_status = 130  # as an interrupted program's
    return error


def _check_lapses(texts, lapses, protocol, walk_settings, schedule) -> None:
    """A lapse that would do nothing in this protocol (a treadmill false start, a touch-down out of
    single-leg stance, after the trial's end, ...) is a UserError in one line, before anything runs."""
    from station.cli import UserError
    from station.sim.virtual_patient import lapse_problem

    trial_s = None
    if walk_settings is not None and walk_settings.planned_min is not None:
        trial_s = walk_settings.planned_min * 60.0
    elif schedule is not None:
        trial_s = schedule.session_s
    for text, lapse in zip(texts, lapses):
        problem = lapse_problem(lapse, protocol, trial_s)
        if problem is not None:
            raise UserError(f"--lapse {text}: {problem}")


def _training_schedule(args, protocol, config):
    """The game of a training protocol from the options (None for other protocols); UserError in one line."""
    from station.cli import UserError

    if protocol.outcome != "training":
        if args.game is not None:
            raise UserError(f"--game applies to training games (biofeedback-training), not to {protocol.name}")
        return None
    if args.game is None:
        raise UserError("--game is required for a training game: reach, track, shift or steady")
    from station.analysis.biofeedback import GameError
    from station.protocols.training import TrainingSettings, build_schedule

    doc = {"game": args.game, "level": args.level, "session_s": args.session_s, "paretic_side": args.paretic_side,
           "range_cm": args.range_cm, "seed": args.seed}
    try:
        settings = TrainingSettings.from_dict({k: v for k, v in doc.items() if v is not None})
        return build_schedule(settings, height_cm=args.height_cm, los_excursion_pct=None,
                              plate_width_cm=config.plate.width_cm, seed=args.seed)
    except (ValueError, GameError) as exc:
        option = str(exc).split(":")[0].replace("training.", "--").replace("_", "-")
        raise UserError(f"{option}: {str(exc).split(': ', 1)[-1]}") from None


def _game_lines(games: list) -> list[str]:
    from station.protocols.walk_words import walked_words  # a time played as the pages say it ("5 s", "2 min 30 s")

    out = []
    for g in games:
        s, r = g["schedule"], g["result"]
        line = f"  {g.get('title', s['game'])}, level {s['level']}: score {r['score'] if r['score'] is not None else '-'} of 100"
        if r.get("targets") is not None:
            line += f"; {r['hits']} of {r['targets_shown']} held"
        if r.get("inside_pct") is not None:
            line += f"; inside {r['inside_pct']:.0f} % of the time"
        out.append(line + f"; {walked_words(g['minutes'])}")
        out.append(f"    score: {r['score_definition']}")
    return out


def _simulated_station(config, args):
    from station.sim.station import SimulatedStation
    from station.sim.person import VirtualPerson

    age_group = "old" if args.age is not None and args.age >= 60 else "young"
    try:
        person = VirtualPerson(seed=args.seed, mass_kg=args.mass_kg, height_cm=args.height_cm, age_group=age_group,
                               on_plate=False, plate=config.plate)
    except ValueError as exc:
        from station.cli import UserError

        raise UserError(f"virtual patient: {exc}") from None
    from station.sim.walker import VirtualWalker
    from station.commands._common import simulated_plate_calibration

    walker = VirtualWalker(seed=args.seed, height_cm=args.height_cm, base=person)
    station = SimulatedStation(config, walker, seed=args.seed, calibration=simulated_plate_calibration(config, args.seed),
                               timing=getattr(args, "timing", "ideal"))
    return station, person, walker


def _simulated_gates(config, protocol, station):
    """The simulated walkway's light gates: the configured ones, plus one at each position the
    protocol times with that the configuration lacks (the simulated clinic puts them there);
    gpiozero mock pins on the station clock, driven by the virtual walker."""
    from station.hw.gates import GateArray
    from station.sim.gpio import ClockedMockFactory, GateDriver
    from station.sim.scenarios import simulated_gate_configs

    panel = config.panel
    gates = simulated_gate_configs(panel.gates, protocol.walk.gates_m, (panel.button_pin, panel.buzzer_pin, panel.led_pin))
    factory = ClockedMockFactory(station.clock)
    array = GateArray(gates, clock=station.clock, pin_factory=factory)
    return array, GateDriver(factory), {g.position_m: g.pin for g in gates}


def _time_origin_ns(station) -> int:
    """Station-clock time that the simulated plate's load source sees as t = 0."""
    return int(station.simulation.plate.t0_ns)


def _from_patient_record(config, args) -> None:
    """The height and age the options leave out, and the conditions, from the ``--patient`` record
    (the dashboard places the limits-of-stability targets and scales the games from the record's
    height, reads norms for the record's age and reads a cut-off only for the population it was set
    in); else 170 cm, no age and no conditions."""
    args.patient_conditions = ()
    if args.patient is not None:
        from station.cli import UserError
        from station.store.db import StoreError
        from station.store.store import Store

        try:
            store = Store.open(config.data_dir)
        except StoreError as exc:
            raise UserError(f"--data-dir {config.data_dir}: {exc}") from None
        try:
            patient = store.patients.get(args.patient)
        except StoreError as exc:
            raise UserError(f"--patient {args.patient}: {exc}") from None
        finally:
            store.close()
        if args.height_cm is None and patient.get("height_cm"):
            args.height_cm = float(patient["height_cm"])
        if args.age is None and patient.get("birth_year"):
            args.age = float(time.gmtime().tm_year - int(patient["birth_year"]))
        args.patient_conditions = tuple(patient.get("conditions") or ())
    if args.height_cm is None:
        args.height_cm = 170.0


def _store_sink(config, args, protocol, station):
    from station.cli import UserError
    from station.protocols.sinks import StoreSink
    from station.store.audit import Actor
    from station.store.db import StoreError
    from station.store.store import Store

    try:
        store = Store.open(config.data_dir)
    except StoreError as exc:
        raise UserError(f"--data-dir {config.data_dir}: {exc}") from None
    try:
        actor = Actor.command_line()
        session = store.sessions.create(args.patient, {"label": f"{protocol.title} (simulated, seed {args.seed})"}, actor=actor)
    except StoreError as exc:
        store.close()
        raise UserError(f"--patient {args.patient}: {exc}") from None
    return store, StoreSink(store.trials, session["id"], station.calibration.to_dict(), actor,
                            training=store.training, patient_id=args.patient)
