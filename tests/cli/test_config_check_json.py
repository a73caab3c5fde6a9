"""``balance-station config check --json``: the three answers systemd/install.sh read from three starts of the
station's command (``config check``, ``config show --json``, ``config proxy``), each as that command gives it, from
one start (s32 Q, item 2: ~0.15 CPU-s a start here, seconds on a Pi)."""

from __future__ import annotations

import json
from pathlib import Path

from station.cli import main

CA = "/etc/balance-station/tls/ca.crt"


def _file(tmp_path: Path, text: str, name: str = "station.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    said = capsys.readouterr()
    return status, said.out, said.err


TLS = '[web]\ntls_cert = "/etc/balance-station/tls/station.crt"\ntls_key = "/etc/balance-station/tls/station.key"\n'


def test_a_valid_file_answers_the_check_the_values_and_the_nginx_site_as_each_command_does(tmp_path, capsys):
    path = _file(tmp_path, "[plate]\nwidth_cm = 41\n" + TLS)
    status, out, err = _run(capsys, "config", "check", "--json", "--ca-cert", CA, "--config", str(path))
    assert status == 0, err
    answers = json.loads(out)
    assert _run(capsys, "config", "check", "--config", str(path))[1] == answers["valid"] + "\n"
    shown = json.loads(_run(capsys, "config", "show", "--json", "--config", str(path))[1])
    assert {k: answers[k] for k in ("file", "config")} == shown
    assert answers["config"]["plate"]["width_cm"] == 41
    proxy_status, site, _ = _run(capsys, "config", "proxy", "--ca-cert", CA, "--config", str(path))
    assert proxy_status == 0 and answers["proxy"] == {"site": site}
    assert f'"{CA}"' in site


def test_a_site_proxy_refuses_is_its_words_and_exit_status_the_file_still_valid(tmp_path, capsys):
    """No certificate set (the built-in defaults): the check passes, the site cannot be made; the answer is proxy's
    line and status, for the installer to stop with."""
    path = _file(tmp_path, "[plate]\nwidth_cm = 41\n")
    status, out, _ = _run(capsys, "config", "check", "--json", "--config", str(path))
    assert status == 0
    proxy_status, site, proxy_err = _run(capsys, "config", "proxy", "--config", str(path))
    assert proxy_status == 1 and site == ""
    words = json.loads(out)["proxy"]
    assert words["exit_status"] == proxy_status and proxy_err == f"balance-station config: {words['error']}\n"
    assert "web.tls_cert and web.tls_key are not set" in words["error"]


def test_an_invalid_file_is_refused_as_check_refuses_it_with_nothing_on_stdout(tmp_path, capsys):
    path = _file(tmp_path, "[plate]\nwidth_cm = 41\nadc_gain = 3\n" + TLS)
    status, out, err = _run(capsys, "config", "check", "--json", "--config", str(path))
    assert (status, out) == (1, "")
    assert err == _run(capsys, "config", "check", "--config", str(path))[2]
    assert f"{path}:3: plate.adc_gain = 3: allowed: one of 1, 2, 4" in err and "Traceback" not in err
