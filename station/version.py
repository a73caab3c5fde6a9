"""Which software this is: the release number and, built from a git checkout, the commit it was built
from, as ``0.1.0+g1a2b3c4d5e`` (a PEP 440 local version; ``.dirty`` when the checkout had changes not
committed). Every stored trial's ``station_version``, every report's footer and ``--version`` say it,
so that a reader can tell which software measured a trial and whether an update happened.

An installed station has no ``.git``: the build (``setup.py``, when pip installs a checkout, as
``systemd/install.sh`` does) writes the version into ``station/_build.py``. A development checkout
(``pip install -e``, ``make``) has no such file and reads the commit checked out from its ``.git``
files (no ``git`` program needed; a change not committed is not seen). A copy without ``.git`` says the
release alone.

This module imports nothing of the station at its top: ``setup.py`` loads it by its path.
"""

from __future__ import annotations

import os

RELEASE = "0.1.0"
"""The release number (raise it with a release)."""

COMMIT_CHARS = 10
"""How many characters of the commit the version carries."""


def compose(commit: str | None, dirty: bool = False) -> str:
    """The version of the release built from ``commit`` (None: not from a checkout).

    >>> compose("a57caca0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"), compose("a57caca0d1", dirty=True), compose(None)
    ('0.1.0+ga57caca0d1', '0.1.0+ga57caca0d1.dirty', '0.1.0')
    """
    if not commit:
        return RELEASE
    return f"{RELEASE}+g{commit[:COMMIT_CHARS]}" + (".dirty" if dirty else "")


def _object_name(text: str) -> str | None:
    text = text.strip()
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def checkout_commit(root: str | os.PathLike) -> str | None:
    """The commit checked out in the git checkout at ``root``, read from its files (``HEAD``, the branch's
    ref, loose or packed; a linked worktree's ``.git`` file and common directory); None when ``root`` is
    not a checkout or its files cannot be read. Plain file reads (no ``git``, no ``re`` nor ``pathlib``):
    every ``import station`` of a development checkout runs it."""
    root = os.fspath(root)
    git = os.path.join(root, ".git")
    try:
        if os.path.isfile(git):  # a worktree or submodule: "gitdir: PATH"
            text = _read(git)
            if not text.startswith("gitdir:"):
                return None
            git = os.path.normpath(os.path.join(root, text.split(":", 1)[1].strip()))
        if not os.path.isdir(git):
            return None
        head = _read(os.path.join(git, "HEAD"))
        if not head.startswith("ref:"):
            return _object_name(head)  # a detached HEAD
        ref = head.split(":", 1)[1].strip()
        common = git
        if os.path.isfile(os.path.join(git, "commondir")):
            common = os.path.normpath(os.path.join(git, _read(os.path.join(git, "commondir"))))
        for base in (git, common):
            if os.path.isfile(os.path.join(base, ref)):
                return _object_name(_read(os.path.join(base, ref)))
        packed = os.path.join(common, "packed-refs")
        if os.path.isfile(packed):
            for line in _read(packed).splitlines():
                value, _, name = line.partition(" ")
                if name == ref:
                    return _object_name(value)
    except (OSError, UnicodeDecodeError):
        return None
    return None


def running_version() -> str:
    """This software's version: the one the build wrote (``station/_build.py``), else the release and
    the commit of the checkout the package is in, else the release."""
    try:
        from station._build import VERSION  # written by setup.py when the package is built

        return VERSION
    except ImportError:
        pass
    return compose(checkout_commit(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
