"""``bench analysis --batch --reference``: the reference runs on several distinct trials every round
and the ratio is pooled over all its runs (station.bench.analysis_batch)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pytest

from station.bench.analysis_batch import reference_trials
from station.cli import main

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"


def test_reference_trials_are_distinct_files_evenly_spaced(tmp_path):
    originals = [tmp_path / f"o{i}.txt" for i in range(3)]
    for o in originals:
        o.write_text("Time[s] COPx[cm] COPy[cm]\n")
    trials = []
    for i in range(9):  # t0->o0, t1->o1, t2->o2, t3->o0, ...: hard links, 3 distinct files
        link = tmp_path / f"t{i}.txt"
        link.hardlink_to(originals[i % 3])
        trials.append(link)
    assert reference_trials(trials, 3) == trials[:3]
    assert reference_trials(trials, 5) == trials[:3]  # no more than the distinct files
    assert reference_trials(trials, 1) == trials[:1]  # the first trial, as before
    assert reference_trials([tmp_path / f"x{i}" for i in range(10)], 3) == [tmp_path / f"x{i}" for i in (0, 3, 6)]


FAKE_DESCRIPTORS = '''
def compute_all_features(stabilogram, params_dic=None):
    total = sum(sum(row) for row in stabilogram.rows)
    return {"a": total, "b": len(stabilogram.rows), "c": params_dic["sway_density_radius"]}
'''

FAKE_STATO = '''
class Stabilogram:
    def from_array(self, array, original_frequency):
        self.rows = [list(map(float, row)) for row in array]
        self.rate_hz = original_frequency
'''


@pytest.mark.skipif(not BDS.is_dir(), reason="published trials not available")
def test_pooled_ratio_over_every_reference_run_of_every_round(tmp_path, capsys):
    checkout = tmp_path / "ref" / "code_descriptors_postural_control"
    (checkout / "stabilogram").mkdir(parents=True)
    (checkout / "__init__.py").write_text("")
    (checkout / "descriptors.py").write_text(FAKE_DESCRIPTORS)
    (checkout / "stabilogram" / "__init__.py").write_text("")
    (checkout / "stabilogram" / "stato.py").write_text(FAKE_STATO)
    batch = tmp_path / "batch"
    batch.mkdir()
    published = sorted(BDS.glob("BDS*.txt"))[:2]
    for i in range(4):
        (batch / f"T{i}.txt").hardlink_to(published[i % 2])
    status = main(["bench", "analysis", "--batch", str(batch), "--reference", str(checkout), "--reference-python",
                   sys.executable, "--reference-trials", "3", "--reference-repeats", "2", "--rounds", "2", "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    ref = report["reference"]
    assert ref["trials"] == [str(batch / "T0.txt"), str(batch / "T1.txt")]  # 2 distinct files of 4
    assert ref["features"] == 3
    rounds = ref["rounds"]
    assert len(rounds) == 2 and ref["pooled"]["runs"] == 2 * 2 * 2  # trials x repeats x rounds
    assert ref["pooled"]["ms_per_trial"] == pytest.approx(statistics.median(r["ms_per_trial"] for r in rounds), abs=1e-3)
    assert ref["ratio"] == pytest.approx(ref["pooled"]["reference_s_per_trial"] * 1e3 / ref["pooled"]["ms_per_trial"],
                                         rel=1e-2, abs=0.1)
    assert ref["met"] == (ref["ratio"] >= ref["target_ratio"])
    whole = ref["whole_program"]  # the reference's imports added to its run, as a program on one trial
    assert whole["import_s"] > 0
    assert whole["s_per_trial"] == pytest.approx(whole["import_s"] + ref["pooled"]["reference_s_per_trial"], abs=2e-3)
    assert whole["ratio"] >= ref["ratio"]
    assert "2 distinct trial(s)" in ref["chosen"] and "median of 8 runs" in ref["chosen"]


def test_reference_trials_below_one_is_refused(tmp_path, capsys):
    status = main(["bench", "analysis", "--batch", str(tmp_path), "--reference", str(tmp_path), "--reference-trials", "0"])
    assert status == 1
    assert "--reference-trials and --reference-repeats: give at least 1" in capsys.readouterr().err
