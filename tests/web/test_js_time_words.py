"""The pages' one rule for a time walked and a time on the treadmill's timer (web/static/js/app.js), run by Node.js.

A time walked reads in minutes and seconds ("12 min 24 s"; it read "12.4 min", and the programme page "0.3 of 30
min", decimal minutes a clinician has to work out), as the station's words say it
(station/protocols/walk_words.py walked_words, tests/protocols/test_walk_time_words.py); a change of it is signed
("-36 s"), a mean's values each so. A time on the timer counts whole seconds passed ("0:20" at 20.7 s), as the
station's glance now says where a session stopped. app.js runs in a Node.js context with the few browser names it
touches when loaded (no element: no chip, no notice).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from station.protocols.walk_words import clock_words, walked_words

APP_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "app.js"
RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const noop = () => {};
const context = vm.createContext({
  document: { getElementById: () => null, querySelector: () => null, addEventListener: noop },
  window: { location: { pathname: "/", search: "" }, addEventListener: noop },
  performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0, clearTimeout: noop,
  fetch: () => new Promise(noop), console,
});
new vm.Script(source, {filename: "app.js"}).runInContext(context);
const Station = vm.runInContext("Station", context);
process.stdout.write(JSON.stringify(calls.map(([name, ...args]) => Station[name](...args))));
"""


def run_node(run: str, source: str, calls) -> list:
    """What Node.js's script ``run`` writes (JSON), given ``source`` (a page's script) and ``calls`` on its stdin."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (Debian nodejs; tests/bootstrap.sh installs it)")
    done = subprocess.run([node, "-e", run], input=json.dumps({"source": source, "calls": calls}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _station(*calls) -> list:
    return run_node(RUN, APP_JS.read_text(), calls)


MINUTES = (0.0, 0.3, 0.333, 0.9999, 1.0, 12.4, 12.44, 29.999, 30.0, 90.5)


def test_a_time_walked_reads_in_minutes_and_seconds_as_the_station_says_it():
    shown = _station(*[("walkedTime", m) for m in MINUTES], ("walkedTime", None), ("quantity", 19.6, "min"))
    assert shown == ["0 min", "18 s", "20 s", "1 min", "1 min", "12 min 24 s", "12 min 26 s", "30 min", "30 min", "90 min 30 s",
                     "–", "19 min 36 s"]
    assert shown[:len(MINUTES)] == [walked_words(m) for m in MINUTES]  # one rule, page and station


def test_a_change_of_a_time_walked_and_a_mean_s_values_read_so_too():
    assert _station(("change", -0.6, "min"), ("change", 1.2, "min"), ("change", 0.001, "min"),
                    ("eachOf", [12.4, 10.2], "min"), ("eachOf", [3.69, 3.63], "s"), ("change", 0.0485, "m/s")) == \
        ["-36 s", "+1 min 12 s", "no change", "12 min 24 s, 10 min 12 s", "3.69, 3.63 s", "+0.05 m/s"]


def test_a_mean_s_values_read_in_the_precision_the_mean_is_shown_with_on_the_page_and_in_the_pdf():
    """A step symmetry's (no unit, three significant digits) trials in the decimals of their mean: "1.01, 0.99" beside
    a mean of 1.00, not "1.01, 0.994" (s28 P11, item 3); the page's Station.eachOf and the PDF's mean_of one rule."""
    from station.reports.text import mean_of

    cases = (([1.006, 0.994], ""), ([0.62, 0.58], ""), ([12.34, 9.87], ""), ([3.69, 3.63], "s"), ([19.08, 15.2, 16.24], "cm²"),
             ([0.994, 0.981], ""))
    shown = _station(*[("eachOf", each, unit) for each, unit in cases])
    assert shown == ["1.01, 0.99", "0.620, 0.580", "12.3, 9.9", "3.69, 3.63 s", "19.08, 15.20, 16.24 cm²", "0.994, 0.981"]
    assert [f"mean of {len(each)} trials: {words}" for (each, _), words in zip(cases, shown)] == \
        [mean_of(each, unit) for each, unit in cases]


def test_the_timer_counts_whole_seconds_as_the_station_says_where_a_session_stopped():
    seconds = (0.0, 20.7, 59.99, 60.0, 1805.9)
    assert _station(*[("clockTime", s) for s in seconds]) == [clock_words(s) for s in seconds] == \
        ["0:00", "0:20", "0:59", "1:00", "30:05"]


def test_a_source_is_cited_short_alike_on_the_page_and_in_the_results_words():
    """The results' one sentence for sources not applied (report.not_applied_together, "the cut-off (5 s) of Vellas et
    al. 1997, set in ...") cites each source as the page's own references do (app.js shortCite): one rule a side."""
    from station.protocols.loader import builtin_protocols
    from station.protocols.report import short_cite

    citations = sorted({r.citation for p in builtin_protocols().values() for r in p.references})
    assert len(citations) > 5, citations
    shown = _station(*[("shortCite", c) for c in citations], ("shortCite", None), ("shortCite", "Station data. 2026."))
    assert shown == [short_cite(c) for c in citations] + [short_cite(None), short_cite("Station data. 2026.")], \
        list(zip(citations, shown))
    assert short_cite(next(c for c in citations if c.startswith("Vellas"))) == "Vellas et al. 1997"
