"""The nginx site: rendered from the configuration, then served for real by nginx (when installed)
with the certificates install.sh makes: HTTPS to the station, HTTP redirected, /ca.crt offered."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from station.config import StationConfig
from station.tls_proxy import ProxyConfigError, render_nginx_site, upstream_address, waitress_proxy_options
from free_ports import free_port

REPO = Path(__file__).resolve().parents[2]


def with_web(**changes) -> StationConfig:
    config = StationConfig()
    return dataclasses.replace(config, web=dataclasses.replace(config.web, **changes))


def test_refuses_without_a_certificate():
    with pytest.raises(ProxyConfigError, match="web.tls_cert and web.tls_key are not set"):
        render_nginx_site(StationConfig())


def test_ports_paths_and_upstream_come_from_the_configuration():
    config = with_web(host="0.0.0.0", port=8123, https_port=8443, http_redirect_port=8080,
                      tls_cert=Path("/x/tls/server.crt"), tls_key=Path("/x/tls/server.key"))
    site = render_nginx_site(config)
    assert "listen 8443 ssl default_server;" in site and "listen 8080 default_server;" in site
    assert 'ssl_certificate "/x/tls/server.crt";' in site
    assert 'ssl_certificate_key "/x/tls/server.key";' in site
    assert 'alias "/x/tls/ca.crt";' in site  # the CA beside the certificate by default
    assert "proxy_pass http://127.0.0.1:8123;" in site  # a wildcard bind is reached on loopback
    assert "return 301 https://$host:8443$request_uri;" in site
    default_ports = render_nginx_site(with_web(tls_cert=Path("/c"), tls_key=Path("/k")), Path("/ca.pem"))
    assert "return 301 https://$host$request_uri;" in default_ports and 'alias "/ca.pem";' in default_ports


def test_upstream_addresses():
    assert upstream_address("127.0.0.1", 8000) == "127.0.0.1:8000"
    assert upstream_address("::", 8000) == "[::1]:8000"
    assert upstream_address("::1", 80) == "[::1]:80"
    assert upstream_address("localhost", 81) == "localhost:81"


def test_paths_that_would_break_the_nginx_syntax_are_refused():
    with pytest.raises(ProxyConfigError, match="may not contain"):
        render_nginx_site(with_web(tls_cert=Path('/a";evil'), tls_key=Path("/k")))


# -- served by nginx ------------------------------------------------------------------------------

needs_nginx = pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None or os.geteuid() != 0
    or shutil.which("systemd-sysusers") is None,
    reason="needs nginx, openssl, systemd-sysusers and root (tests/bootstrap.sh installs nginx)",
)


def echo_app(environ, start_response):
    """The station's web server stand-in: answers with what the WSGI app sees of the request."""
    body = json.dumps({
        "path": environ["PATH_INFO"] + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "scheme": environ["wsgi.url_scheme"],
        "host": environ.get("HTTP_HOST"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def test_waitress_passes_forwarding_headers_on_only_when_tls_is_configured():
    # the app believes them only from the proxy's own connections (web.proxy; tests/web/test_web_hardening.py)
    assert waitress_proxy_options(StationConfig()) == {}
    options = waitress_proxy_options(with_web(tls_cert=Path("/c"), tls_key=Path("/k")))
    assert options == {"clear_untrusted_proxy_headers": False}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    if shutil.which("nginx") is None or os.geteuid() != 0:
        pytest.skip("needs nginx and root")
    base = tmp_path_factory.mktemp("proxy")
    root = base / "root"
    root.mkdir()
    subprocess.run(["bash", str(REPO / "systemd/install.sh"), "--root", str(root), "--no-venv", "--hostname", "station"],
                   check=True, capture_output=True, timeout=120)
    tls = root / "etc/balance-station/tls"

    https_port, http_port = free_port(), free_port()
    config = with_web(port=free_port(), https_port=https_port, http_redirect_port=http_port,
                      tls_cert=tls / "server.crt", tls_key=tls / "server.key")
    # the station's web server as the run command should start it: waitress with the proxy options
    from waitress.server import create_server

    # and the app's check that the connection is the proxy's own (nginx's workers run as root here)
    from web.proxy import TrustedProxyFix, peer_is_proxy

    upstream = create_server(TrustedProxyFix(echo_app, peer_is_proxy(frozenset({0}))), host="127.0.0.1",
                             port=config.web.port, threads=2, **waitress_proxy_options(config))
    threading.Thread(target=upstream.run, daemon=True).start()
    site = base / "site.conf"
    site.write_text(render_nginx_site(config, tls / "ca.crt"))
    prefix = base / "nginx"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
user root root;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
""")
    check = subprocess.run(["nginx", "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"nginx did not start: {server.stderr.read().decode()}")
            time.sleep(0.05)
    yield {"https": https_port, "http": http_port, "ca": tls / "ca.crt"}
    server.terminate()
    server.wait(10)
    upstream.close()


@needs_nginx
def test_https_reaches_the_station_with_a_certificate_the_ca_vouches_for(proxy):
    context = ssl.create_default_context(cafile=str(proxy["ca"]))
    # the "tablet" connects from 127.0.0.2, so its address differs from the proxy's (127.0.0.1)
    conn = http.client.HTTPSConnection("localhost", proxy["https"], context=context, timeout=5,
                                       source_address=("127.0.0.2", 0))
    conn.request("GET", "/patients?q=P0", headers={"X-Forwarded-For": "6.6.6.6"})  # a forged hop
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    seen = json.loads(response.read())
    assert seen["path"] == "/patients?q=P0"
    assert seen["scheme"] == "https"
    assert seen["host"] == f"localhost:{proxy['https']}"
    assert seen["remote_addr"] == "127.0.0.2"  # the client, not the proxy, and not the forged value
    conn.close()


@needs_nginx
def test_a_client_that_does_not_trust_the_ca_is_refused(proxy):
    context = ssl.create_default_context()  # the system's public roots only
    conn = http.client.HTTPSConnection("localhost", proxy["https"], context=context, timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/")
    conn.close()


@needs_nginx
def test_plain_http_redirects_to_https(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy["http"], timeout=5)
    conn.request("GET", "/trials/7?view=full", headers={"Host": "station.local"})
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://station.local:{proxy['https']}/trials/7?view=full"
    conn.close()


@needs_nginx
def test_the_ca_certificate_is_offered_over_plain_http(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy["http"], timeout=5)
    conn.request("GET", "/ca.crt")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/x-x509-ca-cert"
    assert response.read() == proxy["ca"].read_bytes()
    conn.close()
