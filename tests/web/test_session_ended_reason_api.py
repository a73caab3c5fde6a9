"""A login session ended on purpose elsewhere says why, on the API and on the sign-in page (s28 X9).

Before: a page other than the live view whose session was ended by "Sign out everywhere else" in another
session, by a change of the user's password (by the user elsewhere or by an administrator) or by an
administrator disabling the account got ``401`` "your session expired after inactivity" and its sign-in
page said "Your session ended after inactivity": the store had deleted the session and nothing said why.
Now the ending operation keeps why (in the database, by the token's SHA-256, so also when a
command-line change or a restart came between: :mod:`station.store.logins`), and the API answers
``{"expired": false, "ended": why}``, a page goes to ``/login?signed_out=<others|password|disabled>``,
whose words say it. Since s32 a sign-out is kept too (``signed_out_tab``, ``/login?signed_out=tab``): the
browser's other tabs share its cookie.
"""

from __future__ import annotations

import hashlib
import html

import pytest

from station.store.audit import Actor
from station.store.logins import ENDED_KEPT, ENDED_KEPT_S, ENDED_OTHERS, ENDED_UNKNOWN
from web_support import ADMIN_PW, CLINICIAN_PW, ApiClient, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``), but those
marked ``@sqlite_only``, which say why."""

OTHERS = ("You were signed out here by \u201cSign out everywhere else\u201d in another tab, window or device signed in "
          "as you; please sign in again (if that was not you, change your password on your account page).")
PASSWORD = ("You were signed out because your password was changed (by you on another device, or by an "
            "administrator); please sign in with the new password.")
DISABLED = ("You were signed out because an administrator disabled your account; ask an administrator if you need "
            "it again.")


def _api_words(page_words: str) -> str:
    return page_words[0].lower() + page_words[1:-1]


def _signed_in(app, username: str = "ana", password: str = CLINICIAN_PW) -> ApiClient:
    client = ApiClient(app.test_client())
    assert client.login(username, password).status_code == 200
    return client


def _end_by(how: str, app, accounts, admin, here: ApiClient) -> None:
    """End ``ana``'s other sessions the way ``how`` says, from ``here`` (another of ana's sessions) or the admin."""
    ana = accounts["ana"]["id"]
    if how == "signed_out_others":
        r = here.post("/api/account/sign-out-others")
        assert r.status_code == 200 and r.json["ended"] >= 1
    elif how == "own_password":
        r = here.post("/api/account/password", {"current_password": CLINICIAN_PW,
                                                 "new_password": "a new password 42"})
        assert r.status_code == 200, r.json
    elif how == "admin_password":
        assert admin.patch(f"/api/users/{ana}", {"password": "a new password 42"}).status_code == 200
    elif how == "disabled":
        assert admin.patch(f"/api/users/{ana}", {"disabled": True}).status_code == 200
    else:
        raise AssertionError(how)


CASES = {
    "signed_out_others": ("signed_out_others", "others", OTHERS),
    "own_password": ("password_changed", "password", PASSWORD),
    "admin_password": ("password_changed", "password", PASSWORD),
    "disabled": ("disabled", "disabled", DISABLED),
}


@pytest.mark.parametrize("how", CASES)
def test_an_api_call_of_a_session_ended_on_purpose_says_why(app, accounts, admin, how):
    ended, _param, words = CASES[how]
    gone = _signed_in(app)  # e.g. a tablet's page left open
    here = _signed_in(app)  # the same user on another device
    _end_by(how, app, accounts, admin, here)
    r = gone.get("/api/patients")
    assert r.status_code == 401
    assert r.json == {"error": _api_words(words), "expired": False, "ended": ended}
    assert "inactivity" not in r.json["error"]
    # said again to the same browser (its next request carries the cookie the first answer set: s32, CI's browser
    # test went to a sign-in page that said nothing when the page's next request was answered "not signed in")
    assert gone.get("/api/patients").json == {"error": _api_words(words), "expired": False, "ended": ended}
    if how in ("signed_out_others", "own_password"):
        assert here.get("/api/patients").status_code == 200  # the device that did it stays signed in
    else:  # an administrator's change ends every session of the account
        assert here.get("/api/patients").json["ended"] == ended


@sqlite_only("the page's redirect and the sign-in page's words are made in Python around the same store calls as the "
             "API test above, which runs on the hub")
@pytest.mark.parametrize("how", CASES)
def test_a_page_of_a_session_ended_on_purpose_goes_to_a_sign_in_page_that_says_why(app, accounts, admin, how):
    _ended, param, words = CASES[how]
    gone = _signed_in(app)
    here = _signed_in(app)
    _end_by(how, app, accounts, admin, here)
    r = gone.get("/account")
    assert r.status_code == 302 and r.headers["Location"] == f"/login?next=/account&signed_out={param}"
    page = html.unescape(gone.get(r.headers["Location"]).get_data(as_text=True))
    assert words in page
    assert "inactivity" not in page


@sqlite_only("the reasons are kept by the store's SQL, the same on the hub")
def test_an_inactive_session_is_said_as_before(app, accounts, wall):
    idle = _signed_in(app)
    wall.advance(16 * 60)  # past the 15-min timeout
    r = idle.get("/api/patients")
    assert r.status_code == 401 and r.json["expired"] is True and "ended" not in r.json
    assert "inactivity" in r.json["error"]


TAB = "You were signed out in another tab or window of this browser; please sign in again."


def test_a_request_with_the_cookie_of_a_session_signed_out_says_it_was_signed_out_in_another_tab(app, accounts):
    """s32: the browser's other tabs, and a page's requests under way as another tab signed out, carry the cookie
    the sign-out ended; they read "your session expired after inactivity" (a live view in CI's browser test went to
    the inactivity sign-in page). The sign-out is kept like the other reasons (migration 20)."""
    out = _signed_in(app)
    cookie = out.client.get_cookie("station_session").value
    other_tab = app.test_client()
    other_tab.set_cookie("station_session", cookie)  # the same browser's other tab (or a copy of the cookie)
    assert out.post("/api/logout").status_code == 204
    r = other_tab.get("/api/patients")
    assert r.status_code == 401
    assert r.json == {"error": _api_words(TAB), "expired": False, "ended": "signed_out_tab"}
    page = other_tab.get("/account")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/account&signed_out=tab"
    assert TAB in html.unescape(other_tab.get(page.headers["Location"]).get_data(as_text=True))
    assert out.get("/api/patients").json.get("ended") is None  # the browser that signed out: its cookie was cleared


def test_the_tab_that_signed_out_is_never_told_it_was_signed_out_in_another_tab(app, accounts, wall):
    """Why the sign-out clears the cookie rather than keeping the ended token in it (s33, web.auth._sign_out): a
    browser's tabs share one cookie, so the station cannot tell the tab that signed out from the others. Kept, the
    token made every later page of the tab that signed out (Back, a bookmark, the next person at a shared tablet)
    say "You were signed out in another tab or window of this browser", and, once the reason is forgotten (12 h),
    "Your session ended after inactivity" (both seen with the token kept, SQLite). Its sign-in pages say nothing;
    signing in again works."""
    out = _signed_in(app)
    r = out.post("/logout", data={"csrf_token": out.csrf})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert "signed out" not in html.unescape(out.get("/login").get_data(as_text=True)).lower()
    for later_s in (0, 13 * 3600):  # at once (Back), and the next day (the reason no longer kept)
        wall.advance(later_s)
        page = out.get("/patients")
        assert page.status_code == 302 and page.headers["Location"] == "/login?next=/patients", later_s
        words = html.unescape(out.get(page.headers["Location"]).get_data(as_text=True))
        assert "another tab" not in words and "inactivity" not in words, later_s
        api = out.get("/api/patients")
        assert api.status_code == 401 and api.json == {"error": "not signed in; sign in with POST /api/login",
                                                       "expired": False}, later_s
    assert out.login("ana", CLINICIAN_PW).status_code == 200 and out.get("/api/patients").status_code == 200


def _kept(store) -> list[tuple[bytes, str]]:
    with store.db.read() as conn:
        return [(bytes(r["token_hash"]), r["why"]) for r in conn.execute(
            "SELECT token_hash, why FROM login_sessions_ended ORDER BY ended_s, token_hash")]


@sqlite_only("the same SQL on the hub (the command-line and restart tests below run on both)")
def test_the_reasons_kept_are_bounded_and_hold_no_token(app, store, accounts, wall):
    setup = Actor(None, "cli:test")
    user = store.users.create("bea", "bea password 12", "clinician", actor=setup)["id"]
    first = store.logins.create(user, None)[0]
    store.logins.end_others(user, None)
    assert store.logins.resolve_or_ended(first, 900.0) == ENDED_OTHERS
    assert _kept(store) == [(hashlib.sha256(first.encode()).digest(), ENDED_OTHERS)]  # its SHA-256 only
    for _ in range(ENDED_KEPT):
        wall.advance(1)
        store.logins.create(user, None)
        store.logins.end_others(user, None)
    assert len(_kept(store)) == ENDED_KEPT
    assert store.logins.resolve_or_ended(first, 900.0) == ENDED_UNKNOWN  # the oldest forgotten first
    last = store.logins.create(user, None)[0]
    store.logins.end_others(user, None)
    wall.advance(ENDED_KEPT_S + 1)
    assert store.logins.resolve_or_ended(last, 900.0) == ENDED_UNKNOWN  # past a session's longest life: not said
    store.logins.purge_expired(900.0)
    assert _kept(store) == []  # and purged


@pytest.mark.parametrize("how", ["disable", "password"])
def test_an_account_changed_on_the_command_line_says_why_at_its_pages(app, store, accounts, backend, how, capsys,
                                                                      monkeypatch, tmp_path, request):
    """`balance-station users disable NAME` / `users password NAME` run in another process than the web
    server's: before, the reason lived in the web process's memory only (s28 X9), and the page read
    "expired after inactivity". Now the database keeps it."""
    import io

    from station.cli import main

    gone = _signed_in(app)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    monkeypatch.setattr("sys.stdin", io.StringIO("a new password 42\n"))
    where = (["--database", request.getfixturevalue("pg_url")] if backend == "postgresql"
             else ["--data-dir", str(tmp_path / "data")])
    assert main(["users", how, "ana", *where]) == 0
    capsys.readouterr()
    ended = {"disable": "disabled", "password": "password_changed"}[how]
    words = {"disable": DISABLED, "password": PASSWORD}[how]
    r = gone.get("/api/patients")
    assert r.status_code == 401
    assert r.json == {"error": _api_words(words), "expired": False, "ended": ended}


def test_a_session_ended_before_a_restart_says_why_after_it(app, store, accounts, admin, backend, wall, tmp_path,
                                                            request):
    """The station restarted (a new web process) between the change and the page's next request."""
    from station.store.store import Store
    from web import create_app

    from web_support import clinic_data

    gone = _signed_in(app)
    cookie = gone.client.get_cookie("station_session").value
    _end_by("admin_password", app, accounts, admin, None)
    store.close()  # the web process stops
    config = {"DATA_DIR": str(tmp_path / "data"), "PASSWORD_COST": clinic_data.CHEAP_COST, "WALL_CLOCK": wall,
              "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"]}
    if backend == "postgresql":
        config["STORE"] = Store.open_service(tmp_path / "data", wall_clock=wall, password_cost=clinic_data.CHEAP_COST,
                                             database=request.getfixturevalue("pg_url"))
        config["HUB"] = True
    again = create_app(config)  # and starts again
    app.extensions["station_store"] = again.extensions["station_store"]  # the fixture closes this one
    after = again.test_client()
    after.set_cookie("station_session", cookie)
    r = after.get("/api/patients")
    assert r.status_code == 401
    assert r.json == {"error": _api_words(PASSWORD), "expired": False, "ended": "password_changed"}


def test_an_administrator_signed_out_everywhere_else_is_said_so_too(app, accounts):
    """Any role: the admin's own other session."""
    gone = _signed_in(app, "root", ADMIN_PW)
    here = _signed_in(app, "root", ADMIN_PW)
    assert here.post("/api/account/sign-out-others").json["ended"] == 1
    assert gone.get("/api/users").json["ended"] == "signed_out_others"
