"""The shared-memory frame ring: ordering, missed frames, cross-process readers, health."""

import multiprocessing as mp

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameRing, RingError, RingReader, frame_check

from acquire_support import ring_frame


def test_reader_gets_frames_in_order_and_only_once(ring):
    reader = RingReader(ring.name)
    for i in range(5):
        ring.write(ring_frame(i))
    block = reader.read()
    assert block.missed == 0
    assert list(block.frames["seq"]) == [0, 1, 2, 3, 4]
    assert block.frames.dtype == FRAME_DTYPE
    assert len(reader.read().frames) == 0
    ring.write(ring_frame(5))
    assert list(reader.read().frames["seq"]) == [5]
    reader.close()


def test_new_reader_starts_at_newest_unless_from_start(ring):
    for i in range(3):
        ring.write(ring_frame(i))
    assert len(RingReader(ring.name).read().frames) == 0
    assert list(RingReader(ring.name, from_start=True).read().frames["seq"]) == [0, 1, 2]


def test_slow_reader_learns_exactly_how_many_frames_it_missed(ring):
    reader = RingReader(ring.name)
    for i in range(40):
        ring.write(ring_frame(i))
    block = reader.read()
    # A ring of 16 slots keeps the newest 15 readable: the 16th is the one written next.
    assert block.missed == 40 - 15
    assert list(block.frames["seq"]) == list(range(25, 40))
    assert reader.missed_total == 25
    ring.write(ring_frame(40))
    block = reader.read()
    assert block.missed == 0 and list(block.frames["seq"]) == [40]


def test_read_limit_and_latest(ring):
    reader = RingReader(ring.name)
    for i in range(10):
        ring.write(ring_frame(i))
    assert list(reader.read(max_frames=4).frames["seq"]) == [0, 1, 2, 3]
    assert list(reader.read().frames["seq"]) == [4, 5, 6, 7, 8, 9]
    assert list(reader.latest(3)["seq"]) == [7, 8, 9]


def test_health_document_round_trip_and_size_limit(ring):
    reader = RingReader(ring.name)
    assert reader.read_health() is None
    ring.publish_health({"state": "ok", "frames": 3})
    assert reader.read_health() == {"state": "ok", "frames": 3}
    with pytest.raises(ValueError, match="exceeds"):
        ring.publish_health({"blob": "x" * 5000})
    assert reader.read_health() == {"state": "ok", "frames": 3}


def test_attaching_to_a_missing_ring_says_what_to_check():
    with pytest.raises(RingError, match="acquisition process running"):
        RingReader("balance-ring-does-not-exist")


def _child_reader(name, expected, queue, attached):
    reader = RingReader(name, from_start=True)
    attached.set()
    seen, missed, torn = [], 0, 0
    while len(seen) + missed < expected:
        block = reader.read()
        seen.extend(int(s) for s in block.frames["seq"])
        torn += int(np.count_nonzero(block.frames["t_ns"] != block.frames["seq"].astype(np.int64) * 10_000_000))
        missed += block.missed
    queue.put((seen, missed, torn))
    reader.close()


def test_reader_in_another_process_sees_every_frame_or_counts_it_missed():
    ring = FrameRing(64)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    attached = ctx.Event()
    child = ctx.Process(target=_child_reader, args=(ring.name, 5000, queue, attached))
    child.start()
    try:
        assert attached.wait(60)
        for i in range(5000):
            ring.write(ring_frame(i))
        seen, missed, torn = queue.get(timeout=60)
    finally:
        child.join(10)
        ring.close()
    assert len(seen) + missed == 5000
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    # Every frame returned is intact: its payload matches its sequence number.
    assert torn == 0


def _frame_bytes(seq: int) -> bytes:
    return np.array([ring_frame(seq)], dtype=FRAME_DTYPE).tobytes()


@pytest.mark.parametrize("lap", [64, 16_384])
def test_no_tear_of_a_slot_being_overwritten_passes_the_check(lap):
    """A reader's copy of a slot the writer is overwriting: its first ``b`` bytes from one frame,
    the rest from the other, with either frame's check. Layout 2 seeded the CRC with the index,
    which cancels against ``seq`` (the first 8 bytes): every copy whose first 1-8 bytes were still
    the old frame's matched the new frame's check (CI: a frame with seq j and the forces of j+64)."""
    for j in (0, 1, 63, 64, 1000, 2**32 - 70, 2**33 + 5):
        old, new = _frame_bytes(j), _frame_bytes(j + lap)
        checks = {frame_check(old, j), frame_check(new, j + lap)}
        for b in range(1, FRAME_DTYPE.itemsize):
            for torn in (old[:b] + new[b:], new[:b] + old[b:]):
                if torn != old:  # (the frames' last bytes are alike: such a "tear" is frame j, intact)
                    assert frame_check(torn, j) not in checks, (j, b)
        assert frame_check(new, j) not in checks  # a whole frame of the next lap where j was expected


def test_a_reader_copying_a_slot_mid_overwrite_counts_it_missed_never_returns_it():
    """The state a reader can copy while the writer overwrites slot 0 (index 0) with index 8: the
    slot's first bytes still frame 0's, the rest and the check frame 8's, the count not yet moved."""
    ring = FrameRing(8)
    try:
        reader = RingReader(ring.name, from_start=True)
        for i in range(7):
            ring.write(ring_frame(i))
        new = _frame_bytes(8)
        for b in (1, 4, 8, 9, 70):
            raw = _frame_bytes(0)[:b] + new[b:]
            ring.frames[0] = np.frombuffer(raw, dtype=FRAME_DTYPE)[0]
            ring.checks[0] = frame_check(new, 8)
            reader.cursor = 0
            block = reader.read()
            assert block.missed == 1 and list(block.frames["seq"]) == [1, 2, 3, 4, 5, 6], b
            assert list(block.frames["t_ns"]) == [i * 10_000_000 for i in range(1, 7)]
        reader.close()
    finally:
        ring.close()


def test_ring_rejects_a_foreign_shared_block():
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=8192)
    try:
        with pytest.raises(RingError, match="not a balance-station frame ring"):
            RingReader(shm.name)
    finally:
        shm.close()
        shm.unlink()


def test_frames_copied_are_independent_of_the_ring(ring):
    reader = RingReader(ring.name)
    ring.write(ring_frame(1))
    block = reader.read()
    for i in range(2, 40):
        ring.write(ring_frame(i))
    assert block.frames["seq"][0] == 1 and np.isclose(block.frames["ap_cm"][0], 0.01)


def _tear(ring, index: int, field: str, value) -> None:
    """What a reader on another core may see on ARM: part of a slot's new stores visible, part
    not (here one field keeps a value the writer did not write with this check)."""
    ring.frames[index % ring.capacity][field] = value


@pytest.mark.parametrize("field,value", [("ap_cm", 99.0), ("seq", 12345), ("flags", 7)])
def test_a_torn_frame_is_counted_missed_never_returned(ring, field, value):
    reader = RingReader(ring.name)
    for i in range(6):
        ring.write(ring_frame(i))
    _tear(ring, 3, field, value)
    block = reader.read()
    assert list(block.frames["seq"]) == [0, 1, 2, 4, 5]
    assert block.missed == 1 and reader.missed_total == 1


def test_latest_checks_its_frames_too(ring):
    reader = RingReader(ring.name)
    for i in range(10):
        ring.write(ring_frame(i))
    _tear(ring, 8, "ml_cm", 1.5)
    assert list(reader.latest(3)["seq"]) == [7, 9]


def test_a_frame_left_from_an_earlier_lap_fails_its_check(ring):
    reader = RingReader(ring.name)
    for i in range(ring.capacity + 3):
        ring.write(ring_frame(i))
    # The check of a slot is seeded with the write index: the copy of frame 1 (index 1) in the
    # slot of index 1 + capacity does not pass as that frame.
    ring.frames[1] = ring_frame(1)  # the slot's check is still that of index 1 + capacity
    block = reader.read()
    assert 1 + ring.capacity not in set(block.frames["seq"].tolist())
    assert block.missed == 4 + 1  # 4 overwritten before the read (19 written, 15 readable), 1 stale


def test_a_torn_health_document_is_not_returned(ring):
    reader = RingReader(ring.name)
    ring.publish_health({"state": "ok", "frames": 3})
    ring._health_body[2] ^= 0x01  # a byte of the body not yet visible to this reader
    assert reader.read_health() is None
    ring.publish_health({"state": "ok", "frames": 4})
    assert reader.read_health() == {"state": "ok", "frames": 4}
