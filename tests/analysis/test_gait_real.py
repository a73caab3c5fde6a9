"""The shared lower-back recordings with reference events (../shared/data/gait): accuracy of the
station's gait analysis, each recording analysed whole (its own walking bouts, no reference
information), scored per reference walking period (contacts matched within 0.2 s).

Targets of issue 10 / DESIGN.md §8. Where the analysis falls short of a target, the test says so
with a strict expected failure (it turns red the day the target is met, so the marker must go) and a
second test holds the level reached, so that a change cannot make it worse unnoticed. The figures
are in README.md ("Gait analysis"), printed by ``balance-station bench gait``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from station.bench.gait import (
    MOBILISE_D_LAB,
    match_contacts,
    reference_cadence_steps_min,
    score_recordings,
    unmatched_in_reference_gaps,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared gait data not found at {DATA}")


@pytest.fixture(scope="module")
def straight():
    return score_recordings(sorted(DATA.glob("*Test5*.csv")))


@pytest.fixture(scope="module")
def daily():
    return score_recordings(sorted(DATA.glob("*Test11*.csv")))


def test_matching_is_one_to_one_and_nearest_first():
    errors, fp, fn = match_contacts([1.0, 1.05, 2.5], [1.04, 2.0])
    assert errors == [pytest.approx(0.01)] and fp == 2 and fn == 1
    errors, fp, fn = match_contacts([], [1.0])
    assert errors == [] and fp == 0 and fn == 1


# -- straight walks (Test5): every target met except the timing, see below -------------------------


def test_straight_walks_all_reference_periods_scored(straight):
    assert straight["walking_periods"] == 4  # HA002's two trials carry no reference period
    assert straight["reference_contacts"] == 36
    assert straight["periods_without_steps"] == []


def test_straight_walks_contact_f1(straight):
    assert straight["f1"] >= 0.97


def test_straight_walks_cadence_error(straight):
    assert straight["cadence_mae_steps_min"] <= 1.5


def test_straight_walks_speed_and_stride_length(straight):
    # no target in the issue for straight walks; Mobilise-D's lab figures as the bar
    assert straight["walking_speed_mae_m_s"] <= 0.084
    assert straight["stride_length_mae_m"] <= 0.10


@pytest.mark.xfail(strict=True, reason=(
    "41 ms: the healthy person's contacts are within 2-12 ms, but MS001's right-foot reference contacts come "
    "94-125 ms after the trunk's impact, its left ones 35-44 ms before it (an asymmetry the trunk does not show). "
    "No rule that moves every contact alike can do better: the best common shift is 0 ms (41.4 ms); even the best "
    "shift per recording, an oracle, only reaches 38.3 ms. MS001's reference step times alternate 0.36/0.76 s where "
    "the trunk's impacts come every 0.58 s; every filter is zero-phase (no lag to correct) and the simulated "
    "walker's contacts come back within 5 ms, so a per-side offset would be fitted to one person. Mobilise-D's own "
    "detector on this test: 57 ms (test_straight_walks_at_least_mobilise_d_on_the_same_test)"))
def test_straight_walks_timing_error_target(straight):
    assert straight["timing_mae_s"] <= 0.040


def test_straight_walks_timing_error_level_reached(straight):
    assert straight["timing_mae_s"] <= 0.045
    assert abs(straight["timing_bias_s"]) <= 0.025


# -- daily activities with turns (Test11): short of Mobilise-D's lab figures -----------------------


@pytest.mark.xfail(strict=True, reason="F1 0.861 (P 0.826, R 0.900; 0.856 before steps were taken back at the step "
                   "period, 0.849 before the side-alternation rule) against the issue's 0.89, Mobilise-D's figure pooled "
                   "over every lab test (mostly straight walks). On this test alone Mobilise-D's detector reaches 0.80 with "
                   "a 0.5 s tolerance (test_daily_activities_at_least_mobilise_d_on_the_same_test); turns and shuffling "
                   "steps give extra or missing trunk impacts where the sway's side is doubtful too; 30 of the 38 "
                   "unmatched detections lie in gaps of the reference's list. By the reference's own sides it left 21 "
                   "steps untimed (consecutive contacts on one side) and 17 unmatched detections lie there: with those "
                   "left out F1 would be 0.898 (P 0.895, R 0.900), over the bar; whether the bar is scored that way is "
                   "the issue author's call (test_daily_activities_f1_without_the_reference_untimed_steps); see README")
def test_daily_activities_contact_f1_target(daily):
    assert daily["f1"] >= 0.89


@pytest.mark.xfail(strict=True, reason="cadence MAE 4.95 steps/min (4.91 before the impact's tie rule, 6.56 before steps were taken back at the step "
                   "period and cadence became the mean over every stride of 0.2-3 s, the reference's definition; 9.4 "
                   "before the side-alternation rule) against the issue's 3.3 (pooled over every lab test; Mobilise-D on "
                   "this test: 5.8). The same definition on the reference's own contacts gives 3.78: its list lacks the "
                   "contacts the INDIP could not time (test_daily_activities_from_reference_contacts)")
def test_daily_activities_cadence_target(daily):
    assert daily["cadence_mae_steps_min"] <= 3.3


def test_daily_activities_stride_length_target(daily):
    """Met since steps are taken back at the step period (0.140 m before, 0.170 before the
    side-alternation rule, 0.27 before the pendulum's rise became the smaller of rise and fall):
    an interval of two or three shuffling steps no longer reads as one long step."""
    assert daily["stride_length_mae_m"] <= 0.10


@pytest.mark.xfail(strict=True, reason="speed MAE 0.102 m/s (0.153 before steps were taken back at the step period, 0.168 "
                   "before the side-alternation rule) against the issue's 0.084; from the reference's own contacts "
                   "0.155 m/s (per second, Mobilise-D's way: 0.105). Mobilise-D's pipeline on this test: 0.108 m/s")
def test_daily_activities_speed_target(daily):
    assert daily["walking_speed_mae_m_s"] <= 0.084


def test_daily_activities_level_reached(daily):
    assert daily["walking_periods"] == 15
    assert daily["f1"] >= 0.86
    assert daily["precision"] >= 0.82 and daily["recall"] >= 0.895
    assert daily["timing_mae_s"] <= 0.050
    assert daily["cadence_mae_steps_min"] <= 5.0
    assert daily["walking_speed_mae_m_s"] <= 0.105
    assert daily["stride_length_mae_m"] <= 0.095  # 0.083 before the impact's tie rule (README)
    assert daily["periods_without_steps"] == []


def test_daily_activities_from_reference_contacts(daily, straight):
    """The measures computed from the reference's own contacts: the part of the error no detection
    can remove. Cadence (every stride of 0.2-3 s, the reference's definition) is then 3.8 steps/min
    against the detected contacts' 4.9; speed and stride length are better from the detected
    contacts (0.102 m/s, 0.083 m) than from the reference's (0.155, 0.161): its list lacks the
    contacts the INDIP could not time, so some of its intervals span several steps. The straight
    walks are exact or nearly so either way."""
    ref = daily["from_reference_contacts"]
    assert ref["cadence_mae_steps_min"] <= 4.0
    assert ref["walking_speed_mae_m_s"] <= 0.165 and ref["stride_length_mae_m"] <= 0.17
    assert daily["cadence_mae_steps_min"] - ref["cadence_mae_steps_min"] <= 1.5
    assert daily["walking_speed_mae_m_s"] - ref["walking_speed_mae_m_s"] <= 0.0
    ref = straight["from_reference_contacts"]
    assert ref["cadence_mae_steps_min"] <= 0.01 and ref["walking_speed_mae_m_s"] <= 0.05


# -- like for like: Mobilise-D's figures on the same lab test, its definitions ----------------------


def test_the_published_pooled_figures_are_the_issue_figures():
    pooled = MOBILISE_D_LAB["all"]
    assert round(pooled["f1"], 2) == 0.89 and round(pooled["cadence_mae_steps_min"], 1) == 3.3
    assert round(pooled["walking_speed_mae_m_s"], 3) == 0.084 and round(pooled["stride_length_mae_m"], 2) == 0.10
    assert pooled["matched_bouts"] == 668


def test_straight_walks_at_least_mobilise_d_on_the_same_test(straight):
    """Every Test5 figure at least as good as Mobilise-D's pipeline on its straight comfortable walks
    (76 matched lab bouts), with a stricter contact tolerance (0.2 s against 0.5 s). Speed and stride
    length also with Mobilise-D's own aggregation on the station's matched bouts; its cadence there is
    2.3 steps/min (a station bout holds the first and last steps the reference period leaves out)."""
    bar = MOBILISE_D_LAB["Test5"]
    assert straight["f1"] >= bar["f1"] and straight["timing_mae_s"] <= bar["timing_mae_s"]
    for key in ("cadence_mae_steps_min", "walking_speed_mae_m_s", "stride_length_mae_m"):
        assert straight[key] <= bar[key], key
    for key in ("walking_speed_mae_m_s", "stride_length_mae_m"):
        assert straight["mobilise_d_style"]["matched_bouts"][key] <= bar[key], key
    assert straight["mobilise_d_style"]["matched_bouts"]["cadence_mae_steps_min"] <= 2.5


def test_daily_activities_at_least_mobilise_d_on_the_same_test(daily):
    """Contacts in the daily activities: F1 and timing at least as good as Mobilise-D's detector
    (Ionescu) on its Test11 bouts, although Mobilise-D counts a contact within 0.5 s of the reference
    and the station within 0.2 s."""
    bar = MOBILISE_D_LAB["Test11"]
    assert daily["f1"] >= bar["f1"]
    assert daily["timing_mae_s"] <= bar["timing_mae_s"]


@pytest.mark.parametrize("key", ["cadence_mae_steps_min", "walking_speed_mae_m_s", "stride_length_mae_m"])
def test_daily_activities_measures_at_least_mobilise_d_on_the_same_test(daily, key):
    """Cadence, speed and stride length in the daily activities at least as good as Mobilise-D's
    own pipeline on its Test11 bouts (5.78 steps/min, 0.108 m/s, 0.138 m): the station's 4.91,
    0.102 and 0.083, per reference period with the station's definitions (cadence: every stride of
    0.2-3 s, as the reference's). Mobilise-D's figures are over the bouts its pipeline found, its
    values per second; that comparison is below. The cadence holds with the side rule's round
    SIDE_CONFIDENCE of 0.5; at 0.4 or 0.6 it would be 6.0 steps/min (README, "Steps at the step
    period")."""
    assert daily[key] <= MOBILISE_D_LAB["Test11"][key]


@pytest.mark.xfail(strict=True, reason="like for like (the station's bouts matched to the reference at 80 % both "
                   "ways, 6 of 15, values per second as Mobilise-D's): cadence 9.6 steps/min against Mobilise-D's 5.78 "
                   "(speed 0.107 m/s and stride length 0.134 m meet its 0.108 and 0.138: "
                   "test_daily_activities_like_for_like_level_reached); 9.2 before steps were taken back at the step "
                   "period. From the reference's own contacts, per second: 8.4")
def test_daily_activities_cadence_like_for_like_target(daily):
    assert daily["mobilise_d_style"]["matched_bouts"]["cadence_mae_steps_min"] <= MOBILISE_D_LAB["Test11"]["cadence_mae_steps_min"]


def test_daily_activities_like_for_like_level_reached(daily, straight):
    """The Mobilise-D-style bout values (gait_per_second) hold their level; on the straight walks
    they agree with the station's own definitions."""
    style = daily["mobilise_d_style"]
    assert style["matched_bouts"]["bouts"] >= 6
    assert style["matched_bouts"]["cadence_mae_steps_min"] <= 10.0
    # the station's bouts matched Mobilise-D's way meet its own Test11 speed and stride-length
    # figures (0.108 m/s, 0.138 m): 0.107 and 0.134
    assert style["matched_bouts"]["walking_speed_mae_m_s"] <= MOBILISE_D_LAB["Test11"]["walking_speed_mae_m_s"]
    assert style["matched_bouts"]["stride_length_mae_m"] <= MOBILISE_D_LAB["Test11"]["stride_length_mae_m"]
    assert style["from_reference_contacts"]["bouts"] == 15
    # from the reference's contacts the pendulum meets Mobilise-D's own Test11 figures (0.108 m/s, 0.138 m)
    assert style["from_reference_contacts"]["walking_speed_mae_m_s"] <= MOBILISE_D_LAB["Test11"]["walking_speed_mae_m_s"]
    assert style["from_reference_contacts"]["stride_length_mae_m"] <= MOBILISE_D_LAB["Test11"]["stride_length_mae_m"]
    assert daily["cadence_reference_definition"]["from_reference_contacts_mae_steps_min"] <= 4.0
    assert daily["cadence_reference_definition"]["from_detected_contacts_mae_steps_min"] <= 5.0
    style = straight["mobilise_d_style"]
    assert style["on_reference_periods"]["bouts"] == 4
    assert style["on_reference_periods"]["cadence_mae_steps_min"] <= 1.5
    assert style["on_reference_periods"]["walking_speed_mae_m_s"] <= 0.05


def test_reference_cadence_definition_is_every_stride():
    contacts = [0.0, 0.5, 1.0, 1.6, 2.2, 2.7]  # strides 1.0, 1.1, 1.2, 1.1 s
    assert reference_cadence_steps_min(contacts) == pytest.approx(np.mean(120 / np.array([1.0, 1.1, 1.2, 1.1])))
    assert reference_cadence_steps_min([0.0, 2.0, 4.0, 6.0]) is None  # 4-s strides: not walking strides
    assert reference_cadence_steps_min([0.0, 0.5]) is None


def test_unmatched_detections_inside_reference_gaps_are_told_apart():
    reference = [0.0, 0.5, 1.0, 2.5, 3.0, 3.5]  # 1.0-2.5 s: a gap of three median steps
    detected = [0.02, 0.51, 1.0, 1.5, 2.0, 2.48, 3.0, 3.25, 3.5]
    assert unmatched_in_reference_gaps(detected, reference) == 2  # 1.5 and 2.0; 3.25 is an ordinary extra
    assert unmatched_in_reference_gaps(detected, [0.0, 1.0]) == 0


def test_daily_activities_extra_detections_mostly_fill_reference_gaps(daily):
    """Most unmatched detections lie where the reference lists no contact for more than 1.5 median
    steps (the INDIP leaves 13 of its 215 contacts in these bouts untimed, and the data set drops
    them): the precision is a lower bound."""
    assert daily["false_positives"] <= 38
    assert daily["unmatched_in_reference_gaps"] >= 30
    assert daily["false_positives"] - daily["unmatched_in_reference_gaps"] <= 8


def test_daily_activities_f1_without_the_reference_untimed_steps(daily, straight):
    """Two consecutive reference contacts on one side (the data set's ``initial_contacts_side``)
    prove the INDIP left a step between them untimed: 21 such steps in the daily activities, 17 of the
    38 unmatched detections lie there (at most one per step). Counted neither as false positives nor
    as found, F1 reads 0.898 instead of 0.861; the official figure still counts them. The straight
    walks' reference alternates sides throughout."""
    untimed = daily["without_untimed_steps"]
    assert untimed["proven_untimed_steps"] == 21  # the reference's lists alone fix this number
    assert 15 <= untimed["unmatched_inside"] <= daily["false_positives"]
    assert 0.89 <= untimed["f1"] <= 0.91
    assert untimed["recall"] == daily["recall"] and untimed["precision"] > daily["precision"]
    assert daily["f1"] < 0.89  # the official F1 is not the one with the untimed steps left out
    assert straight["without_untimed_steps"]["proven_untimed_steps"] == 0
    assert straight["without_untimed_steps"]["f1"] == straight["f1"]


def test_every_recording_reads_and_gives_finite_gait():
    from station.analysis.gait import GAIT_KEYS, gait_metrics
    from station.analysis.imu_frame import align_to_body, check_mounting
    from station.store.imu_recording import read_imu_recording

    for path in sorted(DATA.glob("*.csv")):
        rec = read_imu_recording(path)
        assert check_mounting(rec.acc_m_s2, up_axis="+x", toes_axis="+z") is None
        acc, _ = align_to_body(rec.acc_m_s2, rec.gyro_deg_s, fs_hz=rec.fs_hz)
        m = gait_metrics(acc, rec.fs_hz, sensor_height_m=rec.sensor_height_m)
        assert list(m) == list(GAIT_KEYS)
        assert m["steps"] >= 6, path.name  # every recording holds a walk, HA002's Test5 included
        assert 70 <= m["cadence_steps_min"] <= 130, path.name
        assert all(np.isfinite(v) for k, v in m.items() if isinstance(v, float))


def _score_transformed(pattern: str, tilt_deg: float, rate_hz: float) -> tuple[float, float]:
    """(F1, cadence MAE) of recordings seen by another sensor: tilted on the belt by ``tilt_deg``
    about its medio-lateral axis (pitched) and resampled to ``rate_hz``."""
    from math import gcd

    from scipy import signal

    from station.analysis.gait import gait_metrics
    from station.analysis.imu_frame import align_to_body
    from station.store.imu_recording import read_imu_recording

    a = np.radians(tilt_deg)
    pitch = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    tp = fp = fn = 0
    cadence = []
    for path in sorted(DATA.glob(pattern)):
        rec = read_imu_recording(path)
        k = gcd(int(rate_hz), int(rec.fs_hz))
        up, down = int(rate_hz) // k, int(rec.fs_hz) // k
        acc = signal.resample_poly(rec.acc_m_s2 @ pitch.T, up, down, axis=0)
        gyro = signal.resample_poly(rec.gyro_deg_s @ pitch.T, up, down, axis=0)
        body, _ = align_to_body(acc, gyro, up_axis="+x", toes_axis="+z", fs_hz=rate_hz)
        t0 = float(rec.time_s[0])
        for wp in rec.metadata.get("walking_periods", []):
            m = gait_metrics(body, rate_hz, sensor_height_m=rec.sensor_height_m,
                             window_s=(wp["start_s"] - t0 - 0.2, wp["end_s"] - t0 + 0.2))
            errors, n_fp, n_fn = match_contacts([t + t0 for t in m["initial_contacts_s"]],
                                                sorted(set(wp["initial_contacts_s"])))
            tp, fp, fn = tp + len(errors), fp + n_fp, fn + n_fn
            cadence.append(abs(m["cadence_steps_min"] - wp["cadence_steps_min"]))
    return 2 * tp / (2 * tp + fp + fn), float(np.mean(cadence))


def test_another_sensor_tilted_and_at_another_rate_gives_the_same_accuracy(straight, daily):
    """Not tuned to this sensor: pitched 30° on the belt and sampled at 64 Hz instead of 100 Hz, the
    recordings give the same accuracy (the daily activities include bending and reclining, where
    the toes axis then nears the vertical)."""
    f1, cadence = _score_transformed("*Test5*.csv", 30.0, 64.0)
    assert f1 >= 0.97 and cadence <= 1.5
    f1, cadence = _score_transformed("*Test11*.csv", 30.0, 64.0)
    assert abs(f1 - daily["f1"]) <= 0.02 and abs(cadence - daily["cadence_mae_steps_min"]) <= 1.0
