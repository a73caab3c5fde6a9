"""HTTPS to the hub: the hub's certificate is verified (refused when no trusted CA signed it,
accepted with the clinic's CA file), over a real TLS connection on the loopback."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading

import pytest

from station.sync.client import HubClient, HubUnreachable

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")


class _Hub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"tombstones": [], "last": 0, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_hub(tmp_path):
    key, cert = tmp_path / "hub.key", tmp_path / "hub.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # quick shutdown()
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_refused_and_the_clinic_ca_is_accepted(tls_hub):
    url, cert = tls_hub
    with pytest.raises(HubUnreachable, match="certificate is not trusted .*self.signed.*give the CA"):
        HubClient(url, "bst_token", timeout_s=5).request("GET", "/api/hub/tombstones")
    answer = HubClient(url, "bst_token", ca_file=str(cert), timeout_s=5).request("GET", "/api/hub/tombstones")
    assert answer["auth"] == "Bearer bst_token"
