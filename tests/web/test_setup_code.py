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
    assert 'name="setup_code"' in page and "Setup code (printed by the installer or a restore)" in page
    token = form_csrf(page)
    form = {"csrf_token": token, "username": "boss", "password": "long enough 1", "password_repeat": "long enough 1"}
    for given in (None, "", "4821-0937-5567", "482109375566x"):
        sent = form if given is None else {**form, "setup_code": given}
        refused = client.post("/setup", data=sent)
        assert refused.status_code == 403, given
        text = refused.get_data(as_text=True)
        assert ("The setup code is missing or wrong: it was printed when the station was installed (or restored); "
                "on the station, the file setup-code in its data directory holds it.") in text
        assert str(path) not in text
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


def test_a_restore_of_a_backup_without_accounts_asks_for_a_new_code(tmp_path, monkeypatch, capsys):
    """A backup taken before the first administrator existed (the first night's, or the installer's
    before a restart) opened the setup again with no code after a restore: whoever came first became
    the administrator (finding 4 of R3). The restore makes a new code and prints it; a later restore
    of a backup with accounts removes a code left over."""
    import io
    import stat

    from clinic_data import CHEAP_COST
    from station.cli import main
    from station.store.backup import create_backup, restore_backup
    from station.store.store import Store
    from web import create_app

    monkeypatch.delenv("BALANCE_STATION_CONFIG", raising=False)
    data = tmp_path / "data"
    Store.open(data, password_cost=CHEAP_COST).close()
    installed_code = data / SETUP_CODE_FILENAME
    installed_code.write_text(CODE + "\n")
    early = create_backup(data, 1_800_000_000).path  # no account yet
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password 7\n"))
    assert main(["users", "add", "root", "--role", "admin", "--data-dir", str(data)]) == 0
    assert not installed_code.exists()
    set_up = create_backup(data, 1_800_003_600).path
    capsys.readouterr()

    assert main(["restore", str(early), "--yes", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    (code,) = re.findall(r"^    (\d{4}-\d{4}-\d{4})$", out, re.M)
    assert code != CODE and installed_code.read_text() == code + "\n"
    assert stat.S_IMODE(installed_code.stat().st_mode) == 0o600
    assert "the backup has no account" in out and "asks for this one-time setup code" in out
    assert f"sudo cat {installed_code}" in out and "sudo balance-station users add NAME --role admin" in out
    assert "nobody can sign in" not in out  # the backup has no account to be disabled: its code is the way in

    app = create_app({"DATA_DIR": str(data), "PASSWORD_COST": CHEAP_COST, "TESTING": True})
    try:
        client = ApiClient(app.test_client())
        client.refresh_csrf()
        r = client.post("/api/setup", {"username": "mallory", "password": "long enough 1"})
        assert r.status_code == 403 and "setup code is missing or wrong" in r.json["error"]
        r = client.post("/api/setup", {"username": "boss", "password": "long enough 1", "setup_code": code})
        assert r.status_code == 201 and r.json["user"]["role"] == "admin"
    finally:
        app.extensions["station_store"].close()
    assert not installed_code.exists()

    installed_code.write_text(CODE + "\n")  # e.g. restored early, then a backup with the accounts
    assert restore_backup(data, set_up, now_s=1_900_000_000).setup_code is None
    assert not installed_code.exists()


def test_a_code_file_without_a_code_says_so_and_no_path_to_whoever_asks(app, store, caplog):
    """An empty code file refuses the setup (fails closed), in words that do not send the reader to a
    file that shows nothing, and the page shows no path of the station to an anonymous caller."""
    path = store.data_dir / SETUP_CODE_FILENAME
    for content, words in (("  \n", "its file on the station holds no code; on the station, run the installer "
                                     "again (sudo systemd/install.sh), or create the administrator there: sudo "
                                     "balance-station users add NAME --role admin"),
                           ("4821-0937-5566\n", "setup code is missing or wrong")):
        path.write_text(content)
        client = ApiClient(app.test_client())
        client.refresh_csrf()
        r = client.post("/api/setup", {"username": "boss", "password": "long enough 1", "setup_code": ""})
        assert r.status_code == 403 and words in r.json["error"], r.json
        assert str(store.data_dir) not in r.json["error"] and "sudo cat" not in r.json["error"]
        assert store.users.count() == 0
    assert f"the setup code file {path} holds no code" in caplog.text  # the path for the administrator
