"""A sign-in with the old password, checked while the password is changed, opens no session (s28 X7).

A password change ends every login session of the account. A sign-in whose scrypt check of the old
password was under way at that moment (up to a second on a Pi) opened its session after that end:
against the running station, a thief signing in again and again with a stolen password (2 threads)
kept 2 of its 8 sessions through the clinician's change of password, and read the patient list with
them. Now the session is opened only while the password checked is still the account's
(station.store.logins.LoginSessions.create), and a rehash of the old password (a cost upgrade) does
not put it back over the new one.
"""

from __future__ import annotations

import pytest

import station.store.users as users_module
from station.store.audit import Actor
from station.store.passwords import ScryptCost, hash_password, verify_password
from web_support import CLINICIAN_PW, ApiClient

BACKENDS = ("sqlite", "postgresql")
NEW_PW = "a brand new pass phrase 9"


@pytest.fixture
def change_while_checking(monkeypatch, store, accounts):
    """The next check of ana's old password is followed, before the sign-in goes on, by a change of
    her password (the administrator's reset, or her own change from the tablet)."""
    pending = [True]

    def verify_then_change(password, stored):
        ok = verify_password(password, stored)
        if ok and password == CLINICIAN_PW and pending:
            pending.clear()
            store.users.update(accounts["ana"]["id"], actor=Actor(None, "cli:test"), password=NEW_PW)
        return ok

    monkeypatch.setattr(users_module, "verify_password", verify_then_change)
    return pending


def test_a_sign_in_checked_during_a_password_change_opens_no_session(app, store, change_while_checking):
    thief = ApiClient(app.test_client())
    r = thief.login("ana", CLINICIAN_PW)
    assert not change_while_checking  # the change did happen during this sign-in
    assert r.status_code == 401, r.json  # was 200, and the session stayed signed in after the change
    assert r.json["error"] == "wrong user name or password, or the account is disabled"
    assert thief.get("/api/session").json["authenticated"] is False
    assert thief.get("/api/patients").status_code == 401
    failed = store.audit.query(action="user.login_failed")
    assert failed[0]["detail"] == {"reason": "password changed or account disabled while it was checked"}
    assert ApiClient(app.test_client()).login("ana", NEW_PW).status_code == 200


def test_a_rehash_of_the_old_password_does_not_undo_the_change(app, store, accounts, change_while_checking):
    """A hash of a cheaper cost is rehashed at sign-in; written after a change, it restored the old password."""
    cheaper = hash_password(CLINICIAN_PW, ScryptCost(4, 1, 1))
    with store.db.write() as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (cheaper, accounts["ana"]["id"]))
    assert ApiClient(app.test_client()).login("ana", CLINICIAN_PW).status_code == 401
    assert store.users.authenticate("ana", NEW_PW) is not None
    assert store.users.authenticate("ana", CLINICIAN_PW) is None


def test_a_sign_in_that_rehashes_to_a_higher_cost_opens_its_session(app, store, accounts):
    """The session is opened against the hash the sign-in itself stored (no change meanwhile)."""
    cheaper = hash_password(CLINICIAN_PW, ScryptCost(4, 1, 1))
    with store.db.write() as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (cheaper, accounts["ana"]["id"]))
    client = ApiClient(app.test_client())
    assert client.login("ana", CLINICIAN_PW).status_code == 200
    assert client.get("/api/patients").status_code == 200
    with store.db.read() as conn:
        assert conn.execute("SELECT password_hash FROM users WHERE id = ?", (accounts["ana"]["id"],)).fetchone()[0] != cheaper
