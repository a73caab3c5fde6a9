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
import re
import time

from station.analysis.limits_of_stability import DIRECTIONS as LOS_DIRECTIONS
from station.protocols.machine import TrialPlan, TrialResult
from station.protocols.quality import QualityIssue
from station.protocols.results import held_verdict, summarise
from station.protocols.schema import Protocol
from station.reference import mdc as mdc_table
from station.protocols.walk_words import (COUNT_NO_MDC, COUNTS, WALK_KEY_MEASURES, better_direction, better_words,
                                         count_better_words, count_change, count_change_words, entered_setting,
                                         imu_gaps_line, imu_gaps_summary, key_measures_for, measure_words,
                                         no_gait_in_reason, perry_class_reference,
                                         session_count, session_counts_words, treadmill_apart_words,
                                         treadmill_not_compared, treadmill_session_words, WALK_NOT_COMPLETED,
                                         walk_not_completed)
from station.reference import norms
from station.reference.population import misfit, not_applied_words
from station.store.patients import VISIT_GAP_S  # (each test opens its own session; a visit is those chained)
from station.store.trials import DATABASE_BUSY_REASON, DISK_FULL_REASON, STORAGE_FAILED_REASON
from station.store.verdict import unable_kind, unable_trial

KEY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("ellipse_area_cm2", "95 % ellipse area", "cm²"),
    ("mean_velocity_cm_s", "Mean sway velocity", "cm/s"),
    ("path_length_cm", "Path length", "cm"),
    ("time_held_s", "Time held", "s"),
    ("weight_left_pct", "Weight on the left", "%"),
)
"""(metric key, label, unit) of the measures shown first, per condition."""

HISTORY_MEASURES = ("ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm", "time_held_s", "weight_left_pct",
                    "walk_time_s", "walk_speed_m_s", "walking_min", "pauses", "steps", "cadence_steps_min", "stride_time_cv_pct", "step_time_cv_pct",
                    "los_max_excursion_pct", "los_endpoint_excursion_pct", "los_reaction_time_s",
                    "los_movement_velocity_deg_s", "los_directional_control_pct")
"""Measures the history page follows over sessions (limits of stability: each session's composite). A walk's
counts (steps, the treadmill's pauses: walk_words.COUNTS) keep each trial's count in their points."""
LOS_HISTORY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("los_max_excursion_pct", "Maximum excursion (composite)", "% of limit"),
    ("los_endpoint_excursion_pct", "Endpoint excursion (composite)", "% of limit"),
    ("los_reaction_time_s", "Reaction time (composite)", "s"),
    ("los_movement_velocity_deg_s", "Movement velocity (composite)", "deg/s"),
    ("los_directional_control_pct", "Directional control (composite)", "%"),
)
"""Limits-of-stability measures followed over sessions: a session's composite is the mean over the
directions of each direction's valid leans (as its results page gives it); no MDC is carried."""


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
    unable = not valid and unable_trial(trial)
    if unable:  # inability is a result: 0 s, kept in the score and the history
        valid, issues = True, []
        outcome = {**outcome, "time_held_s": 0.0, "completed": False}
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
        training=outcome.get("training") if isinstance(outcome.get("training"), dict) else None,
    )
    return result


def walk_not_completed_words(condition: dict) -> str | None:
    """"walk not completed (n attempts)" for a condition of the visit results with no valid trial
    whose every attempt is a walk the patient did not finish (``walk_not_completed`` on each trial
    line), as the results page says it at a glance; else None.

    >>> walk_not_completed_words({"valid_trials": 0, "trials": [{"walk_not_completed": True}] * 2})
    'walk not completed (2 attempts)'
    >>> walk_not_completed_words({"valid_trials": 0, "trials": [{"walk_not_completed": False}]}) is None
    True
    """
    attempts = condition.get("trials") or []
    if condition.get("valid_trials") or not attempts or not all(t.get("walk_not_completed") for t in attempts):
        return None
    return f"{WALK_NOT_COMPLETED} ({len(attempts)} attempt{'' if len(attempts) == 1 else 's'})"


def trial_count_words(lines: list[dict]) -> str:
    """How many analysed trials a test's results have, and what they gave, as the results page and
    the visit report say it (the trial lines of :func:`_trial_line`). Trials scored unable are
    results (0 s), counted as such, not as valid recordings.

    >>> trial_count_words([{"analysed": True, "valid": True, "unable": False}] * 2)
    '2 valid of 2 analysed trials.'
    >>> trial_count_words([{"analysed": True, "valid": False, "unable": True, "scored_unable": s} for s in (0, 0, 1, 1)])
    '4 analysed trials: 4 unable (0 s; 2 of them scored by the clinician, not measured).'
    >>> trial_count_words([{"analysed": True, "valid": v, "unable": u} for v, u in ((1, 0), (0, 1), (0, 0))])
    '3 analysed trials: 1 held, 1 unable (0 s), 1 invalid.'
    >>> trial_count_words([{"analysed": True, "valid": not u, "unable": u, "scored_unable": u} for u in (0, 1, 0)])
    '3 analysed trials: 2 held, 1 unable (0 s; scored by the clinician, not measured).'
    """
    analysed = [line for line in lines if line.get("analysed")]
    unable = [line for line in analysed if line.get("unable")]
    valid = sum(1 for line in analysed if line.get("valid"))
    n = len(analysed)
    if not unable:
        return f"{valid} valid of {n} analysed trial{'' if n == 1 else 's'}."
    scored = sum(1 for line in unable if line.get("scored_unable"))
    invalid = n - valid - len(unable)
    parts = [f"{valid} held"] if valid else []
    # every unable one scored: "1 unable (0 s; scored by ...)", "3 unable (0 s; all scored by ...)", not "1 of them"
    how = (SCORED_UNABLE if len(unable) == 1 else f"all {SCORED_UNABLE}") if scored == len(unable) \
        else f"{scored} of them {SCORED_UNABLE}"
    parts.append(f"{len(unable)} unable (0 s" + (f"; {how}" if scored else "") + ")")
    if invalid:
        parts.append(f"{invalid} invalid")
    return f"{n} analysed trial{'' if n == 1 else 's'}: " + ", ".join(parts) + "."


def no_sway_words(lines: list[dict]) -> str | None:
    """Why a condition has no sway trace when every analysed trial of it was unable (the foot
    never lifted, or scored so): said instead of "no valid trial"; else None.

    >>> no_sway_words([{"analysed": True, "unable": True}])
    'No sway measured: the foot was never lifted (unable, 0 s).'
    >>> no_sway_words([{"analysed": True, "unable": False}]) is None
    True
    """
    analysed = [line for line in lines if line.get("analysed")]
    if not analysed or not all(line.get("unable") for line in analysed):
        return None
    return "No sway measured: the foot was never lifted (unable, 0 s)."


BASELINE = "Baseline: later visits are compared with it."
"""A measure's first value (nothing compared yet: no "no published MDC", which read as a comparison missing), in one
place for every page and PDF: the visit PDF and the history PDF (:mod:`station.reports.references`), and the pages
from the documents, as a first visit's ``change`` reference's ``baseline`` (:func:`add_walk_changes`; the visit
results, walk_results.js) and the history's ``measured_once`` ``words``, once above its table (:func:`measured_once_words`;
history.js, :mod:`station.reports.history_report`)."""


SCORED_UNABLE = "scored by the clinician, not measured"
"""How a trial the clinician scored unable (0 s, nothing measured) is said beside its count or its time held."""


def unable_point_words(kinds: list[str | None]) -> str | None:
    """How a history point of 0 s (unable) was scored, from its trials' :func:`~station.store.verdict.unable_kind`
    (``"scored"``, ``"measured"``): said when the clinician scored any of them (the time held then reads "0 s
    (unable; scored by the clinician, not measured)", text.time_held, Station.timeHeld); None when every one was
    measured (the foot never lifted: "0 s (unable)" says it).

    >>> unable_point_words(["scored", "scored"]), unable_point_words(["measured", "scored", "scored"])
    ('scored by the clinician, not measured', '2 of 3 scored by the clinician, not measured')
    >>> unable_point_words(["measured"]) is None
    True
    """
    scored = sum(1 for k in kinds if k == "scored")
    if not scored:
        return None
    return SCORED_UNABLE if scored == len(kinds) else f"{scored} of {len(kinds)} {SCORED_UNABLE}"


def unable_words(scored: bool, reason: str | None) -> str:
    """What an unable trial was, as the results page, the visit PDF and the command line say it beside
    it: measured (the foot never lifted) or scored by the clinician (``reason``: the stored
    ``scored_unable`` message, naming the clinician).

    >>> unable_words(False, "The foot was never lifted.")
    'Did not lift a foot (measured): unable, counted as 0 s.'
    >>> unable_words(True, "Scored unable by the clinician (ana), not measured.")
    'Scored unable by the clinician (ana), not measured. Counted as 0 s.'
    """
    return f"{reason} Counted as 0 s." if scored else "Did not lift a foot (measured): unable, counted as 0 s."


def _trial_line(trial: dict, result: TrialResult | None) -> dict:
    """A stored trial as the results page lists it."""
    outcome = (trial.get("metrics") or {}).get("trial") or {}
    line = {
        "id": trial["id"],
        "session_id": trial.get("session_id"),
        "condition": trial["condition"],
        "status": trial["status"],
        "started_at": trial["started_at"],
        "valid": trial["valid"],
        "validity_reason": trial["validity_reason"],
        "notes": trial.get("notes") or "",
        "judged_by": trial.get("judged_by"),
        "trial": outcome.get("trial"),
        "attempt": outcome.get("attempt"),
        "completed": outcome.get("completed"),
        "time_held_s": outcome.get("time_held_s"),
        "hold_end": (outcome.get("hold_end") or {}).get("message"),
        "frames_lost": trial["frames_lost"],
        "duration_s": trial["duration_s"],
        "analysed": result is not None,
        "unable": unable_trial(trial),
    }
    if line["unable"]:
        line["time_held_s"] = 0.0
        codes = {str(i.get("code", "")) for i in outcome.get("issues") or [] if isinstance(i, dict)}
        line["scored_unable"] = codes == {"scored_unable"}  # the clinician scored it, nothing was measured
        line["unable_words"] = unable_words(line["scored_unable"], trial["validity_reason"])
    if outcome.get("walk"):  # lost IMU samples of a walk, in words (stored with the trial, or from its counts)
        walk = outcome["walk"]
        # the patient did not get to the gate (stopped, or never started): a result to read, not a lost recording
        issues = [i for i in outcome.get("issues") or [] if isinstance(i, dict)]
        line["walk_not_completed"] = walk_not_completed(trial["valid"], issues, trial.get("judged_by"))
        # the invalid reason says why there are no gait measures (the sensor lost): the page says it once, there
        line["no_gait_in_reason"] = no_gait_in_reason(trial["valid"], issues, trial.get("judged_by"), walk)
        line["imu_gaps"] = walk["imu_gaps"] if "imu_gaps" in walk else \
            imu_gaps_summary(walk, trial.get("frame_count"), (trial.get("metrics") or {}).get("fs_hz"))
        # short gaps filled, the result untouched: one small line, page and PDF alike (the whole words: the trial's page)
        line["imu_gaps_line"] = imu_gaps_line(line["imu_gaps"], walk)
        line["ended_early"] = walk.get("ended_early")  # a walk ended by the station's data (or the treadmill's sensor) lost
        # the sensor's step length and speed that the walk's own speed shows wrong: said where they are missing
        line["step_length_withheld"] = step_length_withheld_words(walk)
    if trial["status"] != "complete":
        line["note"] = unfinished_words(trial["status"], trial.get("status_reason"))
    return line


def unfinished_words(status: str, status_reason: str | None) -> str:
    """What became of a trial that did not finish, by its real cause (the store's ``status`` and
    ``status_reason``), as the results page and the visit PDF say it beside the trial.

    >>> unfinished_words("partial", "disk full: recording stopped; 890 frames (8.9 s) kept")
    "stopped: the station's disk was full; 8.9 s kept, not analysed"
    >>> unfinished_words("partial", "database busy: another program held the station's database for over 30 s, "
    ...                  "so recording stopped; 1200 frames (12.0 s) kept")
    "stopped: another program kept the station's database busy; 12.0 s kept, not analysed"
    >>> unfinished_words("partial", "storage failed: the station's storage failed to write, so recording stopped; "
    ...                  "320 frames (3.2 s) kept")
    "stopped: the station's storage failed to write; 3.2 s kept, not analysed"
    >>> unfinished_words("partial", "storage slow: the station's storage was still writing after 30 s, so recording "
    ...                  "stopped; 3200 frames (32.0 s) kept")
    "stopped: the station's storage (its SD card) was too slow to write; 32.0 s kept, not analysed"
    >>> unfinished_words("partial", "recording interrupted (station stopped or lost power); 300 frames (3.0 s) kept")
    'interrupted (crash or power cut); 3.0 s kept, not analysed'
    >>> unfinished_words("aborted", "patient tired")
    'stopped on purpose (patient tired); not analysed'
    """
    from station.store.trials import STORAGE_SLOW_REASON

    reason = status_reason or ""
    kept = re.search(r"\(([\d.]+ s)\) kept", reason)
    kept_words = f"{kept.group(1)} kept" if kept else "frames kept"
    if status == "partial":
        cause = "stopped: the station's disk was full" if reason.startswith(DISK_FULL_REASON) else \
            "stopped: another program kept the station's database busy" if reason.startswith(DATABASE_BUSY_REASON) \
            else "stopped: the station's storage failed to write" if reason.startswith(STORAGE_FAILED_REASON) \
            else "stopped: the station's storage (its SD card) was too slow to write" \
            if reason.startswith(STORAGE_SLOW_REASON) \
            else "interrupted (crash or power cut)"
        return f"{cause}; {kept_words}, not analysed"
    if status == "aborted":
        return f"stopped on purpose ({reason}); not analysed" if reason else "stopped on purpose; not analysed"
    return {"recording": "still recording"}.get(status, status)


def step_length_withheld_words(walk: dict) -> str | None:
    """Why a walk trial has no step length (and no sensor walking speed), in one short sentence, when
    the station withheld them (``walk["imu_estimate_withheld"]``, station/protocols/walk.py: the
    lower-back sensor's speed estimate is too far off the gates' speed or the belt's); else None.

    >>> step_length_withheld_words({"setting": "overground", "walk_speed_m_s": 0.55,
    ...                             "imu_estimate_withheld": {"off_pct": 33.2, "walking_speed_m_s": 0.73}})
    "Step length not given: the lower-back sensor's speed estimate (0.73 m/s) is 33 % above the light gates' 0.55 m/s."
    """
    withheld = walk.get("imu_estimate_withheld") if walk else None
    if not withheld or withheld.get("off_pct") is None:
        return None
    off = float(withheld["off_pct"])
    treadmill = walk.get("setting") == "treadmill"
    known = walk.get("belt_speed_m_s") if treadmill else walk.get("walk_speed_m_s")
    if known is None and treadmill:
        known = walk.get("walk_speed_m_s")
    whose = "the belt speed entered" if treadmill else "the light gates'"
    estimate = withheld.get("walking_speed_m_s")
    return ("Step length not given: the lower-back sensor's speed estimate"
            + (f" ({estimate:.2f} m/s)" if estimate is not None else "")
            + f" is {abs(off):.0f} % {'above' if off > 0 else 'below'} {whose}"
            + (f" {known:.2f} m/s." if known is not None else "."))


def _walking_class(references: list[dict]) -> list[dict]:
    """A walk speed's references with Perry's two thresholds, applied, read as the class they put the
    patient in (:func:`station.protocols.walk_words.perry_class_reference`); else as they are."""
    cutoffs = [r for r in references if r["kind"] == "cutoff" and r.get("verdict") != "not_applied"]
    perry = perry_class_reference(cutoffs)
    if perry is None:
        return references
    return [r for r in references if r["kind"] != "cutoff" or not str(r.get("source") or "").startswith("Perry J")] + [perry]


def _cutoffs_for(summary: dict, metric: str, condition_id: str) -> list[dict]:
    return [c for c in summary["cutoffs"] if c["metric"] == metric and c["condition"] in (condition_id, None)]


def _protocol_norms_for(summary: dict, metric: str, condition_id: str) -> list[dict]:
    return [n for n in summary["norms"] if n["metric"] == metric and n["condition"] == condition_id]


def not_applied_once(references: list[dict]) -> list[dict]:
    """The cut-offs of one source not applied to this patient for one reason, said once (Perry's two
    walking-class limits: "The published cut-offs (0.4 and 0.8 m/s) were set in ...")."""
    out: list[dict] = []
    for ref in references:
        if ref.get("kind") != "cutoff" or ref.get("verdict") != "not_applied":
            out.append(ref)
            continue
        same = next((r for r in out if r.get("verdict") == "not_applied" and r.get("source") == ref.get("source")
                     and r.get("not_applied_why") == ref.get("not_applied_why")), None)
        if same is None:
            out.append(ref)
            continue
        limits = same.setdefault("limits", [same["limit"]]) + ref.get("limits", [ref["limit"]])
        same["limits"] = limits
        same["words"] = not_applied_words(f"cut-offs ({_and(limits)})", same["population"]["group"],
                                          same["not_applied_why"], plural=True)
    return out


def nested_said_once(references: list[dict]) -> list[dict]:
    """Cut-offs of one source on one side of one measure (the SPPB's tandem stand: under 10 s at most 1 point, under
    3 s none) read as one scale: of those met only the strictest is said (30 s "meets the 10 s criterion", not also
    "meets the 3 s criterion": two lines of one finding), of those crossed only the furthest (2 s: "0 points", not
    also "at most 1 point"). A value between two of them (6 s: below 10 s, at or above 3 s) is one line too, the
    crossed one's, saying where on the scale it is (:data:`CUTOFF_BETWEEN`: "1 of 2 SPPB tandem points", "at or above
    3 s, below 10 s", with its one sentence of the criterion and the points; it read "at most 1 of 2 SPPB tandem
    points" and "meets the 3 s criterion"). A band (``good_side``) keeps its line.

    >>> refs = [{"kind": "cutoff", "source": "G", "metric": "t", "below": 10.0, "verdict": "met"},
    ...         {"kind": "cutoff", "source": "G", "metric": "t", "below": 3.0, "verdict": "met"}]
    >>> [r["below"] for r in nested_said_once(refs)]
    [10.0]
    >>> [r["below"] for r in nested_said_once([{**refs[0], "verdict": "below"}, {**refs[1], "verdict": "below"}])]
    [3.0]
    >>> between = nested_said_once([{**refs[0], "verdict": "below", "finding": "at most 1 point", "limit_words": "below 10 s",
    ...                              "words": "Under 10 s: at most 1 point."},
    ...                             {**refs[1], "finding": "meets the 3 s criterion", "limit_words": "at or above 3 s"}])
    >>> [(r["below"], r["finding"], r["limit_words"]) for r in between]
    [(10.0, 'at most 1 point', 'at or above 3 s, below 10 s')]
    >>> between[0]["words"]
    'Under 10 s: at most 1 point. At or above 3 s, below 10 s.'
    """
    def scale(ref: dict):
        if ref.get("kind") != "cutoff" or ref.get("good_side") or ref.get("verdict") not in ("met", "below", "above"):
            return None
        side = ref.get("flag_side") or ("below" if ref.get("below") is not None else "above")
        return (ref.get("source"), ref.get("metric"), side, ref["verdict"] == "met")

    def rank(ref: dict) -> float:  # the strictest met, the furthest crossed: first
        side, met = scale(ref)[2:]
        return -ref[side] if (side == "below") == met else ref[side]

    kept: dict = {}
    for ref in references:
        key = scale(ref)
        if key is not None and (key not in kept or rank(ref) < rank(kept[key])):
            kept[key] = ref
    out = []
    for r in references:
        key = scale(r)
        if key is not None and kept[key] is not r:
            continue
        if key is not None and key[3] and key[:3] + (False,) in kept:
            continue  # met, with one of its scale crossed: said in the crossed one's line, below
        if key is not None and not key[3] and key[:3] + (True,) in kept:
            met, side = kept[key[:3] + (True,)], key[2]
            where = f"{met.get('limit_words')}, {r.get('limit_words')}" if met.get("limit_words") and r.get("limit_words") \
                else r.get("limit_words")
            known = CUTOFF_BETWEEN.get((str(r.get("metric")), side, float(r[side]), float(met[side])))
            if known:  # its criterion and points in one sentence (the crossed limit's and a second on where: long)
                finding, words = known
            else:  # the crossed one's finding and sentence, and where between the two the value is
                said = f"{where[0].upper()}{where[1:]}."
                finding, words = r.get("finding"), f"{r['words']} {said}" if r.get("words") else said
            r = {**r, "finding": finding, "limit_words": where, "words": words}
        out.append(r)
    return out


def not_applied(ref: dict) -> bool:
    """A published cut-off or a protocol's published values set in people the patient is not known to be one of
    (``not_applied_why``): not read for this patient (Perry's walking classes are read: ``verdict`` ``class``).

    >>> not_applied({"kind": "protocol_norm", "not_applied_why": "age not recorded"}), not_applied({"kind": "norm"})
    (True, False)
    """
    return ref.get("kind") in ("cutoff", "protocol_norm") and bool(ref.get("not_applied_why")) \
        and ref.get("verdict") != "class"


def short_cite(source: str | None) -> str:
    """A source as the pages cite it beside a value (app.js ``shortCite``, the same rule).

    >>> short_cite("Vellas BJ, Wayne SJ, Romero L, et al. One-leg balance ... J Am Geriatr Soc. 1997;45(6):735-8.")
    'Vellas et al. 1997'
    """
    text = str(source or "")
    first = re.split(r"[ ,.]", text)[0]
    year = re.search(r"\b(19|20)\d\d\b", text)
    if not first:
        return ""
    if "," in text.split(".")[0]:
        return f"{first} et al. {year.group(0) if year else ''}".strip()
    return text.split(". ")[0]


def not_applied_together(refs: list[dict], cite) -> str:
    """Several sources' published values a measure is not read against (:func:`not_applied`), said once, each source
    named with whom it was set in, and why once when it is the same for all (it was each a line of its own, the
    patient's conditions repeated back each time). One rule for the visit results (``cite``: "of Vellas et al.
    1997", :func:`not_applied_said`) and the visit PDF (its numbered citation, "[1]").

    >>> why = "the source's population is not known to include people with stroke"
    >>> print(not_applied_together([
    ...     {"kind": "cutoff", "source": "Vellas 1997", "limit": "5 s", "not_applied_why": why,
    ...      "population": {"group": "healthy volunteers older than 60"}},
    ...     {"kind": "protocol_norm", "source": "Springer 2007", "group": "549 healthy adults", "not_applied_why": why}],
    ...     lambda source, doi: f"[{source}]"))
    Not applied to this patient: the cut-off (5 s) [Vellas 1997], set in healthy volunteers older than 60, and the reference values [Springer 2007], set in 549 healthy adults; for both: the source's population is not known to include people with stroke.
    """
    named = []
    for ref in refs:
        cited = cite(ref.get("source"), ref.get("doi"))
        if ref.get("kind") == "cutoff":
            limits = [limit for limit in ref.get("limits") or [ref.get("limit")] if limit]
            what = f"the cut-off{'s' if len(limits) > 1 else ''} ({_and(limits)}) {cited}"
            group = (ref.get("population") or {}).get("group")
        else:
            what, group = f"the reference values {cited}", ref.get("group")
        named.append((f"{what}, set in {group}" if group else what, ref["not_applied_why"]))
    whys = list(dict.fromkeys(why for _, why in named))
    if len(whys) == 1:
        listed = ", ".join(w for w, _ in named[:-1]) + f", and {named[-1][0]}"
        return f"Not applied to this patient: {listed}; for {'both' if len(named) == 2 else 'each'}: {whys[0]}."
    # each source's reason in its own bracket, or in the one its group's words end with ("(mean age 76.3 y; ...)")
    return "Not applied to this patient: " + "; ".join(f"{w[:-1]}; {why})" if w.endswith(")") else f"{w} ({why})"
                                                       for w, why in named) + "."


def not_applied_said(entry: dict) -> None:
    """A key measure read against none of two or more sources set in other people: said once, for the visit results
    (``not_applied_together``, the words; its references ``said_together``, not each a line of their own) and the
    visit PDF (the same references, with its numbered citations).

    >>> why = "age not recorded"
    >>> entry = {"references": [{"kind": "cutoff", "source": "Vellas BJ, Wayne SJ. One-leg. 1997.", "limit": "5 s",
    ...                          "not_applied_why": why, "population": {"group": "older adults"}},
    ...                         {"kind": "protocol_norm", "source": "Springer BA, Marin R. Normative. 2007.",
    ...                          "group": "healthy adults", "not_applied_why": why}]}
    >>> not_applied_said(entry)
    >>> print(entry["not_applied_together"])
    Not applied to this patient: the cut-off (5 s) of Vellas et al. 1997, set in older adults, and the reference values of Springer et al. 2007, set in healthy adults; for both: age not recorded.
    >>> [r["said_together"] for r in entry["references"]]
    [True, True]
    """
    apart = [r for r in entry.get("references") or [] if not_applied(r)]
    if len(apart) < 2:
        return
    entry["not_applied_together"] = not_applied_together(apart, lambda source, doi: f"of {short_cite(source)}")
    for ref in apart:
        ref["said_together"] = True


def _and(limits: list[str]) -> str:
    """"0.4 and 0.8 m/s" from ["0.4 m/s", "0.8 m/s"] or ["0.8 m/s", "0.4 m/s"] (in rising order, one
    unit said once)."""
    limits = sorted(limits, key=lambda limit: float(limit.partition(" ")[0]))
    units = {limit.partition(" ")[2] for limit in limits}
    if len(units) == 1 and units != {""}:
        return " and ".join(limit.partition(" ")[0] for limit in limits) + " " + units.pop()
    return " and ".join(limits)


def key_measures(protocol: Protocol, condition_summary: dict, summary: dict, age_y: float | None,
                 results: list[TrialResult] | tuple = ()) -> list[dict]:
    """The measures clinicians read first for one condition, each with its reference. ``results``: the
    protocol's analysed trials (:func:`stored_result`), from which a norm left uncompared says why
    (:func:`norm_withheld_words`)."""
    condition = protocol.condition(condition_summary["id"])
    stance = condition.stance
    values = condition_summary["values"]
    valid = [r.to_dict() for r in results if r.valid and r.plan.condition.id == condition.id]
    settings = condition_summary.get("settings") or {}  # entered, each session's (results.summarise): never averaged
    counts = condition_summary.get("counts") or {}  # a walk's counts, each trial's (results.summarise)
    out = []
    walk = protocol.outcome == "walk"
    setting = protocol.walk.setting if walk and getattr(protocol, "walk", None) is not None else None
    mine = [r for r in results if r.valid and r.plan.condition.id == condition.id and r.metrics is not None]
    sessions = treadmill_sessions(mine) if setting == "treadmill" else []
    for key, label, unit in (key_measures_for(setting) if walk else KEY_MEASURES):
        if walk and key not in values and key not in settings:
            continue
        if key == "time_held_s" and protocol.outcome != "time_held":
            continue
        if key == "weight_left_pct" and (key not in values or stance.feet.startswith("single")):
            continue  # on one leg the left/right split says only which leg was standing
        entry = {"metric": key, "label": label, "unit": unit, "value": values.get(key), "references": []}
        if key in settings:  # a setting entered: each session's ("value" only when they are all the same)
            entry["settings"] = settings[key]
        if key in counts:  # a count: each trial's, as counted ("value" their mean, for a change)
            entry["counts"] = counts[key]
        if walk and key == "steps" and setting != "treadmill":  # counted over the whole recording, not the timed metres
            entry["label"] = "Steps (whole recording)"
        norm = norms.compare(key, values.get(key), age_y=age_y, eyes=stance.eyes, surface=stance.surface,
                             feet=stance.feet, duration_s=condition.duration_s)
        withheld = None if norm is None or not norm["comparable"] else \
            norm_withheld_words(protocol.outcome, condition.duration_s, values.get(key), valid)
        if withheld:  # no value, or one of a hold cut short: not read against full-length reference trials
            norm = {**norm, "comparable": False, "not_compared": True, "percentile": None, "band": None,
                    "note": withheld}
        if norm is not None:
            entry["references"].append({"kind": "norm", **norm})
            entry["references"][-1].update(norm_reading(key, norm, stance.feet))
        for cut in _cutoffs_for(summary, key, condition.id):
            entry["references"].append({"kind": "cutoff", **cut, **cutoff_reading(cut, unit)})
        if norm is None:  # the protocol's own published norms (e.g. single-leg times by age)
            for pnorm in _protocol_norms_for(summary, key, condition.id):
                entry["references"].append({"kind": "protocol_norm", **pnorm})
        if key == "weight_left_pct" and values.get(key) is not None:
            entry["right_pct"] = values.get("weight_right_pct", 100.0 - values[key])
            if condition_summary.get("weight_bearing"):
                entry["words"] = condition_summary["weight_bearing"]["words"]
                entry["glance"] = weight_glance(condition_summary["weight_bearing"])
        if walk:  # what it means and which way is better (station.protocols.walk_words)
            entry["words"] = measure_words(key, {**values, **settings, **counts}, setting)
            if key == "walk_speed_m_s":
                entry["references"] = _walking_class(entry["references"])
            if len(sessions) > 1:
                _each_session_unless_comparable(entry, sessions)
        if entry["value"] is not None and key not in settings and key not in counts and key not in OWN_SCORE:
            each = [v for v in (_finite(((r.metrics or {}).get("metrics") or {}).get(key)) for r in mine) if v is not None]
            if len(each) > 1:  # the value is their mean: said so, with each (its noun: a treadmill's trial is a session)
                entry.update(each=each, each_noun="sessions" if setting == "treadmill" else "trials")
        entry["references"] = nested_said_once(not_applied_once(entry["references"]))
        not_applied_said(entry)  # two or more sources set in other people: said once, page and PDF alike
        if key == "path_length_cm" and not entry["references"]:
            entry["note"] = "No published reference: path length is the mean velocity times the trial's length."
        out.append(entry)
    return out


OWN_SCORE = ("time_held_s", "weight_left_pct")
"""Key measures said their own way, not as a mean of the trials: the time held is the test's score (the best or the
mean, said with each attempt's), the weight split is left / right."""


def treadmill_sessions(valid: list[TrialResult]) -> list[dict]:
    """A treadmill condition's valid sessions (each a trial), oldest first: each one's plan (``planned_min``,
    ``belt_speed_m_s``), its time from the go to its end (``recorded_s``), its measures (``values``) and its
    ``words`` against its own plan (:func:`~station.protocols.walk_words.treadmill_session_words`)."""
    out = []
    for r in valid:
        values = {k: v for k, v in ((r.metrics or {}).get("metrics") or {}).items() if _finite(v) is not None}
        one = {"trial": r.plan.trial, "planned_min": values.get("planned_min"),
               "belt_speed_m_s": values.get("belt_speed_m_s", values.get("walk_speed_m_s")),
               "walking_min": values.get("walking_min"), "recorded_s": r.analysis_end_s, "values": values}
        planned = one["planned_min"]
        early = planned is not None and one["recorded_s"] is not None and one["recorded_s"] < planned * 60.0 - 1.0
        out.append({**one, "words": treadmill_session_words(one), "stopped_early": early})
    return out


_SESSION_UNITS = {"cadence_steps_min": (1, " steps/min"), "stride_time_cv_pct": (1, " %"),
                  "step_time_cv_pct": (1, " %"), "step_symmetry": (2, "")}


def _each_session_unless_comparable(entry: dict, sessions: list[dict]) -> None:
    """A treadmill measure of a visit's several sessions (:func:`treadmill_sessions`) that differ in what the measure
    depends on (the planned minutes, the belt speed: :func:`~station.protocols.walk_words.treadmill_not_compared`):
    each session's said (``sessions``, in words), never their mean (``value`` None: nothing compared with it)."""
    key = entry["metric"]
    why = sorted({w for s in sessions[1:] if (w := treadmill_not_compared(key, sessions[0], s))})
    if not why:
        return
    if key == "walking_min":
        each = [s["words"] for s in sessions]
    elif key in _SESSION_UNITS:
        digits, unit = _SESSION_UNITS[key]
        each = [("–" if s["values"].get(key) is None else f"{s['values'][key]:.{digits}f}{unit}")
                + (f" at {s['belt_speed_m_s'] * 3.6:.1f} km/h" if s.get("belt_speed_m_s") else "") for s in sessions]
    else:
        return  # counts are said each already (their ``counts``)
    plans = list(dict.fromkeys(s["planned_min"] for s in sessions if s.get("planned_min")))  # in the sessions' order
    speeds = list(dict.fromkeys(round(s["belt_speed_m_s"] * 3.6, 1) for s in sessions if s.get("belt_speed_m_s")))
    differ = ([f"planned {' and '.join(f'{p:g}' for p in plans)} min"] if key == "walking_min" and len(plans) > 1 else []) \
        + ([f"belt speed {' and '.join(f'{v:.1f}' for v in speeds)} km/h"] if len(speeds) > 1 else [])
    entry.update(value=None, sessions=each)
    if key == "walking_min":  # (the plans' mean words, "a session on average, of the 1 and 30 min planned", left out)
        entry["words"] = f"Each session against its own plan, not averaged ({', '.join(differ)}); more is better."
    else:
        entry["words"] = f"Each session at its own belt speed, not averaged ({', '.join(differ)}). " + entry.get("words", "")


def norm_withheld_words(outcome: str, nominal_s: float, value: float | None, valid: list[dict]) -> str | None:
    """Why a condition's sway measure (``value``, the mean over its ``valid`` trials: each
    :meth:`TrialResult.to_dict`, or its ``time_held_s``, ``completed``, ``metrics`` and ``metrics_note``) is not
    compared with the age-group norms, in words; None when it is compared.

    No value: why there is none (no valid trial; the patient could not take the position; held too
    briefly for sway measures: the trials' own notes). A value from a timed hold (``outcome``
    ``time_held``) that ended before its ``nominal_s`` (the patient lost the position, or the clinician
    ended it): sway measures depend on the length analysed, so a short hold is not read against
    reference trials of :data:`station.reference.norms.REFERENCE_TRIAL_S` s as if it were a full one
    (an 8.9-s hold read as "less sway than 95 % of the reference group"); the hold itself is the
    finding (the time held and its cut-off).

    >>> short = {"time_held_s": 8.94, "completed": False, "metrics": {"metrics": {"mean_velocity_cm_s": 0.6}}}
    >>> norm_withheld_words("time_held", 30.0, 0.6, [short])
    'Held 8.9 s of 30 s: not compared with the norms, whose reference trials lasted 60 s (sway measures depend on the length of the trial). The time held is the finding.'
    >>> norm_withheld_words("time_held", 30.0, None, [])
    'No valid trial in this condition: no value to compare.'
    >>> full = {**short, "time_held_s": 30.0, "completed": True}
    >>> norm_withheld_words("time_held", 30.0, 0.6, [full]) is None
    True
    >>> norm_withheld_words("time_held", 30.0, 0.6, [full, short]).split(":")[0]
    'Held 8.9 s of 30 s in 1 of the 2 trials averaged'
    >>> norm_withheld_words("sway", 30.0, 0.6, [short]) is None
    True
    """
    measured = [t for t in valid if t.get("metrics")]
    held_short = [t["time_held_s"] for t in measured if not t.get("completed") and t.get("time_held_s") is not None]
    if value is not None:
        if outcome != "time_held" or not held_short:
            return None
        held = " and ".join(f"{t:.1f}" for t in held_short) + " s"
        lead = f"Held {held} of {nominal_s:g} s" if len(measured) == len(held_short) else \
            f"Held {held} of {nominal_s:g} s in {len(held_short)} of the {len(measured)} trials averaged"
        return (f"{lead}: not compared with the norms, whose reference trials lasted {norms.REFERENCE_TRIAL_S:g} s "
                "(sway measures depend on the length of the trial). The time held is the finding.")
    if not valid:
        return "No valid trial in this condition: no value to compare."
    if all(t.get("time_held_s") == 0.0 and not t.get("metrics") for t in valid):
        return "The patient could not take the position (0 s): no sway to compare."
    notes = list(dict.fromkeys(t["metrics_note"] for t in valid if not t.get("metrics") and t.get("metrics_note")))
    return " ".join(notes) or "No sway measures in this condition's valid trials: no value to compare."


def weight_glance(split: dict) -> dict:
    """The weight split at a glance (``split``: :func:`station.protocols.results.summarise`'s
    ``weight_bearing``): the two shares, which side bears more and by how many percentage points, and
    the clinic's asymmetry limit when one is set (``flagged`` then says which side of it; ``tone``
    ``flag`` above it); no published cut-off is carried for quiet stance (weight-bearing.toml).

    >>> weight_glance({"left_pct": 59.4, "right_pct": 40.6, "asymmetry_pct": 18.8, "more_on": "left",
    ...                "flag_pct": None, "flagged": None})["words"]
    'weight 59.4 % left / 40.6 % right: 18.8 points more on the left (no published cut-off)'
    >>> weight_glance({"left_pct": 44.0, "right_pct": 56.0, "asymmetry_pct": 12.0, "more_on": "right",
    ...                "flag_pct": 10.0, "flagged": True})
    {'words': "weight 44.0 % left / 56.0 % right: 12.0 points more on the right (above the clinic's 10-point limit)", 'tone': 'flag'}
    """
    words = f"weight {split['left_pct']:.1f} % left / {split['right_pct']:.1f} % right"
    diff = split["asymmetry_pct"]
    words += f": {diff:.1f} points more on the {split['more_on']}" if diff >= 0.05 else ": even"
    if split.get("flag_pct") is None:
        return {"words": words + " (no published cut-off)", "tone": "neutral"}
    side = "above" if split["flagged"] else "within"
    return {"words": words + f" ({side} the clinic's {split['flag_pct']:g}-point limit)",
            "tone": "flag" if split["flagged"] else "neutral"}


LOWER_IS_LESS_SWAY = ("ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm", "rms_distance_cm")
"""Measures where a lower value means less sway (steadier)."""
STANCE_BETTER = {
    **{metric: ("lower", "lower is better: less sway") for metric in LOWER_IS_LESS_SWAY},
    "time_held_s": ("higher", "higher is better"),
}
"""Which way a stance measure's change is a benefit on the history, with its words (walks:
:mod:`station.protocols.walk_words`): less sway is steadier, a longer hold is better; the weight split
(best at 50 %) and the rest have no better direction by themselves."""


CUTOFF_FINDINGS: dict[tuple[str, str, float], str] = {
    ("walk_time_s", "above", 4.5): "high fall risk",  # Carter et al. 2019/2020, 3-m backward walk
    ("walk_time_s", "below", 3.0): "low fall risk",  # the good end of Carter's band (good_side)
    ("walk_time_s", "above", 5.5): "in the range of older adults who had fallen",  # Polo-Ferrero et al. 2025
    ("walk_speed_m_s", "below", 0.4): "household walking",  # Perry et al. 1995 (read as a class: walk_words.py)
    ("walk_speed_m_s", "below", 0.8): "limited community walking",
    ("time_held_s", "below", 5): "higher risk of injurious falls",  # Vellas et al. 1997, one leg
    ("time_held_s", "below", 10): "at most 1 of 2 SPPB tandem points",  # Guralnik et al. 1994
    ("time_held_s", "below", 3): "no SPPB tandem point",
    ("time_held_s", "below", 30): "this sensory condition is a problem",  # mCTSIB condition score
}
"""What crossing a protocol's published cut-off means for the patient, in a few words (the
protocol's ``meaning`` is the source's sentence), by (metric, side, limit)."""

CUTOFF_BETWEEN: dict[tuple[str, str, float, float], tuple[str, str]] = {
    ("time_held_s", "below", 10, 3): (  # Guralnik et al. 1994: 3 to under 10 s, the 3-s limit's sentence's pair
        "1 of 2 SPPB tandem points",
        "Tandem stand held for 3 s or more but less than 10 s: 1 of 2 points in the Short Physical Performance "
        "Battery balance test."),
}
"""What a value between two cut-offs of one scale means (crossed the first, met the second), by (metric, side, the
limit crossed, the limit met): its finding in a few words and the cut-off's sentence, the criterion and the points
(:func:`nested_said_once` says it in one line; the crossed limit's own sentence, "not held for 10 s: at most 1 of 2
points; the battery's tests predicted ...", is not said as well: the value is placed exactly)."""

CUTOFF_FOR: dict[tuple[str, str, float], str] = {
    ("walk_time_s", "above", 5.5): "fall-history",  # Polo-Ferrero et al. 2025: faller vs non-faller in the past year
}
"""What a risk cut-off separates, said when it is not crossed too ("not slower than the 5.5 s fall-history
cut-off"): a cut-off passed reads as what it is for, never as an all clear."""

SLOWER_WHEN = {("walk_time_s", "above"), ("walk_speed_m_s", "below")}
"""Cut-offs a walk crosses by being slower than the limit."""
FASTER_WHEN = {("walk_time_s", "below"), ("walk_speed_m_s", "above")}
"""The good end of a walk's band, crossed by being faster than the limit."""


def _crossed_words(metric: str, side: str, limit: str) -> str:
    """"slower than 4.5 s", "faster than 3 s", "below 5 s": the side of a limit a value is on."""
    if (metric, side) in SLOWER_WHEN:
        return f"slower than {limit}"
    return f"faster than {limit}" if (metric, side) in FASTER_WHEN else f"{side} {limit}"


def _neither(bad: str, good: str) -> str:
    """The middle of a band in words, the findings' shared ending said once.

    >>> _neither("high fall risk", "low fall risk"), _neither("flagged", "clear")
    ('neither high nor low fall risk', 'neither flagged nor clear')
    """
    b, g = bad.split(), good.split()
    n = 0
    while n < min(len(b), len(g)) - 1 and b[-1 - n] == g[-1 - n]:
        n += 1
    tail = " ".join(b[len(b) - n:])
    return f"neither {' '.join(b[:len(b) - n])} nor {' '.join(g[:len(g) - n])}" + (f" {tail}" if tail else "")


def cutoff_reading(cut: dict, unit: str) -> dict:
    """What a published cut-off says of the patient's value, in plain words.

    ``verdict``: ``met`` (the criterion is met: not below / not above the limit), ``below`` or
    ``above`` (the limit is crossed; ``words`` then says what that implies, from the source), or
    None when there is no value; a cut-off with a good end (``good_side``) not crossed reads
    ``better`` or ``between`` instead of ``met`` (:func:`_good_end_reading`). ``finding``: the verdict for this patient in a few words, in the
    patient's frame ("high fall risk"; a walk's cut-off not crossed: "not slower than the 4.5 s cut-off", never
    "criterion met", which in fall-risk screening reads as screened positive); ``limit_words``: the
    side of the limit the value is on ("slower than 4.5 s"; met: "at or below 4.5 s"), so that a
    page or report says "4.99 s: high fall risk (slower than 4.5 s)", never "not met" beside the
    source's risk sentence.

    >>> r = cutoff_reading({"metric": "walk_time_s", "value": 4.99, "above": 4.5, "flagged": True,
    ...                     "meaning": "3-m backward walk slower than 4.5 s: high risk of falls."}, "s")
    >>> r["verdict"], r["finding"], r["limit_words"]
    ('above', 'high fall risk', 'slower than 4.5 s')
    >>> r = cutoff_reading({"metric": "walk_time_s", "value": 4.99, "above": 5.5, "flagged": False,
    ...                     "meaning": "Slower than 5.5 s: a history of falls."}, "s")
    >>> r["finding"], r["limit_words"], r["words"], r["tone"]
    ('not slower than the 5.5 s fall-history cut-off', 'at or below 5.5 s', 'At or below 5.5 s: not beyond the cut-off. Slower than 5.5 s: a history of falls.', 'neutral')

    A cut-off set in a population the patient is not known to belong to (``not_applied_why``, from
    :func:`station.protocols.results.summarise`) has no verdict: ``verdict`` ``not_applied`` and
    words that say so, never the source's risk sentence.

    >>> r = cutoff_reading({"metric": "walk_time_s", "value": 4.99, "above": 4.5, "flagged": None,
    ...                     "population": {"group": "older adults"}, "not_applied_why": "age not recorded"}, "s")
    >>> r["verdict"], r["finding"], r["words"]
    ('not_applied', 'cut-off not applied', 'The published cut-off (4.5 s) was set in older adults; it is not applied to this patient (age not recorded).')

    A band's two ends (``good_side``: Carter's 3.0 and 4.5 s) are both named, in rising order:

    >>> cutoff_reading({"metric": "walk_time_s", "value": 2.8, "above": 4.5, "below": 3.0, "flag_side": "above",
    ...                 "good_side": "below", "flagged": None, "population": {"group": "older adults"},
    ...                 "not_applied_why": "age not recorded"}, "s")["words"]
    'The published cut-offs (3 and 4.5 s) were set in older adults; they are not applied to this patient (age not recorded).'
    """
    side = cut.get("flag_side") or ("below" if cut.get("below") is not None else "above")
    if cut.get("not_applied_why"):
        limit = f"{cut[side]:g} {unit}".strip()
        good = cut.get("good_side")  # a band (Carter's 3.0 and 4.5 s): both ends named, in rising order
        ends = {"limits": [limit, f"{cut[good]:g} {unit}".strip()]} if good and cut.get(good) is not None else {}
        what = f"cut-offs ({_and(ends['limits'])})" if ends else f"cut-off ({limit})"
        return {"verdict": "not_applied", "finding": "cut-off not applied", "limit_words": None, "limit": limit, **ends,
                "words": not_applied_words(what, (cut.get("population") or {}).get("group") or
                                           "another population", cut["not_applied_why"], plural=bool(ends))}
    value = cut.get("value")
    if value is None or cut.get("flagged") is None:
        return {"verdict": None, "words": "No value to compare with the criterion.", "finding": "no value",
                "limit_words": None}
    limit = f"{cut[side]:g} {unit}".strip()
    metric = str(cut.get("metric") or "")
    finding = CUTOFF_FINDINGS.get((metric, side, float(cut[side])), "beyond the published cut-off")
    band = f" {cut['good_meaning']}" if cut.get("good_side") else ""  # the band's good end, said with its flag
    if not cut["flagged"] and cut.get("good_side"):
        return _good_end_reading(cut, unit, finding)
    if not cut["flagged"]:
        reached = "At or above" if side == "below" else "At or below"
        if (metric, side) in SLOWER_WHEN:  # a risk cut-off not crossed: "criterion met" reads as screened positive
            # what the cut-off is for, said in the pass case too, with the source's sentence; plain, not green: a
            # screening cut-off not crossed is no all clear (beside Carter's "neither high nor low fall risk")
            what = CUTOFF_FOR.get((metric, side, float(cut[side])))
            meaning = str(cut.get("meaning") or "").strip()
            return {"verdict": "met", "tone": "neutral",
                    "words": f"{reached} {limit}: not beyond the cut-off." + (f" {meaning}" if meaning else ""),
                    "finding": f"not slower than the {limit} {what + ' ' if what else ''}cut-off",
                    "limit_words": f"{reached.lower()} {limit}"}
        return {"verdict": "met", "words": f"{reached} {limit}: the criterion is met.",
                "finding": f"{'within' if side == 'above' else 'meets'} the {limit} criterion",
                "limit_words": f"{reached.lower()} {limit}"}
    meaning = str(cut.get("meaning") or "").strip()
    number = f"{cut[side]:g}"
    if re.search(rf"(?<![\d.]){re.escape(number)}(?:\.0+)?\s*{re.escape(unit)}", meaning):
        words = meaning  # the source's words already name the limit
    else:
        words = f"{side.capitalize()} {limit}: {meaning}".strip()
    return {"verdict": side, "words": words + band, "finding": finding, "limit_words": _crossed_words(metric, side, limit)}


def _good_end_reading(cut: dict, unit: str, flag_finding: str) -> dict:
    """:func:`cutoff_reading` of a cut-off with a good end (``good_side``) whose flag the value did
    not cross: beyond the good end (verdict ``better``: Carter's "low fall risk", faster than 3 s),
    or between the two bounds (verdict ``between``: "neither high nor low fall risk"); ``words``
    give both ends' meanings, the one the value is at first.

    >>> cut = {"metric": "walk_time_s", "value": 3.4, "below": 3.0, "above": 4.5, "flagged": False,
    ...        "flag_side": "above", "good_side": "below", "good": False,
    ...        "meaning": "Slower than 4.5 s: high risk of falls.", "good_meaning": "Faster than 3.0 s: low risk."}
    >>> r = cutoff_reading(cut, "s")
    >>> r["verdict"], r["finding"], r["limit_words"]
    ('between', 'neither high nor low fall risk', 'between 3 and 4.5 s')
    >>> r = cutoff_reading({**cut, "value": 2.8, "good": True}, "s")
    >>> r["verdict"], r["finding"], r["limit_words"], r["words"]
    ('better', 'low fall risk', 'faster than 3 s', 'Faster than 3.0 s: low risk. Slower than 4.5 s: high risk of falls.')
    """
    metric, side = str(cut.get("metric") or ""), cut["good_side"]
    limit = f"{cut[side]:g} {unit}".strip()
    finding = CUTOFF_FINDINGS.get((metric, side, float(cut[side])), "beyond the good end of the cut-off")
    if cut.get("good"):
        return {"verdict": "better", "finding": finding, "limit_words": _crossed_words(metric, side, limit),
                "words": f"{cut['good_meaning']} {cut['meaning']}"}
    return {"verdict": "between", "finding": _neither(flag_finding, finding),
            "limit_words": f"between {cut['below']:g} and {cut['above']:g} {unit}".rstrip(),
            "words": f"{cut['meaning']} {cut['good_meaning']}"}


def trial_held_verdict(protocol: Protocol, trial: dict, age_y: float | None, patient_conditions) -> str | None:
    """A stored trial's (``Trials.get``) :func:`station.protocols.results.held_verdict` when it is a valid hold that
    ended before the trial's length (the visit results' trial line, the trial page), else None (unable, invalid,
    held to the end, no hold).

    >>> from station.protocols.loader import builtin_protocols
    >>> trial = {"condition": "left", "valid": True, "metrics": {"trial": {"completed": False, "time_held_s": 3.2}}}
    >>> trial_held_verdict(builtin_protocols()["single-leg"], trial, 75, [])
    'flagged'
    >>> trial_held_verdict(builtin_protocols()["single-leg"], {**trial, "valid": False}, 75, []) is None
    True
    """
    outcome = (trial.get("metrics") or {}).get("trial") or {}
    if not trial.get("valid") or unable_trial(trial) or outcome.get("completed") is not False \
            or outcome.get("time_held_s") is None:
        return None
    return held_verdict(protocol, trial["condition"], float(outcome["time_held_s"]), age_y, patient_conditions)


def trial_cutoffs(protocol: Protocol, trial: dict, patient: dict, wall_clock=time.time) -> list[dict]:
    """The protocol's published cut-offs read against one stored trial's own values (``Trials.get``),
    for the trial page, as the visit results read them against the mean of the valid trials: each
    :func:`cutoff_reading` beside its cut-off (metric with its ``label`` and ``unit``, value, limits,
    source), under the same
    population rule (``patient``'s birth year and condition tags, :func:`summarise`). Empty for a
    trial with nothing to read (not finished, invalid, no value a cut-off reads)."""
    from station.reference.measures import unit_of

    result = stored_result(protocol, trial)
    if result is None or not result.valid:
        return []
    summary = summarise(protocol, [result], age_y=age_in_year(patient.get("birth_year"), wall_clock),
                        patient_conditions=patient.get("conditions") or [])
    cuts = [c for c in summary["cutoffs"] if c["condition"] in (trial["condition"], None) and c["value"] is not None]
    labels = {key: label for key, label, _unit in KEY_MEASURES + WALK_KEY_MEASURES}
    out = []
    for metric in dict.fromkeys(c["metric"] for c in cuts):
        named = {"label": labels.get(metric, metric), "unit": unit_of(metric)}
        refs = [{"kind": "cutoff", **c, **named, **cutoff_reading(c, named["unit"])} for c in cuts if c["metric"] == metric]
        if protocol.outcome == "walk" and metric == "walk_speed_m_s":  # Perry's classes by name, as the visit results
            refs = [{**named, **r} for r in _walking_class(refs)]
        out += not_applied_once(refs)
    return out


def mdc_verdict(change: float | None, exceeds_mdc: bool | None, better: str | None) -> dict | None:
    """A change against the MDC (on the history since the first session, for a walk measure since the
    previous visit), as the pages and reports say it: ``words`` and a ``tone`` ("better", "worse", "unknown": beyond the MDC where the measure has no better direction,
    "within": may be noise), so that an improvement is not read as a warning. ``better`` is the
    measure's direction of benefit ("higher", "lower" or None; walk_words.py). None without an MDC or
    a change.

    >>> mdc_verdict(0.21, True, "higher")["words"]
    'beyond the MDC: a real improvement'
    >>> mdc_verdict(-0.21, True, "higher")["tone"], mdc_verdict(0.05, False, "higher")["words"]
    ('worse', 'within the MDC: may be noise')
    """
    if change is None or exceeds_mdc is None:
        return None
    if not exceeds_mdc:
        return {"tone": "within", "words": "within the MDC: may be noise"}
    if better is None:
        return {"tone": "unknown", "words": "beyond the MDC: a real change"}
    improved = (change > 0) == (better == "higher")
    return ({"tone": "better", "words": "beyond the MDC: a real improvement"} if improved
            else {"tone": "worse", "words": "beyond the MDC: a real worsening"})


def norm_reading(metric: str, norm: dict, feet: str) -> dict:
    """How to read a percentile: which way is better, whether it lies outside the 5th-95th
    percentiles of the reference group and whether that is good news (``flag_tone``: "worse" beyond
    the tail in the worse direction, "better" in the better one, e.g. less sway than 95 % of the
    group; "unusual" where neither direction is better), and whether the reference fits this test at
    all."""
    better = "lower" if metric in LOWER_IS_LESS_SWAY else None
    out = {"better": better,
           "direction": "lower = less sway (steadier)" if better == "lower" else "neither higher nor lower is better",
           "flag": None, "fits": True, "misfit": ""}
    pct = norm.get("percentile")
    if norm.get("comparable") and pct is not None:
        value, p05, p95 = norm["value"], norm["p05"], norm["p95"]
        if value > p95:
            out["flag"] = "above_p95"
            out["flag_words"] = ("More sway than 95 % of the reference group" if better == "lower"
                                 else "Above the 95th percentile of the reference group")
            out["flag_tone"] = "worse" if better == "lower" else "unusual"
        elif value < p05:
            out["flag"] = "below_p05"
            out["flag_words"] = ("Less sway than 95 % of the reference group" if better == "lower"
                                 else "Below the 5th percentile of the reference group")
            out["flag_tone"] = "better" if better == "lower" else "unusual"
    misfit = []
    if feet == "together":
        misfit.append("feet together here, comfortable stance in the reference")
    note = norm.get("note") or ""
    lasted = re.search(r"The reference trials lasted ([\d.]+ s), this one ([\d.]+ s)", note)
    if lasted:
        misfit.append(f"reference trials of {lasted.group(1)}, this one {lasted.group(2)}")
    if misfit:
        out["fits"] = False
        out["misfit"] = "Rough guide only: " + "; ".join(misfit) + "."
    return out


def _protocol_results(protocol: Protocol, trials: list[dict], age_y: float | None,
                      patient_conditions: list[str] | None = None) -> dict:
    results = []
    lines = []
    for trial in trials:
        result = stored_result(protocol, trial)
        lines.append(_trial_line(trial, result))
        verdict = trial_held_verdict(protocol, trial, age_y, patient_conditions)
        if verdict is not None:  # a hold that ended early, read against the cut-offs that apply to this patient
            lines[-1]["held_verdict"] = verdict
        if result is not None:
            results.append(result)
    ran = {t["condition"] for t in trials}
    summary = summarise(protocol, results, age_y=age_y, patient_conditions=patient_conditions)
    conditions = []
    for c in summary["conditions"]:
        if c["id"] not in ran:
            continue
        conditions.append({**c, "key_measures": key_measures(protocol, c, summary, age_y, results),
                           "trials": [line for line in lines if line["condition"] == c["id"]]})
        conditions[-1]["walk_not_completed"] = walk_not_completed_words(conditions[-1])
        if protocol.outcome == "walk" and protocol.walk is not None and protocol.walk.setting == "treadmill":
            each = treadmill_sessions([r for r in results if r.valid and r.plan.condition.id == c["id"] and r.metrics])
            if len(each) > 1 or any(s["stopped_early"] for s in each):  # each against its own plan, at a glance
                conditions[-1]["treadmill_sessions"] = [s["words"] for s in each]
            conditions[-1]["gait_pooled"] = not any(treadmill_not_compared("cadence_steps_min", each[0], s) for s in each[1:])
        for m in conditions[-1]["key_measures"]:  # the time held's published cut-offs that apply: dashed lines on its
            if m["metric"] == "time_held_s":  # chart of the trials, as the history's (one rule: history_cutoffs)
                m["lines"] = history_cutoffs(protocol, c["id"], "time_held_s", m["unit"], patient_conditions or (), age_y)
                m["trial_s"] = protocol.condition(c["id"]).duration_s  # the chart's top: the longest a trial runs
        conditions[-1]["no_sway_words"] = no_sway_words(conditions[-1]["trials"])
        if conditions[-1]["no_sway_words"]:  # no stance to measure sway in: the time held alone, no "–" beside a missing norm
            conditions[-1]["key_measures"] = [m for m in conditions[-1]["key_measures"] if m["metric"] == "time_held_s"]
    romberg = summary["romberg"]
    return {
        "sensory": sensory_summary(protocol, conditions),
        "protocol": protocol.name,
        "title": protocol.title,
        "outcome": protocol.outcome,
        "conditions": conditions,
        "romberg": romberg if romberg and any(c["id"] in romberg.values() for c in conditions) else None,
        "cutoffs": summary["cutoffs"],
        "references": summary["references"],
        "trial_count": summary["trial_count"],
        "valid_trial_count": summary["valid_trial_count"],
        "count_words": trial_count_words(lines),
        "other_trials": [line for line in lines if line["condition"] not in {c["id"] for c in conditions}],
        "limits_of_stability": summary.get("limits_of_stability"),
        "training": summary.get("training"),
    }


SENSORY_RATIOS = (
    ("firm_ec", "Firm, eyes closed / firm, eyes open",
     "vision taken away: the feet and the inner ear remain (the Romberg quotient of the mCTSIB)"),
    ("foam_eo", "Foam, eyes open / firm, eyes open",
     "the feet's sense made unreliable by the foam: vision and the inner ear remain"),
    ("foam_ec", "Foam, eyes closed / firm, eyes open",
     "only the inner ear remains reliable (vestibular)"),
)
"""The mCTSIB's sway-velocity ratios against firm surface, eyes open: (condition, label, meaning)."""


def sensory_summary(protocol: Protocol, conditions: list[dict]) -> dict | None:
    """The mCTSIB's composite and sensory ratios, or None for other protocols.

    ``composite_s``: the sum of the conditions' scores (mean time held), out of ``max_s`` (4 × 30 s),
    as reported for the mCTSIB (Shirley Ryan AbilityLab); conditions not run count as missing and
    the composite is then not given. Ratios: mean sway velocity of a condition over that of firm
    surface, eyes open (how much more the patient sways when a sense is taken away); above 1 is
    more sway. No published cut-off is carried for these ratios."""
    wanted = [c.id for c in protocol.conditions]
    if protocol.outcome != "time_held" or not {"firm_eo", "firm_ec", "foam_eo", "foam_ec"} <= set(wanted):
        return None
    by_id = {c["id"]: c for c in conditions}
    scores = [by_id.get(cid, {}).get("values", {}).get("time_held_s") for cid in ("firm_eo", "firm_ec", "foam_eo", "foam_ec")]
    max_s = 4 * protocol.duration_s
    out = {"composite_s": None, "max_s": max_s, "ratios": [],
           "note": "Ratios of mean sway velocity; above 1 means more sway than on a firm surface with the eyes open. "
                   "No published cut-off is carried for them."}
    if all(v is not None for v in scores):
        out["composite_s"] = round(sum(scores), 2)
        out["composite_pct"] = round(100.0 * sum(scores) / max_s, 1)
    base = by_id.get("firm_eo", {}).get("values", {}).get("mean_velocity_cm_s")
    for cid, label, meaning in SENSORY_RATIOS:
        value = by_id.get(cid, {}).get("values", {}).get("mean_velocity_cm_s")
        ratio = value / base if value is not None and base else None
        out["ratios"].append({"condition": cid, "label": label, "meaning": meaning,
                              "ratio": None if ratio is None else round(ratio, 3)})
    return out


def visit_session_ids(store, session_id: int, *, actor, patient: dict | None = None) -> list[int]:
    """The ids of the sessions of the visit ``session_id`` belongs to, oldest first: the patient's
    sessions with trials chained by gaps under :data:`VISIT_GAP_S` (:func:`visit_chains`), with
    ``session_id`` among them (the patient's view is audited for ``actor``; not when the caller gives
    ``patient``, the patient with their sessions it read itself, :meth:`Patients.with_sessions`).

    A session without trials (a test opened and left, or only notes; the live page's "Results"
    after such a test opens it) shows the visit it was opened in, :func:`visit_chains`: it never
    chains two visits over :data:`VISIT_GAP_S` apart into one through itself."""
    from station.store.timefmt import parse_utc_iso

    session = store.sessions.get(session_id)
    if patient is None:
        patient = store.patients.view(session["patient_id"], actor=actor)
    opened = next(s for s in patient["sessions"] if s["id"] == session_id)
    tested = [s for s in patient["sessions"] if s["trials"]]

    def at(s: dict) -> tuple[float, int]:
        return parse_utc_iso(s["started_at"]), s["id"]

    for chain in visit_chains([at(s) for s in tested], at(opened) if not opened["trials"] else None):
        if at(opened) in chain:
            return [sid for _, sid in chain]
    return [session_id]


def visit_chains(tested: list[tuple[float, int]], empty: tuple[float, int] | None = None) -> list[list[tuple[float, int]]]:
    """A patient's sessions with trials (``tested``: each ``(start in s, id)``) chained into visits by gaps under
    :data:`VISIT_GAP_S`, oldest first; ``empty`` (a session without trials) joins the visit it falls within, else
    the nearest one it is under :data:`VISIT_GAP_S` from (the earlier on a tie), else none: it does not chain.

    >>> h = 3600
    >>> visit_chains([(9 * h, 1), (14 * h, 3)], (11 * h + 1800, 2))  # 5 h apart: two visits, not one through session 2
    [[(32400, 1), (41400, 2)], [(50400, 3)]]
    >>> visit_chains([(9 * h, 1), (10 * h, 3)], (9 * h + 1800, 2))  # within a visit: in it
    [[(32400, 1), (34200, 2), (36000, 3)]]
    >>> visit_chains([(9 * h, 1)], (13 * h, 2))  # alone
    [[(32400, 1)]]
    """
    chains: list[list[tuple[float, int]]] = []
    for item in sorted(tested):
        if chains and item[0] - chains[-1][-1][0] < VISIT_GAP_S:
            chains[-1].append(item)
        else:
            chains.append([item])
    if empty is not None:
        def distance(chain):
            return max(chain[0][0] - empty[0], empty[0] - chain[-1][0], 0.0)

        near = [c for c in chains if distance(c) < VISIT_GAP_S]
        if near:
            chosen = min(near, key=lambda c: (distance(c), c[0][0]))
            chosen.append(empty)
            chosen.sort()
    return chains


def visit_numbers(sessions: list[dict]) -> dict[int, int]:
    """Session id -> the number (0, 1, ...) of the visit it belongs to, for a patient's sessions
    (``started_at``, ``id``): sessions that follow each other within :data:`VISIT_GAP_S` are one
    visit, as :func:`visit_session_ids` chains them.

    >>> visit_numbers([{"id": 1, "started_at": "2026-01-05T09:00:00Z"}, {"id": 2, "started_at": "2026-01-05T09:20:00Z"},
    ...                {"id": 3, "started_at": "2026-02-05T09:00:00Z"}])
    {1: 0, 2: 0, 3: 1}
    """
    from station.store.timefmt import parse_utc_iso

    out: dict[int, int] = {}
    previous = None
    visit = -1
    for s in sorted(sessions, key=lambda s: (s["started_at"], s["id"])):
        t = parse_utc_iso(s["started_at"])
        if previous is None or t - previous >= VISIT_GAP_S:
            visit += 1
        out[s["id"]] = visit
        previous = t
    return out


def session_results(store, session_id: int, protocols: dict[str, Protocol], *, actor, wall_clock=time.time,
                    visit: bool = False) -> dict:
    """The results document of a session (see the module docstring). ``visit``: the whole visit the
    session belongs to (every protocol run that day, :func:`visit_session_ids`), listed under
    ``"sessions"``. Audited for ``actor`` as one ``session.view`` of ``session_id`` (a visit's names
    its sessions, ``detail: {"visit": [ids]}``): what the clinician is shown, once, not one entry per
    record read to make it (each session of the visit, the patient's sessions to find them, their
    history for a walk's change); a programme's marks on it (station.programmes.report.visit_marks)
    are the visit's too."""
    session = store.sessions.get(session_id)
    patient = store.patients.get(session["patient_id"])
    age_y = age_in_year(patient.get("birth_year"), wall_clock)
    visit_sessions = [session]
    with_sessions = None
    if visit:
        with_sessions = store.patients.with_sessions(patient["id"])
        visit_sessions = [session if sid == session_id else store.sessions.get(sid)
                          for sid in visit_session_ids(store, session_id, actor=actor, patient=with_sessions)]
    store.audit.record(actor, "session.view", patient_id=patient["id"], object=f"session:{session_id}",
                       detail={"visit": [s["id"] for s in visit_sessions]} if visit else None)
    stored = store.trials.get_many(t["id"] for s in visit_sessions for t in s["trials"])  # one read, not one per trial
    trials = [stored[t["id"]] for s in visit_sessions for t in s["trials"]]
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
        sections.append(_protocol_results(protocol, group, age_y, patient.get("conditions") or []))
    # the trial lines' "Session 2" is the notes' too, and the history chart's (one numbering: session_numbers_in_visit)
    numbers = session_numbers_in_visit(visit_sessions)
    starts = {s["id"]: s["started_at"] for s in visit_sessions}
    for section in sections:
        for condition in section["conditions"]:
            number_sessions(condition["trials"], numbers, starts)
    if any(section["outcome"] == "walk" for section in sections):
        history = patient_history(store, patient["id"], protocols, actor=actor, wall_clock=wall_clock,
                                  patient=with_sessions or store.patients.with_sessions(patient["id"]))
        add_walk_changes(sections, history, {s["id"] for s in visit_sessions},  # a visit against the previous visit
                         visit_numbers(history["sessions"]) if visit else None)
    return {
        "session": {k: session[k] for k in ("id", "patient_id", "started_at", "label", "notes")},
        "sessions": [{k: s[k] for k in ("id", "started_at", "label", "notes")}
                     | {"trial_count": len(s["trials"]), "number": numbers.get(s["id"])}
                     for s in visit_sessions],
        "patient": {"id": patient["id"], "identifier": patient["identifier"], "birth_year": patient["birth_year"],
                    "sex": patient["sex"], "age_y": age_y, "conditions": patient.get("conditions") or []},
        "protocols": sections,
        "unknown_protocol_trials": unknown,
        "norms_source": norms.CITATION,
    }


def number_sessions(lines: list[dict], numbers: dict[int, int], starts: dict[int, str]) -> None:
    """A visit's trial lines of one test and condition that come from several sessions (the test run twice
    that day) each get their ``session``: ``{number, started_at}``, so that two sessions read as two sessions
    ("Session 1 (10:02)", "Session 3 (10:40)"), not as one session's "Attempt 1" twice; lines of one session get
    none (their trial and attempt say them, as before). The number is the session's in the whole visit
    (``numbers``: :func:`session_numbers_in_visit`), one number for a session on the whole page, whichever
    conditions it ran; ``starts``: each of the visit's sessions' id -> its ISO start.

    >>> starts = {5: "2026-11-09T10:00:00Z", 6: "2026-11-09T10:20:00Z", 7: "2026-11-09T10:40:00Z"}
    >>> numbers = {5: 1, 6: 2, 7: 3}
    >>> a, c = [{"session_id": 7}, {"session_id": 5}, {"session_id": 7}], [{"session_id": 6}, {"session_id": 7}]
    >>> number_sessions(a, numbers, starts), number_sessions(c, numbers, starts)
    (None, None)
    >>> [line["session"]["number"] for line in a], [line["session"]["number"] for line in c]
    ([3, 1, 3], [2, 3])
    """
    if len({line.get("session_id") for line in lines}) < 2:
        return
    for line in lines:
        line["session"] = {"number": numbers[line.get("session_id")], "started_at": starts.get(line.get("session_id"))}


def session_numbers_in_visit(sessions: list[dict]) -> dict[int, int]:
    """Each of a visit's sessions that has trials its number in the visit, 1, 2... in the order they started (the id
    breaks a tie): "Session 2" of the visit results (its trial lines, its notes) and of the history's chart alike
    (:func:`_numbered_in_visits`). ``sessions``: the visit's (``id``, ``started_at``, ``trials``). A session without a
    trial (a test opened and left) has no number: it is on no chart, and numbering it would shift the next one's.

    >>> session_numbers_in_visit([{"id": 7, "started_at": "2026-11-09T10:40:00Z", "trials": [{"id": 3}]},
    ...                           {"id": 6, "started_at": "2026-11-09T10:20:00Z", "trials": []},
    ...                           {"id": 5, "started_at": "2026-11-09T10:00:00Z", "trials": [{"id": 1}]}])
    {5: 1, 7: 2}
    """
    tested = sorted((s for s in sessions if s["trials"]), key=lambda s: (s["started_at"] or "", s["id"]))
    return {s["id"]: n for n, s in enumerate(tested, start=1)}


def add_walk_changes(sections: list[dict], history: dict, session_ids: set[int], visits: dict[int, int] | None = None) -> None:
    """Walk tests are followed over weeks (a training programme's before and after): beside each
    key measure of a walk, a ``change`` reference with the patient's previous visit of the same test
    and condition, the change since, and the published minimal detectable change when one fits the
    patient (:func:`patient_history`'s series), saying whether the change exceeds it. Like is compared
    with like: the measure's value (the mean of the document's trials, results.summarise) against the
    previous visit's, the mean of that visit's trials of the test, whichever of its sessions they are in;
    the MDC's baseline group is read from the previous visit's value. ``visits``: session id -> visit
    number (:func:`visit_numbers`) when the document is a whole visit; without it each session is its
    own visit (a single session's results against the previous session's). ``previous`` gives the
    previous visit's ``visit`` (True: grouped into visits; False: a session), ``session_ids``, ``sessions`` (their number), ``started_at`` (its first's) and
    ``value``; ``previous`` None (the first visit with the test): ``baseline``, its words (:data:`BASELINE`), else
    None. A setting the clinician entered (the treadmill's belt speed,
    :func:`~station.protocols.walk_words.entered_setting`) gets an ``entered`` reference instead: the
    previous visit's ``settings`` (one a session, never averaged), its ``value`` when they are all the
    same, and the change only when this visit's and the previous one's settings are each one value; no MDC. A count
    (steps, pauses) gets a ``change`` reference with ``count`` True (:func:`_count_change`): each visit's count one a
    trial made, the change whole (``change_words``, "-1 pause"), ``better_words`` and no MDC."""
    series = {(s["protocol"], s["condition"], s["metric"]): s for s in history["series"]}
    group = (lambda sid: visits.get(sid, ("session", sid))) if visits is not None else (lambda sid: sid)
    for section in sections:
        if section["outcome"] != "walk":
            continue
        for condition in section["conditions"]:
            for measure in condition["key_measures"]:
                found = series.get((section["protocol"], condition["id"], measure["metric"]))
                if found is None:
                    continue
                points = found["points"]
                here = [i for i, p in enumerate(points) if p["session_id"] in session_ids]
                if not here:
                    continue
                earlier = [p for p in points[:here[0]] if p["session_id"] not in session_ids]
                before = [p for p in earlier if earlier and group(p["session_id"]) == group(earlier[-1]["session_id"])]
                last = None if not before else {
                    "visit": visits is not None, "session_ids": [p["session_id"] for p in before], "sessions": len(before),
                    "started_at": before[0]["started_at"], "value": _visit_value(before)}
                now_points = [p for p in points if p["session_id"] in session_ids]
                why = next((w for a in before for b in now_points if "plan" in a and "plan" in b
                            and (w := treadmill_not_compared(measure["metric"], a["plan"], b["plan"]))), None)
                if last is not None and why:  # a treadmill's previous visit of another plan or belt speed: no change
                    measure["references"].append({"kind": "change", "unit": measure["unit"], "previous": last,
                                                  "change": None, "not_compared": why, "count": bool(found.get("count")),
                                                  "mdc": None, "mdc_note": "", "beyond_mdc": None, "mdc_reading": None,
                                                  "mdc_verdict": None})
                    continue
                if found.get("count"):  # a count against the previous visit's, as counted: never a mean, no MDC
                    counted = _count_change(found, points, session_ids, before, last)
                    measure["references"].append(counted)
                    direction = f"; {counted['better_words']}."
                    if last is not None and (measure.get("words") or "").endswith(direction):
                        # which way is better said once, in the since-line ("-1 pause since ...; fewer is better.")
                        measure["words"] = measure["words"][:-len(direction)] + "."
                    continue
                if found.get("entered"):  # a dose setting, not a measurement: no MDC to read it against
                    if last is not None:
                        last["settings"] = [p["value"] for p in before]
                        same = max(last["settings"]) - min(last["settings"]) < 1e-9
                        last["value"] = last["settings"][0] if same else None
                    now = measure.get("value")
                    change = None if last is None or now is None or last["value"] is None else now - last["value"]
                    measure["references"].append({"kind": "entered", "unit": measure["unit"], "previous": last,
                                                  "change": change})
                    continue
                now = measure.get("value")
                change = None if last is None or now is None else now - last["value"]
                unit_ = "visit" if visits is not None else "session"  # the group of this visit's value on its first
                mdc = _mdc_from(found["mdc"], found, series, session_ids, when=f"at this {unit_}") if last is None else \
                    _mdc_from(found["mdc"], found, series, set(last["session_ids"]), when=f"at the earlier {unit_}")
                beyond = None if change is None or mdc is None else abs(change) > mdc["value"]
                measure["references"].append({
                    "kind": "change",
                    "unit": measure["unit"],
                    "previous": last,
                    "baseline": BASELINE if last is None else None,  # the first visit with the test: its words
                    "change": change,
                    "mdc": mdc,
                    "mdc_note": found.get("mdc_note", ""),
                    "beyond_mdc": beyond,
                    "mdc_reading": mdc_table.phase_reading(change, mdc),  # an MDC per phase of stroke: both read
                    "mdc_verdict": mdc_verdict(change, beyond, found["better"]),
                })


def _count_change(series: dict, points: list[dict], session_ids: set[int], before: list[dict], last: dict | None) -> dict:
    """A walk count's ``change`` reference (:func:`add_walk_changes`): this visit's trials' counts against the
    previous visit's (``before``, its points; ``last``, its ``previous``), each side the count a trial made that the
    history charts (:func:`~station.protocols.walk_words.count_change`), the change whole and in words, which way is
    better in words, and no MDC (none is published for a count: the change is not called real)."""
    ref = {"kind": "change", "count": True, "unit": series["unit"], "previous": last,
           "baseline": BASELINE if last is None else None, "change": None,
           "change_words": None, "compared": None, "mdc": None, "mdc_note": series.get("mdc_note") or COUNT_NO_MDC,
           "beyond_mdc": None, "mdc_reading": None, "mdc_verdict": None, "better": series["better"],
           "better_words": series["since_better_words"]}
    if last is None:  # the first visit with this test
        return ref
    now = [c for p in points if p["session_id"] in session_ids for c in p["counts"]]  # (the caller's points are here)
    earlier = [c for p in before for c in p["counts"]]
    counted = count_change(now, earlier, series["metric"])
    last.update(value=counted["previous"], counts=earlier, words=counted["previous_words"])
    ref.update(change=counted["change"], change_words=counted["change_words"], compared=counted["compared"])
    return ref


def _visit_value(points: list[dict]) -> float | None:
    """The mean over the trials of a visit's sessions (``points`` of one series, each the mean of its
    session's trials), as results.summarise gives a visit's value; None for no points."""
    n = sum(len(p["trials"]) for p in points)
    return sum(p["value"] * len(p["trials"]) for p in points) / n if n else None


def _mdc_from(mdc: dict | None, series: dict, all_series: dict, session_ids: set[int], *,
              when: str = "at the earlier session") -> dict | None:
    """``series``' MDC for a change measured from the sessions ``session_ids`` (one session, or a
    visit's): one published by group of baseline (Hosoi et al. 2023, by comfortable walking speed)
    is its group's, picked by the value there (the mean over their trials, :func:`_visit_value`) of the
    measure itself or of the condition the source groups by; None when those sessions have no such value.
    ``when`` names those sessions in the words: ``"at the earlier visit"``, ``"at the first session"`` (a
    history's), ``"at this visit"`` (a first visit's own value: there is no earlier one)."""
    if not mdc or not mdc.get("bands"):
        return mdc
    by = mdc.get("band_condition") or series["condition"]
    picked = all_series.get((series["protocol"], by, series["metric"]))
    value = _visit_value([p for p in (picked or {}).get("points", ()) if p["session_id"] in session_ids])
    what = when if by == series["condition"] else f"{by} {when}"
    return mdc_table.at_baseline(mdc, value, what=what)


def _no_band_words(mdc: dict, series: dict) -> str:
    """Why a series has no MDC although one is published by group of baseline."""
    by = mdc.get("band_condition") or series["condition"]
    return (f"The published minimal detectable change depends on the {by} speed at the first session, which was not "
            f"measured then; it is not shown ({mdc['population']}).")


def _finite(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def patient_history(store, patient_id: int, protocols: dict[str, Protocol], *, actor, wall_clock=time.time,
                    patient: dict | None = None) -> dict:
    """The key measures of a patient over sessions (see the module docstring); the patient's
    view is audited for ``actor`` (not when the caller gives ``patient``, the patient with their
    sessions it read for a view it audits itself: a visit's results, for a walk's change)."""
    if patient is None:
        patient = store.patients.view(patient_id, actor=actor)
    age_y = age_in_year(patient.get("birth_year"), wall_clock)
    sessions = sorted((s for s in patient["sessions"] if s["trials"]), key=lambda s: (s["started_at"], s["id"]))
    series: dict[tuple[str, str, str], dict] = {}
    stored = store.trials.get_many(line["id"] for session in sessions for line in session["trials"]
                                   if line["status"] == "complete")  # one read, not one per trial
    unable_kinds: dict[int, str] = {}  # trial id -> how it was unable (verdict.unable_kind), for a point of 0 s
    for session in sessions:
        per_key: dict[tuple[str, str, str], list[tuple[float, int]]] = {}
        los_values: dict[tuple[str, str], dict[str, list[tuple[float, int]]]] = {}  # (protocol, measure) -> direction -> values
        plans: dict[tuple[str, str], dict] = {}  # a treadmill session's (protocol, condition) -> its plan and belt speed
        for line in session["trials"]:
            if line["status"] != "complete":
                continue
            trial = stored[line["id"]]
            unable = None if line["valid"] else unable_kind(trial)  # "measured" or "scored" (0 s), or None
            if unable:
                unable_kinds[trial["id"]] = unable
            if not line["valid"] and not unable:
                continue
            doc = trial.get("metrics") or {}
            values = {} if unable else dict(doc.get("metrics") or {})
            held = 0.0 if unable else (doc.get("trial") or {}).get("time_held_s")
            if held is not None:
                values["time_held_s"] = held
            if trial["condition"] in LOS_DIRECTIONS:  # a lean: its direction's measures, for the composite
                for metric, _, _ in LOS_HISTORY_MEASURES:
                    value = _finite(values.get(f"{metric}_{trial['condition']}"))
                    if value is not None:
                        los_values.setdefault((trial["protocol"], metric), {}).setdefault(trial["condition"], []).append(
                            (value, trial["id"]))
            if _on_treadmill(protocols.get(trial["protocol"])):  # its plan, what its measures are compared at
                plans.setdefault((trial["protocol"], trial["condition"]), {
                    "planned_min": _finite(values.get("planned_min")),
                    "belt_speed_m_s": _finite(values.get("belt_speed_m_s", values.get("walk_speed_m_s")))})
            for metric in HISTORY_MEASURES:
                if metric == "walk_time_s" and _on_treadmill(protocols.get(trial["protocol"])):
                    continue  # a treadmill's time is its time walking: the minutes-walked chart already
                value = _finite(values.get(metric))
                if value is not None:
                    per_key.setdefault((trial["protocol"], trial["condition"], metric), []).append((value, trial["id"]))
        for key, found in per_key.items():
            if key not in series:
                series[key] = _new_series(protocols.get(key[0]), key[0], key[1], key[2],
                                          patient.get("conditions") or [], age_y)
            point = {
                "session_id": session["id"],
                "started_at": session["started_at"],
                "label": session["label"],
                "value": _session_value(protocols.get(key[0]), key[2], [v for v, _ in found]),
                "trials": [t for _, t in found],
            }
            if key[2] == "time_held_s" and point["value"] == 0:  # unable: the clinician's scoring said (unable_point_words)
                how = unable_point_words([unable_kinds.get(t) for t in point["trials"]])
                if how:
                    point["unable_words"] = how
            if key[:2] in plans:
                point["plan"] = plans[key[:2]]
            if key[2] in COUNTS:  # a count as counted: each trial's, whole, and in words; the value one of them
                point["counts"] = [int(round(v)) for v, _ in found]
                point["words"] = session_counts_words(point["counts"], key[2])
            series[key]["points"].append(point)
        _add_los_points(series, session, los_values, protocols)
    out = list(series.values())
    for s in out:
        points = s["points"]
        # a treadmill session not comparable with the one before (the rule of the change since the first below): its
        # chart does not join the two, on the page and in the PDF
        for before, point in zip(points, points[1:]):
            if "plan" in before and "plan" in point and treadmill_not_compared(s["metric"], before["plan"], point["plan"]):
                point["apart"] = True
        if any(point.get("apart") for point in points):
            s["apart_words"] = treadmill_apart_words(s["metric"])
        if points and s["mdc"] is not None and s["mdc"].get("bands"):  # published by group of baseline: the first session's
            published = s["mdc"]
            s["mdc"] = _mdc_from(published, s, series, {points[0]["session_id"]}, when="at the first session")
            if s["mdc"] is None:
                s["mdc_note"] = _no_band_words(published, s)
        if len(points) >= 2:
            s["change"] = points[-1]["value"] - points[0]["value"]
            s["exceeds_mdc"] = None if s["mdc"] is None else abs(s["change"]) > s["mdc"]["value"]
            s["mdc_reading"] = mdc_table.phase_reading(s["change"], s["mdc"])
            s["mdc_verdict"] = mdc_verdict(s["change"], s["exceeds_mdc"], s["better"])
            why = "plan" in points[0] and "plan" in points[-1] and treadmill_not_compared(
                s["metric"], points[0]["plan"], points[-1]["plan"])
            if s["metric"] == "time_held_s" and points[0]["value"] == 0 and points[-1]["value"] == 0:
                why = UNABLE_AT_BOTH  # no time held at either: nothing measured to read against the MDC ("may be noise")
            elif s["metric"] == "time_held_s" and 0 in (points[0]["value"], points[-1]["value"]):
                why = unable_change_words(points[0]["value"], points[-1]["value"])  # one of them unable: not an MDC's
            if why:  # a treadmill's sessions of another plan or belt speed: no change made of them
                s.update(change=None, exceeds_mdc=None, mdc_reading=None, mdc_verdict=None, not_compared=why)
        if s.get("count"):
            s["change_words"] = None if len(points) < 2 or s.get("not_compared") else count_change_words(
                s["change"], s["metric"], several=any(len(p["counts"]) > 1 for p in points))
    out.sort(key=lambda s: (s["protocol"], s["condition_order"], HISTORY_MEASURES.index(s["metric"])))
    key = [s for s in out if s["key"]]
    n_visits = len(set(visit_numbers(sessions).values()))
    return {
        "patient": {"id": patient["id"], "identifier": patient["identifier"]},
        "sessions": _numbered_in_visits(sessions),
        "series": out,
        # measures measured once: a table, not charts of one dot (the history PDF's and page's words, one rule; the
        # PDF shows the key measures, the page the others too, on demand); ``visits``: how many, a value's day said
        # when several
        "measured_once": {**measured_once_words(n_visits, charted=any(len(s["points"]) > 1 for s in key)),
                          "visits": n_visits} if any(len(s["points"]) == 1 for s in out) else None,
    }


def measured_once_words(n_visits: int, charted: bool) -> dict:
    """How a history's key measures measured once are introduced, a table of them and not charts of one dot (a chart
    of one dot charts no history): the heading and words of the history PDF (:mod:`station.reports.history_report`)
    and the history page (history.js), one rule. ``charted``: other key measures are charted (measured twice or more).
    The words end with what every value of the table is (:data:`BASELINE`), said once above it, not on each row (each
    row of a measured-once table ended "Baseline: later visits are compared with it."; s31 P17).

    >>> measured_once_words(1, charted=False)["heading"]
    'Key measures of the one visit'
    >>> measured_once_words(1, charted=False)["words"].split(". ")[0]
    'One visit so far: there is no history to chart yet; charts and changes start with the second visit'
    >>> said = measured_once_words(3, charted=True)
    >>> said["heading"], said["words"]
    ('Measured once so far', 'No chart: a change shows from the second time the test is done. Each value is the baseline: later visits are compared with it.')
    """
    baseline = f"Each value is the {BASELINE[0].lower()}{BASELINE[1:]}"
    if charted:
        return {"heading": "Measured once so far",
                "words": f"No chart: a change shows from the second time the test is done. {baseline}"}
    return {"heading": "Key measures of the one visit" if n_visits == 1 else "Key measures, each measured once",
            "words": ("One visit so far: there is no history to chart yet; charts and changes start with the second "
                      "visit. " if n_visits == 1 else "Each test done once so far: there is no history to chart yet; "
                      "a chart and a change show from the second time a test is done. ")
            + "The values as the visit report gives them, each with the published cut-offs that apply and, where one "
              f"is published, the change a later visit must show to be called real. {baseline}"}


UNABLE_AT_BOTH = "none, unable (0 s) at the first and the last session"
"""A time held's change since the first session when the patient could not take the position at either (0 s, unable:
measured or scored by the clinician): said so, never "no change (within the MDC: may be noise)", for nothing was held
to measure; no MDC is read (the history's ``not_compared``, as a treadmill's sessions of another plan)."""


def unable_change_words(first: float, last: float) -> str:
    """A time held's change since the first session when the patient was unable (0 s) at one of the two: said
    from what to what, and read against no MDC. Goldberg 2011's MDC (24.1 s) was computed from the SEM of repeated
    trials of single-leg stance (25 community-dwelling adults 60-89 y): the noise of a time held measured again, and
    an unable (0 s) is no measured time but the floor of the test, scored when nothing was held. "From unable (0 s) to
    6.0 s" read "within the MDC: may be noise" as if the two could be the same held time measured twice.

    >>> unable_change_words(0.0, 6.04)
    'from unable (0 s) to 6.0 s (not read against the MDC: it is published for times held, and unable is no time held)'
    >>> unable_change_words(12.46, 0.0).split(" (not")[0]
    'from 12.5 s to unable (0 s)'
    """
    said = (lambda v: "unable (0 s)" if v == 0 else f"{v:.1f} s")
    return (f"from {said(first)} to {said(last)} (not read against the MDC: it is published for times held, "
            "and unable is no time held)")


def _numbered_in_visits(sessions: list[dict]) -> list[dict]:
    """A history's sessions (``id``, ``started_at``, ``label``), each with its ``number`` in its visit and how many
    sessions the visit had (``visit_sessions``), as the visit results page numbers them (:func:`visit_numbers`,
    :func:`session_numbers_in_visit`): "Session 2" on the history's chart is the visit page's "Session 2".

    >>> [(s["number"], s["visit_sessions"]) for s in _numbered_in_visits([{"id": i, "started_at": at, "label": "",
    ...     "trials": [{"id": i}]} for i, at in ((1, "2026-11-02T10:00:00Z"), (2, "2026-11-09T09:30:00Z"),
    ...                                          (3, "2026-11-09T10:00:00Z"))])]
    [(1, 1), (1, 2), (2, 2)]
    """
    visits = visit_numbers(sessions)
    members: dict[int, list[dict]] = {}
    for s in sessions:
        members.setdefault(visits[s["id"]], []).append(s)
    numbers = {sid: n for visit in members.values() for sid, n in session_numbers_in_visit(visit).items()}
    return [{"id": s["id"], "started_at": s["started_at"], "label": s["label"], "number": numbers[s["id"]],
             "visit_sessions": len(members[visits[s["id"]]])} for s in sessions]


def _session_value(protocol: Protocol | None, metric: str, values: list[float]) -> float:
    """A session's point: the mean of its valid trials (said so: the series' ``summary``), except the
    time held, which is the protocol's own score of the condition (the best attempt, e.g. single-leg
    stance, or the mean, e.g. the mCTSIB), as its results page gives it, and a walk's count (steps,
    pauses), always a count one of its trials made: their median for an odd number (13, 13 and 14 steps: 13,
    where the mean, 13.33 steps, is a count nobody counted), the lower of the middle two for an even number
    (0 and 1 pauses: 0, not 0.5; walk_words.session_count); the point keeps each."""
    summary = _summary(protocol, metric)
    if summary == "median_low":
        return session_count(values)
    return max(values) if summary == "best" else sum(values) / len(values)


def _summary(protocol: Protocol | None, metric: str) -> str:
    """How a session's trials make its history point: ``"mean"``, ``"median_low"`` (a walk's counts: their
    median, the lower of the middle two for an even number, always a count a trial made) or ``"best"`` (the
    time held of a protocol scored by the best attempt)."""
    if metric in COUNTS:
        return "median_low"
    return "best" if metric == "time_held_s" and protocol is not None and protocol.score == "best" else "mean"


def _add_los_points(series: dict, session: dict, los_values: dict, protocols: dict) -> None:
    """A session's limits-of-stability composites as points of the series ``(protocol, "composite", metric)``."""
    for (name, metric), by_direction in los_values.items():
        protocol = protocols.get(name)
        if protocol is None or protocol.outcome != "limits_of_stability":
            continue
        means = [sum(v for v, _ in found) / len(found) for found in by_direction.values()]
        key = (name, "composite", metric)
        if key not in series:
            label, unit = {k: (lab, u) for k, lab, u in LOS_HISTORY_MEASURES}[metric]
            series[key] = {"key": is_key_series(protocol, metric), "mdc_note": "No published minimal detectable change is carried for this measure.",
                           "floor": 0.0, "protocol": name, "protocol_title": protocol.title, "condition": "composite",
                           "condition_label": "All directions (composite)", "condition_order": 0, "metric": metric,
                           "label": label, "unit": unit, "mdc": None, "points": [], "change": None, "exceeds_mdc": None,
                           "summary": "mean"}
        series[key]["points"].append({
            "session_id": session["id"], "started_at": session["started_at"], "label": session["label"],
            "value": sum(means) / len(means), "trials": [t for found in by_direction.values() for _, t in found],
        })


def is_key_series(protocol: Protocol | None, metric: str) -> bool:
    """The few measures the history page leads with, per test: the time held for timed holds, the
    weight split for weight bearing, the sway velocity and the ellipse area for the others (the
    rest are shown on demand)."""
    outcome = protocol.outcome if protocol is not None else ""
    if outcome == "time_held":
        return metric == "time_held_s"
    if outcome == "weight_bearing":
        return metric == "weight_left_pct"
    if outcome == "limits_of_stability":
        return metric == "los_max_excursion_pct"
    if outcome == "walk":  # the gates' speed overground; the measured time walking, pauses and cadence on the treadmill
        if _on_treadmill(protocol):  # its speed is the belt's, entered: on demand
            return metric in ("walking_min", "pauses", "cadence_steps_min")
        return metric in ("walk_speed_m_s", "cadence_steps_min")
    return metric in ("mean_velocity_cm_s", "ellipse_area_cm2")


def _on_treadmill(protocol: Protocol | None) -> bool:
    return getattr(getattr(protocol, "walk", None), "setting", None) == "treadmill"


def history_cutoffs(protocol: Protocol | None, condition_id: str, metric: str, unit: str, patient_conditions=(),
                    age_y: float | None = None) -> list[dict]:
    """The protocol's published cut-offs of a history series (its ``metric`` in ``condition_id``) that apply to this
    patient (:func:`station.reference.population.misfit`, the results' rule: one set in other people is not drawn),
    each limit a line the history's chart draws (page and PDF): ``value``, ``side`` (``"below"``, ``"above"``: where
    the finding holds), ``label`` ("5 s cut-off"), ``words`` (what crossing it means, "Dashed line at 5 s: below it, higher
    risk of injurious falls") and the ``source`` and ``doi`` to cite. A time held's limit at or beyond the trial's
    length is not drawn (the chart's line there is the longest a trial runs)."""
    if protocol is None:
        return []
    condition = protocol.condition(condition_id) if condition_id in [c.id for c in protocol.conditions] else None
    out = []
    for cut in protocol.cutoffs:
        if cut.metric != metric or (cut.condition is not None and cut.condition != condition_id):
            continue
        if misfit(cut.population, patient_conditions, age_y):
            continue
        reference = protocol.reference(cut.reference)
        for side in filter(None, (cut.flag_side, cut.good_side)):
            limit = cut.below if side == "below" else cut.above
            if limit is None or (metric == "time_held_s" and condition is not None and limit >= condition.duration_s):
                continue
            shown = f"{limit:g} {unit}".strip()
            finding = CUTOFF_FINDINGS.get((metric, side, float(limit)), "beyond the published cut-off")
            out.append({"value": float(limit), "side": side, "label": f"{shown} cut-off",
                        "words": f"Dashed line at {shown}: {side} it, {finding}", "source": reference.citation,
                        "doi": reference.doi})
    return sorted(out, key=lambda c: c["value"])


def _new_series(protocol: Protocol | None, protocol_name: str, condition_id: str, metric: str,
                patient_conditions=(), age_y: float | None = None) -> dict:
    walk = getattr(protocol, "walk", None) if protocol is not None else None
    own = key_measures_for(walk.setting) if walk is not None else ()  # a treadmill's speed is the belt's, entered
    label, unit = {k: (lab, u) for k, lab, u in KEY_MEASURES + WALK_KEY_MEASURES + own}[metric]
    condition = None
    order = 0
    if protocol is not None:
        ids = [c.id for c in protocol.conditions]
        if condition_id in ids:
            condition = protocol.condition(condition_id)
            order = ids.index(condition_id)
    mdc = None
    mdc_note = ""
    entered = walk is not None and entered_setting(metric, walk.setting)
    if condition is not None and not entered:  # a setting entered has no MDC, whatever one a measure of its name has
        found = mdc_table.find_mdc(metric, protocol=protocol.name, eyes=condition.stance.eyes, feet=condition.stance.feet,
                                   surface=condition.stance.surface, condition=condition_id)
        if found is not None:
            mdc_note = mdc_table.fits_patient(found, patient_conditions, age_y)
            mdc = None if mdc_note else found.to_dict()
    if walk is not None:  # which way is a benefit (walk_words.py)
        better, words = better_direction(metric, walk.setting), better_words(metric, walk.setting)
    else:
        better, words = STANCE_BETTER.get(metric, (None, None))
    if metric in COUNTS:  # said with its noun ("2 pauses"), a history's count is its own unit
        unit = metric
    if metric == "steps" and walk is not None and walk.setting != "treadmill":  # not the timed metres' steps alone
        label = "Steps (whole recording)"
    return {
        "key": is_key_series(protocol, metric),
        # how a session's trials make its point: "mean", "median_low" (a count: the point keeps each, "counts") or "best"
        "summary": _summary(protocol, metric),
        "count": metric in COUNTS,
        # entered by the clinician (the belt speed), not measured: its change is the dose's, read without an MDC
        "entered": entered,
        "better": better,  # "higher", "lower" or None
        "better_words": words,
        # a count's since-line says which way is better in fewer words (walk_words.count_better_words)
        "since_better_words": count_better_words(metric, walk.setting) if walk is not None and metric in COUNTS else None,
        "mdc_note": mdc_note,
        "floor": 0.0 if metric != "weight_left_pct" else None,
        "protocol": protocol_name,
        "protocol_title": protocol.title if protocol is not None else protocol_name,
        "condition": condition_id,
        "condition_label": condition.label if condition is not None else condition_id,
        "condition_order": order,
        "metric": metric,
        "label": label,
        "unit": unit,
        "mdc": mdc,
        # published cut-offs that apply to this patient, each limit a line on the chart (history_cutoffs)
        "cutoffs": history_cutoffs(protocol, condition_id, metric, unit, patient_conditions, age_y),
        "points": [],
        "change": None,
        "exceeds_mdc": None,
        "mdc_reading": None,
        "mdc_verdict": None,
    }
