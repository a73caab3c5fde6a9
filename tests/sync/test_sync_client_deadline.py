"""The station's hub client takes a whole answer in time or none.

* It ends a request that dribbles: every read within the socket timeout is not enough, the whole
  request has a deadline (a hub, or a box in between, sending a byte every few seconds would
  otherwise hold a web thread asking for a patient for ever).
* It refuses an answer cut short: a hub (or a box in between) that hangs up before the body its
  Content-Length declares is an unreachable hub (retry later, nothing taken from half an answer),
  never a success with a truncated body."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from station.sync.client import DEADLINE_FACTOR, MAX_ANSWER_BYTES, HubClient, HubUnreachable, urllib_transport


@contextlib.contextmanager
def _loopback_hub(answer: bytes, byte_delay_s: float = 0.0, hang_up_after_s: float = 15.0):
    """A loopback server that answers each request with the raw bytes ``answer`` (one byte every
    ``byte_delay_s`` if given, then hangs up at ``hang_up_after_s`` at the latest); its URL."""
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
                if not byte_delay_s:
                    conn.sendall(answer)
                    continue
                until = time.monotonic() + hang_up_after_s  # a client without a deadline fails, not hangs
                for byte in answer:
                    if stop.is_set() or time.monotonic() > until:
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(byte_delay_s)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.fixture
def dribbling_hub():
    """A hub that answers one byte of a valid response every 0.2 s."""
    with _loopback_hub(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000, byte_delay_s=0.2) as url:
        yield url


CUT = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tombstones": ['
BODY = b'{"tombstones":[]}'
WHOLE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


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


def test_an_answer_cut_short_is_not_a_success():
    with _loopback_hub(CUT) as url:
        send = urllib_transport(timeout_s=2.0)
        with pytest.raises(ConnectionError, match=r"cut short \(16 of 100 bytes\)"):
            send("GET", url + "/api/hub/tombstones", {}, None)
        client = HubClient(url, "bst_token", transport=urllib_transport(timeout_s=2.0))
        with pytest.raises(HubUnreachable):
            client.request("GET", "/api/hub/tombstones")


def test_a_whole_answer_is_taken():
    with _loopback_hub(WHOLE) as url:
        assert urllib_transport(timeout_s=2.0)("GET", url + "/api/hub/tombstones", {}, None) == (200, BODY)


def _chunked(body: bytes, chunk: int = 65536) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + chunk]), body[i:i + chunk]) for i in range(0, len(body), chunk)]
    return head + b"".join(parts) + b"0\r\n\r\n"


def test_a_chunked_answer_larger_than_the_client_takes_is_refused_not_cut():
    """Without Content-Length (a proxy that re-chunks) the answer's end was not checked: the first
    4 MiB were taken as the whole answer, and the truncated JSON read as an empty answer."""
    body = b'{"sessions": [], "pad": "' + b"x" * MAX_ANSWER_BYTES + b'"}'
    with _loopback_hub(_chunked(body)) as url:
        with pytest.raises(ConnectionError, match=f"larger than {MAX_ANSWER_BYTES} bytes"):
            urllib_transport(timeout_s=5.0)("GET", url + "/api/hub/patients/history", {}, None)
    small = b'{"sessions": []}'
    with _loopback_hub(_chunked(small)) as url:
        assert urllib_transport(timeout_s=5.0)("GET", url + "/api/hub/patients/history", {}, None) == (200, small)
