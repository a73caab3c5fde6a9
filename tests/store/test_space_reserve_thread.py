"""The reserve made again holds no request's thread, and is not tried at every reading (X5's review,
session 26, L1).

Once room came back after a full disk, :meth:`SpaceMonitor.status` (``/healthz``, every page's health chip)
made the 8-MB reserve again (``posix_fallocate`` and ``fsync``) in the reading's own thread: on a card that
hangs just then, each reading after the 2-s cache held a web server's thread, as the check write did before
3487d31. And with the reserve missing and the free space between half the reserve and the reserve (not
``full``), every reading tried the fallocate, failed, cut it back and, having changed the free space, was
not cached: every public ``/healthz`` did it again. Now the reserve is made in a thread of its own, one at a
time, waited for at most ``CHECK_WAIT_S``; after a failed attempt none until ``IDLE_CHECK_S`` later, or
until the reserve's size more is free."""

from __future__ import annotations

import os
import threading

import station.store.space as space
from station.store.space import RESERVE_BYTES, SpaceMonitor

from small_disk import fill

MIB = 1024 * 1024
TIMEOUT_S = 8.0
"""How long a reading may take before the test calls it held (not a speed figure: on the old code the
reading was held for as long as the card hung)."""


def test_a_reserve_made_again_on_a_hung_card_holds_no_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(space, "free_bytes", lambda path: 300 * MIB)  # room: the reserve is to be made
    now = [100.0]
    monitor = SpaceMonitor(tmp_path, low_bytes=0, clock=lambda: now[0])
    mended, threads = threading.Event(), []

    def ensure_reserve():  # the fallocate's fsync on a card that hangs
        threads.append(threading.current_thread().name)
        mended.wait(3 * TIMEOUT_S)
        return False

    monitor.ensure_reserve = ensure_reserve
    docs = []
    try:
        for _ in range(3):  # three readings, the cache out of date at each
            reading = threading.Thread(target=lambda: docs.append(monitor.status()), name="request")
            reading.start()
            reading.join(TIMEOUT_S)
            assert not reading.is_alive(), "the reading was held by the reserve's fallocate"  # (old code: held)
            now[0] += space.STATUS_CACHE_S
    finally:
        mended.set()
    assert threads == ["space-reserve"], threads  # one attempt, in a thread of its own
    assert [doc["state"] for doc in docs] == ["ok"] * 3, docs


def _leave_free(tiny_disk, free: int):
    """The tmpfs filled, then ``free`` bytes of it freed again; the filler's path."""
    filler = fill(tiny_disk)
    with open(filler, "r+b") as f:
        f.truncate(max(0, os.path.getsize(filler) - free))
    return filler


def test_a_reserve_that_does_not_fit_is_not_tried_at_every_reading(tiny_disk, monkeypatch):
    """The real fallocate on a 24 MiB tmpfs with 6 MiB free: more than half the 8-MiB reserve, not all of it."""
    now = [100.0]
    monitor = SpaceMonitor(tiny_disk, clock=lambda: now[0])
    attempts, fallocate = [], os.posix_fallocate

    def counted(fd, offset, length):
        attempts.append(length)
        return fallocate(fd, offset, length)

    monkeypatch.setattr(os, "posix_fallocate", counted)
    filler = _leave_free(tiny_disk, 6 * MIB)
    assert RESERVE_BYTES // 2 < space.free_bytes(tiny_disk) < RESERVE_BYTES
    for _ in range(5):  # five readings 2 s apart (the public /healthz, the health chips)
        doc = monitor.status()
        assert doc["state"] == "low", doc  # not full: room for trials yet
        assert not monitor.reserve_path.exists()  # (old code: left empty, then read as kept)
        now[0] += space.STATUS_CACHE_S
    assert attempts == [RESERVE_BYTES], attempts  # one attempt (old code: one at each reading, five)
    now[0] += space.IDLE_CHECK_S  # tried again only IDLE_CHECK_S after the failed one
    monitor.status()
    assert len(attempts) == 2 and not monitor.reserve_path.exists()
    now[0] += space.STATUS_CACHE_S
    with open(filler, "r+b") as f:  # the clinic frees space: the reserve is made at the next reading
        f.truncate(max(0, os.path.getsize(filler) - 2 * RESERVE_BYTES))
    doc = monitor.status()
    assert len(attempts) == 3 and monitor.reserve_path.stat().st_size == RESERVE_BYTES, attempts
    assert doc["state"] == "low" and doc["free_bytes"] == space.free_bytes(tiny_disk), doc  # the figure after it


def test_a_reserve_thread_that_cannot_start_leaves_no_attempt_under_way(tmp_path, monkeypatch):
    """A thread that cannot start (the process at its limit: RuntimeError "can't start new thread") leaves no
    attempt under way for good, nor a failed one: the next reading makes the reserve."""
    monkeypatch.setattr(space, "free_bytes", lambda path: 300 * MIB)
    now = [100.0]
    monitor = SpaceMonitor(tmp_path, reserve_bytes=MIB, low_bytes=0, clock=lambda: now[0])
    start = threading.Thread.start

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    assert monitor.status()["state"] == "ok" and not monitor.reserve_path.exists()
    monkeypatch.setattr(threading.Thread, "start", start)
    now[0] += space.STATUS_CACHE_S
    monitor.status()
    assert monitor.reserve_path.stat().st_size == MIB
