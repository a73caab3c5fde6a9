"""A sign-in flood holds a few web threads, not every one, and the tablets still sign in (s28 X7).

Each sign-in waited for a password-hashing slot (2 at once) for up to 5 s, holding one of the web
server's 32 threads all the while: a flood from many addresses (each under its own sign-in limit)
kept every thread waiting there, and a signed-in clinician's ``GET /api/patients`` took 1.1 to
4.5 s instead of 0.01 s against the running station (40 connections). Now at most
``HASHING_WAITERS`` requests wait (one more is refused ``503`` at once), and a sign-in from an address
the account signed in from has places of its own (``PRIORITY_WAITERS``).
"""

from __future__ import annotations

import threading
import time

import station.store.passwords as passwords
from web_support import CLINICIAN_PW, ApiClient

WAITERS = getattr(passwords, "HASHING_WAITERS", 4)  # (so that the test runs on the code before it too)


def _sign_in(app, address: str, username: str, password: str, out: dict, name: str) -> None:
    client = ApiClient(app.test_client())
    client.client.environ_base["REMOTE_ADDR"] = address
    response = client.login(username, password)
    out[name] = (response.status_code, response.json)


def _until(condition, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and not condition():
        time.sleep(0.01)


def test_a_full_waiting_room_refuses_at_once_and_keeps_places_for_the_tablet(app, accounts, monkeypatch):
    tablet = "10.0.0.5"
    first = ApiClient(app.test_client())
    first.client.environ_base["REMOTE_ADDR"] = tablet
    assert first.login("ana", CLINICIAN_PW).status_code == 200  # the tablet is known to ana's account
    gate = passwords.HashingGate(slots=1, wait_s=60)
    monkeypatch.setattr(passwords, "GATE", gate)
    out: dict = {}
    threads = []

    def start(name: str, *args) -> threading.Thread:
        thread = threading.Thread(target=_sign_in, args=(app, *args, out, name), daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    gate.__enter__()  # the one slot busy, as under a flood
    try:
        for i in range(WAITERS):  # strangers from addresses of their own fill the waiting room
            start(f"stranger{i}", f"10.66.0.{i + 1}", f"nobody{i}", "guess guess guess")
        _until(lambda: getattr(gate, "waiting", 0) == WAITERS)
        one_more = start("one more", "10.66.1.1", "nobody", "guess guess guess")
        one_more.join(10)  # refused at once; it waited for the slot (up to 60 s) before
        assert not one_more.is_alive() and out["one more"][0] == 503
        assert out["one more"][1]["error"] == "the station is busy checking other passwords; try again in a few seconds"
        start("tablet", tablet, "ana", CLINICIAN_PW)  # waits in a place of its own
        _until(lambda: getattr(gate, "waiting", 0) == WAITERS + 1)
        assert "tablet" not in out
    finally:
        gate.__exit__()
    for thread in threads:
        thread.join(30)
    assert out["tablet"][0] == 200
    assert sorted(out[f"stranger{i}"][0] for i in range(WAITERS)) == [401] * WAITERS
