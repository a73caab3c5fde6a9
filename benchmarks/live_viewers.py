"""Many tablets on the live view at once: frames lost in acquisition, and the live stream's delay.

    python3 benchmarks/live_viewers.py                 # 20 viewers, 30 s, a trial recording
    python3 benchmarks/live_viewers.py --viewers 24 --seconds 60
    python3 benchmarks/live_viewers.py --protocol ten-metre-walk   # a walk: every stream's gait event

Starts the real station (``balance-station run --simulate --scenario patient``: acquisition
process, trial service, waitress with its 32 threads) on a free port with a fresh data directory,
signs in ``--viewers`` separate sessions, opens a quiet-stance test and starts its trial (so trial
events, the recorder's database writes and the virtual patient are all at work), and keeps every
viewer on ``GET /api/live`` for ``--seconds``. Each viewer is a thread reading its own HTTP
connection and parsing every event.

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


def _health(client: Client) -> dict:
    return client.request("GET", "/healthz")[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-trial", action="store_true", help="no trial recording during the measurement")
    parser.add_argument("--protocol", default="quiet-stance",
                        help="the test opened (default quiet-stance; a walk test adds each stream's gait event)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="live-bench-"))
    port = _free_port()
    log = open(data_dir / "station.log", "w")
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
        clients = []
        for i in range(args.viewers):
            c = Client(port)
            c.sign_in(f"viewer{i}")
            clients.append(c)
        trial = None
        if not args.no_trial:
            _, patient = admin.request("POST", "/api/patients", {"identifier": "BENCH-1", "birth_year": 1960, "sex": "F"})
            status, run = admin.request("POST", "/api/station/run", {"patient_id": patient["id"], "protocol": args.protocol})
            if status != 201:
                raise SystemExit(f"could not open the test: {status} {run}")
            time.sleep(1.5)  # the virtual patient steps on
            status, doc = admin.request("POST", "/api/station/start", {})
            trial = f"{args.protocol} trial started" if status == 200 else f"start refused: {status} {doc}"

        stop = threading.Event()
        viewers = [Viewer(c, stop) for c in clients]
        for v in viewers:
            v.start()
        time.sleep(2.0)  # every stream open and past its backfill
        before = _health(admin)
        t0 = time.monotonic()
        time.sleep(args.seconds)
        after = _health(admin)
        elapsed = time.monotonic() - t0
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
            "delay_to_write_ms": _stats_ms([d for v in viewers for d in v.write_delays_ns]),
            "delay_to_receive_ms": _stats_ms([d for v in viewers for d in v.receive_delays_ns]),
            "events_per_s": {"min": round(rates[0], 1), "median": round(statistics.median(rates), 1)} if rates else None,
            "frames_missed": sum(v.missed for v in viewers),
            "gait_events": {"min": min(v.gait_events for v in viewers),
                            "median": statistics.median(v.gait_events for v in viewers)} if viewers else None,
            "viewer_errors": [v.error for v in viewers if v.error],
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
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
