"""Ports for the servers the tests start (stations, hubs, PostgreSQL, nginx), without races.

A port asked of the kernel (bind to port 0, then close) is free only until someone else takes it:
another pytest-xdist worker asking the same way, or any outgoing connection of the machine, whose
local port comes from the same range (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by
default). Here each worker takes ports from its own block below that range and never hands out one
twice, so two tests never get the same port, and the kernel never gives it to a connection. Each
process starts at a random place in its block (and goes round it), so that two runs of the suite at
once on one machine (a developer's and a helper's) seldom try the same port at the same moment: each
port is checked free before it is handed out, but two runs checking at once would both find it free.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

FIRST_PORT = 20000
"""First port of the blocks; they end below the kernel's ephemeral range (32768)."""
BLOCK_PORTS = 1500
"""Ports per worker: 8 workers fit below 32768."""
_WORKERS = 8


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3" in worker 3; unset when serial
    digits = name.removeprefix("gw")
    return int(digits) % _WORKERS if digits.isdigit() else 0


_next = itertools.count(random.randrange(BLOCK_PORTS))


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on and no other test of this run will be given."""
    first = FIRST_PORT + _worker_index() * BLOCK_PORTS
    for _ in range(BLOCK_PORTS):
        port = first + next(_next) % BLOCK_PORTS
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))  # taken by something else on this machine: the next one
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}-{first + BLOCK_PORTS - 1}")
