"""The visit results say which programme's visit a test was (s25 P3): only walks a programme counted as its
sessions were marked (P2: '· session 1 of the ended programme ...'); a baseline an ended programme took was
said nowhere, so it read as any visit's, or as the current programme's baseline. Now a test a programme's visit
took says so under its heading, 'Baseline of the ended programme ... (ended ...)', the current programme's
'Baseline of the programme ...', each a way to that programme; in a visit of two such tests, which one."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait
from test_programme_dose_picker import _in_store
from test_programme_verdict_tag import _programme_support

pytestmark = pytest.mark.e2e


def _quiet_stance(store, actor, patient_id: int, started_s: float) -> int:
    """A station session of one quiet-stance trial (eyes open) started at ``started_s``; its id."""
    from station.store.timefmt import utc_iso

    support = _programme_support()
    session = store.sessions.create(patient_id, {"label": "quiet-stance", "started_at": utc_iso(started_s)}, actor=actor)
    store.trials.import_trial(session["id"], "quiet-stance", "eo", support.CAL, 100.0, support.frames(),
                              support.sway_doc("quiet-stance", "eo", velocity=1.5), True, None, actor=actor,
                              started_at_s=started_s)
    return session["id"]


def _fill(store, actor) -> dict:
    """A stroke patient whose first programme's baseline quiet stance was taken 30 days ago, that programme ended;
    a second programme's baseline taken today, in a visit of two quiet stances (the second not linked)."""
    import time

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    patient = store.patients.create({"identifier": "VISIT-MARK-01", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    now = time.time()
    out = {}
    for key, started in (("old", now - 30 * 86_400), ("new", now - 1200)):
        programme = store.programmes.assign(patient["id"], template, store.programmes.today(), actor=actor)
        baseline = next(v for v in programme["visits"] if v["assessment_id"] == "baseline")
        session = _quiet_stance(store, actor, patient["id"], started)
        store.programmes.link_visit_session(baseline["id"], "quiet-stance", session, actor=actor)
        if key == "old":
            store.programmes.end(programme["id"], {"reason": "moved to another clinic"}, actor=actor)
        out[key] = {"session": session, "assignment": programme["id"]}
    out["again"] = _quiet_stance(store, actor, patient["id"], now - 600)  # the same visit's second quiet stance
    out["patient"] = patient["id"]
    return out


def _views(store, _actor, patient_id: int) -> list[tuple[str, str]]:
    """The views of the patient, their visits and programmes the browsers' user made (the pages' and their
    requests' entries; not the traces' reads of a trial's frames, trial.view and trial.frames, one a trace)."""
    return [(e["action"], e["object"]) for e in store.audit.query(patient_id=patient_id, limit=1000)
            if e["username"] != "test" and e["action"] in ("session.view", "patient.view", "programme.view")]


def test_a_test_a_programmes_visit_took_says_whose_visit_it_was(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    title = "Backward treadmill walking after stroke (4 weeks)"
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        for key, words in (("old", f"Baseline of the ended programme {title} (ended "),
                           ("new", f"Test 1: Baseline of the programme {title}")):
            driver.get(f"{station.url}/sessions/{stored[key]['session']}")
            mark = '#results section.protocol-results[data-protocol="quiet-stance"] .programme-visit'
            said = wait(driver, "the programme visit under the test's heading", lambda d: css(d, mark)
                        and css(d, mark)[0].text, timeout_s=20)
            assert " ".join(said.split()).startswith(words), said
            assert len(css(driver, mark)) == 1, [m.text for m in css(driver, mark)]  # the other test is no visit's
            link = css(driver, mark + " a")[0]
            assert link.get_attribute("href").endswith(f"/assignments/{stored[key]['assignment']}")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
            driver.save_screenshot(str(shots / f"programme-visit-{key}-{name}.png"))
            assert page_width(driver) <= size[0]
    # s26 P4: the marks come with the visit's results, audited as the visit's one view each time (the page asked
    # programme-runs besides: a programme.view per look at any visit); the page's own entry once a browser
    views = _in_store(station.data_dir, lambda store, actor: _views(store, actor, stored["patient"]))
    assert sorted(set(views)) == sorted({("session.view", f"session:{stored[k]['session']}") for k in ("old", "new")}), views
    assert len(views) == 2 * 2 + 2, views  # two visits looked at on two browsers, and each browser's page entry
