"""Results of a protocol: per-condition scores, Romberg quotients, weight bearing, cut-offs, norms.

:func:`trial_metrics` computes the sway metrics of one trial's analysed frames (through
:func:`station.analysis.metrics.compute_metrics`, ``station`` processing profile, corner forces
included so that ``weight_left_pct`` is reported), and the trunk sway of the lower-back IMU when
one was worn (``trunk_*`` keys, Mancini et al. 2012). :func:`summarise` combines the trials of a
protocol run into what the clinician reads:

* per condition: the trials and attempts; for timed holds the held times, their score (``best``
  or ``mean`` of the valid attempts, as the protocol says) and whether the full time was held; the
  mean of each sway metric over the valid trials (a setting the clinician entered, a treadmill's belt
  speed and planned minutes, is never averaged: ``settings`` keeps each valid trial's, and the value
  is given only when they are all the same; a walk's counts, steps and pauses, keep each valid trial's in
  ``counts`` beside their mean, to be said as counted); for weight bearing the share of body weight on
  each side and their difference;
* the Romberg quotients (eyes closed / eyes open) of sway area and velocity;
* each published cut-off, evaluated, with what it means and its source;
* each published norm for the patient's age band, and where the patient's value falls, with the
  caveats that matter (a different trial length, a ceiling this protocol cannot reach).
"""

from __future__ import annotations

import math

import numpy as np

from station.protocols.schema import Norm, Protocol
from station.protocols.walk_words import COUNTS, entered_setting
from station.reference.population import misfit, not_applied_words

CORNER_FIELDS = ("fl_n", "fr_n", "bl_n", "br_n")


IMU_ACC_FIELDS = ("ax_m_s2", "ay_m_s2", "az_m_s2")


def trial_metrics(frames: np.ndarray, rate_hz: float, mounting: tuple[str, str] | None = None) -> dict:
    """Sway metrics of ``frames`` (FRAME_DTYPE, finite COP) at ``rate_hz``, ``station`` profile,
    and, when an IMU was worn, the trunk sway (``trunk_*`` keys, :func:`trunk_sway_metrics`).

    ``mounting`` is the IMU's (up, toes) axes as worn (default: the station's,
    :data:`station.protocols.walk.DEFAULT_MOUNTING`). Missing IMU samples bridged for the trunk
    sway are counted in ``trunk_sway_gaps`` beside the metrics; trunk sway that cannot be given
    says why in ``trunk_sway_note``.
    """
    result = _cop_metrics(frames, rate_hz)
    trunk, note, gaps = trunk_sway_metrics(frames, rate_hz, mounting)
    if trunk:
        result["metrics"].update(trunk)
    if note:
        result["trunk_sway_note"] = note
    if gaps:
        result["trunk_sway_gaps"] = gaps
    return result


def trunk_sway_metrics(frames: np.ndarray, rate_hz: float, mounting: tuple[str, str] | None = None
                       ) -> tuple[dict, str | None, dict | None]:
    """Trunk sway of a stance trial from the lower-back IMU (Mancini et al. 2012;
    :func:`station.analysis.trunk_sway.trunk_sway`) as ``(keys, note, gaps)``.

    ``(keys, None, gaps)`` when an IMU was worn; ``({}, None, None)`` when the frames hold no IMU
    data at all; ``({}, reason, None)`` when the IMU data cannot be used (a gap too long, too many
    samples missing, a mounting that disagrees with gravity, too short). The body frame uses one
    vertical for the trial (the mean of gravity), as ISway does.

    Missing IMU samples are never closed up (DESIGN.md §3): lost frames (a jump in ``seq``) and
    frames without an IMU reading (NaN) are put back on the frame grid by
    :func:`station.analysis.imu_gaps.bridge_gaps`, with the limits of the trial's COP
    (:data:`station.analysis.gaps.MAX_GAP_S` per gap, :data:`station.analysis.gaps.MAX_LOST_FRACTION`
    of the frames, the stance quality check's defaults): trunk sway, low-passed at 3.5 Hz, has no
    heel impact to hide in a gap, so the COP's rule holds for it and a valid trial gets both or
    neither. ``gaps`` is then ``{"samples_lost", "gaps", "longest_gap_s", "samples_trimmed",
    "handling"}`` (``samples_trimmed``: frames before the IMU's first reading or after its last),
    or None when nothing was missing.
    """
    from station.analysis.gaps import MAX_GAP_S, MAX_LOST_FRACTION
    from station.analysis.imu_frame import align_to_body, check_mounting
    from station.analysis.imu_gaps import bridge_gaps
    from station.analysis.trunk_sway import trunk_sway

    if frames.dtype.names is None or not all(f in frames.dtype.names for f in IMU_ACC_FIELDS):
        return {}, None, None
    acc = np.column_stack([np.asarray(frames[f], dtype=float) for f in IMU_ACC_FIELDS])
    finite = np.isfinite(acc).all(axis=1)
    if not finite.any():
        return {}, None, None
    seq = frames["seq"].astype(np.int64)
    try:
        acc, report = bridge_gaps(acc, seq, rate_hz, max_gap_s=MAX_GAP_S)
    except ValueError as exc:  # frames out of order: not a recording to measure
        return {}, f"no trunk sway: {' '.join(str(exc).split())}", None
    expected = int(seq[-1] - seq[0] + 1)
    missing = expected - int(np.count_nonzero(finite))
    if report.long_gaps_s:
        start_s, length_s = report.long_gaps_s[0]
        at_s = start_s + (report.first_frame - int(seq[0])) / rate_hz
        return {}, (f"no trunk sway: the lower-back sensor's readings were missing for {length_s:.2f} s at {at_s:.1f} s "
                    f"(gaps up to {MAX_GAP_S:g} s are bridged)"), None
    if missing > MAX_LOST_FRACTION * expected:
        return {}, (f"no trunk sway: the lower-back sensor gave no reading for {missing / rate_hz:.2f} s of "
                    f"{expected / rate_hz:.1f} s ({100 * missing / expected:.1f} %; up to {100 * MAX_LOST_FRACTION:g} % "
                    "are bridged)"), None
    gaps = None
    if report.bridged_frames or report.trimmed_frames:
        gaps = {"samples_lost": report.bridged_frames, "gaps": report.bridged_gaps,
                "longest_gap_s": round(report.longest_bridged_s, 6), "samples_trimmed": report.trimmed_frames,
                "handling": (f"IMU samples put back on the frame grid (seq); each gap filled by a straight line "
                             f"between the readings on either side (at most {100 * MAX_LOST_FRACTION:g} % of the "
                             f"frames and {MAX_GAP_S:g} s per gap, as the COP's; longer or more: no trunk sway)")}
    if mounting is None:
        from station.protocols.walk import DEFAULT_MOUNTING

        mounting = DEFAULT_MOUNTING
    up, toes = mounting
    try:
        problem = check_mounting(acc, up_axis=up, toes_axis=toes)
        if problem is not None:
            return {}, f"no trunk sway: IMU mounting: {problem}", None
        body, _gyro = align_to_body(acc, None, up_axis=up, toes_axis=toes)
        return trunk_sway(body, rate_hz), None, gaps
    except ValueError as exc:
        return {}, f"no trunk sway: {' '.join(str(exc).split())}", None


def _cop_metrics(frames: np.ndarray, rate_hz: float) -> dict:
    """Sway metrics of ``frames`` (FRAME_DTYPE, finite COP) at ``rate_hz``, ``station`` profile.

    At least :data:`station.analysis.metrics.MIN_DURATION_S`: the full
    :func:`~station.analysis.metrics.compute_metrics` document. Shorter (a timed hold that ended
    early): the same document shape with the measures that do not need 20 s, computed by the
    same building blocks after the same processing (first-sample subtraction, 10 Hz zero-phase
    low-pass, mean removal), with ``"subset": "short"`` and a ``"note"``.

    Raises
    ------
    station.analysis.metrics.SignalError
        The frames cannot be analysed (too few, too low a rate, non-finite COP).
    """
    from station import __version__
    from station.analysis import metrics as m
    from station.analysis.gaps import bridge_gaps, compute_metrics_with_gaps
    from station.analysis.filters import lowpass_butterworth
    from station.analysis.sway import prediction_ellipse, time_domain
    from station.analysis.weight_bearing import weight_bearing

    corners = {c: np.asarray(frames[c], dtype=float) for c in CORNER_FIELDS}
    if not all(np.isfinite(v).all() for v in corners.values()):
        corners = None
    ap = np.asarray(frames["ap_cm"], dtype=float)
    ml = np.asarray(frames["ml_cm"], dtype=float)
    # Lost frames are missing seq numbers: bridged explicitly (and reported) or refused, never
    # closed silently (station.analysis.gaps, DESIGN.md §3).
    grid_index = frames["seq"].astype(np.int64) - (int(frames["seq"][0]) if len(frames) else 0)
    if len(frames) and int(grid_index[-1]) + 1 >= m.min_samples(rate_hz):
        return compute_metrics_with_gaps(ap, ml, rate_hz, "station", corners, grid_index=grid_index,
                                         version=__version__)
    gaps_report = None
    if len(frames) and int(grid_index[-1]) + 1 != len(frames):
        bridged, gaps_report = bridge_gaps(grid_index, rate_hz, ap, ml,
                                           *([] if corners is None else [corners[c] for c in CORNER_FIELDS]))
        ap, ml = bridged[0], bridged[1]
        if corners is not None:
            corners = dict(zip(CORNER_FIELDS, bridged[2:]))
    if not (np.isfinite(ap).all() and np.isfinite(ml).all()):
        raise m.SignalError("COP contains NaN or infinite values")
    if rate_hz <= 2 * m.STATION_CUTOFF_HZ:
        raise m.SignalError(f"sample rate {rate_hz:g} Hz is too low for the station profile's 10 Hz low-pass")
    cop = np.vstack((ap - ap[0], ml - ml[0]))
    cop = lowpass_butterworth(cop, rate_hz, m.STATION_CUTOFF_HZ, m.STATION_FILTER_ORDER, axis=-1)
    cop -= cop.mean(axis=1, keepdims=True)
    values = {**time_domain(cop[0], cop[1], rate_hz), **prediction_ellipse(cop[0], cop[1]), **weight_bearing(corners)}
    doc = {
        "fs_hz": float(rate_hz),
        "samples": int(len(ap)),
        "profile": "station",
        "version": __version__,
        "subset": "short",
        "note": (f"shorter than the {m.MIN_DURATION_S:g} s the full analysis needs: time-domain measures, the "
                 "prediction ellipse and weight bearing only (no spectral, diffusion or sway-density measures)"),
        "metrics": {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in values.items()},
    }
    if gaps_report is not None:
        doc["gaps"] = gaps_report
    return doc


def _metric(result, key: str) -> float | None:
    if result.metrics is None:
        return None
    value = result.metrics.get("metrics", {}).get(key)
    return None if value is None or not math.isfinite(value) else float(value)


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _condition_summary(protocol: Protocol, condition, results) -> dict:
    mine = [r for r in results if r.plan.condition.id == condition.id]
    valid = [r for r in mine if r.valid]
    out: dict = {
        "id": condition.id,
        "label": condition.label,
        "stance": condition.describe(protocol.walk),  # a walk test: the walk, in words
        "attempts": len(mine),
        "valid_trials": len(valid),
        "invalid": [{"trial": r.plan.trial, "attempt": r.plan.attempt,
                     "reasons": [i.message for i in r.issues]} for r in mine if not r.valid],
        "values": {},
    }
    if protocol.outcome == "time_held":
        times = [r.time_held_s for r in valid if r.time_held_s is not None]
        score = None
        if times:
            score = max(times) if protocol.score == "best" else float(np.mean(times))
        out["time_held_s"] = times
        out["completed"] = any(r.completed for r in valid)
        out["score"] = protocol.score
        if score is not None:
            out["values"]["time_held_s"] = round(score, 3)
    keys: set[str] = set()
    for r in valid:
        if r.metrics is not None:
            keys.update(k for k, v in r.metrics.get("metrics", {}).items() if isinstance(v, (int, float)))
    setting = protocol.walk.setting if protocol.outcome == "walk" and protocol.walk is not None else None
    for key in sorted(keys):
        if entered_setting(key, setting):  # each session's setting, in order: not averaged into one nobody set
            each = [v for v in (_metric(r, key) for r in valid) if v is not None]
            if each:
                out.setdefault("settings", {})[key] = each
            if each and max(each) - min(each) < 1e-9:
                out["values"][key] = each[0]
            continue
        value = _mean([_metric(r, key) for r in valid])
        if value is not None:
            out["values"][key] = value
        if setting is not None and key in COUNTS and value is not None:  # each trial's count, as counted
            out.setdefault("counts", {})[key] = [int(round(v)) for v in (_metric(r, key) for r in valid) if v is not None]
    out["metrics_trials"] = sum(1 for r in valid if r.metrics is not None)
    if protocol.outcome == "weight_bearing" and "weight_left_pct" in out["values"]:
        left = out["values"]["weight_left_pct"]
        right = out["values"].get("weight_right_pct", 100.0 - left)
        out["values"]["weight_asymmetry_pct"] = abs(left - right)
        out["weight_bearing"] = _weight_words(left, right, protocol.asymmetry_flag_pct)
    return out


def _weight_words(left: float, right: float, flag_pct: float | None) -> dict:
    diff = abs(left - right)
    more = "left" if left > right else "right"
    words = f"{left:.1f} % of body weight on the left, {right:.1f} % on the right"
    if diff >= 0.05:
        words += f": {diff:.1f} percentage points more on the {more}"
    flagged = None
    if flag_pct is not None:
        flagged = diff > flag_pct
        words += f" ({'above' if flagged else 'within'} the clinic's {flag_pct:g}-point asymmetry limit)."
    else:
        words += " (no asymmetry limit is set; see the protocol notes)."
    return {"left_pct": left, "right_pct": right, "asymmetry_pct": diff, "more_on": more,
            "flag_pct": flag_pct, "flagged": flagged, "words": words}


def _romberg(protocol: Protocol, conditions: dict) -> dict | None:
    if protocol.romberg is None:
        return None
    from station.analysis.romberg import romberg_quotient

    eo_id, ec_id = protocol.romberg
    out = {"eyes_open": eo_id, "eyes_closed": ec_id,
           **romberg_quotient(conditions[ec_id]["values"], conditions[eo_id]["values"])}
    if out["romberg_quotient_area"] is None and out["romberg_quotient_velocity"] is None:
        out["note"] = "Needs a valid eyes-open and a valid eyes-closed trial with sway measures."
    return out


def _applies(condition_id: str | None, cid: str) -> bool:
    return condition_id is None or condition_id == cid


def _value(metric: str, cid: str, conditions: dict, romberg: dict | None) -> float | None:
    if metric.startswith("romberg_"):
        return None if romberg is None else romberg.get(metric)
    return conditions[cid]["values"].get(metric)


def _position(value: float, row) -> str:
    if row.p05 is not None and value < row.p05:
        return "below the 5th percentile"
    if row.p95 is not None and value > row.p95:
        return "above the 95th percentile"
    if row.p05 is not None and row.p95 is not None:
        return "between the 5th and 95th percentiles"
    if row.mean is not None:
        if row.sd:
            z = (value - row.mean) / row.sd
            return f"{abs(z):.1f} SD {'above' if z >= 0 else 'below'} the mean"
        return "at the mean" if value == row.mean else ("above the mean" if value > row.mean else "below the mean")
    return "compared with the median" if row.p50 is not None else "no comparable value"


def _norm_entry(protocol: Protocol, norm: Norm, cid: str, conditions: dict, romberg, age_y: float | None,
                patient_conditions=None) -> dict:
    reference = protocol.reference(norm.reference)
    entry = {"metric": norm.metric, "condition": cid, "statistic": norm.statistic, "population": norm.population,
             "source": reference.citation, "doi": reference.doi}
    value = _value(norm.metric, cid, conditions, romberg)
    entry["value"] = value
    why = misfit(norm.measured_in, patient_conditions, None)  # the cut-offs' rule; the rows below bound the age
    if why:  # values of other people: not read against this patient, said why (the cut-offs' words)
        entry.update(not_applied_why=why, group=norm.measured_in.group,
                     note=not_applied_words("reference values", norm.measured_in.group, why, plural=True))
        return entry
    if age_y is None:
        entry["note"] = "Give the patient's age to compare with these reference values."
        entry["rows"] = [r.to_dict() for r in norm.rows]
        return entry
    row = norm.row_for_age(age_y)
    if row is None:
        entry["note"] = f"No reference values for age {age_y:g}."
        return entry
    entry["row"] = row.to_dict()
    notes = []
    condition = protocol.condition(cid)
    if norm.trial_duration_s is not None and abs(norm.trial_duration_s - condition.duration_s) > 1e-9:
        notes.append(f"The reference trials lasted {norm.trial_duration_s:g} s, this one {condition.duration_s:g} s.")
    if norm.not_verified:  # a value read for the patient says what of it was not checked in its source
        notes.append(norm.not_verified)
    if value is None:
        notes.append("No valid value to compare.")
    else:
        ceiling = norm.metric == "time_held_s" and norm.trial_duration_s is not None \
            and norm.trial_duration_s > condition.duration_s and value >= condition.duration_s - 1e-6
        reference_value = row.mean if row.mean is not None else row.p50
        if ceiling and reference_value is not None and reference_value > condition.duration_s:
            entry["position"] = "not comparable"
            notes.append(f"The patient held this protocol's full {condition.duration_s:g} s; the reference "
                         f"value ({reference_value:g} s) lies beyond it, so the comparison cannot be made.")
        else:
            entry["position"] = _position(value, row)
    entry["note"] = " ".join(notes)
    return entry


def _beyond(value: float, cut, side: str) -> bool:
    """True when ``value`` is beyond ``cut``'s bound on ``side`` (strictly below ``below``, above ``above``)."""
    return value < cut.below if side == "below" else value > cut.above


def cutoff_entry(cut, reference, condition_id: str | None, value: float | None, age_y: float | None,
                 patient_conditions) -> dict:
    """One cut-off read against ``value`` for this patient (a ``summarise`` ``cutoffs`` entry, the
    input of :func:`station.protocols.report.cutoff_reading`); see :func:`summarise`."""
    why = misfit(cut.population, patient_conditions, age_y)
    flagged = good = None
    if value is not None and not why:
        flagged = _beyond(value, cut, cut.flag_side)
        good = _beyond(value, cut, cut.good_side) if cut.good_side else None
    return {"metric": cut.metric, "condition": condition_id, "value": value,
            "below": cut.below, "above": cut.above, "flagged": flagged,
            "meaning": cut.meaning, "source": reference.citation, "doi": reference.doi,
            "population": cut.population.to_dict(), "applies": not why,
            "not_applied_why": why or None, "flag_side": cut.flag_side,
            "good_side": cut.good_side, "good_meaning": cut.good_meaning, "good": good}


def held_verdict(protocol: Protocol, condition_id: str, held_s: float, age_y: float | None,
                 patient_conditions) -> str:
    """How a hold that ended before the trial's length reads (the visit results' and the live page's trial lines
    alike): against the time held's published cut-offs of ``condition_id`` that apply to this patient
    (:func:`cutoff_entry`, :func:`summarise`'s population rule), ``"flagged"`` beyond one (the warning: below
    Vellas's 5 s), ``"not_flagged"`` within every one (a normal result), ``"no_cutoff"`` with none applied (nothing
    to read it against: neutral, not a warning).

    >>> from station.protocols.loader import builtin_protocols
    >>> single_leg = builtin_protocols()["single-leg"]
    >>> held_verdict(single_leg, "left", 3.2, 75, []), held_verdict(single_leg, "left", 12.1, 75, [])
    ('flagged', 'not_flagged')
    >>> held_verdict(single_leg, "left", 3.2, 75, ["stroke:left"])
    'no_cutoff'
    """
    applied = [entry for cut in protocol.cutoffs if cut.metric == "time_held_s" and _applies(cut.condition, condition_id)
               for entry in [cutoff_entry(cut, protocol.reference(cut.reference), condition_id, held_s, age_y,
                                          patient_conditions)] if entry["applies"]]
    if not applied:
        return "no_cutoff"
    return "flagged" if any(entry["flagged"] for entry in applied) else "not_flagged"


def summarise(protocol: Protocol, results: list, *, age_y: float | None = None,
              patient_conditions: list[str] | tuple[str, ...] | None = None) -> dict:
    """The protocol's results (JSON-serialisable) from its finished trials (TrialResult list).

    A cut-off set in a population (its ``population``) is evaluated only for a patient known to be
    one of them (``age_y``: years, None when not recorded; ``patient_conditions``: the record's
    condition tags, None or empty when none are recorded): for anyone else its ``flagged`` is None,
    ``applies`` False and ``not_applied_why`` says why (:func:`station.reference.population.misfit`).
    ``flagged`` reads the bound on ``flag_side``; a cut-off with a good end as well (``good_side``)
    says in ``good`` whether the value is beyond it (Carter's low fall risk), None when not read.
    A trial in which the patient could not take the position (single-leg stance: the foot never
    lifted, or scored so by the clinician; :attr:`TrialResult.unable`) is a valid result of 0 s held
    (:meth:`TrialResult.scored`), as the results page counts it (:func:`station.protocols.report.stored_result`)."""
    results = [r.scored() for r in results]
    conditions = {c.id: _condition_summary(protocol, c, results) for c in protocol.conditions}
    romberg = _romberg(protocol, conditions)
    cutoffs = []
    for cut in protocol.cutoffs:
        reference = protocol.reference(cut.reference)
        targets = [None] if cut.metric.startswith("romberg_") else [c.id for c in protocol.conditions if _applies(cut.condition, c.id)]
        for cid in targets:
            value = _value(cut.metric, cid, conditions, romberg)
            cutoffs.append(cutoff_entry(cut, reference, cid, value, age_y, patient_conditions))
    norms = []
    for norm in protocol.norms:
        for c in protocol.conditions:
            if _applies(norm.condition, c.id):
                norms.append(_norm_entry(protocol, norm, c.id, conditions, romberg, age_y, patient_conditions))
    out = {
        "protocol": protocol.name,
        "title": protocol.title,
        "outcome": protocol.outcome,
        "age_y": age_y,
        "conditions": list(conditions.values()),
        "romberg": romberg,
        "cutoffs": cutoffs,
        "norms": norms,
        "references": [r.to_dict() for r in protocol.references],
        "trial_count": len(results),
        "valid_trial_count": sum(1 for r in results if r.valid),
    }
    if protocol.outcome == "limits_of_stability":
        from station.protocols.lean import los_summary

        out["limits_of_stability"] = los_summary(protocol, results, conditions)
    if protocol.outcome == "training":  # each game played: its schedule, result and minutes
        out["training"] = [{**r.training, "trial": r.plan.trial, "valid": r.valid, "completed": r.completed}
                           for r in results if r.training]
    return out
