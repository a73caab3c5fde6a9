"""``balance-station protocols ...`` and ``balance-station trial ...`` from the command line."""

from __future__ import annotations

import json

import pytest

from station.cli import main
from station.commands.protocols import describe
from station.protocols.loader import builtin_protocols
from station.store.trialfile import read_trial
from tests.protocols.walk_support import write_builtin_once

GOOD = """
[protocol]
name = "clinic-stance"
title = "Clinic stance"
summary = "Quiet stance the clinic's way."
outcome = "sway"
duration_s = 20
instructions = "Stand still."
[stance]
feet = "apart"
arms = "at_sides"
surface = "firm"
eyes = "open"
[[conditions]]
id = "eo"
label = "Eyes open"
"""


CLINIC_LOS = """
[protocol]
name = "clinic-los"
title = "Forward lean"
summary = "The limits-of-stability lean toward the forward target only."
outcome = "limits_of_stability"
duration_s = 8
countdown_s = 3
rest_s = 0
instructions = "Lean forward as far as you can when you hear the beep, and hold."
[los]
targets = "theoretical"
[stance]
feet = "apart"
arms = "at_sides"
surface = "firm"
eyes = "open"
[[conditions]]
id = "f"
label = "Forward"
"""


def test_protocols_list_and_show(capsys, tmp_path):
    assert main(["protocols", "list", "--protocols-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("quiet-stance", "romberg", "mctsib", "single-leg", "tandem", "weight-bearing"):
        assert name in out
    assert main(["protocols", "show", "single-leg", "--protocols-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Standing on the left leg" in out and "Springer BA" in out and "Vellas BJ" in out and "80-99 y: mean 9.4" in out
    # the age means were not checked in the paper's own table: said under them, as the results say it (s27 R1)
    assert "80-99 y: mean 9.4\n      These age means were not checked against the paper's own table (only its abstract" \
        in out, out
    assert main(["protocols", "show", "mctsib", "--json", "--protocols-dir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in doc["conditions"]] == ["firm_eo", "firm_ec", "foam_eo", "foam_ec"]



def test_a_band_cut_off_is_shown_with_each_bound_and_its_own_meaning():
    """Carter's 3-m backward walk band (review s21): "walk_time_s below 3: ... slower than 4.5 s: high
    risk" said the high-risk words after the low-risk bound."""
    text = " ".join(describe(builtin_protocols()["backward-walk-3m"]).split())
    assert ("walk_time_s above 4.5: 3-m backward walk slower than 4.5 s: high risk of falls" in text
            and "walk_time_s below 3: Faster than 3.0 s: low risk of falls" in text)
    assert "below 3: 3-m backward walk slower" not in text
    assert "walk_time_s above 5.5: 3-m backward walk slower than 5.5 s" in text  # a one-sided cut-off as before

def test_a_clinic_protocol_is_listed_and_checked(capsys, tmp_path):
    (tmp_path / "clinic-stance.toml").write_text(GOOD)
    assert main(["protocols", "list", "--protocols-dir", str(tmp_path), "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert "clinic-stance" in names
    assert main(["protocols", "check", str(tmp_path / "clinic-stance.toml")]) == 0
    out = capsys.readouterr().out
    assert "valid protocol 'clinic-stance'" in out and out.endswith(", 1 condition\n")  # was "1 conditions"


def test_a_protocol_file_with_a_mistake_is_reported_in_one_line(capsys, tmp_path):
    bad = tmp_path / "clinic-stance.toml"
    bad.write_text(GOOD.replace('eyes = "open"', 'eyes = "half"'))
    assert main(["protocols", "check", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "stance.eyes" in err and "'open', 'closed'" in err
    assert main(["protocols", "list", "--protocols-dir", str(tmp_path)]) == 1  # a broken clinic file is named
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    assert main(["protocols", "show", "nope", "--protocols-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "no protocol named 'nope'; known: " in err and "mctsib" in err


def test_trial_needs_simulate_and_checks_its_options(capsys, tmp_path):
    assert main(["trial", "--protocol", "quiet-stance"]) == 1
    assert "--simulate" in capsys.readouterr().err
    assert main(["trial", "--protocol", "mctsib", "--simulate", "--lapse", "foam:step_off:3"]) == 1
    assert "has no condition 'foam'; allowed: firm_eo" in capsys.readouterr().err
    assert main(["trial", "--protocol", "mctsib", "--simulate", "--lapse", "foam_ec:jump:3"]) == 1
    assert "unknown lapse action 'jump'" in capsys.readouterr().err
    (tmp_path / "results.json").write_text("{}")
    assert main(["trial", "--protocol", "quiet-stance", "--simulate", "--out", str(tmp_path)]) == 1
    assert "already holds results.json" in capsys.readouterr().err


def test_trial_runs_a_protocol_and_stores_every_trial(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code = main(["trial", "--protocol", "quiet-stance", "--simulate", "--seed", "2", "--out", str(out_dir),
                 "--lapse", "eo:step_off:10", "--age", "66", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "waiting for the patient to stand still" in captured.err and "INVALID: The patient stepped off" in captured.err
    assert summary["trial_count"] == 2 and summary["valid_trial_count"] == 1
    assert json.loads((out_dir / "results.json").read_text()) == summary
    first, second = sorted(out_dir.glob("*.csv"))
    invalid = read_trial(first, allow_nan=True)
    assert invalid.metadata["result"]["valid"] is False
    assert invalid.metadata["result"]["issues"][0]["code"] == "stepped_off"
    valid = read_trial(second)
    assert valid.samples == 3000 and valid.metadata["calibration"] and valid.metadata["source"]["seed"] == 2
    assert summary["trials"][1]["stored"]["csv"] == str(second)


def test_trial_into_the_clinic_database(capsys, tmp_path):
    from station.store.audit import Actor
    from station.store.store import Store

    data = tmp_path / "data"
    store = Store.open(data)
    patient = store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    store.close()
    code = main(["trial", "--protocol", "tandem", "--simulate", "--seed", "3", "--data-dir", str(data),
                 "--patient", str(patient["id"]), "--quiet"])
    assert code == 0
    assert "Tandem stance: 1 valid of 1 trial\n" in capsys.readouterr().out
    store = Store.open(data)
    try:
        session = store.sessions.get(1)  # the run opened the database's first session
        assert session["patient_id"] == patient["id"] and "Tandem stance" in session["label"]
        trials = session["trials"]
        assert len(trials) == 1
        trial = store.trials.get(trials[0]["id"])
        assert trial["protocol"] == "tandem" and trial["valid"] in (True, 1)
        assert trial["metrics"]["trial"]["time_held_s"] == pytest.approx(30.0)
        assert len(store.trials.frames(trial["id"])) == 3000
    finally:
        store.close()
    assert main(["trial", "--protocol", "tandem", "--simulate", "--data-dir", str(data), "--patient", "999", "--quiet"]) == 1
    assert "--patient 999" in capsys.readouterr().err


def test_trial_for_a_patient_takes_height_and_age_from_the_record(capsys, tmp_path):
    """Without --height-cm, the limits-of-stability targets come from the record's height (as on
    the dashboard), and the age for norms from the birth year; an option still wins. (A clinic's
    limits-of-stability test with one target, the forward lean, without rests: the height and the
    age reach every limits-of-stability test alike; the built-in eight leans run whole through the
    command in tests/protocols/test_los_protocol.py.)"""
    from station.store.audit import Actor
    from station.store.store import Store

    data = tmp_path / "data"
    store = Store.open(data)
    patient = store.patients.create({"identifier": "P-LOS", "birth_year": 1950, "sex": "F", "height_cm": 152},
                                    actor=Actor.command_line())
    store.close()
    (data / "protocols").mkdir()
    (data / "protocols" / "clinic-los.toml").write_text(CLINIC_LOS)
    assert main(["trial", "--protocol", "clinic-los", "--simulate", "--data-dir", str(data),
                 "--patient", str(patient["id"]), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["limits_of_stability"]["height_cm"] == 152 and len(summary["trials"]) == 1
    assert summary["age_y"] >= 75
    assert main(["trial", "--protocol", "clinic-los", "--simulate", "--data-dir", str(data),
                 "--patient", str(patient["id"]), "--height-cm", "180", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["limits_of_stability"]["height_cm"] == 180


def test_a_cut_off_set_in_another_population_is_said_not_applied_from_the_record(capsys, tmp_path):
    """Carter's 3-m backward walk cut-offs were set in older adults without a neurological diagnosis:
    for a 76-year-old after a stroke (the record's conditions, read by --patient as by the dashboard)
    the command says the cut-off is not applied, and flags nothing; without --patient or --age it says
    the age is not recorded."""
    from station.store.audit import Actor
    from station.store.store import Store

    data = tmp_path / "data"
    store = Store.open(data)
    patient = store.patients.create({"identifier": "P-STR", "birth_year": 1950, "sex": "F", "conditions": ["stroke:left"]},
                                    actor=Actor.command_line())
    store.close()
    # The built-in file under another name with one trial and no rest (its cut-offs, their sources and
    # populations as they are): the words come from the cut-offs and the record, not from how many
    # trials were walked; three runs of two walks and a 30-s rest each were most of this test's time.
    once = write_builtin_once("backward-walk-3m", data / "protocols", trials=2)
    args = ["trial", "--protocol", once, "--simulate", "--seed", "3", "--gait", "older", "--age", "76",
            "--protocols-dir", str(data / "protocols")]
    assert main(args + ["--data-dir", str(data), "--patient", str(patient["id"])]) == 0
    out = capsys.readouterr().out
    assert "FLAG" not in out
    # with Polo-Ferrero's, in one sentence as the pages say them, each source's own reason
    assert "Not applied to this patient: the cut-offs (3 and 4.5 s) of Carter et al. 2019, set in community-dwelling " \
           "older adults" in out
    assert "without a neurological diagnosis (a diagnosis the source excluded: stroke" in out
    assert main(args) == 0  # 76, no record of conditions: the older walker's 5.02 s is slower than Carter's 4.5 s
    assert "FLAG Backward, as fast as safely possible: 3-m backward walk slower than 4.5 s" in capsys.readouterr().out
    assert main(args[:-4] + args[-2:]) == 0  # without --age
    assert "; for both: age not recorded." in capsys.readouterr().out
