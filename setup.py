"""The build's one addition to pyproject.toml: the installed package says which commit it was built
from. Built from a git checkout (``pip install CHECKOUT``, as systemd/install.sh does), the version is
the release and the commit (``0.1.0+g1a2b3c4d5e``, ``.dirty`` with changes not committed), written into
the package as ``station/_build.py`` (an installed station has no ``.git``) and given to the
distribution; built elsewhere (no ``.git``, no ``git``), the release alone. See station/version.py."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _version_module():
    spec = importlib.util.spec_from_file_location("_station_version", HERE / "station" / "version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(*args: str) -> str | None:
    # safe.directory: sudo install.sh builds a checkout another user owns, which git refuses by default
    try:
        done = subprocess.run(["git", "-c", f"safe.directory={HERE}", "-C", str(HERE), *args],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def built_version() -> str:
    version = _version_module()
    if not (HERE / ".git").exists():
        return version.RELEASE
    commit = _git("rev-parse", "HEAD") or version.checkout_commit(HERE)
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return version.compose(commit, dirty=bool(changes))


VERSION = built_version()


class BuildPyWithVersion(build_py):
    """build_py, then ``station/_build.py`` with :data:`VERSION` in the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "station" / "_build.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text('"""Written by setup.py when the package was built: see station/version.py."""\n\n'
                          f"VERSION = {VERSION!r}\n")


setup(version=VERSION, cmdclass={"build_py": BuildPyWithVersion})
