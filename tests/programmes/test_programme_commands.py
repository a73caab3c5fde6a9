"""``balance-station programmes list|show|check`` and the patient export's programmes file."""

from __future__ import annotations

import json

from station.cli import main
from station.store.store import Store

from programme_support import ACTOR, CHEAP


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show(tmp_path, capsys):
    code, out, _ = run(capsys, "programmes", "list", "--data-dir", str(tmp_path))
    assert code == 0
    assert "backward-walking-stroke  Backward treadmill walking after stroke (4 weeks): Backward walking on a treadmill, 3x/week for 4 weeks, 30 min" in out
    code, out, _ = run(capsys, "programmes", "show", "backward-walking-stroke", "--data-dir", str(tmp_path))
    assert code == 0 and "Assessments:" in out and "doi:10.3390/ijerph18052376" in out
    # each visit's week said once, as the programme PDF says it (was "mid (week 2): Mid-point (after week 2)")
    assert "  baseline: Baseline (week 0): quiet-stance, " in out and "  mid: Mid-point (after week 2): " in out, out
    assert "(week 2): Mid-point" not in out, out
    code, out, _ = run(capsys, "programmes", "show", "balance-training", "--json", "--data-dir", str(tmp_path))
    assert json.loads(out)["outcomes"][0]["protocol"] == "mctsib"
    code, _, err = run(capsys, "programmes", "show", "yoga", "--data-dir", str(tmp_path))
    assert code == 1 and "no programme named 'yoga'; known: backward-walking-stroke" in err


def test_check_names_file_field_and_what_is_allowed(tmp_path, capsys):
    good = tmp_path / "clinic-walk.toml"
    from test_templates import _toml

    good.write_text(_toml())
    code, out, _ = run(capsys, "programmes", "check", str(good), "--data-dir", str(tmp_path))
    assert code == 0 and "valid programme 'clinic-walk'" in out and "2x/week for 2 weeks" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(_toml().replace('"clinic-walk"', '"bad"').replace('better = "lower"', 'better = "less"'))
    code, out, err = run(capsys, "programmes", "check", str(bad), "--data-dir", str(tmp_path))
    assert code == 1 and out == ""
    line = bad.read_text().splitlines().index('better = "less"') + 1  # the mistake's own line
    assert err.strip() == (f"balance-station programmes: {bad}:{line}: outcomes[0].better: 'less' is not allowed; "
                           "allowed: 'lower', 'higher'")
    shadow = tmp_path / "balance-training.toml"
    shadow.write_text(_toml().replace('"clinic-walk"', '"balance-training"'))
    code, _, err = run(capsys, "programmes", "check", str(shadow), "--data-dir", str(tmp_path))
    assert code == 1 and "is a built-in programme's name" in err
    # a broken clinic file makes list say which and what to do
    folder = tmp_path / "protocols" / "programmes"
    folder.mkdir(parents=True)
    (folder / "bad.toml").write_text(bad.read_text())
    code, _, err = run(capsys, "programmes", "list", "--data-dir", str(tmp_path))
    assert code == 1 and "outcomes[0].better" in err and "move it out of the programmes folder" in err


def test_the_patient_export_includes_the_programmes(tmp_path, capsys, builtins):
    data = tmp_path / "data"
    with Store.open(data, password_cost=CHEAP) as store:
        patient = store.patients.create({"identifier": "P-9", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        doc = store.programmes.assign(patient["id"], builtins["balance-training"], "2026-01-05", actor=ACTOR)
        store.programmes.enter_dose(doc["sessions"][0]["id"], {"minutes": 40, "notes": "good"}, actor=ACTOR)
    out_file = tmp_path / "P-9-history.csv"
    code, out, err = run(capsys, "export", "patient", "P-9", "--out", str(out_file), "--data-dir", str(data))
    assert code == 0, err
    exported = json.loads((tmp_path / "P-9-programmes.json").read_text())
    assert exported["patient_identifier"] == "P-9"
    (programme,) = exported["programmes"]
    assert programme["template_name"] == "balance-training" and programme["sessions"][0]["dose"]["notes"] == "good"
    with Store.open(data, password_cost=CHEAP) as store:
        formats = [e["detail"]["format"] for e in store.audit.query(action="patient.export")]
    assert formats == ["programmes-json", "history-csv"]
