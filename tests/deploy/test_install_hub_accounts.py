"""``install.sh --hub`` makes the first-run setup code when the hub's PostgreSQL database holds no
account, counting them there (before, it made one only while the hub had no web key: a hub that
started once and was never set up left its /setup open to whoever came first)."""

from __future__ import annotations

import sys
from pathlib import Path

from station.store.audit import Actor
from station.store.store import Store

import test_install_script
from test_install_script import fake_server, mode_owner, run_install

pytestmark = test_install_script.pytestmark  # root only, as the installer's tests


def _install(root: Path):
    return run_install(root, "--no-venv", "--python", sys.executable, "--hub", "--hostname", "hub")


def test_the_hub_setup_code_follows_the_accounts_in_its_postgresql_database(tmp_path, pg_url):
    root = fake_server(tmp_path / "root")
    (root / "etc/balance-station").mkdir(parents=True)
    (root / "etc/balance-station/hub.env").write_text(f"BALANCE_STATION_DATABASE={pg_url}\n")
    state = root / "var/lib/balance-hub"
    _install(root)
    code_file = state / "setup-code"
    code = code_file.read_text().strip()  # a fresh hub: no account
    (state / "secret_key").write_text("started once\n")  # the hub started, and nobody set it up
    code_file.unlink()  # (say, an installer before setup codes)
    again = _install(root)  # the old code: no code, /setup open to whoever comes first
    assert code_file.exists() and code_file.read_text().strip() != code
    assert f"    {code_file.read_text().strip()}\n" in again.stdout and mode_owner(code_file)[0] == 0o600

    hub = Store.open(tmp_path / "hubdata", database=pg_url)
    try:
        hub.users.create("boss", "a long admin password 1", "admin", actor=Actor.system())
    finally:
        hub.close()
    code_file.unlink()
    (state / "secret_key").unlink()  # a new server for a database that has its administrator
    set_up = _install(root)  # the old code: a code (no web key), though the hub is set up
    assert not code_file.exists() and "setup code" not in set_up.stdout

    (root / "etc/balance-station/hub.env").write_text("BALANCE_STATION_DATABASE=postgresql://nobody@127.0.0.1:1/none\n")
    (state / "secret_key").write_text("started once\n")
    unknown = _install(root)  # cannot be asked, and the hub started: said, no code
    assert not code_file.exists()
    assert "could not count the accounts in the hub's database" in unknown.stdout + unknown.stderr
    assert "users add NAME --role admin" in unknown.stdout + unknown.stderr
