"""Every route against every refusal: no login, missing or forged CSRF token, wrong role, expired
session; and each route's success path. Refused requests store nothing."""

from __future__ import annotations

import pytest

from web_support import ADMIN_PW, CLINICIAN_PW, ApiClient, fingerprint, hub_sample, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
those marked ``@sqlite_only`` say why they run on SQLite only, and a ``@hub_sample`` matrix runs
every case on SQLite and a sample on the hub (the rule: tests/conftest.py)."""

PUBLIC, LOGIN, ADMIN = "public", "login", "admin"
JSON, FORM = "json", "form"

# (method, path, access, body kind, body); {patient}, {other}, {session}, {trial}, {user} are ids.
ROUTES = [
    ("GET", "/api/session", PUBLIC, None, None),
    ("POST", "/api/login", PUBLIC, JSON, {"username": "ana", "password": CLINICIAN_PW}),
    ("POST", "/api/setup", PUBLIC, JSON, {"username": "late", "password": "a long password"}),
    ("GET", "/login", PUBLIC, None, None),
    ("POST", "/login", PUBLIC, FORM, {"username": "ana", "password": CLINICIAN_PW}),
    ("GET", "/setup", PUBLIC, None, None),
    ("POST", "/setup", PUBLIC, FORM, {"username": "late", "password": "a long password", "password_repeat": "a long password"}),
    ("POST", "/api/logout", LOGIN, None, None),
    ("POST", "/logout", LOGIN, FORM, {}),
    ("GET", "/account", LOGIN, None, None),
    ("POST", "/account/password", LOGIN, FORM, {"current_password": "{pw}", "new_password": "n3w password!!", "new_password_repeat": "n3w password!!"}),
    ("POST", "/api/account/password", LOGIN, JSON, {"current_password": "{pw}", "new_password": "n3w password!!"}),
    ("POST", "/account/sign-out-others", LOGIN, FORM, {}),
    ("POST", "/api/account/sign-out-others", LOGIN, None, None),
    ("GET", "/api/patients", LOGIN, None, None),
    ("POST", "/api/patients", LOGIN, JSON, {"identifier": "NEW-1", "birth_year": 1950, "sex": "F"}),
    ("POST", "/api/patients/search", LOGIN, JSON, {"q": "PT"}),
    ("GET", "/api/patients/{patient}", LOGIN, None, None),
    ("PATCH", "/api/patients/{patient}", LOGIN, JSON, {"notes": "changed"}),
    ("DELETE", "/api/patients/{other}", ADMIN, JSON, {"confirm_identifier": "PT-200"}),
    ("GET", "/api/patients/{patient}/export.csv", LOGIN, None, None),
    ("POST", "/api/patients/{patient}/sessions", LOGIN, JSON, {"label": "week 2"}),
    ("GET", "/api/sessions/{session}", LOGIN, None, None),
    ("PATCH", "/api/sessions/{session}", LOGIN, JSON, {"label": "week 0"}),
    ("GET", "/api/conditions", LOGIN, None, None),
    ("GET", "/api/trials/{trial}", LOGIN, None, None),
    ("PATCH", "/api/trials/{trial}", LOGIN, JSON, {"valid": False, "validity_reason": "talked"}),
    ("GET", "/api/trials/{trial}/frames", LOGIN, None, None),
    ("GET", "/api/trials/{trial}/export.csv", LOGIN, None, None),
    ("GET", "/api/trials/{trial}/export.json", LOGIN, None, None),
    ("GET", "/api/trials/{trial}/export.zip", LOGIN, None, None),
    ("GET", "/api/users", ADMIN, None, None),
    ("POST", "/api/users", ADMIN, JSON, {"username": "newbie", "password": "a long password", "role": "clinician"}),
    ("PATCH", "/api/users/{user}", ADMIN, JSON, {"disabled": True}),
    ("GET", "/api/settings", ADMIN, None, None),
    ("PATCH", "/api/settings", ADMIN, JSON, {"clinic_name": "Physio Nord"}),
    ("GET", "/api/audit", ADMIN, None, None),
]
MY_BLUEPRINTS = {"auth", "api_patients", "api_trials", "api_admin"}
STATE_CHANGING = [r for r in ROUTES if r[0] not in ("GET", "HEAD")]
PROTECTED = [r for r in ROUTES if r[2] != PUBLIC]


def _id(route):
    return f"{route[0]} {route[1]}"


def _path(route, records):
    return route[1].format(**{k: v for k, v in records.items() if k != "frames"})


def _body(route, password):
    body = route[4]
    if body is None:
        return None
    return {k: (password if v == "{pw}" else v) for k, v in body.items()}


def _call(client: ApiClient, route, records, *, csrf, password=CLINICIAN_PW, headers=None):
    method, _, _, kind, _ = route
    path = _path(route, records)
    body = _body(route, password)
    if kind == FORM:
        data = dict(body)
        if csrf is True:
            data["csrf_token"] = client.csrf
        elif isinstance(csrf, str):
            data["csrf_token"] = csrf
        return client.client.open(path, method=method, data=data, headers=headers or {})
    if method == "GET":
        return client.client.get(path, headers=headers or {})
    return client.send(method, path, body, csrf=csrf, headers=headers)


@sqlite_only("reads the app's URL map only: no store")
def test_matrix_covers_every_route(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in MY_BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    import re

    listed = {(m, re.sub(r"\{\w+\}", "<x>", p)) for m, p, *_ in ROUTES}
    served = {(m, re.sub(r"<[^>]+>", "<x>", p)) for m, p in served}
    assert served == listed


@sqlite_only("refused before the store is asked (no session cookie to look up): the same code on the hub")
@pytest.mark.parametrize("route", PROTECTED, ids=_id)
def test_no_login_is_refused(app, store, records, route):
    client = ApiClient(app.test_client())
    client.refresh_csrf()  # a valid anonymous token does not stand in for a login
    before = fingerprint(store)
    response = _call(client, route, records, csrf=True)
    if route[1].startswith("/api/"):
        assert response.status_code == 401
        assert "sign in" in response.json["error"]
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    assert fingerprint(store) == before


SAME_REFUSAL = ("refused before the view, after the same sign-in lookup on every route: the sample keeps that "
                "lookup, a public form and an API route on the hub")


@hub_sample("route", STATE_CHANGING, lambda r: _id(r) in ("POST /login", "POST /api/patients"), ids=_id,
            reason=SAME_REFUSAL)
@pytest.mark.parametrize("csrf", [None, "forged-token-123", "other-session"])
def test_missing_or_forged_csrf_is_refused(app, store, records, admin, route, csrf):
    if csrf == "other-session":  # a real token, but of someone else's session
        other = ApiClient(app.test_client())
        other.login("ana", CLINICIAN_PW)
        csrf = other.csrf
    if route[2] == PUBLIC:
        client = ApiClient(app.test_client())
        client.refresh_csrf()
    else:
        client = admin
    before = fingerprint(store)
    response = _call(client, route, records, csrf=csrf, password=ADMIN_PW)
    assert response.status_code == 403
    text = response.json["error"] if route[1].startswith("/api/") else response.get_data(as_text=True)
    assert "CSRF token" in text
    assert fingerprint(store) == before


@hub_sample("route", [r for r in ROUTES if r[2] == ADMIN], lambda r: _id(r) == "PATCH /api/settings", ids=_id,
            reason=SAME_REFUSAL)
def test_wrong_role_is_refused(store, records, clinician, route):
    before = fingerprint(store)
    response = _call(clinician, route, records, csrf=True)
    assert response.status_code == 403
    assert response.json["error"] == "this needs the admin role"
    assert fingerprint(store) == before


@hub_sample("route", PROTECTED, lambda r: _id(r) in ("GET /account", "PATCH /api/patients/{patient}"), ids=_id,
            reason="the same expiry (the login session looked up, found stale, deleted) on every route: the sample "
                   "keeps it for a page and an API route on the hub")
def test_expired_session_is_refused(app, store, records, wall, route):
    client = ApiClient(app.test_client())
    client.login("root", ADMIN_PW)
    wall.advance(15 * 60 + 1)
    before = fingerprint(store)
    response = _call(client, route, records, csrf=True, password=ADMIN_PW)
    if route[1].startswith("/api/"):
        assert response.status_code == 401
        assert response.json["expired"] is True and "expired" in response.json["error"]
    else:
        assert response.status_code == 302
        assert "expired=1" in response.headers["Location"]
    assert fingerprint(store) == before


SETUP_POSTS = [r for r in ROUTES if r[0] == "POST" and r[1] in ("/api/setup", "/setup")]


@pytest.mark.parametrize("route", [r for r in ROUTES if r not in SETUP_POSTS], ids=_id)
def test_every_route_succeeds_when_allowed(app, records, route):
    client = ApiClient(app.test_client())
    if route[2] == PUBLIC:
        client.refresh_csrf()
        password = CLINICIAN_PW
    else:
        user, password = ("root", ADMIN_PW) if route[2] == ADMIN else ("ana", CLINICIAN_PW)
        client.login(user, password)
    response = _call(client, route, records, csrf=True, password=password)
    assert 200 <= response.status_code < 400, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("route", SETUP_POSTS, ids=_id)
def test_setup_routes_succeed_only_before_the_first_account(app, store, route):
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    response = _call(client, route, {}, csrf=True)
    assert response.status_code in (201, 302)
    assert store.users.list()[0]["role"] == "admin"
    again = ApiClient(app.test_client())
    again.refresh_csrf()
    before = fingerprint(store)
    assert _call(again, route, {}, csrf=True).status_code == 409
    assert fingerprint(store) == before


# -- bodies: every JSON route against malformed, mistyped, out-of-range and oversized bodies ------

JSON_ROUTES = [r for r in ROUTES if r[3] == JSON]
# (route path, a body with a wrong type, a body with an out-of-range value)
BAD_VALUES = {
    ("POST", "/api/login"): ({"username": 1, "password": "x"}, {"username": "ana", "password": "p" * 300}),
    ("POST", "/api/setup"): ({"username": "boss", "password": 1234567890}, {"username": "b" * 65, "password": "long enough 1"}),
    ("POST", "/api/account/password"): ({"current_password": 1, "new_password": "n3w password!!"},
                                        {"current_password": CLINICIAN_PW, "new_password": "short"}),
    ("POST", "/api/patients"): ({"identifier": "N1", "birth_year": "1950", "sex": "F"},
                                {"identifier": "N1", "birth_year": 1850, "sex": "F"}),
    ("POST", "/api/patients/search"): ({"q": 200}, {"q": "PT", "limit": 100000}),
    ("PATCH", "/api/patients/{patient}"): ({"height_cm": "tall"}, {"weight_kg": 1000}),
    ("DELETE", "/api/patients/{other}"): ({"confirm_identifier": 200}, {"confirm_identifier": "PT-2000"}),
    ("POST", "/api/patients/{patient}/sessions"): ({"label": 5}, {"label": "l" * 101}),
    ("PATCH", "/api/sessions/{session}"): ({"notes": ["a"]}, {"notes": "n" * 2001}),
    ("PATCH", "/api/trials/{trial}"): ({"valid": "no"}, {"valid": False, "validity_reason": "r" * 501}),
    ("POST", "/api/users"): ({"username": "newbie", "password": "a long password", "role": 5},
                             {"username": "newbie", "password": "a long password", "role": "owner"}),
    ("PATCH", "/api/users/{user}"): ({"disabled": "yes"}, {"password": "short"}),
    ("PATCH", "/api/settings"): ({"session_timeout_min": "5"}, {"session_timeout_min": 1000}),
}
RAW_BODIES = [
    ("malformed", b'{"a": ', "application/json", 400),
    ("not-an-object", b"[1, 2, 3]", "application/json", 400),
    ("empty", b"", "application/json", 400),
    ("nan", b'{"a": NaN}', "application/json", 400),
    ("oversized", b'{"notes": "' + b"x" * (65 * 1024) + b'"}', "application/json", 413),
    ("not-json", b"a=1", "application/x-www-form-urlencoded", 415),
]


def _client_for(app, route):
    client = ApiClient(app.test_client())
    if route[2] == PUBLIC:
        client.refresh_csrf()
    else:
        client.login("root", ADMIN_PW)
    return client


def test_every_json_route_has_bad_values_listed():
    assert {(m, p) for m, p, *_ in JSON_ROUTES} == set(BAD_VALUES)


@sqlite_only("refused while the request is parsed, before the store: the same code on the hub")
@pytest.mark.parametrize("route", JSON_ROUTES, ids=_id)
@pytest.mark.parametrize("name, raw, content_type, status", RAW_BODIES, ids=[b[0] for b in RAW_BODIES])
def test_bad_bodies_are_refused_with_a_message(app, store, records, route, name, raw, content_type, status):
    client = _client_for(app, route)
    before = fingerprint(store)
    response = client.client.open(
        _path(route, records), method=route[0], data=raw,
        headers={"Content-Type": content_type, "X-CSRF-Token": client.csrf},
    )
    assert response.status_code == status
    assert response.json["error"]
    assert fingerprint(store) == before


@sqlite_only("values checked in Python before any SQL: the same code on the hub (tests/store runs the checks on both)")
@pytest.mark.parametrize("route", JSON_ROUTES, ids=_id)
@pytest.mark.parametrize("kind", [0, 1], ids=["wrong-type", "out-of-range"])
def test_wrong_types_and_out_of_range_values_are_refused(app, store, records, route, kind):
    client = _client_for(app, route)
    body = BAD_VALUES[(route[0], route[1])][kind]
    before = fingerprint(store)
    response = client.send(route[0], _path(route, records), body)
    assert response.status_code == 422, response.json
    assert response.json["fields"] and response.json["error"].startswith("invalid input")
    assert fingerprint(store) == before
