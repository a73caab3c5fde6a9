"""The attack suite against a running station (``balance-station run --simulate`` on 127.0.0.1).

What held before issue 14 and must keep holding: a login on every route but the public ones, the
CSRF token on every state-changing route, no script through any stored field, no SQL through any
parameter, no file outside ``static/`` through any path. And each finding of issue 14 that can be
tried over HTTP. Every request is bounded (timeouts), and the number of requests is fixed.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time

import pytest

from security_support import ADMIN_PW, CLINICIAN_PW, tally

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
XSS = '<script>alert("x")</script>"\'><img src=x onerror=alert(1)>'
SQLI = ["' OR '1'='1", "1; DROP TABLE patients; --", "\" OR 1=1 --", "%' UNION SELECT password_hash FROM users --",
        "1) OR (1=1", "x' AND sqlite_version() --"]


def _routes():
    """(methods, path with example values, endpoint, public) of every route of the app the station runs."""
    from web import create_app

    app = create_app({"DATA_DIR": tempfile.mkdtemp() + "/routes"})
    try:
        out = []
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            public = rule.endpoint in ("static", "health.healthz") or getattr(view, "station_public", False)
            path = re.sub(r"<int:[^>]+>", "1", rule.rule)
            path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(" '"), path)
            path = re.sub(r"<(?:path:|string:)?[^>]+>", "x", path)
            out.append((sorted(rule.methods - {"HEAD", "OPTIONS"}), path, rule.endpoint, public))
        return out
    finally:
        app.extensions["station_store"].close()


ROUTES = _routes()


# -- held areas ----------------------------------------------------------------------------------


def test_every_route_needs_a_login_unless_public(station):
    anon = station.client()
    tried = 0
    for methods, path, endpoint, public in ROUTES:
        for method in methods:
            if public:
                continue
            body = None if method == "GET" else b"{}"
            status, headers, _ = anon.raw(method, path, body, {"Content-Type": "application/json"})
            tried += 1
            if path.startswith("/api/"):
                assert status == 401, (method, path, status)
            else:
                assert status in (302, 403) if method != "GET" else status == 302, (method, path, status)
                if status == 302:
                    assert "/login" in headers["location"] or "/setup" in headers["location"], (method, path)
    tally("routes tried without login", tried)
    assert tried > 40


def test_every_state_changing_route_needs_the_csrf_token(station, admin):
    tried = 0
    for methods, path, endpoint, public in ROUTES:
        for method in methods:
            if method not in STATE_CHANGING:
                continue
            for token in (None, "forged-token"):
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["X-CSRF-Token"] = token
                status, _, body = admin.raw(method, path, b"{}", headers)
                tried += 1
                assert status == 403, (method, path, status, body[:200])
    tally("state-changing requests without a valid CSRF token", tried)
    assert admin.get("/api/session")[0] == 200  # still signed in: nothing was changed


def test_no_script_through_any_stored_field(station, admin):
    status, patient, _ = admin.post("/api/patients", {"identifier": "XSS-1", "birth_year": 1950, "sex": "F",
                                                      "notes": XSS, "conditions": []})
    assert status == 201
    status, session, _ = admin.post(f"/api/patients/{patient['id']}/sessions", {"label": XSS, "notes": XSS})
    assert status == 201
    assert admin.request("PATCH", "/api/settings", {"clinic_name": XSS})[0] == 200
    pages = ["/", "/patients", f"/patients/{patient['id']}", f"/patients/{patient['id']}/history",
             f"/sessions/{session['id']}", "/live", "/account", "/admin/users", "/admin/settings", "/admin/audit",
             f"/login?next={XSS}", f"/login?next=/{XSS}", f"/nonexistent{XSS}"]
    for path in pages:
        status, headers, body = admin.raw("GET", re.sub(r"[ \"'<>]", lambda m: f"%{ord(m.group()):02X}", path))
        text = body.decode(errors="replace")
        assert "<script>alert" not in text and "<img src=x" not in text, path  # escaped, never markup
        assert "script-src" not in headers.get("content-security-policy", "") or "unsafe-inline" not in headers[
            "content-security-policy"]
        assert headers.get("content-security-policy", "").startswith("default-src 'self'"), path
    for path in (f"/api/patients/{patient['id']}", f"/api/sessions/{session['id']}", "/api/settings"):
        status, headers, body = admin.raw("GET", path)
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert headers["x-content-type-options"] == "nosniff"
    tally("pages and documents checked for injected script", len(pages) + 3)


def test_no_sql_through_any_parameter(station, admin):
    _, before, _ = admin.get("/api/patients?archived=all&limit=500")
    tried = 0
    for payload in SQLI:
        quoted = re.sub(r"[^A-Za-z0-9._-]", lambda m: "%" + "%".join(f"{b:02X}" for b in m.group().encode()), payload)
        for path in (f"/api/patients?condition={quoted}", f"/api/patients?sort={quoted}",
                     f"/api/audit?action={quoted}", f"/api/audit?username={quoted}", f"/api/patients/{quoted}"):
            status, doc, _ = admin.get(path)
            tried += 1
            assert status in (200, 404, 422), (path, status, doc)
            if status == 200 and "patients" in (doc or {}):
                assert doc["total"] == 0, path  # taken literally: no identifier contains it
        status, doc, _ = admin.post("/api/patients/search", {"q": payload})  # the search, by POST (no URL holds it)
        tried += 1
        assert status in (200, 422), (payload, status, doc)
        if status == 200:
            assert doc["total"] == 0, payload  # taken literally: no identifier contains it
        status, doc, _ = admin.post("/api/patients", {"identifier": payload, "birth_year": 1950, "sex": "F"})
        tried += 1
        assert status == 422
        status, doc, _ = admin.post("/api/login", {"username": payload, "password": payload + " long enough"})
        tried += 1
        assert status in (401, 429)
    _, after, _ = admin.get("/api/patients?archived=all&limit=500")
    assert after["total"] == before["total"]
    tally("SQL injection attempts", tried)


def test_no_file_outside_static_through_any_path(station, admin):
    paths = ["/static/../station.sqlite3", "/static/..%2f..%2fstation.sqlite3", "/static/%2e%2e/%2e%2e/etc/passwd",
             "/static/..%252f..%252fetc/passwd", "/static//etc/passwd", "/static/....//....//etc/passwd",
             "/api/programmes/..%2f..%2fetc%2fpasswd", "/api/programmes/../../secret_key", "/static/%00",
             "/static/js/..%5c..%5c..%5csecret_key", "/api/patients/1/export.csv/../../../../etc/passwd"]
    for path in paths:
        status, _, body = admin.raw("GET", path)
        assert status in (400, 404, 308, 302), (path, status)
        assert b"SQLite format" not in body and b"root:" not in body, path
    tally("path traversal attempts", len(paths))


# -- issue 14 findings over HTTP ------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def test_1_a_setup_flood_costs_nothing_on_a_set_up_station(station):
    before = _rss_kib(station.pid)
    results = []

    def flood():
        c = station.client()
        c.get("/api/session")
        for _ in range(4):
            results.append(c.post("/api/setup", {"username": "mallory", "password": "a very long pass phrase"})[0])

    threads = [threading.Thread(target=flood) for _ in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    assert results == [409] * 80
    assert _rss_kib(station.pid) - before < 64 * 1024  # the 73-request flood once took 1.16 GB
    assert elapsed < 30
    tally("setup requests in a flood", 80)


def test_3_a_huge_body_is_refused_before_it_is_buffered(station):
    c = station.client()
    body = b"{" + b" " * (8 * 1024 * 1024) + b"}"
    started = time.monotonic()
    try:
        status, _, _ = c.raw("POST", "/api/setup", body, {"Content-Type": "application/json"}, timeout=20)
    except (ConnectionError, OSError):
        status = 413  # waitress may close the connection while the body still arrives
    assert status == 413
    assert time.monotonic() - started < 20
    tally("oversized bodies", 1)


def test_5_the_list_is_minimal_and_audited(station, admin, clinician):
    admin.post("/api/patients", {"identifier": "LIST-1", "birth_year": 1944, "sex": "M", "notes": "private",
                                 "height_cm": 170, "weight_kg": 70})
    status, doc, _ = clinician.post("/api/patients/search", {"q": "LIST-"})
    assert status == 200 and doc["patients"]
    assert not {"notes", "height_cm", "weight_kg"} & set(doc["patients"][0])
    _, audit, _ = admin.get("/api/audit?action=patient.list&username=ana")
    assert audit["entries"][0]["detail"]["ids"] == [p["id"] for p in doc["patients"]]


def test_6_weak_passwords_are_refused(station, admin):
    weak = ["password12", "1234567890", "aaaaaaaaaa", "qwertyuiop", "abcdefghij", "Welcome2024!", "1q2w3e4r5t"]
    for pw in weak:
        status, doc, _ = admin.post("/api/users", {"username": "weakling", "password": pw, "role": "clinician"})
        assert status == 422 and "phrase" in doc["fields"]["password"], pw
    tally("weak passwords", len(weak))


def test_7_a_stranger_cannot_lock_out_the_clinician(station):
    stranger = station.client()
    stranger.get("/api/session")
    codes = [stranger.post("/api/login", {"username": "ana", "password": "guess guess guess"})[0] for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    station.client().sign_in("ana", CLINICIAN_PW)  # the tablet, elsewhere, still signs in
    tally("wrong passwords from a stranger", 7)


def test_11_one_account_cannot_take_every_live_place(station, clinician):
    opened, refused = [], None
    import http.client

    for _ in range(6):
        conn = http.client.HTTPConnection("127.0.0.1", station.port, timeout=10, source_address=(clinician.address, 0))
        conn.request("GET", "/api/live", headers={"Cookie": clinician.cookie})
        response = conn.getresponse()
        if response.status != 200:
            refused = (response.status, json.loads(response.read()))
            conn.close()
            break
        opened.append((conn, response))  # keep the response: dropping it closes the stream
    try:
        assert len(opened) == 4 and refused[0] == 503 and "per user" in refused[1]["error"]
        other = station.client().sign_in("root", ADMIN_PW)
        conn = http.client.HTTPConnection("127.0.0.1", station.port, timeout=10, source_address=(other.address, 0))
        conn.request("GET", "/api/live", headers={"Cookie": other.cookie})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        for conn, response in opened:
            response.close()
            conn.close()
    tally("live streams opened by one account", 5)


def test_14_guessing_the_current_password_is_limited(station):
    c = station.client().sign_in("ana", CLINICIAN_PW)
    codes = [c.post("/api/account/password", {"current_password": f"guess number {i}",
                                               "new_password": "walk the dog at nine"})[0] for i in range(6)]
    assert codes == [422] * 5 + [429]
    tally("current-password guesses", 6)


@pytest.mark.parametrize("raw, expected", [
    ('{"username": "\\ud800", "password": "x"}', 400),
    ('{"username": "ana", "password": "\\udfff long enough"}', 400),
    ('{"username": 18446744073709551616, "password": "x"}', 400),
    ('{"username": "a", "password": 1e999}', 400),
])
def test_15_unstorable_input_is_a_4xx_even_unauthenticated(station, raw, expected):
    c = station.client()
    c.get("/api/session")
    status, doc, _ = c.request("POST", "/api/login", raw)
    assert status == expected and doc["error"]
    tally("unstorable inputs", 1)


def test_15_unstorable_input_signed_in_and_ids_beyond_64_bits(station, clinician):
    bodies = ['{"identifier": "P\\ud800", "birth_year": 1950, "sex": "F"}',
              '{"identifier": "P-9", "birth_year": 9223372036854775808, "sex": "F"}',
              '{"identifier": "P-9", "birth_year": 1950, "sex": "F", "notes": "\\udc00"}']
    for raw in bodies:
        assert clinician.request("POST", "/api/patients", raw)[0] == 400
    for path in ("/api/patients/9223372036854775808", "/api/trials/99999999999999999999",
                 "/patients/18446744073709551616", "/api/sessions/9223372036854775808/results"):
        assert clinician.get(path)[0] == 404, path
    tally("unstorable inputs", len(bodies) + 4)


def test_15_cr_lf_in_next_is_never_a_header(station):
    c = station.client()
    for target in ("/x%0d%0aSet-Cookie:%20evil=1", "/x%0aLocation:%20https://evil.example/", "/%0d%0a"):
        status, headers, _ = c.raw("GET", f"/login?next={target}")
        assert status in (200, 302) and "evil" not in json.dumps(headers)
    tally("CR/LF redirects", 3)
