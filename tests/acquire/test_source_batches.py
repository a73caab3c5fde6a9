"""The ring source hands frames out in batches (station.acquire.source.BATCH_S), not one per call:
the trial service's loop reads every time round, and one frame a call woke it ~190 times a second."""

from __future__ import annotations

import threading
import time

import pytest

from station.acquire.source import BATCH_S, RingFrameSource

from acquire_support import ring_frame

pytestmark = pytest.mark.parametrize("ring", [256], indirect=True)  # conftest's ring, room for a 200-Hz writer


def test_a_reader_back_within_the_batch_interval_waits_for_its_rest_and_gets_every_frame(ring):
    source = RingFrameSource(ring.name, rate_hz=100.0)
    source.read_frames(0)  # attach (a new reader starts at the newest frame)
    ring.write(ring_frame(0))
    first = source.read_frames(0.5)
    handed = time.monotonic()
    assert list(first.frames["seq"]) == [0]  # the first batch at once
    ring.write(ring_frame(1))
    second = source.read_frames(0.5)
    waited = time.monotonic() - handed
    assert waited >= BATCH_S * 0.95  # one frame was there: it still waited for the rest of the interval
    ring.write(ring_frame(2))
    third = source.read_frames(0.5)
    assert list(second.frames["seq"]) + list(third.frames["seq"]) == [1, 2]  # every frame, once, in order
    source.close()


def test_frames_written_meanwhile_come_as_one_batch(ring):
    source = RingFrameSource(ring.name, rate_hz=100.0)
    source.read_frames(0)
    ring.write(ring_frame(0))
    source.read_frames(0.5)
    stop = threading.Event()

    def write_at_200_hz():
        seq = 1
        while not stop.is_set() and seq < 200:
            ring.write(ring_frame(seq))
            seq += 1
            time.sleep(0.005)

    writer = threading.Thread(target=write_at_200_hz)
    writer.start()
    try:
        sizes = [len(source.read_frames(0.5).frames) for _ in range(10)]
    finally:
        stop.set()
        writer.join()
    # 20 ms at 200 Hz: about 4 a batch (a frame a call before); never a batch of one in the steady run
    assert sum(sizes) / len(sizes) >= 2.5, sizes
    source.close()


def test_no_wait_never_waits_and_an_empty_read_waits_no_longer_than_asked(ring):
    source = RingFrameSource(ring.name, rate_hz=100.0)
    source.read_frames(0)
    ring.write(ring_frame(0))
    assert len(source.read_frames(0.5).frames) == 1
    ring.write(ring_frame(1))
    t0 = time.monotonic()
    block = source.read_frames(0)  # within the batch interval, but asked not to wait
    assert time.monotonic() - t0 < BATCH_S / 2
    assert list(block.frames["seq"]) == [1]
    t0 = time.monotonic()
    empty = source.read_frames(0.05)  # nothing comes: back after its own wait, not later
    assert len(empty.frames) == 0 and 0.045 <= time.monotonic() - t0 < 0.5
    source.close()
