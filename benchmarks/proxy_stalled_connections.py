"""Many connections held open at the HTTPS proxy from several addresses: does a tablet's request still go?

    python3 benchmarks/proxy_stalled_connections.py --kind stalled --idle 2000 --addresses 8
    python3 benchmarks/proxy_stalled_connections.py --kind stalled --idle 2000 --addresses 8 --before
    python3 benchmarks/proxy_stalled_connections.py --kind keepalive --idle 500 --addresses 8 [--before]

The site ``config proxy`` writes (``station.tls_proxy``) served by the real nginx with 2 workers,
``worker_connections 4096`` and ``worker_rlimit_nofile 16384`` as ``systemd/install.sh`` sets them;
``--before``: Debian's ``worker_connections 768`` and the site without ``keepalive_timeout``,
``send_timeout`` and ``reset_timedout_connection`` (s28 X7's L4). In front of a small WSGI answer
(waitress, another process). From ``--addresses`` loopback addresses 127.0.1.x, ``--idle``
connections are opened to the plain-HTTP port: ``stalled`` sends the beginning of a request's
headers and nothing more (nginx holds each for ``client_header_timeout`` and cannot give it to
another client), ``keepalive`` asks ``/ca.crt`` once and stays idle on the kept connection,
``handshake`` (to the HTTPS port) sends nothing. Then a tablet's request (a new TLS connection from
127.0.0.2, ``GET /``) is made 5 times: its time and whether it was answered, and how long nginx
held the idle connections. Needs root (nginx runs as root here), nginx and openssl.
"""

from __future__ import annotations

import argparse
import dataclasses
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

NEW_LINES = ("    keepalive_timeout 15s;\n", "    send_timeout 30s;\n", "    reset_timedout_connection on;\n")


def _start(prefix: Path, before: bool) -> tuple[subprocess.Popen, subprocess.Popen, int, int]:
    """The upstream and nginx, serving the site: (upstream, nginx, HTTP port, HTTPS port)."""
    from free_ports import free_port

    from station.config import StationConfig
    from station.tls_proxy import render_nginx_site

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(prefix / "key.pem"),
                    "-out", str(prefix / "cert.pem"), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    up, http, https = free_port(), free_port(), free_port()
    config = StationConfig()
    config = dataclasses.replace(config, web=dataclasses.replace(
        config.web, port=up, https_port=https, http_redirect_port=http,
        tls_cert=prefix / "cert.pem", tls_key=prefix / "key.pem"))
    site = render_nginx_site(config, prefix / "cert.pem", log_dir=prefix)
    if before:
        for line in NEW_LINES:
            assert line in site, line
            site = site.replace(line, "")
    (prefix / "site.conf").write_text(site)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / folder).mkdir()
    connections, files = ("768", "") if before else ("4096", "worker_rlimit_nofile 16384;")
    (prefix / "nginx.conf").write_text(f"""
user root root;
daemon off;
worker_processes 2;
{files}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections {connections}; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
""")
    check = subprocess.run(["nginx", "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(check.stderr)
    upstream = subprocess.Popen([sys.executable, "-c", f"""
from waitress import serve
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
serve(app, host="127.0.0.1", port={up}, threads=4, _quiet=True)
"""])
    nginx = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], stderr=subprocess.PIPE)
    time.sleep(1.0)
    return upstream, nginx, http, https


def _tablet(https: int) -> tuple[float, str]:
    """A tablet's request on a new TLS connection: (seconds, 'answered' or the error's name)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    start = time.monotonic()
    try:
        raw = socket.create_connection(("127.0.0.1", https), timeout=60, source_address=("127.0.0.2", 0))
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        outcome = "answered" if data.startswith(b"HTTP/1.1 200") else "other answer"
    except OSError as exc:
        outcome = type(exc).__name__
    return time.monotonic() - start, outcome


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("stalled", "keepalive", "handshake"), default="stalled")
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--addresses", type=int, default=8)
    parser.add_argument("--before", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        upstream, nginx, http, https = _start(Path(tmp), args.before)
        try:
            quiet = [_tablet(https) for _ in range(3)]
            held, failed, lock = [], [0], threading.Lock()

            def hold(address: str) -> None:
                try:
                    sock = socket.create_connection(("127.0.0.1", https if args.kind == "handshake" else http),
                                                    timeout=3, source_address=(address, 0))
                    if args.kind == "stalled":
                        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                    elif args.kind == "keepalive":
                        sock.sendall(b"GET /ca.crt HTTP/1.1\r\nHost: x\r\n\r\n")
                        sock.recv(65536)
                    with lock:
                        held.append(sock)
                except OSError:
                    with lock:
                        failed[0] += 1

            start = time.monotonic()
            for first in range(0, args.idle, 200):
                threads = [threading.Thread(target=hold, args=(f"127.0.1.{1 + i % args.addresses}",))
                           for i in range(first, min(first + 200, args.idle))]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            opened_s = time.monotonic() - start
            time.sleep(0.5)
            during = []
            for _ in range(5):
                during.append(_tablet(https))
                time.sleep(0.2)
            selector = selectors.DefaultSelector()
            for sock in held:
                selector.register(sock, selectors.EVENT_READ)
            last_closed, left = None, len(held)
            while left and time.monotonic() < start + 90:
                for key, _ in selector.select(1.0):
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        last_closed = time.monotonic() - start
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        left -= 1
            for key in list(selector.get_map().values()):
                key.fileobj.close()
        finally:
            nginx.terminate()
            nginx.wait(10)
            upstream.terminate()
            upstream.wait(10)

    def shown(results):
        return ", ".join(f"{s * 1000:.0f} ms {outcome}" for s, outcome in results)

    print(f"{'before' if args.before else 'now'}, {args.kind}: {args.idle} connections from {args.addresses} "
          f"addresses ({len(held)} opened, {failed[0]} not, in {opened_s:.1f} s)")
    print(f"  a tablet's request, quiet:  {shown(quiet)}")
    print(f"  a tablet's request, during: {shown(during)}")
    print(f"  nginx closed them: {len(held) - left} of {len(held)}, the last "
          f"{'-' if last_closed is None else f'{last_closed:.1f} s'} after the first opened; open after 90 s: {left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
