"""The report and FHIR buttons end to end in headless Chromium at tablet size, against the real
station: a patient with nine sessions and a finished programme (stored through the store's API
beside the running station, as the benchmark builds it) -> the visit results page's "Visit report
(PDF)" and "Visit for the hospital record (FHIR)" -> the patient page's "History report (PDF)" ->
the programme page's "Programme report (PDF)": each downloads a real file (a PDF of several
pages, a FHIR Bundle of Observations), and each download is in the audit log as an export; then the
buttons of each of that patient's pages keep their place while the page fills in. One station, set
up and filled once, serves the file's two tests."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from e2e_support import running_station
from test_dashboard import ADMIN, PHONE, api, at, by_id, click_when_still, css, downloaded, patient_file, sign_in, wait

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports_station(tmp_path_factory):
    """One station for the file's tests: (station, the patient :func:`_build_patient` made), with its
    administrator ADMIN made in its store (the first-run setup page is tests/e2e/test_dashboard.py's)."""
    with running_station(tmp_path_factory.mktemp("reports") / "data", "mctsib-step-off") as station:
        yield station, _build_patient(station.data_dir, admin=ADMIN)


def _signed_in(driver, url: str) -> None:
    driver.get(url + "/login")
    sign_in(driver, url, ADMIN)
    wait(driver, "the patients page", at("/patients"))


def _build_patient(data_dir: Path, admin: tuple[str, str] | None = None) -> dict:
    """The patient of nine sessions and a finished programme (benchmarks/report_timing.py), and the first
    administrator ``admin`` (username, password) if given."""
    spec = importlib.util.spec_from_file_location("report_timing", REPO / "benchmarks" / "report_timing.py")
    module = sys.modules.get("report_timing")
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["report_timing"] = module
        spec.loader.exec_module(module)
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        if admin is not None:
            store.users.create_first_admin(*admin, actor=Actor(None, "test"))
        return module.build_patient(store, sessions=9, identifier="E2E-REPORTS")
    finally:
        store.close()


def test_report_and_fhir_buttons_download_audited_files(reports_station, browsers):
    station, made = reports_station
    tablet, downloads = browsers("tablet")
    _signed_in(tablet, station.url)
    sid, pid, aid = made["last_visit_session_id"], made["patient_id"], made["assignment_id"]

    tablet.get(f"{station.url}/sessions/{sid}")
    wait(tablet, "the visit's results", lambda d: " · " in by_id(d, "results-summary").text)
    click_when_still(tablet, "session-report", "the visit report button")
    pdf = downloaded(downloads, patient_file(pid, f"session-{sid}", "pdf"), 30.0, binary=True)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
    click_when_still(tablet, "session-fhir", "the visit FHIR button")
    bundle = json.loads(downloaded(downloads, patient_file(pid, f"session-{sid}", "fhir.json"), 30.0, binary=True))
    assert bundle["resourceType"] == "Bundle"
    observations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert observations and {o["subject"]["identifier"]["value"] for o in observations} == {"E2E-REPORTS"}

    tablet.get(f"{station.url}/patients/{pid}")
    wait(tablet, "the patient page", lambda d: by_id(d, "patient-title").text == "E2E-REPORTS")
    click_when_still(tablet, "patient-report", "the history report button")
    assert downloaded(downloads, patient_file(pid, "history", "pdf"), 30.0, binary=True).startswith(b"%PDF")
    assert by_id(tablet, "patient-fhir").is_displayed()

    tablet.get(f"{station.url}/assignments/{aid}")
    wait(tablet, "the programme page", lambda d: by_id(d, "programme-position").text.strip())
    # its baseline assessment, planned weeks ago and never run, is said as due, not as the next one
    position = by_id(tablet, "programme-position").text
    assert "· assessment Baseline due since " in position and "not yet run" in position, position
    click_when_still(tablet, "programme-report", "the programme report button")
    assert downloaded(downloads, patient_file(pid, f"programme-{aid}", "pdf"), 30.0, binary=True).startswith(b"%PDF")
    # the browser's list of downloads (a shared tablet's) names no patient: each file by the patient's number
    assert not [p.name for p in downloads.iterdir() if "E2E-REPORTS" in p.name], sorted(p.name for p in downloads.iterdir())

    audit = api(tablet, "GET", "/api/audit?action=patient.export&limit=20")
    assert audit["status"] == 200, audit
    exports = [(e["object"], e["detail"]["format"]) for e in audit["body"]["entries"] if e["username"] == ADMIN[0]]
    assert exports[:4] == [(f"assignment:{aid}", "pdf"), (f"patient:{pid}", "pdf"), (f"session:{sid}", "fhir"),
                           (f"session:{sid}", "pdf")]


# The buttons at the top of each page of a patient's records, and the header's links: none may move
# while the page fills in (a tap aimed at a button must land on it). Before, filling in moved the
# programme page's report button 355 px sideways onto the next line, the visit's report buttons
# 87 px down, the patient page's buttons 39 px down, the history's export button 210 px sideways,
# the trial's export buttons 127 px down (under its validity box and summary), and the header's links
# with every change of the health chip's words. Each page: an element its script fills in, words it
# holds once filled in (None: any), and its buttons. The visit's and the programme's titles come with
# the page (on a phone they wrap: filled in later, they pushed the buttons 51 and 80 px down).
TOP_BUTTONS = {
    "patient": ("patient-title", "E2E-REPORTS", ("new-test", "history-link", "export-history", "patient-report",
                                                 "patient-fhir", "edit-patient", "archive-patient", "erase-patient")),
    "history": ("history-title", "E2E-REPORTS", ("export-history",)),
    "programme": ("programme-position", None, ("export-programmes", "programme-report")),
    "results": ("results-summary", " · ", ("history-link", "another-test", "export-history", "session-report",
                                           "session-fhir")),
    "trial": ("trial-title", " · ", ("export-csv", "export-json", "export-zip", "export-fhir")),
}
HEADER = "header nav a, header nav button, #health-chip"
HEALTH_WORDS = ("Station …", "Station OK", "Needs attention", "Cannot measure", "No readings", "Station offline")


def _places(driver, ids: tuple[str, ...]) -> dict:
    return driver.execute_script("""
      const place = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y + scrollY)]; };
      const out = {};
      for (const id of arguments[0]) { const e = document.getElementById(id); out[id] = e ? place(e) : null; }
      document.querySelectorAll(arguments[1]).forEach((e, i) => { out["header " + i + " " + (e.id || e.textContent.trim())] = place(e); });
      return out;""", list(ids), HEADER)


def _filled(text: str, words: str | None) -> bool:
    return words in text if words is not None else bool(text.strip())


def _latency(driver, ms: int) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": False, "latency": ms, "downloadThroughput": -1, "uploadThroughput": -1})


def _check_still(driver, url: str, page: str, filled_id: str, filled: str | None, ids: tuple[str, ...]) -> None:
    """Open ``url`` with every answer late, so that the page is seen before its script fills it in,
    and check that none of ``ids`` nor the header's links moved once it had."""
    for late_ms in (1000, 3000, 9000):  # every answer this late: the page is seen before its data arrive
        _latency(driver, late_ms)
        try:
            driver.get(url)
            before = _places(driver, ids)
            seen_empty = not _filled(by_id(driver, filled_id).text, filled)
        finally:
            _latency(driver, 0)
        if seen_empty:
            break  # (else this machine was too slow to see the page before its data: later answers)
    assert seen_empty, f"the {page} page had always filled in before it was seen"
    wait(driver, f"the {page} page filled in", lambda d: _filled(by_id(d, filled_id).text, filled), 30.0)
    wait(driver, f"the {page} page's health chip", lambda d: by_id(d, "health-chip").text != "Station …", 30.0)
    after = _places(driver, ids)
    assert None not in before.values(), (page, before)
    moved = {name: (before[name], after.get(name)) for name in before if after.get(name) != before[name]}
    assert not moved, f"on the {page} page these moved as it filled in (x, y before and after): {moved}"


def test_buttons_keep_their_place_while_a_page_fills_in(reports_station, browsers):
    station, made = reports_station
    tablet, _downloads = browsers("tablet")
    _signed_in(tablet, station.url)
    paths = {"patient": f"/patients/{made['patient_id']}", "history": f"/patients/{made['patient_id']}/history",
             "programme": f"/assignments/{made['assignment_id']}", "results": f"/sessions/{made['last_visit_session_id']}"}
    # Notes of several lines: above the buttons they pushed them down once filled in; they come under them.
    notes = ("Left hemiparesis since March; walks with a cane outdoors, not indoors. Wears glasses for reading only.\n"
             "Ask about dizziness when turning. " * 4).strip()
    tablet.get(f"{station.url}/patients/{made['patient_id']}")
    wait(tablet, "the patient page", lambda d: by_id(d, "patient-title").text == "E2E-REPORTS")
    assert api(tablet, "PATCH", paths["patient"].replace("/patients", "/api/patients"), {"notes": notes})["status"] == 200
    tablet.execute_cdp_cmd("Network.enable", {})
    for page, (filled_id, filled, ids) in TOP_BUTTONS.items():
        if page == "trial":  # a trial of the visit just shown
            paths[page] = f"/trials/{css(tablet, 'li[data-trial-id]')[0].get_attribute('data-trial-id')}"
        _check_still(tablet, station.url + paths[page], page, filled_id, filled, ids)
        if page == "patient":  # the notes whole, their line breaks kept, under the buttons
            shown = by_id(tablet, "patient-notes")
            assert shown.text.startswith("Notes Left hemiparesis") and shown.text.count("\n") >= 4, shown.text
            assert shown.location["y"] >= by_id(tablet, "new-test").location["y"] + by_id(tablet, "new-test").size["height"]
            assert "hemiparesis" not in by_id(tablet, "patient-summary").text

    # On a phone every page holds still too: titles come with the page, and the patient's and the
    # visit's summary lines, which wrap to two or three lines there, come under the buttons (before,
    # filled in, they pushed them 25 and 51 px down).
    phone, _ = browsers("phone", PHONE)
    phone.get(station.url + "/login")
    sign_in(phone, station.url, ADMIN)
    # signed in before it goes on: the sign-in's redirect, still on its way, took the phone to the patients page
    # after the patient's page was asked for (s31, twice in a row under load: no #patient-title)
    wait(phone, "the phone signed in", at("/patients"))
    phone.execute_cdp_cmd("Network.enable", {})
    for page in TOP_BUTTONS:
        _check_still(phone, station.url + paths[page], f"{page} (phone)", *TOP_BUTTONS[page])
        if page in ("patient", "results"):
            last = {"patient": "erase-patient", "results": "session-fhir"}[page]
            for under in {"patient": ("patient-summary", "patient-notes"), "results": ("results-summary",)}[page]:
                assert phone.execute_script(
                    "return document.getElementById(arguments[0]).getBoundingClientRect().top >="
                    " document.getElementById(arguments[1]).getBoundingClientRect().bottom;", under, last), (page, under)
        if page == "results":  # this visit's sway is below the group's 5th percentile: good news, not an alarm
            low = [e for e in css(phone, "#results .tag") if "Less sway than 95 %" in e.get_attribute("textContent")]
            assert low and all("valid" in e.get_attribute("class").split() for e in low), [e.get_attribute("class") for e in low]

    widths = tablet.execute_script("""
      const chip = document.getElementById('health-chip');
      return arguments[0].map((w) => { chip.textContent = w; return chip.getBoundingClientRect().width; });""",
                                   list(HEALTH_WORDS))
    assert max(widths) - min(widths) < 0.5, dict(zip(HEALTH_WORDS, widths))
