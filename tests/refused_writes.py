"""A card that refuses the writes of some files: ``os.fsync`` of a file whose path holds a given part fails
with ENOSPC (a full disk; ext4 reports delayed allocation's ENOSPC there) or EIO (a failing SD card), as the
kernel answers it; every other file is written as usual. SQLite's own fsyncs are not Python's (see
tests/failing_card.py for the database's)."""

from __future__ import annotations

import errno
import os

FAULTS = {"full": errno.ENOSPC, "failing": errno.EIO}
WORDS = {"full": "No space left on device", "failing": "Input/output error"}


def refuse_fsync_of(monkeypatch, part: str, fault: str) -> list[str]:
    """Make ``os.fsync`` fail with ``FAULTS[fault]`` for files whose path holds ``part`` (``""``: every file);
    the paths refused so far (a list that grows)."""
    real, refused = os.fsync, []

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if part in path:
            refused.append(path)
            raise OSError(FAULTS[fault], os.strerror(FAULTS[fault]))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return refused


def files_under(folder) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden and temporary ones too) with its bytes."""
    from pathlib import Path

    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
