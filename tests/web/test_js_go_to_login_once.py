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


RUN_SIGNED_OUT_HERE = """
const vm = require("vm");
const {source, calls: form} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const noop = () => {};
const assigned = [];
const listeners = [];
class Element { constructor(selector) { this.selector = selector; } matches(s) { return s === this.selector; } }
const context = vm.createContext({
  document: { getElementById: () => null, querySelector: () => null,
              addEventListener: (type, fn) => listeners.push([type, fn]) },
  window: { location: { pathname: "/patients", search: "", assign: (url) => assigned.push(url) },
            addEventListener: noop },
  Element, performance: { now: () => 0 }, setInterval: () => 0, clearInterval: noop, setTimeout: () => 0,
  clearTimeout: noop, fetch: () => new Promise(noop), console,
});
new vm.Script(source, {filename: "app.js"}).runInContext(context);
const Station = vm.runInContext("Station", context);
for (const [type, fn] of listeners) if (type === "submit") fn({ target: new Element(form) });
Station.goToLogin("signed_out_tab");  // a request of the page's, under way as it signed out, refused so
process.stdout.write(JSON.stringify(assigned));
"""


def test_a_page_leaving_by_its_own_sign_out_is_not_sent_to_the_signed_out_in_another_tab_page():
    """s32: a sign-out is kept (``signed_out_tab``), so the page's own requests under way as its Sign out form is
    sent are refused as signed out "in another tab or window"; they must not take it there instead of where its
    sign-out goes. Another form sent changes nothing: such a refusal goes to that page."""
    assert run_node(RUN_SIGNED_OUT_HERE, APP_JS.read_text(), "form[data-sign-out]") == []
    assert run_node(RUN_SIGNED_OUT_HERE, APP_JS.read_text(), "form.patient-search") == [
        "/login?next=%2Fpatients&signed_out=tab"]
