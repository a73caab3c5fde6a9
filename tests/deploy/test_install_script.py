"""systemd/install.sh --root DIR: what it writes, that a second run changes nothing, that an edited
configuration survives, and systemd/uninstall.sh. Needs root (chown), systemd-sysusers, openssl."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from station.config_file import load_station_config
from station.tls_proxy import render_nginx_site

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"
UNINSTALL = REPO / "systemd" / "uninstall.sh"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="install.sh creates users and chowns files: run the tests as root"),
    pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers not installed (Debian package systemd)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
]

PI_CONFIG_TXT = "# Raspberry Pi config\ndtparam=audio=on\n\n[pi4]\narm_boost=1\n"


def fake_server(root: Path) -> Path:
    """A fresh Debian system with nginx (the parts we touch): no Raspberry Pi boot partition."""
    sites = root / "etc" / "nginx"
    (sites / "sites-available").mkdir(parents=True)
    (sites / "sites-enabled").mkdir()
    (sites / "sites-available" / "default").write_text("server { listen 80 default_server; }\n")
    (sites / "sites-enabled" / "default").symlink_to("/etc/nginx/sites-available/default")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    return root


def fake_pi(root: Path) -> Path:
    """A root file system as a fresh Raspberry Pi OS with nginx leaves it (the parts we touch)."""
    fake_server(root)
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(PI_CONFIG_TXT)
    (root / "etc" / "group").write_text("root:x:0:\ni2c:x:994:\n")  # Pi OS has i2c (and gpio) already
    return root


def run_install(root: Path, *extra: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """install.sh --root ROOT --hostname station EXTRA... With --no-venv, the checkout's code runs in this
    interpreter (--python; it has the station's packages): a version manager's python3 (pyenv's shim, a
    bash script that runs `pyenv exec`) costs ~0.08 CPU-s a start, and a run starts Python ~10 times
    (~0.75 of its ~1.6 CPU-s on the development machine, 2026-12-07). The installs with a virtual
    environment keep python3, as a Pi's."""
    python = ("--python", sys.executable) if "--no-venv" in extra and "--python" not in extra else ()
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--hostname", "station", *python, *extra],
        capture_output=True, text=True, timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every path under root (but the folder ``skip`` under it and what it holds): type, mode, owner,
    and content hash or link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath) == root / skip.parent:
            dirnames[:] = [d for d in dirnames if d != skip.name]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                            hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def ids(root: Path, db: str, name: str) -> int:
    for line in (root / "etc" / db).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2])
    raise AssertionError(f"{name} not in {db}")


def mode_owner(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def logging_python(folder: Path) -> Path:
    """An interpreter (this one) that writes each start's arguments as a line of ``folder/starts`` first."""
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >>{str(folder / "starts")!r}\nexec {sys.executable!r} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One staged installation (without a virtual environment), shared by the read-only tests; each start of
    its Python in ``starts`` beside the root."""
    root = fake_pi(tmp_path_factory.mktemp("pi") / "root")
    result = run_install(root, "--no-venv", "--python", str(logging_python(root.parent)))
    return root, result


def test_one_start_of_the_station_command_answers_the_check_the_settings_and_the_nginx_site(installed):
    """config check, config show --json and config proxy were three starts (~0.15 CPU-s each here, seconds on a
    Pi): one now, config check --json (s32 Q, item 2); the site it gives is the one installed
    (test_nginx_site_is_rendered_from_the_installed_configuration)."""
    root, _ = installed
    starts = (root.parent / "starts").read_text().splitlines()
    configs = [s for s in starts if "-m station.cli" in s and " config " in s]
    assert configs == [f"-m station.cli --config {root}/etc/balance-station/station.toml config check --json "
                       "--ca-cert /etc/balance-station/tls/ca.crt"], starts


def test_a_site_config_proxy_refuses_stops_the_install_with_its_words_and_status(tmp_path):
    """The nginx site comes from the check's answers: where config proxy would refuse it (a path nginx cannot
    quote), the install stops at the site, with proxy's line and exit status, as when it ran config proxy."""
    root = fake_pi(tmp_path / "root")
    config = root / "etc/balance-station/station.toml"
    config.parent.mkdir(parents=True)
    text = (REPO / "systemd/station.toml").read_text()
    assert '\ntls_key = "/etc/balance-station/tls/server.key"\n' in text
    config.write_text(text.replace('\ntls_key = "/etc/balance-station/tls/server.key"\n',
                                   '\ntls_key = "/etc/balance-station/tls/server;key"\n'))
    result = run_install(root, "--no-venv", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "balance-station config: '/etc/balance-station/tls/server;key': nginx paths may not contain quotes, "
        "backslashes, ';', '{' or '}'"), result.stderr
    assert not (root / "etc/nginx/sites-available/balance-station").exists()


def test_creates_the_user_in_the_device_groups(installed):
    root, _ = installed
    passwd = (root / "etc" / "passwd").read_text()
    assert "root:x:0:0:" in passwd  # untouched
    line = next(l for l in passwd.splitlines() if l.startswith("balance-station:"))
    assert line.split(":")[5] == "/var/lib/balance-station"
    groups = {l.split(":")[0]: l.split(":") for l in (root / "etc" / "group").read_text().splitlines()}
    assert groups["i2c"][2] == "994"  # the existing group is kept, the user added to it
    assert "balance-station" in groups["i2c"][3].split(",")
    assert "balance-station" in groups["gpio"][3].split(",")
    uid = ids(root, "passwd", "balance-station")
    assert 0 < uid < 1000  # a system user


def test_writes_configuration_state_directory_and_units(installed):
    root, _ = installed
    gid = ids(root, "group", "balance-station")
    uid = ids(root, "passwd", "balance-station")
    config = root / "etc/balance-station/station.toml"
    assert config.read_bytes() == (REPO / "systemd/station.toml").read_bytes()
    assert mode_owner(config) == (0o640, 0, gid)
    assert not (root / "etc/balance-station/station.toml.dist").exists()
    assert mode_owner(root / "var/lib/balance-station") == (0o700, uid, gid)
    for unit in ("balance-station.service", "balance-station-backup.service", "balance-station-backup.timer"):
        path = root / "etc/systemd/system" / unit
        assert path.read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert mode_owner(path) == (0o644, 0, 0)
    wants = root / "etc/systemd/system/multi-user.target.wants/balance-station.service"
    assert os.readlink(wants) == "/etc/systemd/system/balance-station.service"
    timer = root / "etc/systemd/system/timers.target.wants/balance-station-backup.timer"
    assert os.readlink(timer) == "/etc/systemd/system/balance-station-backup.timer"
    assert (root / "etc/sysusers.d/balance-station.conf").exists()
    assert (root / "etc/modules-load.d/balance-station.conf").read_text().strip().endswith("i2c-dev")
    assert (root / "etc/udev/rules.d/60-balance-station.rules").exists()
    assert not (root / "opt/balance-station/venv").exists()  # --no-venv
    assert (root / "opt/balance-station/doc/README.md").exists()


def test_enables_i2c_at_400khz_for_every_pi_model(installed):
    root, _ = installed
    text = (root / "boot/firmware/config.txt").read_text()
    assert text.startswith(PI_CONFIG_TXT)
    added = text[len(PI_CONFIG_TXT):].splitlines()
    # [all] before the include: after "[pi4]" it would otherwise apply to Pi 4 boards only
    assert added[added.index("include balance-station.txt") - 1] == "[all]"
    assert text.count("include balance-station.txt") == 1
    fragment = (root / "boot/firmware/balance-station.txt").read_text()
    assert "dtparam=i2c_arm=on" in fragment.splitlines()
    assert "dtparam=i2c_arm_baudrate=400000" in fragment.splitlines()


def openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def test_tls_a_local_ca_and_a_certificate_for_the_tablet(installed):
    root, _ = installed
    tls = root / "etc/balance-station/tls"
    assert mode_owner(tls / "ca.key") == (0o600, 0, 0)
    assert mode_owner(tls / "server.key") == (0o600, 0, 0)
    assert mode_owner(tls / "ca.crt")[0] == 0o644  # nginx serves it at /ca.crt
    assert "OK" in openssl("verify", "-CAfile", str(tls / "ca.crt"), str(tls / "server.crt"))
    text = openssl("x509", "-in", str(tls / "server.crt"), "-noout", "-text")
    assert "DNS:station.local" in text and "IP Address:127.0.0.1" in text
    assert "TLS Web Server Authentication" in text
    ca_text = openssl("x509", "-in", str(tls / "ca.crt"), "-noout", "-text")
    assert "Name Constraints: critical" in ca_text and "DNS:local" in ca_text
    # 825 days at most (iOS), so the tablet accepts it
    days = int(subprocess.run(
        ["bash", "-c", f"echo $(( ($(date -d \"$(openssl x509 -in {tls}/server.crt -noout -enddate | cut -d= -f2)\" +%s) - $(date +%s)) / 86400 ))"],
        capture_output=True, text=True, check=True).stdout)
    assert 820 <= days <= 825
    # the key matches the certificate
    assert openssl("x509", "-in", str(tls / "server.crt"), "-noout", "-pubkey") == openssl(
        "pkey", "-in", str(tls / "server.key"), "-pubout")


def test_nginx_site_is_rendered_from_the_installed_configuration(installed):
    root, _ = installed
    site = root / "etc/nginx/sites-available/balance-station"
    config = load_station_config(root / "etc/balance-station/station.toml")
    assert site.read_text() == render_nginx_site(config, Path("/etc/balance-station/tls/ca.crt"))
    assert os.readlink(root / "etc/nginx/sites-enabled/balance-station") == "/etc/nginx/sites-available/balance-station"
    assert not (root / "etc/nginx/sites-enabled/default").exists()  # the example site no longer claims port 80
    assert (root / "etc/nginx/sites-available/default").exists()  # but is not deleted


DEBIAN_NGINX_CONF = """user www-data;
worker_processes auto;
pid /run/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;

events {
\tworker_connections 768;
\t# multi_accept on;
}

http {
\tinclude /etc/nginx/sites-enabled/*;
}
"""
"""The lines of Debian's /etc/nginx/nginx.conf the installer reads (bookworm's nginx 1.22)."""


def test_nginx_is_given_connections_enough_for_many_stalled_clients(tmp_path):
    """Debian's 768 connections a worker are held by a few hundred stalled requests from the LAN, and every
    tablet's request is refused meanwhile (README, "Security", s29 X10: measured with the site). The installer
    raises them to 4096 with the files to hold them, once; a value set by hand stays."""
    root = fake_server(tmp_path / "root")
    conf = root / "etc/nginx/nginx.conf"
    conf.write_text(DEBIAN_NGINX_CONF)
    result = run_install(root, "--no-venv")
    lines = conf.read_text().splitlines()
    assert "\tworker_connections 4096;  # balance-station (systemd/install.sh): was 768" in lines
    assert lines[1:3] == ["worker_processes auto;", "worker_rlimit_nofile 16384;  # balance-station (systemd/install.sh)"]
    assert "worker_connections from 768 to 4096" in result.stdout
    edited = conf.read_text()
    assert edited.replace("  # balance-station (systemd/install.sh): was 768", "").replace(
        "worker_connections 4096", "worker_connections 768").replace(
        "worker_rlimit_nofile 16384;  # balance-station (systemd/install.sh)\n", "") == DEBIAN_NGINX_CONF
    run_install(root, "--no-venv")
    assert conf.read_text() == edited  # once

    conf.write_text(DEBIAN_NGINX_CONF.replace("768", "2048").replace("worker_processes auto;", "worker_processes 2;\n"
                                                                      "worker_rlimit_nofile 4096;"))
    kept = conf.read_text()
    run_install(root, "--no-venv")
    assert conf.read_text() == kept  # set by hand: left


def test_prints_the_address_for_the_tablet(installed):
    _, result = installed
    assert "Open on the tablet:  https://station.local/" in result.stdout
    assert "http://station.local/ca.crt" in result.stdout
    assert "SHA-256 fingerprint" in result.stdout
    assert "Reboot once" in result.stdout
    assert "nothing was started" in result.stdout


def test_second_run_changes_nothing_and_an_edited_configuration_survives(tmp_path):
    root = fake_pi(tmp_path / "root")
    run_install(root, "--no-venv")
    db = root / "var/lib/balance-station/station.sqlite3"
    db.write_bytes(b"patient data")
    first = snapshot(root)
    again = run_install(root, "--no-venv")
    assert "nothing to change" in again.stdout
    assert "Reboot once" not in again.stdout
    assert snapshot(root) == first  # incl. data, CA and certificate: nothing rewritten
    assert db.read_bytes() == b"patient data"

    config = root / "etc/balance-station/station.toml"
    edited = config.read_text().replace("width_cm = 40.0", "width_cm = 51.5")
    config.write_text(edited)
    os.chmod(config, 0o600)  # also a wrong mode: the installer restores 0640 root:balance-station
    update = run_install(root, "--no-venv")
    assert config.read_text() == edited
    assert load_station_config(config).plate.width_cm == 51.5
    assert mode_owner(config) == (0o640, 0, ids(root, "group", "balance-station"))
    dist = root / "etc/balance-station/station.toml.dist"
    assert dist.read_bytes() == (REPO / "systemd/station.toml").read_bytes()
    assert "wrote /etc/balance-station/station.toml.dist" in update.stdout
    after = snapshot(root)
    changed = {k for k in set(first) | set(after) if first.get(k) != after.get(k)}
    assert changed == {"etc/balance-station/station.toml", "etc/balance-station/station.toml.dist"}
    assert run_install(root, "--no-venv").stdout.count("wrote") == 0


def test_certificate_is_reissued_for_a_new_host_name_by_the_same_ca(tmp_path):
    root = fake_pi(tmp_path / "root")
    (root / "etc/hostname").write_text("station\n")  # the machine's name, as run_install's --hostname
    run_install(root, "--no-venv")
    tls = root / "etc/balance-station/tls"
    ca, server = (tls / "ca.crt").read_bytes(), (tls / "server.crt").read_bytes()
    result = run_install(root, "--hostname", "plate2", "--no-venv")
    assert (tls / "ca.crt").read_bytes() == ca
    assert (tls / "server.crt").read_bytes() != server
    assert "DNS:plate2.local" in openssl("x509", "-in", str(tls / "server.crt"), "-noout", "-ext", "subjectAltName")
    assert "https://plate2.local/" in result.stdout
    # the station answers only its own names: a certificate's name that is not the machine's is said
    assert ("warning: the certificate names plate2.local, but this machine is named station, and the station "
            "answers only its own names") in result.stdout
    assert 'add host_names = ["plate2.local"] under [web] in /etc/balance-station/station.toml' in result.stdout
    config = root / "etc/balance-station/station.toml"
    config.write_text(config.read_text().replace("host_names = []", 'host_names = ["plate2.local"]', 1))
    again = run_install(root, "--hostname", "plate2", "--no-venv")
    assert "warning: the certificate names" not in again.stdout, again.stdout
    assert "warning: the certificate names" not in run_install(root, "--no-venv").stdout  # the machine's own name


def test_an_invalid_configuration_stops_the_update_with_the_key_and_line(tmp_path):
    root = fake_pi(tmp_path / "root")
    run_install(root, "--no-venv")
    config = root / "etc/balance-station/station.toml"
    config.write_text(config.read_text().replace("adc_gain = 128", "adc_gain = 100"))
    unit = root / "etc/systemd/system/balance-station.service"
    unit.write_text("# an older unit\n")
    result = run_install(root, "--no-venv", check=False)
    assert result.returncode == 1
    line = next(n for n, l in enumerate(config.read_text().splitlines(), 1) if l.startswith("adc_gain"))
    assert f"station.toml:{line}: plate.adc_gain = 100: allowed: one of 1, 2, 4, 8, 16, 32, 64, 128" in result.stderr
    assert "the running station was not changed" in result.stderr
    assert unit.read_text() == "# an older unit\n"  # units untouched


def test_bad_usage(tmp_path):
    result = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path / "absent")], capture_output=True, text=True)
    assert result.returncode == 1 and "no such directory" in result.stderr
    result = subprocess.run(["bash", str(INSTALL), "--frobnicate"], capture_output=True, text=True)
    assert result.returncode == 1 and "unknown option '--frobnicate'" in result.stderr
    result = subprocess.run(["bash", str(INSTALL), "--root", str(tmp_path), "--hostname", "bad_name!"],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "not a valid DNS label" in result.stderr


def test_without_a_pi_boot_partition_it_warns(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    result = run_install(root, "--no-venv")
    assert "warning: no Raspberry Pi boot configuration" in result.stdout
    assert not (root / "boot").exists()


def test_uninstall_keeps_data_and_configuration_then_purge_removes_them(tmp_path):
    root = fake_pi(tmp_path / "root")
    before = snapshot(root)
    run_install(root, "--no-venv")
    (root / "var/lib/balance-station/station.sqlite3").write_bytes(b"patient data")
    result = subprocess.run(["bash", str(UNINSTALL), "--root", str(root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (root / "boot/firmware/config.txt").read_text() == PI_CONFIG_TXT
    assert (root / "var/lib/balance-station/station.sqlite3").read_bytes() == b"patient data"
    assert (root / "etc/balance-station/station.toml").exists()
    assert (root / "etc/balance-station/tls/ca.key").exists()
    for gone in ("etc/systemd/system/balance-station.service", "etc/systemd/system/multi-user.target.wants",
                 "opt/balance-station", "etc/nginx/sites-enabled/balance-station", "boot/firmware/balance-station.txt"):
        assert not (root / gone).exists(), gone
    # reinstalling reuses what was kept
    ca = (root / "etc/balance-station/tls/ca.crt").read_bytes()
    run_install(root, "--no-venv")
    assert (root / "etc/balance-station/tls/ca.crt").read_bytes() == ca

    result = subprocess.run(["bash", str(UNINSTALL), "--root", str(root), "--purge"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (root / "var/lib/balance-station").exists()
    assert not (root / "etc/balance-station").exists()
    assert "balance-station:" not in (root / "etc/passwd").read_text()
    after = snapshot(root)
    # what remains beyond the fresh system: empty directories, the shadow files and the "-"
    # copies userdel keeps, the groups the user was in, and the example nginx site left disabled
    extra = {k for k in after if k not in before and after[k][0] != "dir"}
    assert extra <= {"etc/gshadow", "etc/shadow", "etc/.pwd.lock", "etc/passwd-", "etc/group-",
                     "etc/shadow-", "etc/gshadow-"}, extra
    assert after["etc/nginx/sites-available/default"] == before["etc/nginx/sites-available/default"]


VENV = Path("opt/balance-station/venv")


@pytest.fixture(scope="module")
def venv_installation(tmp_path_factory) -> Path:
    """A fresh installation of this checkout with its virtual environment (python3 -m venv, pip
    install), made once: ~19 CPU-s, most of the cost of a test that needs one. Never changed: the
    tests that update or inspect an installation take a copy (:func:`copy_installation`)."""
    root = fake_pi(tmp_path_factory.mktemp("installed") / "root")
    run_install(root, timeout=600)
    return root


def copy_installation(installed: Path, dest: Path, part: Path = Path(".")) -> Path:
    """``installed`` (or its ``part``, the virtual environment alone) copied to ``dest`` as if installed
    there: pip writes the virtual environment's absolute path into its scripts' #! lines
    (bin/balance-station, bin/pip), so those are pointed at the copy's own interpreter (else they would
    run the original's code)."""
    (dest / part).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(installed / part), str(dest / part)], check=True)
    old, new = bytes(installed / VENV), bytes(dest / VENV)
    for script in (dest / VENV / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            text = script.read_bytes()
            if text.startswith(b"#!") and old in text:
                script.write_bytes(text.replace(old, new))
    return dest


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (Debian package systemd)")
def test_full_install_with_virtual_environment_and_units_verified(venv_installation, tmp_path):
    """The real thing: the checkout installed into DIR/opt/balance-station/venv, then the installed
    units checked by systemd-analyze with their ExecStart pointing at that installation."""
    root = copy_installation(venv_installation, tmp_path / "root")
    venv_cmd = root / "opt/balance-station/venv/bin/balance-station"
    version = subprocess.run([str(venv_cmd), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("balance-station ")
    assert os.readlink(root / "usr/local/bin/balance-station") == "/opt/balance-station/venv/bin/balance-station"
    check = subprocess.run([str(venv_cmd), "--config", str(root / "etc/balance-station/station.toml"), "config", "check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    first = snapshot(root, skip=VENV)
    run_install(root)  # an update from the same checkout: the venv is refreshed, nothing else moves
    second = snapshot(root, skip=VENV)
    assert "opt/balance-station/doc/README.md" in first and not any(k.startswith(str(VENV)) for k in first)
    outside_venv = {k for k in set(first) | set(second) if first.get(k) != second.get(k)}
    assert outside_venv == set()

    staged = tmp_path / "units"
    staged.mkdir()
    for unit in ("balance-station.service", "balance-station-backup.service", "balance-station-backup.timer"):
        text = (root / "etc/systemd/system" / unit).read_text()
        (staged / unit).write_text(text.replace("/opt/balance-station/", f"{root}/opt/balance-station/"))
    for unit in ("balance-station.service", "balance-station-backup.service", "balance-station-backup.timer"):
        result = subprocess.run(["systemd-analyze", "verify", str(staged / unit)], capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr.strip() == "", f"{unit}: {result.stderr}"

    # the copy (copy_installation, as the update tests start from) runs its own code, not the original's
    (cli,) = (root / VENV / "lib").glob("python3*/site-packages/station/cli.py")
    cli.write_text(cli.read_text() + "\nimport sys; sys.stderr.write('the copy\\n')\n")
    assert "the copy" in subprocess.run([str(venv_cmd), "--version"], capture_output=True, text=True, check=True).stderr
    original = venv_installation / VENV / "bin/balance-station"
    assert "the copy" not in subprocess.run([str(original), "--version"], capture_output=True, text=True, check=True).stderr


def checkout_copy(dest: Path) -> Path:
    """The repository's tracked files (as in the work tree) copied to dest: a checkout to change."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        src = REPO / name
        if name and src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_an_update_checks_the_configuration_with_the_new_code_before_installing_it(venv_installation, tmp_path):
    """A newer version that refuses the installed configuration (here: a plate gain it no longer
    allows) stops the update before the virtual environment holds the new code: the service, when
    it restarts for any reason, still starts the version that accepts the configuration."""
    src = checkout_copy(tmp_path / "src")  # the newer version's checkout
    root = copy_installation(venv_installation, tmp_path / "root")  # the installed station
    install = [str(src / "systemd/install.sh"), "--root", str(root), "--hostname", "station"]  # run in the checkout
    keys = src / "station/config_keys.py"
    text = keys.read_text()
    assert "_int_choice((1, 2, 4, 8, 16, 32, 64, 128)" in text
    keys.write_text(text.replace("_int_choice((1, 2, 4, 8, 16, 32, 64, 128)", "_int_choice((1, 2, 4, 8, 16, 32, 64)")
                    + "\nNEW_VERSION_MARKER = 1\n")
    update = subprocess.run(["bash", *install], capture_output=True, text=True, timeout=300, cwd=src)
    assert update.returncode == 1
    assert "plate.adc_gain = 128: allowed: one of 1, 2, 4, 8, 16, 32, 64" in update.stderr
    assert "the running station was not changed" in update.stderr
    installed = list((root / "opt/balance-station/venv/lib").glob("python3*/site-packages/station/config_keys.py"))
    assert len(installed) == 1
    assert "NEW_VERSION_MARKER" not in installed[0].read_text()  # the venv still holds the old code
    venv_cmd = root / "opt/balance-station/venv/bin/balance-station"
    check = subprocess.run([str(venv_cmd), "--config", str(root / "etc/balance-station/station.toml"), "config", "check"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0, check.stderr  # what the service would start still accepts it

    config = root / "etc/balance-station/station.toml"
    config.write_text(config.read_text().replace("adc_gain = 128", "adc_gain = 64"))
    fixed = subprocess.run(["bash", *install], capture_output=True, text=True, timeout=300, cwd=src)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "NEW_VERSION_MARKER" in installed[0].read_text()
    # pip built the checkout out of it: no build/ nor balance_station.egg-info/ left in it (s32 Q, item 2)
    assert not (src / "build").exists() and not list(src.glob("*.egg-info")), sorted(p.name for p in src.iterdir())


def test_a_station_that_syncs_to_a_hub_may_reach_it_and_the_clinic_network(tmp_path):
    """The unit allows localhost only; with [hub] url set, a drop-in also allows the hub: its
    address alone when the url names it by address, else the clinic's private networks (the hub,
    whose address may change, and the router's name server) and the hub's addresses now."""
    import ipaddress

    root = fake_pi(tmp_path / "root")
    run_install(root, "--no-venv")
    dropin = root / "etc/systemd/system/balance-station.service.d/hub.conf"
    assert not dropin.exists()  # no hub: localhost only
    config = root / "etc/balance-station/station.toml"
    alone = config.read_text()

    def allowed() -> list:
        lines = [l for l in dropin.read_text().splitlines() if l and not l.startswith("#")]
        assert lines[0] == "[Service]"
        (allow,) = [l.split("=", 1)[1].split() for l in lines if l.startswith("IPAddressAllow=")]
        return [ipaddress.ip_network(a) for a in allow]

    config.write_text(alone.replace('url = ""', 'url = "https://hub.invalid:8443"', 1))  # a name
    result = run_install(root, "--no-venv")
    assert "wrote /etc/systemd/system/balance-station.service.d/hub.conf" in result.stdout
    assert "the hub's name hub.invalid does not resolve now" in result.stdout + result.stderr
    assert mode_owner(dropin) == (0o644, 0, 0)
    networks = allowed()
    for reached in ("192.168.1.20", "10.1.2.3", "172.20.0.5", "fd00::5", "169.254.3.4"):
        assert any(ipaddress.ip_address(reached) in n for n in networks), reached
    for public in ("8.8.8.8", "1.1.1.1", "2001:4860::8888"):
        assert not any(ipaddress.ip_address(public) in n for n in networks), public
    assert "private networks" in dropin.read_text()
    assert run_install(root, "--no-venv").stdout.count("wrote") == 0  # idempotent

    # by address: that address alone, not the clinic's other machines
    config.write_text(alone.replace('url = ""', 'url = "https://192.168.1.30:8443"', 1))
    assert "wrote /etc/systemd/system/balance-station.service.d/hub.conf" in run_install(root, "--no-venv").stdout
    assert allowed() == [ipaddress.ip_network("192.168.1.30/32")]
    assert "the hub's address alone" in dropin.read_text()
    config.write_text(alone.replace('url = ""', 'url = "https://[fd00::30]/"', 1))
    run_install(root, "--no-venv")
    assert allowed() == [ipaddress.ip_network("fd00::30/128")]
    config.write_text(alone.replace('url = ""', 'url = "https://[fe80::30%25eth0]/"', 1))  # link-local, its zone
    run_install(root, "--no-venv")
    assert allowed() == [ipaddress.ip_network("fe80::30/128")]

    config.write_text(alone)  # no hub any more: the drop-in goes
    result = run_install(root, "--no-venv")
    assert "removed /etc/systemd/system/balance-station.service.d/hub.conf" in result.stdout
    assert not dropin.parent.exists()


def test_a_fresh_station_prints_a_one_time_setup_code_the_setup_asks_for(installed):
    """First-run setup of an installed station is not open to the first device on the clinic's
    network: it asks for the code the installer made and printed (station/store/setup_code.py)."""
    import re

    from station.store.setup_code import SETUP_CODE_FILENAME, refusal

    root, result = installed
    code_file = root / "var/lib/balance-station" / SETUP_CODE_FILENAME
    uid = ids(root, "passwd", "balance-station")
    assert mode_owner(code_file) == (0o600, uid, ids(root, "group", "balance-station"))
    (printed,) = re.findall(r"^    (\d{4}-\d{4}-\d{4})$", result.stdout, re.M)
    assert code_file.read_text().strip() == printed
    assert "the tablet asks for this setup code" in result.stdout
    assert "sudo balance-station users add NAME --role admin" in result.stdout
    data_dir = code_file.parent
    assert refusal(data_dir, printed) is None and refusal(data_dir, "0000-0000-0000") is not None


# -- the clinic's hub: install.sh --hub (finding 5 of session 23's review) -------------------------


HUB_UNITS = ("balance-station-hub.service", "balance-station-hub-backup.service", "balance-station-hub-backup.timer")


def test_the_hub_installs_its_user_configuration_units_and_proxy_and_no_station(tmp_path):
    root = fake_server(tmp_path / "root")
    result = run_install(root, "--no-venv", "--hub", "--hostname", "hub")
    passwd = (root / "etc/passwd").read_text()
    assert "balance-station:" not in passwd
    uid, gid = ids(root, "passwd", "balance-hub"), ids(root, "group", "balance-hub")
    assert 0 < uid < 1000
    # its configuration: readable by the hub's user (the unit's --config), its own data directory
    config = root / "etc/balance-station/hub.toml"
    assert mode_owner(config) == (0o640, 0, gid)
    assert str(load_station_config(config).data_dir) == "/var/lib/balance-hub"
    assert not (root / "etc/balance-station/station.toml").exists()
    assert mode_owner(root / "var/lib/balance-hub") == (0o700, uid, gid)
    for unit in HUB_UNITS:
        assert (root / "etc/systemd/system" / unit).read_bytes() == (REPO / "systemd" / unit).read_bytes()
    assert os.readlink(root / "etc/systemd/system/multi-user.target.wants/balance-station-hub.service") \
        == "/etc/systemd/system/balance-station-hub.service"
    assert os.readlink(root / "etc/systemd/system/timers.target.wants/balance-station-hub-backup.timer") \
        == "/etc/systemd/system/balance-station-hub-backup.timer"
    # nothing of a station
    for absent in ("etc/systemd/system/balance-station.service", "etc/modules-load.d/balance-station.conf",
                   "etc/udev/rules.d/60-balance-station.rules", "var/lib/balance-station", "boot"):
        assert not (root / absent).exists(), absent
    # HTTPS in front of it, as at a station, with a certificate for the hub's name
    tls = root / "etc/balance-station/tls"
    assert "OK" in openssl("verify", "-CAfile", str(tls / "ca.crt"), str(tls / "server.crt"))
    assert "DNS:hub.local" in openssl("x509", "-in", str(tls / "server.crt"), "-noout", "-ext", "subjectAltName")
    site = root / "etc/nginx/sites-available/balance-station"
    assert site.read_text() == render_nginx_site(load_station_config(config), Path("/etc/balance-station/tls/ca.crt"))
    # what to do next, in words: the hub's address, each station's token, CA and settings, the setup code
    out = result.stdout
    assert "The clinic's hub:    https://hub.local/" in out
    assert ("sudo balance-station --config /etc/balance-station/hub.toml hub stations add NAME "
            "--database 'postgresql:///balance?host=/var/run/postgresql'") in out
    assert "copy this server's /etc/balance-station/tls/ca.crt to the station as /etc/balance-station/hub-ca.crt" in out
    assert 'url = "https://hub.local/"' in out and 'ca_file = "/etc/balance-station/hub-ca.crt"' in out
    code = (root / "var/lib/balance-hub/setup-code").read_text().strip()
    assert mode_owner(root / "var/lib/balance-hub/setup-code") == (0o600, uid, gid)
    assert f"    {code}\n" in out
    assert "Open on the tablet" not in out and "Reboot" not in out

    first = snapshot(root)
    assert "nothing to change" in run_install(root, "--no-venv", "--hub", "--hostname", "hub").stdout
    assert snapshot(root) == first
    # one machine, one of the two
    refused = run_install(root, "--no-venv", check=False)
    assert refused.returncode == 1
    assert "/etc/balance-station/hub.toml exists: this machine has the hub installed" in refused.stderr
    assert not (root / "etc/balance-station/station.toml").exists()


def test_a_station_machine_refuses_the_hub(installed):
    root, _ = installed
    refused = run_install(root, "--no-venv", "--hub", check=False)
    assert refused.returncode == 1
    assert "/etc/balance-station/station.toml exists: this machine has the station installed" in refused.stderr
    assert not (root / "etc/balance-station/hub.toml").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (Debian package systemd)")
def test_full_hub_install_has_the_postgresql_driver_and_units_verified(venv_installation, tmp_path):
    """install.sh --hub installs the software with its [hub] extra (psycopg) into the virtual
    environment, and the hub's units pass systemd-analyze. The environment is the station's
    installation's, copied (a fresh one is made as the station's: venv_installation; 15.4 -> 9.1
    CPU-s): psycopg is not in it, nor in python3's own packages."""
    root = fake_server(tmp_path / "root")
    copy_installation(venv_installation, root, VENV)
    assert subprocess.run([str(root / VENV / "bin/python"), "-I", "-c", "import psycopg"], capture_output=True).returncode != 0
    run_install(root, "--hub", "--hostname", "hub", timeout=600)
    venv_python = root / "opt/balance-station/venv/bin/python"
    driver = subprocess.run([str(venv_python), "-I", "-c", "import psycopg; print(psycopg.__version__)"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert driver.returncode == 0, driver.stderr  # pip install '<checkout>[hub]'
    staged = tmp_path / "units"
    staged.mkdir()
    for unit in HUB_UNITS:
        text = (root / "etc/systemd/system" / unit).read_text()
        (staged / unit).write_text(text.replace("/opt/balance-station/", f"{root}/opt/balance-station/"))
    for unit in HUB_UNITS:
        result = subprocess.run(["systemd-analyze", "verify", str(staged / unit)], capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr.strip() == "", f"{unit}: {result.stderr}"


def test_the_installed_guides_link_to_each_other(installed):
    """/opt/balance-station/doc holds the guides side by side: every relative link in them leads to
    a file there (finding 22: the copied README linked ../docs/wiring.md, wiring.md the firmware's)."""
    import re

    root, _ = installed
    doc = root / "opt/balance-station/doc"
    names = sorted(p.name for p in doc.iterdir())
    assert names == ["README.md", "rp2040.md", "wiring.md", "wiring.svg"]
    for page in doc.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (doc / target).is_file(), f"{page.name} links {target}"
    # the links were there to rewrite: the checkout's own guides link across folders
    assert "](../docs/wiring.md)" in (REPO / "systemd/README.md").read_text()


def test_uninstall_removes_the_hub_and_keeps_its_data_then_purge_removes_them(tmp_path):
    root = fake_server(tmp_path / "root")
    before = snapshot(root)
    run_install(root, "--no-venv", "--hub", "--hostname", "hub")
    (root / "var/lib/balance-hub/secret_key").write_bytes(b"key")
    result = subprocess.run(["bash", str(UNINSTALL), "--root", str(root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for gone in (*(f"etc/systemd/system/{u}" for u in HUB_UNITS), "etc/systemd/system/multi-user.target.wants",
                 "etc/systemd/system/timers.target.wants", "opt/balance-station", "etc/nginx/sites-enabled/balance-station"):
        assert not (root / gone).exists(), gone
    assert (root / "var/lib/balance-hub/secret_key").read_bytes() == b"key"
    assert (root / "etc/balance-station/hub.toml").exists()
    assert "kept the hub's data (/var/lib/balance-hub and its PostgreSQL database balance)" in result.stdout

    result = subprocess.run(["bash", str(UNINSTALL), "--root", str(root), "--purge"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (root / "var/lib/balance-hub").exists() and not (root / "etc/balance-station").exists()
    assert "balance-hub:" not in (root / "etc/passwd").read_text()
    assert "sudo -u postgres dropdb balance" in result.stdout
    extra = {k for k, v in snapshot(root).items() if k not in before and v[0] != "dir"}
    assert extra <= {"etc/gshadow", "etc/shadow", "etc/.pwd.lock", "etc/passwd-", "etc/group-",
                     "etc/shadow-", "etc/gshadow-"}, extra


def test_an_update_needing_a_new_package_is_checked_in_a_throw_away_environment(venv_installation, tmp_path):
    """The new version imports a package the installed environment lacks: its configuration check
    runs in a temporary environment with the new version's packages, and a refusal still leaves the
    installed one untouched (finding 1 with a new dependency). That environment gets only what the
    installed one lacks: pip finds nothing but the new package and the build's own (setuptools,
    wheel) here, no index (before, it installed every dependency again: reportlab, fhir.resources, ...)."""
    src = checkout_copy(tmp_path / "src")  # the newer version's checkout
    root = copy_installation(venv_installation, tmp_path / "root")  # the installed station
    install = [str(src / "systemd/install.sh"), "--root", str(root), "--hostname", "station"]
    wheels = tmp_path / "wheels"  # from the index as each install before fetched them
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:", "--dest", str(wheels),
                    "tomli-w>=1.0", "setuptools>=77", "wheel"], check=True, capture_output=True, timeout=300)
    only_these = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    venv_python = root / "opt/balance-station/venv/bin/python"
    venv_before = {k: v for k, v in snapshot(root / VENV).items() if "__pycache__" not in k}
    assert subprocess.run([str(venv_python), "-I", "-c", "import tomli_w"], capture_output=True).returncode != 0
    pyproject = src / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = [\n', 'dependencies = [\n    "tomli-w>=1.0",\n', 1))
    keys = src / "station/config_keys.py"
    keys.write_text(keys.read_text().replace("_int_choice((1, 2, 4, 8, 16, 32, 64, 128)", "_int_choice((1, 2, 4, 8, 16, 32, 64)")
                    + "\nimport tomli_w  # noqa: E402,F401  (the new version's new dependency)\n")
    update = subprocess.run(["bash", *install], capture_output=True, text=True, timeout=600, cwd=src, env=only_these)
    assert update.returncode == 1, update.stdout + update.stderr
    assert "needs a Python package the installed one lacks: checking the configuration in a temporary environment" in update.stdout, update.stderr
    assert "plate.adc_gain = 128: allowed: one of 1, 2, 4, 8, 16, 32, 64" in update.stderr
    assert "the running station was not changed" in update.stderr
    assert subprocess.run([str(venv_python), "-I", "-c", "import tomli_w"], capture_output=True).returncode != 0
    (installed,) = (root / "opt/balance-station/venv/lib").glob("python3*/site-packages/station/config_keys.py")
    assert "tomli_w" not in installed.read_text()
    assert {k: v for k, v in snapshot(root / VENV).items() if "__pycache__" not in k} == venv_before  # untouched


def test_the_setup_code_is_made_wherever_the_database_has_no_account(tmp_path):
    """install.sh made the code only for the default data_dir and a missing database (finding 4 of
    R3): a station with its data elsewhere, or installed by a version before the code and never set
    up, had its setup open to the clinic's network. Now: whenever the database has no account."""
    import re

    def printed(result) -> list[str]:
        return re.findall(r"^    (\d{4}-\d{4}-\d{4})$", result.stdout, re.M)

    import tempfile

    # the service user reaches its data directory, as on a real system (not under pytest's 0700 folder)
    base = Path(tempfile.mkdtemp(prefix="install-setup-code-"))
    base.chmod(0o755)
    try:
        _setup_code_wherever(fake_pi(base / "root"), printed)
    finally:
        shutil.rmtree(base)


def _setup_code_wherever(root: Path, printed) -> None:
    import sqlite3

    from station.store.migrations import migrate

    run_install(root, "--no-venv")
    uid, gid = ids(root, "passwd", "balance-station"), ids(root, "group", "balance-station")
    state = root / "var/lib/balance-station"
    # installed by an older version: a database with its schema and no account, no code
    (state / "setup-code").unlink()
    db = state / "station.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn)
    conn.close()
    os.chown(db, uid, gid)
    update = run_install(root, "--no-venv")
    (code,) = printed(update)
    assert (state / "setup-code").read_text() == code + "\n"
    assert mode_owner(state / "setup-code") == (0o600, uid, gid)
    assert "'sudo cat /var/lib/balance-station/setup-code' shows it" in update.stdout
    assert not list(state.glob("station.sqlite3-*")) or all(p.stat().st_uid == uid for p in state.glob("station.sqlite3-*"))
    # kept until used, and said again
    first = snapshot(root)
    again = run_install(root, "--no-venv")
    assert printed(again) == [code], again.stdout[-800:]
    assert "nothing to change" in again.stdout and snapshot(root) == first
    # a file without a code is replaced
    (state / "setup-code").write_text("\n")
    (replaced,) = printed(run_install(root, "--no-venv"))
    assert replaced != code and (state / "setup-code").read_text() == replaced + "\n"
    # once an account exists: no code made, none printed
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO users (username, password_hash, role, created_at, password_changed_at)"
                 " VALUES ('root', 'x', 'admin', '2026', '2026')")
    conn.close()
    (state / "setup-code").unlink()
    set_up = run_install(root, "--no-venv")
    assert printed(set_up) == [] and "setup code" not in set_up.stdout and not (state / "setup-code").exists()

    # data_dir elsewhere: the code goes there, its owner's (the service user's, as the directory made for it)
    config = root / "etc/balance-station/station.toml"
    config.write_text(config.read_text().replace('data_dir = "/var/lib/balance-station"', 'data_dir = "/srv/balance"'))
    elsewhere = run_install(root, "--no-venv")
    (code,) = printed(elsewhere)
    assert (root / "srv/balance/setup-code").read_text() == code + "\n"
    assert mode_owner(root / "srv/balance/setup-code") == (0o600, uid, gid)
    assert mode_owner(root / "srv/balance") == (0o700, uid, gid)
    assert "'sudo cat /srv/balance/setup-code' shows it" in elsewhere.stdout
