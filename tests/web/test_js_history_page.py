"""The history page (web/static/js/history.js, run in Node.js on a stand-in for the page, the history document made by
report.patient_history from a real store) draws no chart of one dot, says how a chart's point is made only above
charts, and takes the baseline's words from the document (s30 P16, items 1 to 3), saying it once above a table of values
measured once, not on each row (s31 P17, item 2).

With one visit the key measures were a table (4e7ad24, the history PDF's rule) but "More measures" still drew a chart
of one dot per measure; the intro "Each point is one session: ..." stood above no charts; and the page had its own copy
of "Baseline: later visits are compared with it" (report.BASELINE, which the visit and history PDFs say).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from station.protocols.loader import builtin_protocols
from station.protocols.report import BASELINE, patient_history
from station.store.audit import Actor
from station.store.store import Store
from tests.web.test_js_time_words import run_node

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "web" / "static" / "js"
ACTOR = Actor(3, "ana", "127.0.0.1")

DOM = """
const vm = require("vm");
const noop = () => {};
class Node {}
class Text extends Node { constructor(t) { super(); this.text = t; } get textContent() { return this.text; } }
class Element extends Node {
  constructor(tag, attrs) { super(); this.tag = tag; this.attrs = attrs || {}; this.dataset = {}; this.children = []; this.on = {}; }
  setAttribute(k, v) { this.attrs[k] = v; }
  getAttribute(k) { return this.attrs[k] ?? null; }
  get hidden() { return "hidden" in this.attrs; }
  set hidden(v) { if (v) this.attrs.hidden = ""; else delete this.attrs.hidden; }
  get className() { return this.attrs.class || ""; }
  addEventListener(kind, f) { (this.on[kind] = this.on[kind] || []).push(f); }
  click() { (this.on.click || []).forEach((f) => f()); }
  append(...c) { this.children.push(...c); }
  replaceChildren(...c) { this.children = [...c]; }
  get childElementCount() { return this.children.filter((c) => c instanceof Element).length; }
  get textContent() { return this.children.map((c) => c.textContent).join(""); }
  set textContent(t) { this.children = [new Text(t)]; }
  get clientWidth() { return 0; }
  all() { return this.children.filter((c) => c instanceof Element).flatMap((c) => [c, ...c.all()]); }
  querySelectorAll(selector) { return this.all().filter((e) => e.className.split(" ").includes(selector.slice(1))); }
}
/* A page of ``ids`` (id -> its dataset) whose API answers ``answers`` (path -> document). */
function page(source, ids, answers) {
  const byId = Object.fromEntries(Object.entries(ids).map(([id, dataset]) => {
    const e = new Element("div");
    Object.assign(e.dataset, dataset);
    return [id, e];
  }));
  const context = vm.createContext({
    Node, console,
    document: { getElementById: (id) => byId[id] || null, querySelector: () => null, querySelectorAll: () => [],
      addEventListener: noop, createElement: (t) => new Element(t), createElementNS: (_, t) => new Element(t),
      createTextNode: (t) => new Text(t) },
    window: { location: { pathname: "/", search: "" }, addEventListener: noop },
    performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0, clearTimeout: noop,
    fetch: async (path) => ({ status: 200, ok: true, json: async () => answers[path.split("?")[0]] }),
  });
  new vm.Script(source, {filename: "page.js"}).runInContext(context);
  return [byId, context];
}
const settled = () => new Promise((r) => setImmediate(r));
"""

RUN = DOM + """
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const shown = [];
  for (const answers of calls) {
    const [byId] = page(source, {"history-page": {patientId: "1"}, "history": {}, "history-intro": {}, "history-title": {},
      "back-link": {}, "history-sources": {}, "page-error": {}}, answers);
    for (let i = 0; i < 5; i++) await settled();
    const box = byId.history;
    const rows = () => box.all().filter((e) => e.tag === "tr" && e.dataset.metric).map((e) => ({
      metric: e.dataset.metric, more: !!box.all().find((m) => m.className === "history-grid" && m.all().includes(e)),
      text: e.textContent}));
    const charts = () => box.querySelectorAll(".chart-slot").length;
    const before = {charts: charts(), rows: rows()};
    box.all().filter((e) => e.className.includes("more-measures")).forEach((b) => b.click());
    const onceWords = box.all().filter((e) => e.className.includes("measured-once-words")).map((e) => e.textContent);
    // the text a line may break in: every text node not inside a .value-unit (kept on one line by the page's CSS)
    const loose = [];
    const walk = (e, kept) => e.children.forEach((c) => (c instanceof Text ? kept || loose.push(c.text)
      : walk(c, kept || c.className.split(" ").includes("value-unit"))));
    walk(box, false);
    shown.push({intro_hidden: byId["history-intro"].hidden, error: byId["page-error"].textContent, before,
      after: {charts: charts(), rows: rows()}, once_words: onceWords, loose});
  }
  process.stdout.write(JSON.stringify(shown));
})();
"""


FIRST_VISIT = DOM + """
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const [, context] = page(source, {}, {});
const W = vm.runInContext("WalkResults", context);
process.stdout.write(JSON.stringify(calls.map((ref) => W.changeReference(ref).textContent)));
"""


def _hold(store, session_id: int, held: float) -> None:
    """A valid single-leg stance (left) held ``held`` s, with its sway measures (the more measures)."""
    writer = store.trials.start_trial(session_id, "single-leg", "left", {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "single-leg", "condition": "left", "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "touch_down", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 30.0, "time_held_s": held}
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "trial": outcome,
                   "metrics": {"ellipse_area_cm2": 12.0, "mean_velocity_cm_s": 2.9, "path_length_cm": 88.4,
                               "time_held_s": held}}, valid=True)


def _history(tmp_path, holds: tuple[float, ...]) -> dict:
    """The history document of a patient who stood on the left leg ``holds`` s, a visit a month apart."""
    store = Store.open(tmp_path / f"data-{len(holds)}")
    try:
        patient = store.patients.create({"identifier": "HIST-PAGE", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        for month, held in enumerate(holds, start=10):
            session = store.sessions.create(patient["id"], {"label": "stance", "started_at":
                                                            f"2026-{month:02d}-02T10:00:00+00:00"}, actor=ACTOR)
            _hold(store, session["id"], held)
        return patient_history(store, patient["id"], builtin_protocols(), actor=ACTOR, wall_clock=time.time)
    finally:
        store.close()


def _pages(*docs: dict) -> list[dict]:
    """What the history page shows of each document: the intro hidden or not, the charts drawn and the table's rows
    (``more``: under "More measures"), before and after every "More measures" is opened."""
    source = "\n".join((JS / name).read_text() for name in ("app.js", "charts.js", "history.js"))
    answers = [{"/api/patients/1/history": doc, "/api/protocols": {"protocols": []},
                "/api/patients/1/recorded-elsewhere": {"sessions": {}}} for doc in docs]
    return run_node(RUN, source, answers)


def test_one_visit_charts_nothing_its_more_measures_are_rows_and_no_intro_is_said_over_no_chart(tmp_path):
    [once] = _pages(_history(tmp_path, (12.0,)))
    assert not once["error"], once
    assert once["before"] == {"charts": 0, "rows": [{"metric": "time_held_s", "more": False, "text": once["before"]["rows"][0]["text"]}]}
    # the more measures as the key measure: a row each of the table, not a chart of one dot (were 3 charts)
    assert once["after"]["charts"] == 0, once
    more = [r for r in once["after"]["rows"] if r["more"]]
    assert sorted(r["metric"] for r in more) == ["ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm"], once
    # the baseline said once above the table, not on each row (s31 P17, item 2: every row ended with it)
    assert not any("Baseline" in r["text"] or "baseline" in r["text"] for r in once["after"]["rows"]), once
    assert [w.count(BASELINE[1:]) for w in once["once_words"]] == [1], once["once_words"]
    assert once["intro_hidden"] is True  # "Each point is one session: ..." over no chart (was shown)
    assert 'id="history-intro" hidden' in (ROOT / "web/templates/dashboard/history.html").read_text()


def test_a_history_that_charts_says_how_a_point_is_made_and_charts_its_more_measures(tmp_path):
    [twice] = _pages(_history(tmp_path, (12.0, 20.0)))
    assert twice["intro_hidden"] is False and not twice["before"]["rows"], twice
    assert twice["before"]["charts"] == 1 and twice["after"]["charts"] == 4 and not twice["after"]["rows"], twice


def test_the_baseline_words_are_the_documents(tmp_path):
    """The baseline said once, above the table, in the document's words (report.measured_once_words), no copy of the
    page's own."""
    doc = _history(tmp_path, (12.0,))
    assert doc["measured_once"]["words"].endswith("Each value is the baseline: later visits are compared with it.")
    doc["measured_once"]["words"] = "The words the station sends."
    [shown] = _pages(doc)
    assert shown["once_words"] == ["The words the station sends."], shown
    assert not any(BASELINE[1:-1] in r["text"] for r in shown["after"]["rows"]), shown


def test_a_table_with_nothing_to_read_its_values_against_has_no_reading_column(tmp_path):
    """The reading of a value with no published cut-off or MDC was the baseline alone; said above now, a table none of
    whose values has one (the single-leg stance's sway measures) has no column of dashes; a row without one in a table
    with others reads "–" (tests/e2e/test_walk_change_by_visit_pages.py: the cadence beside the speed)."""
    [once] = _pages(_history(tmp_path, (12.0,)))
    rows = {r["metric"]: r["text"] for r in once["after"]["rows"]}
    assert rows["path_length_cm"].endswith("88.4 cm") and rows["mean_velocity_cm_s"].endswith("2.90 cm/s"), rows
    assert "A later change is real beyond the MDC, 24.1 s" in rows["time_held_s"], rows  # the key measure's table: read


# a number and its unit (a count and its noun) with a plain space between them: a line may break there ("15.79 / s",
# "2 / pauses" on a phone)
SPLIT_UNIT = re.compile(r"\d (?:km/h|m/s|cm/s|cm²|cm|deg/s|steps/min|min|s|m|%|points|steps?|pauses?)(?![\w/²])")


def test_a_number_is_never_parted_from_its_unit(tmp_path):
    """Every "number unit" of the history page, a chart's latest value, its change and MDC, a row's value and its
    reading, the sessions' list, is kept on one line (Station.unitsKept: a .value-unit each); pointText's "15.79 s"
    broke after the number on a phone (s32 P, item 1)."""
    docs = [_history(tmp_path / "once", (12.0,)), _history(tmp_path / "twice", (12.0, 20.0))]
    for shown in _pages(*docs):
        assert not shown["error"], shown
        said = "".join(shown["loose"])
        assert "Latest: " in said or "Value" in said, said  # the page was drawn (and its text walked)
        assert not [t for t in shown["loose"] if SPLIT_UNIT.search(t)], shown["loose"]


KEPT = DOM + """
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const [, context] = page(source, {}, {});
const S = vm.runInContext("Station", context);
process.stdout.write(JSON.stringify(calls.map((text) => S.unitsKept(text).map((p) => (typeof p === "string" ? p : [p.textContent])))));
"""


def test_units_kept_keeps_each_number_with_its_unit_and_a_count_with_its_noun():
    """Station.unitsKept (app.js): the pieces of a text, each "number unit" in a .value-unit of its own (shown as
    ``[text]`` here), a time walked whole, the words around them as they were."""
    said = run_node(KEPT, (JS / "app.js").read_text(), [
        "15.79 s (mean of 2 trials)", "Change since the first session: +1 pause.", "12 min 24 s of 30 min planned",
        "13, 13 and 14 steps (3 trials; median 13)", "96.0 steps/min", "1.8 km/h (0.50 m/s; 1 trial)",
        "2 sessions, 3 minutes", "12.00 cm² · 88.4 cm · 2.90 cm/s · 41.5 %"])
    assert said == [
        [["15.79 s"], " (mean of 2 trials)"], ["Change since the first session: ", ["+1 pause"], "."],
        [["12 min 24 s"], " of ", ["30 min"], " planned"], ["13, 13 and ", ["14 steps"], " (3 trials; median 13)"],
        [["96.0 steps/min"]], [["1.8 km/h"], " (", ["0.50 m/s"], "; 1 trial)"],
        ["2 sessions, 3 minutes"], [["12.00 cm²"], " · ", ["88.4 cm"], " · ", ["2.90 cm/s"], " · ", ["41.5 %"]]], said


def test_the_visit_results_first_visit_words_are_the_documents():
    """The visit results' first visit with a walk test (walk_results.js changeReference) says the document's words
    (report.add_walk_changes' ``baseline``), not a copy of its own."""
    source = "\n".join((JS / name).read_text() for name in ("app.js", "walk_results.js"))
    first = {"kind": "change", "unit": "m/s", "previous": None, "change": None, "mdc": None, "mdc_note": "",
             "baseline": "Baseline: the words the station sends."}
    [said] = run_node(FIRST_VISIT, source, [first])
    assert said == "first visit with this test Baseline: the words the station sends.", said
