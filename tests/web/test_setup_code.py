"""First-run setup of an installed station asks for the one-time code the installer printed
(finding 6 of session 23's review: the first device on the clinic's network could otherwise claim
the station between the install and the IT person's first visit)."""

from __future__ import annotations

import re

from station.store.setup_code import SETUP_CODE_FILENAME
from web_support import ApiClient

CODE = "4821-0937-5566"


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def installed(store):
    path = store.data_dir / SETUP_CODE_FILENAME
    path.write_text(CODE + "\n")
    path.chmod(0o600)
    return path


def test_the_setup_page_asks_for_the_code_and_refuses_without_it(app, store):
    path = installed(store)
    client = app.test_client()
    page = client.get("/setup").get_data(as_text=True)
    assert 'name="setup_code"' in page and "Setup code (printed by the installer)" in page
    token = form_csrf(page)
    form = {"csrf_token": token, "username": "boss", "password": "long enough 1", "password_repeat": "long enough 1"}
    for given in (None, "", "4821-0937-5567", "482109375566x"):
        sent = form if given is None else {**form, "setup_code": given}
        refused = client.post("/setup", data=sent)
        assert refused.status_code == 403, given
        text = refused.get_data(as_text=True)
        assert "The setup code is missing or wrong: the installer printed it" in text
        assert f"sudo cat {path}" in text
        assert store.users.count() == 0
        client = app.test_client()  # each attempt from a fresh client: the code, not the throttle, refuses
        token = form_csrf(client.get("/setup").get_data(as_text=True))
        form["csrf_token"] = token
    ok = client.post("/setup", data={**form, "setup_code": "4821 0937 5566"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert store.users.list()[0]["role"] == "admin"
    assert not path.exists()  # used once: it opens nothing any more


def test_the_setup_api_asks_for_the_code(app, store):
    path = installed(store)
    client = ApiClient(app.test_client())
    client.refresh_csrf()
    r = client.post("/api/setup", {"username": "boss", "password": "long enough 1"})
    assert r.status_code == 403 and "setup code is missing or wrong" in r.json["error"]
    assert store.users.count() == 0
    r = client.post("/api/setup", {"username": "boss", "password": "long enough 1", "setup_code": CODE})
    assert r.status_code == 201 and r.json["user"]["role"] == "admin"
    assert not path.exists()


def test_without_an_installer_no_code_is_asked(app, store):
    page = app.test_client().get("/setup").get_data(as_text=True)
    assert 'name="setup_code"' not in page


def test_an_administrator_made_on_the_command_line_ends_the_code(tmp_path, monkeypatch, capsys):
    """The installer offers `sudo balance-station users add NAME --role admin` instead of the page:
    the code file goes with the first administrator (a clinician's account does not end it)."""
    import io

    from station.cli import main

    data = tmp_path / "data"
    data.mkdir()
    code = data / SETUP_CODE_FILENAME
    code.write_text(CODE + "\n")
    monkeypatch.delenv("BALANCE_STATION_CONFIG", raising=False)

    def users_add(name: str, role: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password 7\n"))
        return main(["users", "add", name, "--role", role, "--data-dir", str(data)])

    assert users_add("root", "admin") == 0 and "added admin root" in capsys.readouterr().out
    assert not code.exists()
    code.write_text(CODE + "\n")
    assert users_add("ana", "clinician") == 0 and code.exists()
