"""The programme PDF says a time held as the programme page and the history do (s27 P6, job 5).

The balance-training programme's single-leg outcome, unable (0 s) at the baseline and 12.46 s at the mid-point, read
in the PDF "0.00 s", "+12.46 s" beside "MDC not read: unable (0 s)", "MDC 24.10 s" and "Grey band: first value ±
MDC (24.10 s)": a band drawn around the unable baseline that the verdict does not read. Now as the pages say a time
held: "0 s (unable)", "+12.5 s", "MDC 24.1 s", and no band (the history PDF's words for it).
"""

from __future__ import annotations

from station.programmes.change import UNABLE_NOT_READ

import test_single_leg_unable_words as unable_words
from test_single_leg_unable_words import _pdf
from test_unable_at_both_history import unable_baseline_programme

store = unable_words.store  # a store of its own in tmp_path


def test_the_programme_pdf_says_a_time_held_from_an_unable_baseline_as_the_pages(store, protocols, clinic, poppler):
    assignment = unable_baseline_programme(store, protocols, "SLS-PDF")
    text = _pdf(store, protocols, clinic, "programme", assignment["id"])
    assert text.count(f"+12.5 s {UNABLE_NOT_READ}") == 2, text  # each leg's mid-point row
    assert text.count("0 s (unable)") == 2, text  # each leg's baseline
    assert text.count("12.5 s") >= 2 and "12.46" not in text and "0.00 s" not in text, text
    assert text.count("MDC 24.1 s") == 2 and "24.10" not in text, text
    assert text.count("No grey band: the MDC is not read from or to an unable, 0 s.") == 2, text
    assert "Grey band: first value" not in text.split("Single-leg")[1], text
