"""The dashboard's pages: behind the login, rendered with their own scripts, and nothing loaded
from elsewhere (every script, style and font is a file of this station)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from station.store.audit import Actor
from web import create_app

from dashboard_support import ACTOR, ADMIN_PW, CHEAP, CLINICIAN_PW

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""

WEB = Path(__file__).resolve().parents[2] / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

XML_NAMESPACES = {"http://www.w3.org/2000/svg"}
"""Identifiers that look like addresses but are never fetched (SVG's XML namespace name)."""


@pytest.fixture
def app(tmp_path, store):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor(None, "test"))
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    return app


def signed_in(app, username: str, password: str):
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": username, "password": password},
                       headers={"X-CSRF-Token": token}).status_code == 200
    return client


def records(store, patient):
    session = store.sessions.create(patient["id"], {"label": "visit"}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "romberg", "eo", {"method": "nominal"}, 100.0, actor=ACTOR)
    trial = writer.finish(None, valid=False, reason="test trial")
    return session, trial


PAGES = {
    "/patients": "js/patients.js",
    "/patients/{patient}": "js/patient.js",
    "/patients/{patient}/history": "js/history.js",
    "/live": "js/live.js",
    "/sessions/{session}": "js/results.js",
    "/trials/{trial}": "js/trial.js",
}


def test_every_page_is_behind_the_login(app, store, patient):
    session, trial = records(store, patient)
    client = app.test_client()
    for template, _script in PAGES.items():
        path = template.format(patient=patient["id"], session=session["id"], trial=trial["id"])
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=" + path), path
    assert client.get("/").headers["Location"].startswith("/login")


def test_every_page_renders_with_its_script_and_the_station_security_headers(app, store, patient):
    session, trial = records(store, patient)
    client = signed_in(app, "ana", CLINICIAN_PW)
    assert client.get("/").headers["Location"] == "/patients"
    for template, script in PAGES.items():
        path = template.format(patient=patient["id"], session=session["id"], trial=trial["id"])
        r = client.get(path)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, path
        assert f'<script src="/static/{script}"></script>' in html and '<script src="/static/js/app.js">' in html
        assert "default-src 'self'" in r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"
        assert 'name="viewport"' in html and 'name="csrf-token"' in html
    assert 'data-patient-id="%d"' % patient["id"] in client.get(f"/live?patient={patient['id']}").get_data(as_text=True)
    assert 'data-patient-id=""' in client.get("/live?patient=x").get_data(as_text=True)


def test_only_administrators_see_the_erase_button(app, patient):
    ana = signed_in(app, "ana", CLINICIAN_PW).get(f"/patients/{patient['id']}").get_data(as_text=True)
    root = signed_in(app, "root", ADMIN_PW).get(f"/patients/{patient['id']}").get_data(as_text=True)
    assert 'id="erase-patient"' not in ana and 'id="erase-patient"' in root


@pytest.mark.parametrize("path", ["/patients/999", "/patients/999/history", "/sessions/999", "/trials/999"])
def test_unknown_records_get_a_page_that_says_so(app, path):
    r = signed_in(app, "ana", CLINICIAN_PW).get(path)
    assert r.status_code == 404 and "There is no" in r.get_data(as_text=True)


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes)


def test_templates_and_static_files_load_nothing_from_elsewhere():
    files = _files(TEMPLATES, (".html",)) + _files(STATIC, (".js", ".css", ".svg", ".html"))
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        for address in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text):
            assert address in XML_NAMESPACES, f"{path.relative_to(WEB)} refers to {address}"
        assert "@import" not in text and not re.search(r"url\((?!['\"]?(?:data:|/static/))", text), path
        assert "fetch(\"http" not in text and "EventSource(\"http" not in text, path


def test_templates_have_no_inline_code_or_styles_and_their_static_files_exist():
    for path in _files(TEMPLATES, (".html",)):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>.*?</script>", text, re.S):
            assert re.fullmatch(r"<script src=\"\{\{ url_for\('static', filename='[\w/.-]+'\) \}\}\"></script>", tag), \
                f"{path.name}: inline script {tag[:60]}"
        assert not re.search(r"\sstyle=", text), f"{path.name}: inline style (the CSP forbids it)"
        assert not re.search(r"\son[a-z]+=", text), f"{path.name}: inline event handler (the CSP forbids it)"
        assert "<style" not in text, path.name
        for name in re.findall(r"url_for\('static', filename='([^']+)'\)", text):
            assert (STATIC / name).is_file(), f"{path.name} refers to the missing static/{name}"


def test_scripts_use_only_the_stations_own_code():
    """No third-party library is vendored; if one ever is, its licence must sit beside it."""
    for path in _files(STATIC, (".js",)):
        text = path.read_text()
        assert not re.search(r"\brequire\(|\bimport\s.+\sfrom\s", text), path.name
    for folder in (p for p in STATIC.rglob("*") if p.is_dir() and p.name == "vendor"):
        for library in folder.iterdir():
            assert any(f.name.upper().startswith(("LICENSE", "LICENCE", "COPYING")) for f in library.iterdir()), library
