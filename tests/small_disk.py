"""A small file system to fill: how the tests simulate a full disk (a tmpfs of a few MiB, mounted
for the test and unmounted afterwards; mounting needs root, so elsewhere the test skips, saying why).
The ``tiny_disk`` fixture (tests/conftest.py) is a 24 MiB one."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(mount: Path, size_mib: int, mode: str | None = None):
    """A tmpfs of ``size_mib`` MiB at ``mount`` (made if missing; ``mode`` its root's, e.g. ``"0700"``
    for a data directory) while the block runs; skips the test without root or where mounting fails."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system to fill needs root")
    mount.mkdir(exist_ok=True)
    options = f"size={size_mib}m" + (f",mode={mode}" if mode else "")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)])


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to its last byte (as ``dd`` does); return the filler's
    path (unlink it to free the space)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 512):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler
