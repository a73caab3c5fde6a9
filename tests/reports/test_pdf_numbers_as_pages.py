"""The PDFs print a value as the pages print the same value: the page's own functions
(``Station.quantity``, ``fmt``, ``fmtSig``, ``change`` of web/static/js/app.js, run in Node.js) against the
PDFs' (:mod:`station.reports.text`), over the units and values the station shows. A whole value of a
measure without a unit rule printed "1" in the PDF where the page says "1.00" (a step symmetry, a
fractal dimension, a Romberg quotient); and a tie (62.5 % -> "63" on the page) rounds the page's way."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from station.reports.text import (UNIT_DIGITS, belt_speed, bracketed, change, fixed, held_change, quantity, significant,
                                  time_held)

APP_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "app.js"

PAGE = r"""
const fs = require("fs"), vm = require("vm");
const noop = () => {};
const document = { getElementById: () => null, querySelector: () => null, querySelectorAll: () => [], addEventListener: noop };
const context = { document, window: { location: {}, addEventListener: noop }, setInterval: noop, setTimeout: noop,
                  clearTimeout: noop, console, Node: function () {}, HTMLInputElement: function () {} };
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8") + "\n;globalThis.Station = Station;", context);
const S = context.Station;
const asked = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(asked.map(([fn, ...args]) => S[fn](...args))));
"""

VALUES = (1.0, 2.0, 12.0, 100.0, 1234.5, 123.45, 37.66, 12.25, 9.996, 1.005, 0.5, 0.99996, 0.0012345, 0.000999996,
          0.125, 62.5, 2.5, 0.0, -0.25, -0.04, -12.0, 1e-7, 0.3333333333333333)
UNITS = ("", "cm", "Hz", "cm²/s", "°", "percentage points", "steps", *UNIT_DIGITS)


def page(calls: list) -> list[str]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (Debian nodejs; tests/bootstrap.sh installs it)")
    done = subprocess.run([node, "-e", PAGE, str(APP_JS)], input=json.dumps(calls), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pdfs_print_every_value_as_the_pages_do():
    calls, ours = [], []
    for v in VALUES:
        calls.append(["fmtSig", v])
        ours.append(significant(v))
        for d in (0, 1, 2):
            calls.append(["fmt", v, d])
            ours.append(fixed(v, d))
        for unit in UNITS:
            calls.append(["quantity", v, unit])
            ours.append(quantity(v, unit))
            calls.append(["change", v, unit])
            ours.append(change(v, unit))
    theirs = page(calls)
    differ = [(call, mine, its) for call, mine, its in zip(calls, ours, theirs) if mine != its]
    assert not differ, differ[:10]
    # the finding itself: a whole value of a measure without a unit rule keeps its decimals
    assert quantity(1.0, "") == "1.00" and quantity(12.0, "cm") == "12.0 cm" and fixed(62.5, 0) == "63"


def test_the_pdfs_say_a_time_held_and_its_change_as_the_pages_do():
    """A time held and its change in the precision the test is scored in, one decimal, on the pages
    (``Station.timeHeld``, ``heldChange``) and in the PDFs (text.time_held, held_change): the history said a
    change "+12.46 s" and none "0.00 s"; now "+12.5 s" and "no change"; a 0 s the clinician scored says so."""
    scored = "scored by the clinician, not measured"
    held = (*VALUES, 12.46, 0.05, -0.05, 0.25, 30.0, 9.4)
    calls = [["timeHeld", v] for v in held] + [["timeHeld", 0.0, scored], ["timeHeld", 0.0, None]] \
        + [["heldChange", v] for v in held]
    ours = [time_held(v) for v in held] + [time_held(0.0, scored), time_held(0.0, None)] + [held_change(v) for v in held]
    theirs = page(calls)
    differ = [(call, mine, its) for call, mine, its in zip(calls, ours, theirs) if mine != its]
    assert not differ, differ[:10]
    assert (held_change(12.46), held_change(0.0), held_change(-0.04)) == ("+12.5 s", "no change", "no change")
    assert time_held(0.0, scored) == "0 s (unable; scored by the clinician, not measured)"


def test_a_value_and_its_bracket_are_one_bracket_on_the_history_page_and_pdf_alike():
    """A history point's value and how it was made (the page: ``Station.bracketed``) or its day (the PDF:
    text.bracketed, history_report.dated) are one bracket, by one rule checked here on a shared table: the value's own
    bracket of words takes them at its front ("0 s (1 trial: unable; ...)"), a value said in a second unit after it
    ("1.8 km/h (0.50 m/s; 1 trial)": the page said "1.8 km/h (1 trial: 0.50 m/s)", a belt speed's m/s read as the
    trial's), anything else in a bracket of their own. The rule was written twice (history.js, history_report.dated)."""
    scored = "scored by the clinician, not measured"
    values = [time_held(v) for v in (12.46, 30.0, 0.05)] + [time_held(0.0), time_held(0.0, scored),
                                                            time_held(0.0, "2 of 3 " + scored), time_held(None)] \
        + [belt_speed(v) for v in (0.5, 0.25, 1.0)] + [quantity(v, u) for v, u in ((0.4512, "m/s"), (-0.25, "cm"),
                                                                                  (1.0, ""), (62.5, "%"))] \
        + ["13, 13 and 14 steps (3 trials; median 13)", "0 and 1 pauses (2 trials; charted: 0, the lower of the two)",
           "3 pauses", "20 s", "a (b) c", "2 m (3 s)"]
    words = ("1 trial", "best of 3 trials", "mean of 2 trials", "2026-11-02")
    cases = [(v, w) for v in values for w in words]
    ours = [bracketed(v, w) for v, w in cases]
    theirs = page([["bracketed", v, w] for v, w in cases])
    differ = [(case, mine, its) for case, mine, its in zip(cases, ours, theirs) if mine != its]
    assert not differ, differ[:10]
    assert bracketed(time_held(0.0, scored), "1 trial") == f"0 s (1 trial: unable; {scored})"
    assert bracketed(belt_speed(0.5), "1 trial") == "1.8 km/h (0.50 m/s; 1 trial)"
    assert bracketed("12.5 s", "2026-11-02") == "12.5 s (2026-11-02)" and not [o for o in ours if ") (" in o], ours
