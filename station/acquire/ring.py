"""A single-writer, many-reader ring of frames in shared memory (DESIGN.md §3).

The acquisition process writes; the web server, recorders and health monitors read from other
processes. Readers never block the writer: there is no lock. Each reader keeps its own cursor and
learns how many frames it missed when it falls more than the ring's capacity behind.

Layout of the shared block (little-endian)::

    header   64 bytes   magic, version, capacity, frame size, write_count (u64, frames ever written)
    checks   capacity × u32   per slot: CRC-32 of the frame's bytes followed by its write index
    frames   capacity × FRAME_DTYPE
    health   4096 bytes  counter (u64), length (u64), CRC-32 (u64), JSON document

Torn frames are detected whatever the memory order. Python gives no memory barriers, and ARM
(the Pi) may make the writer's stores visible to another core in any order, so a reader cannot
rely on "the frame was stored before its stamp". Instead every slot carries a check: the CRC-32
of the frame's 140 bytes followed by its write index (8 bytes, little-endian). A reader copies the
frames it has not seen and their checks, and keeps a frame only when the check matches the bytes it
copied and the index it expected; a frame being overwritten, half-visible, or left from an earlier
lap fails (a false match has a probability of 2^-32), is counted as missed and is never returned as
wrong data.

The index follows the bytes, it does not seed the CRC (layout 2 did): a CRC's starting value acts
on the data's first 4 bytes as an XOR, and those are the low half of ``seq``, which counts like the
index. So a frame copied while the writer overwrote its slot, its first 1-8 bytes (``seq``) still
the old frame's and the rest the new one's, matched the new frame's check exactly: ``seq`` of one
frame with the forces of the next lap (seen once in the suite under load; tests/acquire/test_ring.py
shows every such tear and a whole frame of another lap failing now).

:meth:`RingReader.latest` checks the same way. ``write_count`` is read until two reads agree (a
64-bit store may be two stores on a 32-bit Pi OS). The health block carries a CRC of its JSON body
for the same reason.
"""

from __future__ import annotations

import json
import os
import secrets
import zlib
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from station.acquire.frame import FRAME_DTYPE

_MAGIC = b"BALRING1"
_HEADER_BYTES = 64
_HEALTH_BYTES = 4096
_HEALTH_HEADER_BYTES = 24
_LAYOUT_VERSION = 3  # 3: the check appends the index (2 seeded the CRC with it)
_FRAME_BYTES = FRAME_DTYPE.itemsize


def frame_check(frame_bytes, index: int) -> int:
    """The check of one slot: CRC-32 of the frame's bytes followed by its write index (u64, LE).

    >>> frame_check(bytes(140), 0) == frame_check(bytes(140), 1)
    False
    """
    return zlib.crc32(index.to_bytes(8, "little"), zlib.crc32(frame_bytes))


class RingError(RuntimeError):
    """The ring could not be created or attached (wrong name, foreign block, closed)."""


@dataclass(frozen=True)
class FrameBlock:
    """Frames a reader got in one call, and how many it missed before them."""

    frames: np.ndarray
    missed: int


def _layout(capacity: int) -> tuple[int, int, int, int]:
    checks_off = _HEADER_BYTES
    frames_off = checks_off + 8 * ((4 * capacity + 7) // 8)
    health_off = frames_off + FRAME_DTYPE.itemsize * capacity
    total = health_off + _HEALTH_BYTES
    return checks_off, frames_off, health_off, total


class _AttachedBlock:
    """A reader's mapping of an existing shared block, without Python's resource tracker.

    ``SharedMemory(create=False)`` registers the block with the resource tracker before Python
    3.13, which then unlinks or warns about a block this process does not own (and, in spawned
    children, removes the owner's registration). Readers map the block directly instead.
    """

    def __init__(self, name: str) -> None:
        import mmap

        import _posixshmem  # CPython's shm_open binding, the one SharedMemory uses

        self.name = name
        fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
        try:
            self.size = os.fstat(fd).st_size
            self._mmap = mmap.mmap(fd, self.size)
        finally:
            os.close(fd)
        self.buf = memoryview(self._mmap)

    def close(self) -> None:
        self.buf.release()
        self._mmap.close()


class _RingView:
    """Numpy views onto a shared block (common to writer and reader)."""

    def __init__(self, shm) -> None:
        self._shm = shm
        buf = shm.buf
        if bytes(buf[:8]) != _MAGIC:
            raise RingError(f"shared memory block {shm.name!r} is not a balance-station frame ring")
        header = np.ndarray((7,), dtype="<u8", buffer=buf, offset=8)
        self.capacity = int(header[1])
        if int(header[0]) != _LAYOUT_VERSION or int(header[2]) != FRAME_DTYPE.itemsize:
            raise RingError(
                f"ring {shm.name!r} has layout {int(header[0])} with frames of {int(header[2])} bytes, this "
                f"software expects layout {_LAYOUT_VERSION} with {FRAME_DTYPE.itemsize}: restart the station "
                "after an update"
            )
        checks_off, frames_off, health_off, total = _layout(self.capacity)
        if shm.size < total:
            raise RingError(f"ring {shm.name!r} is truncated ({shm.size} < {total} bytes)")
        self._header = header
        self.checks = np.ndarray((self.capacity,), dtype="<u4", buffer=buf, offset=checks_off)
        self.frames = np.ndarray((self.capacity,), dtype=FRAME_DTYPE, buffer=buf, offset=frames_off)
        self._frame_bytes = buf[frames_off : frames_off + FRAME_DTYPE.itemsize * self.capacity]
        self._health_hdr = np.ndarray((3,), dtype="<u8", buffer=buf, offset=health_off)
        self._health_body = np.ndarray(
            (_HEALTH_BYTES - _HEALTH_HEADER_BYTES,),
            dtype=np.uint8,
            buffer=buf,
            offset=health_off + _HEALTH_HEADER_BYTES,
        )

    @property
    def name(self) -> str:
        return self._shm.name

    @property
    def write_count(self) -> int:
        """Frames written since the ring was created (read until two reads agree)."""
        header = self._header
        count = int(header[3])
        while True:
            again = int(header[3])
            if again == count:
                return count
            count = again

    def _checked(self, frames: np.ndarray, checks: np.ndarray, first_index: int) -> np.ndarray:
        """Mask of the copied ``frames`` whose bytes match their copied check and index."""
        raw = frames.tobytes()
        size = _FRAME_BYTES
        ok = np.empty(len(frames), dtype=bool)
        for i in range(len(frames)):
            ok[i] = frame_check(raw[i * size : (i + 1) * size], first_index + i) == checks[i]
        return ok

    def read_health(self) -> dict | None:
        """The last health document the writer published, or None if none yet."""
        for _ in range(100):
            before = int(self._health_hdr[0])
            if before == 0:
                return None
            if before % 2:
                continue
            length = int(self._health_hdr[1])
            check = int(self._health_hdr[2])
            if length > self._health_body.size:
                continue
            body = self._health_body[:length].tobytes()
            if int(self._health_hdr[0]) == before and zlib.crc32(body) == check:
                try:
                    return json.loads(body)
                except ValueError:
                    continue
        return None

    def _release_views(self) -> None:
        for attr in ("_header", "checks", "frames", "_frame_bytes", "_health_hdr", "_health_body"):
            if hasattr(self, attr):
                delattr(self, attr)


class FrameRing(_RingView):
    """The writer's side: creates the shared block and owns it (unlinks it on :meth:`close`).

    Parameters
    ----------
    capacity : int
        Frames kept (at least 2).
    name : str, optional
        Name of the shared block; a random one by default. Readers attach by this name.
    """

    def __init__(self, capacity: int = 16_384, name: str | None = None) -> None:
        if capacity < 2:
            raise ValueError(f"ring capacity must be at least 2 frames, got {capacity}")
        name = name or f"balance-ring-{secrets.token_hex(6)}"
        total = _layout(capacity)[3]
        shm = shared_memory.SharedMemory(name=name, create=True, size=total)
        shm.buf[:_HEADER_BYTES] = bytes(_HEADER_BYTES)
        shm.buf[:8] = _MAGIC
        header = np.ndarray((7,), dtype="<u8", buffer=shm.buf, offset=8)
        header[0] = _LAYOUT_VERSION
        header[1] = capacity
        header[2] = FRAME_DTYPE.itemsize
        header[3] = 0
        super().__init__(shm)
        self.checks[:] = 0
        self._count = 0
        self._health_seq = 0

    def write(self, frame: tuple) -> None:
        """Append one frame given as a tuple in FRAME_DTYPE field order."""
        index = self._count
        slot = index % self.capacity
        self.frames[slot] = frame
        offset = slot * _FRAME_BYTES
        self.checks[slot] = frame_check(self._frame_bytes[offset : offset + _FRAME_BYTES], index)
        self._count = index + 1
        self._header[3] = self._count

    def publish_health(self, doc: dict) -> None:
        """Publish the health document (JSON, at most ~4 KB) for readers in other processes."""
        body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        if len(body) > self._health_body.size:
            raise ValueError(f"health document of {len(body)} bytes exceeds {self._health_body.size}")
        self._health_seq += 1
        self._health_hdr[0] = 2 * self._health_seq - 1  # odd: writing
        self._health_body[: len(body)] = np.frombuffer(body, dtype=np.uint8)
        self._health_hdr[1] = len(body)
        self._health_hdr[2] = zlib.crc32(body)
        self._health_hdr[0] = 2 * self._health_seq

    def close(self) -> None:
        """Detach and remove the shared block (readers still attached keep their mapping)."""
        self._release_views()
        self._shm.close()
        try:
            self._shm.unlink()
        except FileNotFoundError:
            pass


class RingReader(_RingView):
    """A reader in any process. Never blocks the writer; starts at the newest frame.

    Parameters
    ----------
    name : str
        Name of the writer's shared block.
    from_start : bool
        Start at the oldest frame still in the ring instead of the newest.
    """

    def __init__(self, name: str, from_start: bool = False) -> None:
        try:
            shm = _AttachedBlock(name)
        except FileNotFoundError:
            raise RingError(
                f"no acquisition ring named {name!r}: is the acquisition process running?"
            ) from None
        super().__init__(shm)
        count = self.write_count
        self.cursor = max(0, count - self.capacity + 1) if from_start else count
        self.missed_total = 0

    def read(self, max_frames: int | None = None) -> FrameBlock:
        """Frames written since the last call (oldest first), and how many were missed.

        Frames are missed when the reader falls more than ``capacity - 1`` frames behind (the
        oldest slot is the one the writer fills next), or when the writer overwrote a slot while
        it was being copied.
        """
        count = self.write_count
        start = self.cursor
        missed = 0
        window = self.capacity - 1  # the oldest slot is the one the writer fills next
        if count - start > window:
            missed = count - window - start
            start = count - window
        end = count if max_frames is None else min(count, start + max_frames)
        n = end - start
        if n <= 0:
            if missed:
                self.missed_total += missed
                self.cursor = start
            return FrameBlock(np.empty(0, dtype=FRAME_DTYPE), missed)
        slots = np.arange(start, end) % self.capacity
        frames = self.frames[slots]  # fancy indexing copies
        checks = self.checks[slots]
        ok = self._checked(frames, checks, start)
        if not ok.all():
            missed += int(np.count_nonzero(~ok))
            frames = frames[ok]
        self.cursor = end
        self.missed_total += missed
        return FrameBlock(frames, missed)

    def latest(self, n: int) -> np.ndarray:
        """The newest ``n`` frames (or fewer) that pass their check, without moving the cursor."""
        count = self.write_count
        n = min(n, count, self.capacity - 1)
        if n <= 0:
            return np.empty(0, dtype=FRAME_DTYPE)
        slots = np.arange(count - n, count) % self.capacity
        frames = self.frames[slots]
        ok = self._checked(frames, self.checks[slots], count - n)
        return frames if ok.all() else frames[ok]

    def close(self) -> None:
        self._release_views()
        self._shm.close()
