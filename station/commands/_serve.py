"""The server loop of ``run`` and ``hub``: waitress until SIGTERM or Ctrl-C, then a clean stop.

The signal handlers only set an event; the loop sees it at its next wake-up (at most waitress's
``asyncore_loop_timeout``, 1 s by default), stops taking connections and lets the answers being
prepared go out (at most :data:`DRAIN_S`). An exception raised from the handler instead, as
before, lands wherever the main thread happens to be, and inside a connection's handling waitress
catches it ("uncaptured python exception, closing channel"): the station then never stopped and
would have been killed by systemd (seen under load in CI, 2026-12-03).

This drives waitress's own loop (``server.asyncore.loop`` over ``server._map``, as its ``run()``
does) and reads its task dispatcher: written against waitress 3, pinned ``<4`` in pyproject.
"""

from __future__ import annotations

import signal
import threading
import time

DRAIN_S = 3.0
"""Longest wait, seconds, after the stop for the answers in flight (a live stream never ends:
it is cut then)."""


def serve_until_stopped(server, stopping: threading.Event) -> None:
    """Run the waitress ``server`` (from ``waitress.server.create_server`` with one listening
    socket) until ``stopping`` is set, by SIGTERM, SIGINT or another thread, then stop taking
    connections and send the answers in flight for at most :data:`DRAIN_S` s. The caller then
    closes the server. The handlers stay installed, so a second signal during the shutdown does
    not cut it short (systemd kills after its stop timeout if it must)."""

    def _stop(signum, frame):
        stopping.set()  # nothing else here: the main thread may be anywhere in waitress

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    while not stopping.is_set():
        # waitress's own run() is this loop without an end; one poll at a time, each waking at
        # least every asyncore_loop_timeout seconds
        _poll(server, server.adj.asyncore_loop_timeout)
    server.accepting = False  # the listening socket is no longer polled
    deadline = time.monotonic() + DRAIN_S
    while _answers_in_flight(server) and time.monotonic() < deadline:
        _poll(server, 0.05)


def _poll(server, timeout_s: float) -> None:
    server.asyncore.loop(timeout=timeout_s, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)


def _answers_in_flight(server) -> bool:
    """A request being served by a worker thread, waiting for one, or an answer not yet sent."""
    dispatcher = server.task_dispatcher
    with dispatcher.lock:
        if dispatcher.active_count or dispatcher.queue:
            return True
    return any(channel is not server and channel.writable() for channel in list(server._map.values()))
