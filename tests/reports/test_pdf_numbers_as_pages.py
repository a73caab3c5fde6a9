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

from station.reports.text import UNIT_DIGITS, change, fixed, held_change, quantity, significant, time_held

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
