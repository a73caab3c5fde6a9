"""A full disk, idle for IDLE_CHECK_S, is said as a full disk, not as a failed card (X3's review,
session 26, F2).

The idle check writes a small file in the data directory; on a full disk the system refuses it for lack
of space (ENOSPC). Before, any refusal was taken as a failing card: the health said "the station's storage
failed to write (No space left on device): ... check the SD card or replace it", where freeing space is
what to do. The disk here is a real one: a 24 MiB tmpfs (tests/small_disk.py) filled to its last byte,
after the station already released its reserve for a write that found no room."""

from __future__ import annotations

import pytest

import station.store.space as space
from station.store.space import SpaceMonitor

from small_disk import fill


@pytest.mark.parametrize("reserve", [True, False], ids=["reserve released", "no reserve made"])
def test_a_full_disk_found_by_the_idle_check_is_said_full_with_what_to_do(tiny_disk, reserve):
    now = [100.0]
    monitor = SpaceMonitor(tiny_disk, clock=lambda: now[0])
    monitor.watch_idle(lambda: None)  # nothing written since the start
    if reserve:
        assert monitor.ensure_reserve()
        fill(tiny_disk)
        assert monitor.status()["state"] == "full" and not monitor.reserve_path.exists()  # released
    fill(tiny_disk)  # the reserve's room taken too (another program's files): not a byte left
    now[0] += space.IDLE_CHECK_S + 1
    assert space.storage_writes(tiny_disk) == "No space left on device"  # the check write is refused (ENOSPC)
    doc = monitor.status()
    assert doc["state"] == "full", doc  # old code: "failed", "check the SD card or replace it"
    assert doc["message"].startswith("disk full (") and space.WHAT_TO_DO in doc["message"], doc
    assert "SD card" not in doc["message"]
    now[0] += space.STATUS_CACHE_S + 1
    assert monitor.status()["state"] == "full"  # and so on while nothing is freed
