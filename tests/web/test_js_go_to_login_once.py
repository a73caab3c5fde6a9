"""A page sent to the sign-in page goes to the first one it was sent to (web/static/js/app.js goToLogin), run by
Node.js.

A page's requests in flight together meet the same ended session; each 401 sends the page to the sign-in page.
``location.assign`` called twice goes to the second: a page whose first answer said "12 hours after you signed
in" and whose second (before s31's store fix) said "after inactivity" went to the inactivity page (CI, e2e
test_session_max_age_words, now in test_session_ended_words). The first reason is the one the station gave
first; later calls change nothing.
"""

from __future__ import annotations

from test_js_time_words import APP_JS, run_node

RUN = """
const vm = require("vm");
const {source, calls} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const noop = () => {};
const assigned = [];
const context = vm.createContext({
  document: { getElementById: () => null, querySelector: () => null, addEventListener: noop },
  window: { location: { pathname: "/patients", search: "?q=1", assign: (url) => assigned.push(url) },
            addEventListener: noop },
  performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0, clearTimeout: noop,
  fetch: () => new Promise(noop), console,
});
new vm.Script(source, {filename: "app.js"}).runInContext(context);
const Station = vm.runInContext("Station", context);
for (const [name, ...args] of calls) Station[name](...args);
process.stdout.write(JSON.stringify(assigned));
"""


def test_the_first_reason_a_page_is_sent_to_the_sign_in_page_for_is_the_one_it_says():
    assigned = run_node(RUN, APP_JS.read_text(), [("goToLogin", "max_age"), ("goToLogin", True),
                                                  ("goToLogin", "signed_out")])
    assert assigned == ["/login?next=%2Fpatients%3Fq%3D1&expired=age"]


def test_a_page_sent_once_for_inactivity_goes_there():
    assert run_node(RUN, APP_JS.read_text(), [("goToLogin", True)]) == ["/login?next=%2Fpatients%3Fq%3D1&expired=1"]
