"""The runner's summary and the command line's words count a single-leg trial in which the patient
never lifted a foot as a result (unable, 0 s held), as the results page does (report.stored_result),
not as an invalid trial with no time held (before: "Single-leg stance, left and right: 0 valid of 6
trials", each side "no valid trial", each trial "INVALID: ..."), in the results page's words (session 24:
it said "6 valid of 6 trials (6 unable, counted as 0 s held)" where the page says "6 analysed trials: 6
unable (0 s)")."""

from __future__ import annotations

import io
from dataclasses import replace

from station.commands.trial import Progress, format_summary
from station.protocols.loader import builtin_protocols
from station.protocols.runner import ProtocolRunner

from .synth import ScriptedSource, fake_analyse
from .test_runner import steady


def test_a_patient_who_never_lifts_a_foot_is_counted_unable_with_0_s_held():
    p = replace(builtin_protocols()["single-leg"], rest_s=0.0)
    runner = ProtocolRunner(p, ScriptedSource(steady()), analyse=fake_analyse, patient_age_y=75)
    progress = io.StringIO()
    runner.bus.subscribe(Progress(progress))
    summary = runner.run(max_s=600)
    assert all(r.result.unable for r in runner.records) and len(runner.records) == 6
    assert summary["valid_trial_count"] == 6 and summary["trial_count"] == 6
    for c in summary["conditions"]:
        assert c["valid_trials"] == 3 and c["invalid"] == []
        assert c["time_held_s"] == [0.0, 0.0, 0.0] and c["values"]["time_held_s"] == 0.0 and not c["completed"]
    # read against Vellas et al.'s 5-s cut-off like any other time held
    assert [cut["flagged"] for cut in summary["cutoffs"] if cut["metric"] == "time_held_s"] == [True, True]
    # each trial kept as the runner saw it (its issue), the summary's count aside
    assert [t["issues"][0]["code"] for t in summary["trials"]] == ["no_liftoff"] * 6

    text = format_summary(summary, p)
    lines = text.splitlines()
    # the results page's and the visit PDF's words (report.trial_count_words, report.unable_words), one per place
    assert lines[0] == "Single-leg stance, left and right: 6 analysed trials: 6 unable (0 s)."
    assert lines[2].startswith("    time held 0 s (unable) in all 3 trials: ") and "no valid trial" not in text
    said = progress.getvalue()
    assert said.count("Did not lift a foot (measured): unable, counted as 0 s.") == 6 and "INVALID" not in said


def test_a_trial_spoiled_otherwise_stays_invalid_beside_an_unable_one():
    from station.protocols.quality import QualityIssue
    from station.protocols.machine import TrialPlan, TrialResult
    from station.protocols.results import summarise

    p = builtin_protocols()["single-leg"]
    left = p.condition("left")
    unable = TrialResult(TrialPlan(p, left, 1, 1), valid=False, end_reason="invalid",
                         issues=[QualityIssue("no_liftoff", "The other foot was never lifted.", None)])
    spoiled = TrialResult(TrialPlan(p, left, 2, 1), valid=False, end_reason="invalid",
                          issues=[QualityIssue("too_few_frames", "Frames lost.", None)])
    held = TrialResult(TrialPlan(p, left, 3, 1), valid=True, end_reason="balance_lost", time_held_s=4.2)
    s = summarise(p, [unable, spoiled, held])
    c = s["conditions"][0]
    assert s["valid_trial_count"] == 2 and c["time_held_s"] == [0.0, 4.2] and c["values"]["time_held_s"] == 4.2
    assert [i["trial"] for i in c["invalid"]] == [2]
    assert unable.valid is False and unable.issues  # the result itself is left as the runner stored it
    summary = {**s, "trials": [r.to_dict() for r in (unable, spoiled, held)]}
    assert format_summary(summary, p).splitlines()[0] == (
        "Single-leg stance, left and right: 3 analysed trials: 1 held, 1 unable (0 s), 1 invalid.")
    # an unable attempt among the times said so, never a time held of 0.0 (519a6d6)
    assert "time held 4.2 s (best of unable, 4.2 s)" in format_summary(summary, p)
