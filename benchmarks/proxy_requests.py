"""What a tablet asks of the HTTPS proxy: requests per page load, the most in any second and the
most under way at once, for the numbers of the nginx site's per-address limits
(``station.tls_proxy``: ``CONNECTIONS_PER_CLIENT``, ``REQUESTS_PER_CLIENT_S``, the bursts).

    python3 benchmarks/proxy_requests.py               # the site as generated, with its limits
    python3 benchmarks/proxy_requests.py --no-limits   # the limits taken out: what the pages ask

The real station (``run --simulate``) behind the real nginx (the site ``config proxy`` writes, a
self-signed certificate, an access log with each request's end and duration), and a fresh headless
Chromium at tablet size (empty cache: every static file fetched) through it: first-run setup, a new
patient, the live view for 10 s, the patients page, and the same page again from the cache. Needs
root (nginx's user), nginx, openssl, chromium and chromedriver (``tests/bootstrap.sh``). A
station's sync asks one request at a time: its rate is ``benchmarks/hub_sync.py --stations 1``'s.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]


def _site(prefix: Path, tls: Path, limits: bool) -> tuple[int, int]:
    """nginx's configuration in ``prefix`` for a station on a free port: (station port, HTTPS port)."""
    from free_ports import free_port

    from station.config import StationConfig
    from station.tls_proxy import render_nginx_site

    port, https = free_port(), free_port()
    config = StationConfig()
    config = dataclasses.replace(config, web=dataclasses.replace(
        config.web, port=port, https_port=https, http_redirect_port=free_port(), tls_cert=tls / "c", tls_key=tls / "k"))
    site = render_nginx_site(config, tls / "c", log_dir=prefix)
    if not limits:
        site = "\n".join(line for line in site.splitlines() if not line.strip().startswith(("limit_conn ", "limit_req ")))
    (prefix / "site.conf").write_text(site.replace("$request_time", "$request_time $msec"))
    (prefix / "nginx.conf").write_text(f"""
user root root; daemon off; pid {prefix}/nginx.pid; error_log {prefix}/main-error.log;
events {{ worker_connections 256; }}
http {{ include /etc/nginx/mime.types; client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
        fastcgi_temp_path {prefix}/f; uwsgi_temp_path {prefix}/u; scgi_temp_path {prefix}/s;
        include {prefix}/site.conf; }}
""")
    return port, https


def _browse(url: str, profile: Path) -> list[tuple[float, str]]:
    """Chromium through the pages; the time each step began, with its name (and the end)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import Select
    from test_dashboard import by_id, css, fill, setup_admin, wait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                 "--window-size=1180,820", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    steps = []
    try:
        steps.append((time.time(), "setup, patients page"))
        setup_admin(driver, url)
        time.sleep(3)
        steps.append((time.time(), "new patient, their page"))
        by_id(driver, "add-patient").click()
        wait(driver, "the add-patient form", lambda d: by_id(d, "patient-dialog").is_displayed())
        fill(driver, "identifier", "BENCH-001")
        fill(driver, "birth_year", "1950")
        Select(css(driver, '#patient-form select[name="sex"]')[0]).select_by_value("F")
        by_id(driver, "save-patient").click()
        wait(driver, "the patient's page", lambda d: "/patients/" in d.current_url)
        time.sleep(3)
        steps.append((time.time(), "live view, 10 s"))
        by_id(driver, "new-test").click()
        wait(driver, "the live stream", lambda d: "/live" in d.current_url and by_id(d, "conn").text == "live")
        time.sleep(10)
        steps.append((time.time(), "patients page"))
        driver.get(url + "/patients")
        time.sleep(3)
        steps.append((time.time(), "patients page again (cached)"))
        driver.get(url + "/patients")
        time.sleep(3)
        steps.append((time.time(), "end"))
    finally:
        driver.quit()
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-limits", action="store_true", help="take the per-address limits out of the site")
    args = parser.parse_args(argv)
    from plate_calibration import with_plate_calibration

    base = Path(tempfile.mkdtemp(prefix="proxy-requests-"))
    tls, prefix = base / "tls", base / "nginx"
    tls.mkdir()
    prefix.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tls / "k"), "-out",
                    str(tls / "c"), "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    port, https = _site(prefix, tls, limits=not args.no_limits)
    with open(base / "station.log", "w") as log:
        station = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "run", "--simulate", "--scenario", "patient", "--port", str(port),
             "--data-dir", str(with_plate_calibration(base / "data"))], stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        nginx = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
        try:
            deadline = time.monotonic() + 90
            while True:  # the station answers (it binds its port before it starts)
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if time.monotonic() > deadline or station.poll() is not None:
                        raise SystemExit(f"the station did not start; its log: {base / 'station.log'}") from None
                    time.sleep(0.3)
            steps = _browse(f"https://localhost:{https}", base / "chromium")
        finally:
            station.terminate()
            nginx.terminate()
            station.wait(20)
            nginx.wait(10)
    requests = []  # (start, end, status)
    for line in (prefix / "balance-station.access.log").read_text().splitlines():
        status, _sent, duration, end = line.split('"')[2].split()[:4]
        requests.append((float(end) - float(duration), float(end), int(status)))
    print(f"{len(requests)} requests ({'no limits' if args.no_limits else 'the site as generated'}); "
          f"access log {prefix / 'balance-station.access.log'}")
    for (begin, name), (end, _) in zip(steps, steps[1:]):
        these = [r for r in requests if begin <= r[0] < end]
        starts = sorted(r[0] for r in these)
        in_a_second = max((sum(1 for s in starts if t <= s < t + 1) for t in starts), default=0)
        under_way = top = 0
        for _, change in sorted([(r[0], 1) for r in these] + [(r[1], -1) for r in these]):
            under_way += change
            top = max(top, under_way)
        print(f"  {name:30s} {len(these):3d} requests, most in one second {in_a_second:3d}, most under way {top}, "
              f"answers {sorted({r[2] for r in these})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
