"""Helpers of the attack and fault suites: the real station (``balance-station run --simulate``) in
a subprocess on 127.0.0.1, HTTP clients that keep their cookie and CSRF token and connect from
their own loopback address (so that one test's failed sign-ins never throttle another's), and a
tally of what was tried, printed at the end of the run (the figures of README's Security section).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from free_ports import free_port


REPO = Path(__file__).resolve().parents[2]
ADMIN_PW = "admin pass phrase 7"
CLINICIAN_PW = "clinician pass phrase 7"
TALLY: Counter = Counter()
"""What the suites tried: routes, bad inputs, faults (printed by pytest_terminal_summary)."""
_next_address = [10]


def tally(kind: str, n: int = 1) -> None:
    TALLY[kind] += n


def fresh_address() -> str:
    """A loopback address of its own (127.0.3.x, 127.0.4.x, ...): the station sees a new client."""
    _next_address[0] += 1
    n = _next_address[0]
    return f"127.0.{n // 250 + 3}.{n % 250 + 2}"


class Client:
    """One browser: a cookie, a CSRF token, a loopback source address."""

    def __init__(self, port: int, address: str | None = None):
        self.port = port
        self.address = address or fresh_address()
        self.cookie = ""
        self.csrf = ""

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(self.address, 0))
        try:
            hdrs = dict(headers or {})
            if self.cookie:
                hdrs.setdefault("Cookie", self.cookie)
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            cookie = response.getheader("Set-Cookie")
            if cookie:
                self.cookie = cookie.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def request(self, method: str, path: str, body=None, *, csrf: bool = True, headers: dict | None = None):
        """(status, JSON document or None, headers)."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        raw_body = None
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            raw_body = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else (
                body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass"))
        if method not in ("GET", "HEAD") and csrf:
            hdrs["X-CSRF-Token"] = self.csrf
        status, headers_out, data = self.raw(method, path, raw_body, hdrs)
        doc = None
        if headers_out.get("content-type", "").startswith("application/json") and data:
            doc = json.loads(data)
            if isinstance(doc, dict) and "csrf_token" in doc:
                self.csrf = doc["csrf_token"]
        return status, doc, headers_out

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw):
        return self.request("POST", path, {} if body is None else body, **kw)

    def sign_in(self, username: str, password: str) -> "Client":
        self.get("/api/session")
        status, doc, _ = self.post("/api/login", {"username": username, "password": password})
        assert status == 200, (status, doc)
        return self


def create_accounts(data_dir: Path) -> None:
    """An administrator ``root`` and a clinician ``ana``, written before the station starts."""
    from station.store.audit import Actor
    from station.store.store import Store

    with Store.open(data_dir) as store:
        if store.users.count() == 0:
            store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
            store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor.command_line())


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def acquisition_pid(station_pid: int) -> int | None:
    for pid in children_of(station_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            return pid
    return None


class Station:
    """``balance-station run --simulate`` on a data directory, on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, *extra: str, log_dir: Path | None = None):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.log_path = Path(log_dir or self.data_dir.parent) / f"station-{self.port}.log"
        self.extra = extra
        self.process: subprocess.Popen | None = None

    def start(self) -> "Station":
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "run", "--simulate", "--port", str(self.port),
             "--data-dir", str(self.data_dir), *self.extra],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
        )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def health(self) -> dict | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
            conn.request("GET", "/healthz")
            return json.loads(conn.getresponse().read())
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 90.0) -> "Station":
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the station exited with {self.process.returncode}:\n{self.log()}")
            doc = self.health()
            if doc and doc.get("state") in ("ok", "degraded") and doc.get("frames", 0) > 0:
                return self
            time.sleep(0.2)
        raise AssertionError(f"the station did not become ready within {timeout_s:g} s:\n{self.log()}")

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        return self.process.wait(timeout_s)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def client(self, address: str | None = None) -> Client:
        return Client(self.port, address)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode


def run_cli(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    """``balance-station ARGS`` as the user would run it."""
    return subprocess.run([sys.executable, "-m", "station.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def copy_data(template: Path, target: Path) -> Path:
    """A copy of ``template`` at ``target`` (a fresh station's data directory with the accounts)."""
    import shutil

    shutil.copytree(template, target)
    return target
