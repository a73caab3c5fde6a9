"""The one-time setup code of an installed station's first-run setup.

Until the first account exists, ``/setup`` makes whoever uses it the station's administrator. On
an installed station that page is on the clinic's network from the moment the service starts, so
``systemd/install.sh`` makes a one-time setup code on a fresh installation, keeps it as
``<data_dir>/setup-code`` (the service user's alone) and prints it to the person installing: setup
then asks for it, and the first device on the ward's Wi-Fi cannot claim the station. The file is
deleted when the first administrator is made, on the page (``web.auth``) or by ``balance-station
users add NAME --role admin`` (``station.commands.users``). Without it (``make run``, a development station on
localhost) setup asks for no code. The code never goes into a log.

A restore of a backup without any account (one taken before the first administrator existed)
opens the first-run setup again: :func:`station.store.backup.restore_backup` then makes a new code
(:func:`ensure`), and ``balance-station restore`` prints it, also on a development station (the
code is printed where the restore was typed, so it costs nothing there).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from station.store.db import StoreError

_log = logging.getLogger(__name__)

SETUP_CODE_FILENAME = "setup-code"
"""In the data directory; written by systemd/install.sh (keep the two in step)."""


class SetupCodeNotWritten(StoreError):
    """The setup code's file could not be written (a full or failing card); ``str(e)`` says so and what to do."""


def code_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / SETUP_CODE_FILENAME


def new_code() -> str:
    """Twelve random digits in three groups, as systemd/install.sh makes them: ``1234-5678-9012``."""
    n = f"{secrets.randbelow(10**12):012d}"
    return f"{n[:4]}-{n[4:8]}-{n[8:]}"


def current(data_dir: str | Path) -> str | None:
    """The code of ``<data_dir>/setup-code`` as written there, or None (no file, no code in it, unreadable)."""
    try:
        text = code_path(data_dir).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _normalised(text) else None


def ensure(data_dir: str | Path) -> str:
    """The setup code of a station whose database has no account: the one in ``<data_dir>/setup-code``
    if it holds one, else a new one written there (0600; as root, given to the data directory's
    owner, as the installer gives it to the service user).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> code = ensure(d)
    >>> ensure(d) == code == code_path(d).read_text().strip() and oct(code_path(d).stat().st_mode & 0o777)
    '0o600'
    """
    data_dir = Path(data_dir)
    kept = current(data_dir)
    if kept is not None:
        return kept
    code = new_code()
    path = code_path(data_dir)
    staging = data_dir / f".{SETUP_CODE_FILENAME}-{os.getpid()}"
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with open(fd, "w", encoding="ascii", closefd=False) as f:
                f.write(code + "\n")
                f.flush()
                os.fsync(fd)
            if os.geteuid() == 0:
                owner = data_dir.stat()
                os.fchown(fd, owner.st_uid, owner.st_gid)
        finally:
            os.close(fd)
        os.replace(staging, path)
    except OSError as exc:  # a full or failing card: no code half written, none left under the staging name
        with contextlib.suppress(OSError):
            staging.unlink()
        if isinstance(exc, PermissionError):  # the data directory's owner: said as such by the command
            raise
        raise SetupCodeNotWritten(
            f"cannot write the one-time setup code to {path} ({exc.strerror or exc}); free space on the data "
            "directory's disk (or replace its SD card if it fails to write), then try again") from None
    return code


def required(data_dir: str | Path) -> bool:
    """True when this station's first-run setup asks for a setup code."""
    return code_path(data_dir).exists()


def _normalised(code: str) -> bytes:
    """Letters and digits only, upper case: "1234 5678-90ab" is "1234567890AB"."""
    return "".join(ch for ch in code if ch.isascii() and ch.isalnum()).upper().encode()


def refusal(data_dir: str | Path, given: object) -> str | None:
    """None when setup may go on (no code asked, or ``given`` is the code), else the words saying
    why not and where the code is (for whoever opened the setup page: no path of the station's).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> refusal(d, None) is None
    True
    >>> _ = code_path(d).write_text("1234-5678-9012\\n")
    >>> refusal(d, "1234 5678 9012") is None
    True
    >>> refusal(d, "1234")[:35]
    'the setup code is missing or wrong:'
    >>> _ = code_path(d).write_text("\\n")
    >>> refusal(d, "")[:50]
    'the setup code cannot be checked: its file on the '
    """
    path = code_path(data_dir)
    try:
        expected = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        _log.warning("first-run setup refused: the setup code file %s cannot be read (%s)", path, reason)
        return f"the setup code cannot be checked: its file on the station cannot be read ({reason}); {_REMAKE}"
    if not _normalised(expected):
        _log.warning("first-run setup refused: the setup code file %s holds no code", path)
        return f"the setup code cannot be checked: its file on the station holds no code; {_REMAKE}"
    given = given if isinstance(given, str) else ""
    if hmac.compare_digest(_normalised(given), _normalised(expected)):
        return None
    return (
        "the setup code is missing or wrong: it was printed when the station was installed (or restored); "
        "on the station, the file setup-code in its data directory holds it"
    )


_REMAKE = ("on the station, run the installer again (sudo systemd/install.sh), or create the administrator there: "
           "sudo balance-station users add NAME --role admin")


def used(data_dir: str | Path) -> None:
    """The first administrator exists: the code opens nothing any more."""
    with contextlib.suppress(FileNotFoundError):
        code_path(data_dir).unlink()
