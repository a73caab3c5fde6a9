"""Where a station's hub token comes from, without showing it to the machine's other users.

A command line is readable by every user of the machine (``ps``, ``/proc/PID/cmdline``), so the
token is best given, in this order of precedence, by:

1. ``--hub-token-file PATH``: a file holding the token (its first line), readable by its owner
   only (or also by the station's own group, as ``install.sh`` installs the configuration);
2. ``--hub-token TOKEN``: still accepted (the issue's interface and existing scripts use it), with
   a warning on standard error when it is a station token (``bst_…``): refusing would break the
   scripts that drive ``run --hub URL --hub-token TOKEN``; warning tells their authors, once per start;
3. ``$BALANCE_STATION_HUB_TOKEN``: the environment of a process is readable by its user only;
4. ``[hub] token`` of the configuration file, which is then refused if other users may read it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import sys
from pathlib import Path

HUB_TOKEN_ENV = "BALANCE_STATION_HUB_TOKEN"
"""Environment variable holding this station's hub token."""
STATION_TOKEN_PREFIX = "bst_"
"""Every station token starts with it (:data:`station.sync.hub.TOKEN_PREFIX`)."""
MAX_TOKEN_FILE_BYTES = 4096


def readable_by_others(st: os.stat_result) -> str | None:
    """Who else may read a file of status ``st``: ``"every user"``, ``"group NAME"`` or None.

    A group may read it only if it is this process's own group and has no other members (the
    installed configuration: ``root:balance-station``, mode 0640).
    """
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o004:
        return "every user"
    if not mode & 0o040:
        return None
    try:
        group = grp.getgrgid(st.st_gid)
        name, members = group.gr_name, set(group.gr_mem)
    except KeyError:
        return f"group {st.st_gid}"
    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        me = None
    if st.st_gid == os.getegid() and members <= {me}:
        return None
    return f"group {name}"


def _mode_text(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def token_from_file(path: Path) -> str:
    """The token in ``path`` (its first line); UserError in one line if the file is missing,
    empty, or readable by other users."""
    from station.cli import UserError

    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"--hub-token-file {path}: no such file; put this station's token in it (mode 0600)") from None
    except IsADirectoryError:
        raise UserError(f"--hub-token-file {path}: is a directory; give the file holding the token") from None
    except OSError as exc:
        raise UserError(f"--hub-token-file {path}: cannot read it ({exc.strerror}); check its permissions") from None
    who = readable_by_others(st)
    if who:
        raise UserError(f"--hub-token-file {path} is readable by {who} (mode {_mode_text(st)}): the token would not "
                        f"be secret; chmod 600 {path}, then start again")
    try:
        lines = data.decode("utf-8").strip().splitlines()
    except UnicodeDecodeError:
        lines = []
    token = lines[0].strip() if lines else ""
    if not token or len(data) > MAX_TOKEN_FILE_BYTES or any(ord(c) <= 32 or ord(c) == 127 for c in token):
        raise UserError(f"--hub-token-file {path} holds no token on its first line; put there the token printed by "
                        "`balance-station hub stations add NAME`")
    return token


def check_config_holding_token(config_path: Path | None) -> None:
    """UserError if the configuration file that holds ``[hub] token`` may be read by other users."""
    from station.cli import UserError

    if config_path is None:
        return
    try:
        st = os.stat(config_path)
    except OSError:
        return  # it was read a moment ago; a file gone since is not this check's business
    who = readable_by_others(st)
    if who:
        raise UserError(
            f"{config_path} holds [hub] token but is readable by {who} (mode {_mode_text(st)}): the token would not be "
            f"secret; chmod 600 {config_path} (or 640 with the station's own group, as install.sh does), or move the "
            f"token to --hub-token-file or ${HUB_TOKEN_ENV}")


def hub_token(args, config_token: str, config_path: Path | None, *, warn=None) -> str:
    """This station's hub token from ``--hub-token-file``, ``--hub-token``, ``$BALANCE_STATION_HUB_TOKEN``
    or the configuration's ``[hub] token`` (see the module doc); "" if none."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    path = getattr(args, "hub_token_file", None)
    if path is not None:
        return token_from_file(Path(path))
    given = getattr(args, "hub_token", None)
    if given:
        if given.startswith(STATION_TOKEN_PREFIX):
            warn("balance-station: warning: --hub-token puts the station token on the command line, which every user "
                 f"of this machine can read (ps); use --hub-token-file PATH, ${HUB_TOKEN_ENV} or [hub] token "
                 "in the configuration (mode 0600) instead")
        return given
    from_env = os.environ.get(HUB_TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    if config_token:
        check_config_holding_token(config_path)
    return config_token
