"""The web server's secret key (signs session cookies): ``<data_dir>/secret_key``, mode 0600.

Generated on first run (32 random bytes, hex), never logged. Created with ``O_EXCL`` so two
processes starting together agree on one key. A key file readable by group or others is
tightened to 0600; a key file that is empty or not a file is an error with what to do.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from station.store.db import StoreError

SECRET_KEY_FILENAME = "secret_key"
_KEY_BYTES = 32


def load_or_create_secret_key(data_dir: str | os.PathLike) -> str:
    """The secret key of ``data_dir`` (created if missing; never through a symbolic link)."""
    from station.store.datadir import UnsafeDataDir, open_in_data_dir

    path = Path(data_dir) / SECRET_KEY_FILENAME
    try:
        fd = open_in_data_dir(data_dir, SECRET_KEY_FILENAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(Path(data_dir))
    except UnsafeDataDir:
        raise
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror}; check the data directory's permissions") from None
    key = secrets.token_hex(_KEY_BYTES)
    try:
        os.write(fd, key.encode("ascii") + b"\n")
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        fd = -1
        os.unlink(path)
        raise StoreError(f"cannot write {path}: {exc.strerror}; check free space and permissions") from None
    finally:
        if fd >= 0:
            os.close(fd)
    return key


def _read(data_dir: Path) -> str:
    from station.store.datadir import UnsafeDataDir, open_in_data_dir

    path = data_dir / SECRET_KEY_FILENAME
    try:
        fd = open_in_data_dir(data_dir, SECRET_KEY_FILENAME, os.O_RDONLY)
    except UnsafeDataDir as exc:
        raise StoreError(f"{exc}; or remove it and restart to generate a new key") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}; check its permissions") from None
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "rb", closefd=False) as f:
            key = f.read(4096).decode("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; check its permissions") from None
    finally:
        os.close(fd)
    if len(key) < 32:
        raise StoreError(
            f"{path} is empty or too short; delete it and restart to generate a new key "
            "(everyone will have to sign in again)"
        )
    return key
