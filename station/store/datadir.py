"""Opening files of the data directory safely, and checking that it holds what it should.

The data directory belongs to the service user, who may have been compromised; the command-line
tools are often run as root (``sudo balance-station users add ...``). A symbolic link planted there
(``station.sqlite3 -> /etc/shadow``) must not make root create, open or chown the target (issue 14,
finding 10). So:

- :func:`open_in_data_dir` opens a name relative to the directory with ``O_NOFOLLOW`` (a link is
  refused, never followed), checks that it is a regular file owned by the directory's owner, and,
  as root, gives a file it created to that owner with ``fchown`` on the open descriptor (not by
  path, which could be swapped meanwhile);
- :func:`check_data_dir` refuses a directory in which any entry is a symbolic link, a device, a
  socket or a FIFO, or belongs to another user than the directory, and a directory others may
  write to (before SQLite opens anything there: SQLite itself follows links);
- :func:`act_as_owner`, called by the command line before a command touches the data directory,
  makes a process running as root *become* the directory's owner (its uid, gid and groups, for
  good). Whatever it then opens, SQLite's ``-wal`` and ``-shm`` files included (SQLite opens them
  itself, by path, after :func:`check_data_dir` looked: a link planted in between would be
  followed), it opens with no more rights than the owner, who could reach those files anyway.
"""

from __future__ import annotations

import importlib
import os
import pwd
import stat
from pathlib import Path

from station.store.db import StoreError


class UnsafeDataDir(StoreError):
    """The data directory holds something the station did not put there; the message names it."""


def _owner(data_dir: Path) -> os.stat_result:
    try:
        return os.stat(data_dir)
    except OSError as exc:
        raise StoreError(f"cannot read the data directory {data_dir}: {exc.strerror}"
                         + run_as_owner_words(data_dir, exc)) from None


def run_as_owner_words(path: str | os.PathLike, exc: OSError) -> str:
    """What to do when this user may not read ``path`` (of the data directory): run as its owner
    (``; it belongs to ...``). Empty for another error."""
    path = Path(path)
    if not isinstance(exc, PermissionError):
        return ""
    for place in (path, *path.parents):
        try:
            uid = os.stat(place).st_uid
            break
        except OSError:
            continue
    else:
        return ""
    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = f"uid {uid}"
    if uid == os.geteuid():
        return f"; it belongs to this user ({owner}): give it back its rights (chmod u+rwx {path})"
    if uid == 0:
        return "; it belongs to root, not to this user: run the command with sudo"
    return (f"; it belongs to {owner}, not to this user: run the command as {owner} (sudo -u {owner} balance-station "
            "...) or with sudo, which runs it as the data directory's owner")


PRELOADED = (
    "_strptime array base64 bisect calendar cmath concurrent.futures contextvars csv ctypes decimal email.base64mime "
    "email.encoders email.feedparser email.header email.iterators email.message email.parser email.quoprimime "
    "email.utils encodings.cp1252 encodings.idna encodings.utf_16 fileinput fractions getpass glob gzip hashlib hmac "
    "html.entities html.parser http.client importlib.metadata importlib.readers importlib.resources "
    "importlib.resources.readers json locale logging numbers "
    "pickle platform pprint pydoc queue random secrets select selectors shutil signal socket sqlite3 ssl statistics "
    "stringprep struct subprocess tempfile termios textwrap threading timeit traceback unicodedata unittest "
    "urllib.request uuid xml.sax.saxutils zipfile zlib zoneinfo"
).split()
"""Standard modules :func:`act_as_owner` imports before it gives up root: those the commands that
open a data directory import after it (found by listing ``sys.modules`` before and after the drop
for ``users``, ``backup``, ``restore``, ``check``, ``sync``, ``export``, ``report``, ``protocols``
and ``programmes``), and their usual neighbours. A Python whose standard library only root may read
could not load them afterwards (``ModuleNotFoundError: No module named '_strptime'``); one missed
here is said in words by the command line (:func:`station.cli._run`)."""


def preload_standard_modules() -> None:
    """Import :data:`PRELOADED` (one this Python lacks is skipped)."""
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def act_as_owner(data_dir: str | os.PathLike) -> str | None:
    """As root, become the owner of ``data_dir`` when it belongs to another user; return that user's
    name (None when nothing changed: not root, no such directory yet, or root's own directory).

    The change is for good (real, effective and saved ids, and the groups of the owner's account),
    so nothing later in the process can act as root in the directory. OSError if the kernel
    refuses (e.g. no CAP_SETUID in a container).
    """
    if os.geteuid() != 0:
        return None
    try:
        info = os.stat(data_dir)
    except FileNotFoundError:
        return None
    if info.st_uid == 0:
        return None
    uid, gid = info.st_uid, info.st_gid
    try:
        account = pwd.getpwuid(uid)
    except KeyError:
        name, groups = f"uid {uid}", [gid]
    else:
        name, gid = account.pw_name, account.pw_gid
        groups = os.getgrouplist(account.pw_name, gid)
    preload_standard_modules()
    os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise OSError(f"could not become {name}")
    return name


def check_data_dir(data_dir: str | os.PathLike) -> None:
    """UnsafeDataDir if an entry of ``data_dir`` (or of its ``backups`` folder) is a symbolic link,
    not a regular file or directory, or owned by another user than the directory, or if either
    folder may be written by its group or others."""
    data_dir = Path(data_dir)
    owner = _owner(data_dir)
    folders = [data_dir]
    backups = data_dir / "backups"
    for folder in folders:
        mode = os.lstat(folder).st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeDataDir(
                f"{folder} may be written by other users (mode {stat.S_IMODE(mode):04o}); the data directory "
                f"holds patient data: make it the owner's alone with chmod 700 {folder}, then try again"
            )
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"cannot list {folder}: {exc.strerror}" + run_as_owner_words(folder, exc)) from None
        for entry in entries:
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                raise UnsafeDataDir(
                    f"{path} is a symbolic link; the data directory must hold only the station's own files: "
                    "remove the link (and find out who made it), then try again"
                )
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                raise UnsafeDataDir(f"{path} is not a regular file or directory; remove it, then try again")
            if info.st_uid != owner.st_uid:
                raise UnsafeDataDir(
                    f"{path} belongs to uid {info.st_uid}, not to the data directory's owner (uid {owner.st_uid}); "
                    f"give it back with chown {owner.st_uid}:{owner.st_gid}, or remove it, then try again"
                )
            if path == backups and stat.S_ISDIR(info.st_mode):
                folders.append(backups)


def open_in_data_dir(data_dir: str | os.PathLike, name: str, flags: int, mode: int = 0o600) -> int:
    """Open ``data_dir/name`` without following a link; return the descriptor (close it).

    A file this call creates belongs to the directory's owner (``fchown`` as root). Raises
    UnsafeDataDir for a link, something else than a regular file, or a file owned by someone else;
    OSError for the other failures (no space, permissions).
    """
    data_dir = Path(data_dir)
    if "/" in name or name in (".", ".."):
        raise ValueError(f"{name!r} is not a plain file name")
    owner = _owner(data_dir)
    dir_fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        existed = True
        try:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            existed = False
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == 40:  # ELOOP: a symbolic link
                raise UnsafeDataDir(
                    f"{data_dir / name} is a symbolic link; remove it (and find out who made it), then try again"
                ) from None
            raise
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeDataDir(f"{data_dir / name} is not a regular file; remove it, then try again")
        if not existed and os.geteuid() == 0 and info.st_uid != owner.st_uid:
            os.fchown(fd, owner.st_uid, owner.st_gid)
        elif info.st_uid != owner.st_uid:
            raise UnsafeDataDir(
                f"{data_dir / name} belongs to uid {info.st_uid}, not to the data directory's owner "
                f"(uid {owner.st_uid}); give it back with chown, or remove it, then try again"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd
