"""A visit's treadmill session whose lower-back sensor's readings stopped says the loss once (web/static/js/results.js
trialLines, run in Node.js on a stand-in for the page, the visit's results document made by report.session_results
from a real store; s31 P17, item 1).

The trial line gave the invalid reason, "The lower-back sensor sent no readings from 1.0 s after the go (...). Check
the sensor's cable ...", and under it "[no gait measures] The lower-back sensor's readings stopped 1.0 s after the go.":
the loss twice. The reason now says it alone (report: ``no_gait_in_reason``); the "no gait measures" line stays where
it adds something: a reason the clinician gave, or another fault than the sensor's.
"""

from __future__ import annotations

import time

from station.protocols.loader import builtin_protocols
from station.protocols.report import session_results
from station.protocols.walk_words import imu_gaps_summary
from station.store.store import Store
from tests.web.test_js_history_page import ACTOR, DOM, JS
from tests.web.test_js_time_words import run_node

RUN = DOM + """
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const shown = [];
  for (const answers of calls) {
    const [byId] = page(source, {"results-page": {sessionId: "1"}, "results": {}, "results-summary": {}, "visit-notes": {},
      "norms-cite": {}, "page-error": {}}, answers);
    for (let i = 0; i < 5; i++) await settled();
    const lines = byId.results.all().filter((e) => e.className === "trial-list").flatMap((l) => l.children);
    shown.push({error: byId["page-error"].textContent, lines: lines.map((li) => li.textContent)});
  }
  process.stdout.write(JSON.stringify(shown));
})();
"""

SCRIPTS = ("app.js", "charts.js", "walk_charts.js", "walk_results.js", "los_results.js", "game_results.js", "results.js")

LOST = ("The lower-back sensor sent no readings from 1.0 s after the go (nothing for 60 s: unplugged, or its cable or "
        "the sensor failed). Check the sensor's cable and how it sits on the belt.")
"""A treadmill session's issue when its sensor stopped 1.0 s after the go (station.protocols.walk; its real words:
tests/protocols/test_walk_treadmill_imu_lost.py)."""
STOPPED = "the lower-back sensor's readings stopped 1.0 s after the go"
"""Its ``walk.imu``: why there are no gait measures."""


def _session(store, session_id: int, issue: tuple[str, str], imu: str) -> int:
    """A treadmill session, invalid for ``issue`` (code, words), its gait not measured for ``imu``."""
    walk = {"setting": "treadmill", "direction": "backward", "belt_speed_m_s": 0.5, "planned_min": 2.0, "imu": imu,
            "ended_early": None, "walking_min": None, "walk_time_s": None}
    walk["imu_gaps"] = imu_gaps_summary(walk)
    outcome = {"protocol": "backward-treadmill", "condition": "session", "trial": 1, "attempt": 1, "valid": False,
               "end_reason": "invalid", "issues": [{"code": issue[0], "message": issue[1], "at_s": 1.0}],
               "hold_end": None, "warnings": [], "completed": False, "duration_s": 1800.0, "walk": walk}
    writer = store.trials.start_trial(session_id, "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                      actor=ACTOR)
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "trial": outcome,
                   "metrics": {}}, valid=False, reason=issue[1])
    return writer.trial_id


def _lines(tmp_path, sessions: list[tuple[tuple[str, str], str, str | None]]) -> list[str]:
    """The visit results' trial lines of one visit of the treadmill ``sessions`` ((code, words), walk.imu, a
    clinician's reason or None)."""
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "LOST-IMU", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        first = None
        for issue, imu, judged in sessions:
            session = store.sessions.create(patient["id"], {"label": "treadmill"}, actor=ACTOR)
            first = first or session["id"]
            trial_id = _session(store, session["id"], issue, imu)
            if judged:
                store.trials.judge(trial_id, {"valid": False, "validity_reason": judged}, actor=ACTOR)
        doc = session_results(store, first, builtin_protocols(), actor=ACTOR, wall_clock=time.time, visit=True)
    finally:
        store.close()
    source = "window.matchMedia = () => ({ matches: false });\n" + "\n".join((JS / n).read_text() for n in SCRIPTS)
    [shown] = run_node(RUN, source, [{"/api/sessions/1/results": doc, "/api/measures": {"measures": {}, "groups": []}}])
    assert not shown["error"], shown
    return shown["lines"]


def test_a_session_whose_sensor_stopped_says_the_loss_once(tmp_path):
    [line] = _lines(tmp_path, [(("imu_missing", LOST), STOPPED, None)])
    assert LOST in line, line
    assert "no gait measures" not in line.lower() and "readings stopped" not in line, line  # was under the reason


def test_the_no_gait_line_stays_where_it_adds_something(tmp_path):
    """A clinician's reason says nothing of the sensor; a station's data lost is not why the gait was not measured."""
    data_lost = "The station's data stopped coming 1.1 s after the go: the session ended there. Check the station's health page."
    judged, other = _lines(tmp_path, [(("imu_missing", LOST), STOPPED, "Patient held the rails."),
                                      (("data_lost", data_lost), "1.1 s recorded, under the 2 s the gait analysis needs",
                                       None)])
    assert "Patient held the rails." in judged and LOST not in judged, judged
    assert "no gait measures The lower-back sensor's readings stopped 1.0 s after the go." in judged, judged
    assert data_lost in other, other
    assert ("no gait measures from the lower-back sensor: 1.1 s recorded, under the 2 s the gait analysis needs."
            in other), other


def test_the_no_gait_codes_are_the_walks():
    """walk_words cannot import walk (walk imports it): its codes checked against walk's own here."""
    from station.protocols.walk import IMU_MISALIGNED, IMU_MISSING, TOO_SHORT
    from station.protocols.walk_words import NO_GAIT_CODES

    assert NO_GAIT_CODES == {IMU_MISSING, IMU_MISALIGNED, TOO_SHORT}
