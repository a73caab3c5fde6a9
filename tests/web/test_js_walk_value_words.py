"""A visit's all-walk-measures table (web/static/js/walk_results.js valueWords, run in Node.js) says a count as the key
measures do, and a pause's seconds as what they are (s29 P14, items 1 and 2).

Under the caption "Each value is the mean of the 4 valid trials; counts are each trial's as counted", four walks of
24 steps read a bare "24" (a total?), where the key measures read "24 in each of 4 trials" (walk_words.counts_words,
walk_results.js countsText). A visit's pause seconds are the mean of each session's time paused (results.summarise
means every measure but the counts): two sessions of 2 pauses read "2 (30 s in all)", one session's words; the visit
PDF's key measure (walk_words.measure_words) "Stood still 2 times, 30 s in all". Now "2 in each of 2 sessions (30 s a
session on average)", "Stood still 2 times in each of 2 sessions, 30 s a session on average".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.protocols.results import _condition_summary
from station.protocols.walk_words import counts_words, measure_words
from tests.web.test_js_time_words import run_node

JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js"
RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const noop = () => {};
const context = vm.createContext({
  document: { getElementById: () => null, querySelector: () => null, querySelectorAll: () => [], addEventListener: noop },
  window: { location: { pathname: "/", search: "" }, addEventListener: noop },
  performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0, clearTimeout: noop,
  fetch: () => new Promise(noop), console,
});
new vm.Script(source, {filename: "walk_results.js"}).runInContext(context);
const W = vm.runInContext("WalkResults", context);
const S = vm.runInContext("Station", context);
const digits = {beltSpeed: S.beltSpeed};
process.stdout.write(JSON.stringify(calls.map(([k, v, unit, d, setting]) => W.valueWords(k, v, unit, digits[d] ?? d, setting))));
"""


def _table(*calls) -> list[str]:
    """valueWords(k, v, unit, digits, setting) of each call, as the all-measures table words its row."""
    source = (JS / "app.js").read_text() + "\n" + (JS / "walk_results.js").read_text()
    return run_node(RUN, source, list(calls))


def test_several_trials_that_counted_the_same_read_in_each_as_the_key_measures_say_it():
    shown = _table(("steps", {"steps": [24, 24, 24, 24]}, "", 0, "overground"),
                   ("steps", {"steps": [40, 40]}, "", 0, "treadmill"),
                   ("steps", {"steps": [31, 34]}, "", 0, "treadmill"),
                   ("steps", {"steps": [24]}, "", 0, "overground"),
                   ("steps", {"steps": 24}, "", 0, None))  # a trial's own page: its count
    assert shown == ["24 in each of 4 trials", "40 in each of 2 sessions", "31 and 34 (2 sessions)", "24", "24"]
    # the key measures' words, one rule (the visit PDF's and the results page's countsText)
    assert shown[:4] == [counts_words([24] * 4, "overground"), counts_words([40, 40], "treadmill"),
                         counts_words([31, 34], "treadmill"), counts_words([24], "overground")]


def _summary(pauses: list[int], pause_s: list[float]) -> dict:
    """A treadmill condition's summary (results.summarise's) of sessions with these pauses and seconds paused."""
    from station.protocols.loader import builtin_protocols

    protocol = builtin_protocols()["backward-treadmill"]
    condition = protocol.conditions[0]

    class Plan:
        pass

    class Result:
        valid = True

    results = []
    for n, s in zip(pauses, pause_s):
        r = Result()
        r.plan = Plan()
        r.plan.condition = condition
        r.metrics = {"metrics": {"pauses": n, "pause_s": s, "walking_min": 1.0}}
        results.append(r)
    return _condition_summary(protocol, condition, results)


def test_a_visits_seconds_paused_are_said_a_mean_of_its_sessions_not_their_sum_nor_one_sessions():
    summary = _summary([2, 2], [26.0, 34.0])
    v = {**summary["values"], **summary["counts"]}
    assert v["pause_s"] == np.mean([26.0, 34.0]) and v["pauses"] == [2, 2]  # what the visit's seconds are: a mean
    one = _summary([2], [30.0])
    shown = _table(("pauses", v, "", 0, "treadmill"),
                   ("pauses", {"pauses": [1, 2], "pause_s": 7.5}, "", 0, "treadmill"),
                   ("pauses", {"pauses": [0, 0], "pause_s": 0.0}, "", 0, "treadmill"),
                   ("pauses", {**one["values"], **one["counts"]}, "", 0, "treadmill"),
                   ("pauses", {"pauses": 2, "pause_s": 30.0}, "", 0, "treadmill"))  # a session's own page
    assert shown == ["2 in each of 2 sessions (30 s a session on average)", "1 and 2 (2 sessions; 8 s a session on average)",
                     "0 in each of 2 sessions", "2 (30 s in all)", "2 (30 s in all)"]
    assert measure_words("pauses", v, "treadmill") == \
        "Stood still 2 times in each of 2 sessions, 30 s a session on average; fewer is better."
    assert measure_words("pauses", {**one["values"], **one["counts"]}, "treadmill") == \
        "Stood still 2 times, 30 s in all; fewer is better."


def test_sessions_at_other_belt_speeds_read_each_speed_not_as_counts():
    assert _table(("walk_speed_m_s", {"walk_speed_m_s": [0.5, 0.6]}, "", "beltSpeed", "treadmill"),
                  ("walk_speed_m_s", {"walk_speed_m_s": [0.5, 0.5]}, "", "beltSpeed", "treadmill")) == \
        ["1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)", "1.8 km/h (0.50 m/s)"]
