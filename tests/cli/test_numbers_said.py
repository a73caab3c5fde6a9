"""Figures printed for people keep their zeros: a value is said with the digits of its unit's rule
(the pages' and the PDFs'), never with trailing zeros dropped. Found by a review: ``trial`` printed
``mean sway velocity 1 cm/s`` beside ``0.879 cm/s``, ``analyze``'s table ``1`` beside ``0.6202``."""

from __future__ import annotations

import re

from station.cli import main
from station.commands.analyze import format_table


def test_the_trial_summary_says_sway_by_the_units_rule(capsys):
    assert main(["trial", "--protocol", "romberg", "--simulate", "--quiet", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    velocities = re.findall(r"mean sway velocity (\S+) cm/s", out)
    areas = re.findall(r"95 % ellipse area (\S+) cm²", out)
    assert len(velocities) == len(areas) == 2, out
    assert all(re.fullmatch(r"\d+\.\d\d", v) for v in velocities + areas), out  # two decimals, as the pages


def test_the_analyze_table_keeps_four_significant_digits_with_their_zeros():
    result = {"file": "a.csv", "fs_hz": 100.0, "samples": 3000, "profile": "station", "version": "x",
              "metrics": {"mean_velocity_cm_s": 1.0, "rms_distance_cm": 0.62019}}
    table = format_table([result])
    assert re.search(r"Mean (sway )?velocity\s+1\.000\s+cm/s", table, re.I), table
    assert re.search(r"0\.6202\s+cm", table), table
    assert "Sample rate (Hz)" in table and re.search(r"Sample rate \(Hz\)\s+100\.0\n", table), table


def test_the_trial_summary_says_the_romberg_quotients_as_the_pages():
    """The Romberg quotients as the results page and the visit PDF say them (three significant digits,
    Station.fmtSig, text.significant: "0.987", "1.07", "12.3"), where the command printed two decimals ("0.99")."""
    from station.commands.trial import format_summary
    from station.protocols.loader import builtin_protocols

    protocol = builtin_protocols()["romberg"]
    summary = {"title": protocol.title, "valid_trial_count": 2, "trial_count": 2, "age_y": 70.0, "conditions": [],
               "romberg": {"romberg_quotient_area": 0.98734, "romberg_quotient_velocity": 12.345},
               "cutoffs": [], "norms": []}
    text = format_summary(summary, protocol)
    assert "Romberg quotient (eyes closed / eyes open): area 0.987, velocity 12.3" in text, text
