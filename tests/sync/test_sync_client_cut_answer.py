"""The station's hub client refuses an answer cut short: a hub (or a box in between) that hangs up
before the body its Content-Length declares is an unreachable hub (retry later, nothing taken from
half an answer), never a success with a truncated body."""

from __future__ import annotations

import socket
import threading

import pytest

from station.sync.client import HubClient, HubUnreachable, urllib_transport


@pytest.fixture
def hub_answering(request):
    """A loopback server that answers each request with the raw bytes ``request.param``, then hangs up."""
    answer: bytes = request.param
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
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


CUT = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tombstones": ['
BODY = b'{"tombstones":[]}'
WHOLE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


@pytest.mark.parametrize("hub_answering", [CUT], indirect=True)
def test_an_answer_cut_short_is_not_a_success(hub_answering):
    send = urllib_transport(timeout_s=2.0)
    with pytest.raises(ConnectionError, match=r"cut short \(16 of 100 bytes\)"):
        send("GET", hub_answering + "/api/hub/tombstones", {}, None)


@pytest.mark.parametrize("hub_answering", [CUT], indirect=True)
def test_the_client_says_the_hub_is_unreachable_when_its_answer_is_cut(hub_answering):
    client = HubClient(hub_answering, "bst_token", transport=urllib_transport(timeout_s=2.0))
    with pytest.raises(HubUnreachable):
        client.request("GET", "/api/hub/tombstones")


@pytest.mark.parametrize("hub_answering", [WHOLE], indirect=True)
def test_a_whole_answer_is_taken(hub_answering):
    send = urllib_transport(timeout_s=2.0)
    assert send("GET", hub_answering + "/api/hub/tombstones", {}, None) == (200, BODY)
