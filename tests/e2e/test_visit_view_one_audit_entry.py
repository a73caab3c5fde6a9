"""A look at a visit's results page is one audit entry of what the clinician saw, its traces included (s26 P5,
item 1). The page drew each test's trace with GET /api/trials/<id> and /frames (a walk's /steps), each a
trial.view or trial.frames entry: a look at a visit of three traces wrote 1 + 6 entries (and the page's own once
a login session). Now the traces' requests name the visit they are drawn in and are part of its one session.view
(web/visit_views.py)."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, page_width, wait
from test_programme_dose_picker import _in_store
from test_programme_verdict_tag import _programme_support

pytestmark = pytest.mark.e2e


def _fill(store, actor) -> dict:
    """A visit of this morning: a quiet stance (eyes open), a Romberg (eyes open and closed) and a backward
    treadmill walk, each its own station session."""
    import time

    from station.store.timefmt import utc_iso

    support = _programme_support()
    patient = store.patients.create({"identifier": "VISIT-AUDIT-01", "birth_year": 1948, "sex": "M"}, actor=actor)
    now = time.time()
    sessions = []
    for protocol, conditions, ago_s in (("quiet-stance", ("eo",), 1500), ("romberg", ("eo", "ec"), 1200),
                                        ("backward-treadmill", ("session",), 900)):
        started = now - ago_s
        session = store.sessions.create(patient["id"], {"label": protocol, "started_at": utc_iso(started)}, actor=actor)
        for condition in conditions:
            doc = support.sway_doc(protocol, condition, velocity=1.5) if protocol != "backward-treadmill" else {
                "fs_hz": 100.0, "samples": 300, "profile": "gait", "version": "test",
                "metrics": {"walking_min": 5.0, "duration_s": 300.0, "steps": 350, "cadence_steps_min": 70.0,
                            "walk_speed_m_s": 0.4, "belt_speed_m_s": 0.4}}
            store.trials.import_trial(session["id"], protocol, condition, support.CAL, 100.0, support.frames(), doc,
                                      True, None, actor=actor, started_at_s=started)
        sessions.append(session["id"])
    return {"patient": patient["id"], "sessions": sessions}


def _entries(store, _actor, patient_id: int) -> list[tuple[str, str]]:
    """The browsers' user's audit entries of the patient, oldest first."""
    return [(e["action"], e["object"]) for e in reversed(store.audit.query(patient_id=patient_id, limit=1000))
            if e["username"] != "test"]


def _traces_drawn(driver) -> bool:
    """Every figure of the page has its trace or its words in it (4 figures: 3 sway, the walk's steps)."""
    figures = css(driver, "#results figure.trace-figure")
    return len(figures) == 4 and all(f.find_elements("css selector", "figcaption, svg, p") for f in figures)


def test_a_look_at_a_visit_with_its_traces_is_one_audit_entry(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, stored = reading_pages.tablet_and_phone(lambda d: _in_store(d, _fill))
    entries = lambda: _in_store(station.data_dir, lambda store, actor: _entries(store, actor, stored["patient"]))  # noqa: E731
    visit = stored["sessions"][-1]
    for driver, size, name in ((tablet, TABLET, "tablet"), (phone, PHONE, "phone")):
        for look in (1, 2):
            before = len(entries())
            driver.get(f"{station.url}/sessions/{visit}")
            wait(driver, "the visit's traces", _traces_drawn, timeout_s=30)
            drawn = driver.execute_script("return [...document.querySelectorAll('#results figure.trace-figure "
                                          "figcaption')].map((f) => f.textContent)")
            # the sway traces were read and drawn (stored without an ellipse's measures: said so, not "ellipse (–)")
            assert sum(t.startswith("Trial #") and ": trace (no 95 % ellipse for this trial)." in t for t in drawn) == 3, drawn
            if look == 1:
                driver.execute_script("const f = document.querySelector('#results figure.trace-figure');"
                                      "f.closest('details').open = true; f.scrollIntoView({block: 'center'})")
                driver.save_screenshot(str(shots / f"visit-traces-{name}.png"))
                assert page_width(driver) <= size[0]
            new = entries()[before:]
            # the page's own entry the first time this browser's login session is shown the patient, then the
            # results' one view of the visit, its sessions named: nothing for the traces
            expected = ([("session.view", f"session:{visit}")] * (2 if look == 1 else 1))
            assert new == expected, (name, look, new)
    views = [e for e in _in_store(station.data_dir, lambda store, actor: store.audit.query(
        patient_id=stored["patient"], action="session.view", limit=10)) if e["detail"]]
    assert set(views[0]["detail"]["visit"]) == set(stored["sessions"])
