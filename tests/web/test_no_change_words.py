"""A change that rounds to nothing reads "no change" on every page and in every PDF, the history's rule.

The history said a time held's change that rounds to nothing in words ("no change", Station.heldChange,
station/reports/text.py held_change), but every other change by the unit's rule, unsigned: the programme page
read "Mid-point: 0.00 cm/s from baseline", the history "0.00 cm/s since the first", a visit's PDF "change 0.00
m/s", a time walked "0 min". One rule now (Station.change, station/reports/text.py change): a change that rounds
to nothing in its unit's precision is "no change", in any unit; a visit PDF's sentence does not say "change no
change".
"""

from __future__ import annotations

import pytest

from station.reports.references import Citations, reference_words
from station.reports.text import change, held_change
from tests.web.test_js_time_words import _station

NOTHING = ((0.0, "cm/s"), (0.004, "cm/s"), (-0.004, "cm/s"), (0.001, "m/s"), (-0.0001, "cm²"), (0.02, "%"), (0.001, "min"),
           (0.0, "s"), (-0.001, "km/h"))
"""Changes that round to nothing in their unit's precision (a percentage's in points, a time walked's in seconds)."""

SOMETHING = ((0.05, "cm/s"), (-0.1, "m/s"), (1.2, "%"), (-0.6, "min"))


def test_a_change_that_rounds_to_nothing_is_no_change_on_the_pages_as_in_the_history():
    pages = _station(*[("change", v, u) for v, u in NOTHING], *[("change", v, u) for v, u in SOMETHING],
                     ("heldChange", 0.0))
    assert pages[:len(NOTHING)] == ["no change"] * len(NOTHING), pages
    assert pages[len(NOTHING):] == ["+0.05 cm/s", "-0.10 m/s", "+1.2 points", "-36 s", "no change"], pages


def test_the_pdfs_say_it_so_too():
    assert [change(v, u) for v, u in NOTHING] == ["no change"] * len(NOTHING)
    assert [change(v, u) for v, u in SOMETHING] == ["+0.05 cm/s", "-0.10 m/s", "+1.2 points", "-36 s"]
    assert held_change(0.0) == "no change"  # the history's rule, the one the others now follow


@pytest.mark.parametrize(("moved", "said"), [(0.001, "): no change"), (-0.1, "): change -0.10 m/s")])
def test_a_visit_pdfs_change_sentence_says_no_change_once(moved, said):
    ref = {"kind": "change", "change": moved, "previous": {"started_at": "2026-11-02T10:00:00Z", "visit": True,
                                                           "value": 0.51}}
    words = reference_words(ref, "m/s", Citations())
    assert words.startswith("Since the visit of ") and said in words and "change no change" not in words, words
