"""Setup, sign-in and sign-out, rate limits, session cookies and expiry, security headers."""

from __future__ import annotations

import logging
import re

import pytest

from station.store.audit import Actor
from web_support import ADMIN_PW, CLINICIAN_PW, ApiClient, fingerprint, hub_sample, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
those marked ``@sqlite_only`` say why they run on SQLite only, and a ``@hub_sample`` matrix runs
every case on SQLite and a sample on the hub (the rule: tests/conftest.py)."""
SAME_SIGN_IN = ("the page, redirect or header is made in Python around the same sign-in calls that "
                "test_login_api_returns_csrf_and_session_cookie_flags and the rate-limit tests make on the hub")


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# -- first-run setup -------------------------------------------------------------------------------


def test_no_default_credentials_and_pages_lead_to_setup(app, store):
    client = ApiClient(app.test_client())
    for name, pw in (("admin", "admin"), ("admin", "password"), ("root", "root"), ("pi", "raspberry")):
        assert client.login(name, pw).status_code == 401
    assert store.users.count() == 0
    assert client.get("/login").headers["Location"] == "/setup"
    assert client.get("/account").headers["Location"] == "/setup"
    session = client.get("/api/session").json
    assert session["authenticated"] is False and session["setup_required"] is True


def test_setup_page_creates_the_admin_and_signs_in(app, store):
    client = app.test_client()
    page = client.get("/setup")
    assert page.status_code == 200 and b"There are no default credentials" in page.data
    token = form_csrf(page.get_data(as_text=True))
    bad = client.post("/setup", data={"csrf_token": token, "username": "boss", "password": "short", "password_repeat": "short"})
    assert bad.status_code == 422 and b"at least 10 characters" in bad.data and store.users.count() == 0
    differ = client.post("/setup", data={"csrf_token": token, "username": "boss", "password": "long enough 1", "password_repeat": "long enough 2"})
    assert differ.status_code == 422 and store.users.count() == 0
    ok = client.post("/setup", data={"csrf_token": token, "username": "boss", "password": "long enough 1", "password_repeat": "long enough 1"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"  # the dashboard
    assert store.users.list()[0]["role"] == "admin"
    assert client.get("/account").status_code == 200
    assert client.get("/setup").headers["Location"] == "/login"


def test_setup_api(app, store):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    r = client.post("/api/setup", {"username": "boss", "password": "short"})
    assert r.status_code == 422 and "password" in r.json["fields"] and store.users.count() == 0
    r = client.post("/api/setup", {"username": "boss", "password": "long enough 1"})
    assert r.status_code == 201 and r.json["user"]["role"] == "admin"
    client.csrf = r.json["csrf_token"]
    assert client.get("/api/users").status_code == 200
    assert store.audit.query(action="user.create")[0]["detail"] == {"first_run": True, "role": "admin"}


# -- sign in / out -------------------------------------------------------------------------------


def test_login_api_returns_csrf_and_session_cookie_flags(app, accounts):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    anon_token = client.csrf
    r = client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 200
    assert r.json["user"] == {"id": accounts["ana"]["id"], "username": "ana", "role": "clinician"}
    assert r.json["csrf_token"] and r.json["csrf_token"] != anon_token
    assert r.json["session_timeout_min"] == 15.0
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = client.get("/api/session").json
    assert session["authenticated"] is True and session["csrf_token"] == r.json["csrf_token"]


def test_login_rotates_the_session(app, accounts):
    """The cookie issued before login (anonymous) is not the one used after: no fixation."""
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    before = client.client.get_cookie("station_session").value
    client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    after = client.client.get_cookie("station_session").value
    assert after != before
    stale = app.test_client()
    stale.set_cookie("station_session", before)
    assert stale.get("/api/patients").status_code == 401


LOGIN_REFUSALS = [
    ({"username": "ana", "password": "wrong password"}, 401),
    ({"username": "nobody", "password": CLINICIAN_PW}, 401),
    ({"username": "ana"}, 422),
    ({"username": 5, "password": "x"}, 422),
    ({"username": "ana", "password": "x" * 300}, 422),
    ({"username": "ana", "password": CLINICIAN_PW, "remember": True}, 422),
]


@hub_sample("body, status", LOGIN_REFUSALS, lambda case: case[1] == 401,
            ids=lambda case: f"{LOGIN_REFUSALS.index(case)}-{case[1]}",
            reason="the 422s are the body's checks in Python before the account is looked up")
def test_login_refusals(app, accounts, store, body, status):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    r = client.post("/api/login", body)
    assert r.status_code == status and r.json["error"]
    assert client.get("/api/patients").status_code == 401


def test_disabled_account_cannot_sign_in_and_is_signed_out(app, store, accounts, clinician, admin):
    r = admin.patch(f"/api/users/{accounts['ana']['id']}", {"disabled": True})
    assert r.status_code == 200 and r.json["disabled"] is True
    assert clinician.get("/api/patients").status_code == 401
    again = ApiClient(app.test_client())
    assert again.login("ana", CLINICIAN_PW).status_code == 401


def test_logout_ends_the_server_session(app, clinician):
    cookie = clinician.client.get_cookie("station_session").value
    assert clinician.post("/api/logout").status_code == 204
    assert clinician.get("/api/patients").status_code == 401
    replay = app.test_client()
    replay.set_cookie("station_session", cookie)  # a copied cookie is dead too
    assert replay.get("/api/patients").status_code == 401


@sqlite_only(SAME_SIGN_IN)
def test_login_and_logout_pages(app, accounts):
    client = app.test_client()
    page = client.get("/login?next=/api/patients")
    token = form_csrf(page.get_data(as_text=True))
    wrong = client.post("/login", data={"csrf_token": token, "username": "ana", "password": "nope nope nope", "next": "/api/patients"})
    assert wrong.status_code == 401 and b"Wrong user name or password" in wrong.data
    ok = client.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW, "next": "/api/patients"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/api/patients"
    account = client.get("/account").get_data(as_text=True)
    assert "Signed in as <strong>ana</strong>" in account
    out = client.post("/logout", data={"csrf_token": form_csrf(account)})
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


@sqlite_only(SAME_SIGN_IN)
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, accounts, target):
    client = app.test_client()
    token = form_csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW, "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"  # the dashboard, never the target


@sqlite_only(SAME_SIGN_IN)
def test_page_redirect_keeps_the_requested_path(app, accounts):
    r = app.test_client().get("/account?tab=password")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/account?tab%3Dpassword"


@pytest.mark.parametrize("cost", ["22$32$16", "20$8$16"])
def test_a_restored_hash_of_a_dearer_cost_asks_for_a_new_password(app, accounts, store, cost, monkeypatch, caplog):
    """A restored database planting ``scrypt$22$32$16$...`` made sign-in answer 500 (hashlib's
    "maxmem" ValueError); ``20$8$16`` cost 1 GiB and ~100 s per attempt. Neither is computed now
    (the hub's PostgreSQL store checks with the same parse), and the account's user is told why."""
    import station.store.passwords as passwords

    planted = f"scrypt${cost}$" + "A" * 22 + "$" + "A" * 43
    with store.db.write() as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (planted, "ana"))
    real = passwords._scrypt

    def bounded(password, salt, cost):
        assert passwords.cost_in_range(cost), "hashed with a cost out of range"
        return real(password, salt, cost)

    monkeypatch.setattr(passwords, "_scrypt", bounded)
    client = ApiClient(app.test_client())
    caplog.set_level(logging.INFO)
    r = client.login("ana", CLINICIAN_PW)
    # the person signing in reads what any failed sign-in says (before: words that told the account existed)
    unknown = ApiClient(app.test_client()).login("nobody", CLINICIAN_PW)
    assert r.status_code == unknown.status_code == 401 and r.json["error"] == unknown.json["error"]
    # the administrator reads in the log which account, and how to set its password
    [warning] = [rec for rec in caplog.records if rec.levelno == logging.WARNING and "password hash" in rec.getMessage()]
    assert warning.getMessage().startswith("sign-in refused for account ana: its stored password hash cannot be checked")
    assert "balance-station users password ana" in warning.getMessage() and CLINICIAN_PW not in caplog.text
    failed = store.audit.query(action="user.login_failed")
    assert sorted((e["username"], e["detail"] or {}) for e in failed) == [
        ("(unknown account)", {}), ("ana", {"reason": "stored password hash cannot be checked"})]
    page = app.test_client()
    token = form_csrf(page.get("/login").get_data(as_text=True))
    r = page.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 401 and b"administrator" not in r.data and b"Wrong user name or password" in r.data
    store.users.update(accounts["ana"]["id"], actor=Actor(None, "cli:test"), password="a brand new password")
    assert client.login("ana", "a brand new password").status_code == 200
    assert ApiClient(app.test_client()).login("ana", "wrong password").status_code == 401  # an ordinary failure


# -- rate limits ---------------------------------------------------------------------------------


def test_account_rate_limit_with_retry_after(app, accounts, store, wall):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    for _ in range(5):
        assert client.post("/api/login", {"username": "ana", "password": "wrong password"}).status_code == 401
    r = client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})  # even the right one
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "900" and r.json["retry_after_s"] == 900
    wall.advance(600)
    r = client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 429 and r.headers["Retry-After"] == "300"
    other = ApiClient(app.test_client())  # another account from the same address still works
    assert other.login("root", ADMIN_PW).status_code == 200
    wall.advance(301)
    assert client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW}).status_code == 200
    assert len(store.audit.query(action="user.login_failed")) == 5


def test_address_rate_limit_across_accounts(app, accounts, wall):
    def attempt(name, address="10.0.0.9", password="wrong password"):
        client = ApiClient(app.test_client())
        client.client.environ_base["REMOTE_ADDR"] = address
        return client.login(name, password)

    for i in range(20):
        assert attempt(f"guess{i}").status_code == 401
    r = attempt("ana", password=CLINICIAN_PW)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900
    assert attempt("ana", address="10.0.0.10", password=CLINICIAN_PW).status_code == 200


def test_login_page_is_rate_limited_too(app, accounts):
    client = app.test_client()
    token = form_csrf(client.get("/login").get_data(as_text=True))
    for _ in range(5):
        client.post("/login", data={"csrf_token": token, "username": "ana", "password": "wrong password"})
    r = client.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 429 and r.headers["Retry-After"] == "900" and b"Too many" in r.data


def test_a_lockout_lasts_its_window_whatever_the_wall_clock_does(app, accounts, wall, ticks):
    """The limits run on the monotonic clock: NTP stepping the Pi's wall clock back two days used to
    make the 15-min lockout last two days more (and a step forward ended it at once)."""
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    for _ in range(5):
        assert client.post("/api/login", {"username": "ana", "password": "wrong password"}).status_code == 401
    wall.advance(-2 * 86_400)
    r = client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    ticks.advance(600)
    wall.advance(4 * 86_400)
    r = client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 429 and r.headers["Retry-After"] == "300"
    ticks.advance(301)
    assert client.post("/api/login", {"username": "ana", "password": CLINICIAN_PW}).status_code == 200


# -- inactivity ----------------------------------------------------------------------------------


def test_a_session_ends_when_the_clock_is_set_back(app, accounts, clinician, wall):
    """A session last used while the clock ran ahead: NTP then set the clock back two days. Before,
    ``now - last_seen`` stayed negative and the session lived for two days and 15 min."""
    wall.advance(-30)  # a small correction: the session goes on
    assert clinician.get("/api/patients").status_code == 200
    wall.advance(-2 * 86_400)
    r = clinician.get("/api/patients")
    assert r.status_code == 401 and r.json["expired"] is True and r.json["ended"] == "clock_set_back"
    assert "clock was set back" in r.json["error"] and r.json["error"].endswith("sign in again")
    assert clinician.get("/api/session").json["authenticated"] is False
    page = ApiClient(app.test_client())
    assert page.login("ana", CLINICIAN_PW).status_code == 200
    wall.advance(-2 * 86_400)
    r = page.get("/account")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/account&expired=clock"
    text = page.get(r.headers["Location"]).get_data(as_text=True)
    assert "Your session ended because the station&#39;s clock was set back" in text and "sign in again" in text
    assert "inactivity" not in text




def test_inactivity_logout_follows_the_clinic_setting(app, admin, clinician, wall):
    assert admin.patch("/api/settings", {"session_timeout_min": 5}).status_code == 200
    wall.advance(4 * 60)
    assert clinician.get("/api/patients").status_code == 200  # activity resets the clock
    wall.advance(4 * 60)
    assert clinician.get("/api/patients").status_code == 200
    wall.advance(5 * 60 + 1)
    r = clinician.get("/api/patients")
    assert r.status_code == 401 and r.json["expired"] is True
    assert clinician.get("/api/session").json["authenticated"] is False


def test_background_polling_does_not_keep_a_session_alive(app, clinician, wall):
    for _ in range(8):
        wall.advance(2 * 60)
        r = clinician.get("/api/session", headers={"X-Station-Background": "1"})
    assert r.json["authenticated"] is False


# -- own password --------------------------------------------------------------------------------


def test_change_own_password_api(app, clinician, store):
    r = clinician.post("/api/account/password", {"current_password": "wrong one!!", "new_password": "n3w password!!"})
    assert r.status_code == 422 and "current_password" in r.json["fields"]
    r = clinician.post("/api/account/password", {"current_password": CLINICIAN_PW, "new_password": "short"})
    assert r.status_code == 422 and "password" in r.json["fields"]
    r = clinician.post("/api/account/password", {"current_password": CLINICIAN_PW, "new_password": "n3w password!!"})
    assert r.status_code == 200
    clinician.csrf = r.json["csrf_token"]
    assert clinician.get("/api/patients").status_code == 200  # this browser stays signed in
    assert ApiClient(app.test_client()).login("ana", CLINICIAN_PW).status_code == 401
    assert ApiClient(app.test_client()).login("ana", "n3w password!!").status_code == 200


@sqlite_only("the form around the same store calls as test_change_own_password_api, which runs on the hub")
def test_change_own_password_page(app, accounts):
    client = ApiClient(app.test_client())
    client.login("ana", CLINICIAN_PW)
    token = form_csrf(client.get("/account").get_data(as_text=True))
    differ = client.client.post("/account/password", data={"csrf_token": token, "current_password": CLINICIAN_PW, "new_password": "n3w password!!", "new_password_repeat": "other"})
    assert differ.status_code == 422
    wrong = client.client.post("/account/password", data={"csrf_token": token, "current_password": "not it at all", "new_password": "n3w password!!", "new_password_repeat": "n3w password!!"})
    assert wrong.status_code == 422  # said once, and that nothing changed (it read "Current password is not your current password.")
    assert "Current password is not the password you signed in with; nothing was changed." in wrong.get_data(as_text=True)
    ok = client.client.post("/account/password", data={"csrf_token": token, "current_password": CLINICIAN_PW, "new_password": "n3w password!!", "new_password_repeat": "n3w password!!"})
    assert ok.status_code == 200 and b"Your password was changed" in ok.data
    new_token = form_csrf(ok.get_data(as_text=True))
    assert new_token != token
    out = client.client.post("/logout", data={"csrf_token": new_token})
    assert out.status_code == 302


# -- headers -------------------------------------------------------------------------------------


HEADER_PATHS = ["/api/session", "/login", "/setup", "/healthz", "/api/patients", "/nope", "/static/station.css"]


@hub_sample("path", HEADER_PATHS, lambda path: path in ("/healthz", "/api/patients"), ids=str, reason=SAME_SIGN_IN)
def test_security_headers_everywhere(app, accounts, path):
    r = app.test_client().get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    if path != "/static/station.css":
        assert r.headers["Cache-Control"] == "no-store"


@sqlite_only(SAME_SIGN_IN)
def test_pages_load_no_external_resources(app, accounts, clinician):
    for path in ("/login", "/setup", "/account"):
        html = (clinician if path == "/account" else ApiClient(app.test_client())).get(path).get_data(as_text=True)
        assert "http://" not in html and "https://" not in html
        # scripts only as files of this station (the CSP forbids inline code)
        assert all(re.fullmatch(r'<script src="/static/[\w/.-]+"></script>', tag)
                   for tag in re.findall(r"<script[^>]*>(?:.*?</script>)?", html, re.S))


def test_tls_config_marks_cookies_secure_and_sends_hsts(tmp_path):
    from dataclasses import replace

    from station.config import StationConfig
    from web import create_app
    from web_support import clinic_data

    config = StationConfig()
    config = replace(config, web=replace(config.web, tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem"))
    # the test client's requests stand for the proxy's own connections (tested for real in
    # tests/web/test_web_hardening.py)
    app = create_app({"DATA_DIR": str(tmp_path / "d"), "STATION_CONFIG": config, "PASSWORD_COST": clinic_data.CHEAP_COST,
                      "PROXY_PEER_CHECK": lambda environ: True})
    try:
        r = app.test_client().get("/api/session", headers={"X-Forwarded-For": "192.168.1.50"})
        assert "Secure" in r.headers["Set-Cookie"]
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        store = app.extensions["station_store"]
        client = ApiClient(app.test_client())
        client.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.168.1.50"
        client.login("nobody", "whatever pw")
        assert store.audit.query(action="user.login_failed")[0]["address"] == "192.168.1.50"
    finally:
        app.extensions["station_store"].close()


def test_refused_login_stores_nothing_but_the_failure(app, accounts, store):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    before = fingerprint(store)
    client.post("/api/login", {"username": "ana", "password": "wrong password"})
    after = fingerprint(store)
    audit_before, audit_after = before[4], after[4]
    assert before[:4] == after[:4] and before[5:] == after[5:]
    assert [row[5] for row in audit_after[len(audit_before):]] == ["user.login_failed"]


@sqlite_only(SAME_SIGN_IN)
def test_after_login_goes_to_the_dashboard_once_it_exists(app, accounts):
    client = app.test_client()
    token = form_csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/patients"  # the dashboard's start page
    assert app.test_client().get("/").headers["Location"].startswith("/login")  # behind the login like every page
