"""A walk's numbers keep their units on a phone (s32 Q, item 1): the visit results of walk tests (results.js and
walk_results.js, run in Node.js on a stand-in for the page, the visit's results document made by
report.session_results from a real store of two visits, so every change is there), the heldTag and the MDC verdict
tags of app.js, and Station.unitsKept's kilograms and m/s².

On a phone a "number unit" with a plain space broke after the number ("1.18 / m/s", "24 in each of 2 trials" beside
"+3 / steps since ..."); each is a .value-unit (white-space: nowrap) now, as history.js and results.js have them
since b1128a6: no text node outside a .value-unit holds one.
"""

from __future__ import annotations

import re
import time

from station.protocols.loader import builtin_protocols
from station.protocols.report import session_results
from station.store.store import Store
from tests.web.test_js_history_page import ACTOR, DOM, JS
from tests.web.test_js_time_words import run_node
from tests.web.test_js_visit_trial_lines import SCRIPTS

# a number and its unit (a count and its noun) with a plain space between them, where a line may break (unitsKept's
# units: tests/web/test_js_history_page.py SPLIT_UNIT, with kg and m/s²)
SPLIT_UNIT = re.compile(r"\d (?:km/h|m/s²|m/s|cm/s|cm²|cm|kg|deg/s|steps/min|min|s|m|%|points|steps?|pauses?)(?![\w/²])")

LOOSE = DOM + """
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const classes = (e) => e.className.split(" ");
/* The text a line may break in: every text node under ``roots`` not inside a .value-unit (kept on one line by the
   page's CSS). */
function loose(roots) {
  const said = [];
  const walk = (e, kept) => e.children.forEach((c) => (c instanceof Text ? kept || said.push(c.text)
    : walk(c, kept || classes(c).includes("value-unit"))));
  roots.forEach((e) => walk(e, false));
  return said;
}
"""

RUN = LOOSE + """
// what walk_results.js draws: the measures tables, the changes, the walk's glance tags, the minutes, and the cut-off
// references (app.js) of its key measures; and results.js' key measures' table (a .measures without an id)
const WALK = ["measures", "change-ref", "entered-ref", "imu-gaps", "walk-minutes-block", "ref", "condition-details"];
async function drawn(answers) {
  const [byId] = page(source, {"results-page": {sessionId: "1"}, "results": {}, "results-summary": {}, "visit-notes": {},
    "norms-cite": {}, "page-error": {}}, answers);
  for (let i = 0; i < 8; i++) await settled();
  const roots = [byId.results, byId["results-summary"]].flatMap((box) => box.all()).filter((e) =>
    WALK.some((c) => classes(e).includes(c)) || e.dataset.kind === "walk");
  return {error: byId["page-error"].textContent, text: byId.results.textContent, loose: loose(roots),
    roots: roots.map((e) => WALK.find((c) => classes(e).includes(c)) || e.dataset.kind)};
}
Promise.all(calls.map(drawn)).then((shown) => process.stdout.write(JSON.stringify(shown)));
"""

OVERGROUND = {"walk_time_s": 8.47, "walk_speed_m_s": 1.18, "walk_distance_m": 10.0, "cadence_steps_min": 112.4,
              "steps": 24, "step_time_s": 0.534, "stride_time_cv_pct": 2.1, "step_time_cv_pct": 3.4,
              "step_regularity": 0.82, "stride_regularity": 0.9, "step_symmetry": 0.91, "duration_s": 12.3}
"""A 10-metre walk's measures (walk.py's names; the values of a comfortable walk)."""


def _walk(store, session_id: int, metrics: dict) -> None:
    """A valid comfortable 10-metre walk with ``metrics``."""
    walk = {"setting": "overground", "direction": "forward", "imu": None, "ended_early": None, "imu_gaps": None,
            "walk_time_s": metrics["walk_time_s"]}
    outcome = {"protocol": "ten-metre-walk", "condition": "comfortable", "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 14.0, "walk": walk}
    writer = store.trials.start_trial(session_id, "ten-metre-walk", "comfortable", {"method": "nominal"}, 100.0,
                                      actor=ACTOR)
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                   "trial": outcome, "metrics": dict(metrics)}, valid=True)


def _treadmill(store, session_id: int, walking_min: float, pauses: int, pause_s: float) -> None:
    """A valid 2-minute backward treadmill session at 1.8 km/h that walked ``walking_min`` with ``pauses``."""
    walk = {"setting": "treadmill", "direction": "backward", "belt_speed_m_s": 0.5, "planned_min": 2.0, "imu": None,
            "ended_early": None, "imu_gaps": None, "walking_min": walking_min, "walk_time_s": walking_min * 60}
    outcome = {"protocol": "backward-treadmill", "condition": "session", "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 120.0, "walk": walk}
    metrics = {"walking_min": walking_min, "pauses": pauses, "pause_s": pause_s, "steps": 190, "cadence_steps_min": 96.5,
               "step_time_s": 0.622, "stride_time_cv_pct": 3.2, "step_time_cv_pct": 4.4, "walk_speed_m_s": 0.5,
               "walk_distance_m": round(0.5 * walking_min * 60), "walk_time_s": walking_min * 60}
    writer = store.trials.start_trial(session_id, "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                      actor=ACTOR)
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                   "trial": outcome, "metrics": metrics}, valid=True)


def _results(tmp_path) -> list[dict]:
    """The visit results page of each of two visits' second (its changes since the first) and a first (no change):
    10-metre walks (two trials each) and 2-minute treadmill sessions (two each, with pauses)."""
    store = Store.open(tmp_path / "data")
    docs = []
    try:
        patient = store.patients.create({"identifier": "WALK-UNITS", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        for month, (slower, pauses) in enumerate(((0.0, (2, 2)), (0.4, (1, 3))), start=10):
            ids = []
            for label in ("10-metre walk", "treadmill"):
                session = store.sessions.create(patient["id"], {"label": label, "started_at":
                                                                f"2026-{month:02d}-02T10:00:00+00:00"}, actor=ACTOR)
                ids.append(session["id"])
                for trial in range(2):
                    if label == "treadmill":
                        _treadmill(store, session["id"], 1.9 - 0.1 * trial, pauses[trial], 6.0 + trial)
                    else:
                        _walk(store, session["id"], {**OVERGROUND, "walk_time_s": OVERGROUND["walk_time_s"] + slower + 0.1 * trial,
                                                     "walk_speed_m_s": 10.0 / (OVERGROUND["walk_time_s"] + slower + 0.1 * trial),
                                                     "steps": 24 + (month - 10) * 3})
            docs += [session_results(store, i, builtin_protocols(), actor=ACTOR, wall_clock=time.time, visit=True)
                     for i in ids]
    finally:
        store.close()
    source = "window.matchMedia = () => ({ matches: false });\n" + "\n".join((JS / n).read_text() for n in SCRIPTS)
    return run_node(RUN, source, [{"/api/sessions/1/results": doc, "/api/measures": {"measures": {}, "groups": []}}
                                  for doc in docs])


def test_the_walk_results_keep_every_number_with_its_unit(tmp_path):
    shown = _results(tmp_path)
    assert len(shown) == 4
    for page in shown:
        assert not page["error"], page
        assert not [t for t in page["loose"] if SPLIT_UNIT.search(t)], page["loose"]
    second_walk, second_treadmill = shown[2]["text"], shown[3]["text"]
    # the page was drawn, its measures, counts and changes with it (the texts walked are these)
    assert "m/s" in second_walk and "steps/min" in second_walk and "since the visit of" in second_walk, second_walk
    assert "27 in each of 2 trials" in second_walk, second_walk
    assert "km/h" in second_treadmill and "pause" in second_treadmill, second_treadmill
    assert {"measures", "change-ref", "ref", "walk"} <= set(shown[2]["roots"]), shown[2]["roots"]
    assert {"measures", "change-ref", "entered-ref", "walk"} <= set(shown[3]["roots"]), shown[3]["roots"]


def test_app_tags_and_units_kept_for_kilograms_and_accelerations():
    """heldTag ("held 12.3 s") and the MDC verdict tag ("+0.12 m/s since ...: beyond the MDC") keep the number with
    its unit; unitsKept keeps a weight (the patient page's "72 kg") and an acceleration ("9.81 m/s²", the steps
    figure's caption)."""
    run = DOM + """
const {source} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const [, context] = page(source, {}, {});
const S = vm.runInContext("Station", context);
const pieces = (e) => e.children.map((p) => (p instanceof Text ? p.text : [p.textContent]));
process.stdout.write(JSON.stringify([
  pieces(S.heldTag({time_held_s: 12.34, held_verdict: "below"})),
  pieces(S.mdcVerdictTag({tone: "improved", words: "+0.12 m/s since the visit of 2 Oct 2026: beyond the MDC"})),
  S.unitsKept("born 1950 · F · 168 cm · 72 kg").map((p) => (typeof p === "string" ? p : [p.textContent])),
  S.unitsKept("gravity included: 9.81 m/s², from 0.0 to 30.0 s").map((p) => (typeof p === "string" ? p : [p.textContent])),
]));
"""
    said = run_node(run, (JS / "app.js").read_text(), [])
    assert said == [["held ", ["12.3 s"]], [["+0.12 m/s"], " since the visit of 2 Oct 2026: beyond the MDC"],
                    ["born 1950 · F · ", ["168 cm"], " · ", ["72 kg"]],
                    ["gravity included: ", ["9.81 m/s²"], ", from 0.0 to ", ["30.0 s"]]], said


PATIENT_RUN = LOOSE + """
// strings given to append and replaceChildren are text nodes, as in a browser
const nodes = (c) => c.map((x) => (typeof x === "string" ? new Text(x) : x));
Element.prototype.append = function (...c) { this.children.push(...nodes(c)); };
Element.prototype.replaceChildren = function (...c) { this.children = nodes(c); };
const ids = ["archive-patient", "archived-tag", "cancel-patient", "edit-patient", "erase-cancel", "erase-confirm",
  "erase-dialog", "erase-error", "erase-form", "erase-identifier", "erase-patient", "form-error", "new-test", "page-error",
  "patient-dialog", "patient-form", "patient-notes", "patient-notes-text", "patient-summary", "patient-title", "sessions"];
const [byId] = page(source, {"patient-page": {patientId: "1"}, ...Object.fromEntries(ids.map((i) => [i, {}]))}, calls);
(async () => {
  for (let i = 0; i < 8; i++) await settled();
  process.stdout.write(JSON.stringify({error: byId["page-error"].textContent, loose: loose([byId.sessions, byId["patient-summary"]]),
    text: byId["patient-summary"].textContent + " | " + byId.sessions.textContent}));
})();
"""


def test_the_patient_page_keeps_each_number_with_its_unit(store, clinician):
    """The patient page (patient.js, on a stand-in page; the patient, protocols and conditions documents the station's
    API gives): the summary's height and weight ("168 cm · 72 kg": the weight broke from its unit), each trial's walk
    time and speed, the visit's count of trials."""
    patient = store.patients.create({"identifier": "WALK-UNITS", "birth_year": 1950, "sex": "F", "height_cm": 168,
                                     "weight_kg": 72}, actor=ACTOR)
    assert patient["id"] == 1
    walks = store.sessions.create(1, {"label": "10-metre walk"}, actor=ACTOR)
    _walk(store, walks["id"], OVERGROUND)
    belt = store.sessions.create(1, {"label": "treadmill"}, actor=ACTOR)
    _treadmill(store, belt["id"], 1.9, 2, 6.0)
    answers = {path: clinician.get(path).json for path in ("/api/patients/1", "/api/protocols", "/api/conditions")}
    source = "window.matchMedia = () => ({ matches: true });\n" + "\n".join(
        (JS / n).read_text() for n in ("app.js", "patients.js", "patient.js"))
    shown = run_node(PATIENT_RUN, source, answers)
    assert not shown["error"], shown
    for said in ("168 cm · 72 kg", "8.47 s", "1.18 m/s", "1.8 km/h belt", "1 min 54 s walking"):
        assert said in shown["text"], (said, shown["text"])
    assert not [t for t in shown["loose"] if SPLIT_UNIT.search(t)], shown["loose"]
