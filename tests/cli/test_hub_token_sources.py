"""The station's hub token kept off the command line (station/commands/_hub_token.py): a token file
or the environment, the configuration refused when others may read it, a warning for --hub-token
and for a password in --database."""

from __future__ import annotations

import argparse
import grp
import os

import pytest

from station.cli import UserError, main
from station.commands.sync import add_hub_arguments, hub_settings
from station.config import StationConfig

from postgres_cluster import _free_port

TOKEN = "bst_" + "A1b2" * 10


def _args(*argv: str, config: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_hub_arguments(parser)
    args = parser.parse_args(list(argv))
    args.config = config
    return args


def _token(args, config=None) -> str:
    return hub_settings(args, config or StationConfig()).token


def _file(path, text: str, mode: int):
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture(autouse=True)
def _no_token_in_environment(monkeypatch):
    monkeypatch.delenv("BALANCE_STATION_HUB_TOKEN", raising=False)
    monkeypatch.delenv("BALANCE_STATION_CONFIG", raising=False)


def test_token_file_owner_only_is_read_and_anything_else_is_one_line(tmp_path, capsys):
    good = _file(tmp_path / "token", TOKEN + "\n", 0o600)
    assert _token(_args("--hub-token-file", str(good))) == TOKEN
    assert capsys.readouterr().err == ""  # nothing to warn about
    for path, mode, text, expected in (
        (tmp_path / "open", 0o644, TOKEN, "is readable by every user (mode 0644)"),
        (tmp_path / "empty", 0o600, "\n", "holds no token on its first line"),
        (tmp_path / "spaces", 0o600, "bst_a b\n", "holds no token on its first line"),
    ):
        _file(path, text, mode)
        with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            _token(_args("--hub-token-file", str(path)))
    with pytest.raises(UserError, match="no such file"):
        _token(_args("--hub-token-file", str(tmp_path / "missing")))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another group needs root")
def test_a_group_may_read_the_file_only_if_it_is_ours_alone(tmp_path):
    path = _file(tmp_path / "token", TOKEN, 0o640)
    os.chown(path, -1, os.getegid())
    if set(grp.getgrgid(os.getegid()).gr_mem) - {"root"}:
        pytest.skip("this process's group has other members here")
    assert _token(_args("--hub-token-file", str(path))) == TOKEN
    other = next(g for g in grp.getgrall() if g.gr_gid != os.getegid())
    os.chown(path, -1, other.gr_gid)
    with pytest.raises(UserError, match=f"readable by group {other.gr_name}"):
        _token(_args("--hub-token-file", str(path)))


def test_environment_then_configuration_and_a_warning_only_for_a_token_on_the_command_line(
        tmp_path, monkeypatch, capsys):
    config = _file(tmp_path / "station.toml", f'[hub]\nurl = "https://hub.example"\ntoken = "{TOKEN}"\n', 0o600)
    from station.config_file import load_station_config

    loaded = load_station_config(config)
    assert _token(_args(config=str(config)), loaded) == TOKEN
    monkeypatch.setenv("BALANCE_STATION_HUB_TOKEN", "bst_from_env")
    assert _token(_args(config=str(config)), loaded) == "bst_from_env"  # the environment comes first
    assert capsys.readouterr().err == ""
    assert _token(_args("--hub-token", TOKEN)) == TOKEN  # still accepted (the interface)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: --hub-token puts the station token on the command line" in err
    assert TOKEN not in err and "--hub-token-file" in err
    assert _token(_args("--hub-token", "not-a-station-token")) == "not-a-station-token"
    assert capsys.readouterr().err == ""  # not a station token: nothing secret to warn about
    with pytest.raises(SystemExit):
        _args("--hub-token", TOKEN, "--hub-token-file", str(config))


def test_configuration_holding_a_token_readable_by_others_is_refused(tmp_path, capsys, monkeypatch):
    config = _file(tmp_path / "station.toml", f'[hub]\nurl = "http://127.0.0.1:9"\ntoken = "{TOKEN}"\n', 0o644)
    status = main(["sync", "--once", "--config", str(config), "--data-dir", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and TOKEN not in err
    assert f"{config} holds [hub] token but is readable by every user (mode 0644)" in err and "chmod 600" in err
    config.chmod(0o600)  # then it is used: the (absent) hub is what fails
    status = main(["sync", "--once", "--config", str(config), "--data-dir", str(tmp_path / "s")])
    assert status == 1 and "cannot reach the hub" in capsys.readouterr().err
    no_token = _file(tmp_path / "plain.toml", '[web]\nport = 8001\n', 0o644)  # no token: its mode is no concern
    assert _token(_args(config=str(no_token))) == ""


def test_run_refuses_an_unsafe_token_file_in_one_line_before_starting(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    path = _file(tmp_path / "token", TOKEN, 0o604)
    status = main(["run", "--simulate", "--port", str(_free_port()), "--data-dir", str(tmp_path / "d"),
                   "--hub", "http://127.0.0.1:9", "--hub-token-file", str(path)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "is readable by every user (mode 0604)" in err
    assert "Traceback" not in err and TOKEN not in err


def test_a_password_in_database_on_the_command_line_is_warned_about(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BALANCE_STATION_DATABASE", raising=False)
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    url = f"postgresql://hub:pw-{TOKEN}@127.0.0.1:{_free_port()}/balance"
    assert main(["backup", "--database", url, "--data-dir", str(tmp_path)]) == 1
    warning, error = capsys.readouterr().err.splitlines()
    assert "warning: the password in --database is on the command line" in warning and "~/.pgpass" in warning
    assert "cannot connect" in error and TOKEN not in warning + error
    monkeypatch.setenv("BALANCE_STATION_DATABASE", url)  # from the environment: no warning
    assert main(["backup", "--data-dir", str(tmp_path)]) == 1
    assert "warning" not in capsys.readouterr().err
