"""Results that must not mislead a clinician (station/protocols/report.py, an adversarial review of the
visit results): a hold that ended early is not read against the norms of full-length trials; a
condition without a value says why instead of a percentile range; weight-bearing symmetry's split at a
glance; a trial the full disk cut short says so (the page and the visit PDF), not "crash or power cut"."""

from __future__ import annotations

from station.protocols.loader import builtin_protocols
from station.protocols.report import _protocol_results
from station.reports.session_report import _trial_lines
from station.store.trials import DISK_FULL_REASON

PROTOCOLS = builtin_protocols()


def stored(trial_id: int, protocol: str, condition: str, *, held_s: float | None = 30.0, metrics: dict | None = None,
           valid: bool = True, status: str = "complete", status_reason: str | None = None) -> dict:
    """A trial as ``Trials.get`` gives it after the protocol engine stored it (``held_s`` of its 30 s)."""
    full = held_s is not None and held_s >= 30.0
    outcome = {"protocol": protocol, "condition": condition, "trial": 1, "attempt": trial_id, "valid": valid,
               "end_reason": "duration" if full else "balance_lost", "issues": [] if valid else
               [{"code": "too_few_frames", "message": "Frames lost.", "at_s": None}], "warnings": [],
               "completed": full and valid, "duration_s": 30.0, "time_held_s": held_s if valid else None,
               "hold_end": None if full else {"code": "stepped", "message": "Position lost", "at_s": held_s}}
    doc = None if status != "complete" else {"fs_hz": 100.0, "samples": round((held_s or 0) * 100), "profile": "station",
                                             "version": "t", "metrics": metrics or {}, "trial": outcome}
    return {"id": trial_id, "session_id": 1, "protocol": protocol, "condition": condition, "status": status,
            "status_reason": status_reason, "started_at": "2026-12-05T10:00:00Z", "valid": valid and status == "complete",
            "validity_reason": None if valid else "Frames lost.", "notes": "", "judged_by": None, "frames_lost": 0,
            "duration_s": held_s or 0.0, "frame_count": round((held_s or 0) * 100), "metrics": doc}


def measure(section: dict, condition: str, metric: str) -> dict:
    c = next(c for c in section["conditions"] if c["id"] == condition)
    return next(m for m in c["key_measures"] if m["metric"] == metric)


def norm_of(entry: dict) -> dict:
    return next(r for r in entry["references"] if r["kind"] == "norm")


STEADY = {"mean_velocity_cm_s": 0.35, "ellipse_area_cm2": 0.4, "path_length_cm": 3.1}
"""Sway of 8.9 s on foam with the eyes closed: below the 5th percentile of 60-s reference trials."""


def test_a_hold_ended_early_is_not_read_against_the_norms_of_full_trials_and_says_why():
    section = _protocol_results(PROTOCOLS["mctsib"], [stored(1, "mctsib", "foam_ec", held_s=8.9, metrics=STEADY)], age_y=70)
    velocity = norm_of(measure(section, "foam_ec", "mean_velocity_cm_s"))
    assert not velocity["comparable"] and velocity["not_compared"] and velocity["percentile"] is None
    assert velocity["flag"] is None and "flag_words" not in velocity  # not "less sway than 95 % of the group"
    assert velocity["note"].startswith("Held 8.9 s of 30 s: not compared with the norms") and "60 s" in velocity["note"]
    assert measure(section, "foam_ec", "mean_velocity_cm_s")["value"] == 0.35  # the value itself is still shown
    # the hold is the finding: read against the mCTSIB's 30-s criterion
    held = measure(section, "foam_ec", "time_held_s")
    assert [r["verdict"] for r in held["references"] if r["kind"] == "cutoff"] == ["below"]
    # a full hold beside it is still compared (as a rough guide: 30 s here, 60 s in the reference)
    both = _protocol_results(PROTOCOLS["mctsib"], [stored(1, "mctsib", "foam_ec", held_s=8.9, metrics=STEADY),
                                                   stored(2, "mctsib", "firm_eo", metrics=STEADY)], age_y=70)
    assert norm_of(measure(both, "firm_eo", "mean_velocity_cm_s"))["comparable"]
    assert not norm_of(measure(both, "foam_ec", "ellipse_area_cm2"))["comparable"]
    # a norm that does not fit the stance at all keeps its own reason (one leg: no reference values)
    one_leg = _protocol_results(PROTOCOLS["single-leg"], [stored(3, "single-leg", "left", held_s=8.2, metrics=STEADY)], age_y=70)
    assert norm_of(measure(one_leg, "left", "mean_velocity_cm_s"))["note"].startswith("No reference values for this stance")


def test_a_condition_without_a_value_says_why_and_claims_no_percentile_range():
    section = _protocol_results(PROTOCOLS["mctsib"], [stored(1, "mctsib", "foam_ec", valid=False, metrics=STEADY)], age_y=70)
    velocity = norm_of(measure(section, "foam_ec", "mean_velocity_cm_s"))
    assert not velocity["comparable"] and velocity["percentile"] is None
    assert velocity["note"] == "No valid trial in this condition: no value to compare."
    # held too briefly for sway measures: the trial's own reason
    brief = stored(2, "mctsib", "foam_ec", held_s=2.1)
    brief["metrics"]["trial"]["metrics_note"] = "Held too briefly for sway measures (2.1 s of steady stance; at least 5 s is needed)."
    velocity = norm_of(measure(_protocol_results(PROTOCOLS["mctsib"], [brief], age_y=70), "foam_ec", "mean_velocity_cm_s"))
    assert velocity["note"].startswith("Held too briefly for sway measures (2.1 s")


def test_weight_bearing_gives_its_split_at_a_glance_with_the_side_in_words():
    metrics = {**STEADY, "weight_left_pct": 59.4, "weight_right_pct": 40.6}
    section = _protocol_results(PROTOCOLS["weight-bearing"], [stored(1, "weight-bearing", "eo", metrics=metrics)], age_y=70)
    split = measure(section, "eo", "weight_left_pct")
    assert split["glance"] == {"words": "weight 59.4 % left / 40.6 % right: 18.8 points more on the left "
                                        "(no published cut-off)", "tone": "neutral"}


def test_a_trial_the_full_disk_cut_short_says_so_on_the_page_and_in_the_pdf():
    reason = f"{DISK_FULL_REASON}: recording stopped; 890 frames (8.9 s) kept"
    section = _protocol_results(PROTOCOLS["mctsib"], [stored(1, "mctsib", "foam_ec", held_s=8.9, status="partial",
                                                             status_reason=reason)], age_y=70)
    line = section["conditions"][0]["trials"][0]
    assert line["note"] == "stopped: the station's disk was full; 8.9 s kept, not analysed"
    pdf = " ".join(paragraph.text for paragraph in _trial_lines(section["conditions"][0]))
    assert "disk was full" in pdf and "crash" not in pdf
    crashed = _protocol_results(PROTOCOLS["mctsib"], [stored(2, "mctsib", "foam_ec", status="partial", status_reason=(
        "recording interrupted (station stopped or lost power); 300 frames (3.0 s) kept"))], age_y=70)
    assert crashed["conditions"][0]["trials"][0]["note"] == "interrupted (crash or power cut); 3.0 s kept, not analysed"


def test_the_hospital_record_does_not_read_a_hold_ended_early_against_the_norms_either_and_says_why():
    import json

    from station.reports.fhir_bundle import BundleBuilder

    def observations(trial: dict) -> dict:
        """The trial's Observations by measure family, from the validated Bundle (R4 Observation.note)."""
        builder = BundleBuilder("P-1", PROTOCOLS, 70.0)
        builder.add_trial(trial)
        return {e["resource"]["identifier"][0]["value"].split("/")[-1]: e["resource"]
                for e in json.loads(builder.bundle_json())["entry"] if e["resource"]["resourceType"] == "Observation"}

    def readings(observation: dict) -> list:
        return [i["text"] for i in observation.get("interpretation", [])]

    short = observations(stored(1, "mctsib", "foam_ec", held_s=8.9, metrics=STEADY))
    assert readings(short["mean_velocity_cm_s"]) == []
    # why, in the results page's words: the hold is the finding
    page = norm_of(measure(_protocol_results(PROTOCOLS["mctsib"], [stored(1, "mctsib", "foam_ec", held_s=8.9,
                                                                          metrics=STEADY)], age_y=70),
                           "foam_ec", "mean_velocity_cm_s"))["note"]
    assert page.startswith("Held 8.9 s of 30 s: not compared with the norms")
    assert short["mean_velocity_cm_s"]["note"] == [{"text": page}]
    assert short["ellipse_area_cm2"]["note"] == [{"text": page}]
    assert "note" not in short["time_held_s"]  # read against its cut-off, not the sway norms
    full = observations(stored(2, "mctsib", "foam_ec", metrics=STEADY))
    assert readings(full["mean_velocity_cm_s"])[0].startswith("Below the 5th percentile")
    assert "note" not in full["mean_velocity_cm_s"]
    # one leg: no norm for the stance, so none withheld (as on the page)
    one_leg = observations(stored(3, "single-leg", "left", held_s=8.2, metrics=STEADY))
    assert "note" not in one_leg["mean_velocity_cm_s"] and readings(one_leg["mean_velocity_cm_s"]) == []


def test_the_terminal_summary_does_not_read_a_hold_ended_early_against_the_norms_either():
    from station.commands.trial import format_summary
    from station.protocols.report import stored_result
    from station.protocols.results import summarise

    protocol = PROTOCOLS["mctsib"]
    result = stored_result(protocol, stored(1, "mctsib", "foam_ec", held_s=8.9, metrics=STEADY))
    summary = {**summarise(protocol, [result], age_y=70.0), "trials": [result.to_dict()]}
    text = format_summary(summary, protocol)
    assert "mean sway velocity 0.35 cm/s: not compared with the norms (held 8.9 s of 30 s)" in text, text
    assert "BELOW the 5th percentile" not in text, text
