"""The web server's secret key (signs session cookies): ``<data_dir>/secret_key``, mode 0600.

Generated on first run (32 random bytes, hex), never logged. Created with ``O_EXCL`` so two
processes starting together agree on one key. A key file readable by group or others is
tightened to 0600; a key file that is empty or not a file is an error with what to do.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from station.store.db import StoreError

SECRET_KEY_FILENAME = "secret_key"
_KEY_BYTES = 32


def load_or_create_secret_key(data_dir: str | os.PathLike) -> str:
    """The secret key of ``data_dir`` (created if missing)."""
    path = Path(data_dir) / SECRET_KEY_FILENAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror}; check the data directory's permissions") from None
    key = secrets.token_hex(_KEY_BYTES)
    try:
        os.write(fd, key.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def _read(path: Path) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path} is not a regular file; remove it and restart to generate a new key")
        if info.st_mode & 0o077:
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; check its permissions") from None
    if len(key) < 32:
        raise StoreError(
            f"{path} is empty or too short; delete it and restart to generate a new key "
            "(everyone will have to sign in again)"
        )
    return key
