"""A visit's walk trial line says "no gait measures" once, and a walk's page "gait measures valid" once
(web/static/js/walk_results.js imuGapsNote, run in Node.js on a small stand-in for the page's document; s29 P15,
item 2; s30 P16, item 4).

The trial line showed the tag "no gait measures" followed by walk_words.imu_gaps_summary's sentence "No gait measures:
the lower-back sensor's readings missing for 5 of 30 s.": the words twice. The tag is now the sentence's first words,
the sentence read on from it: "[no gait measures] The lower-back sensor's readings missing for 5 of 30 s.", "[no gait
measures] from the lower-back sensor: the station measured nothing. ...".
"""

from __future__ import annotations

from pathlib import Path

from station.protocols.walk_words import imu_gaps_summary
from tests.web.test_js_time_words import run_node

JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js"
RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const noop = () => {};
class Node {}
class Text extends Node { constructor(t) { super(); this.text = t; } get textContent() { return this.text; } }
class Element extends Node {
  constructor(tag) { super(); this.tag = tag; this.attrs = {}; this.dataset = {}; this.children = []; }
  setAttribute(k, v) { this.attrs[k] = v; }
  addEventListener() {}
  append(...c) { this.children.push(...c); }
  get textContent() { return this.children.map((c) => c.textContent).join(""); }
}
const context = vm.createContext({
  Node,
  document: { getElementById: () => null, querySelector: () => null, querySelectorAll: () => [], addEventListener: noop,
    createElement: (t) => new Element(t), createTextNode: (t) => new Text(t) },
  window: { location: { pathname: "/", search: "" }, addEventListener: noop },
  performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0, clearTimeout: noop,
  fetch: () => new Promise(noop), console,
});
new vm.Script(source, {filename: "walk_results.js"}).runInContext(context);
const W = vm.runInContext("WalkResults", context);
process.stdout.write(JSON.stringify(calls.map(([gaps, said]) => {
  const p = W.imuGapsNote(gaps, "walk-imu-gaps", said);
  return {text: p.textContent, tags: p.children.filter((c) => c.tag === "span" && c.attrs.class.split(" ").includes("tag")).map((c) => c.textContent)};
})));
"""


def _notes(*calls) -> list[dict]:
    """imuGapsNote(gaps, id, said) of each call: the line's text and its tags' words."""
    source = (JS / "app.js").read_text() + "\n" + (JS / "walk_results.js").read_text()
    return run_node(RUN, source, [list(c) for c in calls])


def test_a_walk_without_gait_measures_says_so_once():
    missing = imu_gaps_summary({"imu": "the lower-back sensor's readings missing for 5 of 30 s", "setting": "treadmill"})
    unnamed = imu_gaps_summary({"imu": "the station measured nothing", "setting": "overground", "walk_time_s": 9.0})
    shown = _notes((missing, False), (unnamed, False), (missing, True))
    assert shown[0] == {"text": "no gait measures The lower-back sensor's readings missing for 5 of 30 s.",
                        "tags": ["no gait measures"]}, shown[0]
    assert shown[1]["text"] == ("no gait measures from the lower-back sensor: the station measured nothing. The time "
                                "and speed come from the light gates and are valid."), shown[1]
    for line in shown:
        assert line["text"].lower().count("no gait measures") == 1, line
    # the words above on the trial's own page (``said``): the tag and where to read why
    assert shown[2]["text"] == "no gait measures See above.", shown[2]


def test_valid_gait_measures_say_so_once():
    """The tag says the gait measures are valid; the sentence after it says what happened, not "...: the gait measures
    are valid." again (s30 P16, item 4: the trial's page read "gait measures valid The lower-back sensor's signal
    dropped out 3 times, ... so no step was missed: the gait measures are valid.")."""
    bridged = {"imu_bridged_frames": 12, "imu_bridged_gaps": 3, "imu_longest_gap_s": 0.05, "imu_bridged_sensor_frames": 12,
               "imu_bridged_sensor_gaps": 3, "imu": None, "setting": "treadmill"}
    plain = imu_gaps_summary(bridged, samples=6000, fs_hz=100.0)
    none_near = imu_gaps_summary({**bridged, "imu_contacts_near_gaps": 0, "imu_steps_near_gaps": 0}, samples=6000, fs_hz=100.0)
    one_near = imu_gaps_summary({**bridged, "imu_contacts_near_gaps": 1, "imu_steps_near_gaps": 2}, samples=6000, fs_hz=100.0)
    stalled = imu_gaps_summary({"imu": None, "setting": "overground", "walk_time_s": 5.1, "imu_not_measured_s": 1.49,
                                "imu_stalls": 1, "imu_parts": [[0.0, 3.05], [4.54, 9.25]]}, samples=776, fs_hz=100.0)
    shown = _notes((plain, False), (none_near, False), (one_near, False), (stalled, False), (plain, True))
    for line in shown:
        assert line["tags"] == ["gait measures valid"] and line["text"].startswith("gait measures valid "), line
        assert line["text"].count("valid") == 1 + line["text"].count("light gates and are valid"), line  # the gates' own
    assert shown[0]["text"].endswith("(0.25 s at the quickest), so no step was missed."), shown[0]
    assert shown[1]["text"].endswith("so no step was missed, and no heel strike fell within 50 ms of a gap."), shown[1]
    assert shown[2]["text"].endswith("(the steps and the cadence still count it)."), shown[2]
    assert shown[3]["text"] == f"gait measures valid {stalled['words']}"  # its words hold no verdict of the gait
    assert shown[4]["text"] == "gait measures valid 12 lower-back sensor readings filled in (see above)."
