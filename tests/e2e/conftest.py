"""Browser end-to-end fixtures: the real station (``balance-station run --simulate``) in a
subprocess, a TCP relay in front of it (so a test can drop the browser's connections like a bad
Wi-Fi), and headless Chromium at tablet size driven by Selenium through Debian's chromedriver
(:mod:`e2e_support` holds the station, the sizes and ``set_size``, which test files import from there).

Nothing is downloaded: Selenium is given ``/usr/bin/chromedriver`` and ``/usr/lib/chromium/chromium-headless-shell``
(installed by ``tests/bootstrap.sh``), so selenium-manager never runs. The tests skip, saying
why, only where Chromium cannot be installed (no root or no apt-get); where it can, a missing
browser is an error that points at the bootstrap script. Screenshots and page sources of a
failed test are kept in ``test-artifacts/`` (gitignored); the screenshots a test takes for a
look go to the ``shots`` folder (its tmp_path, or ``$E2E_SHOTS``).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from e2e_support import (ARTIFACTS, CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, PHONE, TABLET, Station,
                         browser_or_skip, make_first_admin, running_station, set_size, slow_card_env)

# (the sizes, set_size, browser_or_skip and Station are e2e_support's: a test file imports them from there)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def station(tmp_path):
    """A fresh station (empty data directory) whose virtual patient steps off in the mCTSIB's
    'firm surface, eyes closed' condition (scenario ``mctsib-step-off``)."""
    with running_station(tmp_path / "data", "mctsib-step-off") as st:
        yield st


@pytest.fixture
def station_for(tmp_path):
    """``station_for(scenario, faults=())``: a fresh station whose simulation plays ``scenario``, with
    the station's own ``faults`` (``run --fault``, e.g. ``stall:6:3``) if given (stopped at the end
    of the test)."""
    browser_or_skip()
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
    """A headless Chromium at ``size`` (px) with its downloads under ``folder``: (driver, downloads dir). Its
    profile is chromedriver's own temporary one, removed when the driver quits (the headless shell given a
    ``--user-data-dir`` is never found by chromedriver: "unable to discover open pages")."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    downloads = folder / f"downloads-{name}"
    downloads.mkdir()
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    set_size(driver, size)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(0)
    return driver, downloads


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, by their children and so on (from /proc)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # gone meanwhile
                continue
            parent_of[int(entry)] = int(stat[stat.rfind(")") + 2:].split()[1])
    found, wanted = [], {pid}
    while wanted:
        wanted = {child for child, parent in parent_of.items() if parent in wanted}
        found.extend(sorted(wanted))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"  # a zombie has ended


def quit_browser(driver, wait_s: float = 10.0) -> None:
    """Quit ``driver`` and fail if its browser outlives it: an orphaned browser goes on drawing its page for the rest
    of the run (s31: a launcher script that did not ``exec`` the browser left 69 renderers running, load average
    52). Quitting twice is harmless."""
    process = getattr(driver.service, "process", None)
    launched = _descendants(process.pid) if process is not None and process.poll() is None else []
    driver.quit()
    deadline = time.monotonic() + wait_s
    while (left := [pid for pid in launched if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # ended meanwhile
                pass
        raise AssertionError(f"the browser (process {left}) was still running {wait_s:g} s after chromedriver quit")


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
    browser_or_skip()
    made = []

    def make(name: str = "tablet", size: tuple[int, int] = TABLET):
        driver, downloads = _chromium(name, size, tmp_path)
        made.append((name, driver))
        return driver, downloads

    yield make
    if _failed(request):
        _keep_artifacts(request, made)
    left = []
    for _name, driver in made:  # every one quit, then any left running said
        try:
            quit_browser(driver)
        except AssertionError as exc:
            left.append(str(exc))
    assert not left, "; ".join(left)


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
                quit_browser(driver)
            except Exception as exc:  # a browser already gone
                print(f"could not quit a browser: {exc}")
        code = self.station.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{self.station.log()}")


class RecordingStation:
    """A station whose virtual patient follows every protocol (scenario ``patient``), its administrator ADMIN made
    in its store, on a card a test can make slow (``slow_card``, the flag file of e2e_support.slow_card_env: touched,
    the station's COMMITs wait), for tests that record: each signs its own browsers in (test_dashboard
    ``signed_in_again``), records its own patients (identifiers unique among the tests that share it), and ends with
    :meth:`left_free`."""

    def __init__(self, folder: Path) -> None:
        from test_dashboard import ADMIN

        env, self.slow_card = slow_card_env(folder)
        self.station = Station(folder / "data", "patient", env=env)
        self.left = False
        try:
            self.station.wait_ready()
            make_first_admin(self.station, ADMIN)
            self.settings = self._settings()
        except BaseException:
            self.close()
            raise

    def _settings(self) -> dict:
        from station.store.store import Store

        store = Store.open(self.station.data_dir)
        try:
            return store.settings.all()
        finally:
            store.close()

    def left_free(self, driver) -> None:
        """The station left as the next test expects, through ``driver`` (signed in as ADMIN): the test open, if any,
        closed (asserted), nothing open after, the card writing, and the clinic's settings as the station started
        with them (a test that changes one puts it back)."""
        from test_dashboard import api

        if api(driver, "GET", "/api/station")["body"]["service"]["run"] is not None:
            closed = api(driver, "POST", "/api/station/close")
            assert closed["status"] == 200, closed
        assert api(driver, "GET", "/api/station")["body"]["service"]["run"] is None
        assert not self.slow_card.exists(), "the card left slow"
        assert self._settings() == self.settings, "a setting changed and not put back"
        self.left = True

    def close(self) -> None:
        self.slow_card.unlink(missing_ok=True)
        code = self.station.stop()
        if code not in (0, None):
            print(f"station exited with {code}; log:\n{self.station.log()}")


_shared: dict[str, ReadingPages | RecordingStation] = {}
"""The shared :class:`ReadingPages` (``reading_pages``) and :class:`RecordingStation` (``recording_station``) of this
process, by fixture name, while a run of tests that use it lasts."""


@pytest.fixture
def reading_pages(request, tmp_path_factory) -> ReadingPages:
    """The :class:`ReadingPages` shared by consecutive tests that ask for it (one station and two
    browsers started for them all instead of one each: ~15 s of CPU a test). Stopped after the last
    of a row (``pytest_runtest_teardown``), and after a failed test (the next one starts afresh);
    tests/conftest.py hands their files out one after another."""
    browser_or_skip()
    if "reading_pages" not in _shared:
        _shared["reading_pages"] = ReadingPages(tmp_path_factory.mktemp("reading"))
    yield _shared["reading_pages"]
    if _failed(request) and "reading_pages" in _shared:
        _keep_artifacts(request, _shared["reading_pages"].drivers)
        _shared.pop("reading_pages").close()


@pytest.fixture
def recording_station(request, tmp_path_factory) -> RecordingStation:
    """The :class:`RecordingStation` shared by consecutive tests that ask for it (one station started for them all
    instead of one each: ~15 s of CPU a test; each test has its own browsers). Stopped after the last of a row
    (``pytest_runtest_teardown``), and after a test that failed or did not leave it free (:meth:`left_free`): the
    next one starts afresh. tests/conftest.py hands their files out to one worker, one after another."""
    browser_or_skip()
    if "recording_station" not in _shared:
        _shared["recording_station"] = RecordingStation(tmp_path_factory.mktemp("recording"))
    shared = _shared["recording_station"]
    shared.left = False
    yield shared
    if not shared.left and "recording_station" in _shared:
        _shared.pop("recording_station").close()
        if not _failed(request):
            raise AssertionError("the test did not leave the shared station free (recording_station.left_free)")


@pytest.hookimpl(trylast=True)  # after the fixtures' teardown: a failed test's keeps its browsers' artifacts first
def pytest_runtest_teardown(item, nextitem):
    for name in list(_shared):
        if nextitem is None or name not in nextitem.fixturenames:
            _shared.pop(name).close()
