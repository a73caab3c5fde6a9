"""Run as root, the command line becomes the data directory's owner before touching it (issue 14,
finding 10): a link the service user plants there, even one SQLite follows by itself (its ``-wal``
file) after the directory was checked, is opened with no more rights than that user has.

The real drop needs root and runs in a child process (a test process that gave up root could not
go on). The order of the calls is also checked with a fake kernel, so it is tested as any user.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from station.store import datadir
from station.store.datadir import UnsafeDataDir, act_as_owner, check_data_dir

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping root to another user needs root")

# The child imports what the command will need before it gives up root: on this machine Python's
# own library lives under /root (mode 0700), out of the service user's reach. On a station the
# venv is in /opt and readable by it.
PRELOAD = ("import json, sqlite3, hashlib, secrets, getpass, ctypes, shutil, urllib.parse, station.store.store, "
           "station.store.backup, station.store.migrations, station.commands.users, station.commands.backup")


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"{PRELOAD}\n{code}"], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture
def users_dir():
    """A station data directory owned by ``nobody`` (as the service user owns its own), under a
    folder that user may traverse; a root-only file beside it to protect."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    base = Path(tempfile.mkdtemp(prefix="bs-owner-", dir="/tmp"))
    base.chmod(0o755)
    data = base / "data"
    from station.store.audit import Actor
    from station.store.passwords import ScryptCost
    from station.store.store import Store

    with Store.open(data, password_cost=ScryptCost(log2_n=4, r=8, p=1)) as store:
        store.users.create_first_admin("root", "admin password 123", actor=Actor.command_line())
    for path in [data, *data.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    victim = base / "root-only"
    victim.write_text("root's secret\n")
    victim.chmod(0o600)
    try:
        yield data, victim
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_root
def test_root_runs_a_command_as_the_data_directorys_owner(users_dir):
    data, _victim = users_dir
    result = _child(f"from station.cli import main; import sys, os\n"
                    f"code = main(['users', 'list', '--data-dir', {str(data)!r}])\n"
                    f"print('ids', os.getresuid(), os.getresgid())\nsys.exit(code)")
    assert result.returncode == 0, result.stderr
    assert f"running as nobody, the owner of {data}, not as root" in result.stderr
    assert "root" in result.stdout  # the account listed
    assert f"ids ({NOBODY}, {NOBODY}, {NOBODY}) ({NOBODY}, {NOBODY}, {NOBODY})" in result.stdout
    owners = {p.name: p.lstat().st_uid for p in data.iterdir()}
    assert set(owners.values()) == {NOBODY}, owners  # nothing made by root in there


@needs_root
def test_a_wal_link_sqlite_follows_after_the_check_cannot_reach_roots_files(users_dir):
    """The race the directory check cannot close: SQLite opens ``-wal`` by path, following a link
    planted after the check. Having become the owner, the process cannot write through it."""
    data, victim = users_dir
    wal = data / "station.sqlite3-wal"
    wal.unlink(missing_ok=True)
    result = _child(
        "import json, os, sqlite3\n"
        "from station.store.datadir import act_as_owner, check_data_dir\n"
        f"data = {str(data)!r}\n"
        "check_data_dir(data)\n"
        "who = act_as_owner(data)\n"
        f"os.symlink({str(victim)!r}, data + '/station.sqlite3-wal')  # planted after the check\n"
        "out = {'who': who}\n"
        "try:\n"
        "    conn = sqlite3.connect(data + '/station.sqlite3')\n"
        "    conn.execute('PRAGMA journal_mode = WAL')\n"
        "    conn.execute(\"INSERT INTO settings VALUES ('k', '1', '2026-01-01T00:00:00Z', 'x')\")\n"
        "    conn.commit()\n"
        "    out['sqlite'] = 'wrote'\n"
        "except sqlite3.Error as exc:\n"
        "    out['sqlite'] = str(exc)\n"
        "for attempt in ('open', 'setuid'):\n"
        "    try:\n"
        f"        os.open({str(victim)!r}, os.O_WRONLY | os.O_APPEND) if attempt == 'open' else os.setuid(0)\n"
        "        out[attempt] = 'allowed'\n"
        "    except PermissionError:\n"
        "        out[attempt] = 'refused'\n"
        "print(json.dumps(out))\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["who"] == "nobody" and out["open"] == "refused" and out["setuid"] == "refused"
    assert out["sqlite"] != "wrote"
    assert victim.read_text() == "root's secret\n" and victim.stat().st_uid == 0


@needs_root
def test_a_link_planted_for_root_is_refused_in_one_line_and_followed_nowhere(users_dir):
    data, victim = users_dir
    target = victim.parent / "would-be-created"
    (data / "secret_key").unlink(missing_ok=True)
    (data / "secret_key").symlink_to(target)
    os.chown(data / "secret_key", NOBODY, NOBODY, follow_symlinks=False)
    result = _child(f"from station.cli import main; import sys\n"
                    f"sys.exit(main(['users', 'list', '--data-dir', {str(data)!r}]))")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "symbolic link" in last and "Traceback" not in result.stderr
    assert not target.exists()


@needs_root
def test_a_restore_run_as_root_reads_only_what_the_owner_may_and_leaves_the_owners_files(users_dir):
    data, victim = users_dir
    from station.store.backup import create_backup

    backup = create_backup(data)
    hidden = victim.parent / "root-only-backup.sqlite3"
    shutil.copy(backup.path, hidden)
    hidden.chmod(0o600)
    for path in data.rglob("*"):
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)

    def restore(path):
        return _child(f"from station.cli import main; import sys\n"
                      f"sys.exit(main(['restore', {str(path)!r}, '--yes', '--data-dir', {str(data)!r}]))")

    refused = restore(hidden)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "permission denied" in refused.stderr and "backups folder" in refused.stderr
    restored = restore(backup.path)
    assert restored.returncode == 0, restored.stderr
    assert "running as nobody" in restored.stderr and "station-pre-restore-" in restored.stdout
    owners = {p.relative_to(data).as_posix(): p.lstat().st_uid for p in data.rglob("*")}
    assert set(owners.values()) == {NOBODY}, owners


@needs_root
def test_commands_that_never_open_the_data_directory_stay_as_they_are(users_dir, tmp_path):
    data, _victim = users_dir
    config = tmp_path / "station.toml"
    config.write_text(f"data_dir = {str(data)!r}\n")
    result = _child(f"from station.cli import main; import sys, os\n"
                    f"code = main(['config', 'check', '--config', {str(config)!r}])\n"
                    f"print('euid', os.geteuid())\nsys.exit(code)")
    assert result.returncode == 0, result.stderr
    assert "euid 0" in result.stdout and "running as" not in result.stderr


def test_roots_own_directory_and_other_users_change_nothing(tmp_path, monkeypatch):
    def refuse(*args):
        raise AssertionError("must not change ids")

    for name in ("setgroups", "setresgid", "setresuid"):
        monkeypatch.setattr(datadir.os, name, refuse)
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setattr(datadir.os, "geteuid", lambda: 0)
    monkeypatch.setattr(datadir.os, "stat", lambda p: os.stat_result((stat.S_IFDIR | 0o700, 0, 0, 2, 0, 0, 0, 0, 0, 0)))
    assert act_as_owner(mine) is None  # root's own directory
    monkeypatch.setattr(datadir.os, "geteuid", lambda: 1000)
    assert act_as_owner(mine) is None  # not root: nothing to give up
    monkeypatch.undo()
    assert act_as_owner(tmp_path / "absent") is None or os.geteuid() != 0


def test_the_drop_gives_up_groups_then_group_then_user_for_good(tmp_path, monkeypatch):
    """With a fake kernel: groups first (they need root), then gid, then uid, all three ids."""
    calls = []
    ids = {"uid": (0, 0, 0), "gid": (0, 0, 0)}
    monkeypatch.setattr(datadir.os, "geteuid", lambda: ids["uid"][1])
    monkeypatch.setattr(datadir.os, "stat", lambda p: os.stat_result((stat.S_IFDIR | 0o700, 0, 0, 2, 4242, 4343, 0, 0, 0, 0)))
    monkeypatch.setattr(datadir.pwd, "getpwuid", lambda uid: (_ for _ in ()).throw(KeyError(uid)))
    monkeypatch.setattr(datadir.os, "setgroups", lambda g: calls.append(("groups", list(g))))

    def setresgid(*g):
        calls.append(("gid", g))
        ids["gid"] = g

    def setresuid(*u):
        calls.append(("uid", u))
        ids["uid"] = u

    monkeypatch.setattr(datadir.os, "setresgid", setresgid)
    monkeypatch.setattr(datadir.os, "setresuid", setresuid)
    monkeypatch.setattr(datadir.os, "getresuid", lambda: ids["uid"])
    monkeypatch.setattr(datadir.os, "getresgid", lambda: ids["gid"])
    assert act_as_owner(tmp_path) == "uid 4242"
    assert calls == [("groups", [4343]), ("gid", (4343, 4343, 4343)), ("uid", (4242, 4242, 4242))]


def test_a_kernel_that_refuses_the_drop_is_one_line_saying_whom_to_run_as(tmp_path, monkeypatch):
    from station import cli

    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)

    def refuse(path):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(datadir, "act_as_owner", refuse)

    class Args:
        command = "users"
        config = None
        data_dir = tmp_path

    with pytest.raises(cli.UserError) as info:
        cli._act_as_data_dir_owner(Args())
    message = str(info.value)
    assert "\n" not in message and "Operation not permitted" in message and "sudo -u" in message


def test_a_data_directory_others_may_write_to_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    check_data_dir(data)
    data.chmod(0o770)
    with pytest.raises(UnsafeDataDir, match="chmod 700"):
        check_data_dir(data)
    data.chmod(0o700)
    (data / "backups").mkdir(mode=0o777)
    (data / "backups").chmod(0o777)
    with pytest.raises(UnsafeDataDir, match="backups may be written by other users"):
        check_data_dir(data)


@needs_root
def test_the_program_run_as_root_loads_the_standard_modules_it_needs_before_giving_up_root(users_dir):
    """Finding 25 of session 23: with nothing imported beforehand (as the installed program starts),
    a command run as root on a directory of another user imports what it needs later before it
    gives up root, so a Python whose library only root may read (as on this machine, under
    /root) still runs it. The old code wrote the backup, then failed in a traceback
    (``No module named '_strptime'``; here ``'base64'`` already)."""
    data, _victim = users_dir
    exe = Path(sys.executable).with_name("balance-station")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "station.cli"]
    env = {**os.environ, "BALANCE_STATION_CONFIG": ""}
    for args in (["backup"], ["backup", "--list"], ["users", "list"], ["protocols", "list"]):
        result = subprocess.run(command + args + ["--data-dir", str(data)], capture_output=True, text=True, cwd=REPO,
                                timeout=120, env=env)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)
    bare = subprocess.run([sys.executable, "-c", f"import sys\nfrom station.store.datadir import act_as_owner\n"
                           f"act_as_owner({str(data)!r})\nprint(sorted({{'_strptime', 'zoneinfo', 'ssl'}} & set(sys.modules)))"],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env={**env, "PYTHONPATH": str(REPO)})
    assert bare.stdout.strip() == "['_strptime', 'ssl', 'zoneinfo']", bare.stderr


@needs_root
def test_another_user_on_the_data_directory_is_told_whom_to_run_as(users_dir):
    """Finding 18 of session 23: a user who may not read the data directory was told only
    ``cannot list .../backups: Permission denied``; now also whose it is and how to run as them."""
    data, victim = users_dir
    theirs = victim.parent / "roots-data"
    shutil.copytree(data, theirs)
    for path in [theirs, *theirs.rglob("*")]:
        os.chown(path, 0, 0)
    theirs.chmod(0o700)  # root's, as a station run by root keeps it
    data.chmod(0o700)  # nobody's, the service user's
    for directory, uid, end in ((theirs, NOBODY, "; it belongs to root, not to this user: run the command with sudo"),
                                (data, NOBODY - 1, "; it belongs to nobody, not to this user: run the command as nobody "
                                 "(sudo -u nobody balance-station ...) or with sudo, which runs it as the data "
                                 "directory's owner")):
        for args in (["users", "list"], ["backup"]):
            result = _child("import os, sys, locale, gettext, argparse, logging, base64, textwrap, _strptime\n"
                            "from station.cli import main\n"
                            f"os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, {uid})\n"
                            f"sys.exit(main({args + ['--data-dir', str(directory)]!r}))")
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
            line = result.stderr.strip().splitlines()[-1]
            assert line.endswith(end) and f"{directory}" in line, line
