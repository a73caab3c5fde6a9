"""A hung SD card must not take the web server's threads (X3's review, session 26, F1).

SD cards mostly fail by hanging, not by an error. After one failed write the space monitor checks that
the storage writes again (a small file written and fsync'ed) whenever the health document is read:
``/healthz`` (public) and every page's health chip. Before, each reading ran that check in its own
request thread, so on a hung card four ``/healthz`` calls held the four threads of a waitress server and
the station answered nothing else (not sign-in, not sign-out, not the chip's words). Now one check runs at
a time, in a thread of its own, and a reading waits for it at most ``CHECK_WAIT_S``: the others get the
state, saying how long the storage has not answered.

Reproduced as X3 did: an in-process waitress server of 4 threads on a station's app, the check write
replaced by one that hangs (until the test ends), a failed write remembered, 6 ``/healthz`` at once, then
``/api/session``. On the old code 4 checks hung at once and every request timed out."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import station.store.space as space
from station.store.store import Store

from clinic_data import CHEAP_COST

TIMEOUT_S = 8.0
"""How long a request may go unanswered before the test calls the station unresponsive (not a speed
figure: on the old code the requests were never answered while the card hung)."""


@pytest.fixture
def hung_card(monkeypatch):
    """The check write hangs (until the test ends): ``{"in_flight", "most_at_once", "calls"}``."""
    state = {"in_flight": 0, "most_at_once": 0, "calls": 0}
    lock, mended = threading.Lock(), threading.Event()

    def storage_writes(data_dir):
        with lock:
            state["calls"] += 1
            state["in_flight"] += 1
            state["most_at_once"] = max(state["most_at_once"], state["in_flight"])
        mended.wait(3 * TIMEOUT_S)  # fsync on a hung card
        with lock:
            state["in_flight"] -= 1
        return "Input/output error"

    monkeypatch.setattr(space, "storage_writes", storage_writes)
    yield state
    mended.set()


@pytest.fixture
def server(tmp_path, station_data_dir):
    """A waitress server of 4 threads (X3's reproduction) on a station's app and store."""
    from waitress.server import create_server

    from web import create_app

    store = Store.open_service(station_data_dir(tmp_path / "data"), password_cost=CHEAP_COST)
    app = create_app({"DATA_DIR": str(store.data_dir), "STORE": store, "PASSWORD_COST": CHEAP_COST, "TESTING": True})
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = create_server(app, sockets=[sock], threads=4)
    closing = threading.Event()

    def run():
        try:
            srv.run()
        except OSError:
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield store, sock.getsockname()[1]
    finally:
        closing.set()
        srv.close()
        thread.join(5)
        store.close()


def _get(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_a_hung_card_after_a_failed_write_holds_no_web_thread(server, hung_card):
    store, port = server
    store.space.storage_failed()  # a write failed with an I/O error (the database's hook)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: _get(port, "/healthz"), range(6)))  # (old code: timed out)
    assert hung_card["most_at_once"] == 1, hung_card  # one check at a time (old code: 4, one per thread)
    for status, doc in answers:
        assert status == 503 and doc["storage"]["state"] == "failed", doc  # (503: no acquisition in this test)
        assert doc["storage"]["message"].startswith("the station's storage failed to write"), doc
        assert space.STORAGE_WHAT_TO_DO in doc["storage"]["message"]
    status, _doc = _get(port, "/api/session")  # the station still answers everything else
    assert status in (200, 401)
    for _ in range(3):  # later readings: still the one check, still answered
        assert _get(port, "/healthz")[1]["storage"]["state"] == "failed"
    assert hung_card["calls"] == 1 and hung_card["most_at_once"] == 1, hung_card


def test_an_idle_check_not_answered_reads_failed_after_storage_hung_s_and_ok_once_it_writes(tmp_path, monkeypatch):
    """The idle check (no write failed before it) on a card that hangs: the reading waits for it at most
    CHECK_WAIT_S and says nothing yet (an fsync may take a while); not answered for STORAGE_HUNG_S, the
    state is ``failed``, saying how long; answered, it is over. One check all along."""
    answer, calls = threading.Event(), []

    def storage_writes(data_dir):
        calls.append(data_dir)
        answer.wait(3 * TIMEOUT_S)
        return ""

    monkeypatch.setattr(space, "storage_writes", storage_writes)
    now = [100.0]
    monitor = space.SpaceMonitor(tmp_path, reserve_bytes=0, low_bytes=0, clock=lambda: now[0])
    monitor.watch_idle(lambda: None)
    try:
        now[0] += space.IDLE_CHECK_S + 1
        assert monitor.status()["state"] == "ok" and len(calls) == 1  # under way, not (yet) a failure
        now[0] += space.STORAGE_HUNG_S
        doc = monitor.status()
        assert doc["state"] == "failed" and len(calls) == 1, doc  # (old code: the first reading hung with it)
        assert doc["message"] == ("the station's storage has not answered for 10 s (checking that it still writes): "
                                  f"trials cannot be recorded; {space.STORAGE_WHAT_TO_DO}")
    finally:
        answer.set()
    for _ in range(100):  # the check's thread ends
        if monitor._check is None:
            break
        threading.Event().wait(0.05)
    now[0] += space.STATUS_CACHE_S
    assert monitor.status()["state"] == "ok" and len(calls) == 1


def test_a_check_whose_thread_cannot_start_is_not_read_as_a_card_not_answering(tmp_path, monkeypatch):
    """X5's review (session 26, L2): the check under way was set before its thread started, so a thread that
    could not start (the process at its thread limit: RuntimeError "can't start new thread") left it set for
    good, and after STORAGE_HUNG_S the storage read "has not answered" until a restart, with no check ever
    made. Now no check is under way then, and the next reading starts one."""
    calls = []
    monkeypatch.setattr(space, "storage_writes", lambda data_dir: calls.append(data_dir) or "")
    now = [100.0]
    monitor = space.SpaceMonitor(tmp_path, reserve_bytes=0, low_bytes=0, clock=lambda: now[0])
    monitor.watch_idle(lambda: None)
    real_start = threading.Thread.start

    def cannot_start(thread):
        if thread.name == "storage-check":
            raise RuntimeError("can't start new thread")
        return real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", cannot_start)
    now[0] += space.IDLE_CHECK_S + 1
    assert monitor.status()["state"] == "ok" and calls == []  # no check made, none said to be under way
    now[0] += space.STORAGE_HUNG_S + space.STATUS_CACHE_S
    assert monitor.status()["state"] == "ok", monitor.status()  # (old code: "failed", not answered for 10 s)
    monkeypatch.setattr(threading.Thread, "start", real_start)
    now[0] += space.IDLE_CHECK_S + 1
    monitor.status()
    for _ in range(100):  # the check's thread ends
        if monitor._check is None and calls:
            break
        threading.Event().wait(0.05)
    assert len(calls) == 1  # the next idle reading made its check
