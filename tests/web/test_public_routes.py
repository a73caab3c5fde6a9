"""Which routes answer without signing in is an explicit list, on the station and on the hub: every
other route of the URL map is refused without a login session (``401`` for the API, a redirect to
sign-in for a page), also when the request carries a valid anonymous CSRF token (so the refusal is the
login's, not the CSRF check's), and the hub's station endpoints without a station token. A view newly
marked ``@public`` or ``@token_auth`` fails here until it is added to the list on purpose."""

from __future__ import annotations

import re

from station import __version__

from web_support import ApiClient

BACKENDS = ("sqlite", "postgresql")  # postgresql: the app as the hub composes it (HUB), with its station API

PUBLIC = {
    "static",  # the dashboard's scripts, styles and images
    "health.healthz",  # monitors and systemd: no patient data (web.health)
    "auth.api_session", "auth.api_login", "auth.api_setup",  # who am I, the CSRF token, sign-in, first-run setup
    "auth.login_page", "auth.setup_page",
}
"""Every endpoint reachable without signing in."""

STATION_TOKEN = {
    "hub_api." + name for name in (
        "push", "station_restored", "audit_last", "push_audit", "parts", "put_part", "drop_parts", "tombstones",
        "clinic_key", "patient_updates", "pull_patient", "pull_history", "history_updates", "programme_updates",
        "pull_programmes")
}
"""The hub's endpoints for stations: a station token (``Authorization: Bearer``), never a login session."""


def _marked(app) -> tuple[set[str], set[str]]:
    public, token = set(), set()
    for endpoint, view in app.view_functions.items():
        if endpoint in ("static", "health.healthz") or getattr(view, "station_public", False):
            public.add(endpoint)
        if getattr(view, "station_token_auth", False):
            token.add(endpoint)
    return public, token


def _paths(app):
    """(method, example path, endpoint) of every route but those on the lists."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(" '"), path)
        path = re.sub(r"<(?:path:|string:)?[^>]+>", "x", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rule.endpoint


def test_the_routes_open_without_a_login_are_the_listed_ones(app, backend):
    public, token = _marked(app)
    assert public == PUBLIC
    assert token == (STATION_TOKEN if backend == "postgresql" else set())


def test_every_other_route_refuses_a_request_without_a_login(app, backend, accounts):
    anon = ApiClient(app.test_client())
    anon.refresh_csrf()  # a valid anonymous CSRF token: what refuses is the missing login
    tried = 0
    for method, path, endpoint in _paths(app):
        if method == "GET":
            response = anon.get(path)
        else:
            response = anon.send(method, path, {}, csrf=True)
        tried += 1
        if endpoint in STATION_TOKEN:
            assert response.status_code == 401 and "station token" in response.json["error"], (method, path)
        elif path.startswith("/api/"):
            assert response.status_code == 401 and "sign in" in response.json["error"], (method, path)
        else:
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["Location"].startswith("/login?next="), (method, path)
    assert tried >= (90 if backend == "postgresql" else 70)


def test_the_software_version_is_told_only_to_a_signed_in_user(app, accounts, clinician):
    """X1 finding F5 (session 25): ``GET /api/session`` answered ``station_version`` (the release and
    its commit) to anyone, telling an outsider which release's known flaws to try. Signed out, no
    public answer says it (the sign-in page works without it); signed in, the session says it."""
    anon = app.test_client()
    for path in ("/api/session", "/login", "/setup", "/healthz"):
        response = anon.get(path)
        assert response.status_code in (200, 302, 503), (path, response.status_code)
        assert __version__.encode() not in response.data, path
        assert not any(__version__ in value for _, value in response.headers.items()), path
    signed_out = anon.get("/api/session").json
    assert signed_out["authenticated"] is False and signed_out["csrf_token"] and "station_version" not in signed_out
    assert clinician.get("/api/session").json["station_version"] == __version__
