"""What the browser end-to-end tests share, importable by name from any test file of tests/e2e (``from
e2e_support import set_size``): the sizes the pages are looked at (``TABLET`` 1180x820, ``PHONE`` 390x844),
:func:`set_size`, :func:`browser_or_skip`, and :class:`Station` (the real station in a subprocess behind a
:class:`Relay`). The fixtures built on them are in conftest.py.

They live here, not in conftest.py: every test folder has a conftest.py, all imported as the module
``conftest``, so ``from conftest import set_size`` read whichever folder's conftest was loaded last, and a
run naming an e2e file and, say, a tests/programmes file failed at collection (``cannot import name
'set_size' from 'conftest'``). tests/test_test_files_together.py keeps it so.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from free_ports import free_port as _free_port
from plate_calibration import with_plate_calibration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell"))
"""The browser: Debian's chromium-headless-shell (Chromium's own engine, Blink and V8 of the same release, without
the full browser around it: measured on three browser files, 71 -> 55 CPU-s of Chromium, its browser process 15.7
-> 6.4, s31). ``E2E_CHROMIUM=/usr/bin/chromium`` runs the tests in the full browser (headless). The binary
itself, not Debian's ``/usr/bin/chromium-headless-shell``: that is a shell script which does not ``exec`` it, so
chromedriver's quit ended the script and left the browser running, orphaned, drawing its live page (69 renderers
an hour into a run)."""
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
TABLET = (1180, 820)
PHONE = (390, 844)


def browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        installable = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
        message = f"{', '.join(missing)} not installed (Debian packages chromium-headless-shell and chromium-driver)"
        if installable:
            pytest.fail(message + ": run tests/bootstrap.sh, which installs them")
        pytest.skip(message + ", and they cannot be installed here (needs root and apt-get)")
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("selenium is not installed: pip install -e '.[test]'")


class Relay:
    """A TCP relay 127.0.0.1:<port> -> the station; :meth:`drop_all` cuts every connection
    through it at once (the browser sees the network fail, as on a tablet losing Wi-Fi). After
    :meth:`record`, ``sent`` holds what each new connection sent the station (its requests as
    they reached the server, one bytearray per connection)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.drops = 0
        self._closed = False
        self.sent: list[bytearray] | None = None
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    def record(self) -> None:
        """Keep what the connections opened from now on send to the station (``sent``)."""
        self.sent = []

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
                kept = None if self.sent is None else bytearray()
                if kept is not None:
                    self.sent.append(kept)
            for a, b, tap in ((client, upstream, kept), (upstream, client, None)):
                threading.Thread(target=self._pipe, args=(a, b, tap), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, tap: bytearray | None = None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if tap is not None:
                    tap += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop_all(self) -> int:
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.drops += 1
        return len(sockets) // 2

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.drop_all()


class Station:
    """The station daemon under test (``balance-station run``) and how to reach it, on a data
    directory holding its plate's calibration (tests/plate_calibration.py); ``env``: its environment (default:
    this process's)."""

    def __init__(self, data_dir: Path, scenario: str, faults: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.data_dir = with_plate_calibration(data_dir)
        self.log_path = data_dir.parent / "station.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "run", "--simulate", "--scenario", scenario,
             "--port", str(self.port), "--data-dir", str(data_dir), *(a for f in faults for a in ("--fault", f))],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
        )
        self.relay = Relay(self.port)
        self.url = f"http://127.0.0.1:{self.relay.port}"

    def health(self) -> dict | None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            return json.loads(conn.getresponse().read())
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the station exited with {self.process.returncode}:\n{self.log()}")
            doc = self.health()
            if doc and doc.get("state") in ("ok", "degraded") and doc.get("frames", 0) > 0:
                return
            time.sleep(0.3)
        raise AssertionError(f"the station did not become ready within {timeout_s:g} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:  # after stop() the file is closed: read what it holds
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> int | None:
        self.relay.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode


def make_first_admin(station: Station, admin: tuple[str, str]) -> None:
    """The first administrator ``admin`` (username, password) made in ``station``'s store, as the first-run setup
    page makes it (that page is tests/e2e/test_dashboard.py's)."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(station.data_dir)
    try:
        store.users.create_first_admin(*admin, actor=Actor(None, "test"))
    finally:
        store.close()


@contextlib.contextmanager
def running_station(data_dir: Path, scenario: str, admin: tuple[str, str] | None = None):
    """A station of ``scenario`` on ``data_dir``, ready (the fixtures' station: a test's, or a module's tests'), with
    its first administrator ``admin`` (username, password) made in its store if given (:func:`make_first_admin`);
    stopped at the end, its log printed if it failed."""
    browser_or_skip()
    station = Station(data_dir, scenario)
    try:
        station.wait_ready()
        if admin is not None:
            make_first_admin(station, admin)
        yield station
    finally:
        code = station.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{station.log()}")


SLOW_CARD_MAX_S = 60.0
"""The longest a slow card holds a COMMIT, s (:data:`SLOW_CARD_SITECUSTOMIZE`)."""

SLOW_CARD_SITECUSTOMIZE = textwrap.dedent(
    """
    import importlib.abc
    import importlib.util
    import os
    import sys
    import time

    FLAG = os.environ["SLOW_CARD_FLAG"]


    class SlowCommits:  # the writer connection on a card whose COMMIT waits while FLAG exists
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if sql == "COMMIT":
                deadline = time.monotonic() + %(max_s)r
                while os.path.exists(FLAG) and time.monotonic() < deadline:
                    time.sleep(0.05)
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)


    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "station.store.db":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                init = module.Database.__init__

                def slow_init(self, *a, **k):
                    init(self, *a, **k)
                    self._writer = SlowCommits(self._writer)

                module.Database.__init__ = slow_init

            spec.loader.exec_module = exec_module
            return spec


    sys.meta_path.insert(0, Hook())
    """ % {"max_s": SLOW_CARD_MAX_S})
"""Put on a station process's path as ``sitecustomize``: it wraps the store's writer connection once
``station.store.db`` is imported, so that its COMMIT waits while the file ``$SLOW_CARD_FLAG`` exists (at most
SLOW_CARD_MAX_S), as an SD card's fsync takes its time. Nothing of it is in the station's code."""


def slow_card_env(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment of a station on a card that can be made slow, and the card's flag file: (env, flag). Touched,
    the flag holds the station's COMMITs (:data:`SLOW_CARD_SITECUSTOMIZE`); unlinked, they go through. Until it is
    touched the card writes as any other."""
    site = folder / "slow-card-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_CARD_SITECUSTOMIZE)
    flag = folder / "card-is-slow"
    env = dict(os.environ, SLOW_CARD_FLAG=str(flag),
               PYTHONPATH=os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    return env, flag


def set_size(driver, size: tuple[int, int]) -> None:
    """The page laid out at ``size`` (px), as on a device that wide (a phone below 600 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600})
