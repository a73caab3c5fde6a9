"""The gait bench's contact scores with the reference's proven untimed steps left out
(``station.bench.gait.untimed_step_intervals`` and ``score_without_untimed_steps``): two consecutive
reference contacts on the same side enclose at least one step the reference did not time, and an
unmatched detection there (at most one per such interval) counts neither as a false positive nor as
found. Synthetic reference lists with known same-side pairs here; the figure on the shared recordings
is in test_gait_real.py."""

from __future__ import annotations

import doctest
import json
import shutil
from pathlib import Path

import pytest

import station.bench.gait as bench
from station.bench.gait import match_contacts, score_without_untimed_steps, untimed_step_intervals
from station.cli import main

L, R = "Left", "Right"
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"


def test_the_docstring_examples_run():
    for function in (untimed_step_intervals, score_without_untimed_steps):
        finder = doctest.DocTestFinder()
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        tests = finder.find(function, globs={function.__name__: function})
        assert sum(len(t.examples) for t in tests) > 0
        for t in tests:
            runner.run(t)
        assert runner.failures == 0, function.__name__


def test_same_side_pairs_are_found_and_alternation_proves_nothing():
    contacts = [0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0]
    sides = [L, R, L, L, R, L, L, L]  # L-L at 1.0-2.0, then L-L-L: two more at 3.0-4.0 and 4.0-5.0
    assert untimed_step_intervals(contacts, sides) == [(1.0, 2.0), (3.0, 4.0), (4.0, 5.0)]
    assert untimed_step_intervals([0.0, 0.5, 1.0, 1.5], [L, R, L, R]) == []
    # the order given does not matter: pairs are consecutive in time
    assert untimed_step_intervals([2.0, 0.0, 1.0, 0.5], [L, L, L, R]) == [(1.0, 2.0)]


def test_exact_counts_with_known_untimed_steps():
    contacts = [0.0, 0.5, 1.0, 2.0, 2.5, 3.0, 4.0]
    sides = [L, R, L, L, R, L, L]  # untimed steps near 1.5 and 3.5 s
    detected = [0.02, 0.49, 1.01, 1.5, 2.03, 2.5, 3.0, 3.5, 4.02, 4.6]  # 4.6: an ordinary extra
    s = score_without_untimed_steps(detected, contacts, sides)
    errors, fp, fn = match_contacts(detected, contacts)
    assert (len(errors), fp, fn) == (7, 3, 0)
    assert s["untimed_steps"] == 2 and s["left_out"] == 2
    assert (s["tp"], s["fp"], s["fn"]) == (7, 1, 0)
    assert s["precision"] == round(7 / 8, 4) and s["recall"] == 1.0 and s["f1"] == round(14 / 15, 4)


def test_at_most_one_detection_left_out_per_untimed_step():
    contacts = [0.0, 0.5, 1.0, 2.5, 3.0]
    sides = [L, R, L, L, R]  # 1.0-2.5 s: one step proven untimed (there may be three; only one is proven)
    detected = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    s = score_without_untimed_steps(detected, contacts, sides)
    assert s["untimed_steps"] == 1 and s["left_out"] == 1
    assert (s["tp"], s["fp"], s["fn"]) == (5, 1, 0)  # 1.5 or 2.0 left out, the other still a false positive


def test_a_detection_in_the_interval_that_matches_a_contact_or_doubles_it_is_not_left_out():
    contacts = [0.0, 0.5, 1.0, 2.0, 2.5]
    sides = [L, R, L, L, R]
    # 1.15 s: inside the same-side interval, but within 0.2 s of the contact at 1.0 s, which it matches
    s = score_without_untimed_steps([0.0, 0.5, 1.15, 2.0, 2.5], contacts, sides)
    assert (s["tp"], s["fp"], s["fn"], s["left_out"]) == (5, 0, 0, 0)
    # 1.1 s: the contact at 1.0 is matched by a nearer detection, so 1.1 is unmatched, but it is an
    # extra detection of that contact, not the step between the two: it stays a false positive
    s = score_without_untimed_steps([0.0, 0.5, 1.0, 1.1, 2.0, 2.5], contacts, sides)
    assert (s["tp"], s["fp"], s["fn"], s["left_out"]) == (5, 1, 0, 0)
    assert s["f1"] == round(10 / 11, 4)


def test_missed_contacts_still_count():
    contacts = [0.0, 0.5, 1.0, 2.0, 2.5]
    sides = [L, R, L, L, R]
    s = score_without_untimed_steps([0.0, 1.5, 2.5], contacts, sides)  # 0.5, 1.0 and 2.0 missed
    assert (s["tp"], s["fp"], s["fn"], s["left_out"]) == (2, 0, 3, 1)
    assert s["precision"] == 1.0 and s["recall"] == 0.4


def test_an_empty_period():
    s = score_without_untimed_steps([], [], [])
    assert (s["tp"], s["fp"], s["fn"], s["untimed_steps"], s["left_out"]) == (0, 0, 0, 0, 0)
    assert s["precision"] is None and s["recall"] is None and s["f1"] is None
    s = score_without_untimed_steps([], [0.0, 1.0], [L, L])  # nothing detected: the untimed step is no detection
    assert (s["tp"], s["fn"], s["untimed_steps"], s["left_out"], s["f1"]) == (0, 2, 1, 0, 0.0)
    s = score_without_untimed_steps([0.5], [], [])  # no reference contact: nothing is proven
    assert (s["fp"], s["left_out"], s["f1"]) == (1, 0, 0.0)


@pytest.mark.parametrize("sides", [
    None,                    # the period carries no sides
    [L, R, L],               # not one per contact
    [L, R, None, L, R],      # the contacts around 1.0 s have no side
    [L, R, "NaN", L, R],     # as the INDIP writes an unknown side
    [L, R, "NaN", "NaN", R], # two unknown sides are not one side
    [L, R, None, None, R],
    [L, R, "left", L, R],    # not a side the data set gives
])
def test_without_sides_nothing_is_proven(sides):
    contacts = [0.0, 0.5, 1.0, 2.0, 2.5]
    detected = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert untimed_step_intervals(contacts, sides) == []
    s = score_without_untimed_steps(detected, contacts, sides)
    assert (s["untimed_steps"], s["left_out"], s["fp"]) == (0, 0, 1)


def test_a_contact_listed_twice_is_one_contact():
    # the shared data lists some contacts twice with their side (MS001 Test11: 16.58 s Left, twice)
    contacts = [0.0, 0.5, 1.0, 1.0, 2.0, 2.5]
    assert untimed_step_intervals(contacts, [L, R, L, L, L, R]) == [(1.0, 2.0)]
    s = score_without_untimed_steps([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], contacts, [L, R, L, L, L, R])
    assert (s["tp"], s["fp"], s["fn"], s["left_out"]) == (5, 0, 0, 1)
    # listed twice with two different sides: its side is unknown, so neither interval is proven
    assert untimed_step_intervals([0.0, 1.0, 1.0, 2.0], [L, L, R, R]) == []


def test_bench_gait_reports_the_figures_beside_the_official_ones(tmp_path, capsys, monkeypatch):
    """``bench gait``'s text and JSON carry the proven untimed steps, the unmatched detections there and
    the scores without them, beside the official F1 (the speed timings, not under test, are skipped)."""
    names = sorted(DATA.glob("HA001-Test*-Trial1.*"))
    if len(names) != 4:
        pytest.skip(f"shared gait data not found at {DATA}")
    for path in names:
        shutil.copy(path, tmp_path / path.name)
    row = {"file": "x.csv", "minutes": 1.0, "median_ms": 1.0, "ms_per_minute": 1.0, "repeats": 3}
    monkeypatch.setattr(bench, "_time_files", lambda paths: [row])
    monkeypatch.setattr(bench, "_time_session", lambda paths: {"median_s": 0.1, "ms_per_minute": 1.0})

    assert main(["bench", "gait", "--data", str(tmp_path), "--json"]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    daily = accuracy["Test11"]
    # HA001's daily activities: one same-side pair (Right-Right at 78.99-79.92 s) with an unmatched detection in it
    assert daily["without_untimed_steps"]["proven_untimed_steps"] == 1
    assert daily["without_untimed_steps"]["unmatched_inside"] == 1
    assert daily["without_untimed_steps"]["f1"] > daily["f1"]
    assert daily["without_untimed_steps"]["recall"] == daily["recall"]
    assert accuracy["Test5"]["without_untimed_steps"]["f1"] == accuracy["Test5"]["f1"]

    assert main(["bench", "gait", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    f1 = f"{daily['without_untimed_steps']['f1']:.3f}"
    assert (f"steps the reference's own sides prove it did not time (one per pair of consecutive contacts on one "
            f"side): 1, unmatched detections there (at most one per step): 1; with the reference's proven untimed "
            f"steps left out: F1 {f1}") in out
    assert f"F1 {daily['f1']:.3f}" in out
