"""Writing a file so that a crash or power cut leaves either the old or the new content, never half.

The text goes to a temporary file in the same directory, is flushed and fsync'd, and is renamed over
the target (``os.replace`` is atomic on POSIX); the directory is fsync'd so the rename survives a
power cut. Used for trial files, exports, results and the calibration.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename or new file in ``directory`` durable (best effort: some file systems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(target: str | os.PathLike, text: str, *, sync_dir: bool = True) -> Path:
    """Replace ``target`` with ``text`` (UTF-8) atomically and durably; returns the path."""
    with atomic_text_writer(target, sync_dir=sync_dir) as f:
        f.write(text)
    return Path(target)


@contextmanager
def atomic_text_writer(target: str | os.PathLike, *, sync_dir: bool = True) -> Iterator[IO[str]]:
    """A text file (UTF-8) to write ``target`` piece by piece, e.g. results streamed as they come:
    ``target`` is replaced atomically and durably when the ``with`` block ends normally; if it
    raises (or is interrupted), the temporary file is removed and ``target`` is left as it was."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir:
        fsync_dir(target.parent)


def append_line_durably(target: str | os.PathLike, line: str) -> None:
    """Append ``line`` (UTF-8; a newline is added) to ``target`` whole and durably (fsync'd), creating
    it if needed. When the write or the fsync fails (a full disk, a failing card), the file is cut back
    to its length before, so no half line stays for a later reader, and the ``OSError`` is raised.
    Used for history files read line by line (``calibration-history.jsonl``)."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        length_before = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # the disk took only part of the line
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, length_before)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)
