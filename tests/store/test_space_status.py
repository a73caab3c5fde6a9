"""The disk figure of the health strip is never older than the station's own last change of its
free space (R2 review item 5).

:meth:`SpaceMonitor.status` is cached for :data:`STATUS_CACHE_S` (the strip, the live stream and
``/healthz`` ask it every second or two). Before, a status read just before the station released
its reserve, or read before it made the reserve again once there was room, was cached as it was
read: the strip said "ok, 264 MB free" for up to 2 s while 8 MB fewer were free (or "full" with the
reserve's 8 MB not yet counted). The disk here is a fake ``statvfs`` over a real reserve file: its
free space is what the clinic left (``room``) less the reserve the station keeps on it."""

from __future__ import annotations

import os

import pytest

import station.store.space as space
from station.store.space import LOW_SPACE_BYTES, RESERVE_BYTES, SpaceMonitor

MIB = 1024 * 1024


@pytest.fixture
def disk(tmp_path, monkeypatch):
    """``{"room": bytes free without the reserve, "then": what happens after each next reading (None: nothing)}``."""
    state = {"room": 300 * MIB, "then": []}
    reserve = tmp_path / space.RESERVE_FILENAME

    def free_bytes(path):
        held = os.path.getsize(reserve) if reserve.exists() else 0
        free = state["room"] - held
        then = state["then"].pop(0) if state["then"] else None
        if then is not None:  # something the station does between this reading and its use
            then()
        return free

    monkeypatch.setattr(space, "free_bytes", free_bytes)
    return state


def _monitor(tmp_path):
    now = [100.0]
    monitor = SpaceMonitor(tmp_path, clock=lambda: now[0])
    assert monitor.ensure_reserve()  # as the store does when it opens
    return monitor, now


def test_the_reserve_made_again_is_counted_in_the_figure_said(tmp_path, disk):
    monitor, now = _monitor(tmp_path)
    disk["room"] = RESERVE_BYTES + MIB  # the disk fills: the reserve goes, the station says full
    assert monitor.status()["state"] == "full" and not monitor.reserve_path.exists()
    disk["room"] = LOW_SPACE_BYTES + 4 * MIB  # the clinic frees space
    now[0] += 3
    first = monitor.status()
    assert monitor.reserve_path.exists()  # room again: the reserve is made again
    after = LOW_SPACE_BYTES - 4 * MIB  # with the reserve's 8 MB taken
    assert first == {"state": "low", "free_bytes": after, "message": first["message"]}  # before: "ok", 260 MB
    assert "disk space low (252.0 MB free" in first["message"]
    assert monitor.status() == first  # and so while it is cached


def test_a_status_read_while_the_reserve_was_released_is_not_kept(tmp_path, disk):
    monitor, now = _monitor(tmp_path)
    disk["room"] = RESERVE_BYTES + 3 * MIB  # nearly full: 3 MB left besides the reserve
    assert monitor.status()["free_bytes"] == 3 * MIB
    now[0] += 3
    # status reads twice (make_room's look, then the figure); between the figure's reading and its use,
    # another request's write fails for lack of space: the reserve goes
    disk["then"] = [None, monitor.disk_full]
    monitor.status()
    assert not monitor.reserve_path.exists()
    again = monitor.status()  # within the cache's 2 s
    assert again["state"] == "full" and again["free_bytes"] == RESERVE_BYTES + 3 * MIB  # before: the 3 MB read before


def test_an_unchanged_disk_is_read_from_the_cache(tmp_path, disk):
    monitor, now = _monitor(tmp_path)
    first = monitor.status()
    disk["room"] = 100 * MIB  # somebody else fills the disk: seen once the cache is out of date
    assert monitor.status() == first
    now[0] += space.STATUS_CACHE_S
    assert monitor.status()["free_bytes"] == 92 * MIB
