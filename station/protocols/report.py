"""What the results and history pages show, built from the stored trials.

:func:`session_results`: the results of one session (one protocol run, or several): the
protocol's own summary (:func:`station.protocols.results.summarise`: scores, Romberg quotients,
cut-offs, the protocol's norms) recomputed from the stored trials, so that a clinician's later
judgement of a trial (``PATCH /api/trials/<id>``) counts; and, per condition, the measures
clinicians read first (:data:`KEY_MEASURES`), each beside the patient's age-group percentile
(:mod:`station.reference.norms`) or the protocol's published cut-off.

:func:`patient_history`: per protocol, condition and key measure, the value of each session (the
mean of its valid trials) in time order, with the published minimal detectable change
(:mod:`station.reference.mdc`) where there is one, for following a patient over weeks.

Only finished trials (status ``complete``) that the protocol engine stored (their metrics document
carries the protocol's view under ``"trial"``) enter the results; the others are listed with
their status.
"""

from __future__ import annotations

import math
import time

from station.protocols.machine import TrialPlan, TrialResult
from station.protocols.quality import QualityIssue
from station.protocols.results import summarise
from station.protocols.schema import Protocol
from station.reference import mdc as mdc_table
from station.reference import norms

KEY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("ellipse_area_cm2", "95 % ellipse area", "cm²"),
    ("mean_velocity_cm_s", "Mean sway velocity", "cm/s"),
    ("path_length_cm", "Path length", "cm"),
    ("time_held_s", "Time held", "s"),
    ("weight_left_pct", "Weight on the left", "%"),
)
"""(metric key, label, unit) of the measures shown first, per condition."""

HISTORY_MEASURES = ("ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm", "time_held_s", "weight_left_pct")
"""Measures the history page follows over sessions."""


def age_in_year(birth_year: int | None, wall_clock=time.time) -> float | None:
    """Age in years from the birth year (the record keeps no birth date: ±1 year)."""
    if not birth_year:
        return None
    return float(time.gmtime(wall_clock()).tm_year - int(birth_year))


def _issue(doc: dict | None) -> QualityIssue | None:
    if not doc:
        return None
    return QualityIssue(str(doc.get("code", "")), str(doc.get("message", "")), doc.get("at_s"))


def stored_result(protocol: Protocol, trial: dict) -> TrialResult | None:
    """The :class:`TrialResult` of a stored trial (``Trials.get``), or None when it is not a
    finished trial of this protocol's conditions recorded by the protocol engine."""
    doc = trial.get("metrics") or {}
    outcome = doc.get("trial")
    if trial.get("status") != "complete" or not isinstance(outcome, dict):
        return None
    try:
        condition = protocol.condition(trial["condition"])
    except (KeyError, ValueError):
        return None
    issues = [_issue(i) for i in outcome.get("issues") or []]
    valid = bool(trial.get("valid"))
    if not valid and not issues:
        issues = [QualityIssue("clinician", trial.get("validity_reason") or "judged invalid", None)]
    if valid and not outcome.get("valid", True):
        issues = []  # a clinician judged it valid after all
    body_weight = outcome.get("body_weight_n")
    result = TrialResult(
        plan=TrialPlan(protocol, condition, int(outcome.get("trial") or 1), int(outcome.get("attempt") or 1)),
        valid=valid,
        end_reason=str(outcome.get("end_reason") or ("duration" if valid else "invalid")),
        issues=issues,
        hold_end=_issue(outcome.get("hold_end")),
        warnings=list(outcome.get("warnings") or []),
        completed=bool(outcome.get("completed")) and valid,
        time_held_s=outcome.get("time_held_s"),
        liftoff_s=outcome.get("liftoff_s"),
        body_weight_n=float(body_weight) if body_weight is not None else float("nan"),
        samples=int(trial.get("frame_count") or 0),
        lost_frames=int(trial.get("frames_lost") or 0),
        analysis_start_s=outcome.get("analysis_start_s"),
        analysis_end_s=outcome.get("analysis_end_s"),
        metrics=doc if doc.get("metrics") else None,
        metrics_note=str(outcome.get("metrics_note") or doc.get("note") or ""),
    )
    return result


def _trial_line(trial: dict, result: TrialResult | None) -> dict:
    """A stored trial as the results page lists it."""
    outcome = (trial.get("metrics") or {}).get("trial") or {}
    line = {
        "id": trial["id"],
        "condition": trial["condition"],
        "status": trial["status"],
        "started_at": trial["started_at"],
        "valid": trial["valid"],
        "validity_reason": trial["validity_reason"],
        "trial": outcome.get("trial"),
        "attempt": outcome.get("attempt"),
        "completed": outcome.get("completed"),
        "time_held_s": outcome.get("time_held_s"),
        "hold_end": (outcome.get("hold_end") or {}).get("message"),
        "frames_lost": trial["frames_lost"],
        "duration_s": trial["duration_s"],
        "analysed": result is not None,
    }
    if trial["status"] != "complete":
        line["note"] = {"partial": "interrupted (crash or power cut); frames kept, not analysed",
                        "aborted": "stopped on purpose; not analysed",
                        "recording": "still recording"}.get(trial["status"], trial["status"])
    return line


def _cutoffs_for(summary: dict, metric: str, condition_id: str) -> list[dict]:
    return [c for c in summary["cutoffs"] if c["metric"] == metric and c["condition"] in (condition_id, None)]


def _protocol_norms_for(summary: dict, metric: str, condition_id: str) -> list[dict]:
    return [n for n in summary["norms"] if n["metric"] == metric and n["condition"] == condition_id]


def key_measures(protocol: Protocol, condition_summary: dict, summary: dict, age_y: float | None) -> list[dict]:
    """The measures clinicians read first for one condition, each with its reference."""
    condition = protocol.condition(condition_summary["id"])
    stance = condition.stance
    values = condition_summary["values"]
    out = []
    for key, label, unit in KEY_MEASURES:
        if key == "time_held_s" and protocol.outcome != "time_held":
            continue
        if key == "weight_left_pct" and key not in values:
            continue
        entry = {"metric": key, "label": label, "unit": unit, "value": values.get(key), "references": []}
        norm = norms.compare(key, values.get(key), age_y=age_y, eyes=stance.eyes, surface=stance.surface,
                             feet=stance.feet, duration_s=condition.duration_s)
        if norm is not None:
            entry["references"].append({"kind": "norm", **norm})
        for cut in _cutoffs_for(summary, key, condition.id):
            entry["references"].append({"kind": "cutoff", **cut})
        if norm is None:  # the protocol's own published norms (e.g. single-leg times by age)
            for pnorm in _protocol_norms_for(summary, key, condition.id):
                entry["references"].append({"kind": "protocol_norm", **pnorm})
        if key == "weight_left_pct" and values.get(key) is not None:
            entry["right_pct"] = values.get("weight_right_pct", 100.0 - values[key])
            if condition_summary.get("weight_bearing"):
                entry["words"] = condition_summary["weight_bearing"]["words"]
        if key == "path_length_cm" and not entry["references"]:
            entry["note"] = "No published reference: path length is the mean velocity times the trial's length."
        out.append(entry)
    return out


def _protocol_results(protocol: Protocol, trials: list[dict], age_y: float | None) -> dict:
    results = []
    lines = []
    for trial in trials:
        result = stored_result(protocol, trial)
        lines.append(_trial_line(trial, result))
        if result is not None:
            results.append(result)
    ran = {t["condition"] for t in trials}
    summary = summarise(protocol, results, age_y=age_y)
    conditions = []
    for c in summary["conditions"]:
        if c["id"] not in ran:
            continue
        conditions.append({**c, "key_measures": key_measures(protocol, c, summary, age_y),
                           "trials": [line for line in lines if line["condition"] == c["id"]]})
    romberg = summary["romberg"]
    return {
        "protocol": protocol.name,
        "title": protocol.title,
        "outcome": protocol.outcome,
        "conditions": conditions,
        "romberg": romberg if romberg and any(c["id"] in romberg.values() for c in conditions) else None,
        "cutoffs": summary["cutoffs"],
        "references": summary["references"],
        "trial_count": summary["trial_count"],
        "valid_trial_count": summary["valid_trial_count"],
        "other_trials": [line for line in lines if line["condition"] not in {c["id"] for c in conditions}],
    }


def session_results(store, session_id: int, protocols: dict[str, Protocol], *, actor, wall_clock=time.time) -> dict:
    """The results document of a session (see the module docstring); the session's view is
    audited for ``actor``."""
    session = store.sessions.view(session_id, actor=actor)
    patient = store.patients.get(session["patient_id"])
    age_y = age_in_year(patient.get("birth_year"), wall_clock)
    trials = [store.trials.get(t["id"]) for t in session["trials"]]
    by_protocol: dict[str, list[dict]] = {}
    for trial in trials:
        by_protocol.setdefault(trial["protocol"], []).append(trial)
    sections = []
    unknown = []
    for name, group in by_protocol.items():
        protocol = protocols.get(name)
        if protocol is None:
            unknown.extend(_trial_line(t, None) for t in group)
            continue
        sections.append(_protocol_results(protocol, group, age_y))
    return {
        "session": {k: session[k] for k in ("id", "patient_id", "started_at", "label", "notes")},
        "patient": {"id": patient["id"], "identifier": patient["identifier"], "birth_year": patient["birth_year"],
                    "sex": patient["sex"], "age_y": age_y},
        "protocols": sections,
        "unknown_protocol_trials": unknown,
        "norms_source": norms.CITATION,
    }


def _finite(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def patient_history(store, patient_id: int, protocols: dict[str, Protocol], *, actor) -> dict:
    """The key measures of a patient over sessions (see the module docstring); the patient's
    view is audited for ``actor``."""
    patient = store.patients.view(patient_id, actor=actor)
    sessions = sorted((s for s in patient["sessions"] if s["trials"]), key=lambda s: (s["started_at"], s["id"]))
    series: dict[tuple[str, str, str], dict] = {}
    for session in sessions:
        per_key: dict[tuple[str, str, str], list[tuple[float, int]]] = {}
        for line in session["trials"]:
            if line["status"] != "complete" or not line["valid"]:
                continue
            trial = store.trials.get(line["id"])
            doc = trial.get("metrics") or {}
            values = dict(doc.get("metrics") or {})
            held = (doc.get("trial") or {}).get("time_held_s")
            if held is not None:
                values["time_held_s"] = held
            for metric in HISTORY_MEASURES:
                value = _finite(values.get(metric))
                if value is not None:
                    per_key.setdefault((trial["protocol"], trial["condition"], metric), []).append((value, trial["id"]))
        for key, found in per_key.items():
            if key not in series:
                series[key] = _new_series(protocols.get(key[0]), key[0], key[1], key[2])
            series[key]["points"].append({
                "session_id": session["id"],
                "started_at": session["started_at"],
                "label": session["label"],
                "value": sum(v for v, _ in found) / len(found),
                "trials": [t for _, t in found],
            })
    out = list(series.values())
    for s in out:
        points = s["points"]
        if len(points) >= 2:
            s["change"] = points[-1]["value"] - points[0]["value"]
            s["exceeds_mdc"] = None if s["mdc"] is None else abs(s["change"]) > s["mdc"]["value"]
    out.sort(key=lambda s: (s["protocol"], s["condition_order"], HISTORY_MEASURES.index(s["metric"])))
    return {
        "patient": {"id": patient["id"], "identifier": patient["identifier"]},
        "sessions": [{"id": s["id"], "started_at": s["started_at"], "label": s["label"]} for s in sessions],
        "series": out,
    }


def _new_series(protocol: Protocol | None, protocol_name: str, condition_id: str, metric: str) -> dict:
    label, unit = {k: (lab, u) for k, lab, u in KEY_MEASURES}[metric]
    condition = None
    order = 0
    if protocol is not None:
        ids = [c.id for c in protocol.conditions]
        if condition_id in ids:
            condition = protocol.condition(condition_id)
            order = ids.index(condition_id)
    mdc = None
    if condition is not None:
        found = mdc_table.find_mdc(metric, protocol=protocol.name, eyes=condition.stance.eyes, feet=condition.stance.feet)
        mdc = found.to_dict() if found is not None else None
    return {
        "protocol": protocol_name,
        "protocol_title": protocol.title if protocol is not None else protocol_name,
        "condition": condition_id,
        "condition_label": condition.label if condition is not None else condition_id,
        "condition_order": order,
        "metric": metric,
        "label": label,
        "unit": unit,
        "mdc": mdc,
        "points": [],
        "change": None,
        "exceeds_mdc": None,
    }
