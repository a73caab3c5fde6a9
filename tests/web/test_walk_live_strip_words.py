"""The walk panel's live acceleration strip names the sensor as a clinician knows it: with no acceleration coming
it said "No acceleration from the IMU" on the live page (beside the walk panel's "Waiting for the beams to clear and
the lower-back sensor" and the result's "No gait measures from the lower-back sensor: ..."); now "No acceleration from
the lower-back sensor". web/static/js/walk_charts.js's LiveStrip drawn by Node.js on a canvas that keeps what is
written on it."""

from __future__ import annotations

from pathlib import Path

from test_js_time_words import run_node

WALK_CHARTS = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "walk_charts.js"
WALK = WALK_CHARTS.with_name("walk.js")
RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const written = [];
const ctx = new Proxy({}, {get: (target, name) => name in target ? target[name]
  : name === "fillText" ? (text) => written.push(text) : () => {}, set: (target, name, value) => { target[name] = value; return true; }});
const canvas = {width: 0, height: 0, getContext: () => ctx, getBoundingClientRect: () => ({width: 500, height: 150})};
const context = vm.createContext({window: {devicePixelRatio: 1}, document: {}, console, Charts: {niceStep: () => 1}});
new vm.Script(source, {filename: "walk_charts.js"}).runInContext(context);
const strip = new (vm.runInContext("WalkCharts", context).LiveStrip)(canvas, 8);
for (const [t, acc, contacts, now] of calls) strip.draw(t, acc, contacts, now);
process.stdout.write(JSON.stringify(written));
"""


def test_the_live_strip_without_acceleration_names_the_lower_back_sensor():
    written = run_node(RUN, WALK_CHARTS.read_text(), [[[], [], [], 10.0], [[1.0, 2.0], [None, None], [], 10.0]])
    assert written == ["No acceleration from the lower-back sensor"] * 2, written


def test_the_walk_page_names_the_sensor_as_a_clinician_does():
    """The walk's waiting words said "Waiting for the beams to clear and the IMU": the lower-back sensor, as the
    station's other words name it. (In tests/e2e/test_live_strip_lost_words.py until s33: a test without the shared
    station among the reading_pages tests stopped it, and the next test started it and two browsers again.)"""
    walk = WALK.read_text()
    phases = walk[walk.index("const PHASE_WORDS"):walk.index("};", walk.index("const PHASE_WORDS"))]
    assert 'waiting: "Waiting for the beams to clear and the lower-back sensor"' in phases, phases
    assert "IMU" not in phases.split("//")[0] and "the IMU\"" not in phases, phases
