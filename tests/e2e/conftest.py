"""Browser end-to-end fixtures: the real station (``balance-station run --simulate``) in a
subprocess, a TCP relay in front of it (so a test can drop the browser's connections like a bad
Wi-Fi), and headless Chromium at tablet size driven by Selenium through Debian's chromedriver.

Nothing is downloaded: Selenium is given ``/usr/bin/chromedriver`` and ``/usr/bin/chromium``
(installed by ``tests/bootstrap.sh``), so selenium-manager never runs. The tests skip, saying
why, only where Chromium cannot be installed (no root or no apt-get); where it can, a missing
browser is an error that points at the bootstrap script. Screenshots and page sources of a
failed test are kept in ``test-artifacts/`` (gitignored); the screenshots a test takes for a
look go to the ``shots`` folder (its tmp_path, or ``$E2E_SHOTS``).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from free_ports import free_port as _free_port
from plate_calibration import with_plate_calibration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
TABLET = (1180, 820)
PHONE = (390, 844)


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        installable = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
        message = f"{', '.join(missing)} not installed (Debian packages chromium and chromium-driver)"
        if installable:
            pytest.fail(message + ": run tests/bootstrap.sh, which installs them")
        pytest.skip(message + ", and they cannot be installed here (needs root and apt-get)")
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("selenium is not installed: pip install -e '.[test]'")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


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
    directory holding its plate's calibration (tests/plate_calibration.py)."""

    def __init__(self, data_dir: Path, scenario: str, faults: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        self.data_dir = with_plate_calibration(data_dir)
        self.log_path = data_dir.parent / "station.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "run", "--simulate", "--scenario", scenario,
             "--port", str(self.port), "--data-dir", str(data_dir), *(a for f in faults for a in ("--fault", f))],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
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


@pytest.fixture
def station(tmp_path):
    """A fresh station (empty data directory) whose virtual patient steps off in the mCTSIB's
    'firm surface, eyes closed' condition (scenario ``mctsib-step-off``)."""
    _browser_or_skip()
    st = Station(tmp_path / "data", "mctsib-step-off")
    try:
        st.wait_ready()
        yield st
    finally:
        code = st.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{st.log()}")


@pytest.fixture
def station_for(tmp_path):
    """``station_for(scenario, faults=())``: a fresh station whose simulation plays ``scenario``, with
    the station's own ``faults`` (``run --fault``, e.g. ``stall:6:3``) if given (stopped at the end
    of the test)."""
    _browser_or_skip()
    started = []

    def start(scenario: str, faults: tuple[str, ...] = ()) -> Station:
        st = Station(tmp_path / f"data-{len(started)}", scenario, faults)
        started.append(st)
        st.wait_ready()
        return st

    yield start
    for st in started:
        code = st.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{st.log()}")


@pytest.fixture
def shots(request, tmp_path) -> Path:
    """The folder where a test leaves its screenshots for a look (pages at tablet and phone size):
    ``$E2E_SHOTS/<test name>`` when that variable names a folder (to keep them after the run), else
    the test's own ``tmp_path/shots``; never a fixed /tmp folder that parallel runs would share."""
    root = os.environ.get("E2E_SHOTS")
    folder = Path(root) / request.node.name if root else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _chromium(name: str, size: tuple[int, int], folder: Path):
    """A headless Chromium at ``size`` (px) with its profile and downloads under ``folder``:
    (driver, downloads dir)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-", dir=folder))
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    downloads = folder / f"downloads-{name}"
    downloads.mkdir()
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    set_size(driver, size)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(0)
    return driver, downloads


def set_size(driver, size: tuple[int, int]) -> None:
    """The page laid out at ``size`` (px), as on a device that wide (a phone below 600 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600})


def _failed(request) -> bool:
    return getattr(request.node, "report_call", None) is not None and request.node.report_call.failed


def _keep_artifacts(request, named_drivers) -> None:
    """Each browser's screenshot and page source in test-artifacts/, named by the test."""
    ARTIFACTS.mkdir(exist_ok=True)
    for name, driver in named_drivers:
        stem = ARTIFACTS / f"{request.node.name}-{name}"
        try:
            driver.save_screenshot(str(stem) + ".png")
            Path(str(stem) + ".html").write_text(driver.page_source)
        except Exception as exc:  # the browser may be gone: say so, keep the rest
            print(f"could not save the {name} screenshot: {exc}")


@pytest.fixture
def browsers(request, tmp_path):
    """Make headless Chromium browsers, at tablet size unless given another (``PHONE``):
    ``browsers(name, size)`` -> (driver, downloads dir).
    On failure each one's screenshot and page source go to test-artifacts/."""
    _browser_or_skip()
    made = []

    def make(name: str = "tablet", size: tuple[int, int] = TABLET):
        driver, downloads = _chromium(name, size, tmp_path)
        made.append((name, driver))
        return driver, downloads

    yield make
    if _failed(request):
        _keep_artifacts(request, made)
    for _name, driver in made:
        driver.quit()


class ReadingPages:
    """A station set up by its administrator on a tablet (1180×820), with a phone (390×844) signed in
    too, for tests that store what they show straight into the station's store and read its pages
    (nothing recorded): ``station``, ``tablet`` (its downloads in ``downloads``), ``phone``."""

    def __init__(self, folder: Path) -> None:
        from test_dashboard import ADMIN, at, setup_admin, sign_in, wait

        self.station = Station(folder / "data", "mctsib-step-off")
        self.drivers = []
        try:
            self.station.wait_ready()
            self.tablet, self.downloads = _chromium("tablet", TABLET, folder)
            self.drivers.append(("tablet", self.tablet))
            setup_admin(self.tablet, self.station.url)
            self.phone, _ = _chromium("phone", PHONE, folder)
            self.drivers.append(("phone", self.phone))
            self.phone.get(self.station.url + "/login")
            sign_in(self.phone, self.station.url, ADMIN)
            wait(self.phone, "signed in", at("/patients"))
        except BaseException:
            self.close()
            raise

    def tablet_and_phone(self, store):
        """Both browsers back at their sizes, and ``store(data_dir)`` run on the station's data
        directory: (tablet, phone, its value). Each test stores its own patients (identifiers
        unique among the tests that share the station)."""
        set_size(self.tablet, TABLET)
        set_size(self.phone, PHONE)
        return self.tablet, self.phone, store(self.station.data_dir)

    def close(self) -> None:
        for _name, driver in self.drivers:
            try:
                driver.quit()
            except Exception as exc:  # a browser already gone
                print(f"could not quit a browser: {exc}")
        code = self.station.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{self.station.log()}")


_reading: list[ReadingPages] = []
"""The shared :class:`ReadingPages` of this process, while a run of tests that use it lasts."""


@pytest.fixture
def reading_pages(request, tmp_path_factory) -> ReadingPages:
    """The :class:`ReadingPages` shared by consecutive tests that ask for it (one station and two
    browsers started for them all instead of one each: ~15 s of CPU a test). Stopped after the last
    of a row (``pytest_runtest_teardown``), and after a failed test (the next one starts afresh);
    tests/conftest.py hands their files out one after another."""
    _browser_or_skip()
    if not _reading:
        _reading.append(ReadingPages(tmp_path_factory.mktemp("reading")))
    yield _reading[0]
    if _failed(request) and _reading:
        _keep_artifacts(request, _reading[0].drivers)
        _reading.pop().close()


@pytest.hookimpl(trylast=True)  # after the fixtures' teardown: a failed test's keeps its browsers' artifacts first
def pytest_runtest_teardown(item, nextitem):
    if _reading and (nextitem is None or "reading_pages" not in nextitem.fixturenames):
        _reading.pop().close()
