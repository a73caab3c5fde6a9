"""systemd notification protocol over a real datagram socket, and the frame-driven watchdog."""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameRing
from station.acquire.source import STARTING_CODE, STARTING_WORDS, RingFrameSource, down_health
from station.sdnotify import (
    DEFAULT_INTERVAL_S,
    Notifier,
    ServiceWatchdog,
    notify,
    notify_address,
    status_text,
    watchdog_usec,
)
from station.sim.clock import SimulatedClock


class Listener:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, address: str | bytes):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(2.0)

    def receive(self) -> str:
        return self.sock.recv(4096).decode()

    def pending(self) -> list[str]:
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                out.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.settimeout(2.0)
        return out

    def close(self):
        self.sock.close()


@pytest.fixture
def listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    lis = Listener(path)
    yield path, lis
    lis.close()


def test_notify_to_a_path_socket(listener):
    path, lis = listener
    assert notify("READY=1\nSTATUS=up", env={"NOTIFY_SOCKET": path}) is True
    assert lis.receive() == "READY=1\nSTATUS=up"


def test_notify_to_an_abstract_socket():
    name = f"balance-station-test-{os.getpid()}-{time.monotonic_ns()}"
    lis = Listener(b"\0" + name.encode())
    try:
        assert notify_address({"NOTIFY_SOCKET": "@" + name}) == b"\0" + name.encode()
        assert notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name}) is True
        assert lis.receive() == "WATCHDOG=1"
    finally:
        lis.close()


def test_no_socket_means_no_notification():
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": ""}) is None
    assert notify("READY=1", env={}) is False
    assert Notifier(None).send("READY=1") is False


def test_a_dead_socket_is_reported_not_raised(tmp_path, caplog):
    assert notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False
    assert "not sent" in caplog.text


def test_watchdog_usec_follows_sd_watchdog_enabled():
    assert watchdog_usec({}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "15000000"}) == 15_000_000
    assert watchdog_usec({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "100", "WATCHDOG_PID": "42"}, pid=42) == 100
    assert watchdog_usec({"WATCHDOG_USEC": "100", "WATCHDOG_PID": "42"}, pid=43) is None
    assert watchdog_usec({"WATCHDOG_USEC": "100", "WATCHDOG_PID": str(os.getpid())}) == 100


class Acquisition:
    """Health documents as the acquisition publishes them; tests move the counter."""

    def __init__(self):
        # (the web process's reading before the acquisition's first report: station.acquire.source)
        self.doc = {**down_health(STARTING_WORDS, STARTING_CODE, "acquisition starting: no health report yet"),
                    "rate_hz": {"configured": 100.0, "measured": None}}
        self.fail: Exception | None = None

    def health(self):
        if self.fail is not None:
            raise self.fail
        return dict(self.doc)

    def deliver(self, n: int, state: str = "ok", reason: str = "", measured: float = 100.0):
        for key in ("reason_code", "detail"):  # (the starting document's; the acquisition's report has its own)
            self.doc.pop(key, None)
        self.doc.update(frames=self.doc["frames"] + n, state=state, reason=reason,
                        rate_hz={"configured": 100.0, "measured": measured})


def fields_of(message: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in message.split("\n"))


def test_ready_only_once_frames_arrive_and_watchdog_only_while_they_keep_coming(listener):
    path, lis = listener
    acq = Acquisition()
    clock = SimulatedClock()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=clock, watchdog_usec=10_000_000)
    assert dog.interval_s == 5.0  # half the watchdog period

    dog.check()  # no frame yet: status only, no READY, no WATCHDOG
    msg = fields_of(lis.receive())
    assert msg == {"STATUS": "starting: waiting for the acquisition's first frame"}

    acq.deliver(500)
    dog.check()
    msg = fields_of(lis.receive())
    assert msg["READY"] == "1" and "WATCHDOG" not in msg
    assert msg["STATUS"] == "ok, 100.0 Hz, 500 frames"

    acq.deliver(500)
    dog.check()
    assert lis.receive() == "WATCHDOG=1\nSTATUS=ok, 100.0 Hz, 1000 frames"


def test_a_start_is_said_once_in_plain_words_then_what_went_wrong_with_it(listener):
    """The status line while the acquisition starts, from the health documents the web process reads of it
    (station.acquire.source.RingFrameSource, the watchdog's ``health`` under ``run``): before its first report, with
    its report and no frame yet, then no frame over a second after it started. It said "starting: waiting for the
    first frame from the acquisition; starting, 0 frames: acquisition starting: no frame yet" (starting three times)."""
    path, lis = listener
    ring = FrameRing(64)
    source = RingFrameSource(ring.name, 100.0)
    try:
        dog = ServiceWatchdog(source.health, notifier=Notifier(os.fsencode(path)), clock=SimulatedClock(),
                              watchdog_usec=10_000_000)
        dog.check()  # attached, no report published yet: "down", code acquisition_starting
        assert fields_of(lis.receive()) == {"STATUS": "starting: waiting for the acquisition's first frame"}
        report = {"state": "degraded", "reason": "the plate is not calibrated", "frames": 0, "frames_lost": 0,
                  "rate_hz": {"configured": 100.0, "measured": None}, "published_ns": time.monotonic_ns(),
                  "started_ns": time.monotonic_ns() - 100_000_000}
        ring.publish_health(report)  # its first report, no frame yet: "starting" (the same line: nothing sent)
        assert source.health()["state"] == "starting" and dog.check() == [] and dog.last_status == (
            "starting: waiting for the acquisition's first frame")
        ring.publish_health({**report, "started_ns": time.monotonic_ns() - 1_600_000_000})
        dog.check()  # started 1.6 s ago and nothing: the health's own words, once
        assert fields_of(lis.receive()) == {
            "STATUS": "nodata, 0 frames: no data: the acquisition started 2 s ago and has sent no frame"}
        frame = np.zeros(1, dtype=FRAME_DTYPE)[0]
        frame["seq"], frame["t_ns"] = 0, time.monotonic_ns()
        ring.write(frame.item())
        ring.publish_health({**report, "frames": 1, "published_ns": time.monotonic_ns()})
        assert fields_of(lis.receive() if dog.check() else "") == {
            "READY": "1", "STATUS": "degraded, 1 frames: the plate is not calibrated"}
    finally:
        source.close()
        ring.close()


def test_a_hung_acquisition_stops_feeding_the_watchdog(listener):
    path, lis = listener
    acq = Acquisition()
    clock = SimulatedClock()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=clock, watchdog_usec=10_000_000)
    acq.deliver(100)
    dog.check()
    lis.pending()
    fed = []
    for step in range(6):
        if step < 2:
            acq.deliver(500)
        clock.advance_ns(5_000_000_000)
        fed.append("WATCHDOG=1" in dog.check())
    assert fed == [True, True, False, False, False, False]
    messages = [fields_of(m) for m in lis.pending()]
    assert all("WATCHDOG" not in m for m in messages[2:])
    assert messages[-1]["STATUS"].startswith("acquisition stalled: no new frame for 20 s")


def test_a_degraded_station_keeps_its_watchdog_fed_and_says_why(listener):
    path, lis = listener
    acq = Acquisition()
    clock = SimulatedClock()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=clock, watchdog_usec=10_000_000)
    acq.deliver(100)
    dog.check()
    lis.pending()
    for _ in range(3):
        acq.deliver(500, state="degraded", reason="sensor problem: imu down", measured=99.7)
        clock.advance_ns(5_000_000_000)
        sent = dog.check()
        assert "WATCHDOG=1" in sent
    last = fields_of(lis.pending()[-1])
    assert last["WATCHDOG"] == "1"
    assert last["STATUS"] == "degraded, 99.7 Hz, 1600 frames: sensor problem: imu down"
    assert dog.watchdog_sent == 3


def test_all_corners_down_still_counts_as_alive_when_frames_flow(listener):
    # the acquisition keeps producing (fault-flagged) frames when no load cell answers: the
    # process is alive, a restart would not bring the plate back; it is reported, not restarted
    path, lis = listener
    acq = Acquisition()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=SimulatedClock(), watchdog_usec=2_000_000)
    acq.deliver(10, state="down", reason="no load cell answers; check the plate cable and the mux")
    assert "READY=1" in dog.check()
    acq.deliver(10, state="down", reason="no load cell answers; check the plate cable and the mux")
    assert "WATCHDOG=1" in dog.check()


def test_a_restarted_counter_counts_as_progress_and_errors_do_not(listener):
    path, lis = listener
    acq = Acquisition()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=SimulatedClock(), watchdog_usec=2_000_000)
    acq.deliver(1000)
    dog.check()
    acq.doc["frames"] = 20  # the acquisition process was restarted and counts anew
    assert "WATCHDOG=1" in dog.check()
    acq.fail = RuntimeError("ring gone")
    sent = dog.check()
    assert "WATCHDOG=1" not in sent
    assert "STATUS=acquisition health unavailable: RuntimeError: ring gone" in sent


def test_no_watchdog_configured_means_no_watchdog_messages(listener):
    path, lis = listener
    acq = Acquisition()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=SimulatedClock(), watchdog_usec=None)
    assert dog.interval_s == DEFAULT_INTERVAL_S
    acq.deliver(5)
    assert "READY=1" in dog.check()
    acq.deliver(5)
    assert dog.check() == ["STATUS=ok, 100.0 Hz, 10 frames"]


def test_status_is_one_line():
    text = status_text({"state": "degraded", "frames": 3, "reason": "line one\nline two\t" + "x" * 500})
    assert "\n" not in text and len(text) <= 200
    assert text.startswith("degraded, 3 frames: line one line two")


def test_run_keeps_an_absolute_schedule_under_a_simulated_clock(listener):
    path, lis = listener
    acq = Acquisition()
    clock = SimulatedClock()
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), clock=clock, watchdog_usec=4_000_000)
    checks = []
    real_check = dog.check

    def counting_check():
        checks.append(clock.monotonic_ns())
        acq.deliver(200)
        clock.advance_ns(300_000_000)  # a slow check
        return real_check()

    dog.check = counting_check
    dog.run(lambda: len(checks) >= 4)
    assert checks == [0, 2_000_000_000, 4_000_000_000, 6_000_000_000]


def test_thread_runs_and_stop_says_stopping(listener):
    path, lis = listener
    acq = Acquisition()
    acq.deliver(1)
    dog = ServiceWatchdog(acq.health, notifier=Notifier(os.fsencode(path)), watchdog_usec=None, interval_s=0.01)
    dog.start()
    assert "READY=1" in lis.receive()
    with pytest.raises(RuntimeError):
        dog.start()
    dog.stop("shutting down")
    got = lis.pending()
    assert got[-1] == "STOPPING=1\nSTATUS=shutting down"
    assert not any(t.name == "systemd-watchdog" for t in threading.enumerate())


def test_defaults_come_from_the_environment(listener, monkeypatch):
    path, lis = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    acq = Acquisition()
    dog = ServiceWatchdog(acq.health, clock=SimulatedClock())  # socket and period from the environment
    assert dog.watchdog_usec == 3_000_000 and dog.interval_s == 1.5
    acq.deliver(1)
    dog.check()
    assert "READY=1" in lis.receive()


def test_outside_systemd_nothing_is_sent_and_nothing_fails(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    acq = Acquisition()
    dog = ServiceWatchdog(acq.health, clock=SimulatedClock())
    assert not dog.notifier.enabled and dog.watchdog_usec is None
    acq.deliver(3)
    dog.check()
    assert dog.ready


def test_frames_counter_and_event_as_used_by_the_run_command(listener):
    """The run command passes a counter that says -1 once the acquisition process has died, and
    a threading.Event to stop."""
    path, lis = listener
    acq = Acquisition()
    alive = {"value": True}

    def frames() -> int:
        return int(acq.health()["frames"]) if alive["value"] else -1

    clock = SimulatedClock()
    dog = ServiceWatchdog(acq.health, frames_counter=frames, notifier=Notifier(os.fsencode(path)),
                          clock=clock, watchdog_usec=2_000_000)
    acq.deliver(50)
    assert "READY=1" in dog.check()
    acq.deliver(50)
    assert "WATCHDOG=1" in dog.check()
    alive["value"] = False
    acq.deliver(50)  # a stale document may still grow; the dead process must not feed the watchdog
    assert "WATCHDOG=1" not in dog.check()
    assert "WATCHDOG=1" not in dog.check()

    stop = threading.Event()
    calls = []
    dog.check = lambda: calls.append(1) or (stop.set() if len(calls) == 3 else None)
    dog.run(stop)
    assert len(calls) == 3
