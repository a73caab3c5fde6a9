"""Signing out on a station whose SD card fails to write (EIO) or is full: the browser is signed out
whatever the store says, and told what was not recorded (X1 finding F3, session 25: the sign-out
answered 507 and kept the cookie, so the next person at a shared tablet was signed in as the
clinician until the inactivity timeout)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from station.store.logins import touch_interval_s

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/failing_card.py
from failing_card import GatedCard, failing_card  # noqa: E402

BACKENDS = ("sqlite",)  # the failing card is SQLite's writer connection (tests/failing_card.py)

FAULTS = {"eio": "disk I/O error", "full": "database or disk is full"}


def _fail(store, monkeypatch, fault: str) -> None:
    card = failing_card(store, monkeypatch)
    if fault == "eio":
        card.failing = True
    else:
        gated = GatedCard(card.conn)
        gated.error = FAULTS[fault]
        monkeypatch.setattr(store.db, "_writer", gated)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("touch_due", [False, True], ids=["touched-recently", "touch-due"])
def test_the_api_sign_out_signs_the_browser_out_on_a_failing_card(app, store, clinician, monkeypatch, wall, fault,
                                                                  touch_due):
    if touch_due:  # the session's last activity would be written before the view runs: that write fails too
        wall.advance(touch_interval_s(15 * 60) + 1)
    copied = clinician.client.get_cookie("station_session").value  # a copy of the cookie, taken before
    _fail(store, monkeypatch, fault)
    response = clinician.post("/api/logout")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["signed_out"] is True and response.json["recorded"] is False
    assert response.json["message"].startswith("you are signed out on this browser; the station could not record")
    monkeypatch.undo()  # the card mended: the browser is still signed out
    session = clinician.get("/api/session").json
    assert session["authenticated"] is False and session["expired"] is False
    assert clinician.get("/api/patients").status_code == 401
    replay = app.test_client()  # the copy signs in no more either, though the database still holds the session
    replay.set_cookie("station_session", copied)
    assert replay.get("/api/patients").status_code == 401
    assert replay.get("/api/session").json["authenticated"] is False


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_sign_out_button_signs_the_browser_out_on_a_failing_card_and_says_so(app, store, clinician, monkeypatch,
                                                                                 fault):
    _fail(store, monkeypatch, fault)
    response = clinician.client.post("/logout", data={"csrf_token": clinician.csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login?signed_out=unrecorded"
    page = clinician.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are signed out on this browser; the station could not record the sign-out" in page
    monkeypatch.undo()
    assert clinician.get("/api/session").json["authenticated"] is False
    assert clinician.get("/patients").status_code == 302  # to sign in


def test_a_sign_out_the_store_takes_is_recorded_as_before(app, store, clinician):
    assert clinician.post("/api/logout").status_code == 204
    assert store.audit.query(action="user.logout")[0]["username"] == "ana"
    assert clinician.get("/api/session").json["authenticated"] is False
