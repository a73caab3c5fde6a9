"""A login session's last activity, refreshed while another program holds the station database's write
lock (an administrator's ``sync --resend``, ``users``, ``export``): the request goes on, the refresh is
left for a later request (station.station_store.logins, "A busy database"). The old refresh waited SQLite's busy
timeout holding the process's write lock and then raised "database is locked": the request failed (a
Stop pressed then was not carried out) and the live view's stream, which refreshes it while a trial runs,
broke off, so the page never heard that the trial was being saved (the e2e test_trial_saving_live).

The busy timeout is lowered to 200 ms (it is 5 s: conftest's station_store) so that the old code fails quickly."""

from __future__ import annotations

from station.store.audit import Actor
from station.store.logins import ENDED_INACTIVE, touch_interval_s

ADMIN = Actor(user_id=None, username="admin")
TIMEOUT_S = 15 * 60.0


def last_seen(store, user_id: int) -> float:
    with store.db.read() as conn:
        return conn.execute("SELECT last_seen_s FROM login_sessions WHERE user_id = ?", (user_id,)).fetchone()[0]


def test_a_sessions_refresh_under_another_programs_lock_is_left_for_later(station_store, wall, other_program):
    ana = station_store.users.create("ana", "correct horse battery", "clinician", actor=ADMIN)
    token, _csrf = station_store.logins.create(ana["id"], None)
    signed_in_s = last_seen(station_store, ana["id"])
    wall.advance(touch_interval_s(TIMEOUT_S) + 5)  # a refresh is due
    other_program.execute("BEGIN IMMEDIATE")
    session = station_store.logins.resolve_or_ended(token, TIMEOUT_S)  # a user's request (Stop), the live stream's check
    assert session.username == "ana" and session.last_seen_s == signed_in_s  # signed in; not refreshed
    other_program.execute("COMMIT")
    assert last_seen(station_store, ana["id"]) == signed_in_s
    session = station_store.logins.resolve_or_ended(token, TIMEOUT_S)  # the next request refreshes it
    assert session.last_seen_s == wall() == last_seen(station_store, ana["id"])


def test_a_session_found_ended_under_another_programs_lock_is_ended_all_the_same(station_store, wall, other_program):
    ana = station_store.users.create("ana", "correct horse battery", "clinician", actor=ADMIN)
    token, _csrf = station_store.logins.create(ana["id"], None)
    wall.advance(TIMEOUT_S + 1)
    other_program.execute("BEGIN IMMEDIATE")
    assert station_store.logins.resolve_or_ended(token, TIMEOUT_S) == ENDED_INACTIVE
    other_program.execute("COMMIT")
    assert station_store.logins.resolve_or_ended(token, TIMEOUT_S) == ENDED_INACTIVE  # deleted now
    with station_store.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM login_sessions").fetchone()[0] == 0
