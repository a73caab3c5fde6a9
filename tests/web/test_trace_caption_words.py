"""A visit's sway trace says what its figure shows, never an empty bracket (web/static/js/charts.js traceWords).

The visit results captioned every condition's trace "Trial #3: trace and 95 % ellipse (12.3 cm²)", also when the
trial had no ellipse to draw and no area (a trial stored without its ellipse's measures, as the e2e visit of
tests/e2e/test_visit_view_one_audit_entry.py): "Trial #3: trace and 95 % ellipse (–)", a bracket saying nothing
about an ellipse that was not there. Now the caption
says the ellipse only when it is drawn, its area in brackets only when there is one. charts.js runs in a Node.js
context (the caption's words need no element).
"""

from __future__ import annotations

from pathlib import Path

from tests.web.test_js_time_words import run_node

CHARTS_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "charts.js"
RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const context = vm.createContext({});
new vm.Script(source, {filename: "charts.js"}).runInContext(context);
const Charts = vm.runInContext("Charts", context);
process.stdout.write(JSON.stringify(calls.map((args) => Charts.traceWords(...args))));
"""

ELLIPSE = {"major_cm": 2.1, "minor_cm": 1.3, "angle_deg": 12.0}
NONE = {"major_cm": None, "minor_cm": None, "angle_deg": None}


def _captions(*calls) -> list:
    return run_node(RUN, CHARTS_JS.read_text(), calls)


def test_a_traces_caption_says_its_ellipse_only_when_drawn_and_no_empty_bracket():
    shown = _captions([ELLIPSE, "8.58 cm²"], [ELLIPSE, "–"], [NONE, "–"], [{}, "–"])
    assert shown == ["trace and 95 % ellipse (8.58 cm²)", "trace and 95 % ellipse",
                     "trace (no 95 % ellipse for this trial)", "trace (no 95 % ellipse for this trial)"], shown
    assert not any("(–)" in words for words in shown), shown
