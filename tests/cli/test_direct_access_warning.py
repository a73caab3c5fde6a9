"""``run`` and ``hub`` listening where other machines reach them without the HTTPS proxy (``--host
0.0.0.0``) say so once at start: there waitress has no TLS and no bound on slow clients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from free_ports import free_port
from plate_calibration import with_plate_calibration

REPO = Path(__file__).resolve().parents[2]


def _command(name: str, request, data: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALANCE_STATION")}
    env["BALANCE_STATION_CONFIG"] = ""
    if name == "hub":
        env["BALANCE_STATION_DATABASE"] = request.getfixturevalue("pg_empty_url")
        return ["hub", "--data-dir", str(data)], env
    return ["run", "--simulate", "--data-dir", str(with_plate_calibration(data))], env


@pytest.mark.parametrize("name, said", [("run", "balance-station"), ("hub", "balance-station hub")])
def test_serving_beyond_the_loopback_says_once_that_the_proxy_is_needed(name, said, tmp_path, request):
    argv, env = _command(name, request, tmp_path / "data")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", *argv, "--host", "0.0.0.0", "--port", str(port)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "serving on" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status in (200, 503)  # serving (a station still starting may say 'down')
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    warnings = [line for line in lines + rest.splitlines() if "warning: the web server listens on" in line]
    assert len(warnings) == 1, lines  # once
    assert warnings[0].startswith(f"{said}: warning: the web server listens on 0.0.0.0:{port}, where other machines "
                                  "reach it directly, without the HTTPS proxy: there it has no TLS")
    assert "keep --host 127.0.0.1" in warnings[0] and "balance-station config proxy" in warnings[0]
    assert lines[-1].startswith(f"{said}: serving on http://0.0.0.0:{port}/")
    assert lines[-2] == warnings[0]  # said just before where it serves
