"""Screenshots of every dashboard page at tablet (1180×820) and phone (390×844) size.

    .venv/bin/python docs/screenshots.py --out /tmp/shots            # every page, both sizes
    .venv/bin/python docs/screenshots.py --out docs/screenshots --readme   # the three in README.md

What it does:

1. Fills a fresh data directory with a small clinic made the way the station makes it: an
   administrator and a clinician, patients, and two visits a month apart of one patient (the
   mCTSIB and single-leg stance, run by the real trial service on the simulated station with the
   virtual patient following the beeps, on simulated time: about a minute of CPU), and a balance
   training programme with those visits as its baseline and mid-point assessments. ``--data-dir
   DIR --reuse`` photographs a clinic made before again.
2. Starts the real station on it (``balance-station run --simulate``, the demo's virtual patient)
   on a free port.
3. Signs in with headless Chromium (Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver``,
   as tests/e2e) and saves a full-page PNG of every page at both sizes: sign-in, patients (and the
   add-patient dialog), patient, visit results, trial, history, live view (idle and during a
   recording), the training programme, the administrators' pages, and the not-found page.
   Each page's height is printed.

Nothing is downloaded. The data directory is temporary unless ``--data-dir`` is given.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {"tablet": (1180, 820), "phone": (390, 844)}
ADMIN = ("admin", "station admin 2024")
CLINICIAN = ("ana", "clinician password 1")
README_SHOTS = ("results-tablet", "live-recording-tablet", "history-phone")
"""The three screenshots README.md shows (kept small in docs/screenshots/)."""


# -- 1. a small clinic, made by the station's own trial service -------------------------------
def make_clinic(data_dir: Path) -> dict:
    """Patients and two visits of ``P-001`` (mCTSIB + single-leg each), a month apart."""
    from station.sim.station import SimulatedStation
    from station.sim.scenarios import SCENARIOS, Scenario, ScenarioPatient, scenario_message
    from station.sim.virtual_patient import Lapse
    from station.protocols.service import TrialService
    from station.sim.person import VirtualPerson
    from station.store.audit import Actor
    from station.store.store import Store

    now = time.time()
    clock = {"t": now - 35 * 86400}
    store = Store.open_service(data_dir, wall_clock=lambda: clock["t"])
    system = Actor(None, "screenshots")
    store.users.create_first_admin(ADMIN[0], ADMIN[1], actor=system)
    store.users.create(CLINICIAN[0], CLINICIAN[1], "clinician", actor=system)
    ana = Actor(2, CLINICIAN[0], "127.0.0.1")
    patient = store.patients.create({"identifier": "P-001", "birth_year": 1951, "sex": "F", "height_cm": 164,
                                     "weight_kg": 68, "conditions": ["fall_12m", "stroke:left"],
                                     "notes": "Fell at home in March."}, actor=ana)
    for ident, year, sex in (("P-002", 1948, "M"), ("P-003", 1972, "F"), ("K-104", 1939, "F")):
        store.patients.create({"identifier": ident, "birth_year": year, "sex": sex}, actor=ana)
    sessions = []
    for visit, seed in ((0, 3), (1, 4)):
        clock["t"] = now - (35 - 34 * visit) * 86400
        person = VirtualPerson(seed=seed, on_plate=False, age_group="old")
        station = SimulatedStation(None, person, seed=seed, calibration="auto")
        service = TrialService(station, store, calibration=station.calibration.to_dict(),
                               wall_clock=lambda: clock["t"])
        # the first visit: the patient steps off on foam with the eyes closed and puts the foot down early on the right leg
        lapses = (Lapse("foam_ec", "step_off", 11.0), Lapse("right", "touch_down", 4.0)) if visit == 0 else ()
        scenario = Scenario("screenshots", "demo clinic", True, lapses) if lapses else SCENARIOS["patient"]
        follower = ScenarioPatient(scenario, person, time_origin_ns=station.simulation.plate.t0_ns)
        events = []
        service.bus.subscribe(events.append)
        service.bus.subscribe(lambda e: (m := scenario_message(e)) is not None and follower.handle(m))
        service.add_tick(follower.patient.tick)

        def call(name, *args):
            future = service.submit(name, *args)
            for _ in range(100):
                service.step()
                if future.done():
                    return future.result()
            raise RuntimeError(f"{name} was not carried out")

        def step_until(predicate, max_s=300.0):
            end = station.clock.monotonic_ns() + int(max_s * 1e9)
            while station.clock.monotonic_ns() < end:
                service.step()
                if predicate():
                    return
            raise RuntimeError("the simulated trial did not finish")

        for protocol in ("mctsib", "single-leg"):
            call("open_run", patient["id"], protocol, None, ana)
            while not service.status()["run"]["finished"]:
                stored = sum(e.kind == "trial_stored" for e in events)
                step_until(lambda: service.status()["run"]["state"] == "instructions" or service.status()["run"]["finished"])
                if service.status()["run"]["finished"]:
                    break
                call("start_trial")
                step_until(lambda: sum(e.kind == "trial_stored" for e in events) > stored)
                clock["t"] += 60
            sessions.append(service.status()["run"]["session_id"])
            call("close_run")
    add_programme(store, patient["id"], sessions, ana, first_day_s=now - 35 * 86400, now_s=now)
    store.close()
    trial = None
    return {"patient_id": patient["id"], "sessions": sessions, "trial": trial}


def add_programme(store, patient_id: int, sessions: list[int], actor, *, first_day_s: float, now_s: float) -> None:
    """Balance training from the first visit's day: the two visits linked as its baseline and
    mid-point assessments, the training sessions done so far with their dose (one missed)."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    template = builtin_programmes(builtin_protocols())["balance-training"]
    programme = store.programmes.assign(patient_id, template, time.strftime("%Y-%m-%d", time.localtime(first_day_s)),
                                        actor=actor)
    visits = {v["assessment_id"]: v for v in programme["visits"]}
    for assessment, pair in (("baseline", sessions[:2]), ("mid", sessions[2:4])):
        for protocol, session_id in zip(("mctsib", "single-leg"), pair):
            store.programmes.link_visit_session(visits[assessment]["id"], protocol, session_id, actor=actor)
    today = time.strftime("%Y-%m-%d", time.localtime(now_s))
    for n, planned in enumerate(s for s in programme["sessions"] if s["planned_date"] < today):
        if n == 3:
            store.programmes.miss_session(planned["id"], {"reason": "unwell (a cold)"}, actor=actor)
        else:
            store.programmes.enter_dose(planned["id"], {"minutes": 40 + n % 3 * 5, "rpe": 11 + n % 4}, actor=actor)


def clinic_in(data_dir: Path) -> dict:
    """The clinic :func:`make_clinic` left in ``data_dir`` (P-001 and its sessions, oldest first)."""
    from station.store.store import Store

    with Store.open(data_dir) as store, store.db.read() as conn:
        row = conn.execute("SELECT id FROM patients WHERE identifier = 'P-001'").fetchone()
        if row is None:
            raise SystemExit(f"{data_dir} holds no clinic made by this script (no patient P-001)")
        sessions = [r[0] for r in conn.execute(
            "SELECT id FROM sessions WHERE patient_id = ? ORDER BY started_at, id", (row[0],))]
    return {"patient_id": row[0], "sessions": sessions, "trial": None}


# -- 2. the station -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_station(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-m", "station.cli", "run", "--simulate", "--port", str(port),
                                "--data-dir", str(data_dir)], stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the station exited ({process.returncode}); see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            doc = json.loads(conn.getresponse().read())
            if doc.get("frames", 0) > 0:
                return process
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"the station did not become ready; see {log_path}")


# -- 3. the browser -------------------------------------------------------------------------------
def browser(width: int, height: int, profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.set_script_timeout(20)
    return driver


def api(driver, method: str, path: str, body=None):
    return driver.execute_async_script(
        """const [method, path, body, done] = arguments;
        fetch(path, {method, credentials: "same-origin", headers: {"Content-Type": "application/json",
          "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content},
          body: body === null ? undefined : JSON.stringify(body)})
          .then(async (r) => done({status: r.status, body: await r.json().catch(() => null)}))""",
        method, path, body)


def settle(driver, seconds: float = 1.5) -> None:
    """Let the page's scripts load their data (and the charts draw)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        loading = driver.execute_script(
            "return [...document.querySelectorAll('p.muted')].some(p => p.textContent.trim() === 'Loading…')")
        if not loading:
            break
        time.sleep(0.2)
    time.sleep(seconds)


def shot(driver, out: Path, name: str, size: str, full_page: bool = True) -> Path:
    """A PNG of the whole page (its full height, as a clinician scrolls it)."""
    width, height = SIZES[size]
    total = driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
    print(f"{name}-{size}: page {int(total)} px tall", file=sys.stderr)
    if full_page:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": max(height, min(int(total), 6000)), "deviceScaleFactor": 1, "mobile": width < 600})
        time.sleep(0.4)
    path = out / f"{name}-{size}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    return path


def sign_in(driver, url: str, user) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.find_element(By.NAME, "username").send_keys(user[0])
    driver.find_element(By.NAME, "password").send_keys(user[1])
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    time.sleep(1.0)


def wait_for(driver, script: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for: {script}")


def capture(url: str, out: Path, clinic: dict, profile_root: Path, only: tuple[str, ...] = ()) -> list[Path]:
    from selenium.webdriver.common.by import By

    made = []
    pid = clinic["patient_id"]
    first_session = clinic["sessions"][0]  # the first visit: a condition not held, a foot put down early
    for size, (width, height) in SIZES.items():
        driver = browser(width, height, profile_root / size)
        try:
            def page(name, path, full=True, before=None):
                if only and f"{name}-{size}" not in only:
                    return
                driver.get(url + path)
                settle(driver)
                if before:
                    before()
                made.append(shot(driver, out, name, size, full and not only))  # README's: the screen as seen

            page("sign-in", "/login")
            sign_in(driver, url, ADMIN)
            trial = api(driver, "GET", f"/api/sessions/{first_session}")["body"]["trials"][0]["id"]
            page("patients", "/patients")

            def open_dialog():
                driver.find_element(By.ID, "add-patient").click()
                time.sleep(0.8)
                driver.find_element(By.NAME, "birth_year").send_keys("2020")
                driver.find_element(By.NAME, "identifier").click()
                time.sleep(0.3)

            page("add-patient", "/patients", full=False, before=open_dialog)
            page("patient", f"/patients/{pid}")
            page("results", f"/sessions/{first_session}")
            page("trial", f"/trials/{trial}")
            results = api(driver, "GET", f"/api/sessions/{first_session}/results")["body"]
            short = [t["id"] for p in results.get("protocols", []) for c in p["conditions"] for t in c["trials"]
                     if t.get("completed") is False]
            if short:  # a hold that ended early: no sway measures, said once
                page("trial-short", f"/trials/{short[0]}")
            page("history", f"/patients/{pid}/history")
            programmes = api(driver, "GET", f"/api/patients/{pid}/programmes")["body"]["programmes"]
            if programmes:
                page("programme", f"/assignments/{programmes[0]['id']}")
            page("admin-users", "/admin/users")
            page("admin-settings", "/admin/settings")
            page("admin-audit", "/admin/audit")
            page("not-found", "/no/such/page")
            page("live", f"/live?patient={pid}")
            if not only or f"live-recording-{size}" in only:
                driver.get(url + f"/live?patient={pid}")
                settle(driver)
                wait_for(driver, "return document.getElementById('conn').dataset.state === 'open'")
                api(driver, "POST", "/api/station/run", {"patient_id": pid, "protocol": "mctsib"})
                wait_for(driver, "return !document.getElementById('btn-start').disabled")
                driver.find_element(By.ID, "btn-start").click()
                wait_for(driver, "return document.getElementById('trial-state').dataset.state === 'recording'")
                time.sleep(6)
                driver.execute_script("window.scrollTo(0, 0)")
                made.append(shot(driver, out, "live-recording", size, full_page=not only))
                api(driver, "POST", "/api/station/close")
        finally:
            driver.quit()
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.add_argument("--data-dir", type=Path, help="keep the clinic's data here (default: a temporary folder)")
    parser.add_argument("--readme", action="store_true",
                        help=f"only the screenshots README.md shows ({', '.join(README_SHOTS)})")
    parser.add_argument("--reuse", action="store_true",
                        help="--data-dir holds a clinic this script made before: photograph it again (no new visits)")
    args = parser.parse_args(argv)
    for tool in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing: run tests/bootstrap.sh (Debian packages chromium, chromium-driver)")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="screenshots-"))
    data_dir = args.data_dir or work / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        if not args.reuse:
            raise SystemExit(f"{data_dir} is not empty: give a new folder, or --reuse to photograph the clinic in it")
        clinic = clinic_in(data_dir)
    else:
        print(f"making the clinic in {data_dir} …", file=sys.stderr)
        clinic = make_clinic(data_dir)
    port = free_port()
    process = start_station(data_dir, port, work / "station.log")
    try:
        made = capture(f"http://127.0.0.1:{port}", args.out, clinic, work, README_SHOTS if args.readme else ())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    for path in made:
        print(path)
    if not args.data_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
