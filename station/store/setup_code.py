"""The one-time setup code of an installed station's first-run setup.

Until the first account exists, ``/setup`` makes whoever uses it the station's administrator. On
an installed station that page is on the clinic's network from the moment the service starts, so
``systemd/install.sh`` makes a one-time setup code on a fresh installation, keeps it as
``<data_dir>/setup-code`` (the service user's alone) and prints it to the person installing: setup
then asks for it, and the first device on the ward's Wi-Fi cannot claim the station. The file is
deleted when the first administrator is made, on the page (``web.auth``) or by ``balance-station
users add NAME --role admin`` (``station.commands.users``). Without it (``make run``, a development station on
localhost) setup asks for no code. The code never goes into a log.
"""

from __future__ import annotations

import contextlib
import hmac
from pathlib import Path

SETUP_CODE_FILENAME = "setup-code"
"""In the data directory; written by systemd/install.sh (keep the two in step)."""


def code_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / SETUP_CODE_FILENAME


def required(data_dir: str | Path) -> bool:
    """True when this station's first-run setup asks for a setup code."""
    return code_path(data_dir).exists()


def _normalised(code: str) -> bytes:
    """Letters and digits only, upper case: "1234 5678-90ab" is "1234567890AB"."""
    return "".join(ch for ch in code if ch.isascii() and ch.isalnum()).upper().encode()


def refusal(data_dir: str | Path, given: object) -> str | None:
    """None when setup may go on (no code asked, or ``given`` is the code), else the words saying
    why not and where the code is.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> refusal(d, None) is None
    True
    >>> _ = code_path(d).write_text("1234-5678-9012\\n")
    >>> refusal(d, "1234 5678 9012") is None
    True
    >>> refusal(d, "1234")[:35]
    'the setup code is missing or wrong:'
    """
    path = code_path(data_dir)
    try:
        expected = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        return f"the setup code cannot be read ({path}: {reason}); run the installer again (sudo systemd/install.sh)"
    given = given if isinstance(given, str) else ""
    if _normalised(expected) and hmac.compare_digest(_normalised(given), _normalised(expected)):
        return None
    return (
        "the setup code is missing or wrong: the installer printed it (on the station, "
        f"sudo cat {path} shows it again)"
    )


def used(data_dir: str | Path) -> None:
    """The first administrator exists: the code opens nothing any more."""
    with contextlib.suppress(FileNotFoundError):
        code_path(data_dir).unlink()
