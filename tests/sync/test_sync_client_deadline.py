"""The station's hub client ends a request that dribbles: every read within the socket timeout is
not enough, the whole request has a deadline (a hub, or a box in between, sending a byte every few
seconds would otherwise hold a web thread asking for a patient for ever)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from station.sync.client import DEADLINE_FACTOR, HubClient, HubUnreachable, urllib_transport


@pytest.fixture
def dribbling_hub():
    """A loopback server that answers one byte of a valid response every 0.2 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                until = time.monotonic() + 15  # then hang up: a client without a deadline fails, not hangs
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
                    if stop.is_set() or time.monotonic() > until:
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_a_dribbling_hub_is_cut_at_the_deadline(dribbling_hub):
    # each byte comes 0.2 s after the last: the 1 s socket timeout never fires, even on a loaded
    # machine whose sleeps run late (a 0.5 s timeout did once, under a coverage run)
    send = urllib_transport(timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not answer in 3 s"):
        send("GET", dribbling_hub + "/api/hub/tombstones", {}, None)
    assert time.monotonic() - started < DEADLINE_FACTOR * 1.0 + 5  # ended by the deadline, not by the server


def test_the_client_says_the_hub_is_unreachable_after_the_deadline(dribbling_hub):
    client = HubClient(dribbling_hub, "bst_token", transport=urllib_transport(timeout_s=1.0))
    with pytest.raises(HubUnreachable):
        client.request("GET", "/api/hub/tombstones")
