"""A login session's absolute lifetime (12 h from its sign-in, however busy) and "Sign out everywhere else"
on the account page (s28 X7's L2 and L5).

Before: a session ended after 15 min without activity and never while it was used, so a stolen cookie
kept busy (or a tablet page a script keeps touching) lived for ever; a user's other sessions ended
only by a password change or by the inactivity timeout.
"""

from __future__ import annotations

import re

from web_support import CLINICIAN_PW, ApiClient, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``), but those
marked ``@sqlite_only``, which say why."""

MAX_AGE_S = 12 * 3600.0
"""A clinic's working day (station.store.logins.MAX_AGE_S)."""
MAX_AGE_WORDS = ("your session ended 12 hours after you signed in (a sign-in lasts 12 hours at most, even while "
                 "in use)")


def _busy(client: ApiClient, wall, seconds: float, every_s: float = 10 * 60) -> None:
    """Use the session every ``every_s`` (less than the inactivity timeout) for ``seconds``, and at their end."""
    end = wall() + seconds
    while wall() < end:
        wall.advance(min(every_s, end - wall()))
        assert client.get("/api/patients").status_code == 200


def test_a_busy_session_ends_12_hours_after_its_sign_in(app, clinician, wall):
    _busy(clinician, wall, MAX_AGE_S - 60)  # used every 10 min for a working day: never inactive
    assert clinician.get("/api/patients").status_code == 200
    wall.advance(61)  # 12 h and 1 s after the sign-in
    r = clinician.get("/api/patients")
    assert r.status_code == 401 and r.json["expired"] is True and r.json["ended"] == "max_age"
    assert r.json["error"] == MAX_AGE_WORDS + "; sign in again"
    assert clinician.get("/api/session").json["authenticated"] is False  # ended: the next request is not it
    assert clinician.get("/api/patients").json["ended"] == "max_age"  # said to each request of it, not only once
    assert clinician.login("ana", CLINICIAN_PW).status_code == 200  # until this browser signs in again
    assert clinician.get("/api/patients").status_code == 200
    fresh = ApiClient(app.test_client())
    assert fresh.login("ana", CLINICIAN_PW).status_code == 200  # signing in again starts a new day
    assert fresh.get("/api/patients").status_code == 200


def test_every_request_that_meets_the_12_hour_end_says_so_not_only_the_first(app, clinician, wall):
    """A page's requests in flight together (and its other tabs) carry the same cookie. The first to arrive
    ended the session and said "12 hours"; the next read "expired after inactivity", and the live stream's
    check "signed out in another tab" (s31: CI's browser test of these words went to the inactivity sign-in
    page when the page's own two requests raced). Each says why, and so does the browser's next request, sent with the cookie the first
    answer set (s32: that cookie had dropped the session, so the next request was plainly "not signed in" and the
    page went to a sign-in page that said nothing)."""
    _busy(clinician, wall, MAX_AGE_S - 60)
    cookie = clinician.client.get_cookie("station_session").value
    in_flight = [app.test_client() for _ in range(2)]
    for client in in_flight:
        client.set_cookie("station_session", cookie)
    wall.advance(61)
    r = clinician.get("/api/patients")
    assert r.status_code == 401 and r.json["ended"] == "max_age"
    r = in_flight[0].get("/api/patients")
    assert r.status_code == 401 and r.json["ended"] == "max_age" and r.json["error"] == MAX_AGE_WORDS + "; sign in again"
    page = in_flight[1].get("/account")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/account&expired=age"
    again = clinician.get("/api/patients")  # sent with the cookie the first answer set: it still names the session
    assert again.status_code == 401 and again.json["ended"] == "max_age"


@sqlite_only("the page and its redirect are made in Python around the same store calls as the API test above, "
             "which runs on the hub")
def test_a_page_of_a_session_past_its_lifetime_goes_to_a_sign_in_page_that_says_why(app, clinician, wall):
    _busy(clinician, wall, MAX_AGE_S)
    wall.advance(10 * 60)
    r = clinician.get("/account")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/account&expired=age"
    text = clinician.get(r.headers["Location"]).get_data(as_text=True)
    assert "Your session ended 12 hours after you signed in (a sign-in lasts 12 hours at most, even while in use); " \
           "please sign in again." in text
    assert "inactivity" not in text


@sqlite_only("an inactive session's reason is chosen in the store's Python, the same code on the hub")
def test_an_idle_session_past_its_lifetime_is_said_to_have_ended_after_inactivity(app, clinician, wall):
    _busy(clinician, wall, MAX_AGE_S - 10 * 60)
    wall.advance(20 * 60)  # left 20 min, now 12 h 10 min after the sign-in
    r = clinician.get("/api/patients")
    assert r.status_code == 401 and r.json["expired"] is True and "ended" not in r.json
    assert "inactivity" in r.json["error"]


def test_the_clock_stepped_by_ntp_neither_ends_every_session_nor_lengthens_one(app, accounts, clinician, wall):
    """NTP stepping the Pi's clock (no real-time clock): a step forward within the inactivity timeout ends
    no session that is not near its 12 h end (it shortens the lifetime by the step); a step back of more
    than 60 s ends the session as the clock set back (its last activity lies in the future), so no session
    outlives its 12 h by the step."""
    _busy(clinician, wall, 3600)
    wall.advance(10 * 60)  # forward 10 min
    assert clinician.get("/api/patients").status_code == 200
    wall.advance(-50)  # a small correction back: it goes on
    assert clinician.get("/api/patients").status_code == 200
    late = ApiClient(app.test_client())
    assert late.login("ana", CLINICIAN_PW).status_code == 200
    _busy(late, wall, MAX_AGE_S - 5 * 60)  # (the first one ends meanwhile: 12 h after its own sign-in)
    wall.advance(-2 * 3600)  # back 2 h at 11 h 55 min: it would have lived 2 h more
    r = late.get("/api/patients")
    assert r.status_code == 401 and r.json["ended"] == "clock_set_back"


# -- sign out everywhere else -----------------------------------------------------------------------------


def _form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_sign_out_everywhere_else_ends_the_other_sessions_of_this_user_only(app, store, accounts, clinician, admin):
    tablet = ApiClient(app.test_client())
    assert tablet.login("ana", CLINICIAN_PW).status_code == 200
    phone = ApiClient(app.test_client())
    assert phone.login("ana", CLINICIAN_PW).status_code == 200
    r = clinician.client.post("/api/account/sign-out-others")  # no CSRF token
    assert r.status_code == 403 and tablet.get("/api/patients").status_code == 200
    r = clinician.post("/api/account/sign-out-others")
    assert r.status_code == 200 and r.json["ended"] == 2
    assert r.json["message"] == "Signed out everywhere else: 2 other sign-ins were ended. You stay signed in here."
    for other in (tablet, phone):
        ended = other.get("/api/patients")
        assert ended.status_code == 401
    assert clinician.get("/api/patients").status_code == 200  # this one goes on
    assert admin.get("/api/patients").status_code == 200  # another user's too
    entry = store.audit.query(action="user.logout")[0]
    assert entry["username"] == "ana" and entry["detail"] == {"others": 2} and entry["patient_id"] is None
    again = clinician.post("/api/account/sign-out-others")
    assert again.json == {"ended": 0, "message": "You were signed in nowhere else: nothing was ended. "
                                                 "You stay signed in here."}
    assert ApiClient(app.test_client()).post("/api/account/sign-out-others").status_code in (401, 403)


@sqlite_only("the form around the same store calls as the API test above, which runs on the hub")
def test_the_account_page_signs_out_everywhere_else(app, accounts, clinician):
    other = ApiClient(app.test_client())
    assert other.login("ana", CLINICIAN_PW).status_code == 200
    page = clinician.get("/account").get_data(as_text=True)
    assert "Sign out everywhere else" in page and 'action="/account/sign-out-others"' in page
    assert "12 hours" in page and "after you signed in" in page
    refused = clinician.client.post("/account/sign-out-others", data={})
    assert refused.status_code == 403 and other.get("/api/patients").status_code == 200
    r = clinician.client.post("/account/sign-out-others", data={"csrf_token": _form_csrf(page)})
    assert r.status_code == 200
    assert "Signed out everywhere else: 1 other sign-in was ended. You stay signed in here." in r.get_data(as_text=True)
    assert other.get("/api/patients").status_code == 401
    assert clinician.get("/account").status_code == 200


def test_the_time_left_to_the_12_hour_end_is_told_on_the_wall_clock_the_end_is_judged_on(app, clinician, wall):
    """GET /api/session/remaining gives ``ends_in_s`` as well as the inactivity's ``expires_in_s`` (s28 X9: the
    header's notice said only the inactivity, and the 12-hour end came unannounced); a clock set back a little
    lengthens it by the step, as it does the session, a step forward shortens it, and it does not count as use."""
    remaining = lambda: clinician.get("/api/session/remaining", headers={"X-Station-Background": "1"}).json  # noqa: E731
    first = remaining()
    assert first["ends_in_s"] == MAX_AGE_S and first["max_age_h"] == 12
    _busy(clinician, wall, MAX_AGE_S - 10 * 60)  # used all day: 10 min left
    assert remaining()["ends_in_s"] == 600
    wall.advance(-30)  # NTP steps the clock back 30 s: the session lasts 30 s longer, and is said to
    assert remaining()["ends_in_s"] == 630
    wall.advance(90)  # then forward 90 s
    assert remaining()["ends_in_s"] == 540
    wall.advance(540 + 1)
    r = clinician.get("/api/session/remaining", headers={"X-Station-Background": "1"})
    assert r.status_code == 401 and r.json["ended"] == "max_age"
