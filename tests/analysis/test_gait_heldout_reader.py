"""benchmarks/gait_heldout.py reads the held-out data set (CyrilVoisard/ipol_dataset_1, IPOL 2023) the way it is
recorded: events are packet-counter values common to the sensors, lost packets are gaps for the
station's reader to bridge or refuse, steps after the trial's end are not the walk. Checked on a
small file in the data set's format (the data set itself is not in the repository)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from station.store.imu_recording import read_imu_recording

SPEC = importlib.util.spec_from_file_location(
    "gait_heldout", Path(__file__).resolve().parents[2] / "benchmarks" / "gait_heldout.py")
heldout = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(heldout)


def _write_trial(folder: Path, name: str, subject: int, lost: slice, tilt_deg: float = 20.0,
                 height_cm: float = 175.0) -> None:
    """A 20-s lower-back file: standing, then walking from 4 to 16 s at a step every 0.6 s;
    packets ``lost`` (counter values) missing; the sensor pitched by ``tilt_deg``."""
    counter = np.arange(2000, dtype=float)
    t = counter / 100.0
    walking = (t >= 4) & (t < 16)
    vertical = 9.81 + np.where(walking, 2.0 * np.cos(2 * np.pi * (t - 4) / 0.6), 0.0)
    lateral = np.where(walking, 0.8 * np.sin(np.pi * (t - 4) / 0.6), 0.0)
    a = np.radians(tilt_deg)
    acc = np.column_stack([vertical * np.cos(a), lateral, vertical * np.sin(a)])
    keep = np.ones(counter.size, bool)
    keep[lost] = False
    rows = np.column_stack([counter, acc, np.zeros((counter.size, 3)), np.zeros((counter.size, 3))])[keep]
    header = "PacketCounter\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z\tMag_X\tMag_Y\tMag_Z"
    np.savetxt(folder / f"{name}_lb.txt", rows, delimiter="\t", fmt="%.6f",
               header="Acquisition frequency: 100 Hz\n" + header, comments="")
    strikes = np.arange(400, 1600, 60)
    meta = {
        "Subject": subject, "Trial": 1, "Height": height_cm, "TrialBoundaries": [int(strikes[0]) - 45, int(strikes[-1])],
        "UTurnBoundaries": [950, 1100],
        "LeftFootEvents": [[int(s) - 45, int(s)] for s in strikes[0::2]] + [[1900, 1950]],
        "RightFootEvents": [[int(s) - 45, int(s)] for s in strikes[1::2]],
    }
    (folder / f"{name}.json").write_text(json.dumps(meta))


def test_events_are_counter_times_and_steps_after_the_trial_are_not_the_walk(tmp_path):
    data, out = tmp_path / "GaitData", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    _write_trial(data, "1-1", 1, slice(700, 705))  # 5 packets lost mid-walk: 0.3 % of the cut, bridged
    files, refused = heldout.convert(data, out, {1})
    assert refused == [] and len(files) == 1
    path, turn = files[0]
    rec = read_imu_recording(path)
    assert rec.gaps.bridged_gaps == 1 and rec.gaps.bridged_frames == 5
    wp = rec.metadata["walking_periods"][0]
    start = 400 - 45 - heldout.MARGIN_S * 100  # the cut begins 2 s before the first toe-off
    expected = (np.arange(400, 1600, 60) - start) / 100.0
    np.testing.assert_allclose(wp["initial_contacts_s"], expected)  # counter values, not row numbers
    assert 1950 - start not in wp["initial_contacts_s"]  # the step at counter 1950 is after the walk
    assert wp["initial_contacts_side"][:2] == ["Left", "Right"]
    assert turn == pytest.approx(((950 - start) / 100, (1100 - start) / 100))
    assert heldout._tilt_deg(rec.acc_m_s2) == pytest.approx(20.0, abs=0.5)
    assert rec.metadata["height_m"] == 1.75 and rec.sensor_height_m is None  # no step length is scored
    walked = heldout.walked_distance(files)
    assert walked["trials"] == 1 and 19 * 0.4 < walked["detected"]["mean_m"] < 19 * 0.8  # 20 contacts, 19 steps


def test_a_trial_without_a_body_height_has_no_walked_distance(tmp_path):
    data = tmp_path / "GaitData"
    data.mkdir()
    _write_trial(data, "1-1", 1, slice(700, 705), height_cm=float("nan"))  # the data set writes NaN
    files, _refused = heldout.convert(data, tmp_path, {1})
    assert "height_m" not in read_imu_recording(files[0][0]).metadata
    assert heldout.walked_distance(files) is None


def test_a_trial_with_too_many_lost_packets_is_refused_in_the_readers_words(tmp_path, capsys):
    data = tmp_path / "GaitData"
    data.mkdir()
    _write_trial(data, "1-1", 1, slice(700, 705))
    _write_trial(data, "2-1", 2, slice(500, 1300, 10))  # 80 of ~1,600 packets lost
    files, refused = heldout.convert(data, tmp_path, {1, 2})
    assert [p.stem for p, _ in files] == ["V1-1"]
    assert len(refused) == 1 and refused[0].startswith("V2-1.csv: ") and "IMU samples missing" in refused[0]
    assert heldout.main([str(data), "--subjects", "2"]) == 2
    assert "no trial" in capsys.readouterr().err


def test_the_subjects_of_a_split_and_bad_arguments_said_in_words(tmp_path, capsys):
    assert heldout._subjects("1-3,7,10-11") == {1, 2, 3, 7, 10, 11}
    assert heldout._spans({1, 2, 3, 7, 10, 11}) == "1-3,7,10-11"
    assert heldout.main([str(tmp_path)]) == 2  # not the data set's directory: said, no traceback
    assert "not the data set's GaitData directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        heldout.main([str(tmp_path), "--subjects", "one-nine"])
    assert bad.value.code == 2 and "give subject numbers such as 1-9" in capsys.readouterr().err
