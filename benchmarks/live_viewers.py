"""Many tablets on the live view at once: frames lost in acquisition, the live stream's delay, and
the screen updates of the cursor on a tablet (issue 16, "Live feel").

    python3 benchmarks/live_viewers.py                 # 20 viewers and a Chromium tablet, 30 s, a trial recording
    python3 benchmarks/live_viewers.py --viewers 24 --seconds 60
    python3 benchmarks/live_viewers.py --protocol ten-metre-walk   # a walk: every stream's gait event
    python3 benchmarks/live_viewers.py --no-browser    # the stream's figures only (no Chromium needed)
    python3 benchmarks/live_viewers.py --protocol limits-of-stability    # the LOS panel's cursor
    python3 benchmarks/live_viewers.py --protocol biofeedback-training   # a game's cursor (reach, level 2, 8 cm)

Starts the real station (``balance-station run --simulate --scenario patient``: acquisition
process, trial service, waitress with its 32 threads) on a free port with a fresh data directory,
signs in ``--viewers`` separate sessions, opens a test (``--protocol``, quiet stance unless told)
and starts its first trial (so trial events, the recorder's database writes and the virtual
patient are all at work), and keeps every viewer on ``GET /api/live`` for ``--seconds``. Each
viewer is a thread reading its own HTTP connection and parsing every event.

Prints one JSON object:

* ``acquisition``: frames and frames lost / late during the measurement (``/healthz`` counters,
  before and after). Target: 0 frames lost.
* ``delay_to_write_ms``: per frame, the server's monotonic clock when its frames event was
  written (``sent_ns``) minus the frame's acquisition timestamp (``t_ns``, the same machine-wide
  monotonic clock): median, p95, p99, max over every frame every viewer got. Target: p95 <= 50 ms.
* ``delay_to_receive_ms``: the same up to the moment the viewer parsed it (includes this
  benchmark's own client threads competing for the same two cores: an upper bound).
* ``events_per_s``: frames events per second per viewer (min, median); ``frames_missed``: frames a
  viewer did not get (sequence gaps, or ``missed`` reported by the server).
* ``gait_events``: ``gait`` events (each stream's steps of the last 10 s, once a second) per viewer
  during the measurement (min, median): every viewer's stream runs the gait analysis.
* ``tablet``: headless Chromium (Debian's ``chromium`` and ``chromedriver``, as the browser tests)
  at tablet size, 1180×820, signed in as one more clinician and on the live view (``/live``) during
  the same measurement, its stream being the 21st. :file:`cursor_probe.js`, installed before the
  page's scripts, counts the page's real screen updates: animation frames in which a canvas was
  drawn and its cursor moved (redraws of the same picture and bare rAF ticks are not updates).
  ``updates_per_s``: mean, p5, min, max of the per-second counts over the window, of the canvas
  on screen that moved least (``canvas``: ``trace`` on the live view, ``los-canvas`` in a
  limits-of-stability test, the game's in a training game; all in ``by_canvas``). Target: mean
  and p5 >= 30. Beside it: ``animation_frames_per_s`` (rAF ticks), ``frames_events_per_s`` received,
  ``events_not_drawn`` (a frames event with a new frame not drawn by the next animation frame:
  should be 0), ``event_to_drawing_ms`` (event received -> the drawing that showed it starts) and
  ``render_callback_ms`` (the page's requestAnimationFrame callbacks, its render path).
* ``web_process_cpu_percent``: CPU of the station's web process (web server, streams, trial
  service) during the window, % of one core, and ``browser_cpu_percent`` the same of the
  tablet's Chromium (all its processes); ``load_average_1_5_15_min`` before and after (the
  machine is shared: the figures depend on it). The browser runs on the same two cores as the
  station here; on a clinic it is the tablet's. ``--record FILE`` keeps the probe's raw times
  (per canvas: drawn and changed; animation frames; frames events) for a closer look.

The first frames event of each stream (the 10 s backfill) is left out of the delays.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password 1"
RUN_SETTINGS = {
    "limits-of-stability": {"los": {"height_cm": 170}},
    "biofeedback-training": {"training": {"game": "reach", "level": 2, "session_s": 120, "range_cm": 8}},
}
"""The settings a test needs to open, by protocol (``--settings`` gives others)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A signed-in HTTP client (cookie and CSRF token kept)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.csrf = ""

    def request(self, method: str, path: str, body=None) -> tuple[int, dict | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        raw = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        doc = json.loads(raw) if raw and response.getheader("Content-Type", "").startswith("application/json") else None
        if doc and "csrf_token" in doc:
            self.csrf = doc["csrf_token"]
        return response.status, doc

    def sign_in(self, username: str, first: bool = False) -> None:
        self.request("GET", "/api/session")
        path = "/api/setup" if first else "/api/login"
        status, doc = self.request("POST", path, {"username": username, "password": PASSWORD})
        if status not in (200, 201):
            raise SystemExit(f"signing in {username} failed: {status} {doc}")


class Viewer(threading.Thread):
    """Reads one live stream and keeps what the measurement needs."""

    def __init__(self, client: Client, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.stop = stop
        self.write_delays_ns: list[int] = []
        self.receive_delays_ns: list[int] = []
        self.frames_events = 0
        self.gait_events = 0
        self.frames = 0
        self.missed = 0
        self.error = ""
        self.first_event_at = None
        self.last_event_at = None

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported in the output
            self.error = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.client.port, timeout=10)
        conn.request("GET", "/api/live", headers={"Cookie": self.client.cookie, "Accept": "text/event-stream"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"/api/live answered {response.status}")
        event = ""
        last_seq = None
        first = True
        while not self.stop.is_set():
            line = response.fp.readline()
            if not line:
                raise RuntimeError("the stream ended")
            line = line.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "gait" and not first:
                self.gait_events += 1
            elif line.startswith("data:") and event == "frames":
                now_ns = time.monotonic_ns()
                doc = json.loads(line[5:])
                self.missed += doc["missed"]
                for frame in doc["frames"]:
                    if last_seq is not None and frame["seq"] > last_seq + 1:
                        self.missed += frame["seq"] - last_seq - 1
                    last_seq = frame["seq"] if last_seq is None else max(last_seq, frame["seq"])
                    if not first:
                        self.write_delays_ns.append(doc["sent_ns"] - frame["t_ns"])
                        self.receive_delays_ns.append(now_ns - frame["t_ns"])
                        self.frames += 1
                if not first:
                    self.frames_events += 1
                    self.first_event_at = self.first_event_at or now_ns
                    self.last_event_at = now_ns
                first = False
        conn.close()


def _stats_ms(samples_ns: list[int]) -> dict:
    if not samples_ns:
        return {}
    ordered = sorted(samples_ns)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] / 1e6, 2)

    return {"n": len(ordered), "median": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1] / 1e6, 2)}


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
TABLET = (1180, 820)
PROBE = Path(__file__).resolve().with_name("cursor_probe.js")


class Tablet:
    """Headless Chromium at tablet size on the live view, with :file:`cursor_probe.js` counting
    its screen updates (Debian's chromium and chromedriver, as the browser tests)."""

    def __init__(self, port: int, username: str) -> None:
        missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
        if missing:
            raise SystemExit(f"{', '.join(missing)} not installed (run tests/bootstrap.sh), "
                             "or measure without the browser: --no-browser")
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise SystemExit("selenium is not installed: pip install -e '.[test]' (or --no-browser)") from None
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        self.profile = tempfile.mkdtemp(prefix="live-bench-chromium-")
        options.add_argument("--user-data-dir=" + self.profile)
        options.add_argument(f"--window-size={TABLET[0]},{TABLET[1]}")
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": TABLET[0], "height": TABLET[1], "deviceScaleFactor": 1, "mobile": False})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE.read_text()})
        from selenium.webdriver.common.by import By

        self.driver.get(f"http://127.0.0.1:{port}/login?next=%2Flive")  # signed in as a clinician would
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()

    def wait_live(self, timeout_s: float = 30.0) -> None:
        """Until the page's stream is open and its cursor has moved."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.driver.execute_script(
                    "const conn = document.getElementById('conn');"
                    "return !!conn && conn.dataset.state === 'open' && window.__cursorProbe.updates.length > 5"):
                return
            time.sleep(0.3)
        raise SystemExit(f"the tablet's live view ({self.driver.current_url}) did not show a moving cursor within "
                         f"{timeout_s:g} s (is someone on the simulated plate?)")

    def reset(self) -> None:
        self.driver.execute_script("window.__cursorProbe.reset()")

    def cpu_s(self) -> float | None:
        """CPU time of chromedriver and the browser's processes so far, s."""
        return _tree_cpu_s(self.driver.service.process.pid)

    def record(self) -> dict:
        return self.driver.execute_script(
            "const p = window.__cursorProbe; return {since: p.since, until: performance.now(), ticks: p.ticks,"
            " updates: p.updates, updates_by: p.updatesBy, drawn_by: p.drawnBy, visible: p.visible(),"
            " events: p.events, draws: p.draws, late: p.late,"
            " event_to_drawing_ms: p.eventToDrawingMs, callback_ms: p.callbackMs}")

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def _per_second(times_ms: list[float], since_ms: float, until_ms: float) -> list[int]:
    """How many of ``times_ms`` fall in each whole second from ``since_ms`` to ``until_ms``."""
    seconds = int((until_ms - since_ms) // 1000)
    counts = [0] * seconds
    for t in times_ms:
        i = int((t - since_ms) // 1000)
        if 0 <= i < seconds:
            counts[i] += 1
    return counts


def _pick(ordered: list, q: float):
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def screen_updates(record: dict) -> dict:
    """The tablet's figures from the probe's record: screen updates of the cursor per second
    (mean, p5, min, max of the per-second counts; target mean and p5 >= 30) on the canvas on
    screen that moved least (``canvas``; every canvas that moved in ``by_canvas``, with whether
    it is on screen), animation frames, frames events and drawings per second, frames events not
    drawn by the next animation frame, the delay from a frames event to the drawing that showed
    it, and the page's requestAnimationFrame callbacks (ms)."""
    since, until = record["since"], record["until"]
    seconds = int((until - since) // 1000)
    if not seconds:
        return {"seconds": 0}

    def counts(times: list) -> dict:
        per_s = sorted(_per_second(times, since, until))
        return {"mean": round(statistics.fmean(per_s), 1), "p5": _pick(per_s, 0.05), "min": per_s[0], "max": per_s[-1]}

    by_canvas = {name: {"on_screen": name in record["visible"], "updates_per_s": counts(times)}
                 for name, times in sorted(record["updates_by"].items())}
    shown = [name for name in by_canvas if by_canvas[name]["on_screen"]]
    worst = min(shown, key=lambda name: by_canvas[name]["updates_per_s"]["mean"], default=None)

    def rate(times: list) -> float:
        return round(sum(_per_second(times, since, until)) / seconds, 1)

    def ms(samples: list) -> dict:
        ordered = sorted(samples)
        return {"n": len(ordered), "median": round(_pick(ordered, 0.5), 2), "p95": round(_pick(ordered, 0.95), 2),
                "max": round(ordered[-1], 2)} if ordered else {}

    return {
        "seconds": seconds,
        "canvas": worst,
        "updates_per_s": by_canvas[worst]["updates_per_s"] if worst else counts([]),
        "by_canvas": by_canvas,
        "animation_frames_per_s": rate(record["ticks"]),
        "frames_events_per_s": rate(record["events"]),
        "drawings": record["draws"],
        "events_not_drawn": record["late"],
        "event_to_drawing_ms": ms(record["event_to_drawing_ms"]),
        "render_callback_ms": ms(record["callback_ms"]),
    }


def _cpu_s(pid: int) -> float | None:
    """CPU time (user + system, s) of process ``pid`` so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _tree_cpu_s(pid: int) -> float | None:
    """CPU time (s) of process ``pid`` and all its descendants so far (Linux /proc), None elsewhere."""
    try:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
    except OSError:
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _cpu_s(p) or 0.0
        todo += children.get(p, [])
    return total


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _health(client: Client) -> dict:
    return client.request("GET", "/healthz")[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-trial", action="store_true", help="no trial recording during the measurement")
    parser.add_argument("--settings", type=json.loads, default=None,
                        help="the run's settings as JSON (POST /api/station/run), e.g. "
                             "'{\"training\": {\"game\": \"track\", \"level\": 3}}'; "
                             "default for limits-of-stability and biofeedback-training: see RUN_SETTINGS")
    parser.add_argument("--record", type=Path, default=None,
                        help="also write the tablet's raw record (cursor_probe.js: times in ms) to this JSON file")
    parser.add_argument("--no-browser", action="store_true",
                        help="no headless Chromium tablet on the live view (the stream's delays only)")
    parser.add_argument("--protocol", default="quiet-stance",
                        help="the test opened (default quiet-stance; a walk test adds each stream's gait event)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="live-bench-"))
    port = _free_port()
    log = open(data_dir / "station.log", "w")
    tablet = None
    station = subprocess.Popen(
        [sys.executable, "-m", "station.cli", "run", "--simulate", "--scenario", "patient", "--port", str(port),
         "--data-dir", str(data_dir / "data")],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
    )
    try:
        admin = Client(port)
        deadline = time.monotonic() + 90
        while True:
            try:
                doc = _health(admin)
                if doc and doc.get("frames", 0) > 200:
                    break
            except OSError:
                pass
            if station.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the station did not start; see {data_dir / 'station.log'}")
            time.sleep(0.3)
        admin.sign_in("bench-admin", first=True)
        for i in range(args.viewers):
            admin.request("POST", "/api/users", {"username": f"viewer{i}", "password": PASSWORD, "role": "clinician"})
        if not args.no_browser:
            admin.request("POST", "/api/users", {"username": "tablet", "password": PASSWORD, "role": "clinician"})
        clients = []
        for i in range(args.viewers):
            c = Client(port)
            c.sign_in(f"viewer{i}")
            clients.append(c)
        trial = None
        if not args.no_trial:
            _, patient = admin.request("POST", "/api/patients", {"identifier": "BENCH-1", "birth_year": 1960, "sex": "F"})
            settings = RUN_SETTINGS.get(args.protocol, {}) if args.settings is None else args.settings
            status, run = admin.request("POST", "/api/station/run",
                                        {"patient_id": patient["id"], "protocol": args.protocol, **settings})
            if status != 201:
                raise SystemExit(f"could not open the test: {status} {run}")
            time.sleep(1.5)  # the virtual patient steps on
            status, doc = admin.request("POST", "/api/station/start", {})
            trial = f"{args.protocol} trial started" if status == 200 else f"start refused: {status} {doc}"

        if not args.no_browser:
            tablet = Tablet(port, "tablet")
            tablet.wait_live()

        stop = threading.Event()
        viewers = [Viewer(c, stop) for c in clients]
        for v in viewers:
            v.start()
        time.sleep(2.0)  # every stream open and past its backfill
        load_before = _load_average()
        before = _health(admin)
        cpu_before = _cpu_s(station.pid)
        browser_cpu_before = None
        if tablet is not None:
            tablet.reset()
            browser_cpu_before = tablet.cpu_s()
        t0 = time.monotonic()
        time.sleep(args.seconds)
        after = _health(admin)
        cpu_after = _cpu_s(station.pid)
        record = tablet.record() if tablet is not None else None
        if record is not None and args.record is not None:
            args.record.write_text(json.dumps(record))
        elapsed = time.monotonic() - t0
        browser_cpu_after = tablet.cpu_s() if tablet is not None else None
        load_after = _load_average()
        stop.set()
        for v in viewers:
            v.join(5)
        _, station_doc = admin.request("GET", "/api/station")
        rates = sorted(v.frames_events / ((v.last_event_at - v.first_event_at) / 1e9)
                       for v in viewers if v.first_event_at and v.last_event_at and v.last_event_at > v.first_event_at)
        run_doc = (station_doc or {}).get("service", {}).get("run") or {}
        result = {
            "viewers": args.viewers,
            "seconds": round(elapsed, 1),
            "cpu_count": os.cpu_count(),
            "load_average_1_5_15_min": {"before": load_before, "after": load_after},
            "trial": trial,
            "trial_state_at_end": run_doc.get("state"),
            "acquisition": {
                "frames": after["frames"] - before["frames"],
                "frames_lost": after["frames_lost"] - before["frames_lost"],
                "frames_late": after["frames_late"] - before["frames_late"],
                "frames_lost_since_start": after["frames_lost"],
                "measured_rate_hz": after["rate_hz"]["measured"],
                "scheduling": after.get("scheduling"),
            },
            "web_process_cpu_percent": (round(100 * (cpu_after - cpu_before) / elapsed, 1)
                                        if cpu_before is not None and cpu_after is not None else None),
            "delay_to_write_ms": _stats_ms([d for v in viewers for d in v.write_delays_ns]),
            "delay_to_receive_ms": _stats_ms([d for v in viewers for d in v.receive_delays_ns]),
            "events_per_s": {"min": round(rates[0], 1), "median": round(statistics.median(rates), 1)} if rates else None,
            "frames_missed": sum(v.missed for v in viewers),
            "gait_events": {"min": min(v.gait_events for v in viewers),
                            "median": statistics.median(v.gait_events for v in viewers)} if viewers else None,
            "viewer_errors": [v.error for v in viewers if v.error],
            "tablet": screen_updates(record) if record is not None else None,
            "browser_cpu_percent": (round(100 * (browser_cpu_after - browser_cpu_before) / elapsed, 1)
                                    if browser_cpu_after is not None and browser_cpu_before is not None else None),
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
        if tablet is not None:
            tablet.close()
        if station.poll() is None:
            station.send_signal(signal.SIGTERM)
            try:
                station.wait(20)
            except subprocess.TimeoutExpired:
                station.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
